"""The assets service's inbox of accepted procurement deliveries, waiting to enter the ledger.

Revision ID: asi0001
Revises:
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "asi0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the inbox table."""
    op.create_table(
        "as_received_deliveries",
        sa.Column("event_id", sa.String(36), primary_key=True),
        sa.Column("contract_id", sa.String(64), nullable=False),
        sa.Column("delivery_id", sa.String(64), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("correlation_id", sa.String(100), nullable=False),
        sa.Column("received_at", sa.String(40), nullable=False),
        sa.Column("status", sa.String(20), nullable=False, index=True),
        sa.Column("asset_ids", sa.Text()),
        sa.Column("reason", sa.Text()),
    )


def downgrade() -> None:
    """Drop the inbox table."""
    op.drop_table("as_received_deliveries")
