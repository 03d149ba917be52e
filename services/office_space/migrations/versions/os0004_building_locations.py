"""Office-space read models: each building's address and location (WGS-84 longitude and latitude, from
``BuildingRegistered`` v2), for the buildings' GeoJSON.

Revision ID: os0004
Revises: os0003
Create Date: 2026-12-06

Rows written before this revision have no address: rebuild the projection
(``python -m services.gateway.rebuild``) to fill it from the topic (their locations are null either way: v1
events have none).
"""

import sqlalchemy as sa
from alembic import op

revision = "os0004"
down_revision = "os0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the building's address, longitude and latitude."""
    op.add_column("os_buildings", sa.Column("address", sa.Text(), nullable=True))
    op.add_column("os_buildings", sa.Column("longitude", sa.Float(), nullable=True))
    op.add_column("os_buildings", sa.Column("latitude", sa.Float(), nullable=True))


def downgrade() -> None:
    """Drop them."""
    op.drop_column("os_buildings", "latitude")
    op.drop_column("os_buildings", "longitude")
    op.drop_column("os_buildings", "address")
