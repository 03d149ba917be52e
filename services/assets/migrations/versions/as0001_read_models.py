"""Assets read models: the ledger, warehouse requests, loans, stock-takes and findings, disposals, stock.

Revision ID: as0001
Revises:
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "as0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the read-model tables."""
    op.create_table(
        "as_assets",
        sa.Column("asset_id", sa.String(64), primary_key=True),
        sa.Column("agency_id", sa.String(64), nullable=False, index=True),
        sa.Column("district", sa.String(6), nullable=False, index=True),
        sa.Column("category", sa.String(40), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("location", sa.String(100), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("condition", sa.String(20), nullable=False),
        sa.Column("original_value_cents", sa.BigInteger(), nullable=False),
        sa.Column("acquired_on", sa.String(10), nullable=False),
        sa.Column("min_service_life_years", sa.Integer(), nullable=False),
        sa.Column("contract_id", sa.String(64)),
        sa.Column("delivery_id", sa.String(64)),
        sa.Column("loan_id", sa.String(64)),
        sa.Column("replacement", sa.String(20)),
        sa.Column("disposed_on", sa.String(10)),
    )
    op.create_index("ix_as_assets_status_category", "as_assets", ["status", "category"])
    op.create_table(
        "as_requests",
        sa.Column("request_id", sa.String(64), primary_key=True),
        sa.Column("agency_id", sa.String(64), nullable=False, index=True),
        sa.Column("district", sa.String(6), nullable=False, index=True),
        sa.Column("category", sa.String(40), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("allocated", sa.Integer(), nullable=False),
        sa.Column("purchase_authorised", sa.Integer(), nullable=False),
        sa.Column("replaces_asset_id", sa.String(64)),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("opened_on", sa.String(10), nullable=False),
    )
    op.create_table(
        "as_loans",
        sa.Column("loan_id", sa.String(64), primary_key=True),
        sa.Column("borrower_agency_id", sa.String(64), nullable=False, index=True),
        sa.Column("district", sa.String(6), nullable=False, index=True),
        sa.Column("purpose", sa.String(20), nullable=False),
        sa.Column("occasion", sa.String(200), nullable=False),
        sa.Column("asset_ids", sa.Text(), nullable=False),
        sa.Column("outstanding_asset_ids", sa.Text(), nullable=False),
        sa.Column("outstanding", sa.Integer(), nullable=False),
        sa.Column("due_on", sa.String(10), nullable=False),
        sa.Column("lent_on", sa.String(10), nullable=False),
        sa.Column("flagged_on", sa.String(10)),
        sa.Column("returned_on", sa.String(10)),
    )
    op.create_table(
        "as_stocktakes",
        sa.Column("stocktake_id", sa.String(64), primary_key=True),
        sa.Column("agency_id", sa.String(64), nullable=False, index=True),
        sa.Column("district", sa.String(6), nullable=False, index=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("expected_items", sa.Integer(), nullable=False),
        sa.Column("counted_items", sa.Integer()),
        sa.Column("findings", sa.Integer()),
        sa.Column("opened_on", sa.String(10), nullable=False),
        sa.Column("closed_on", sa.String(10)),
    )
    op.create_table(
        "as_findings",
        sa.Column("finding_id", sa.String(64), primary_key=True),
        sa.Column("stocktake_id", sa.String(64), nullable=False, index=True),
        sa.Column("agency_id", sa.String(64), nullable=False, index=True),
        sa.Column("district", sa.String(6), nullable=False, index=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("asset_id", sa.String(64), nullable=False),
        sa.Column("ledger_location", sa.String(100)),
        sa.Column("found_location", sa.String(100)),
        sa.Column("recorded_on", sa.String(10), nullable=False),
        sa.Column("resolution", sa.String(40)),
        sa.Column("reconciled_on", sa.String(10)),
    )
    op.create_table(
        "as_disposals",
        sa.Column("disposal_id", sa.String(64), primary_key=True),
        sa.Column("agency_id", sa.String(64), nullable=False, index=True),
        sa.Column("district", sa.String(6), nullable=False, index=True),
        sa.Column("method", sa.String(20), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("asset_count", sa.Integer(), nullable=False),
        sa.Column("book_value_cents", sa.BigInteger(), nullable=False),
        sa.Column("proceeds_cents", sa.BigInteger()),
        sa.Column("applied_on", sa.String(10), nullable=False),
        sa.Column("decided_on", sa.String(10)),
        sa.Column("completed_on", sa.String(10)),
    )
    op.create_table(
        "as_stock_items",
        sa.Column("sku", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("unit", sa.String(40), nullable=False),
        sa.Column("average_unit_cost_cents", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "as_stock_levels",
        sa.Column("sku", sa.String(64), primary_key=True),
        sa.Column("site", sa.String(64), primary_key=True),
        sa.Column("on_hand", sa.Integer(), nullable=False),
        sa.Column("reorder_point", sa.Integer(), nullable=False),
        sa.Column("below_since", sa.String(10)),
    )
    op.create_table(
        "as_goods_issued",
        sa.Column("agency_id", sa.String(64), primary_key=True),
        sa.Column("sku", sa.String(64), primary_key=True),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("value_cents", sa.BigInteger(), nullable=False),
    )


def downgrade() -> None:
    """Drop the read-model tables."""
    for table in (
        "as_goods_issued",
        "as_stock_levels",
        "as_stock_items",
        "as_disposals",
        "as_findings",
        "as_stocktakes",
        "as_loans",
        "as_requests",
        "as_assets",
    ):
        op.drop_table(table)
