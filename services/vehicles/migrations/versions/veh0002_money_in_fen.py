"""Money columns named ``*_fen`` like every amount of the platform (they held fen as ``*_cents``): renamed in
place, the values unchanged (``ALTER TABLE ... RENAME COLUMN``: SQLite 3.25+ and PostgreSQL).

Revision ID: veh0002
Revises: veh0001
Create Date: 2026-12-06
"""

from alembic import op

revision = "veh0002"
down_revision = "veh0001"
branch_labels = None
depends_on = None

RENAMED = (
    ("veh_vehicles", "proceeds_cents", "proceeds_fen"),
    ("veh_costs", "amount_cents", "amount_fen"),
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
