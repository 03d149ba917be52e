"""Contracts (采购合同) with the winner, their deliveries and acceptance (履约验收), and supplier performance.

The green clauses (seed 000, #2) are required for the categories that carry them. Acceptance spends the budget
reservation and tells the assets service what to enter in its ledger.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, ClassVar, Self

from services.common.kernel.aggregate import Aggregate
from services.common.kernel.errors import (
    AlreadyExists,
    NotFound,
    RuleViolation,
    ValidationFailed,
    WrongStatus,
    require_positive,
    require_status,
)
from services.common.kernel.events import register_fen_upcaster
from services.common.kernel.facts import fact_day

from .base import CONTRACT_CLAUSES, GREEN_CLAUSES, ProcurementEvent
from .budget import BudgetLine
from .tenders import Tender


@dataclass(frozen=True)
class ContractSigned(ProcurementEvent):
    """An agency signed the contract for its lot with the tender's winner."""

    schema_version: ClassVar[int] = 2
    legacy_cents: ClassVar[dict[str, str]] = {"unit_price_cents": "unit_price_fen", "amount_cents": "amount_fen"}

    contract_id: str
    tender_id: str
    request_id: str
    agency_id: str
    district: str
    supplier_id: str
    item_code: str
    category: str
    quantity: int
    unit_price_fen: int
    amount_fen: int
    clauses: list[str]
    delivery_due: str
    signed_on: str


@dataclass(frozen=True)
class DeliveryReceived(ProcurementEvent):
    """The supplier delivered goods (or completed work) under the contract; lateness is measured."""

    contract_id: str
    delivery_id: str
    supplier_id: str
    quantity: int
    delivered_on: str
    due_on: str
    days_late: int


@dataclass(frozen=True)
class DeliveryAccepted(ProcurementEvent):
    """A delivery passed acceptance (验收), wholly or partly; the assets service enters the accepted items."""

    schema_version: ClassVar[int] = 2
    legacy_cents: ClassVar[dict[str, str]] = {"unit_value_cents": "unit_value_fen"}

    contract_id: str
    delivery_id: str
    agency_id: str
    district: str
    supplier_id: str
    item_code: str
    category: str
    quantity: int
    defective_quantity: int
    unit_value_fen: int
    accepted_on: str


@dataclass(frozen=True)
class DeliveryRejected(ProcurementEvent):
    """Every item of a delivery was defective; nothing was accepted."""

    contract_id: str
    delivery_id: str
    supplier_id: str
    defective_quantity: int
    rejected_on: str


@dataclass(frozen=True)
class ContractFulfilled(ProcurementEvent):
    """Everything the contract covers was delivered and accepted."""

    contract_id: str
    fulfilled_on: str


class GreenClausesMissing(RuleViolation):
    """Contracts of furniture, printing, vehicle repair and decoration need the low-VOC and environmental terms."""

    code = "green_clauses_missing"


class UnknownClause(RuleViolation):
    """The clause code is not one the platform knows."""

    code = "unknown_clause"


class DeliveryDueInPast(RuleViolation):
    """A contract's delivery date cannot be before its signing."""

    code = "delivery_due_in_past"


class DuplicateDelivery(AlreadyExists):
    """The delivery was already recorded."""

    code = "duplicate_delivery"


class DeliveryExceedsContract(RuleViolation):
    """More than the contract still awaits cannot be delivered."""

    code = "delivery_exceeds_contract"


class DeliveryNotFound(NotFound):
    """The contract has no such delivery."""

    code = "delivery_not_found"


class DeliveryAlreadyInspected(WrongStatus):
    """A delivery is inspected once."""

    code = "delivery_already_inspected"


class InspectionMismatch(RuleViolation):
    """Accepted and defective items must add up to what was delivered."""

    code = "inspection_quantity_mismatch"


def _require_clauses(clauses: Sequence[str], green_required: bool, category: str) -> None:
    unknown = sorted(set(clauses) - set(CONTRACT_CLAUSES))
    if unknown:
        raise UnknownClause(
            f"unknown clauses {unknown}",
            fields={"clauses": [f"unknown: {', '.join(unknown)}"]},
            details={"unknown": unknown},
        )
    missing = [c for c in GREEN_CLAUSES if c not in clauses] if green_required else []
    if missing:
        raise GreenClausesMissing(
            f"a {category} contract needs the green clauses {missing}",
            fields={"clauses": [f"missing: {', '.join(missing)}"]},
            details={"category": category, "missing": missing},
        )


class ProcurementContract(Aggregate):
    """One agency's contract with the winner of a tender, and its deliveries."""

    stream_type: ClassVar[str] = "ProcurementContract"

    def _init_state(self) -> None:
        self.status = ""
        self.tender_id = ""
        self.request_id = ""
        self.supplier_id = ""
        self.item_code = ""
        self.category = ""
        self.quantity = 0
        self.unit_price_fen = 0
        self.amount_fen = 0
        self.clauses: list[str] = []
        self.signed_on = ""
        self.delivery_due = ""
        self.fulfilled_on: str | None = None
        self.accepted_quantity = 0
        self.deliveries: dict[str, dict[str, Any]] = {}
        """delivery id → quantity, delivered_on, days_late, inspected, and once inspected accepted_quantity,
        defective_quantity and inspected_on."""

    @classmethod
    def sign(
        cls,
        *,
        contract_id: str,
        tender: Tender,
        request_id: str,
        clauses: Sequence[str],
        delivery_due: date,
        budget: BudgetLine,
        today: date,
        signed_on: date | None = None,
    ) -> Self:
        """Sign an awarded lot's contract (today, or on a past ``signed_on`` brought in); its value becomes the
        request's budget reservation, and delivery is due not before the signing."""
        lot = tender.awarded_lot(request_id)
        _require_clauses(clauses, tender.green_clauses_required, tender.category)
        signed = fact_day("signed_on", signed_on, today)
        if delivery_due < signed:
            raise DeliveryDueInPast(
                "delivery cannot be due before signing",
                fields={"delivery_due": [f"must not be before {signed.isoformat()}"]},
            )
        amount = int(lot["unit_price_fen"]) * int(lot["quantity"])
        budget.revise_commitment(request_id, amount)
        contract = cls(contract_id)
        contract._record(
            ContractSigned(
                contract_id=contract_id,
                tender_id=tender.id,
                request_id=request_id,
                agency_id=lot["agency_id"],
                district=lot["district"],
                supplier_id=lot["supplier_id"],
                item_code=tender.item_code,
                category=tender.category,
                quantity=lot["quantity"],
                unit_price_fen=lot["unit_price_fen"],
                amount_fen=amount,
                clauses=list(clauses),
                delivery_due=delivery_due.isoformat(),
                signed_on=signed.isoformat(),
            )
        )
        return contract

    @property
    def outstanding_quantity(self) -> int:
        """What the supplier still has to deliver: neither accepted nor awaiting inspection."""
        awaiting = sum(int(d["quantity"]) for d in self.deliveries.values() if not d["inspected"])
        return self.quantity - self.accepted_quantity - awaiting

    def record_delivery(self, delivery_id: str, quantity: int, delivered_on: date, today: date) -> None:
        """Record a delivery, within what the contract still awaits, and how late it is: on a day that has
        happened and not before the contract was signed (its lateness counts from that day)."""
        require_status(f"contract {self.id}", self.status, "active")
        fact_day("delivered_on", delivered_on, today)
        if delivered_on < date.fromisoformat(self.signed_on):
            raise ValidationFailed(
                f"contract {self.id} was signed on {self.signed_on}",
                fields={"delivered_on": [f"must not be before {self.signed_on}"]},
            )
        if delivery_id in self.deliveries:
            raise DuplicateDelivery(f"delivery {delivery_id} was already recorded")
        require_positive("quantity", quantity)
        if quantity > self.outstanding_quantity:
            raise DeliveryExceedsContract(
                f"{quantity} delivered, {self.outstanding_quantity} outstanding on contract {self.id}",
                fields={"quantity": [f"must be <= {self.outstanding_quantity}"]},
                details={"contract_quantity": self.quantity, "outstanding": self.outstanding_quantity},
            )
        days_late = max(0, (delivered_on - date.fromisoformat(self.delivery_due)).days)
        self._record(
            DeliveryReceived(
                contract_id=self.id,
                delivery_id=delivery_id,
                supplier_id=self.supplier_id,
                quantity=quantity,
                delivered_on=delivered_on.isoformat(),
                due_on=self.delivery_due,
                days_late=days_late,
            )
        )

    def inspect_delivery(
        self,
        delivery_id: str,
        accepted_quantity: int,
        defective_quantity: int,
        inspected_on: date,
        budget: BudgetLine,
        today: date,
    ) -> None:
        """Accept (part of) a delivery and spend its value, or reject it when every item is defective; the
        inspection lies on a day that has happened, not before the delivery."""
        delivery = self._delivery(delivery_id)
        fact_day("inspected_on", inspected_on, today)
        if inspected_on < date.fromisoformat(delivery["delivered_on"]):
            raise ValidationFailed(
                f"delivery {delivery_id} arrived on {delivery['delivered_on']}",
                fields={"inspected_on": [f"must not be before {delivery['delivered_on']}"]},
            )
        if (
            accepted_quantity < 0
            or defective_quantity < 0
            or accepted_quantity + defective_quantity != delivery["quantity"]
        ):
            raise InspectionMismatch(
                f"accepted {accepted_quantity} and defective {defective_quantity} do not make the "
                f"{delivery['quantity']} delivered",
                fields={"accepted_quantity": ["accepted + defective must equal the delivered quantity"]},
                details={"delivered": delivery["quantity"]},
            )
        if accepted_quantity == 0:
            self._record(
                DeliveryRejected(self.id, delivery_id, self.supplier_id, defective_quantity, inspected_on.isoformat())
            )
            return
        budget.spend(self.request_id, accepted_quantity * self.unit_price_fen, reference=delivery_id)
        self._record(
            DeliveryAccepted(
                contract_id=self.id,
                delivery_id=delivery_id,
                agency_id=self.agency_id or "",
                district=self.district or "",
                supplier_id=self.supplier_id,
                item_code=self.item_code,
                category=self.category,
                quantity=accepted_quantity,
                defective_quantity=defective_quantity,
                unit_value_fen=self.unit_price_fen,
                accepted_on=inspected_on.isoformat(),
            )
        )
        if self.accepted_quantity == self.quantity:
            self._record(ContractFulfilled(self.id, inspected_on.isoformat()))

    def _delivery(self, delivery_id: str) -> dict[str, Any]:
        if delivery_id not in self.deliveries:
            raise DeliveryNotFound(f"contract {self.id} has no delivery {delivery_id}")
        delivery = self.deliveries[delivery_id]
        if delivery["inspected"]:
            raise DeliveryAlreadyInspected(f"delivery {delivery_id} was already inspected")
        return delivery

    def _on_ContractSigned(self, event: ContractSigned) -> None:
        self.status = "active"
        self.agency_id = event.agency_id
        self.district = event.district
        self.request_id = event.request_id
        self.supplier_id = event.supplier_id
        self.item_code = event.item_code
        self.category = event.category
        self.quantity = event.quantity
        self.unit_price_fen = event.unit_price_fen
        self.delivery_due = event.delivery_due
        self.tender_id = event.tender_id
        self.amount_fen = event.amount_fen
        self.clauses = list(event.clauses)
        self.signed_on = event.signed_on

    def _on_DeliveryReceived(self, event: DeliveryReceived) -> None:
        self.deliveries[event.delivery_id] = {
            "quantity": event.quantity,
            "delivered_on": event.delivered_on,
            "days_late": event.days_late,
            "inspected": False,
        }

    def _on_DeliveryAccepted(self, event: DeliveryAccepted) -> None:
        self.deliveries[event.delivery_id] |= {
            "inspected": True,
            "accepted_quantity": event.quantity,
            "defective_quantity": event.defective_quantity,
            "inspected_on": event.accepted_on,
        }
        self.accepted_quantity += event.quantity

    def _on_DeliveryRejected(self, event: DeliveryRejected) -> None:
        self.deliveries[event.delivery_id] |= {
            "inspected": True,
            "accepted_quantity": 0,
            "defective_quantity": event.defective_quantity,
            "inspected_on": event.rejected_on,
        }

    def _on_ContractFulfilled(self, event: ContractFulfilled) -> None:
        self.status, self.fulfilled_on = "fulfilled", event.fulfilled_on


@dataclass(frozen=True)
class DeliveryOutcome:
    """One inspected delivery as supplier performance sees it."""

    supplier_id: str
    quantity: int
    defective_quantity: int
    days_late: int


@dataclass(frozen=True)
class SupplierPerformance:
    """A supplier's record over its deliveries: lateness and defects (供应商履约评价)."""

    supplier_id: str
    deliveries: int
    late_deliveries: int
    on_time_rate: float
    delivered_quantity: int
    defective_quantity: int
    defect_rate: float


def supplier_performance(outcomes: Sequence[DeliveryOutcome]) -> list[SupplierPerformance]:
    """Each supplier's on-time and defect rates over its inspected deliveries."""
    by_supplier: dict[str, list[DeliveryOutcome]] = defaultdict(list)
    for outcome in outcomes:
        by_supplier[outcome.supplier_id].append(outcome)
    report = []
    for supplier_id, mine in sorted(by_supplier.items()):
        late = sum(1 for o in mine if o.days_late > 0)
        delivered = sum(o.quantity for o in mine)
        defective = sum(o.defective_quantity for o in mine)
        report.append(
            SupplierPerformance(
                supplier_id=supplier_id,
                deliveries=len(mine),
                late_deliveries=late,
                on_time_rate=round(1 - late / len(mine), 4),
                delivered_quantity=delivered,
                defective_quantity=defective,
                defect_rate=round(defective / delivered, 4) if delivered else 0.0,
            )
        )
    return report


register_fen_upcaster(ContractSigned, 1)
register_fen_upcaster(DeliveryAccepted, 1)
