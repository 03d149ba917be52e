"""Operating properties (经营性房产) the city owns and rents out: occupancy, rent income, vacancy costs.

Goals against 2020 (docs/domain.md): rent income +3 % to +5 %, vacancy-driven fixed costs −10 %.

Every figure comes from the facts' own dates (docs/kpis/properties.md): a unit counts from the day it was added,
is let while a tenancy covers the day (a tenancy ends on its ``end_on``, or the day before it was vacated), and
a year's figures stop at the day they are asked about — so a unit whose lease ended in June is vacant from July
and a unit added in December carries only December, however late the history was typed in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, ClassVar, Final, Self

from services.common.kernel.aggregate import Aggregate
from services.common.kernel.errors import AlreadyExists, NotFound, RuleViolation, require_positive
from services.common.kernel.events import register_fen_upcaster
from services.common.kernel.facts import fact_day
from services.common.kernel.money import require_fen
from services.office_space.domain.base import InvalidPeriod, OfficeSpaceEvent

RENT_INCOME_GOAL: Final = (0.03, 0.05)
"""Rent income growth on 2020 the administration aims at: +3 % to +5 %."""

VACANCY_COST_GOAL: Final = -0.10
"""Change of vacancy-driven fixed costs on 2020 the administration aims at: −10 %."""


@dataclass(frozen=True)
class OperatingPropertyRegistered(OfficeSpaceEvent):
    """An operating property with its 2020 baseline (rent income and vacancy-driven fixed costs), in fen.

    v2: money in integer fen (``*_fen``); the v1 float-yuan properties are still published, filled from the fen.
    """

    schema_version: ClassVar[int] = 2
    legacy_yuan: ClassVar[dict[str, str]] = {
        "baseline_rent_income": "baseline_rent_income_fen",
        "baseline_vacancy_cost": "baseline_vacancy_cost_fen",
    }

    property_id: str
    district: str
    name: str
    baseline_rent_income_fen: int
    baseline_vacancy_cost_fen: int


@dataclass(frozen=True)
class PropertyUnitAdded(OfficeSpaceEvent):
    """A lettable unit of a property, with the fixed monthly cost it carries while vacant."""

    property_id: str
    unit_id: str
    area_m2: float
    monthly_fixed_cost_fen: int
    added_on: str

    schema_version: ClassVar[int] = 2
    legacy_yuan: ClassVar[dict[str, str]] = {"monthly_fixed_cost": "monthly_fixed_cost_fen"}


@dataclass(frozen=True)
class UnitLet(OfficeSpaceEvent):
    """A unit was let to a tenant."""

    property_id: str
    unit_id: str
    tenant: str
    monthly_rent_fen: int
    start_on: str
    end_on: str

    schema_version: ClassVar[int] = 2
    legacy_yuan: ClassVar[dict[str, str]] = {"monthly_rent": "monthly_rent_fen"}


@dataclass(frozen=True)
class UnitVacated(OfficeSpaceEvent):
    """A unit became vacant."""

    property_id: str
    unit_id: str
    vacated_on: str


@dataclass(frozen=True)
class RentReceived(OfficeSpaceEvent):
    """Rent received for a unit and month."""

    property_id: str
    unit_id: str
    period: str
    amount_fen: int
    received_on: str

    schema_version: ClassVar[int] = 2
    legacy_yuan: ClassVar[dict[str, str]] = {"amount": "amount_fen"}


register_fen_upcaster(OperatingPropertyRegistered)


register_fen_upcaster(PropertyUnitAdded)


register_fen_upcaster(UnitLet)


register_fen_upcaster(RentReceived)


class OperatingProperty(Aggregate):
    """An operating property and its units."""

    stream_type: ClassVar[str] = "OperatingProperty"

    def _init_state(self) -> None:
        self.name = ""
        self.baseline_rent_income_fen = 0
        self.baseline_vacancy_cost_fen = 0
        self.units: dict[str, dict[str, Any]] = {}
        self.rent: list[list[Any]] = []

    @classmethod
    def register(
        cls,
        property_id: str,
        district: str,
        name: str,
        baseline_rent_income_fen: int,
        baseline_vacancy_cost_fen: int,
    ) -> Self:
        """Register a property with its 2020 baseline (fen, not negative)."""
        require_fen("baseline_rent_income_fen", baseline_rent_income_fen)
        require_fen("baseline_vacancy_cost_fen", baseline_vacancy_cost_fen)
        prop = cls(property_id)
        prop._record(
            OperatingPropertyRegistered(
                property_id=property_id,
                district=district,
                name=name,
                baseline_rent_income_fen=baseline_rent_income_fen,
                baseline_vacancy_cost_fen=baseline_vacancy_cost_fen,
            )
        )
        return prop

    def add_unit(
        self, unit_id: str, area_m2: float, monthly_fixed_cost_fen: int, today: date, added_on: date | None = None
    ) -> None:
        """Add a lettable unit (vacant until let), on ``added_on`` (a past day brought in; default today)."""
        added = fact_day("added_on", added_on, today)
        require_positive("area_m2", area_m2)
        require_fen("monthly_fixed_cost_fen", monthly_fixed_cost_fen)
        if unit_id in self.units:
            raise AlreadyExists(f"unit {unit_id} exists", fields={"unit_id": ["already exists"]})
        self._record(
            PropertyUnitAdded(
                property_id=self.id,
                unit_id=unit_id,
                area_m2=area_m2,
                monthly_fixed_cost_fen=monthly_fixed_cost_fen,
                added_on=added.isoformat(),
            )
        )

    def let(self, unit_id: str, tenant: str, monthly_rent_fen: int, start_on: date, end_on: date) -> None:
        """Let a unit for ``start_on``..``end_on`` (both days let): a past tenancy may be brought in, but never one
        before the unit was added nor one overlapping another tenancy of the unit."""
        unit = self._unit(unit_id)
        for name, day in (("start_on", start_on), ("end_on", end_on)):  # planned or past: only the bounds apply
            fact_day(name, day, day, planned=True)
        if end_on <= start_on:
            raise InvalidPeriod("the tenancy must end after it starts", fields={"end_on": ["must be after start_on"]})
        if start_on.isoformat() < unit["added_on"]:
            raise RuleViolation(
                f"unit {unit_id} was added on {unit['added_on']}",
                fields={"start_on": [f"must not be before the unit was added ({unit['added_on']})"]},
            )
        for first, last in unit["tenancies"]:
            if first <= end_on.isoformat() and start_on.isoformat() <= last:
                raise RuleViolation(
                    f"unit {unit_id} is let {first}..{last}",
                    fields={"unit_id": [f"already let from {first} to {last}"]},
                )
        require_fen("monthly_rent_fen", monthly_rent_fen, minimum=1)
        self._record(
            UnitLet(
                property_id=self.id,
                unit_id=unit_id,
                tenant=tenant,
                monthly_rent_fen=monthly_rent_fen,
                start_on=start_on.isoformat(),
                end_on=end_on.isoformat(),
            )
        )

    def vacate(self, unit_id: str, today: date, vacated_on: date | None = None) -> None:
        """A let unit becomes vacant on ``vacated_on`` (default today; not in the future): its tenancy is the one
        running that day, and it ends the day before."""
        unit = self._unit(unit_id)
        day = fact_day("vacated_on", vacated_on, today).isoformat()
        running = [t for t in unit["tenancies"] if t[0] < day <= t[1]]
        if not running:
            raise RuleViolation(f"unit {unit_id} is not let on {day}", fields={"unit_id": [f"not let on {day}"]})
        self._record(UnitVacated(property_id=self.id, unit_id=unit_id, vacated_on=day))

    def receive_rent(self, unit_id: str, period: str, amount_fen: int, today: date) -> None:
        """Record rent received (fen) for a unit and a month (YYYY-MM) a tenancy of it covers, on ``today``."""
        unit = self._unit(unit_id)
        first_day, last_day = f"{period}-01", f"{period}-31"
        if not any(first <= last_day and first_day <= last for first, last in unit["tenancies"]):
            raise RuleViolation(f"unit {unit_id} is not let in {period}", fields={"period": ["the unit is not let"]})
        require_fen("amount_fen", amount_fen, minimum=1)
        self._record(
            RentReceived(
                property_id=self.id,
                unit_id=unit_id,
                period=period,
                amount_fen=amount_fen,
                received_on=today.isoformat(),
            )
        )

    def occupancy_rate(self, on: date) -> float | None:
        """出租率 on a day: the let share of the area of the units added by then, a unit let while one of its
        tenancies covers the day. None when the property had no unit that day (no data is null, never 0)."""
        day = on.isoformat()
        held = [u for u in self.units.values() if u["added_on"] <= day]
        total = sum(u["area_m2"] for u in held)
        let = sum(u["area_m2"] for u in held if any(first <= day <= last for first, last in u["tenancies"]))
        return round(let / total, 4) if total else None

    def performance(self, year: int, months_vacant: dict[str, int], as_of: date) -> dict[str, Any]:
        """Rent income and vacancy-driven fixed costs of ``year`` against the 2020 baseline and the goals, and
        the occupancy on ``as_of`` (the year's last day, or today in the running year).

        ``months_vacant`` gives, per unit, how many months of the year it stood vacant (``vacant_months``).
        """
        income = sum(fen for period, fen in self.rent if period.startswith(f"{year}-"))
        vacancy = sum(self.units[u]["monthly_fixed_cost_fen"] * m for u, m in months_vacant.items() if u in self.units)
        base_income, base_vacancy = self.baseline_rent_income_fen, self.baseline_vacancy_cost_fen
        income_change = round(income / base_income - 1, 4) if base_income else None
        vacancy_change = round(vacancy / base_vacancy - 1, 4) if base_vacancy else None
        return {
            "year": year,
            "occupancy_on": as_of.isoformat(),
            "occupancy_rate": self.occupancy_rate(as_of),
            "rent_income_fen": income,
            "rent_income_change": income_change,
            "rent_income_goal_met": income_change is not None and income_change >= RENT_INCOME_GOAL[0],
            "vacancy_cost_fen": vacancy,
            "vacancy_cost_change": vacancy_change,
            "vacancy_cost_goal_met": vacancy_change is not None and vacancy_change <= VACANCY_COST_GOAL,
        }

    def vacant_months(self, year: int, through: date) -> dict[str, int]:
        """Per unit held in ``year``, the months of it up to ``through``'s month that no tenancy touches, from
        the month the unit was added (a unit added in December carries December only; months not come yet
        carry nothing). A month any tenancy day falls in counts as let: rent is billed per month."""
        result = {}
        last_month = min(f"{year:04d}-12", through.isoformat()[:7])
        months = [f"{year:04d}-{m:02d}" for m in range(1, 13) if f"{year:04d}-{m:02d}" <= last_month]
        for unit_id, unit in self.units.items():
            held = [m for m in months if m >= unit["added_on"][:7]]
            if not held:
                continue
            let = {m for m in held for first, last in unit["tenancies"] if first[:7] <= m <= last[:7] and first <= last}
            result[unit_id] = len(held) - len(let)
        return result

    def year_performance(self, year: int, today: date) -> dict[str, Any]:
        """``performance`` of ``year`` as the service answers it: vacancy months and occupancy up to the year's
        last day, or up to today while the year runs (the one place the period rule is applied)."""
        as_of = min(date(year, 12, 31), today)
        return self.performance(year, self.vacant_months(year, as_of), as_of)

    def _unit(self, unit_id: str) -> dict[str, Any]:
        if unit_id not in self.units:
            raise NotFound(f"unit {unit_id} not found", fields={"unit_id": ["unknown unit"]})
        return self.units[unit_id]

    def _on_OperatingPropertyRegistered(self, event: OperatingPropertyRegistered) -> None:
        self.district, self.name = event.district, event.name
        self.baseline_rent_income_fen = event.baseline_rent_income_fen
        self.baseline_vacancy_cost_fen = event.baseline_vacancy_cost_fen

    def _on_PropertyUnitAdded(self, event: PropertyUnitAdded) -> None:
        self.units[event.unit_id] = {
            "area_m2": event.area_m2,
            "monthly_fixed_cost_fen": event.monthly_fixed_cost_fen,
            "tenant": None,
            "added_on": event.added_on,
            "tenancies": [],
        }

    def _on_UnitLet(self, event: UnitLet) -> None:
        unit = self.units[event.unit_id]
        unit["tenant"] = event.tenant
        unit["tenancies"].append([event.start_on, event.end_on])

    def _on_UnitVacated(self, event: UnitVacated) -> None:
        """The tenancy running on the day ends the day before (the unit is vacant from ``vacated_on``)."""
        unit = self.units[event.unit_id]
        unit["tenant"] = None
        day = event.vacated_on
        running = [t for t in unit["tenancies"] if t[0] < day <= t[1]] or unit["tenancies"][-1:]
        for tenancy in running[-1:]:
            tenancy[1] = max(tenancy[0], (date.fromisoformat(day) - timedelta(days=1)).isoformat())

    def _on_RentReceived(self, event: RentReceived) -> None:
        self.rent.append([event.period, event.amount_fen])
