"""Costs per vehicle (单车运行成本): fuel and charging, repair and maintenance, insurance, rental, tolls, and the
pure functions that turn them into cost per month and per km.

Money is in integer fen (分). Fuel and charging events carry quantity, unit and energy carrier, agency and
district, so the gateway adds them to the agency's energy and carbon.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import ClassVar, Final

from services.common.kernel.events import register_fen_upcaster

from .base import VehiclesEvent

REPAIR_KINDS: Final = ("repair", "maintenance")
"""Work done on a vehicle: 维修 and 保养."""

EXPENSE_KINDS: Final = ("insurance", "rental", "toll")
"""Other costs of a vehicle: 保险, 租赁, 通行费."""

COST_KINDS: Final = ("fuel", "charging", *REPAIR_KINDS, *EXPENSE_KINDS)
"""Every kind of vehicle cost."""


@dataclass(frozen=True)
class FuelRecorded(VehiclesEvent):
    """A vehicle was refuelled (加油, 加氢), at a designated station (定点) or not."""

    schema_version: ClassVar[int] = 2
    legacy_cents: ClassVar[dict[str, str]] = {"amount_cents": "amount_fen"}

    vehicle_id: str
    agency_id: str
    district: str
    record_id: str
    energy_kind: str
    quantity: float
    unit: str
    amount_fen: int
    station: str
    designated: bool
    odometer_km: float | None
    refuelled_at: str


@dataclass(frozen=True)
class ChargingRecorded(VehiclesEvent):
    """A vehicle was charged (充电), at a designated charging point or not."""

    schema_version: ClassVar[int] = 2
    legacy_cents: ClassVar[dict[str, str]] = {"amount_cents": "amount_fen"}

    vehicle_id: str
    agency_id: str
    district: str
    record_id: str
    energy_kind: str
    quantity: float
    unit: str
    amount_fen: int
    station: str
    designated: bool
    odometer_km: float | None
    charged_at: str


@dataclass(frozen=True)
class RepairRecorded(VehiclesEvent):
    """Repair or maintenance work was paid for, at a designated workshop (定点维修) or not."""

    schema_version: ClassVar[int] = 2
    legacy_cents: ClassVar[dict[str, str]] = {"amount_cents": "amount_fen"}

    vehicle_id: str
    agency_id: str
    district: str
    record_id: str
    kind: str
    vendor: str
    designated: bool
    amount_fen: int
    description: str
    odometer_km: float | None
    occurred_on: str


@dataclass(frozen=True)
class ExpenseRecorded(VehiclesEvent):
    """Insurance, rental or tolls paid for a vehicle; a premium or rent covers a period (spread over its months)."""

    schema_version: ClassVar[int] = 2
    legacy_cents: ClassVar[dict[str, str]] = {"amount_cents": "amount_fen"}

    vehicle_id: str
    agency_id: str
    district: str
    record_id: str
    kind: str
    payee: str
    designated: bool | None
    amount_fen: int
    occurred_on: str
    covers_from: str | None
    covers_to: str | None


@dataclass(frozen=True)
class CostItem:
    """One cost as the cost functions need it; ``covers_from``/``covers_to`` spread it over a period."""

    kind: str
    amount_fen: int
    occurred_on: str
    covers_from: str | None = None
    covers_to: str | None = None


def _months(first: str, last: str) -> list[str]:
    months, (year, month) = [], (int(first[:4]), int(first[5:7]))
    while f"{year:04d}-{month:02d}" <= last:
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def _days_by_month(start: date, end: date) -> dict[str, int]:
    """The days from ``start`` to ``end`` (both counted) in each month, in order (a year's cover is read for every
    vehicle of every answer: counted by month, not day by day)."""
    days: dict[str, int] = {}
    first = start
    while first <= end:
        following = date(first.year + 1, 1, 1) if first.month == 12 else date(first.year, first.month + 1, 1)
        last = min(end, following - timedelta(days=1))
        days[first.isoformat()[:7]] = (last - first).days + 1
        first = following
    return days


def _spread(item: CostItem) -> dict[str, int]:
    """The item's fen by month: a covered period is spread by days, the rounding left on its last month."""
    if item.covers_from is None or item.covers_to is None:
        return {item.occurred_on[:7]: item.amount_fen}
    days = _days_by_month(date.fromisoformat(item.covers_from), date.fromisoformat(item.covers_to))
    total_days = sum(days.values())
    shares = {month: item.amount_fen * n // total_days for month, n in days.items()}
    shares[max(shares)] += item.amount_fen - sum(shares.values())
    return shares


def monthly_costs(items: Iterable[CostItem], first_month: str, last_month: str) -> dict[str, dict[str, int]]:
    """Fen per month (``YYYY-MM``, every month of the window present) and kind; parts outside are left out."""
    window = {month: dict.fromkeys(COST_KINDS, 0) for month in _months(first_month, last_month)}
    for item in items:
        for month, fen in _spread(item).items():
            if month in window:
                window[month][item.kind] += fen
    return window


def year_window(year: int) -> tuple[str, str]:
    """The first and last month (``YYYY-MM``) of a calendar year, the window of the yearly reports."""
    return f"{year:04d}-01", f"{year:04d}-12"


def costs_by_kind(items: Iterable[CostItem], first_month: str, last_month: str) -> dict[str, int]:
    """Fen per kind of the months ``first_month``..``last_month``, each item spread over the period it covers.

    This is the one definition of a vehicle's (or a fleet's) cost in a period: the yearly fleet report, the data
    center's ``vehicle_cost_fen`` and a vehicle's own cost endpoint all sum ``monthly_costs``, so a premium paid
    in December for the next year counts one month's share in December, not twelve (docs/kpis/vehicles.md).
    Kinds with nothing spent are left out."""
    totals: dict[str, int] = {}
    for kinds in monthly_costs(items, first_month, last_month).values():
        for kind, fen in kinds.items():
            if fen:
                totals[kind] = totals.get(kind, 0) + fen
    return totals


def cost_per_km(monthly: Mapping[str, Mapping[str, int]], distance_km: float) -> float | None:
    """Yuan per km of the months of ``monthly_costs`` over the distance driven in them (None: did not move)."""
    if distance_km <= 0:
        return None
    return round(sum(sum(kinds.values()) for kinds in monthly.values()) / 100 / distance_km, 4)


register_fen_upcaster(ChargingRecorded, 1)
register_fen_upcaster(ExpenseRecorded, 1)
register_fen_upcaster(FuelRecorded, 1)
register_fen_upcaster(RepairRecorded, 1)
