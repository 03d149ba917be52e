"""The platform's abnormal-quote findings beside Cardinal's red flags, computed from the OCDS export.

ocdscardinal on PyPI ships only ``coverage()``, so Cardinal's indicators are computed here from the export's
releases (``bids.details`` of the bids extension, ``awards``) by their published definitions
(open-contracting/cardinal-rs, ``docs/cli/indicators/R/``), with the thresholds Cardinal lets a user set
(its default fences are quartiles over many processes, which a handful of tenders cannot give):

- R018 *Single bid received*: an open procedure with one bid;
- R024 *Price close to winning bid*: (second-lowest valid bid − winning bid) / winning bid ≤ threshold (0.01);
- R028 *Identical bid prices*: different tenderers' bids with the same price;
- R036 *Lowest bid disqualified*: the lowest submitted bid is disqualified (price-only award);
- R058 *Heavily discounted bid*: the same difference as R024 ≥ threshold (0.5).

R024 and R058 exclude a process whose winning bid is not the lowest bid. docs/formats.md sets the findings side
by side; each case below is one row of that table.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from services.procurement.domain.ocds import tender_release
from services.procurement.domain.quotes import (
    PastAward,
    Quote,
    find_abnormally_low,
    find_identical_quotes,
    find_winner_rotation,
)

R024_THRESHOLD = 0.01
R058_THRESHOLD = 0.5


def _tender(tender_id: str, prices: dict[str, int], winner: str, disqualified: Sequence[str] = ()) -> dict[str, Any]:
    """An awarded tender of one unit (so a bid's OCDS amount is its unit price), reference price 4,500.00."""
    bids = {
        f"b-{s}": {"bid_id": f"b-{s}", "supplier_id": s, "unit_price_fen": p, "compliant": s not in disqualified}
        for s, p in prices.items()
    }
    return {
        "id": tender_id,
        "status": "awarded",
        "item_code": "A02010104",
        "lots": [{"request_id": f"PR-{tender_id}", "agency_id": "A1", "quantity": 1}],
        "reference_unit_price_fen": 450_000,
        "closes_at": "2026-03-10T02:00:00+00:00",
        "bids": bids,
        "winner": {"bid_id": f"b-{winner}", "supplier_id": winner, "unit_price_fen": prices[winner]},
    }


def _release(tender: dict[str, Any]) -> dict[str, Any]:
    return tender_release("ocds-abc123", tender, [], "2026-03-20T03:00:00+00:00")


# -- Cardinal's indicators, from a release --------------------------------------------------------------------


def _bids(release: dict[str, Any]) -> list[dict[str, Any]]:
    return list(release["bids"]["details"])


def _difference(release: dict[str, Any]) -> float | None:
    """(second-lowest valid bid − winning bid) / winning bid; None where R024/R058 exclude the process."""
    winning = release["awards"][0]["value"]["amount"]
    valid = sorted(b["value"]["amount"] for b in _bids(release) if b["status"] == "valid")
    if len(valid) < 2 or min(b["value"]["amount"] for b in _bids(release)) != winning:
        return None  # fewer than two valid bids, or the winning bid is not the lowest bid
    return float((valid[1] - winning) / winning)


def cardinal(release: dict[str, Any]) -> dict[str, Any]:
    """The Cardinal indicators a release raises: R018, R024, R036, R058 (True) and R028 (its tenderers)."""
    bids = _bids(release)
    by_price: dict[float, set[str]] = defaultdict(set)
    for bid in bids:
        by_price[bid["value"]["amount"]].update(t["id"] for t in bid["tenderers"])
    identical = sorted({t for tenderers in by_price.values() if len(tenderers) > 1 for t in tenderers})
    lowest = min(bids, key=lambda b: b["value"]["amount"])
    difference = _difference(release)
    flags: dict[str, Any] = {
        "R018": release["tender"]["procurementMethod"] == "open" and len(bids) == 1,
        "R024": difference is not None and difference <= R024_THRESHOLD,
        "R028": identical,
        "R036": lowest["status"] == "disqualified",
        "R058": difference is not None and difference >= R058_THRESHOLD,
    }
    return {k: v for k, v in flags.items() if v}


def platform(tender: dict[str, Any], past: Sequence[PastAward] = ()) -> set[str]:
    """The platform's abnormal-quote findings on the tender's bids (``services.procurement.domain.quotes``)."""
    quotes = [Quote(b["bid_id"], b["supplier_id"], b["unit_price_fen"]) for b in tender["bids"].values()]
    found = find_abnormally_low(quotes, tender["reference_unit_price_fen"]) + find_identical_quotes(quotes)
    rotation = find_winner_rotation(quotes, past)
    return {f.kind for f in found} | ({rotation.kind} if rotation else set())


# -- the cases ------------------------------------------------------------------------------------------------


def test_identical_prices_agree_with_r028() -> None:
    tender = _tender("T1", {"S1": 400_000, "S2": 400_000, "S3": 500_000}, "S1")
    assert platform(tender) == {"identical_quotes"}
    # a tie for the lowest price is also R024's: (4,000.00 − 4,000.00) / 4,000.00 = 0 ≤ 0.01
    assert cardinal(_release(tender)) == {"R028": ["S1", "S2"], "R024": True}


def test_a_winning_bid_far_below_the_others_agrees_with_r058() -> None:
    # S1 2,000.00 against the others' median 4,100.00 (× 0.7 = 2,870.00) and the reference 4,500.00 (× 0.7 =
    # 3,150.00): below both; Cardinal: (4,000 − 2,000) / 2,000 = 1.0 ≥ 0.5
    tender = _tender("T2", {"S1": 200_000, "S2": 400_000, "S3": 420_000}, "S1")
    assert platform(tender) == {"below_median", "below_reference"}
    assert cardinal(_release(tender)) == {"R058": True}


def test_a_low_bid_that_does_not_win_is_the_platforms_finding_and_cardinals_r036_not_r058() -> None:
    # S1 3,000.00 is disqualified, S2 wins at 4,600.00: the platform flags S1's price (others' median
    # 4,650.00 × 0.7 = 3,255.00; reference × 0.7 = 3,150.00); Cardinal excludes the process from R058 (the
    # winning bid is not the lowest) and raises R036 (the lowest bid was disqualified)
    tender = _tender("T3", {"S1": 300_000, "S2": 460_000, "S3": 470_000}, "S2", disqualified=["S1"])
    assert platform(tender) == {"below_median", "below_reference"}
    assert cardinal(_release(tender)) == {"R036": True}


def test_a_runner_up_just_above_the_winner_is_cardinals_r024_and_no_platform_finding() -> None:
    # (4,010.00 − 4,000.00) / 4,000.00 = 0.0025 ≤ 0.01: a possible cover bid; the platform has no such check
    tender = _tender("T4", {"S1": 400_000, "S2": 401_000}, "S1")
    assert platform(tender) == set()
    assert cardinal(_release(tender)) == {"R024": True}


def test_winners_taking_turns_is_the_platforms_finding_and_no_cardinal_indicator() -> None:
    # A, B, A won the last three tenders both bid in (prices 10 % apart: no R024, R028, R058 on any of them)
    past_tenders = [
        _tender("T5a", {"A": 400_000, "B": 440_000}, "A"),
        _tender("T5b", {"A": 440_000, "B": 400_000}, "B"),
        _tender("T5c", {"A": 400_000, "B": 440_000}, "A"),
    ]
    past = [
        PastAward(t["id"], f"2026-0{i + 1}-01T00:00:00+00:00", t["winner"]["supplier_id"], ("A", "B"))
        for i, t in enumerate(past_tenders)
    ]
    today = _tender("T5d", {"A": 440_000, "B": 400_000}, "B")
    assert platform(today, past) == {"winner_rotation"}
    assert [cardinal(_release(t)) for t in [*past_tenders, today]] == [{}, {}, {}, {}]


def test_a_single_bid_is_cardinals_r018_and_no_platform_finding() -> None:
    tender = _tender("T6", {"S1": 440_000}, "S1")
    assert platform(tender) == set()
    assert cardinal(_release(tender)) == {"R018": True}


def test_sealed_bids_of_an_open_tender_are_not_published() -> None:
    tender = {**_tender("T7", {"S1": 440_000, "S2": 450_000}, "S1"), "status": "open", "winner": None}
    assert "bids" not in _release(tender)
