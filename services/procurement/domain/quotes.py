"""Abnormal quotes (恶意报价): pure checks over the bids of a tender and the awards before it.

They decide and return findings with their evidence; the ``Tender`` records each one as an event.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from statistics import median
from typing import Any, Final


@dataclass(frozen=True)
class Quote:
    """One bid's price as the checks see it."""

    bid_id: str
    supplier_id: str
    unit_price_fen: int


@dataclass(frozen=True)
class PastAward:
    """An earlier award in the same category: who bid, who won, when (ISO time)."""

    tender_id: str
    awarded_at: str
    winner_id: str
    bidder_ids: tuple[str, ...]


@dataclass(frozen=True)
class AbnormalQuoteRules:
    """Thresholds of the abnormal-quote checks."""

    below_median_fraction: float = 0.7
    below_reference_fraction: float = 0.7
    rotation_rounds: int = 3


DEFAULT_QUOTE_RULES: Final = AbnormalQuoteRules()
"""A quote under 70 % of the median of the other bids, or of the reference price, is abnormally low; the same
suppliers taking turns to win 3 tenders in a row is a rotation pattern."""

FINDING_KINDS: Final = ("below_median", "below_reference", "identical_quotes", "winner_rotation")
"""Kinds of abnormal-quote findings."""


@dataclass(frozen=True)
class QuoteFinding:
    """A suspicious quote or pattern, the bids it concerns, and the figures that show it."""

    kind: str
    bid_ids: tuple[str, ...]
    supplier_ids: tuple[str, ...]
    evidence: dict[str, Any] = field(default_factory=dict)


def _low(quote: Quote, kind: str, basis_fen: float, fraction: float) -> QuoteFinding | None:
    threshold = round(basis_fen * fraction, 2)
    if quote.unit_price_fen >= threshold:
        return None
    evidence = {
        "unit_price_fen": quote.unit_price_fen,
        "basis_fen": basis_fen,
        "fraction": fraction,
        "threshold_fen": threshold,
        "ratio": round(quote.unit_price_fen / basis_fen, 4),
    }
    return QuoteFinding(kind, (quote.bid_id,), (quote.supplier_id,), evidence)


def find_abnormally_low(
    quotes: Sequence[Quote], reference_price_fen: int, rules: AbnormalQuoteRules = DEFAULT_QUOTE_RULES
) -> list[QuoteFinding]:
    """Quotes far below the median of the other bids or below the reference price."""
    findings: list[QuoteFinding | None] = []
    for quote in quotes:
        others = [q.unit_price_fen for q in quotes if q.bid_id != quote.bid_id]
        if others:
            findings.append(_low(quote, "below_median", float(median(others)), rules.below_median_fraction))
        findings.append(_low(quote, "below_reference", float(reference_price_fen), rules.below_reference_fraction))
    return [f for f in findings if f is not None]


def find_identical_quotes(quotes: Sequence[Quote]) -> list[QuoteFinding]:
    """Different suppliers quoting exactly the same price (a sign of collusion, 串通投标)."""
    by_price: dict[int, list[Quote]] = defaultdict(list)
    for quote in quotes:
        by_price[quote.unit_price_fen].append(quote)
    return [
        QuoteFinding(
            "identical_quotes",
            tuple(q.bid_id for q in same),
            tuple(q.supplier_id for q in same),
            {"unit_price_fen": price, "count": len(same)},
        )
        for price, same in sorted(by_price.items())
        if len({q.supplier_id for q in same}) > 1
    ]


def find_winner_rotation(
    quotes: Sequence[Quote], past_awards: Sequence[PastAward], rules: AbnormalQuoteRules = DEFAULT_QUOTE_RULES
) -> QuoteFinding | None:
    """Bidders who took turns winning the last tenders they all bid in (围标轮流坐庄).

    Among the past awards won by one of today's bidders, the last ``rotation_rounds`` form a rotation when
    at least two suppliers won them, every one of those winners bid in each of them, and no one won twice
    in a row.
    """
    bidders = {q.supplier_id for q in quotes}
    recent = sorted((a for a in past_awards if a.winner_id in bidders), key=lambda a: a.awarded_at)
    recent = recent[-rules.rotation_rounds :]
    ring = {a.winner_id for a in recent}
    if len(recent) < rules.rotation_rounds or len(ring) < 2:
        return None
    if any(not ring <= set(a.bidder_ids) for a in recent) or any(
        a.winner_id == b.winner_id for a, b in pairwise(recent)
    ):
        return None
    ring_quotes = [q for q in quotes if q.supplier_id in ring]
    evidence = {
        "tender_ids": [a.tender_id for a in recent],
        "winners": [a.winner_id for a in recent],
        "ring": sorted(ring),
    }
    return QuoteFinding(
        "winner_rotation",
        tuple(q.bid_id for q in ring_quotes),
        tuple(q.supplier_id for q in ring_quotes),
        evidence,
    )


def detect_abnormal_quotes(
    quotes: Sequence[Quote],
    reference_price_fen: int,
    past_awards: Sequence[PastAward] = (),
    rules: AbnormalQuoteRules = DEFAULT_QUOTE_RULES,
) -> list[QuoteFinding]:
    """Every abnormal-quote finding for a tender's bids."""
    rotation = find_winner_rotation(quotes, past_awards, rules)
    return [
        *find_abnormally_low(quotes, reference_price_fen, rules),
        *find_identical_quotes(quotes),
        *([rotation] if rotation else []),
    ]
