"""Which agencies' energy figures changed: a stamp per agency (``*``: every agency), written with the offsets.

Revision ID: gf0001
Revises:
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "gf0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the table of changed agencies."""
    op.create_table(
        "dc_figure_changes",
        sa.Column("topic", sa.String(200), primary_key=True),
        sa.Column("agency_id", sa.String(64), primary_key=True),
        sa.Column("stamp", sa.String(64), nullable=False),
    )


def downgrade() -> None:
    """Drop the table of changed agencies."""
    op.drop_table("dc_figure_changes")
