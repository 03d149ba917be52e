"""Purchase requests (采购申请) and the idle-first authorisations they need (公物仓优先调剂).

Furniture and equipment are met from the public goods warehouse first; the assets service authorises a
purchase only when no idle stock fits. The procurement service records each such authorisation it learns
from the assets service's events as a ``PurchaseAuthorisation``, and a request uses it up.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import ClassVar, Self

from services.common.kernel.aggregate import Aggregate
from services.common.kernel.errors import RuleViolation, WrongStatus, require_positive, require_status
from services.common.kernel.events import register_fen_upcaster
from services.common.kernel.facts import fact_day

from .base import ProcurementEvent
from .budget import BudgetLine, no_budget_line
from .catalog import CatalogItem


@dataclass(frozen=True)
class PurchaseAuthorisationReceived(ProcurementEvent):
    """The assets service authorised buying new furniture or equipment: no idle stock fits."""

    authorisation_id: str
    agency_id: str
    district: str
    category: str
    quantity: int
    authorised_on: str


@dataclass(frozen=True)
class PurchaseAuthorisationUsed(ProcurementEvent):
    """A purchase request used the authorisation (once only)."""

    authorisation_id: str
    request_id: str
    quantity: int


@dataclass(frozen=True)
class PurchaseRequestSubmitted(ProcurementEvent):
    """An agency asked to buy a catalog item; the estimated amount is reserved on its budget line."""

    schema_version: ClassVar[int] = 2
    legacy_cents: ClassVar[dict[str, str]] = {
        "estimated_unit_price_cents": "estimated_unit_price_fen",
        "amount_cents": "amount_fen",
    }

    request_id: str
    agency_id: str
    district: str
    item_code: str
    category: str
    green_clauses_required: bool
    quantity: int
    estimated_unit_price_fen: int
    amount_fen: int
    budget_line_id: str
    year: int
    authorisation_id: str | None
    submitted_on: str


@dataclass(frozen=True)
class PurchaseRequestCancelled(ProcurementEvent):
    """The agency withdrew its request before it was tendered; its reservation is released."""

    request_id: str
    reason: str


@dataclass(frozen=True)
class PurchaseRequestTendered(ProcurementEvent):
    """The request was put into a tender (alone or batched with others)."""

    request_id: str
    tender_id: str


@dataclass(frozen=True)
class PurchaseRequestReturned(ProcurementEvent):
    """The request's tender failed (流标); it may be tendered again."""

    request_id: str
    tender_id: str


class IdleStockCheckRequired(RuleViolation):
    """Furniture and equipment may be bought only with the assets service's authorisation."""

    code = "idle_stock_check_required"


class PurchaseAuthorisationMismatch(RuleViolation):
    """The authorisation is for another agency or category, or for fewer items."""

    code = "purchase_authorisation_mismatch"


class PurchaseAuthorisationAlreadyUsed(WrongStatus):
    """An authorisation serves one request only."""

    code = "purchase_authorisation_already_used"


class PurchaseAuthorisation(Aggregate):
    """The assets service's authorisation to buy furniture or equipment (no idle stock fits)."""

    stream_type: ClassVar[str] = "PurchaseAuthorisation"

    def _init_state(self) -> None:
        self.category = ""
        self.quantity = 0
        self.used_by: str | None = None

    @classmethod
    def receive(
        cls, *, authorisation_id: str, agency_id: str, district: str, category: str, quantity: int, authorised_on: date
    ) -> Self:
        """Record an authorisation learned from the assets service's events."""
        require_positive("quantity", quantity)
        authorisation = cls(authorisation_id)
        authorisation._record(
            PurchaseAuthorisationReceived(
                authorisation_id=authorisation_id,
                agency_id=agency_id,
                district=district,
                category=category,
                quantity=quantity,
                authorised_on=authorised_on.isoformat(),
            )
        )
        return authorisation

    def use(self, request_id: str, agency_id: str, category: str, quantity: int) -> None:
        """Use the authorisation for a request of the same agency and category, within its quantity."""
        if self.used_by is not None:
            raise PurchaseAuthorisationAlreadyUsed(
                f"authorisation {self.id} was used by request {self.used_by}",
                fields={"authorisation_id": ["already used"]},
                details={"used_by": self.used_by},
            )
        wanted = {"agency_id": agency_id, "category": category}
        held = {"agency_id": self.agency_id, "category": self.category}
        if wanted != held or quantity > self.quantity:
            raise PurchaseAuthorisationMismatch(
                f"authorisation {self.id} does not cover {quantity} {category} for agency {agency_id}",
                fields={"authorisation_id": ["does not cover this request"]},
                details={
                    "authorised": held | {"quantity": self.quantity},
                    "requested": wanted | {"quantity": quantity},
                },
            )
        self._record(PurchaseAuthorisationUsed(self.id, request_id, quantity))

    def _on_PurchaseAuthorisationReceived(self, event: PurchaseAuthorisationReceived) -> None:
        self.agency_id = event.agency_id
        self.district = event.district
        self.category = event.category
        self.quantity = event.quantity

    def _on_PurchaseAuthorisationUsed(self, event: PurchaseAuthorisationUsed) -> None:
        self.used_by = event.request_id


def _use_authorisation(
    authorisation: PurchaseAuthorisation | None, request_id: str, agency_id: str, category: str, quantity: int
) -> None:
    if authorisation is None:
        raise IdleStockCheckRequired(
            f"{category} is met from idle stock first: the assets service has not authorised a purchase",
            fields={"authorisation_id": ["required for this category"]},
            details={"category": category},
        )
    authorisation.use(request_id, agency_id, category, quantity)


class PurchaseRequest(Aggregate):
    """An agency's request to buy a catalog item, backed by a budget reservation."""

    stream_type: ClassVar[str] = "PurchaseRequest"

    def _init_state(self) -> None:
        self.status = ""
        self.item_code = ""
        self.category = ""
        self.green_clauses_required = False
        self.quantity = 0
        self.amount_fen = 0
        self.budget_line_id = ""
        self.year = 0
        self.tender_id: str | None = None

    @classmethod
    def submit(
        cls,
        *,
        request_id: str,
        agency_id: str,
        district: str,
        item: CatalogItem,
        quantity: int,
        estimated_unit_price_fen: int,
        budget: BudgetLine | None,
        authorisation: PurchaseAuthorisation | None,
        today: date,
        submitted_on: date | None = None,
    ) -> Self:
        """Ask to buy an item: it must be in the catalog, fit the budget and, if idle-first, be authorised.

        A past request brought in carries its ``submitted_on``: its year (the budget line's it must be on) is
        that day's, and it is not before the line was granted.

        The budget line and the authorisation record events too: the service appends the three streams'
        events in one transaction, and the budget line's version guards against two requests overspending it.
        """
        item.require_orderable()
        require_positive("quantity", quantity)
        require_positive("estimated_unit_price_fen", estimated_unit_price_fen)
        amount = quantity * estimated_unit_price_fen
        submitted = fact_day("submitted_on", submitted_on, today)
        if budget is None or not budget.opened:
            raise no_budget_line(agency_id, submitted.year, amount)
        budget.require_serves(agency_id, submitted.year)
        budget.require_open_on("submitted_on", submitted)
        if item.idle_first:
            _use_authorisation(authorisation, request_id, agency_id, item.category, quantity)
        budget.commit(request_id, amount)
        request = cls(request_id)
        request._record(
            PurchaseRequestSubmitted(
                request_id=request_id,
                agency_id=agency_id,
                district=district,
                item_code=item.id,
                category=item.category,
                green_clauses_required=item.green_clauses_required,
                quantity=quantity,
                estimated_unit_price_fen=estimated_unit_price_fen,
                amount_fen=amount,
                budget_line_id=budget.id,
                year=submitted.year,
                authorisation_id=authorisation.id if item.idle_first and authorisation else None,
                submitted_on=submitted.isoformat(),
            )
        )
        return request

    def cancel(self, reason: str, budget: BudgetLine) -> None:
        """Withdraw a request not yet tendered and release its reservation."""
        require_status(f"request {self.id}", self.status, "submitted")
        budget.release(self.id)
        self._record(PurchaseRequestCancelled(self.id, reason))

    def put_into_tender(self, tender_id: str) -> None:
        """Mark the request as tendered; a request is in one live tender at most."""
        require_status(f"request {self.id}", self.status, "submitted")
        self._record(PurchaseRequestTendered(self.id, tender_id))

    def return_from_failed_tender(self) -> None:
        """Make the request available again after its tender failed."""
        require_status(f"request {self.id}", self.status, "tendered")
        self._record(PurchaseRequestReturned(self.id, self.tender_id or ""))

    def _on_PurchaseRequestSubmitted(self, event: PurchaseRequestSubmitted) -> None:
        self.status = "submitted"
        self.agency_id = event.agency_id
        self.district = event.district
        self.item_code = event.item_code
        self.category = event.category
        self.green_clauses_required = event.green_clauses_required
        self.quantity = event.quantity
        self.amount_fen = event.amount_fen
        self.budget_line_id = event.budget_line_id
        self.year = event.year

    def _on_PurchaseRequestCancelled(self, event: PurchaseRequestCancelled) -> None:
        self.status = "cancelled"

    def _on_PurchaseRequestTendered(self, event: PurchaseRequestTendered) -> None:
        self.status = "tendered"
        self.tender_id = event.tender_id

    def _on_PurchaseRequestReturned(self, event: PurchaseRequestReturned) -> None:
        self.status = "submitted"
        self.tender_id = None


register_fen_upcaster(PurchaseRequestSubmitted, 1)
