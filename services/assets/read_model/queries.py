"""Queries over the assets read models (the service's answers and the figures the data center builds on)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date
from typing import Any

import sqlalchemy as sa

from services.assets.domain.base import CONDITIONS, days_overdue
from services.assets.domain.depreciation import depreciate

from .tables import NEEDS_REORDER, assets, findings, loans, received_deliveries, stock_items, stock_levels


def _rows(conn: sa.Connection, query: Any) -> list[dict[str, Any]]:
    return [row._asdict() for row in conn.execute(query)]


def _scoped(query: Any, column_agency: Any, column_district: Any, agency_id: str | None, district: str | None) -> Any:
    if agency_id:
        query = query.where(column_agency == agency_id)
    if district:
        query = query.where(column_district == district)
    return query


DEPRECIATION_COLUMNS: tuple[sa.Column[Any], ...] = (
    assets.c.status,
    assets.c.original_value_fen,
    assets.c.acquired_on,
    assets.c.depreciation_life_years,
    assets.c.depreciation_life_version,
    assets.c.disposed_on,
)
"""The ledger columns ``with_book_value`` needs: select them with whatever else a query wants."""


def with_book_value(rows: Iterable[dict[str, Any]], today: date) -> list[dict[str, Any]]:
    """Ledger rows (selected with ``DEPRECIATION_COLUMNS``) with their depreciation on ``today``, from the one
    function that computes it (``services.assets.domain.depreciation.depreciate``): ``book_value_fen``,
    ``accumulated_depreciation_fen``, ``months_depreciated``, ``remaining_life_months`` and the
    ``depreciation_life_version`` they used. A disposed asset is off the ledger: its book value counts 0, and
    ``book_value_at_disposal_fen`` is the value it left with (no charge for the month of disposal)."""
    out = []
    for row in rows:
        disposed_on = date.fromisoformat(row["disposed_on"]) if row.get("disposed_on") else None
        d = depreciate(
            row["original_value_fen"],
            date.fromisoformat(row["acquired_on"]),
            row["depreciation_life_years"],
            row["depreciation_life_version"],
            today,
            disposed_on if row["status"] == "disposed" else None,
        )
        figures = {
            "book_value_fen": d.book_value_fen,
            "accumulated_depreciation_fen": d.accumulated_depreciation_fen,
            "months_depreciated": d.months_depreciated,
            "remaining_life_months": d.remaining_life_months,
        }
        if row["status"] == "disposed":
            figures |= {"book_value_fen": 0, "book_value_at_disposal_fen": d.book_value_fen}
        out.append(row | figures)
    return out


def asset_list(conn: sa.Connection, q: dict[str, Any], today: date) -> list[dict[str, Any]]:
    """Ledger rows by agency, district, status, category or delivery, with today's book value."""
    query = _scoped(sa.select(assets), assets.c.agency_id, assets.c.district, q["agency_id"], q["district"])
    for name in ("status", "category", "delivery_id"):
        if q[name]:
            query = query.where(assets.c[name] == q[name])
    query = query.order_by(assets.c.agency_id, assets.c.asset_id).limit(q["limit"]).offset(q["offset"])
    return with_book_value(_rows(conn, query), today)


def ledger_summary(
    conn: sa.Connection, agency_id: str | None, district: str | None, today: date
) -> dict[str, dict[str, dict[str, int]]]:
    """Per holder and status: count, original value and book value (fen) of the assets not disposed."""
    query = sa.select(assets.c.agency_id, *DEPRECIATION_COLUMNS).where(assets.c.status != "disposed")
    rows = with_book_value(
        _rows(conn, _scoped(query, assets.c.agency_id, assets.c.district, agency_id, district)), today
    )
    summary: dict[str, dict[str, dict[str, int]]] = {}
    for row in rows:
        figures = summary.setdefault(row["agency_id"], {}).setdefault(
            row["status"], {"count": 0, "original_value_fen": 0, "book_value_fen": 0}
        )
        figures["count"] += 1
        figures["original_value_fen"] += row["original_value_fen"]
        figures["book_value_fen"] += row["book_value_fen"]
    return summary


def warehouse_candidates(conn: sa.Connection, category: str, limit: int = 1000) -> list[str]:
    """Ids of the warehouse's idle assets of a category (the request re-checks each one's current state)."""
    query = sa.select(assets.c.asset_id).where(assets.c.status == "in_warehouse", assets.c.category == category)
    return list(conn.execute(query.order_by(assets.c.asset_id).limit(limit)).scalars())


def idle_stock(
    conn: sa.Connection, category: str | None, min_condition: str | None, today: date
) -> list[dict[str, Any]]:
    """The public goods warehouse's idle assets, best condition first, with book value."""
    query = sa.select(assets).where(assets.c.status == "in_warehouse")
    if category:
        query = query.where(assets.c.category == category)
    if min_condition:
        query = query.where(assets.c.condition.in_(CONDITIONS[: CONDITIONS.index(min_condition) + 1]))
    rows = with_book_value(_rows(conn, query.order_by(assets.c.category, assets.c.asset_id)), today)
    return sorted(rows, key=lambda r: (r["category"], CONDITIONS.index(r["condition"]), r["asset_id"]))


def expected_for_stocktake(conn: sa.Connection, agency_id: str) -> dict[str, str]:
    """The agency's assets in use or idle, by ledger location: what a stock-take is checked against."""
    query = sa.select(assets.c.asset_id, assets.c.location).where(
        assets.c.agency_id == agency_id, assets.c.status.in_(("in_use", "idle"))
    )
    return {row.asset_id: row.location for row in conn.execute(query)}


def loan_list(conn: sa.Connection, q: dict[str, Any], today: date) -> list[dict[str, Any]]:
    """Loans (newest first) with the assets still out and days overdue; ``overdue_only`` keeps the late ones."""
    t = loans.c
    query = _scoped(sa.select(loans), t.borrower_agency_id, t.district, q["agency_id"], q["district"])
    if q["overdue_only"]:
        query = query.where(t.outstanding > 0, t.due_on < today.isoformat())
    rows = _rows(conn, query.order_by(t.lent_on.desc(), t.loan_id).limit(q["limit"]).offset(q["offset"]))
    for row in rows:
        row["asset_ids"] = json.loads(row["asset_ids"])
        row["outstanding_asset_ids"] = json.loads(row["outstanding_asset_ids"])
        row["days_overdue"] = days_overdue(row["due_on"], today) if row["outstanding"] else 0
    return rows


def overdue_loan_ids(conn: sa.Connection, today: date) -> list[str]:
    """Loans with assets still out after the due date and not flagged yet."""
    t = loans.c
    query = sa.select(t.loan_id).where(t.outstanding > 0, t.due_on < today.isoformat(), t.flagged_on.is_(None))
    return list(conn.execute(query.order_by(t.loan_id)).scalars())


def finding_list(conn: sa.Connection, q: dict[str, Any]) -> list[dict[str, Any]]:
    """Stock-take findings (open ones only unless ``open_only`` is false), oldest first."""
    t = findings.c
    query = _scoped(sa.select(findings), t.agency_id, t.district, q["agency_id"], q["district"])
    if q["open_only"]:
        query = query.where(t.resolution.is_(None))
    return _rows(conn, query.order_by(t.recorded_on, t.finding_id).limit(q["limit"]).offset(q["offset"]))


def stock_list(conn: sa.Connection, q: dict[str, Any]) -> list[dict[str, Any]]:
    """Stock per item and site with its reorder point and value at moving average cost (fen)."""
    levels, items = stock_levels.c, stock_items.c
    query = sa.select(
        levels.sku,
        items.name,
        items.unit,
        levels.site,
        levels.on_hand,
        levels.reorder_point,
        items.average_unit_cost_fen,
        NEEDS_REORDER.label("reorder"),
        levels.below_since,
    ).join_from(stock_levels, stock_items, levels.sku == items.sku)
    for name in ("sku", "site"):
        if q[name]:
            query = query.where(levels[name] == q[name])
    if q["below_reorder_only"]:
        query = query.where(NEEDS_REORDER)
    rows = _rows(conn, query.order_by(levels.sku, levels.site))
    return [r | {"value_fen": r["on_hand"] * r["average_unit_cost_fen"], "reorder": bool(r["reorder"])} for r in rows]


def pending_deliveries(conn: sa.Connection, limit: int = 50) -> list[dict[str, Any]]:
    """Accepted deliveries not yet entered in the ledger, oldest first."""
    t = received_deliveries.c
    query = sa.select(t.event_id, t.payload, t.correlation_id).where(t.status == "pending")
    rows = _rows(conn, query.order_by(t.received_at, t.event_id).limit(limit))
    return [r | {"payload": json.loads(r["payload"])} for r in rows]


def mark_delivery(conn: sa.Connection, event_id: str, status: str, asset_ids: list[str], reason: str | None) -> None:
    """Record what became of an accepted delivery: ``registered`` (its asset ids), ``skipped`` or ``refused``."""
    values = {"status": status, "asset_ids": json.dumps(asset_ids), "reason": reason}
    conn.execute(received_deliveries.update().where(received_deliveries.c.event_id == event_id).values(**values))


def deliveries_not_entered(conn: sa.Connection) -> list[dict[str, Any]]:
    """Accepted deliveries the ledger refused (an operator enters them by hand), with the reason."""
    t = received_deliveries.c
    query = sa.select(t.event_id, t.contract_id, t.delivery_id, t.reason, t.received_at).where(t.status == "refused")
    return _rows(conn, query.order_by(t.received_at))


def open_anomaly_counts(conn: sa.Connection, today: date) -> dict[str, int]:
    """Open anomalies per kind (the ``gov_open_anomalies`` gauge): unreconciled stock-take differences, overdue
    loans, stock at or below its reorder point, accepted deliveries the ledger refused."""
    counts = {f"stocktake_{kind}": 0 for kind in ("missing", "surplus", "wrong_place")}
    query = sa.select(findings.c.kind, sa.func.count()).where(findings.c.resolution.is_(None)).group_by(findings.c.kind)
    counts |= {f"stocktake_{kind}": n for kind, n in conn.execute(query)}
    overdue = sa.select(sa.func.count()).where(loans.c.outstanding > 0, loans.c.due_on < today.isoformat())
    counts["overdue_loan"] = conn.execute(overdue).scalar_one()
    counts["reorder_point"] = conn.execute(sa.select(sa.func.count()).where(NEEDS_REORDER)).scalar_one()
    refused = sa.select(sa.func.count()).where(received_deliveries.c.status == "refused")
    counts["delivery_not_entered"] = conn.execute(refused).scalar_one()
    return counts
