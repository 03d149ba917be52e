"""The data center's energy intervals shared by time (docs/energy-periods.md): each main meter's last reading and its gaps
with their use.

Revision ID: ge0003
Revises: ge0002
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "ge0003"
down_revision = "ge0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the last-reading and gap tables (rebuild the projection so the days and years are shared by time)."""
    op.create_table(
        "dc_energy_last_readings",
        sa.Column("meter_id", sa.String(64), primary_key=True),
        sa.Column("last_at", sa.String(25), nullable=False),
    )
    op.create_table(
        "dc_energy_gaps",
        sa.Column("meter_id", sa.String(64), primary_key=True),
        sa.Column("gap_from", sa.String(25), primary_key=True),
        sa.Column("gap_to", sa.String(25), nullable=False),
        sa.Column("consumption", sa.Float(), nullable=False),
    )


def downgrade() -> None:
    """Drop the last-reading and gap tables."""
    op.drop_table("dc_energy_gaps")
    op.drop_table("dc_energy_last_readings")
