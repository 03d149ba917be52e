"""Budget lines (预算) per agency and year: no spending without a line, none above it (杜绝超预算、无预算支出)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, ClassVar, Self

from services.common.kernel.aggregate import Aggregate
from services.common.kernel.errors import AlreadyExists, RuleViolation, ValidationFailed, require_positive
from services.common.kernel.events import Payload, register_fen_upcaster, register_upcaster
from services.common.kernel.facts import fact_day

from .base import ProcurementEvent


@dataclass(frozen=True)
class BudgetLineOpened(ProcurementEvent):
    """A budget line was granted to an agency for a year.

    v2 added ``opened_on``, the day the line was granted (a past line brought in carries its own day, however
    late it is entered); v1 events read with null (granted the day they were recorded)."""

    schema_version: ClassVar[int] = 3
    legacy_cents: ClassVar[dict[str, str]] = {"amount_cents": "amount_fen"}

    budget_line_id: str
    agency_id: str
    district: str
    year: int
    purpose: str
    amount_fen: int
    opened_on: str | None = None


@dataclass(frozen=True)
class BudgetLineAdjusted(ProcurementEvent):
    """A budget line's amount was changed (追加 or 调减).

    v2 added ``adjusted_on``, the day the change took effect; v1 events read with null (the day recorded)."""

    schema_version: ClassVar[int] = 3
    legacy_cents: ClassVar[dict[str, str]] = {
        "previous_amount_cents": "previous_amount_fen",
        "amount_cents": "amount_fen",
    }

    budget_line_id: str
    previous_amount_fen: int
    amount_fen: int
    reason: str
    adjusted_on: str | None = None


@register_upcaster("procurement", "BudgetLineOpened", 1)
def _line_opened_v1_to_v2(payload: Payload) -> Payload:
    return {**payload, "opened_on": None}


@register_upcaster("procurement", "BudgetLineAdjusted", 1)
def _line_adjusted_v1_to_v2(payload: Payload) -> Payload:
    return {**payload, "adjusted_on": None}


@dataclass(frozen=True)
class BudgetCommitted(ProcurementEvent):
    """Part of a budget line was reserved for a purchase request."""

    schema_version: ClassVar[int] = 2
    legacy_cents: ClassVar[dict[str, str]] = {"amount_cents": "amount_fen"}

    budget_line_id: str
    request_id: str
    amount_fen: int


@dataclass(frozen=True)
class BudgetCommitmentRevised(ProcurementEvent):
    """A request's reservation was set to a new amount (e.g. the signed contract's value)."""

    schema_version: ClassVar[int] = 2
    legacy_cents: ClassVar[dict[str, str]] = {
        "previous_amount_cents": "previous_amount_fen",
        "amount_cents": "amount_fen",
    }

    budget_line_id: str
    request_id: str
    previous_amount_fen: int
    amount_fen: int


@dataclass(frozen=True)
class BudgetCommitmentReleased(ProcurementEvent):
    """A request's reservation was given back to the line (request cancelled)."""

    schema_version: ClassVar[int] = 2
    legacy_cents: ClassVar[dict[str, str]] = {"amount_cents": "amount_fen"}

    budget_line_id: str
    request_id: str
    amount_fen: int


@dataclass(frozen=True)
class BudgetSpent(ProcurementEvent):
    """Money was spent against a request's reservation (goods accepted)."""

    schema_version: ClassVar[int] = 2
    legacy_cents: ClassVar[dict[str, str]] = {"amount_cents": "amount_fen"}

    budget_line_id: str
    request_id: str
    amount_fen: int
    reference: str


class NoBudgetLine(RuleViolation):
    """A purchase without a budget line (无预算支出) is refused."""

    code = "no_budget_line"


class BudgetExceeded(RuleViolation):
    """A purchase above what remains of the budget line (超预算) is refused."""

    code = "budget_exceeded"


class BudgetLineMismatch(RuleViolation):
    """The budget line belongs to another agency or year."""

    code = "budget_line_mismatch"


class BudgetBelowUse(RuleViolation):
    """A budget line cannot be cut below what is already committed and spent."""

    code = "budget_below_use"


class BudgetAlreadyCommitted(AlreadyExists):
    """The request already holds a reservation on the line."""

    code = "budget_already_committed"


class NoBudgetCommitment(RuleViolation):
    """The request holds no reservation on the line."""

    code = "no_budget_commitment"


class SpendingBeyondCommitment(RuleViolation):
    """Spending above the request's reservation is refused."""

    code = "spending_beyond_commitment"


def no_budget_line(agency_id: str, year: int, requested_fen: int) -> NoBudgetLine:
    """The error for a request that names no (existing) budget line, with the figures."""
    return NoBudgetLine(
        f"agency {agency_id} has no budget line for this purchase in {year}",
        fields={"budget_line_id": ["no budget line"]},
        details={"budget_fen": 0, "committed_fen": 0, "spent_fen": 0, "remaining_fen": 0}
        | {"requested_fen": requested_fen, "agency_id": agency_id, "year": year},
    )


class BudgetLine(Aggregate):
    """A budget line of one agency and year: amount, reservations per request, spending."""

    stream_type: ClassVar[str] = "BudgetLine"

    def _init_state(self) -> None:
        self.opened = False
        self.opened_on: str | None = None
        self.year = 0
        self.purpose = ""
        self.amount_fen = 0
        self.spent_fen = 0
        self.commitments: dict[str, int] = {}

    @property
    def committed_fen(self) -> int:
        """The sum of the outstanding reservations."""
        return sum(self.commitments.values())

    @property
    def remaining_fen(self) -> int:
        """What is neither committed nor spent."""
        return self.amount_fen - self.committed_fen - self.spent_fen

    def figures(self, requested_fen: int) -> dict[str, Any]:
        """Budget, committed, spent, remaining and requested: the details of a budget error."""
        return {
            "budget_line_id": self.id,
            "budget_fen": self.amount_fen,
            "committed_fen": self.committed_fen,
            "spent_fen": self.spent_fen,
            "remaining_fen": self.remaining_fen,
            "requested_fen": requested_fen,
        }

    @classmethod
    def open(
        cls,
        *,
        budget_line_id: str,
        agency_id: str,
        district: str,
        year: int,
        purpose: str,
        amount_fen: int,
        today: date,
        opened_on: date | None = None,
    ) -> Self:
        """Grant a budget line to an agency for a year, today or on a past ``opened_on`` brought in (last year's
        line, granted the December before)."""
        require_positive("amount_fen", amount_fen)
        granted = fact_day("opened_on", opened_on, today)
        line = cls(budget_line_id)
        line._record(
            BudgetLineOpened(
                budget_line_id=budget_line_id,
                agency_id=agency_id,
                district=district,
                year=year,
                purpose=purpose,
                amount_fen=amount_fen,
                opened_on=granted.isoformat(),
            )
        )
        return line

    def require_serves(self, agency_id: str, year: int) -> None:
        """Refuse a line that does not belong to the agency and year of the purchase."""
        if (self.agency_id, self.year) != (agency_id, year):
            raise BudgetLineMismatch(
                f"budget line {self.id} is of agency {self.agency_id} for {self.year}",
                fields={"budget_line_id": ["belongs to another agency or year"]},
                details={"line_agency_id": self.agency_id, "line_year": self.year}
                | {"agency_id": agency_id, "year": year},
            )

    def require_open_on(self, field: str, day: date) -> None:
        """Facts keep their order: nothing happens on a line (a request, an adjustment) before the day it was
        granted (lines recorded as v1 have no day and are not checked)."""
        if self.opened_on is not None and day < date.fromisoformat(self.opened_on):
            raise ValidationFailed(
                f"budget line {self.id} was granted on {self.opened_on}",
                fields={field: [f"must not be before {self.opened_on}"]},
                details={"budget_line_id": self.id, "opened_on": self.opened_on},
            )

    def adjust(self, amount_fen: int, reason: str, today: date, adjusted_on: date | None = None) -> None:
        """Change the line's amount (today, or on a past ``adjusted_on`` brought in, not before the line was
        granted); never below what is committed and spent."""
        effective = fact_day("adjusted_on", adjusted_on, today)
        self.require_open_on("adjusted_on", effective)
        used = self.committed_fen + self.spent_fen
        if amount_fen < used:
            raise BudgetBelowUse(
                f"budget line {self.id} cannot go below the {used} fen committed and spent",
                fields={"amount_fen": [f"must be >= {used}"]},
                details=self.figures(0) | {"new_amount_fen": amount_fen},
            )
        self._record(BudgetLineAdjusted(self.id, self.amount_fen, amount_fen, reason, effective.isoformat()))

    def commit(self, request_id: str, amount_fen: int) -> None:
        """Reserve money for a request; refused above what remains."""
        require_positive("amount_fen", amount_fen)
        if request_id in self.commitments:
            raise BudgetAlreadyCommitted(f"request {request_id} already holds a reservation on {self.id}")
        self._require_available(amount_fen)
        self._record(BudgetCommitted(self.id, request_id, amount_fen))

    def revise_commitment(self, request_id: str, amount_fen: int) -> None:
        """Set a request's reservation to a new amount; an increase must fit what remains."""
        require_positive("amount_fen", amount_fen)
        previous = self._commitment(request_id)
        self._require_available(amount_fen - previous)
        self._record(BudgetCommitmentRevised(self.id, request_id, previous, amount_fen))

    def release(self, request_id: str) -> None:
        """Give a request's reservation back to the line."""
        self._record(BudgetCommitmentReleased(self.id, request_id, self._commitment(request_id)))

    def spend(self, request_id: str, amount_fen: int, reference: str) -> None:
        """Record spending against a request's reservation; never beyond it."""
        require_positive("amount_fen", amount_fen)
        reserved = self._commitment(request_id)
        if amount_fen > reserved:
            raise SpendingBeyondCommitment(
                f"spending {amount_fen} exceeds the {reserved} fen reserved for request {request_id}",
                fields={"amount_fen": [f"must be <= {reserved}"]},
                details=self.figures(amount_fen) | {"reserved_fen": reserved},
            )
        self._record(BudgetSpent(self.id, request_id, amount_fen, reference))

    def _commitment(self, request_id: str) -> int:
        if request_id not in self.commitments:
            raise NoBudgetCommitment(
                f"request {request_id} holds no reservation on budget line {self.id}",
                fields={"request_id": ["no reservation on this budget line"]},
            )
        return self.commitments[request_id]

    def _require_available(self, amount_fen: int) -> None:
        if amount_fen > self.remaining_fen:
            raise BudgetExceeded(
                f"{amount_fen} fen requested, {self.remaining_fen} remain on budget line {self.id}",
                fields={"amount_fen": [f"exceeds the {self.remaining_fen} fen remaining"]},
                details=self.figures(amount_fen),
            )

    def _on_BudgetLineOpened(self, event: BudgetLineOpened) -> None:
        self.opened, self.opened_on = True, event.opened_on
        self.agency_id = event.agency_id
        self.district = event.district
        self.year = event.year
        self.purpose = event.purpose
        self.amount_fen = event.amount_fen

    def _on_BudgetLineAdjusted(self, event: BudgetLineAdjusted) -> None:
        self.amount_fen = event.amount_fen

    def _on_BudgetCommitted(self, event: BudgetCommitted) -> None:
        self.commitments[event.request_id] = event.amount_fen

    def _on_BudgetCommitmentRevised(self, event: BudgetCommitmentRevised) -> None:
        self.commitments[event.request_id] = event.amount_fen

    def _on_BudgetCommitmentReleased(self, event: BudgetCommitmentReleased) -> None:
        del self.commitments[event.request_id]

    def _on_BudgetSpent(self, event: BudgetSpent) -> None:
        self.commitments[event.request_id] -= event.amount_fen
        self.spent_fen += event.amount_fen


register_fen_upcaster(BudgetCommitmentReleased, 1)
register_fen_upcaster(BudgetCommitmentRevised, 1)
register_fen_upcaster(BudgetCommitted, 1)
register_fen_upcaster(BudgetLineAdjusted, 2)
register_fen_upcaster(BudgetLineOpened, 2)
register_fen_upcaster(BudgetSpent, 1)
