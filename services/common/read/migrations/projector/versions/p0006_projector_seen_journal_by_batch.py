"""The rebuild's journal of applied event ids keeps a row per batch (its ids as a JSON array), not a row per id.

A rebuild journals the id of every event it applies (``services.common.read.seen``). A row per id cost about
3.5 µs an id to insert, and emptying the journal after each fold deleted every one of those rows again (0.7 µs
an id); a row per batch of thousands costs about 0.7 µs an id, and the fold takes the ids out of the arrays with
the store's own JSON functions. A journal an interrupted rebuild left behind is folded here first, as the next
projector to start would have folded it.

Revision ID: p0006
Revises: p0005
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "p0006"
down_revision = "p0005"
branch_labels = None
depends_on = None

_FOLD_ROWS = (
    "INSERT INTO projector_seen_events (projector, event_id) "
    "SELECT projector, event_id FROM projector_seen_journal ORDER BY projector, event_id ON CONFLICT DO NOTHING"
)
_FOLD_BATCHES = {
    "sqlite": "INSERT INTO projector_seen_events (projector, event_id) "
    "SELECT j.projector, e.value FROM projector_seen_journal AS j, json_each(j.ids) AS e "
    "ORDER BY j.projector, e.value ON CONFLICT DO NOTHING",
    "postgresql": "INSERT INTO projector_seen_events (projector, event_id) "
    "SELECT j.projector, e.value FROM projector_seen_journal AS j "
    "CROSS JOIN LATERAL jsonb_array_elements_text(CAST(j.ids AS jsonb)) AS e(value) "
    "ORDER BY j.projector, e.value ON CONFLICT DO NOTHING",
}


def upgrade() -> None:
    """Fold what is journaled a row per id, then make the journal a row per batch."""
    op.execute(_FOLD_ROWS)
    op.drop_table("projector_seen_journal")
    op.create_table(
        "projector_seen_journal",
        sa.Column("projector", sa.String(100), nullable=False),
        sa.Column("ids", sa.Text(), nullable=False),
    )


def downgrade() -> None:
    """Fold what is journaled a row per batch, then make the journal a row per id again."""
    op.execute(_FOLD_BATCHES[op.get_bind().dialect.name])
    op.drop_table("projector_seen_journal")
    op.create_table(
        "projector_seen_journal",
        sa.Column("projector", sa.String(100), nullable=False),
        sa.Column("event_id", sa.String(36), nullable=False),
    )
