"""The topic id each consumer's stored offsets belong to (``services.common.read.positions``).

Revision ID: p0003
Revises: p0002
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "p0003"
down_revision = "p0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the table: an offset means something only on the log (topic id) it was read from."""
    op.create_table(
        "projector_logs",
        sa.Column("projector", sa.String(100), primary_key=True),
        sa.Column("topic", sa.String(200), primary_key=True),
        sa.Column("topic_id", sa.String(64), nullable=False),
        sa.Column("updated_at", sa.String(40), nullable=False),
    )


def downgrade() -> None:
    """Drop the table."""
    op.drop_table("projector_logs")
