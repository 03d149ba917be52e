"""Relay logs: which topic (by the broker's topic id) a relay published to, and how far each partition got.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the table: a relay that finds another topic id, or a partition shorter than it recorded, knows the
    broker lost its events and publishes the store again."""
    op.create_table(
        "relay_logs",
        sa.Column("topic", sa.String(200), primary_key=True),
        sa.Column("topic_id", sa.String(64), nullable=False),
        sa.Column("marks", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.String(40), nullable=False),
    )


def downgrade() -> None:
    """Drop the table."""
    op.drop_table("relay_logs")
