"""The procurement read-model tables (the service's and the data center's) and the inbox of the assets service's purchase authorisations."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()
catalog = sa.Table(
    "pr_catalog",
    metadata,
    sa.Column("item_code", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(200)),
    sa.Column("category", sa.String(40)),
    sa.Column("kind", sa.String(20)),
    sa.Column("unit", sa.String(20)),
    sa.Column("green_clauses_required", sa.Boolean()),
    sa.Column("idle_first", sa.Boolean()),
    sa.Column("status", sa.String(20)),
)
budget_lines = sa.Table(
    "pr_budget_lines",
    metadata,
    sa.Column("budget_line_id", sa.String(64), primary_key=True),
    sa.Column("agency_id", sa.String(64)),
    sa.Column("district", sa.String(6)),
    sa.Column("year", sa.Integer()),
    sa.Column("purpose", sa.String(200)),
    sa.Column("amount_fen", sa.BigInteger()),
    sa.Column("committed_fen", sa.BigInteger()),
    sa.Column("spent_fen", sa.BigInteger()),
)
open_requests = sa.Table(
    "pr_open_requests",
    metadata,
    sa.Column("request_id", sa.String(64), primary_key=True),
    sa.Column("agency_id", sa.String(64)),
    sa.Column("district", sa.String(6)),
    sa.Column("item_code", sa.String(64)),
    sa.Column("year", sa.Integer()),
    sa.Column("quantity", sa.Integer()),
    sa.Column("status", sa.String(20)),
)
tenders = sa.Table(
    "pr_tenders",
    metadata,
    sa.Column("tender_id", sa.String(64), primary_key=True),
    sa.Column("district", sa.String(6)),
    sa.Column("item_code", sa.String(64)),
    sa.Column("category", sa.String(40)),
    sa.Column("status", sa.String(20)),
    sa.Column("batch", sa.Boolean()),
    sa.Column("lots", sa.Text()),
    sa.Column("quantity", sa.Integer()),
    sa.Column("reference_unit_price_fen", sa.BigInteger()),
    sa.Column("opened_at", sa.String(40)),
    sa.Column("closes_at", sa.String(40)),
    sa.Column("bid_count", sa.Integer()),
    sa.Column("flag_count", sa.Integer()),
    sa.Column("supplier_id", sa.String(64)),
    sa.Column("unit_price_fen", sa.BigInteger()),
    sa.Column("amount_fen", sa.BigInteger()),
    sa.Column("reason", sa.Text()),
    sa.Column("decided_at", sa.String(40)),
)
tender_lots = sa.Table(
    "pr_tender_lots",
    metadata,
    sa.Column("tender_id", sa.String(64), primary_key=True),
    sa.Column("request_id", sa.String(64), primary_key=True),
    sa.Column("agency_id", sa.String(64)),
    sa.Column("district", sa.String(6)),
    sa.Column("quantity", sa.Integer()),
)
abnormal_quotes = sa.Table(
    "pr_abnormal_quotes",
    metadata,
    sa.Column("finding_id", sa.String(36), primary_key=True),
    sa.Column("tender_id", sa.String(64)),
    sa.Column("district", sa.String(6)),
    sa.Column("kind", sa.String(40)),
    sa.Column("bid_ids", sa.Text()),
    sa.Column("supplier_ids", sa.Text()),
    sa.Column("suppliers_key", sa.Text()),
    sa.Column("evidence", sa.Text()),
    sa.Column("cleared_bid_ids", sa.Text()),
    sa.Column("excluded_bid_ids", sa.Text()),
    sa.Column("flagged_at", sa.String(40)),
    sa.Column("closed_at", sa.String(40)),
    sa.Column("closed_because", sa.String(40)),
)
awards = sa.Table(
    "pr_awards",
    metadata,
    sa.Column("tender_id", sa.String(64), primary_key=True),
    sa.Column("category", sa.String(40)),
    sa.Column("awarded_at", sa.String(40)),
    sa.Column("winner_id", sa.String(64)),
    sa.Column("bidder_ids", sa.Text()),
)
deliveries = sa.Table(
    "pr_deliveries",
    metadata,
    sa.Column("contract_id", sa.String(200), primary_key=True),
    sa.Column("delivery_id", sa.String(64), primary_key=True),
    sa.Column("supplier_id", sa.String(64)),
    sa.Column("district", sa.String(6)),
    sa.Column("quantity", sa.Integer()),
    sa.Column("defective_quantity", sa.Integer()),
    sa.Column("days_late", sa.Integer()),
    sa.Column("delivered_on", sa.String(10)),
    sa.Column("inspected_on", sa.String(10)),
)
price_alerts = sa.Table(
    "pr_price_alerts",
    metadata,
    sa.Column("alert_id", sa.String(36), primary_key=True),
    sa.Column("item_code", sa.String(64)),
    sa.Column("kind", sa.String(40)),
    sa.Column("observed_on", sa.String(10)),
    sa.Column("price_fen", sa.BigInteger()),
    sa.Column("basis_fen", sa.Float()),
    sa.Column("change", sa.Float()),
    sa.Column("threshold", sa.Float()),
    sa.Column("closed_on", sa.String(10)),
)
received_authorisations = sa.Table(
    "pr_received_authorisations",
    metadata,
    sa.Column("authorisation_id", sa.String(64), primary_key=True),
    sa.Column("agency_id", sa.String(64)),
    sa.Column("district", sa.String(6)),
    sa.Column("category", sa.String(40)),
    sa.Column("quantity", sa.Integer()),
    sa.Column("asset_category", sa.String(40)),
    sa.Column("idle_items_checked", sa.Integer()),
    sa.Column("idle_items_fitting", sa.Integer()),
    sa.Column("authorised_on", sa.String(10)),
)
