"""The key store's erasure generation: one counter, raised by every erasure, that a process reads (at most once a
second) before it trusts the keys it has cached, so an erasure made elsewhere reaches it at once.

Revision ID: pk0002
Revises: pk0001
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "pk0002"
down_revision = "pk0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the one-row counter, starting at the number of subjects erased so far."""
    table = op.create_table(
        "subject_key_erasures",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("generation", sa.BigInteger(), nullable=False),
    )
    erased = op.get_bind().execute(sa.text("SELECT count(*) FROM subject_keys WHERE erased_at IS NOT NULL")).scalar()
    op.bulk_insert(table, [{"id": 1, "generation": int(erased or 0)}])


def downgrade() -> None:
    """Drop the counter."""
    op.drop_table("subject_key_erasures")
