"""Office-space read models: buildings with their gross floor area (the denominator of energy per m²).

Revision ID: os0002
Revises: os0001
Create Date: 2026-11-23

Databases built before this revision have no building rows: rebuild the projection
(``python -m services.gateway.rebuild``) to fill them from the topic.
"""

import sqlalchemy as sa
from alembic import op

revision = "os0002"
down_revision = "os0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the buildings table."""
    op.create_table(
        "os_buildings",
        sa.Column("building_id", sa.String(64), primary_key=True),
        sa.Column("agency_id", sa.String(64), nullable=False, index=True),
        sa.Column("district", sa.String(6), nullable=False, index=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("gross_floor_area_m2", sa.Float(), nullable=False),
    )


def downgrade() -> None:
    """Drop it."""
    op.drop_table("os_buildings")
