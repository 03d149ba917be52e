"""An append writes the events table and its index on stream and version only: the two b-trees an append needs.

Every index of the events table is one more page each commit writes and syncs (one more WAL frame on SQLite, one
more index entry and WAL record on PostgreSQL), and one more b-tree SQLite walks in the insert. Two went:

- the unique index on ``event_id``: no query reads events by their id, and no append can meet one taken. An event's
  id is a random UUID (version 4, 122 bits from the operating system's generator) the store draws for the row it
  inserts, as every store and topic of the platform draws them, and nothing else inserts events; the consumers
  that deduplicate on it read ids from every service, which no index of one store covers anyway.
- the index on ``actor``: ``events_by_actor`` (the audit of who did what, asked now and then) reads through
  ``actor_positions`` instead, a table of each event's actor by position that the audit itself brings up to date
  before it reads (``EventStore.events_by_actor``), off every append's commit. It is filled here from the events
  already stored.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_NAMED = {"uq": "uq_%(table_name)s_%(column_0_name)s"}
"""Names for SQLite's unnamed constraints when the table is copied (SQLite drops a constraint only so)."""


def upgrade() -> None:
    """Move the actor's lookup to its own table, filled from the events; drop the two indexes."""
    op.create_table(
        "actor_positions",
        sa.Column("position", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        sa.Column("actor", sa.String(200), nullable=False),
    )
    op.create_index("ix_actor_positions_actor", "actor_positions", ["actor", "position"])
    op.execute("INSERT INTO actor_positions (position, actor) SELECT position, actor FROM events")
    op.drop_index("ix_events_actor", table_name="events")
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("events", naming_convention=_NAMED) as batch:
            batch.drop_constraint("uq_events_event_id", type_="unique")
        return
    for constraint in sa.inspect(op.get_bind()).get_unique_constraints("events"):
        if constraint["column_names"] == ["event_id"] and constraint["name"]:
            op.drop_constraint(constraint["name"], "events", type_="unique")


def downgrade() -> None:
    """Index the events by id and by actor again; drop the actor's table."""
    with op.batch_alter_table("events") as batch:
        batch.create_unique_constraint("uq_events_event_id", ["event_id"])
    op.create_index("ix_events_actor", "events", ["actor"])
    op.drop_index("ix_actor_positions_actor", table_name="actor_positions")
    op.drop_table("actor_positions")
