"""Operating properties (经营性房产) the city owns and rents out: occupancy, rent income, vacancy costs.

Goals against 2020 (DOMAIN.md): rent income +3 % to +5 %, vacancy-driven fixed costs −10 %.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, ClassVar, Final, Self

from services.common.aggregate import Aggregate
from services.common.errors import AlreadyExists, NotFound, RuleViolation, require_positive
from services.common.events import Payload, register_upcaster
from services.common.money import require_fen, with_fen
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


@register_upcaster("office_space", "OperatingPropertyRegistered", 1)
def _property_registered_v1_to_v2(payload: Payload) -> Payload:
    return with_fen(payload, dict(OperatingPropertyRegistered.legacy_yuan))


@register_upcaster("office_space", "PropertyUnitAdded", 1)
def _unit_added_v1_to_v2(payload: Payload) -> Payload:
    return with_fen(payload, dict(PropertyUnitAdded.legacy_yuan))


@register_upcaster("office_space", "UnitLet", 1)
def _unit_let_v1_to_v2(payload: Payload) -> Payload:
    return with_fen(payload, dict(UnitLet.legacy_yuan))


@register_upcaster("office_space", "RentReceived", 1)
def _rent_received_v1_to_v2(payload: Payload) -> Payload:
    return with_fen(payload, dict(RentReceived.legacy_yuan))


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

    def add_unit(self, unit_id: str, area_m2: float, monthly_fixed_cost_fen: int, today: date) -> None:
        """Add a lettable unit (vacant until let)."""
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
                added_on=today.isoformat(),
            )
        )

    def let(self, unit_id: str, tenant: str, monthly_rent_fen: int, start_on: date, end_on: date) -> None:
        """Let a vacant unit."""
        unit = self._unit(unit_id)
        if unit["tenant"]:
            raise RuleViolation(f"unit {unit_id} is let to {unit['tenant']}", fields={"unit_id": ["already let"]})
        if end_on <= start_on:
            raise InvalidPeriod("the tenancy must end after it starts", fields={"end_on": ["must be after start_on"]})
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

    def vacate(self, unit_id: str, today: date) -> None:
        """A let unit becomes vacant."""
        if not self._unit(unit_id)["tenant"]:
            raise RuleViolation(f"unit {unit_id} is vacant", fields={"unit_id": ["not let"]})
        self._record(UnitVacated(self.id, unit_id, today.isoformat()))

    def receive_rent(self, unit_id: str, period: str, amount_fen: int, today: date) -> None:
        """Record rent received (fen) for a let unit and month (YYYY-MM)."""
        if not self._unit(unit_id)["tenant"]:
            raise RuleViolation(f"unit {unit_id} is not let", fields={"unit_id": ["not let"]})
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

    def occupancy_rate(self) -> float:
        """Share of the lettable area that is let (0 when there is no unit)."""
        total = sum(u["area_m2"] for u in self.units.values())
        let = sum(u["area_m2"] for u in self.units.values() if u["tenant"])
        return round(let / total, 4) if total else 0.0

    def performance(self, year: int, months_vacant: dict[str, int]) -> dict[str, Any]:
        """Rent income and vacancy-driven fixed costs of ``year`` against the 2020 baseline and the goals.

        ``months_vacant`` gives, per unit, how many months of the year it stood vacant.
        """
        income = sum(fen for period, fen in self.rent if period.startswith(f"{year}-"))
        vacancy = sum(self.units[u]["monthly_fixed_cost_fen"] * m for u, m in months_vacant.items() if u in self.units)
        base_income, base_vacancy = self.baseline_rent_income_fen, self.baseline_vacancy_cost_fen
        income_change = round(income / base_income - 1, 4) if base_income else None
        vacancy_change = round(vacancy / base_vacancy - 1, 4) if base_vacancy else None
        return {
            "year": year,
            "occupancy_rate": self.occupancy_rate(),
            "rent_income_fen": income,
            "rent_income_change": income_change,
            "rent_income_goal_met": income_change is not None and income_change >= RENT_INCOME_GOAL[0],
            "vacancy_cost_fen": vacancy,
            "vacancy_cost_change": vacancy_change,
            "vacancy_cost_goal_met": vacancy_change is not None and vacancy_change <= VACANCY_COST_GOAL,
        }

    def vacant_months(self, year: int) -> dict[str, int]:
        """Per unit, the months of ``year`` in which it was not let at any time (from its tenancies)."""
        result = {}
        for unit_id, unit in self.units.items():
            let_months = set()
            for start, end in unit["tenancies"]:
                first, last = date.fromisoformat(start), date.fromisoformat(end) if end else date(year, 12, 31)
                for month in range(1, 13):
                    month_start, month_end = date(year, month, 1), date(year + month // 12, month % 12 + 1, 1)
                    if first < month_end and last >= month_start:
                        let_months.add(month)
            added = date.fromisoformat(unit["added_on"])
            months = [m for m in range(1, 13) if date(year + m // 12, m % 12 + 1, 1) > added]
            result[unit_id] = len([m for m in months if m not in let_months])
        return result

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
        unit = self.units[event.unit_id]
        unit["tenant"] = None
        unit["tenancies"][-1][1] = event.vacated_on

    def _on_RentReceived(self, event: RentReceived) -> None:
        self.rent.append([event.period, event.amount_fen])
