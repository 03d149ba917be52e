"""The journal of event ids a rebuild applied, folded into ``projector_seen_events`` in sorted runs.

Revision ID: p0002
Revises: p0001
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "p0002"
down_revision = "p0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the journal: no index, so a batch's ids are appended, never inserted at random into a tree."""
    op.create_table(
        "projector_seen_journal",
        sa.Column("projector", sa.String(100), nullable=False),
        sa.Column("event_id", sa.String(36), nullable=False),
    )


def downgrade() -> None:
    """Drop the journal."""
    op.drop_table("projector_seen_journal")
