"""The projections that keep the procurement read models: the service's own events and the assets service's purchase authorisations."""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa

from services.common.base.log import get_logger
from services.common.base.settings import topic_for
from services.common.kernel.clock import china_date
from services.common.kernel.events import Envelope
from services.common.kernel.schemas import load_command
from services.common.read import sql
from services.common.read.projector import Projection
from services.procurement.schemas import IDLE_FIRST_CATEGORIES, RecordPurchaseAuthorisationSchema

from .tables import (
    abnormal_quotes,
    awards,
    budget_lines,
    catalog,
    deliveries,
    open_requests,
    price_alerts,
    received_authorisations,
    tender_lots,
    tenders,
)

log = get_logger()


ASSETS_AUTHORISATION_EVENT = "PurchaseAuthorised"
"""The assets service's event that authorises buying furniture or equipment (no idle stock fits). Its payload
(``services/assets/domain/warehouse.py``): request_id (the authorisation's id here), agency_id, district,
category (the procurement category), asset_category, quantity, idle_items_checked, idle_items_fitting,
authorised_on."""


_CLOSE_SUPERSEDED_ALERTS = (
    price_alerts.update()
    .where(
        price_alerts.c.item_code == sa.bindparam("item_code"),
        price_alerts.c.observed_on <= sa.bindparam("day"),
        price_alerts.c.closed_on.is_(None),
    )
    .values(closed_on=sa.bindparam("day"))
)
"""Closes, on ``day``, an ingredient's open alerts observed up to that day (built once: ``services.common.read.sql``)."""


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
        # the listing is by year, not by day (no opened_on); the money by its fen (not the legacy amount_cents)
        line = {k: env.payload[k] for k in ("budget_line_id", "agency_id", "district", "year", "purpose", "amount_fen")}
        sql.insert(conn, budget_lines, {**line, "committed_fen": 0, "spent_fen": 0})

    def on_BudgetLineAdjusted(self, conn: sa.Connection, env: Envelope) -> None:
        p = env.payload
        sql.update(conn, budget_lines, {"budget_line_id": p["budget_line_id"]}, {"amount_fen": p["amount_fen"]})

    def on_BudgetCommitted(self, conn: sa.Connection, env: Envelope) -> None:
        p = env.payload
        sql.add(conn, budget_lines, {"budget_line_id": p["budget_line_id"]}, {"committed_fen": p["amount_fen"]})

    def on_BudgetCommitmentRevised(self, conn: sa.Connection, env: Envelope) -> None:
        p = env.payload
        delta = p["amount_fen"] - p["previous_amount_fen"]
        sql.add(conn, budget_lines, {"budget_line_id": p["budget_line_id"]}, {"committed_fen": delta})

    def on_BudgetCommitmentReleased(self, conn: sa.Connection, env: Envelope) -> None:
        p = env.payload
        sql.add(conn, budget_lines, {"budget_line_id": p["budget_line_id"]}, {"committed_fen": -p["amount_fen"]})

    def on_BudgetSpent(self, conn: sa.Connection, env: Envelope) -> None:
        p = env.payload
        deltas = {"committed_fen": -p["amount_fen"], "spent_fen": p["amount_fen"]}
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
        keys = ("tender_id", "district", "item_code", "category", "batch", "quantity", "reference_unit_price_fen")
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
        decided = {k: p[k] for k in ("supplier_id", "unit_price_fen", "amount_fen", "reason")}
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
        keys = ("item_code", "kind", "observed_on", "price_fen", "basis_fen", "change", "threshold")
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
