"""Projector offsets and the event ids each projector has applied.

Revision ID: p0001
Revises:
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "p0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the projector tables."""
    op.create_table(
        "projector_offsets",
        sa.Column("projector", sa.String(100), primary_key=True),
        sa.Column("topic", sa.String(200), primary_key=True),
        sa.Column("partition", sa.Integer(), primary_key=True),
        sa.Column("next_offset", sa.BigInteger(), nullable=False),
        sa.Column("last_event_at", sa.String(40)),
        sa.Column("updated_at", sa.String(40), nullable=False),
    )
    op.create_table(
        "projector_seen_events",
        sa.Column("projector", sa.String(100), primary_key=True),
        sa.Column("event_id", sa.String(36), primary_key=True),
    )


def downgrade() -> None:
    """Drop the projector tables."""
    op.drop_table("projector_seen_events")
    op.drop_table("projector_offsets")
