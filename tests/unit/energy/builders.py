"""Builders shared by the energy domain tests: meters, 5-minute readings, hourly series."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from services.energy.domain.meters import Meter
from services.energy.domain.rollups import MeterInfo

INSTALLED_AT = datetime(2024, 3, 1, 0, 0, tzinfo=UTC)
NOW = datetime(2024, 3, 2, 0, 0, tzinfo=UTC)
MONDAY = date(2024, 3, 11)
INFO = MeterInfo(agency_id="ag-1", building_id="b-1", district="320402", kind="electricity")


def at(minutes: int) -> str:
    """The canonical timestamp ``minutes`` after installation."""
    return (INSTALLED_AT + timedelta(minutes=minutes)).isoformat()


def meter(
    kind: str = "electricity",
    sub_item: str = "none",
    multiplier: float = 1,
    limit: float = 100_000,
    initial: float = 1_000,
) -> Meter:
    """An installed meter with its installation already stored."""
    installed = Meter.install(
        meter_id="m-1",
        serial_no="SN-1",
        kind=kind,
        agency_id="ag-1",
        district="320402",
        building_id="b-1",
        sub_item=sub_item,
        multiplier=multiplier,
        rollover_limit=limit,
        initial_reading=initial,
        installed_at=INSTALLED_AT,
        now=NOW,
    )
    installed.mark_stored()
    return installed


def series(*values: float, every: int = 5, first: int = 5) -> list[list[Any]]:
    """Readings ``[at, value]`` every ``every`` minutes from ``first`` minutes after installation."""
    return [[at(first + n * every), value] for n, value in enumerate(values)]


def recorded(m: Meter) -> list[list[Any]]:
    """The ``[at, value, consumption]`` readings of the meter's pending events."""
    return [r for e in m.pending_events for r in getattr(e, "readings", [])]


def hourly_days(start: date, days: int, profile: dict[int, float], default: float = 1.0) -> dict[str, float]:
    """One meter's hourly use for ``days`` days from ``start``: ``profile`` by hour, else ``default``."""
    return {
        f"{(start + timedelta(days=d)).isoformat()}T{h:02d}": profile.get(h, default)
        for d in range(days)
        for h in range(24)
    }
