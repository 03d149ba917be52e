"""Office-space read models: a person's name is kept as its personal-data token (``pd:v1:person:...``, longer
than the 100 characters of a clear name), so the column holds up to 2000 characters, as the event's property.

Revision ID: os0005
Revises: os0004
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "os0005"
down_revision = "os0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Widen os_staff.name to hold a token."""
    with op.batch_alter_table("os_staff") as batch:
        batch.alter_column("name", type_=sa.String(2000), existing_type=sa.String(100), existing_nullable=True)


def downgrade() -> None:
    """Back to 100 characters (tokens longer than that would not fit: rebuild the projection first)."""
    with op.batch_alter_table("os_staff") as batch:
        batch.alter_column("name", type_=sa.String(100), existing_type=sa.String(2000), existing_nullable=True)
