"""Deliveries of RPC requests that RabbitMQ delivered again (their service died while handling them).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the table: a request delivered again more than a few times is dead-lettered (kept here with its
    body), not handled, so one request cannot kill its service for ever."""
    op.create_table(
        "rpc_redeliveries",
        sa.Column("correlation_id", sa.String(200), primary_key=True),
        sa.Column("routing_key", sa.String(200), nullable=False),
        sa.Column("redeliveries", sa.Integer(), nullable=False),
        sa.Column("first_at", sa.String(40), nullable=False),
        sa.Column("dead_lettered_at", sa.String(40)),
        sa.Column("request", sa.Text()),
    )


def downgrade() -> None:
    """Drop the table."""
    op.drop_table("rpc_redeliveries")
