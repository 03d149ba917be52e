"""Money columns named ``*_fen`` like every amount of the platform (they held fen as ``*_cents``): renamed in
place, the values unchanged (``ALTER TABLE ... RENAME COLUMN``: SQLite 3.25+ and PostgreSQL).

Revision ID: pr0002
Revises: pr0001
Create Date: 2026-12-06
"""

from alembic import op

revision = "pr0002"
down_revision = "pr0001"
branch_labels = None
depends_on = None

RENAMED = (
    ("pr_budget_lines", "amount_cents", "amount_fen"),
    ("pr_budget_lines", "committed_cents", "committed_fen"),
    ("pr_budget_lines", "spent_cents", "spent_fen"),
    ("pr_tenders", "reference_unit_price_cents", "reference_unit_price_fen"),
    ("pr_tenders", "unit_price_cents", "unit_price_fen"),
    ("pr_tenders", "amount_cents", "amount_fen"),
    ("pr_price_alerts", "price_cents", "price_fen"),
    ("pr_price_alerts", "basis_cents", "basis_fen"),
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
