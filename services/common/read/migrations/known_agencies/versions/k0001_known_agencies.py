"""A service's own view of the agency master data, learned from the office-space events.

Revision ID: k0001
Revises:
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "k0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the known-agencies table."""
    op.create_table(
        "known_agencies",
        sa.Column("agency_id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("district", sa.String(6), nullable=False, index=True),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("admin_level", sa.String(20), nullable=False),
        sa.Column("authorised_headcount", sa.Integer(), nullable=False),
    )


def downgrade() -> None:
    """Drop the known-agencies table."""
    op.drop_table("known_agencies")
