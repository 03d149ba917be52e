"""Queries over the procurement read models (the service's answers and the figures the data center builds on)."""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa

from services.common.kernel.clock import iso
from services.procurement.domain.batch import OpenRequest, propose_batches
from services.procurement.domain.contracts import DeliveryOutcome, supplier_performance
from services.procurement.domain.quotes import PastAward

from .tables import (
    abnormal_quotes,
    awards,
    budget_lines,
    catalog,
    deliveries,
    open_requests,
    price_alerts,
    received_authorisations,
    tenders,
)


def _rows(conn: sa.Connection, query: Any) -> list[dict[str, Any]]:
    return [row._asdict() for row in conn.execute(query)]


def _page(query: Any, q: dict[str, Any]) -> Any:
    return query.limit(q["limit"]).offset(q["offset"])


def catalog_items(conn: sa.Connection, q: dict[str, Any]) -> list[dict[str, Any]]:
    """Items of the catalog (listed and withdrawn), by kind or category."""
    query = sa.select(catalog)
    for name in ("kind", "category"):
        if q[name]:
            query = query.where(catalog.c[name] == q[name])
    return _rows(conn, _page(query.order_by(catalog.c.category, catalog.c.item_code), q))


def budget_lines_of(conn: sa.Connection, q: dict[str, Any]) -> list[dict[str, Any]]:
    """An agency's budget lines with budget, committed, spent and remaining (fen)."""
    query = sa.select(budget_lines).where(budget_lines.c.agency_id == q["agency_id"])
    if q["year"]:
        query = query.where(budget_lines.c.year == q["year"])
    rows = _rows(conn, _page(query.order_by(budget_lines.c.year, budget_lines.c.budget_line_id), q))
    return [r | {"remaining_fen": r["amount_fen"] - r["committed_fen"] - r["spent_fen"]} for r in rows]


def tender_list(conn: sa.Connection, q: dict[str, Any]) -> list[dict[str, Any]]:
    """Tenders by district, status or item, newest first, with their award or failure."""
    query = sa.select(tenders)
    for name in ("district", "status", "item_code"):
        if q[name]:
            query = query.where(tenders.c[name] == q[name])
    rows = _rows(conn, _page(query.order_by(tenders.c.opened_at.desc(), tenders.c.tender_id), q))
    return [r | {"lots": json.loads(r["lots"])} for r in rows]


def batch_proposals(conn: sa.Connection, q: dict[str, Any]) -> list[dict[str, Any]]:
    """Open requests of several agencies for the same item and year (批量集中采购)."""
    query = sa.select(open_requests).where(open_requests.c.status == "submitted", open_requests.c.year == q["year"])
    if q["district"]:
        query = query.where(open_requests.c.district == q["district"])
    found = [
        OpenRequest(r["request_id"], r["agency_id"], r["item_code"], r["year"], r["quantity"])
        for r in _rows(conn, query.order_by(open_requests.c.request_id))
    ]
    return [
        {
            "item_code": b.item_code,
            "year": b.year,
            "request_ids": list(b.request_ids),
            "agency_ids": list(b.agency_ids),
            "quantity": b.quantity,
        }
        for b in propose_batches(found, q["min_agencies"])
    ]


def abnormal_quote_list(conn: sa.Connection, q: dict[str, Any]) -> list[dict[str, Any]]:
    """Abnormal-quote findings (恶意报价), newest first, with the bids cleared or excluded since and whether the
    finding is still open."""
    t = abnormal_quotes.c
    query = sa.select(abnormal_quotes)
    if q.get("open_only"):
        query = query.where(t.closed_at.is_(None))
    if q["district"]:
        query = query.where(t.district == q["district"])
    if q["supplier_id"]:
        query = query.where(t.suppliers_key.contains(f",{q['supplier_id']},", autoescape=True))
    if q["since"]:
        query = query.where(t.flagged_at >= iso(q["since"]))
    rows = _rows(conn, _page(query.order_by(t.flagged_at.desc(), t.finding_id), q))
    decoded = ("bid_ids", "supplier_ids", "evidence", "cleared_bid_ids", "excluded_bid_ids")
    return [
        {k: json.loads(v) if k in decoded else v for k, v in r.items() if k != "suppliers_key"}
        | {
            "cleared": set(json.loads(r["cleared_bid_ids"])) >= set(json.loads(r["bid_ids"])),
            "open": r["closed_at"] is None,
        }
        for r in rows
    ]


def past_awards(conn: sa.Connection, category: str) -> list[PastAward]:
    """Earlier awards of a category: the winner-rotation check's memory."""
    rows = conn.execute(sa.select(awards).where(awards.c.category == category).order_by(awards.c.awarded_at))
    return [PastAward(r.tender_id, r.awarded_at, r.winner_id, tuple(json.loads(r.bidder_ids))) for r in rows]


def supplier_performance_of(conn: sa.Connection, q: dict[str, Any]) -> list[dict[str, Any]]:
    """On-time and defect rates per supplier over the deliveries inspected in the period."""
    t = deliveries.c
    query = sa.select(deliveries).where(t.inspected_on.is_not(None))
    for name in ("supplier_id", "district"):
        if q[name]:
            query = query.where(t[name] == q[name])
    if q["since"]:
        query = query.where(t.inspected_on >= q["since"].isoformat())
    if q["until"]:
        query = query.where(t.inspected_on <= q["until"].isoformat())
    outcomes = [
        DeliveryOutcome(r.supplier_id, r.quantity, r.defective_quantity, r.days_late) for r in conn.execute(query)
    ]
    report = [vars(p) for p in supplier_performance(outcomes)]
    return report[q["offset"] : q["offset"] + q["limit"]]


def price_alert_list(conn: sa.Connection, q: dict[str, Any]) -> list[dict[str, Any]]:
    """Large price moves of canteen ingredients, newest first (``closed_on``: superseded by a later price)."""
    query = sa.select(price_alerts)
    if q.get("open_only"):
        query = query.where(price_alerts.c.closed_on.is_(None))
    if q["item_code"]:
        query = query.where(price_alerts.c.item_code == q["item_code"])
    if q["since"]:
        query = query.where(price_alerts.c.observed_on >= q["since"].isoformat())
    order = (price_alerts.c.observed_on.desc(), price_alerts.c.item_code, price_alerts.c.kind)
    return _rows(conn, _page(query.order_by(*order), q))


def received_authorisation(conn: sa.Connection, authorisation_id: str) -> dict[str, Any] | None:
    """An authorisation the assets service granted, as received (None when not (yet) received)."""
    query = sa.select(received_authorisations).where(received_authorisations.c.authorisation_id == authorisation_id)
    row = conn.execute(query).first()
    return row._asdict() if row else None
