"""The assets service's read models and their queries.

``AssetsViews`` (from the service's own topic; the gateway keeps the same tables for the data center): the
ledger (one row per asset with its status, holder, location and value), warehouse requests, loans, stock-takes
and their findings, disposals, warehouse stock per site and goods issued per agency.

``ReceivedDeliveries`` (from the procurement topic; this service only): every ``DeliveryAccepted`` as an inbox
row. A projection may not append events, so the service's ``register_received_deliveries`` timer turns each
pending row into ledger entries (idempotently: the asset ids derive from contract and delivery, and the
append carries an idempotency key derived from the procurement event id) and marks the row done.

Handlers are idempotent per event (the projector ignores a repeated ``event_id``) and deterministic. Book
values are not stored: they depend on the day and are computed when read (``book_value_fen``).
"""

from __future__ import annotations

from pathlib import Path

# The published surface also carries the domain's definitions the data center computes with (one definition
# each, re-exported here): the asset statuses the ledger is summed by and how overdue a loan is.
from services.assets.domain.base import STATUSES, days_overdue
from services.common.base.db import register_migrations

from .projection import AssetsViews, ReceivedDeliveries
from .queries import (
    DEPRECIATION_COLUMNS,
    asset_list,
    deliveries_not_entered,
    expected_for_stocktake,
    finding_list,
    idle_stock,
    ledger_summary,
    loan_list,
    mark_delivery,
    open_anomaly_counts,
    overdue_loan_ids,
    pending_deliveries,
    stock_list,
    warehouse_candidates,
    with_book_value,
)
from .tables import (
    NEEDS_REORDER,
    assets,
    disposals,
    findings,
    goods_issued,
    loans,
    received_deliveries,
    requests,
    stock_items,
    stock_levels,
    stocktakes,
)

register_migrations("assets_views", Path(__file__).parents[1] / "migrations")
register_migrations("assets_inbox", Path(__file__).parents[1] / "migrations_inbox")

__all__ = [
    "DEPRECIATION_COLUMNS",
    "NEEDS_REORDER",
    "STATUSES",
    "AssetsViews",
    "ReceivedDeliveries",
    "asset_list",
    "assets",
    "days_overdue",
    "deliveries_not_entered",
    "disposals",
    "expected_for_stocktake",
    "finding_list",
    "findings",
    "goods_issued",
    "idle_stock",
    "ledger_summary",
    "loan_list",
    "loans",
    "mark_delivery",
    "open_anomaly_counts",
    "overdue_loan_ids",
    "pending_deliveries",
    "received_deliveries",
    "requests",
    "stock_items",
    "stock_levels",
    "stock_list",
    "stocktakes",
    "warehouse_candidates",
    "with_book_value",
]
