"""The events' index on correlation id dropped: no query reads events by correlation id.

Every append wrote a page of it (one more WAL frame per commit on SQLite, one more index entry and WAL record on
PostgreSQL) for nothing: the events are read by position (the relay, ``read_all``), by stream (``load``, the
version check of an append, through ``uq_events_stream_version``) and by actor (``events_by_actor``, through
``ix_events_actor``). The one lookup by correlation id, of an RPC request delivered again, reads
``rpc_redeliveries``, whose key it is. An event's correlation id is still stored and published.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Drop the unused index."""
    op.drop_index("ix_events_correlation", table_name="events")


def downgrade() -> None:
    """Build it again."""
    op.create_index("ix_events_correlation", "events", ["correlation_id"])
