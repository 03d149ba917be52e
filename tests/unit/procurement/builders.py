"""Builders shared by the procurement domain tests: catalog items, budget lines, requests and tenders."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from services.procurement.domain.budget import BudgetLine
from services.procurement.domain.catalog import CatalogItem
from services.procurement.domain.requests import PurchaseAuthorisation, PurchaseRequest
from services.procurement.domain.tenders import Tender

TODAY = date(2024, 3, 1)
NOW = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
CLOSES_AT = NOW + timedelta(days=20)
AFTER_CLOSE = CLOSES_AT + timedelta(hours=1)
LATER = TODAY + timedelta(days=400)
"""The day deliveries and inspections are typed in: after every day the tests give them."""


def paper() -> CatalogItem:
    """Office paper: no green clauses, no idle-first check."""
    return CatalogItem.list_item("A-paper", "A4 复印纸", "office_supplies", "box")


def desk() -> CatalogItem:
    """An office desk: furniture, so green clauses and the idle-first check apply."""
    return CatalogItem.list_item("F-desk", "办公桌", "furniture", "piece")


def budget(agency_id: str = "ag-1", amount_fen: int = 1_000_000, year: int = 2024) -> BudgetLine:
    """A budget line of 10 000.00 yuan for the agency and year."""
    return BudgetLine.open(
        budget_line_id=f"bl-{agency_id}-{year}",
        agency_id=agency_id,
        district="320402",
        year=year,
        purpose="办公用品",
        amount_fen=amount_fen,
        today=TODAY,
    )


def authorisation(agency_id: str = "ag-1", category: str = "furniture", quantity: int = 10) -> PurchaseAuthorisation:
    """The assets service's authorisation to buy (no idle stock fits)."""
    return PurchaseAuthorisation.receive(
        authorisation_id="au-1",
        agency_id=agency_id,
        district="320402",
        category=category,
        quantity=quantity,
        authorised_on=TODAY,
    )


def submit(
    item: CatalogItem, quantity: int = 10, price: int = 5_000, agency_id: str = "ag-1", **kw: Any
) -> PurchaseRequest:
    """Submit a request on its own budget line unless ``line`` is given (``auth`` for idle-first items)."""
    return PurchaseRequest.submit(
        request_id=kw.get("request_id", f"rq-{agency_id}"),
        agency_id=agency_id,
        district="320402",
        item=item,
        quantity=quantity,
        estimated_unit_price_fen=price,
        budget=kw["line"] if "line" in kw else budget(agency_id),
        authorisation=kw.get("auth"),
        today=TODAY,
    )


def closed_tender(prices: dict[str, int], reference: int = 5_000, **close: Any) -> Tender:
    """A paper tender (10 boxes) closed after the suppliers' bids, each supplier bidding in turn."""
    tender = Tender.open(
        tender_id="td-1",
        district="320400",
        requests=[submit(paper())],
        reference_unit_price_fen=reference,
        closes_at=CLOSES_AT,
        now=NOW,
    )
    for n, (supplier, price) in enumerate(prices.items()):
        tender.submit_bid(f"b-{supplier}", supplier, price, NOW + timedelta(minutes=n))
    tender.close_bidding(AFTER_CLOSE, **close)
    return tender


def evaluate_all(tender: Tender, non_compliant: tuple[str, ...] = ()) -> None:
    """Judge every bid compliant except the named ones."""
    for bid_id in tender.bids:
        rejected = bid_id in non_compliant
        tender.evaluate_bid(bid_id, not rejected, ["资质不符"] if rejected else [])


def event_types(*aggregates: Any) -> list[str]:
    """The types of the pending events of the aggregates, in order."""
    return [e.event_type for a in aggregates for e in a.pending_events]
