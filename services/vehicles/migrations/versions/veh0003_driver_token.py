"""Trips name their driver by id (``driver_id``) and keep the driver's name as its personal-data token
(``pd:v1:driver:...``, longer than the 50 characters of a clear name), so the column holds up to 2000
characters, as the event's property.

Revision ID: veh0003
Revises: veh0002
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "veh0003"
down_revision = "veh0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add veh_trips.driver_id; widen veh_trips.driver to hold a token."""
    with op.batch_alter_table("veh_trips") as batch:
        batch.add_column(sa.Column("driver_id", sa.String(64)))
        batch.alter_column("driver", type_=sa.String(2000), existing_type=sa.String(50), existing_nullable=True)


def downgrade() -> None:
    """Back to a 50-character name without id (tokens would not fit: rebuild the projection first)."""
    with op.batch_alter_table("veh_trips") as batch:
        batch.alter_column("driver", type_=sa.String(50), existing_type=sa.String(2000), existing_nullable=True)
        batch.drop_column("driver_id")
