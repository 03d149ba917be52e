"""Deterministic numbers and days: every value of the demo city is a function of its seed and of absolute
dates, the same on every run and machine."""

from __future__ import annotations

import hashlib
from datetime import date, datetime

from services.common.kernel.clock import CHINA_STANDARD_TIME as CST
from services.common.kernel.holidays import day_kind


def mix(*parts: int) -> int:
    """A 64-bit hash of integers (splitmix64 steps): fast, and the same on every run and machine."""
    x = 0x9E3779B97F4A7C15
    for part in parts:
        x = (x ^ (part & 0xFFFFFFFFFFFFFFFF)) * 0xBF58476D1CE4E5B9 & 0xFFFFFFFFFFFFFFFF
        x = (x ^ (x >> 27)) * 0x94D049BB133111EB & 0xFFFFFFFFFFFFFFFF
        x ^= x >> 31
    return x


def draw(*parts: int) -> float:
    """A uniform number in [0, 1) determined by ``parts``."""
    return mix(*parts) / 18446744073709551616.0


def stable_hash(text: str) -> int:
    """A stable integer for a string (not Python's salted ``hash``)."""
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


def local_time(day: date, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=CST)


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


_KIND_CACHE: dict[date, str] = {}


def kind_of_day(day: date) -> str:
    """workday, weekend or holiday (make-up working days are workdays)."""
    if day not in _KIND_CACHE:
        _KIND_CACHE[day] = day_kind(day)
    return _KIND_CACHE[day]
