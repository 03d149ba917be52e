"""The personal-data key store: one data key per data subject, wrapped by the master key.

Revision ID: pk0001
Revises:
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "pk0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the subject-keys table (an erased subject keeps its row: erased_at set, wrapped_key null)."""
    op.create_table(
        "subject_keys",
        sa.Column("subject_kind", sa.String(20), primary_key=True),
        sa.Column("subject_id", sa.String(200), primary_key=True),
        sa.Column("wrapped_key", sa.LargeBinary()),
        sa.Column("master_key_id", sa.String(16)),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("erased_at", sa.String(40)),
    )


def downgrade() -> None:
    """Drop the subject-keys table."""
    op.drop_table("subject_keys")
