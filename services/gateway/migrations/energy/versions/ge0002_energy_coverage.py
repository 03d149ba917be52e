"""The data center's energy coverage: each main meter's installation, and its use and last reading per year;
the annual reports' vehicle fuel, floor area and people served; closed years.

Revision ID: ge0002
Revises: ge0001
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "ge0002"
down_revision = "ge0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the installation moment to meters and the per-meter year table (rebuild the projection to fill
    them from the events)."""
    op.add_column("dc_energy_meters", sa.Column("installed_at", sa.String(25), nullable=True))
    op.add_column("dc_energy_reports", sa.Column("vehicle_fuel", sa.Text(), nullable=True))
    op.add_column("dc_energy_reports", sa.Column("floor_area_m2", sa.Float(), nullable=True))
    op.add_column("dc_energy_reports", sa.Column("people_served", sa.Integer(), nullable=True))
    op.create_table(
        "dc_energy_meter_years",
        sa.Column("meter_id", sa.String(64), primary_key=True),
        sa.Column("year", sa.Integer(), primary_key=True),
        sa.Column("agency_id", sa.String(64), nullable=False),
        sa.Column("district", sa.String(6), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("consumption", sa.Float(), nullable=False),
        sa.Column("last_at", sa.String(25), nullable=False),
    )
    op.create_index("ix_dc_energy_meter_years_agency", "dc_energy_meter_years", ["agency_id", "year"])
    op.create_table(
        "dc_energy_closed_years",
        sa.Column("year", sa.Integer(), primary_key=True),
        sa.Column("figures", sa.Text(), nullable=False),
        sa.Column("versions", sa.Text(), nullable=False),
        sa.Column("closed_on", sa.String(10), nullable=False),
        sa.Column("restated_on", sa.String(10), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
    )


def downgrade() -> None:
    """Drop the per-meter year table and the installation column."""
    op.drop_table("dc_energy_closed_years")
    op.drop_table("dc_energy_meter_years")
    with op.batch_alter_table("dc_energy_meters") as batch:
        batch.drop_column("installed_at")
    with op.batch_alter_table("dc_energy_reports") as batch:
        for column in ("vehicle_fuel", "floor_area_m2", "people_served"):
            batch.drop_column(column)
