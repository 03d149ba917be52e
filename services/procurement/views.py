"""The procurement service's read models (in its own database) and its queries.

From its own topic: the catalog, budget lines with committed and spent sums, open requests (for batch
proposals), tenders and their lots (which agencies a tender serves), abnormal-quote findings, past awards (the
winner-rotation check's memory), inspected deliveries (supplier performance) and price alerts. From the assets
service's topic: the purchase authorisations it granted (公物仓: no idle stock fits), kept in
``pr_received_authorisations`` under the id of the assets service's warehouse request.

When a finding is open (the data center lists open ones):

- an abnormal quote (恶意报价) stays open until each bid it names was cleared (its price justified) or judged
  non-compliant, or until the tender is decided (awarded or failed: the evaluation that had to weigh it is over);
- a price alert stays open until a later observation of the same ingredient (observed on the same day or after)
  is recorded; if that price is still out of bounds it raises a new alert, which is then the open one.

A projection may not append events, so a received authorisation becomes the ``PurchaseAuthorisation``
aggregate on first use: ``submit_purchase_request`` reads the row here and calls
``PurchaseAuthorisation.receive`` in the same transaction as the request (see the service).

Handlers are idempotent per event (the projector ignores a repeated ``event_id``) and deterministic.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from services.common import sql
from services.common.db import register_migrations
from services.common.events import Envelope, china_date, iso
from services.common.log import get_logger
from services.common.projector import Projection
from services.common.schemas import load_command
from services.common.settings import topic_for
from services.procurement.domain import (
    DeliveryOutcome,
    OpenRequest,
    PastAward,
    propose_batches,
    supplier_performance,
)
from services.procurement.schemas import IDLE_FIRST_CATEGORIES, RecordPurchaseAuthorisationSchema

log = get_logger()
register_migrations("procurement_views", Path(__file__).parent / "migrations")

ASSETS_AUTHORISATION_EVENT = "PurchaseAuthorised"
"""The assets service's event that authorises buying furniture or equipment (no idle stock fits). Its payload
(``services/assets/domain/warehouse.py``): request_id (the authorisation's id here), agency_id, district,
category (the procurement category), asset_category, quantity, idle_items_checked, idle_items_fitting,
authorised_on."""

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
    sa.Column("amount_cents", sa.BigInteger()),
    sa.Column("committed_cents", sa.BigInteger()),
    sa.Column("spent_cents", sa.BigInteger()),
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
    sa.Column("reference_unit_price_cents", sa.BigInteger()),
    sa.Column("opened_at", sa.String(40)),
    sa.Column("closes_at", sa.String(40)),
    sa.Column("bid_count", sa.Integer()),
    sa.Column("flag_count", sa.Integer()),
    sa.Column("supplier_id", sa.String(64)),
    sa.Column("unit_price_cents", sa.BigInteger()),
    sa.Column("amount_cents", sa.BigInteger()),
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
    sa.Column("price_cents", sa.BigInteger()),
    sa.Column("basis_cents", sa.Float()),
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


_CLOSE_SUPERSEDED_ALERTS = (
    price_alerts.update()
    .where(
        price_alerts.c.item_code == sa.bindparam("item_code"),
        price_alerts.c.observed_on <= sa.bindparam("day"),
        price_alerts.c.closed_on.is_(None),
    )
    .values(closed_on=sa.bindparam("day"))
)
"""Closes, on ``day``, an ingredient's open alerts observed up to that day (built once: ``services.common.sql``)."""


class ProcurementViews(Projection):
    """Catalog, budget lines, open requests, tenders, findings, awards, deliveries and price alerts."""

    topics = (topic_for("procurement"),)
    tables = (
        catalog,
        budget_lines,
        open_requests,
        tenders,
        tender_lots,
        abnormal_quotes,
        awards,
        deliveries,
        price_alerts,
    )

    # -- catalog and budgets ------------------------------------------------------------------------

    def on_CatalogItemListed(self, conn: sa.Connection, env: Envelope) -> None:
        sql.insert(conn, catalog, {**env.payload, "status": "listed"})

    def on_CatalogItemWithdrawn(self, conn: sa.Connection, env: Envelope) -> None:
        sql.update(conn, catalog, {"item_code": env.payload["item_code"]}, {"status": "withdrawn"})

    def on_BudgetLineOpened(self, conn: sa.Connection, env: Envelope) -> None:
        line = {k: v for k, v in env.payload.items() if k != "opened_on"}  # the listing is by year, not by day
        sql.insert(conn, budget_lines, {**line, "committed_cents": 0, "spent_cents": 0})

    def on_BudgetLineAdjusted(self, conn: sa.Connection, env: Envelope) -> None:
        p = env.payload
        sql.update(conn, budget_lines, {"budget_line_id": p["budget_line_id"]}, {"amount_cents": p["amount_cents"]})

    def on_BudgetCommitted(self, conn: sa.Connection, env: Envelope) -> None:
        p = env.payload
        sql.add(conn, budget_lines, {"budget_line_id": p["budget_line_id"]}, {"committed_cents": p["amount_cents"]})

    def on_BudgetCommitmentRevised(self, conn: sa.Connection, env: Envelope) -> None:
        p = env.payload
        delta = p["amount_cents"] - p["previous_amount_cents"]
        sql.add(conn, budget_lines, {"budget_line_id": p["budget_line_id"]}, {"committed_cents": delta})

    def on_BudgetCommitmentReleased(self, conn: sa.Connection, env: Envelope) -> None:
        p = env.payload
        sql.add(conn, budget_lines, {"budget_line_id": p["budget_line_id"]}, {"committed_cents": -p["amount_cents"]})

    def on_BudgetSpent(self, conn: sa.Connection, env: Envelope) -> None:
        p = env.payload
        deltas = {"committed_cents": -p["amount_cents"], "spent_cents": p["amount_cents"]}
        sql.add(conn, budget_lines, {"budget_line_id": p["budget_line_id"]}, deltas)

    # -- requests -----------------------------------------------------------------------------------

    def on_PurchaseRequestSubmitted(self, conn: sa.Connection, env: Envelope) -> None:
        p = env.payload
        row = {k: p[k] for k in ("request_id", "agency_id", "district", "item_code", "year", "quantity")}
        sql.insert(conn, open_requests, {**row, "status": "submitted"})

    def _request_status(self, conn: sa.Connection, request_id: str, status: str) -> None:
        sql.update(conn, open_requests, {"request_id": request_id}, {"status": status})

    def on_PurchaseRequestCancelled(self, conn: sa.Connection, env: Envelope) -> None:
        self._request_status(conn, env.payload["request_id"], "cancelled")

    def on_PurchaseRequestTendered(self, conn: sa.Connection, env: Envelope) -> None:
        self._request_status(conn, env.payload["request_id"], "tendered")

    def on_PurchaseRequestReturned(self, conn: sa.Connection, env: Envelope) -> None:
        self._request_status(conn, env.payload["request_id"], "submitted")

    # -- tenders ------------------------------------------------------------------------------------

    def on_TenderOpened(self, conn: sa.Connection, env: Envelope) -> None:
        p = env.payload
        keys = ("tender_id", "district", "item_code", "category", "batch", "quantity", "reference_unit_price_cents")
        row = {k: p[k] for k in keys} | {"opened_at": p["opened_at"], "closes_at": p["closes_at"]}
        sql.insert(
            conn, tenders, row | {"status": "open", "lots": json.dumps(p["lots"]), "bid_count": 0, "flag_count": 0}
        )
        lot_keys = ("request_id", "agency_id", "district", "quantity")
        sql.insert(
            conn, tender_lots, [{k: lot[k] for k in lot_keys} | {"tender_id": p["tender_id"]} for lot in p["lots"]]
        )

    def _tender(self, conn: sa.Connection, tender_id: str, **values: Any) -> None:
        sql.update(conn, tenders, {"tender_id": tender_id}, values)

    def on_BidSubmitted(self, conn: sa.Connection, env: Envelope) -> None:
        sql.add(conn, tenders, {"tender_id": env.payload["tender_id"]}, {"bid_count": 1})

    def on_BiddingClosed(self, conn: sa.Connection, env: Envelope) -> None:
        self._tender(conn, env.payload["tender_id"], status="closed")

    def on_AbnormalQuoteFlagged(self, conn: sa.Connection, env: Envelope) -> None:
        p = env.payload
        sql.insert(
            conn,
            abnormal_quotes,
            {
                "finding_id": env.event_id,
                "tender_id": p["tender_id"],
                "district": env.district or "",
                "kind": p["kind"],
                "bid_ids": json.dumps(p["bid_ids"]),
                "supplier_ids": json.dumps(p["supplier_ids"]),
                "suppliers_key": "," + ",".join(p["supplier_ids"]) + ",",
                "evidence": json.dumps(p["evidence"]),
                "cleared_bid_ids": "[]",
                "excluded_bid_ids": "[]",
                "flagged_at": p.get("flagged_at") or env.recorded_at,  # bidding's close; v1: when recorded
            },
        )
        sql.add(conn, tenders, {"tender_id": p["tender_id"]}, {"flag_count": 1})

    def on_AbnormalQuoteCleared(self, conn: sa.Connection, env: Envelope) -> None:
        """A flagged bid's price was justified: the findings naming it may close."""
        self._resolve_bid(conn, env, env.payload["bid_id"], "cleared_bid_ids")

    def on_BidEvaluated(self, conn: sa.Connection, env: Envelope) -> None:
        """A bid judged non-compliant is out of the running: the findings naming it may close."""
        if not env.payload["compliant"]:
            self._resolve_bid(conn, env, env.payload["bid_id"], "excluded_bid_ids")

    def _resolve_bid(self, conn: sa.Connection, env: Envelope, bid_id: str, column: str) -> None:
        t = abnormal_quotes.c
        query = sa.select(abnormal_quotes).where(t.tender_id == env.payload["tender_id"], t.closed_at.is_(None))
        for row in conn.execute(query).all():
            bids = set(json.loads(row.bid_ids))
            if bid_id not in bids:
                continue
            marked = sorted({*json.loads(getattr(row, column)), bid_id})
            resolved = {*json.loads(row.cleared_bid_ids), *json.loads(row.excluded_bid_ids), bid_id}
            values: dict[str, Any] = {column: json.dumps(marked)}
            if resolved >= bids:
                values |= {"closed_at": env.recorded_at, "closed_because": "bids_resolved"}
            sql.update(conn, abnormal_quotes, {"finding_id": row.finding_id}, values)

    def _close_findings(self, conn: sa.Connection, tender_id: str, at: str, because: str) -> None:
        still_open = {"tender_id": tender_id, "closed_at": None}
        sql.update(conn, abnormal_quotes, still_open, {"closed_at": at, "closed_because": because})

    def on_TenderAwarded(self, conn: sa.Connection, env: Envelope) -> None:
        p = env.payload
        decided = {k: p[k] for k in ("supplier_id", "unit_price_cents", "amount_cents", "reason")}
        self._tender(conn, p["tender_id"], status="awarded", decided_at=p["awarded_at"], **decided)
        sql.insert(
            conn,
            awards,
            {
                "tender_id": p["tender_id"],
                "category": p["category"],
                "awarded_at": p["awarded_at"],
                "winner_id": p["supplier_id"],
                "bidder_ids": json.dumps(p["bidder_ids"]),
            },
        )
        self._close_findings(conn, p["tender_id"], p["awarded_at"], "tender_awarded")

    def on_TenderFailed(self, conn: sa.Connection, env: Envelope) -> None:
        p = env.payload
        self._tender(conn, p["tender_id"], status="failed", reason=p["reason"], decided_at=p["failed_at"])
        self._close_findings(conn, p["tender_id"], p["failed_at"], "tender_failed")

    # -- deliveries and price watch -----------------------------------------------------------------

    def on_DeliveryReceived(self, conn: sa.Connection, env: Envelope) -> None:
        p = env.payload
        keys = ("contract_id", "delivery_id", "supplier_id", "quantity", "days_late", "delivered_on")
        sql.insert(conn, deliveries, {k: p[k] for k in keys} | {"district": env.district or ""})

    def _inspected(self, conn: sa.Connection, p: dict[str, Any], defective: int, on: str) -> None:
        key = {"contract_id": p["contract_id"], "delivery_id": p["delivery_id"]}
        sql.update(conn, deliveries, key, {"defective_quantity": defective, "inspected_on": on})

    def on_DeliveryAccepted(self, conn: sa.Connection, env: Envelope) -> None:
        self._inspected(conn, env.payload, env.payload["defective_quantity"], env.payload["accepted_on"])

    def on_DeliveryRejected(self, conn: sa.Connection, env: Envelope) -> None:
        self._inspected(conn, env.payload, env.payload["defective_quantity"], env.payload["rejected_on"])

    def on_PriceObserved(self, conn: sa.Connection, env: Envelope) -> None:
        """A newer price supersedes the open alerts of the ingredient (a new alert follows if still out of bounds)."""
        p = env.payload
        sql.run(conn, _CLOSE_SUPERSEDED_ALERTS, {"item_code": p["item_code"], "day": p["observed_on"]})

    def on_PriceMoveAlerted(self, conn: sa.Connection, env: Envelope) -> None:
        p = env.payload
        keys = ("item_code", "kind", "observed_on", "price_cents", "basis_cents", "change", "threshold")
        sql.insert(conn, price_alerts, {k: p[k] for k in keys} | {"alert_id": env.event_id})


class ReceivedAuthorisations(Projection):
    """The assets service's purchase authorisations (no idle stock fits), waiting to be used by a request."""

    topics = (topic_for("assets"),)
    tables = (received_authorisations,)

    def on_PurchaseAuthorised(self, conn: sa.Connection, env: Envelope) -> None:
        """Record an authorisation under the warehouse request's id; a payload that does not fit is refused (the
        projector dead-letters it), one for a category bought without the idle-first check is not needed."""
        p = env.payload
        if p.get("category") not in IDLE_FIRST_CATEGORIES:
            log.info("purchase_authorisation_not_needed", category=p.get("category"), event_id=env.event_id)
            return
        received = {
            "authorisation_id": p.get("request_id"),
            "agency_id": p.get("agency_id"),
            "district": p.get("district") or env.district,
            "category": p.get("category"),
            "quantity": p.get("quantity"),
            "authorised_on": p.get("authorised_on") or china_date(env.recorded_at),
        }
        row = load_command(RecordPurchaseAuthorisationSchema, received)
        key = received_authorisations.c.authorisation_id == row["authorisation_id"]
        if conn.execute(sa.select(received_authorisations.c.authorisation_id).where(key)).first():
            return  # the same authorisation published again
        extra = {k: p.get(k) for k in ("asset_category", "idle_items_checked", "idle_items_fitting")}
        sql.insert(conn, received_authorisations, row | extra | {"authorised_on": row["authorised_on"].isoformat()})


# -- queries -------------------------------------------------------------------------------------------


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
    """An agency's budget lines with budget, committed, spent and remaining (cents)."""
    query = sa.select(budget_lines).where(budget_lines.c.agency_id == q["agency_id"])
    if q["year"]:
        query = query.where(budget_lines.c.year == q["year"])
    rows = _rows(conn, _page(query.order_by(budget_lines.c.year, budget_lines.c.budget_line_id), q))
    return [r | {"remaining_cents": r["amount_cents"] - r["committed_cents"] - r["spent_cents"]} for r in rows]


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
