"""Tenders: bids while open, abnormal quotes flagged at closing, award to the lowest compliant bid (低价中标)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.common.kernel.errors import NotPositive, WrongStatus
from services.procurement.domain.catalog import CatalogItem
from services.procurement.domain.quotes import PastAward
from services.procurement.domain.tenders import (
    AbnormalQuoteFlagged,
    AbnormalQuoteUnresolved,
    BiddingClosedError,
    BiddingStillOpen,
    BidNotFound,
    BidsNotEvaluated,
    ClosingTimeNotInFuture,
    DuplicateBid,
    MixedCatalogItems,
    NoCompliantBid,
    NonComplianceReasonRequired,
    NotFlagged,
    RequestNotInTender,
    Tender,
    TenderAwarded,
    TenderOpened,
)
from tests.unit.procurement.builders import (
    AFTER_CLOSE,
    CLOSES_AT,
    NOW,
    budget,
    closed_tender,
    evaluate_all,
    paper,
    submit,
)


def open_tender(*agencies: str) -> Tender:
    item = paper()
    requests = [submit(item, agency_id=a) for a in agencies or ("ag-1",)]
    return Tender.open(
        tender_id="td-1",
        district="320400",
        requests=requests,
        reference_unit_price_fen=5_000,
        closes_at=CLOSES_AT,
        now=NOW,
    )


def awarded(tender: Tender) -> TenderAwarded:
    event = tender.pending_events[-1]
    assert isinstance(event, TenderAwarded)
    return event


def test_requests_of_several_agencies_make_one_batch_tender() -> None:
    item = paper()
    requests = [submit(item, quantity=q, agency_id=a) for a, q in (("ag-1", 10), ("ag-2", 30))]
    opened = Tender.open(
        tender_id="td-1",
        district="320400",
        requests=requests,
        reference_unit_price_fen=5_000,
        closes_at=CLOSES_AT,
        now=NOW,
    ).pending_events[0]
    assert isinstance(opened, TenderOpened)
    assert (opened.batch, opened.quantity) == (True, 40)
    assert opened.lots == [
        {"request_id": "rq-ag-1", "agency_id": "ag-1", "district": "320402", "quantity": 10},
        {"request_id": "rq-ag-2", "agency_id": "ag-2", "district": "320402", "quantity": 30},
    ]
    assert [r.status for r in requests] == ["tendered", "tendered"]


def test_a_tender_is_for_one_catalog_item_only() -> None:
    toner = CatalogItem.list_item("A-toner", "硒鼓", "office_supplies", "piece")
    requests = [submit(paper(), agency_id="ag-1"), submit(toner, agency_id="ag-2")]
    with pytest.raises(MixedCatalogItems):
        Tender.open(
            tender_id="td-1",
            district="320400",
            requests=requests,
            reference_unit_price_fen=5_000,
            closes_at=CLOSES_AT,
            now=NOW,
        )


def test_a_request_is_in_one_tender_only() -> None:
    request = submit(paper())
    Tender.open(
        tender_id="td-1",
        district="320400",
        requests=[request],
        reference_unit_price_fen=5_000,
        closes_at=CLOSES_AT,
        now=NOW,
    )
    with pytest.raises(WrongStatus):
        Tender.open(
            tender_id="td-2",
            district="320400",
            requests=[request],
            reference_unit_price_fen=5_000,
            closes_at=CLOSES_AT,
            now=NOW,
        )


def test_a_cancelled_request_cannot_be_tendered() -> None:
    line = budget()
    request = submit(paper(), line=line)
    request.cancel("不再需要", line)
    with pytest.raises(WrongStatus):
        Tender.open(
            tender_id="td-1",
            district="320400",
            requests=[request],
            reference_unit_price_fen=5_000,
            closes_at=CLOSES_AT,
            now=NOW,
        )


def test_bidding_must_close_in_the_future() -> None:
    with pytest.raises(ClosingTimeNotInFuture):
        Tender.open(
            tender_id="td-1",
            district="320400",
            requests=[submit(paper())],
            reference_unit_price_fen=5_000,
            closes_at=NOW,
            now=NOW,
        )


def test_a_bid_after_the_closing_time_is_refused() -> None:
    tender = open_tender()
    with pytest.raises(BiddingClosedError):
        tender.submit_bid("b-1", "S1", 4_800, CLOSES_AT)


def test_a_supplier_bids_once() -> None:
    tender = open_tender()
    tender.submit_bid("b-1", "S1", 4_800, NOW)
    with pytest.raises(DuplicateBid):
        tender.submit_bid("b-2", "S1", 4_700, NOW)


def test_a_bid_of_nothing_is_refused() -> None:
    with pytest.raises(NotPositive):
        open_tender().submit_bid("b-1", "S1", 0, NOW)


def test_bidding_cannot_close_before_the_announced_time() -> None:
    with pytest.raises(BiddingStillOpen):
        open_tender().close_bidding(CLOSES_AT - timedelta(seconds=1))


def test_closing_flags_abnormal_quotes_with_their_evidence() -> None:
    tender = closed_tender({"A": 10_000, "B": 10_200, "C": 9_800, "D": 6_000})
    flagged = [e for e in tender.pending_events if isinstance(e, AbnormalQuoteFlagged)]
    assert [(e.kind, e.bid_ids, e.evidence["basis_fen"]) for e in flagged] == [("below_median", ["b-D"], 10_000.0)]
    assert tender.bids["b-D"]["flags"] == ["below_median"]


def test_closing_flags_winner_rotation_against_past_awards() -> None:
    past = [PastAward(f"td-{n}", f"2023-0{n}-01T00:00:00+00:00", w, ("A", "B")) for n, w in enumerate("ABA", 1)]
    tender = closed_tender({"A": 5_000, "B": 5_100}, past_awards=past)
    flagged = [e for e in tender.pending_events if isinstance(e, AbnormalQuoteFlagged)]
    assert [(e.kind, e.supplier_ids) for e in flagged] == [("winner_rotation", ["A", "B"])]


def test_bids_are_evaluated_only_after_bidding_closed() -> None:
    tender = open_tender()
    tender.submit_bid("b-1", "S1", 4_800, NOW)
    with pytest.raises(WrongStatus):
        tender.evaluate_bid("b-1", True, [])


def test_a_non_compliant_bid_needs_the_reasons() -> None:
    with pytest.raises(NonComplianceReasonRequired):
        closed_tender({"A": 5_000}).evaluate_bid("b-A", False, [])


def test_an_unknown_bid_cannot_be_evaluated() -> None:
    with pytest.raises(BidNotFound):
        closed_tender({"A": 5_000}).evaluate_bid("b-Z", True, [])


def test_the_award_waits_for_every_bid_to_be_evaluated() -> None:
    tender = closed_tender({"A": 5_000, "B": 5_100})
    tender.evaluate_bid("b-A", True, [])
    with pytest.raises(BidsNotEvaluated) as refused:
        tender.award(AFTER_CLOSE)
    assert refused.value.details == {"bid_ids": ["b-B"]}


def test_the_lowest_compliant_bid_wins_and_the_reason_is_recorded() -> None:
    tender = closed_tender({"A": 5_100, "B": 4_900, "C": 5_000})
    evaluate_all(tender)
    tender.award(AFTER_CLOSE)
    event = awarded(tender)
    assert (event.supplier_id, event.unit_price_fen, event.amount_fen) == ("B", 4_900, 49_000)
    assert event.reason.startswith("lowest compliant price: 4900 fen per unit from B, 3 of 3 bids compliant")
    assert [r["supplier_id"] for r in event.ranking] == ["B", "C", "A"]
    assert event.bidder_ids == ["A", "B", "C"]


def test_a_non_compliant_bid_cannot_win_even_when_lowest() -> None:
    tender = closed_tender({"A": 5_100, "B": 4_900, "C": 5_000})
    evaluate_all(tender, non_compliant=("b-B",))
    tender.award(AFTER_CLOSE)
    event = awarded(tender)
    assert event.supplier_id == "C"
    assert "non-compliant: b-B (资质不符)" in event.reason


def test_without_a_compliant_bid_there_is_no_award() -> None:
    tender = closed_tender({"A": 5_000})
    evaluate_all(tender, non_compliant=("b-A",))
    with pytest.raises(NoCompliantBid):
        tender.award(AFTER_CLOSE)


def test_a_flagged_lowest_bid_cannot_win_until_its_price_is_justified() -> None:
    tender = closed_tender({"A": 10_000, "B": 10_200, "C": 9_800, "D": 6_000})
    evaluate_all(tender)
    with pytest.raises(AbnormalQuoteUnresolved) as refused:
        tender.award(AFTER_CLOSE)
    assert refused.value.details == {"bid_id": "b-D", "flags": ["below_median"]}
    tender.clear_abnormal_quote("b-D", "库存清仓，成本证明已核")
    tender.award(AFTER_CLOSE)
    assert awarded(tender).supplier_id == "D"


def test_a_flagged_bid_judged_non_compliant_lets_the_next_lowest_win() -> None:
    tender = closed_tender({"A": 10_000, "B": 10_200, "C": 9_800, "D": 6_000})
    evaluate_all(tender, non_compliant=("b-D",))
    tender.award(AFTER_CLOSE)
    assert awarded(tender).supplier_id == "C"


def test_only_a_flagged_bid_can_be_cleared() -> None:
    with pytest.raises(NotFlagged):
        closed_tender({"A": 5_000, "B": 5_100}).clear_abnormal_quote("b-A", "nothing to justify")


def test_a_tie_goes_to_the_earliest_bid() -> None:
    tender = closed_tender({"A": 5_100, "B": 5_000, "C": 5_000})
    evaluate_all(tender)
    tender.clear_abnormal_quote("b-B", "公开价格表")
    tender.award(AFTER_CLOSE)
    assert awarded(tender).supplier_id == "B"


def test_a_failed_tender_gives_its_requests_back_for_a_new_tender() -> None:
    request = submit(paper())
    tender = Tender.open(
        tender_id="td-1",
        district="320400",
        requests=[request],
        reference_unit_price_fen=5_000,
        closes_at=CLOSES_AT,
        now=NOW,
    )
    tender.declare_failed("投标人不足三家", [request], AFTER_CLOSE)
    assert (tender.status, request.status) == ("failed", "submitted")
    Tender.open(
        tender_id="td-2",
        district="320400",
        requests=[request],
        reference_unit_price_fen=5_000,
        closes_at=CLOSES_AT,
        now=NOW,
    )
    assert request.tender_id == "td-2"


def test_a_failed_tender_must_name_exactly_its_requests() -> None:
    tender = open_tender("ag-1", "ag-2")
    with pytest.raises(RequestNotInTender):
        tender.declare_failed("流标", [submit(paper(), agency_id="ag-3")], AFTER_CLOSE)


def test_an_awarded_tender_cannot_fail() -> None:
    request = submit(paper())
    tender = Tender.open(
        tender_id="td-1",
        district="320400",
        requests=[request],
        reference_unit_price_fen=5_000,
        closes_at=CLOSES_AT,
        now=NOW,
    )
    tender.submit_bid("b-1", "S1", 5_000, NOW)
    tender.close_bidding(AFTER_CLOSE)
    evaluate_all(tender)
    tender.award(AFTER_CLOSE)
    with pytest.raises(WrongStatus):
        tender.declare_failed("too late", [request], AFTER_CLOSE)


def test_last_year_s_tender_is_brought_in_with_its_own_times_in_order() -> None:
    from services.common.kernel.clock import iso
    from services.common.kernel.errors import DateInFuture, ValidationFailed

    item = paper()
    opened_at = NOW - timedelta(days=400)  # opened more than a year before now
    closes_at = opened_at + timedelta(days=20)
    tender = Tender.open(
        tender_id="td-9",
        district="320400",
        requests=[submit(item)],
        reference_unit_price_fen=5_000,
        closes_at=closes_at,
        now=NOW,
        opened_at=opened_at,
    )
    assert tender.pending_events[-1].opened_at == iso(opened_at)  # type: ignore[attr-defined]
    with pytest.raises(ValidationFailed) as early:  # a bid before the tender opened
        tender.submit_bid("b0", "s-0", 4_900, NOW, opened_at - timedelta(hours=1))
    assert list(early.value.fields) == ["submitted_at"]
    tender.submit_bid("b1", "s-1", 4_800, NOW, opened_at + timedelta(days=3))
    tender.submit_bid("b2", "s-2", 4_900, NOW, opened_at + timedelta(days=4))
    with pytest.raises(BiddingClosedError):  # after its closing time, even typed in with a past time
        tender.submit_bid("b3", "s-3", 4_700, NOW, closes_at + timedelta(minutes=1))
    with pytest.raises(BiddingStillOpen):
        tender.close_bidding(NOW, closed_at=closes_at - timedelta(minutes=1))
    tender.close_bidding(NOW, closed_at=closes_at + timedelta(hours=1))
    evaluate_all(tender)
    with pytest.raises(ValidationFailed) as before_close:
        tender.award(NOW, closes_at)
    assert list(before_close.value.fields) == ["awarded_at"]
    with pytest.raises(DateInFuture) as future:
        tender.award(NOW, NOW + timedelta(days=1))
    assert list(future.value.fields) == ["awarded_at"]
    tender.award(NOW, closes_at + timedelta(days=2))
    won = awarded(tender)
    assert (won.bid_id, won.awarded_at) == ("b1", iso(closes_at + timedelta(days=2)))


def test_a_tender_opened_now_still_closes_in_the_future() -> None:
    with pytest.raises(ClosingTimeNotInFuture):
        Tender.open(
            tender_id="td-8",
            district="320400",
            requests=[submit(paper())],
            reference_unit_price_fen=5_000,
            closes_at=NOW - timedelta(minutes=1),
            now=NOW,
        )
