"""Vehicles read models: vehicles and seals, quotas, costs, consumption, trips and findings.

Revision ID: veh0001
Revises:
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "veh0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the read-model tables."""
    op.create_table(
        "veh_vehicles",
        sa.Column("vehicle_id", sa.String(64), primary_key=True),
        sa.Column("plate", sa.String(12)),
        sa.Column("agency_id", sa.String(64), index=True),
        sa.Column("district", sa.String(6), index=True),
        sa.Column("energy_type", sa.String(20)),
        sa.Column("new_energy", sa.Boolean()),
        sa.Column("use_category", sa.String(40)),
        sa.Column("model", sa.String(100)),
        sa.Column("acquisition_kind", sa.String(20)),
        sa.Column("acquired_on", sa.String(10), index=True),
        sa.Column("replaces_vehicle_id", sa.String(64)),
        sa.Column("norm_per_100km", sa.Float()),
        sa.Column("norm_unit", sa.String(5)),
        sa.Column("status", sa.String(20), index=True),
        sa.Column("odometer_km", sa.Float()),
        sa.Column("disposed_on", sa.String(10)),
        sa.Column("disposal_method", sa.String(20)),
        sa.Column("proceeds_cents", sa.BigInteger()),
    )
    op.create_table(
        "veh_seals",
        sa.Column("vehicle_id", sa.String(64), primary_key=True),
        sa.Column("seal_id", sa.String(64), primary_key=True),
        sa.Column("sealed_from", sa.String(10)),
        sa.Column("sealed_until", sa.String(10)),
        sa.Column("reason", sa.String(500)),
    )
    op.create_table(
        "veh_quotas",
        sa.Column("agency_id", sa.String(64), primary_key=True),
        sa.Column("district", sa.String(6), index=True),
        sa.Column("quota", sa.Integer()),
        sa.Column("vehicles", sa.Integer()),
    )
    op.create_table(
        "veh_costs",
        sa.Column("vehicle_id", sa.String(64), primary_key=True),
        sa.Column("record_id", sa.String(64), primary_key=True),
        sa.Column("agency_id", sa.String(64), index=True),
        sa.Column("district", sa.String(6), index=True),
        sa.Column("kind", sa.String(20), index=True),
        sa.Column("amount_cents", sa.BigInteger()),
        sa.Column("occurred_on", sa.String(10), index=True),
        sa.Column("covers_from", sa.String(10)),
        sa.Column("covers_to", sa.String(10)),
        sa.Column("energy_kind", sa.String(20)),
        sa.Column("quantity", sa.Float()),
        sa.Column("unit", sa.String(5)),
        sa.Column("designated", sa.Boolean()),
        sa.Column("vendor", sa.String(200)),
    )
    op.create_table(
        "veh_consumption",
        sa.Column("vehicle_id", sa.String(64), primary_key=True),
        sa.Column("to_km", sa.Float(), primary_key=True),
        sa.Column("from_km", sa.Float()),
        sa.Column("energy_kind", sa.String(20)),
        sa.Column("quantity", sa.Float()),
        sa.Column("per_100km", sa.Float()),
        sa.Column("norm_per_100km", sa.Float()),
        sa.Column("measured_on", sa.String(10)),
    )
    op.create_table(
        "veh_trips",
        sa.Column("trip_id", sa.String(64), primary_key=True),
        sa.Column("agency_id", sa.String(64), index=True),
        sa.Column("district", sa.String(6), index=True),
        sa.Column("purpose", sa.String(500)),
        sa.Column("destination", sa.String(200)),
        sa.Column("planned_start", sa.String(40)),
        sa.Column("planned_end", sa.String(40)),
        sa.Column("status", sa.String(20), index=True),
        sa.Column("vehicle_id", sa.String(64), index=True),
        sa.Column("plate", sa.String(12)),
        sa.Column("vehicle_agency_id", sa.String(64)),
        sa.Column("vehicle_district", sa.String(6), index=True),
        sa.Column("city_wide", sa.Boolean()),
        sa.Column("driver", sa.String(50)),
        sa.Column("approved", sa.Boolean()),
        sa.Column("started_at", sa.String(40)),
        sa.Column("finished_at", sa.String(40)),
        sa.Column("finished_utc", sa.String(40)),
        sa.Column("finished_on", sa.String(10), index=True),
        sa.Column("start_km", sa.Float()),
        sa.Column("finish_km", sa.Float()),
        sa.Column("distance_km", sa.Float()),
        sa.Column("gps_points", sa.Integer()),
        sa.Column("gps_km", sa.Float()),
    )
    op.create_table(
        "veh_findings",
        sa.Column("item_id", sa.String(300), primary_key=True),
        sa.Column("kind", sa.String(40), index=True),
        sa.Column("agency_id", sa.String(64), index=True),
        sa.Column("district", sa.String(6), index=True),
        sa.Column("vehicle_id", sa.String(64), index=True),
        sa.Column("trip_id", sa.String(64), index=True),
        sa.Column("opened_on", sa.String(10)),
        sa.Column("detail", sa.String(1000)),
        sa.Column("evidence", sa.String(None)),
        sa.Column("closed_on", sa.String(10)),
        sa.Column("note", sa.String(1000)),
    )


def downgrade() -> None:
    """Drop the read-model tables."""
    for table in (
        "veh_findings",
        "veh_trips",
        "veh_consumption",
        "veh_costs",
        "veh_quotas",
        "veh_seals",
        "veh_vehicles",
    ):
        op.drop_table(table)
