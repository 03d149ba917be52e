"""How many messages each projector sent to a dead-letter topic, by topic and reason (for ``/projections``).

Revision ID: p0004
Revises: p0003
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "p0004"
down_revision = "p0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the counts: kept beside the projection, so a restart does not forget them as a metric does."""
    op.create_table(
        "projector_dead_letters",
        sa.Column("projector", sa.String(100), primary_key=True),
        sa.Column("topic", sa.String(200), primary_key=True),
        sa.Column("reason", sa.String(100), primary_key=True),
        sa.Column("count", sa.BigInteger(), nullable=False),
    )


def downgrade() -> None:
    """Drop the counts."""
    op.drop_table("projector_dead_letters")
