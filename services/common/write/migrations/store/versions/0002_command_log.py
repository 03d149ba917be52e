"""Command log: the answer to every command that carried an idempotency key.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the command log."""
    op.create_table(
        "command_log",
        sa.Column("idempotency_key", sa.String(200), primary_key=True),
        sa.Column("command", sa.String(100), nullable=False),
        sa.Column("result", sa.Text(), nullable=False),
        sa.Column("recorded_at", sa.String(40), nullable=False),
    )


def downgrade() -> None:
    """Drop the command log."""
    op.drop_table("command_log")
