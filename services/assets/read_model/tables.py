"""The assets read-model tables (the service's and the data center's) and the service's inbox table."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()
assets = sa.Table(
    "as_assets",
    metadata,
    sa.Column("asset_id", sa.String(64), primary_key=True),
    sa.Column("agency_id", sa.String(64)),
    sa.Column("district", sa.String(6)),
    sa.Column("category", sa.String(40)),
    sa.Column("name", sa.String(200)),
    sa.Column("location", sa.String(100)),
    sa.Column("status", sa.String(20)),
    sa.Column("condition", sa.String(20)),
    sa.Column("original_value_fen", sa.BigInteger()),
    sa.Column("acquired_on", sa.String(10)),
    sa.Column("min_service_life_years", sa.Integer()),
    sa.Column("depreciation_life_years", sa.Integer()),
    sa.Column("depreciation_life_version", sa.String(40)),
    sa.Column("contract_id", sa.String(64)),
    sa.Column("delivery_id", sa.String(64)),
    sa.Column("loan_id", sa.String(64)),
    sa.Column("replacement", sa.String(20)),
    sa.Column("disposed_on", sa.String(10)),
)
requests = sa.Table(
    "as_requests",
    metadata,
    sa.Column("request_id", sa.String(64), primary_key=True),
    sa.Column("agency_id", sa.String(64)),
    sa.Column("district", sa.String(6)),
    sa.Column("category", sa.String(40)),
    sa.Column("quantity", sa.Integer()),
    sa.Column("allocated", sa.Integer()),
    sa.Column("purchase_authorised", sa.Integer()),
    sa.Column("replaces_asset_id", sa.String(64)),
    sa.Column("status", sa.String(20)),
    sa.Column("opened_on", sa.String(10)),
)
loans = sa.Table(
    "as_loans",
    metadata,
    sa.Column("loan_id", sa.String(64), primary_key=True),
    sa.Column("borrower_agency_id", sa.String(64)),
    sa.Column("district", sa.String(6)),
    sa.Column("purpose", sa.String(20)),
    sa.Column("occasion", sa.String(200)),
    sa.Column("asset_ids", sa.Text()),
    sa.Column("outstanding_asset_ids", sa.Text()),
    sa.Column("outstanding", sa.Integer()),
    sa.Column("due_on", sa.String(10)),
    sa.Column("lent_on", sa.String(10)),
    sa.Column("flagged_on", sa.String(10)),
    sa.Column("returned_on", sa.String(10)),
)
stocktakes = sa.Table(
    "as_stocktakes",
    metadata,
    sa.Column("stocktake_id", sa.String(64), primary_key=True),
    sa.Column("agency_id", sa.String(64)),
    sa.Column("district", sa.String(6)),
    sa.Column("status", sa.String(20)),
    sa.Column("expected_items", sa.Integer()),
    sa.Column("counted_items", sa.Integer()),
    sa.Column("findings", sa.Integer()),
    sa.Column("opened_on", sa.String(10)),
    sa.Column("closed_on", sa.String(10)),
)
findings = sa.Table(
    "as_findings",
    metadata,
    sa.Column("finding_id", sa.String(64), primary_key=True),
    sa.Column("stocktake_id", sa.String(64)),
    sa.Column("agency_id", sa.String(64)),
    sa.Column("district", sa.String(6)),
    sa.Column("kind", sa.String(20)),
    sa.Column("asset_id", sa.String(64)),
    sa.Column("ledger_location", sa.String(100)),
    sa.Column("found_location", sa.String(100)),
    sa.Column("recorded_on", sa.String(10)),
    sa.Column("resolution", sa.String(40)),
    sa.Column("reconciled_on", sa.String(10)),
)
disposals = sa.Table(
    "as_disposals",
    metadata,
    sa.Column("disposal_id", sa.String(64), primary_key=True),
    sa.Column("agency_id", sa.String(64)),
    sa.Column("district", sa.String(6)),
    sa.Column("method", sa.String(20)),
    sa.Column("status", sa.String(20)),
    sa.Column("asset_count", sa.Integer()),
    sa.Column("book_value_fen", sa.BigInteger()),
    sa.Column("proceeds_fen", sa.BigInteger()),
    sa.Column("applied_on", sa.String(10)),
    sa.Column("decided_on", sa.String(10)),
    sa.Column("completed_on", sa.String(10)),
)
stock_items = sa.Table(
    "as_stock_items",
    metadata,
    sa.Column("sku", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(200)),
    sa.Column("unit", sa.String(40)),
    sa.Column("average_unit_cost_fen", sa.BigInteger()),
)
stock_levels = sa.Table(
    "as_stock_levels",
    metadata,
    sa.Column("sku", sa.String(64), primary_key=True),
    sa.Column("site", sa.String(64), primary_key=True),
    sa.Column("on_hand", sa.Integer()),
    sa.Column("reorder_point", sa.Integer()),
    sa.Column("below_since", sa.String(10)),
)
goods_issued = sa.Table(
    "as_goods_issued",
    metadata,
    sa.Column("agency_id", sa.String(64), primary_key=True),
    sa.Column("sku", sa.String(64), primary_key=True),
    sa.Column("quantity", sa.Integer()),
    sa.Column("value_fen", sa.BigInteger()),
)

NEEDS_REORDER = (stock_levels.c.on_hand <= stock_levels.c.reorder_point) & (stock_levels.c.reorder_point > 0)
"""A site's stock of an item is at or below its reorder point (a point of 0 means the site is not watched)."""

inbox_metadata = sa.MetaData()
received_deliveries = sa.Table(
    "as_received_deliveries",
    inbox_metadata,
    sa.Column("event_id", sa.String(36), primary_key=True),
    sa.Column("contract_id", sa.String(64)),
    sa.Column("delivery_id", sa.String(64)),
    sa.Column("payload", sa.Text()),
    sa.Column("correlation_id", sa.String(100)),
    sa.Column("received_at", sa.String(40)),
    sa.Column("status", sa.String(20)),
    sa.Column("asset_ids", sa.Text()),
    sa.Column("reason", sa.Text()),
)
