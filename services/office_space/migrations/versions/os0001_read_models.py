"""Office-space read models: staff, rooms, allocations and open findings.

Revision ID: os0001
Revises:
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "os0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the read-model tables."""
    op.create_table(
        "os_staff",
        sa.Column("person_id", sa.String(64), primary_key=True),
        sa.Column("agency_id", sa.String(64), nullable=False, index=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("rank", sa.String(40), nullable=False),
    )
    op.create_table(
        "os_rooms",
        sa.Column("room_id", sa.String(64), primary_key=True),
        sa.Column("building_id", sa.String(64), nullable=False, index=True),
        sa.Column("agency_id", sa.String(64), nullable=False, index=True),
        sa.Column("district", sa.String(6), nullable=False, index=True),
        sa.Column("number", sa.String(20), nullable=False),
        sa.Column("usable_area_m2", sa.Float(), nullable=False),
        sa.Column("use", sa.String(20), nullable=False),
        sa.Column("idle", sa.Boolean(), nullable=False),
        sa.Column("idle_since", sa.String(40)),
    )
    op.create_table(
        "os_allocations",
        sa.Column("room_id", sa.String(64), primary_key=True),
        sa.Column("person_id", sa.String(64), primary_key=True),
        sa.Column("building_id", sa.String(64), nullable=False),
        sa.Column("agency_id", sa.String(64), nullable=False, index=True),
        sa.Column("district", sa.String(6), nullable=False, index=True),
        sa.Column("rank", sa.String(40), nullable=False),
        sa.Column("area_per_person_m2", sa.Float(), nullable=False),
        sa.Column("standard_m2", sa.Float(), nullable=False),
        sa.Column("over_standard", sa.Boolean(), nullable=False),
        sa.Column("exception_approved_by", sa.String(200)),
    )
    op.create_table(
        "os_findings",
        sa.Column("finding_key", sa.String(200), primary_key=True),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("agency_id", sa.String(64), nullable=False, index=True),
        sa.Column("district", sa.String(6), nullable=False, index=True),
        sa.Column("description", sa.String(2000), nullable=False),
        sa.Column("opened_on", sa.String(40), nullable=False),
        sa.Column("deadline", sa.String(40)),
        sa.Column("closed_on", sa.String(40)),
    )


def downgrade() -> None:
    """Drop the read-model tables."""
    for table in ("os_findings", "os_allocations", "os_rooms", "os_staff"):
        op.drop_table(table)
