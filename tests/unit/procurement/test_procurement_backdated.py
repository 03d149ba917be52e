"""Procurement facts brought in from the past (a city's history): budget lines granted and adjusted, requests
submitted, contracts signed, deliveries and inspections, each on its own day, in order and never ahead of
today; abnormal quotes dated the closing of their bidding."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from services.common.kernel.errors import DateInFuture, ValidationFailed
from services.procurement.domain.budget import BudgetLine, BudgetLineAdjusted, BudgetLineMismatch, BudgetLineOpened
from services.procurement.domain.contracts import DeliveryDueInPast, DeliveryReceived, ProcurementContract
from services.procurement.domain.requests import PurchaseRequest, PurchaseRequestSubmitted
from services.procurement.domain.tenders import AbnormalQuoteFlagged, Tender
from tests.unit.procurement.builders import evaluate_all, paper

TODAY = date(2026, 12, 6)
NOW = datetime(2026, 12, 6, 2, 0, tzinfo=UTC)


def line_2025() -> BudgetLine:
    """AG-1's 2025 line of 10 000.00 yuan, granted on 20 December 2024 and typed in today."""
    return BudgetLine.open(
        budget_line_id="bl-2025",
        agency_id="ag-1",
        district="320402",
        year=2025,
        purpose="办公用品",
        amount_fen=1_000_000,
        today=TODAY,
        opened_on=date(2024, 12, 20),
    )


def request_2025(line: BudgetLine, on: date = date(2025, 3, 10)) -> PurchaseRequest:
    """10 boxes of paper at 50.00 yuan, submitted on ``on``."""
    return PurchaseRequest.submit(
        request_id="rq-1",
        agency_id="ag-1",
        district="320402",
        item=paper(),
        quantity=10,
        estimated_unit_price_fen=5_000,
        budget=line,
        authorisation=None,
        today=TODAY,
        submitted_on=on,
    )


def test_a_past_budget_line_and_its_adjustment_carry_their_days() -> None:
    line = line_2025()
    opened = line.pending_events[-1]
    assert isinstance(opened, BudgetLineOpened) and opened.opened_on == "2024-12-20"
    line.adjust(1_200_000, "年中追加", TODAY, date(2025, 6, 30))
    adjusted = line.pending_events[-1]
    assert isinstance(adjusted, BudgetLineAdjusted)
    assert (adjusted.previous_amount_fen, adjusted.amount_fen, adjusted.adjusted_on) == (
        1_000_000,
        1_200_000,
        "2025-06-30",
    )
    today = BudgetLine.open(
        budget_line_id="bl-2027",
        agency_id="ag-1",
        district="320402",
        year=2027,
        purpose="办公用品",
        amount_fen=1,
        today=TODAY,
    )
    assert today.pending_events[-1].opened_on == "2026-12-06"  # type: ignore[attr-defined]  # no day: today


def test_an_adjustment_before_the_line_was_granted_or_in_the_future_is_refused() -> None:
    line = line_2025()
    with pytest.raises(ValidationFailed) as early:
        line.adjust(1_200_000, "追加", TODAY, date(2024, 12, 19))
    assert early.value.fields == {"adjusted_on": ["must not be before 2024-12-20"]}
    with pytest.raises(DateInFuture) as ahead:
        line.adjust(1_200_000, "追加", TODAY, date(2026, 12, 7))
    assert list(ahead.value.fields) == ["adjusted_on"]
    with pytest.raises(DateInFuture):
        BudgetLine.open(
            budget_line_id="bl-x",
            agency_id="ag-1",
            district="320402",
            year=2027,
            purpose="办公用品",
            amount_fen=1,
            today=TODAY,
            opened_on=date(2026, 12, 7),
        )


def test_last_year_s_request_is_on_last_year_s_line() -> None:
    line = line_2025()
    request = request_2025(line)
    submitted = request.pending_events[-1]
    assert isinstance(submitted, PurchaseRequestSubmitted)
    # its year is its day's (2025), not today's (2026); 10 × 5 000 = 50 000 fen reserved on the 2025 line
    assert (submitted.year, submitted.submitted_on, submitted.amount_fen) == (2025, "2025-03-10", 50_000)
    assert line.committed_fen == 50_000
    with pytest.raises(BudgetLineMismatch):  # typed in today without its day: a 2026 request, not the 2025 line's
        PurchaseRequest.submit(
            request_id="rq-2",
            agency_id="ag-1",
            district="320402",
            item=paper(),
            quantity=1,
            estimated_unit_price_fen=5_000,
            budget=line_2025(),
            authorisation=None,
            today=TODAY,
        )


def test_a_request_before_its_line_was_granted_or_in_the_future_is_refused() -> None:
    with pytest.raises(BudgetLineMismatch) as early:
        # 2024-12-19 is a 2024 day: the 2025 line does not serve it, so the line's year is judged first
        request_2025(line_2025(), date(2024, 12, 19))
    assert (early.value.details["year"], early.value.details["line_year"]) == (2024, 2025)
    line = BudgetLine.open(
        budget_line_id="bl-2025b",
        agency_id="ag-1",
        district="320402",
        year=2025,
        purpose="办公用品",
        amount_fen=1_000_000,
        today=TODAY,
        opened_on=date(2025, 2, 1),
    )
    with pytest.raises(ValidationFailed) as before_granted:
        request_2025(line, date(2025, 1, 31))
    assert before_granted.value.fields == {"submitted_on": ["must not be before 2025-02-01"]}
    with pytest.raises(DateInFuture) as ahead:
        request_2025(line_2025(), date(2026, 12, 7))
    assert list(ahead.value.fields) == ["submitted_on"]


def awarded_2025(line: BudgetLine) -> Tender:
    """Last year's paper tender: opened 15 March, closed 2 April 02:00 UTC, S-1 won at 45.00 yuan."""
    opened = datetime(2025, 3, 15, 1, 0, tzinfo=UTC)
    tender = Tender.open(
        tender_id="td-1",
        district="320400",
        requests=[request_2025(line)],
        reference_unit_price_fen=5_000,
        closes_at=opened + timedelta(days=17),
        now=NOW,
        opened_at=opened,
    )
    tender.submit_bid("b-1", "S-1", 4_500, NOW, opened + timedelta(days=5))
    tender.close_bidding(NOW, closed_at=datetime(2025, 4, 2, 2, 0, tzinfo=UTC))
    evaluate_all(tender)
    tender.award(NOW, datetime(2025, 4, 10, 2, 0, tzinfo=UTC))
    return tender


def test_last_year_s_contract_and_deliveries_keep_their_days_and_order() -> None:
    line = line_2025()
    tender = awarded_2025(line)
    with pytest.raises(DeliveryDueInPast) as due_early:  # due before its own signing day
        ProcurementContract.sign(
            contract_id="c-1",
            tender=tender,
            request_id="rq-1",
            clauses=[],
            delivery_due=date(2025, 4, 14),
            budget=line,
            today=TODAY,
            signed_on=date(2025, 4, 15),
        )
    assert due_early.value.fields == {"delivery_due": ["must not be before 2025-04-15"]}
    contract = ProcurementContract.sign(
        contract_id="c-1",
        tender=tender,
        request_id="rq-1",
        clauses=[],
        delivery_due=date(2025, 5, 15),
        budget=line,
        today=TODAY,
        signed_on=date(2025, 4, 15),
    )
    assert contract.signed_on == "2025-04-15"
    with pytest.raises(ValidationFailed) as before_signing:
        contract.record_delivery("d-0", 10, date(2025, 4, 14), TODAY)
    assert before_signing.value.fields == {"delivered_on": ["must not be before 2025-04-15"]}
    with pytest.raises(DateInFuture):
        contract.record_delivery("d-0", 10, date(2026, 12, 7), TODAY)
    contract.record_delivery("d-1", 10, date(2025, 5, 18), TODAY)
    received = contract.pending_events[-1]
    assert isinstance(received, DeliveryReceived)
    assert received.days_late == 3  # 18 May − 15 May, counted from the fact's days, not from today
    with pytest.raises(ValidationFailed) as before_delivery:
        contract.inspect_delivery("d-1", 10, 0, date(2025, 5, 17), line, TODAY)
    assert before_delivery.value.fields == {"inspected_on": ["must not be before 2025-05-18"]}
    with pytest.raises(DateInFuture):
        contract.inspect_delivery("d-1", 10, 0, date(2026, 12, 7), line, TODAY)
    contract.inspect_delivery("d-1", 10, 0, date(2025, 5, 20), line, TODAY)
    # the contract's 10 × 4 500 = 45 000 fen reserved, then spent on acceptance
    assert (contract.status, contract.fulfilled_on, line.spent_fen) == ("fulfilled", "2025-05-20", 45_000)


def test_an_abnormal_quote_is_dated_the_closing_of_its_bidding() -> None:
    opened = datetime(2025, 3, 15, 1, 0, tzinfo=UTC)
    tender = Tender.open(
        tender_id="td-2",
        district="320400",
        requests=[request_2025(line_2025())],
        reference_unit_price_fen=5_000,
        closes_at=opened + timedelta(days=17),
        now=NOW,
        opened_at=opened,
    )
    for n, (supplier, price) in enumerate({"A": 10_000, "B": 10_200, "C": 9_800, "D": 6_000}.items()):
        tender.submit_bid(f"b-{supplier}", supplier, price, NOW, opened + timedelta(days=1, minutes=n))
    tender.close_bidding(NOW, closed_at=datetime(2025, 4, 2, 2, 0, tzinfo=UTC))
    (flagged,) = [e for e in tender.pending_events if isinstance(e, AbnormalQuoteFlagged)]
    # D's 6 000 is below 70 % of the median 10 000 (7 000): flagged when bidding closed, not when typed in
    assert (flagged.kind, flagged.flagged_at) == ("below_median", "2025-04-02T02:00:00.000000+00:00")
