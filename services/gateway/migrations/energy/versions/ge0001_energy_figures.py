"""The data center's energy tables: meters, use per agency/kind/day and year, reports, quotas, anomalies.

Revision ID: ge0001
Revises:
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "ge0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the energy tables of the data center."""
    op.create_table(
        "dc_energy_meters",
        sa.Column("meter_id", sa.String(64), primary_key=True),
        sa.Column("agency_id", sa.String(64), nullable=False),
        sa.Column("district", sa.String(6), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("sub_item", sa.String(20), nullable=False),
    )
    op.create_table(
        "dc_energy_daily",
        sa.Column("agency_id", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(20), primary_key=True),
        sa.Column("day", sa.String(10), primary_key=True),
        sa.Column("district", sa.String(6), nullable=False),
        sa.Column("consumption", sa.Float(), nullable=False),
    )
    op.create_table(
        "dc_energy_yearly",
        sa.Column("agency_id", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(20), primary_key=True),
        sa.Column("year", sa.Integer(), primary_key=True),
        sa.Column("district", sa.String(6), nullable=False),
        sa.Column("consumption", sa.Float(), nullable=False),
    )
    op.create_index("ix_dc_energy_yearly_year_district", "dc_energy_yearly", ["year", "district"])
    op.create_table(
        "dc_energy_reports",
        sa.Column("agency_id", sa.String(64), primary_key=True),
        sa.Column("year", sa.Integer(), primary_key=True),
        sa.Column("district", sa.String(6), nullable=False),
        sa.Column("totals", sa.Text(), nullable=False),
    )
    op.create_table(
        "dc_energy_quotas",
        sa.Column("agency_id", sa.String(64), primary_key=True),
        sa.Column("year", sa.Integer(), primary_key=True),
        sa.Column("district", sa.String(6), nullable=False),
        sa.Column("basis", sa.String(20), nullable=False),
        sa.Column("quota_limit", sa.Float(), nullable=False),
        sa.Column("alert_open", sa.Boolean(), nullable=False),
    )
    op.create_table(
        "dc_energy_anomalies",
        sa.Column("anomaly_id", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("agency_id", sa.String(64), nullable=False),
        sa.Column("district", sa.String(6), nullable=False),
        sa.Column("meter_id", sa.String(64), nullable=False),
        sa.Column("opened_on", sa.String(10), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("detail", sa.String(500), nullable=False),
    )
    op.create_index("ix_dc_energy_anomalies_open", "dc_energy_anomalies", ["status", "district", "agency_id"])
    op.create_table(
        "dc_energy_floor_areas",
        sa.Column("building_id", sa.String(64), primary_key=True),
        sa.Column("agency_id", sa.String(64), nullable=False, index=True),
        sa.Column("gross_floor_area_m2", sa.Float(), nullable=False),
    )


def downgrade() -> None:
    """Drop the energy tables of the data center."""
    for table in (
        "dc_energy_floor_areas",
        "dc_energy_anomalies",
        "dc_energy_quotas",
        "dc_energy_reports",
        "dc_energy_yearly",
        "dc_energy_daily",
        "dc_energy_meters",
    ):
        op.drop_table(table)
