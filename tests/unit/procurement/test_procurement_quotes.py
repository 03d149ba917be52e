"""Abnormal quotes (恶意报价): far below the others or the reference, identical, or winners taking turns."""

from __future__ import annotations

from services.procurement.domain.quotes import (
    AbnormalQuoteRules,
    PastAward,
    Quote,
    detect_abnormal_quotes,
    find_abnormally_low,
    find_identical_quotes,
    find_winner_rotation,
)


def quotes(**prices: int) -> list[Quote]:
    return [Quote(f"b-{supplier}", supplier, price) for supplier, price in prices.items()]


def award(n: int, winner: str, bidders: str = "ABC") -> PastAward:
    return PastAward(f"td-{n}", f"2024-0{n}-01T00:00:00+00:00", winner, tuple(bidders))


def kinds(found: list) -> list[tuple[str, tuple[str, ...]]]:
    return [(f.kind, f.bid_ids) for f in found]


def test_a_quote_far_below_the_median_of_the_other_bids_is_flagged_with_evidence() -> None:
    found = find_abnormally_low(quotes(A=10_000, B=10_200, C=9_800, D=6_000), reference_price_fen=5_000)
    assert kinds(found) == [("below_median", ("b-D",))]
    assert found[0].evidence == {
        "unit_price_fen": 6_000,
        "basis_fen": 10_000.0,
        "fraction": 0.7,
        "threshold_fen": 7_000.0,
        "ratio": 0.6,
    }


def test_a_quote_at_the_threshold_is_not_flagged() -> None:
    assert find_abnormally_low(quotes(A=10_000, B=10_200, C=9_800, D=7_000), reference_price_fen=5_000) == []


def test_the_median_is_that_of_the_other_bids_only() -> None:
    # with its own price in the median (840), 680 would be above 70 %; against the other bid (1 000) it is not
    assert kinds(find_abnormally_low(quotes(A=680, B=1_000), reference_price_fen=500)) == [("below_median", ("b-A",))]


def test_a_quote_far_below_the_reference_price_is_flagged() -> None:
    assert kinds(find_abnormally_low(quotes(A=3_000), reference_price_fen=5_000)) == [("below_reference", ("b-A",))]


def test_the_fraction_is_configurable() -> None:
    lenient = AbnormalQuoteRules(below_median_fraction=0.5, below_reference_fraction=0.5)
    assert find_abnormally_low(quotes(A=10_000, D=6_000), 6_000, lenient) == []


def test_identical_quotes_of_different_suppliers_are_flagged() -> None:
    found = find_identical_quotes(quotes(A=9_000, B=9_500, C=9_000))
    assert kinds(found) == [("identical_quotes", ("b-A", "b-C"))]
    assert found[0].supplier_ids == ("A", "C")


def test_different_quotes_are_not_identical() -> None:
    assert find_identical_quotes(quotes(A=9_000, B=9_001)) == []


def test_suppliers_taking_turns_to_win_the_tenders_they_all_bid_in_are_flagged() -> None:
    past = [award(3, "A"), award(1, "A"), award(2, "B")]
    found = find_winner_rotation(quotes(A=9_000, B=9_100, D=9_200), past)
    assert found is not None
    assert (found.kind, found.bid_ids) == ("winner_rotation", ("b-A", "b-B"))
    assert found.evidence == {"tender_ids": ["td-1", "td-2", "td-3"], "winners": ["A", "B", "A"], "ring": ["A", "B"]}


def test_one_supplier_winning_every_time_is_not_a_rotation() -> None:
    assert find_winner_rotation(quotes(A=9_000, B=9_100), [award(1, "A"), award(2, "A"), award(3, "A")]) is None


def test_a_single_past_win_is_not_a_rotation_even_when_one_round_is_configured() -> None:
    assert (
        find_winner_rotation(quotes(A=9_000, B=9_100), [award(1, "A")], AbnormalQuoteRules(rotation_rounds=1)) is None
    )


def test_a_supplier_winning_twice_in_a_row_breaks_the_rotation() -> None:
    assert find_winner_rotation(quotes(A=9_000, B=9_100), [award(1, "A"), award(2, "B"), award(3, "B")]) is None


def test_winners_who_did_not_all_bid_each_time_are_not_a_rotation() -> None:
    past = [award(1, "A", bidders="AC"), award(2, "B"), award(3, "A")]
    assert find_winner_rotation(quotes(A=9_000, B=9_100), past) is None


def test_fewer_past_awards_than_the_configured_rounds_are_not_a_rotation() -> None:
    past = [award(1, "A"), award(2, "B")]
    assert find_winner_rotation(quotes(A=9_000, B=9_100), past) is None
    assert find_winner_rotation(quotes(A=9_000, B=9_100), past, AbnormalQuoteRules(rotation_rounds=2)) is not None


def test_awards_won_by_suppliers_not_bidding_now_are_ignored() -> None:
    past = [award(1, "A"), award(2, "B"), award(3, "A"), award(4, "C")]
    found = find_winner_rotation(quotes(A=9_000, B=9_100), past)
    assert found is not None
    assert found.evidence["winners"] == ["A", "B", "A"]


def test_all_findings_are_collected_together() -> None:
    past = [award(1, "A"), award(2, "B"), award(3, "A")]
    found = detect_abnormal_quotes(quotes(A=9_000, B=9_000, C=2_000), 9_000, past)
    assert [f.kind for f in found] == ["below_median", "below_reference", "identical_quotes", "winner_rotation"]
