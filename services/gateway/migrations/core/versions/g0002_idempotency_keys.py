"""Idempotency keys bound, across services, to the one command they were first sent with.

Revision ID: g0002
Revises: g0001
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "g0002"
down_revision = "g0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the table of bound keys."""
    op.create_table(
        "idempotency_keys",
        sa.Column("idempotency_key", sa.String(300), primary_key=True),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("command", sa.String(200), nullable=False),
        sa.Column("bound_at", sa.String(40), nullable=False),
    )


def downgrade() -> None:
    """Drop the table of bound keys."""
    op.drop_table("idempotency_keys")
