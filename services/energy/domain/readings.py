"""Judging single readings: their shape, their value, where the counter went; and what a batch came to.

The functions here run once per reading on the ingestion hot path: they take and return plain values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from math import isfinite
from typing import Any, Final, NamedTuple

from .base import iso_of_epoch


@dataclass(frozen=True)
class IngestionRules:
    """How readings are judged: the expected interval and its tolerance, clock skew, rollover margin."""

    expected_interval_s: int = 300
    gap_tolerance_s: int = 150
    future_tolerance_s: int = 120
    rollover_margin: float = 0.01


DEFAULT_INGESTION_RULES: Final = IngestionRules()

READING_INTERVALS: Final[dict[str, tuple[int, int]]] = {
    "5min": (300, 150),
    "hourly": (3_600, 1_800),
    "daily": (86_400, 43_200),
    "monthly": (31 * 86_400, 5 * 86_400),
}
"""How often a meter is read, declared per meter (default ``5min``): the expected interval and the tolerance
above it before an interval is a gap, in seconds. Smart meters report every 5 minutes (seed 002); manual
monthly reads (月度抄表) fall on different days of the month, so a month of up to 36 days is no gap."""

DEFAULT_READING_INTERVAL: Final = "5min"
READING_INTERVALS_VERSION: Final = "intervals-2026.1"
READING_INTERVALS_SOURCE: Final = (
    "seed 002 (智能电表、远传水表每五分钟采集一次数据); hourly, daily and monthly manual reads with half an interval "
    "(monthly: 5 days) of tolerance, decided in docs/energy-periods.md"
)


def rules_for(interval: str, rules: IngestionRules = DEFAULT_INGESTION_RULES) -> IngestionRules:
    """The ingestion rules of a meter read every ``interval``: gaps are judged by its own interval."""
    expected, tolerance = READING_INTERVALS[interval]
    if (expected, tolerance) == (rules.expected_interval_s, rules.gap_tolerance_s):
        return rules
    return IngestionRules(expected, tolerance, rules.future_tolerance_s, rules.rollover_margin)


"""Smart meters report every 5 minutes (seed 002); an interval above 7.5 minutes is a gap; a meter clock
may run 2 minutes ahead; a counter within 1 % of its limit that restarts within 1 % of zero rolled over."""

REJECTION_REASONS: Final = (
    "malformed",
    "malformed_timestamp",
    "in_future",
    "malformed_value",
    "non_finite_value",
    "negative_value",
    "above_counter_limit",
    "before_last_reading",
    "conflicting_reading",
    "counter_went_backwards",
)
"""Why a single reading is refused (the rest of its batch is still recorded)."""


class RejectedReading(NamedTuple):
    """One refused reading of a batch: its position, what was sent, and why; for ``conflicting_reading`` the
    value already recorded at that moment (``recorded_value``)."""

    position: int
    timestamp: Any
    value: Any
    reason: str
    message: str
    recorded_value: Any = None


@dataclass(frozen=True)
class IngestionOutcome:
    """What became of a batch: readings accepted, duplicates ignored, readings refused, gaps found (their
    count, and the ``[from, to, seconds]`` intervals as recorded)."""

    accepted: int
    duplicates: int
    gaps: int
    rejected: list[RejectedReading] = field(default_factory=list)
    gap_intervals: list[list[Any]] = field(default_factory=list)


def counter_delta(previous: float, value: float, limit: float, margin: float) -> float | None:
    """How far a counter moved from ``previous`` to ``value``; None when it went backwards without a rollover.

    A rollover is recognised when the previous value was within ``margin`` of the limit and the new one
    is within ``margin`` of zero.
    """
    if value >= previous:
        return value - previous
    if previous >= limit * (1 - margin) and value <= limit * margin:
        return limit - previous + value
    return None


def value_problem(value: Any, limit: float) -> str | None:
    """Why a counter value cannot be a reading, or None."""
    kind = type(value)
    if kind is float:
        if not isfinite(value):
            return "non_finite_value"
    elif kind is not int:
        return "malformed_value"
    if value < 0:
        return "negative_value"
    if value >= limit:
        return "above_counter_limit"
    return None


def canonical_time(raw: Any) -> tuple[int, str] | None:
    """Epoch second and canonical UTC string of an aware ISO-8601 timestamp, or None when malformed."""
    if type(raw) is not str:
        return None
    if len(raw) > 40:  # longer than any ISO-8601 time with offset: not cached, most likely refused
        return _parse_time(raw)
    return cached_time(raw)


def _parse_time(raw: str) -> tuple[int, str] | None:
    if not raw.isascii():  # Python's parser reads other scripts' digits (full-width, Arabic-Indic): no meter sends them
        return None
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        return None
    if moment.utcoffset() is None:
        return None
    epoch = int(moment.timestamp())
    if len(raw) == 25 and raw[10] == "T" and raw.endswith("+00:00"):
        return epoch, raw
    return epoch, iso_of_epoch(epoch)


cached_time = lru_cache(maxsize=16_384)(_parse_time)
"""``canonical_time`` of a text of at most 40 characters, kept: meters of a district report at the same 5-minute
marks, so a batch of a thousand meters parses each distinct time once."""


def rejection(index: int, item: Any, reason: str, message: str, recorded: Any = None) -> RejectedReading:
    """The refusal of the reading at ``index`` of a batch, keeping what was sent when it was a pair."""
    timestamp, value = item if type(item) in (list, tuple) and len(item) == 2 else (None, None)
    return RejectedReading(
        position=index, timestamp=timestamp, value=value, reason=reason, message=message, recorded_value=recorded
    )
