"""Money columns named ``*_fen`` like every amount of the platform (they held fen as ``*_cents``): renamed in
place, the values unchanged (``ALTER TABLE ... RENAME COLUMN``: SQLite 3.25+ and PostgreSQL).

Revision ID: as0003
Revises: as0002
Create Date: 2026-12-06
"""

from alembic import op

revision = "as0003"
down_revision = "as0002"
branch_labels = None
depends_on = None

RENAMED = (
    ("as_assets", "original_value_cents", "original_value_fen"),
    ("as_disposals", "book_value_cents", "book_value_fen"),
    ("as_disposals", "proceeds_cents", "proceeds_fen"),
    ("as_stock_items", "average_unit_cost_cents", "average_unit_cost_fen"),
    ("as_goods_issued", "value_cents", "value_fen"),
)
"""(table, former column, column) of every money column."""


def upgrade() -> None:
    """Rename each ``*_cents`` column to its ``*_fen`` name."""
    for table, former, column in RENAMED:
        op.execute(f"ALTER TABLE {table} RENAME COLUMN {former} TO {column}")


def downgrade() -> None:
    """Give each column back its ``*_cents`` name."""
    for table, former, column in RENAMED:
        op.execute(f"ALTER TABLE {table} RENAME COLUMN {column} TO {former}")
