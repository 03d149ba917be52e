"""The public goods warehouse (公物仓): requests met from idle stock first, purchases authorised only when nothing
idle fits, and temporary loans for conferences and temporary bodies (会议、临时机构) with due dates and returns.

Both aggregates act on the ``Asset`` aggregates they are given; the service stores every changed aggregate in one
append, so an idle item taken by one request is refused to another by optimistic concurrency.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, ClassVar, Final, Self

from services.common.kernel.aggregate import Aggregate
from services.common.kernel.errors import NotFound, RuleViolation, ValidationFailed, require_positive, require_status
from services.common.kernel.facts import fact_day

from .base import (
    CONDITIONS,
    AssetsEvent,
    ServiceLifeTable,
    condition_fits,
    days_overdue,
    require_distinct,
    require_one_of,
)
from .ledger import Asset

LOAN_PURPOSES: Final = ("conference", "temporary_body")
"""Why the warehouse lends: 会议 (conferences, large events), 临时机构 (temporary bodies)."""


@dataclass(frozen=True)
class WarehouseRequestOpened(AssetsEvent):
    """An agency asked for assets of a category in at least a given condition (new furniture, equipment)."""

    request_id: str
    agency_id: str
    district: str
    category: str
    procurement_category: str
    quantity: int
    min_condition: str
    location: str
    replaces_asset_id: str | None
    opened_on: str


@dataclass(frozen=True)
class RequestFulfilledFromIdleStock(AssetsEvent):
    """Idle assets from the warehouse met (part of) the request."""

    request_id: str
    agency_id: str
    asset_ids: list[str]
    fulfilled_on: str


@dataclass(frozen=True)
class PurchaseAuthorised(AssetsEvent):
    """No idle stock fits (the rest of) the request: the agency may buy ``quantity`` items of the procurement
    ``category``. The procurement service records it as an authorisation whose id is the request id."""

    request_id: str
    agency_id: str
    district: str
    category: str
    asset_category: str
    quantity: int
    idle_items_checked: int
    idle_items_fitting: int
    authorised_on: str


@dataclass(frozen=True)
class LoanIssued(AssetsEvent):
    """The warehouse lent assets for a conference or a temporary body, until a due date."""

    loan_id: str
    borrower_agency_id: str
    district: str
    purpose: str
    occasion: str
    asset_ids: list[str]
    due_on: str
    lent_on: str


@dataclass(frozen=True)
class LoanItemsReturned(AssetsEvent):
    """Lent assets came back; ``days_late`` counts from the due date, ``outstanding`` are still out."""

    loan_id: str
    asset_ids: list[str]
    days_late: int
    outstanding_asset_ids: list[str]
    returned_on: str


@dataclass(frozen=True)
class LoanOverdueFlagged(AssetsEvent):
    """A finding: lent assets were not back by the due date."""

    loan_id: str
    borrower_agency_id: str
    due_on: str
    days_overdue: int
    outstanding_asset_ids: list[str]
    flagged_on: str


class InvalidDueDate(RuleViolation):
    """A loan is due after the day it is issued."""

    code = "invalid_due_date"


class WarehouseRequest(Aggregate):
    """An agency's request for furniture or equipment, met from idle stock first (公物仓优先调剂)."""

    stream_type: ClassVar[str] = "WarehouseRequest"

    def _init_state(self) -> None:
        self.status = ""
        self.category = ""
        self.procurement_category = ""
        self.quantity = 0
        self.min_condition = ""
        self.location = ""

    @classmethod
    def open(
        cls,
        *,
        request_id: str,
        agency_id: str,
        district: str,
        category: str,
        quantity: int,
        min_condition: str,
        location: str,
        table: ServiceLifeTable,
        today: date,
        replaces: Asset | None = None,
    ) -> Self:
        """Ask for ``quantity`` assets of a category; to replace an asset, its replacement must be approved."""
        procurement_category = table.category(category).procurement_category
        require_positive("quantity", quantity)
        require_one_of("min_condition", min_condition, CONDITIONS[:-1])
        if replaces is not None:
            replaces.order_replacement(request_id, agency_id, category, today)
        request = cls(request_id)
        request._record(
            WarehouseRequestOpened(
                request_id=request_id,
                agency_id=agency_id,
                district=district,
                category=category,
                procurement_category=procurement_category,
                quantity=quantity,
                min_condition=min_condition,
                location=location,
                replaces_asset_id=replaces.id if replaces else None,
                opened_on=today.isoformat(),
            )
        )
        return request

    def fits(self, asset: Asset) -> bool:
        """Whether an asset can meet this request: in the warehouse, of the category, in good enough condition."""
        return (
            asset.status == "in_warehouse"
            and asset.category == self.category
            and condition_fits(asset.condition, self.min_condition)
        )

    def fulfil_from_idle_stock(self, stock: Sequence[Asset], today: date) -> list[str]:
        """Allocate fitting idle assets (best condition first); authorise buying only what no idle item covers.

        ``stock`` is the warehouse's stock of the category as the service found it; items that no longer fit
        are skipped. Returns the ids of the allocated assets."""
        require_status(f"request {self.id}", self.status, "open")
        fitting = sorted((a for a in stock if self.fits(a)), key=lambda a: (CONDITIONS.index(a.condition), a.id))
        chosen = fitting[: self.quantity]
        for asset in chosen:
            asset.allocate_from_warehouse(self.id, self.agency_id or "", self.district or "", self.location, today)
        if chosen:
            self._record(
                RequestFulfilledFromIdleStock(self.id, self.agency_id or "", [a.id for a in chosen], today.isoformat())
            )
        shortfall = self.quantity - len(chosen)
        if shortfall:
            self._record(
                PurchaseAuthorised(
                    request_id=self.id,
                    agency_id=self.agency_id or "",
                    district=self.district or "",
                    category=self.procurement_category,
                    asset_category=self.category,
                    quantity=shortfall,
                    idle_items_checked=len(stock),
                    idle_items_fitting=len(fitting),
                    authorised_on=today.isoformat(),
                )
            )
        return [a.id for a in chosen]

    def _on_WarehouseRequestOpened(self, event: WarehouseRequestOpened) -> None:
        self.status, self.agency_id, self.district = "open", event.agency_id, event.district
        self.category, self.procurement_category = event.category, event.procurement_category
        self.quantity, self.min_condition, self.location = event.quantity, event.min_condition, event.location

    def _on_RequestFulfilledFromIdleStock(self, event: RequestFulfilledFromIdleStock) -> None:
        self.status = "fulfilled"

    def _on_PurchaseAuthorised(self, event: PurchaseAuthorised) -> None:
        self.status = "purchase_authorised"


class WarehouseLoan(Aggregate):
    """A temporary loan of warehouse assets for a conference or a temporary body."""

    stream_type: ClassVar[str] = "WarehouseLoan"

    def _init_state(self) -> None:
        self.status = ""
        self.due_on = ""
        self.lent_on = ""
        self.outstanding: list[str] = []
        self.flagged = False

    @classmethod
    def lend(
        cls,
        *,
        loan_id: str,
        borrower_agency_id: str,
        district: str,
        purpose: str,
        occasion: str,
        assets: Sequence[Asset],
        due_on: date,
        today: date,
        lent_on: date | None = None,
    ) -> Self:
        """Lend warehouse assets on ``lent_on`` (today, or a past day brought in) until ``due_on``; each must be in
        the warehouse. A loan brought in may be overdue already: its due date follows the day it was issued, not
        today, and the overdue check counts its days from the due date."""
        require_one_of("purpose", purpose, LOAN_PURPOSES)
        lent = fact_day("lent_on", lent_on, today)
        if due_on <= lent:
            raise InvalidDueDate(
                "a loan is due after it is issued", fields={"due_on": [f"must be after {lent.isoformat()}"]}
            )
        ids = [a.id for a in assets]
        require_distinct(ids)
        for asset in assets:
            asset.lend(loan_id, borrower_agency_id, due_on, lent)
        loan = cls(loan_id)
        loan._record(
            LoanIssued(
                loan_id=loan_id,
                borrower_agency_id=borrower_agency_id,
                district=district,
                purpose=purpose,
                occasion=occasion,
                asset_ids=ids,
                due_on=due_on.isoformat(),
                lent_on=lent.isoformat(),
            )
        )
        return loan

    def return_items(
        self,
        assets: Sequence[Asset],
        today: date,
        conditions: Mapping[str, str] | None = None,
        returned_on: date | None = None,
    ) -> None:
        """Take back lent assets on ``returned_on`` (today, or a past day not before the loan was issued), each in
        the condition found (its former condition when not given); days overdue count to that day."""
        require_status(f"loan {self.id}", self.status, "out")
        back = fact_day("returned_on", returned_on, today)
        if back.isoformat() < self.lent_on:
            raise ValidationFailed(
                f"loan {self.id} was issued on {self.lent_on}",
                fields={"returned_on": [f"must not be before {self.lent_on}"]},
            )
        strangers = [a.id for a in assets if a.id not in self.outstanding]
        if strangers or not assets:
            raise NotFound(
                f"loan {self.id} has no outstanding {', '.join(strangers) or 'assets given'}",
                fields={"asset_ids": ["not outstanding on this loan"]},
                details={"outstanding": self.outstanding},
            )
        for asset in assets:
            asset.return_from_loan(self.id, (conditions or {}).get(asset.id, asset.condition), back)
        returned = [a.id for a in assets]
        left = [i for i in self.outstanding if i not in returned]
        self._record(LoanItemsReturned(self.id, returned, days_overdue(self.due_on, back), left, back.isoformat()))

    def flag_if_overdue(self, today: date) -> bool:
        """Record a finding once when assets are still out after the due date; whether one was recorded."""
        late = days_overdue(self.due_on, today)
        if self.status != "out" or self.flagged or late == 0:
            return False
        self._record(
            LoanOverdueFlagged(
                loan_id=self.id,
                borrower_agency_id=self.agency_id or "",
                due_on=self.due_on,
                days_overdue=late,
                outstanding_asset_ids=list(self.outstanding),
                flagged_on=today.isoformat(),
            )
        )
        return True

    def _on_LoanIssued(self, event: LoanIssued) -> None:
        self.status, self.agency_id, self.district = "out", event.borrower_agency_id, event.district
        self.due_on, self.outstanding, self.lent_on = event.due_on, list(event.asset_ids), event.lent_on

    def _on_LoanItemsReturned(self, event: LoanItemsReturned) -> None:
        self.outstanding = list(event.outstanding_asset_ids)
        if not self.outstanding:
            self.status = "returned"

    def _on_LoanOverdueFlagged(self, event: LoanOverdueFlagged) -> None:
        self.flagged = True


def overdue_loans(loans: Iterable[Mapping[str, Any]], today: date) -> list[dict[str, Any]]:
    """Loans (rows with ``due_on`` and ``outstanding_asset_ids``) with assets still out after the due date,
    most overdue first, each with ``days_overdue``."""
    late = [
        {**loan, "days_overdue": days_overdue(loan["due_on"], today)}
        for loan in loans
        if loan["outstanding_asset_ids"] and days_overdue(loan["due_on"], today) > 0
    ]
    return sorted(late, key=lambda loan: -loan["days_overdue"])
