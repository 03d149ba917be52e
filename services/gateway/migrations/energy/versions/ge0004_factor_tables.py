"""The data center's adopted factor tables (docs/energy-periods.md): which table each year's figures use.

Revision ID: ge0004
Revises: ge0003
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "ge0004"
down_revision = "ge0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the adopted factor tables (filled from ``FactorTableAdopted``; none exist before this revision)."""
    op.create_table(
        "dc_energy_factor_tables",
        sa.Column("adoption", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("version", sa.String(64)),
        sa.Column("valid_from", sa.Integer()),
        sa.Column("valid_to", sa.Integer()),
        sa.Column("payload", sa.Text()),
    )


def downgrade() -> None:
    """Drop the adopted factor tables."""
    op.drop_table("dc_energy_factor_tables")
