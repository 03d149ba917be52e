"""Energy read models: each main meter's last reading per year, from which its covered days are known.

Revision ID: en0003
Revises: en0002
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "en0003"
down_revision = "en0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the per-meter year table (rebuild the projection to fill it from the events)."""
    op.create_table(
        "en_meter_years",
        sa.Column("meter_id", sa.String(64), primary_key=True),
        sa.Column("year", sa.Integer(), primary_key=True),
        sa.Column("agency_id", sa.String(64), nullable=False),
        sa.Column("district", sa.String(6), nullable=False),
        sa.Column("last_at", sa.String(40), nullable=False),
    )
    op.create_index("ix_en_meter_years_agency", "en_meter_years", ["agency_id", "year"])


def downgrade() -> None:
    """Drop the per-meter year table."""
    op.drop_table("en_meter_years")
