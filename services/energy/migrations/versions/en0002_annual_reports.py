"""Energy read models: annual consumption reports (the 2020 baseline and unmetered use).

Revision ID: en0002
Revises: en0001
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "en0002"
down_revision = "en0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the annual reports table."""
    op.create_table(
        "en_annual_reports",
        sa.Column("agency_id", sa.String(64), primary_key=True),
        sa.Column("year", sa.Integer(), primary_key=True),
        sa.Column("district", sa.String(6), nullable=False),
        sa.Column("totals", sa.Text(), nullable=False),
        sa.Column("source", sa.String(500), nullable=False),
    )


def downgrade() -> None:
    """Drop the annual reports table."""
    op.drop_table("en_annual_reports")
