"""The ledger keeps each asset's depreciation life and the version of its table, apart from its minimum service
life (AssetRegistered v2).

Revision ID: as0002
Revises: as0001
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "as0002"
down_revision = "as0001"
branch_labels = None
depends_on = None

# The 2017 table (services.assets.domain.depreciation.DEPRECIATION_LIFE_2017) as it was when this migration was
# written: rows projected before it get what the v1 -> v2 upcaster gives their event.
_YEARS_2017 = {"furniture": 15, "computers": 6, "printers": 6, "copiers": 6, "office_equipment": 6}


def upgrade() -> None:
    """Add the columns and fill them for rows already projected."""
    op.add_column("as_assets", sa.Column("depreciation_life_years", sa.Integer()))
    op.add_column("as_assets", sa.Column("depreciation_life_version", sa.String(40)))
    table = sa.table(
        "as_assets",
        sa.column("category", sa.String()),
        sa.column("min_service_life_years", sa.Integer()),
        sa.column("depreciation_life_years", sa.Integer()),
        sa.column("depreciation_life_version", sa.String()),
    )
    for category, years in _YEARS_2017.items():
        op.execute(
            table.update()
            .where(table.c.category == category)
            .values(depreciation_life_years=years, depreciation_life_version="2017")
        )
    op.execute(
        table.update()
        .where(table.c.depreciation_life_years.is_(None))
        .values(
            depreciation_life_years=table.c.min_service_life_years,
            depreciation_life_version="service-life",
        )
    )


def downgrade() -> None:
    """Drop the columns."""
    op.drop_column("as_assets", "depreciation_life_version")
    op.drop_column("as_assets", "depreciation_life_years")
