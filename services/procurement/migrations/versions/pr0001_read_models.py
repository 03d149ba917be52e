"""Procurement read models: catalog, budget lines, open requests, tenders and their lots, abnormal quotes, awards,
deliveries, price alerts, and the purchase authorisations received from the assets service.

Revision ID: pr0001
Revises:
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "pr0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the read-model tables."""
    op.create_table(
        "pr_catalog",
        sa.Column("item_code", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("category", sa.String(40), nullable=False, index=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("unit", sa.String(20), nullable=False),
        sa.Column("green_clauses_required", sa.Boolean(), nullable=False),
        sa.Column("idle_first", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
    )
    op.create_table(
        "pr_budget_lines",
        sa.Column("budget_line_id", sa.String(64), primary_key=True),
        sa.Column("agency_id", sa.String(64), nullable=False, index=True),
        sa.Column("district", sa.String(6), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(200), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("committed_cents", sa.BigInteger(), nullable=False),
        sa.Column("spent_cents", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "pr_open_requests",
        sa.Column("request_id", sa.String(64), primary_key=True),
        sa.Column("agency_id", sa.String(64), nullable=False),
        sa.Column("district", sa.String(6), nullable=False),
        sa.Column("item_code", sa.String(64), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Index("ix_pr_open_requests_status_year", "status", "year"),
    )
    op.create_table(
        "pr_tenders",
        sa.Column("tender_id", sa.String(64), primary_key=True),
        sa.Column("district", sa.String(6), nullable=False, index=True),
        sa.Column("item_code", sa.String(64), nullable=False),
        sa.Column("category", sa.String(40), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("batch", sa.Boolean(), nullable=False),
        sa.Column("lots", sa.Text(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("reference_unit_price_cents", sa.BigInteger(), nullable=False),
        sa.Column("opened_at", sa.String(40), nullable=False),
        sa.Column("closes_at", sa.String(40), nullable=False),
        sa.Column("bid_count", sa.Integer(), nullable=False),
        sa.Column("flag_count", sa.Integer(), nullable=False),
        sa.Column("supplier_id", sa.String(64)),
        sa.Column("unit_price_cents", sa.BigInteger()),
        sa.Column("amount_cents", sa.BigInteger()),
        sa.Column("reason", sa.Text()),
        sa.Column("decided_at", sa.String(40)),
    )
    op.create_table(
        "pr_tender_lots",
        sa.Column("tender_id", sa.String(64), primary_key=True),
        sa.Column("request_id", sa.String(64), primary_key=True),
        sa.Column("agency_id", sa.String(64), nullable=False, index=True),
        sa.Column("district", sa.String(6), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
    )
    op.create_table(
        "pr_abnormal_quotes",
        sa.Column("finding_id", sa.String(36), primary_key=True),
        sa.Column("tender_id", sa.String(64), nullable=False, index=True),
        sa.Column("district", sa.String(6), nullable=False, index=True),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("bid_ids", sa.Text(), nullable=False),
        sa.Column("supplier_ids", sa.Text(), nullable=False),
        sa.Column("suppliers_key", sa.Text(), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("cleared_bid_ids", sa.Text(), nullable=False),
        sa.Column("excluded_bid_ids", sa.Text(), nullable=False),
        sa.Column("flagged_at", sa.String(40), nullable=False),
        sa.Column("closed_at", sa.String(40)),
        sa.Column("closed_because", sa.String(40)),
    )
    op.create_table(
        "pr_awards",
        sa.Column("tender_id", sa.String(64), primary_key=True),
        sa.Column("category", sa.String(40), nullable=False, index=True),
        sa.Column("awarded_at", sa.String(40), nullable=False),
        sa.Column("winner_id", sa.String(64), nullable=False),
        sa.Column("bidder_ids", sa.Text(), nullable=False),
    )
    op.create_table(
        "pr_deliveries",
        sa.Column("contract_id", sa.String(200), primary_key=True),
        sa.Column("delivery_id", sa.String(64), primary_key=True),
        sa.Column("supplier_id", sa.String(64), nullable=False, index=True),
        sa.Column("district", sa.String(6), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("defective_quantity", sa.Integer()),
        sa.Column("days_late", sa.Integer(), nullable=False),
        sa.Column("delivered_on", sa.String(10), nullable=False),
        sa.Column("inspected_on", sa.String(10)),
    )
    op.create_table(
        "pr_price_alerts",
        sa.Column("alert_id", sa.String(36), primary_key=True),
        sa.Column("item_code", sa.String(64), nullable=False, index=True),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("observed_on", sa.String(10), nullable=False),
        sa.Column("price_cents", sa.BigInteger(), nullable=False),
        sa.Column("basis_cents", sa.Float(), nullable=False),
        sa.Column("change", sa.Float(), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("closed_on", sa.String(10)),
    )
    op.create_table(
        "pr_received_authorisations",
        sa.Column("authorisation_id", sa.String(64), primary_key=True),
        sa.Column("agency_id", sa.String(64), nullable=False),
        sa.Column("district", sa.String(6), nullable=False),
        sa.Column("category", sa.String(40), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("asset_category", sa.String(40)),
        sa.Column("idle_items_checked", sa.Integer()),
        sa.Column("idle_items_fitting", sa.Integer()),
        sa.Column("authorised_on", sa.String(10), nullable=False),
    )


def downgrade() -> None:
    """Drop the read-model tables."""
    for table in (
        "pr_received_authorisations",
        "pr_price_alerts",
        "pr_deliveries",
        "pr_awards",
        "pr_abnormal_quotes",
        "pr_tender_lots",
        "pr_tenders",
        "pr_open_requests",
        "pr_budget_lines",
        "pr_catalog",
    ):
        op.drop_table(table)
