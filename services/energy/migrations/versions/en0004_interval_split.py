"""Energy read models shared by time (docs/energy-periods.md): each meter's last reading and its gaps with their use.

Revision ID: en0004
Revises: en0003
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "en0004"
down_revision = "en0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the last-reading and gap-use tables (rebuild the projection so hours and days are shared by time)."""
    op.create_table(
        "en_last_readings",
        sa.Column("meter_id", sa.String(64), primary_key=True),
        sa.Column("last_at", sa.String(40), nullable=False),
    )
    op.create_table(
        "en_gap_uses",
        sa.Column("meter_id", sa.String(64), primary_key=True),
        sa.Column("gap_from", sa.String(40), primary_key=True),
        sa.Column("gap_to", sa.String(40), nullable=False),
        sa.Column("consumption", sa.Float(), nullable=False),
    )


def downgrade() -> None:
    """Drop the last-reading and gap-use tables."""
    op.drop_table("en_gap_uses")
    op.drop_table("en_last_readings")
