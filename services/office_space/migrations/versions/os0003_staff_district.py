"""Office-space read models: each person on post's district (the office-space report's district scope of
staff on post and standard area) and when their post was recorded (of two posts of one person arriving out of
order — a transfer's post and departure are on two agencies' streams — the later-recorded one stands).

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
    """Add the staff's district and the time their post was recorded."""
    op.add_column("os_staff", sa.Column("district", sa.String(6), nullable=True, index=True))
    op.add_column("os_staff", sa.Column("recorded_at", sa.String(40), nullable=True))


def downgrade() -> None:
    """Drop them."""
    op.drop_column("os_staff", "recorded_at")
    op.drop_column("os_staff", "district")
