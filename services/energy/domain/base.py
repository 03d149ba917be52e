"""What every energy aggregate shares: the event base, meter kinds and units, sub-items, local time.

Timestamps of readings travel as canonical UTC ISO-8601 strings with whole seconds
(``2024-03-01T09:05:00+00:00``): all of one length, so they compare and sort as strings, and the hot
path never re-parses what it recorded. Days and hours of roll-ups are local (China Standard Time).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import ClassVar, Final

from services.common.kernel.clock import iso_seconds
from services.common.kernel.errors import RuleViolation
from services.common.kernel.events import Event


@dataclass(frozen=True)
class EnergyEvent(Event):
    """Base of the energy service's events."""

    domain: ClassVar[str] = "energy"


METER_UNITS: Final[dict[str, str]] = {
    "electricity": "kWh",
    "water": "m3",
    "natural_gas": "m3",
    "heat": "GJ",
    "fuel": "L",
}
"""Meter kinds and the unit their counters count in: electricity kWh, water m³, natural gas m³, heat GJ,
fuel (diesel for boilers and generators) litres."""

METER_KINDS: Final = tuple(METER_UNITS)
"""The kinds of meter the platform knows."""

SUB_ITEMS: Final = ("none", "lighting_sockets", "hvac", "power", "special")
"""Sub-items of itemised metering (分项计量): ``none`` marks a main meter (总表); the others are 照明插座,
空调, 动力 and 特殊用电, which apply to electricity only."""


class InFuture(RuleViolation):
    """A moment that must not lie in the future does."""

    code = "in_future"


def require_not_future(field: str, moment: datetime, now: datetime) -> None:
    """Refuse a moment after ``now``."""
    if moment > now:
        raise InFuture(
            f"{field} is in the future", fields={field: ["in the future"]}, details={"now": iso_seconds(now)}
        )


@lru_cache(maxsize=16_384)
def epoch_of(at: str) -> int:
    """Seconds since the epoch of a canonical timestamp (kept: meters report at the same 5-minute marks)."""
    return int(datetime.fromisoformat(at).timestamp())


@lru_cache(maxsize=16_384)
def iso_of_epoch(seconds: int) -> str:
    """The canonical UTC string of an epoch second (kept, as ``epoch_of``)."""
    return datetime.fromtimestamp(seconds, UTC).isoformat()
