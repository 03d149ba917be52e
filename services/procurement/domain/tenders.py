"""Tenders (招标): requests → bids → abnormal-quote checks → evaluation → award at the lowest compliant price.

One tender may carry the requests of several agencies for the same catalog item (批量集中采购); each request
is a lot with its agency and quantity, and each agency later signs its own contract with the winner.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Final, Self

from services.common.kernel.aggregate import Aggregate
from services.common.kernel.clock import iso
from services.common.kernel.errors import (
    AlreadyExists,
    NotFound,
    RuleViolation,
    ValidationFailed,
    WrongStatus,
    require_positive,
    require_status,
)
from services.common.kernel.events import Payload, register_fen_upcaster, register_upcaster
from services.common.kernel.facts import fact_moment

from .base import ProcurementEvent
from .quotes import DEFAULT_QUOTE_RULES, AbnormalQuoteRules, PastAward, Quote, detect_abnormal_quotes
from .requests import PurchaseRequest


@dataclass(frozen=True)
class TenderOpened(ProcurementEvent):
    """A tender was opened for one catalog item and the requests (lots) it serves."""

    schema_version: ClassVar[int] = 2
    legacy_cents: ClassVar[dict[str, str]] = {"reference_unit_price_cents": "reference_unit_price_fen"}

    tender_id: str
    district: str
    item_code: str
    category: str
    green_clauses_required: bool
    lots: list[dict[str, Any]]
    quantity: int
    batch: bool
    reference_unit_price_fen: int
    closes_at: str
    opened_at: str


@dataclass(frozen=True)
class BidSubmitted(ProcurementEvent):
    """A supplier quoted a unit price before bidding closed."""

    schema_version: ClassVar[int] = 2
    legacy_cents: ClassVar[dict[str, str]] = {"unit_price_cents": "unit_price_fen"}

    tender_id: str
    bid_id: str
    supplier_id: str
    unit_price_fen: int
    submitted_at: str


@dataclass(frozen=True)
class BiddingClosed(ProcurementEvent):
    """Bidding closed and the sealed bids were opened (开标)."""

    tender_id: str
    bid_count: int
    closed_at: str


@dataclass(frozen=True)
class AbnormalQuoteFlagged(ProcurementEvent):
    """A quote or pattern of quotes looks abnormal (恶意报价); the evidence says why.

    v2 added ``flagged_at``, the time bidding closed (the finding's date, from which its age counts, however
    late a past tender is brought in); v1 events read with null (flagged when recorded)."""

    schema_version: ClassVar[int] = 2

    tender_id: str
    kind: str
    bid_ids: list[str]
    supplier_ids: list[str]
    evidence: dict[str, Any]
    flagged_at: str | None = None


@register_upcaster("procurement", "AbnormalQuoteFlagged", 1)
def _quote_flagged_v1_to_v2(payload: Payload) -> Payload:
    return {**payload, "flagged_at": None}


@dataclass(frozen=True)
class AbnormalQuoteCleared(ProcurementEvent):
    """The evaluators accepted a flagged bidder's justification of its price."""

    tender_id: str
    bid_id: str
    justification: str


@dataclass(frozen=True)
class BidEvaluated(ProcurementEvent):
    """The evaluators judged a bid compliant or not (资格性和符合性审查), with their reasons."""

    tender_id: str
    bid_id: str
    compliant: bool
    reasons: list[str]


RANKING_PRICE: Final = "unit_price_cents"
"""The name of a ranked bid's unit price (fen) in ``TenderAwarded.ranking``: a list item's schema is closed and
fixed since v1 (a renamed item property would break v1 consumers), so it keeps the name it was published under."""


@dataclass(frozen=True)
class TenderAwarded(ProcurementEvent):
    """The tender was awarded to the lowest compliant bid (低价中标); the reason and ranking are recorded."""

    schema_version: ClassVar[int] = 2
    legacy_cents: ClassVar[dict[str, str]] = {"unit_price_cents": "unit_price_fen", "amount_cents": "amount_fen"}

    tender_id: str
    district: str
    item_code: str
    category: str
    bid_id: str
    supplier_id: str
    unit_price_fen: int
    amount_fen: int
    reason: str
    ranking: list[dict[str, Any]]
    """Each compliant bid's id, supplier and unit price in fen under ``RANKING_PRICE``, lowest first."""
    bidder_ids: list[str]
    awarded_at: str


@dataclass(frozen=True)
class TenderFailed(ProcurementEvent):
    """The tender failed (流标) and its requests went back to be tendered again."""

    tender_id: str
    reason: str
    failed_at: str


TENDER_STATUSES: Final = ("open", "closed", "awarded", "failed")
"""Tender statuses: bidding open, bidding closed (evaluation), awarded, failed."""


class MixedCatalogItems(RuleViolation):
    """A tender (batched or not) is for one catalog item only."""

    code = "mixed_catalog_items"


class ClosingTimeNotInFuture(RuleViolation):
    """Bidding must close after the tender opens."""

    code = "closing_time_not_in_future"


class BiddingClosedError(WrongStatus):
    """No bid is taken once bidding closed."""

    code = "bidding_closed"


class BiddingStillOpen(WrongStatus):
    """Bidding cannot close before its announced closing time."""

    code = "bidding_still_open"


class DuplicateBid(AlreadyExists):
    """A supplier bids once per tender."""

    code = "duplicate_bid"


class BidNotFound(NotFound):
    """The tender has no such bid."""

    code = "bid_not_found"


class NonComplianceReasonRequired(RuleViolation):
    """A bid judged non-compliant needs the reasons."""

    code = "non_compliance_reason_required"


class BidsNotEvaluated(WrongStatus):
    """Every bid must be evaluated before the award."""

    code = "bids_not_evaluated"


class NoCompliantBid(RuleViolation):
    """Only a compliant bid can win."""

    code = "no_compliant_bid"


class AbnormalQuoteUnresolved(RuleViolation):
    """A flagged bid wins only once its price was justified (or it is judged non-compliant)."""

    code = "abnormal_quote_unresolved"


class NotFlagged(WrongStatus):
    """Only a flagged bid can be cleared."""

    code = "bid_not_flagged"


class RequestNotInTender(NotFound):
    """The request is not one of the tender's lots."""

    code = "request_not_in_tender"


class Tender(Aggregate):
    """A tender for one catalog item: its lots, bids, findings, evaluation and award."""

    stream_type: ClassVar[str] = "Tender"

    def _init_state(self) -> None:
        self.status = ""
        self.item_code = ""
        self.category = ""
        self.green_clauses_required = False
        self.lots: list[dict[str, Any]] = []
        self.reference_unit_price_fen = 0
        self.closes_at = ""
        self.opened_at = ""
        self.closed_at = ""
        self.bids: dict[str, dict[str, Any]] = {}
        self.winner: dict[str, Any] | None = None

    @classmethod
    def open(
        cls,
        *,
        tender_id: str,
        district: str,
        requests: Sequence[PurchaseRequest],
        reference_unit_price_fen: int,
        closes_at: datetime,
        now: datetime,
        opened_at: datetime | None = None,
    ) -> Self:
        """Open a tender for the requests of one or more agencies for the same catalog item, now or at a past
        ``opened_at`` brought in (last year's tender): bidding closes after it opened."""
        opened = fact_moment("opened_at", opened_at, now)
        items = sorted({r.item_code for r in requests})
        if len(items) != 1:
            raise MixedCatalogItems(
                "a tender is for exactly one catalog item", fields={"request_ids": ["must name one catalog item"]}
            )
        require_positive("reference_unit_price_fen", reference_unit_price_fen)
        if closes_at <= opened:
            raise ClosingTimeNotInFuture(
                "bidding must close after it opens", fields={"closes_at": [f"must be later than {iso(opened)}"]}
            )
        for request in requests:
            request.put_into_tender(tender_id)
        lots = [
            {"request_id": r.id, "agency_id": r.agency_id, "district": r.district, "quantity": r.quantity}
            for r in requests
        ]
        tender = cls(tender_id)
        tender._record(
            TenderOpened(
                tender_id=tender_id,
                district=district,
                item_code=items[0],
                category=requests[0].category,
                green_clauses_required=any(r.green_clauses_required for r in requests),
                lots=lots,
                quantity=sum(r.quantity for r in requests),
                batch=len({r.agency_id for r in requests}) > 1,
                reference_unit_price_fen=reference_unit_price_fen,
                closes_at=iso(closes_at),
                opened_at=iso(opened),
            )
        )
        return tender

    def submit_bid(
        self, bid_id: str, supplier_id: str, unit_price_fen: int, now: datetime, submitted_at: datetime | None = None
    ) -> None:
        """Take a supplier's sealed bid while bidding is open (at ``submitted_at`` when a past bid is brought in)."""
        require_status(f"tender {self.id}", self.status, "open")
        at = fact_moment("submitted_at", submitted_at, now)
        if self.opened_at and at < datetime.fromisoformat(self.opened_at):
            raise ValidationFailed(
                f"tender {self.id} opened at {self.opened_at}",
                fields={"submitted_at": [f"must not be before {self.opened_at}"]},
            )
        if at >= datetime.fromisoformat(self.closes_at):
            raise BiddingClosedError(f"bidding on tender {self.id} closed at {self.closes_at}")
        if bid_id in self.bids or supplier_id in {b["supplier_id"] for b in self.bids.values()}:
            raise DuplicateBid(
                f"supplier {supplier_id} already bid on tender {self.id}", fields={"supplier_id": ["already bid"]}
            )
        require_positive("unit_price_fen", unit_price_fen)
        self._record(BidSubmitted(self.id, bid_id, supplier_id, unit_price_fen, iso(at)))

    def close_bidding(
        self,
        now: datetime,
        past_awards: Sequence[PastAward] = (),
        rules: AbnormalQuoteRules = DEFAULT_QUOTE_RULES,
        closed_at: datetime | None = None,
    ) -> None:
        """Close bidding (at ``closed_at`` when brought in from the past), open the bids and flag abnormal quotes
        against the past awards of the category."""
        require_status(f"tender {self.id}", self.status, "open")
        at = fact_moment("closed_at", closed_at, now)
        if at < datetime.fromisoformat(self.closes_at):
            raise BiddingStillOpen(f"bidding on tender {self.id} closes at {self.closes_at}")
        self._record(BiddingClosed(self.id, len(self.bids), iso(at)))
        findings = detect_abnormal_quotes(self._quotes(), self.reference_unit_price_fen, past_awards, rules)
        for finding in findings:
            self._record(
                AbnormalQuoteFlagged(
                    tender_id=self.id,
                    kind=finding.kind,
                    bid_ids=list(finding.bid_ids),
                    supplier_ids=list(finding.supplier_ids),
                    evidence=finding.evidence,
                    flagged_at=iso(at),
                )
            )

    def evaluate_bid(self, bid_id: str, compliant: bool, reasons: Sequence[str]) -> None:
        """Record the evaluators' judgement of a bid; non-compliance needs reasons."""
        require_status(f"tender {self.id}", self.status, "closed")
        self._bid(bid_id)
        if not compliant and not reasons:
            raise NonComplianceReasonRequired(
                "a non-compliant bid needs the reasons", fields={"reasons": ["required when not compliant"]}
            )
        self._record(BidEvaluated(self.id, bid_id, compliant, list(reasons)))

    def clear_abnormal_quote(self, bid_id: str, justification: str) -> None:
        """Accept a flagged bidder's justification of its price."""
        require_status(f"tender {self.id}", self.status, "closed")
        if not self._bid(bid_id)["flags"]:
            raise NotFlagged(f"bid {bid_id} is not flagged", fields={"bid_id": ["not flagged"]})
        self._record(AbnormalQuoteCleared(self.id, bid_id, justification))

    def award(self, now: datetime, awarded_at: datetime | None = None) -> None:
        """Award the tender to the lowest compliant bid, the earliest bid winning a tie (at ``awarded_at`` when
        brought in from the past, not before bidding closed)."""
        require_status(f"tender {self.id}", self.status, "closed")
        at = fact_moment("awarded_at", awarded_at, now)
        if self.closed_at and at < datetime.fromisoformat(self.closed_at):
            raise ValidationFailed(
                f"bidding on tender {self.id} closed at {self.closed_at}",
                fields={"awarded_at": [f"must not be before {self.closed_at}"]},
            )
        pending = [bid_id for bid_id, bid in self.bids.items() if bid["compliant"] is None]
        if pending:
            raise BidsNotEvaluated(f"{len(pending)} bids are not evaluated", details={"bid_ids": pending})
        ranking = sorted((b for b in self.bids.values() if b["compliant"]), key=lambda b: b["unit_price_fen"])
        if not ranking:
            raise NoCompliantBid(f"tender {self.id} has no compliant bid", details={"bid_count": len(self.bids)})
        winner = ranking[0]
        if winner["flags"] and not winner["cleared"]:
            raise AbnormalQuoteUnresolved(
                f"the lowest compliant bid {winner['bid_id']} is flagged as abnormal and not cleared",
                details={"bid_id": winner["bid_id"], "flags": winner["flags"]},
            )
        self._record(
            TenderAwarded(
                tender_id=self.id,
                district=self.district or "",
                item_code=self.item_code,
                category=self.category,
                bid_id=winner["bid_id"],
                supplier_id=winner["supplier_id"],
                unit_price_fen=winner["unit_price_fen"],
                amount_fen=winner["unit_price_fen"] * self.quantity,
                reason=self._award_reason(winner, len(ranking)),
                ranking=[
                    {"bid_id": b["bid_id"], "supplier_id": b["supplier_id"], RANKING_PRICE: b["unit_price_fen"]}
                    for b in ranking
                ],
                bidder_ids=[b["supplier_id"] for b in self.bids.values()],
                awarded_at=iso(at),
            )
        )

    def declare_failed(self, reason: str, requests: Sequence[PurchaseRequest], now: datetime) -> None:
        """Declare the tender failed (流标) and give its requests back to be tendered again."""
        require_status(f"tender {self.id}", self.status, "open", "closed")
        if sorted(r.id for r in requests) != sorted(lot["request_id"] for lot in self.lots):
            raise RequestNotInTender(
                f"the requests given are not the lots of tender {self.id}",
                fields={"request_ids": ["must be exactly the tender's lots"]},
                details={"lots": [lot["request_id"] for lot in self.lots]},
            )
        for request in requests:
            request.return_from_failed_tender()
        self._record(TenderFailed(self.id, reason, iso(now)))

    @property
    def quantity(self) -> int:
        """The total quantity of all lots."""
        return sum(int(lot["quantity"]) for lot in self.lots)

    def awarded_lot(self, request_id: str) -> dict[str, Any]:
        """A lot of the awarded tender with the winner's bid, supplier and unit price."""
        require_status(f"tender {self.id}", self.status, "awarded")
        return self._lot(request_id) | (self.winner or {})

    def _lot(self, request_id: str) -> dict[str, Any]:
        for lot in self.lots:
            if lot["request_id"] == request_id:
                return lot
        raise RequestNotInTender(
            f"request {request_id} is not in tender {self.id}", fields={"request_id": ["not in this tender"]}
        )

    def _award_reason(self, winner: dict[str, Any], compliant_count: int) -> str:
        excluded = {bid_id: b["reasons"] for bid_id, b in self.bids.items() if not b["compliant"]}
        reason = (
            f"lowest compliant price: {winner['unit_price_fen']} fen per unit from {winner['supplier_id']}, "
            f"{compliant_count} of {len(self.bids)} bids compliant"
        )
        if excluded:
            reason += "; non-compliant: " + "; ".join(f"{bid_id} ({', '.join(r)})" for bid_id, r in excluded.items())
        return reason

    def _bid(self, bid_id: str) -> dict[str, Any]:
        if bid_id not in self.bids:
            raise BidNotFound(f"tender {self.id} has no bid {bid_id}", fields={"bid_id": ["unknown bid"]})
        return self.bids[bid_id]

    def _quotes(self) -> list[Quote]:
        return [Quote(b["bid_id"], b["supplier_id"], b["unit_price_fen"]) for b in self.bids.values()]

    def _on_TenderOpened(self, event: TenderOpened) -> None:
        self.status = "open"
        self.district = event.district
        self.item_code = event.item_code
        self.category = event.category
        self.green_clauses_required = event.green_clauses_required
        self.lots = [dict(lot) for lot in event.lots]
        self.reference_unit_price_fen = event.reference_unit_price_fen
        self.closes_at, self.opened_at = event.closes_at, event.opened_at

    def _on_BidSubmitted(self, event: BidSubmitted) -> None:
        self.bids[event.bid_id] = {
            "bid_id": event.bid_id,
            "supplier_id": event.supplier_id,
            "unit_price_fen": event.unit_price_fen,
            "compliant": None,
            "reasons": [],
            "flags": [],
            "cleared": False,
        }

    def _on_BiddingClosed(self, event: BiddingClosed) -> None:
        self.status, self.closed_at = "closed", event.closed_at

    def _on_AbnormalQuoteFlagged(self, event: AbnormalQuoteFlagged) -> None:
        for bid_id in event.bid_ids:
            self.bids[bid_id]["flags"].append(event.kind)

    def _on_AbnormalQuoteCleared(self, event: AbnormalQuoteCleared) -> None:
        self.bids[event.bid_id]["cleared"] = True

    def _on_BidEvaluated(self, event: BidEvaluated) -> None:
        self.bids[event.bid_id]["compliant"] = event.compliant
        self.bids[event.bid_id]["reasons"] = list(event.reasons)

    def _on_TenderAwarded(self, event: TenderAwarded) -> None:
        self.status = "awarded"
        self.winner = {k: getattr(event, k) for k in ("bid_id", "supplier_id", "unit_price_fen")}

    def _on_TenderFailed(self, event: TenderFailed) -> None:
        self.status = "failed"


register_fen_upcaster(BidSubmitted, 1)
register_fen_upcaster(TenderAwarded, 1)
register_fen_upcaster(TenderOpened, 1)
