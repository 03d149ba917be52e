"""Event store, snapshots and relay progress.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the store tables."""
    op.create_table(
        "events",
        sa.Column(
            "position", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True
        ),
        sa.Column("event_id", sa.String(36), nullable=False, unique=True),
        sa.Column("domain", sa.String(40), nullable=False),
        sa.Column("stream_type", sa.String(100), nullable=False),
        sa.Column("stream_id", sa.String(200), nullable=False),
        sa.Column("stream_version", sa.Integer(), nullable=False),
        sa.Column("event_type", sa.String(100), nullable=False),
        sa.Column("schema_version", sa.Integer(), nullable=False),
        sa.Column("occurred_at", sa.String(40), nullable=False),
        sa.Column("recorded_at", sa.String(40), nullable=False),
        sa.Column("district", sa.String(6)),
        sa.Column("agency_id", sa.String(64)),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("correlation_id", sa.String(100), nullable=False),
        sa.Column("causation_id", sa.String(100)),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.UniqueConstraint("stream_type", "stream_id", "stream_version", name="uq_events_stream_version"),
    )
    op.create_index("ix_events_actor", "events", ["actor"])
    op.create_index("ix_events_correlation", "events", ["correlation_id"])
    op.create_table(
        "snapshots",
        sa.Column("stream_type", sa.String(100), primary_key=True),
        sa.Column("stream_id", sa.String(200), primary_key=True),
        sa.Column("stream_version", sa.Integer(), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("taken_at", sa.String(40), nullable=False),
    )
    op.create_table(
        "relay_progress",
        sa.Column("topic", sa.String(200), primary_key=True),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.String(40), nullable=False),
    )


def downgrade() -> None:
    """Drop the store tables."""
    for table in ("relay_progress", "snapshots", "events"):
        op.drop_table(table)
