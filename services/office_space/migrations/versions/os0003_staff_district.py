"""Office-space read models: each person on post's district (the office-space report's district scope of
staff on post and standard area).

Revision ID: os0003
Revises: os0002
Create Date: 2026-12-06

Rows written before this revision have no district: rebuild the projection
(``python -m services.gateway.rebuild``) to fill it from the topic.
"""

import sqlalchemy as sa
from alembic import op

revision = "os0003"
down_revision = "os0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the staff's district."""
    op.add_column("os_staff", sa.Column("district", sa.String(6), nullable=True, index=True))


def downgrade() -> None:
    """Drop it."""
    op.drop_column("os_staff", "district")
