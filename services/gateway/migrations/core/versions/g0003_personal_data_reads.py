"""The access record of personal data: every API answer that showed a personal value in clear.

Revision ID: g0003
Revises: g0002
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "g0003"
down_revision = "g0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the table of personal-data reads."""
    op.create_table(
        "personal_data_reads",
        sa.Column("read_id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("read_at", sa.String(40), nullable=False),
        sa.Column("reader", sa.String(200), nullable=False),
        sa.Column("role", sa.String(40), nullable=False),
        sa.Column("district", sa.String(6)),
        sa.Column("subject_kind", sa.String(20), nullable=False, index=True),
        sa.Column("subject_id", sa.String(200), nullable=False, index=True),
        sa.Column("fields", sa.String(200), nullable=False),
        sa.Column("route", sa.String(200), nullable=False),
    )


def downgrade() -> None:
    """Drop the table of personal-data reads."""
    op.drop_table("personal_data_reads")
