"""Annual consumption reports (能源资源消费统计报表): an agency's whole-year use per kind, as its statistics say.

Meters came late to many buildings, and some use is never metered (a canteen's bottled gas, a rented
floor): the 2020 baseline of the city's targets is the statistics of 2020, not readings. An agency (or
the administration for it) reports a year that is over, naming the statistics it comes from; a report can
be corrected, with a reason. For each kind a report names, it is the year's figure; the kinds it leaves
out keep their metered total (``annual_totals``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from math import isfinite
from typing import Any, ClassVar, Final, Self

from services.common.kernel.aggregate import Aggregate
from services.common.kernel.errors import RuleViolation, require_status
from services.common.kernel.events import Payload, register_upcaster

from .base import METER_UNITS, EnergyEvent

REPORTED: Final = "reported"
METERED: Final = "metered"


VEHICLE_FUEL_UNITS: Final[dict[str, str]] = {
    "vehicle_gasoline": "L",
    "vehicle_diesel": "L",
    "vehicle_charging": "kWh",
}
"""Official vehicles' use a report may give by kind (the 2020 statistics count it; the vehicles service logs it
for later years), so a comparison with vehicles can be like-for-like."""


@dataclass(frozen=True)
class AnnualConsumptionReported(EnergyEvent):
    """An agency's use of a year per kind (in each kind's unit), from the statistics named in ``source``.

    v2 added what the statistics also give: official vehicles' fuel and charging by kind (``vehicle_fuel``),
    and the year's floor area (``floor_area_m2``) and people served (``people_served``), the denominators of
    that year's intensities. v1 events read as v2 without them.
    """

    agency_id: str
    district: str
    year: int
    totals: dict[str, float]
    source: str
    reported_on: str
    vehicle_fuel: dict[str, float] = field(default_factory=dict)
    floor_area_m2: float | None = None
    people_served: int | None = None

    schema_version: ClassVar[int] = 2


@register_upcaster("energy", "AnnualConsumptionReported", 1)
def _annual_consumption_reported_v1_to_v2(payload: Payload) -> Payload:
    return {**payload, "vehicle_fuel": {}, "floor_area_m2": None, "people_served": None}


@dataclass(frozen=True)
class AnnualConsumptionCorrected(EnergyEvent):
    """A year's reported use was corrected, with the reason; ``totals`` replace ``previous`` entirely."""

    agency_id: str
    year: int
    previous: dict[str, float]
    totals: dict[str, float]
    reason: str
    corrected_on: str


class YearNotOver(RuleViolation):
    """Only a year that is over can be reported: the statistics of a running year are incomplete."""

    code = "year_not_over"


class InvalidTotals(RuleViolation):
    """Totals name known kinds, at least one, each with a finite quantity of zero or more."""

    code = "invalid_totals"


class SourceRequired(RuleViolation):
    """A report names the statistics it comes from; a correction says why."""

    code = "source_required"


def _checked_totals(totals: Mapping[str, Any]) -> dict[str, float]:
    problems = {
        kind: ["unknown kind"] if kind not in METER_UNITS else ["must be a finite number >= 0"]
        for kind, quantity in totals.items()
        if kind not in METER_UNITS or type(quantity) not in (int, float) or not (isfinite(quantity) and quantity >= 0)
    }
    if problems or not totals:
        fields = {f"totals.{k}": v for k, v in problems.items()} or {"totals": ["name at least one kind"]}
        raise InvalidTotals("the totals are not valid", fields=fields, details={"kinds": list(METER_UNITS)})
    return {kind: float(quantity) for kind, quantity in sorted(totals.items())}


def _checked_extras(
    vehicle_fuel: Mapping[str, Any] | None, floor_area_m2: Any, people_served: Any
) -> tuple[dict[str, float], float | None, int | None]:
    """Vehicle fuel by known kind (finite, ≥ 0), a floor area above zero and a whole number of people above
    zero, each optional."""
    fuel = dict(vehicle_fuel or {})
    problems = {
        f"vehicle_fuel.{kind}": ["unknown kind"] if kind not in VEHICLE_FUEL_UNITS else ["must be a finite number >= 0"]
        for kind, quantity in fuel.items()
        if kind not in VEHICLE_FUEL_UNITS
        or type(quantity) not in (int, float)
        or not (isfinite(quantity) and quantity >= 0)
    }
    if floor_area_m2 is not None and (
        type(floor_area_m2) not in (int, float) or not (isfinite(floor_area_m2) and floor_area_m2 > 0)
    ):
        problems["floor_area_m2"] = ["must be a number > 0"]
    if people_served is not None and (type(people_served) is not int or people_served <= 0):
        problems["people_served"] = ["must be a whole number > 0"]
    if problems:
        raise InvalidTotals(
            "the report is not valid", fields=problems, details={"vehicle_kinds": list(VEHICLE_FUEL_UNITS)}
        )
    area = None if floor_area_m2 is None else float(floor_area_m2)
    return {kind: float(quantity) for kind, quantity in sorted(fuel.items())}, area, people_served


def _require_text(name: str, value: str) -> None:
    if not value.strip():
        raise SourceRequired(f"{name} is required", fields={name: ["required"]})


class AnnualConsumptionReport(Aggregate):
    """One agency's reported use of one year."""

    stream_type: ClassVar[str] = "AnnualConsumptionReport"

    def _init_state(self) -> None:
        self.status = ""
        self.year = 0
        self.totals: dict[str, float] = {}

    @staticmethod
    def stream_id_for(agency_id: str, year: int) -> str:
        """One report per agency and year."""
        return f"{agency_id}-{year}"

    @classmethod
    def report(
        cls,
        *,
        agency_id: str,
        district: str,
        year: int,
        totals: Mapping[str, Any],
        source: str,
        today: date,
        vehicle_fuel: Mapping[str, Any] | None = None,
        floor_area_m2: float | None = None,
        people_served: int | None = None,
    ) -> Self:
        """Report a year that is over, naming the statistics (e.g. 2020年度公共机构能源资源消费统计年报), with
        its vehicles' fuel and charging by kind, floor area and people served when the statistics give them."""
        if year >= today.year:
            raise YearNotOver(f"{year} is not over", fields={"year": ["not over yet"]}, details={"year": year})
        checked = _checked_totals(totals)
        fuel, area, people = _checked_extras(vehicle_fuel, floor_area_m2, people_served)
        _require_text("source", source)
        report = cls(cls.stream_id_for(agency_id, year))
        report._record(
            AnnualConsumptionReported(
                agency_id=agency_id,
                district=district,
                year=year,
                totals=checked,
                source=source,
                reported_on=today.isoformat(),
                vehicle_fuel=fuel,
                floor_area_m2=area,
                people_served=people,
            )
        )
        return report

    def correct(self, totals: Mapping[str, Any], reason: str, today: date) -> None:
        """Replace the reported totals, saying why."""
        require_status(f"report {self.id}", self.status, "reported")
        checked = _checked_totals(totals)
        _require_text("reason", reason)
        self._record(
            AnnualConsumptionCorrected(
                agency_id=str(self.agency_id),
                year=self.year,
                previous=self.totals,
                totals=checked,
                reason=reason,
                corrected_on=today.isoformat(),
            )
        )

    def _on_AnnualConsumptionReported(self, event: AnnualConsumptionReported) -> None:
        self.status = "reported"
        self.agency_id = event.agency_id
        self.district = event.district
        self.year = event.year
        self.totals = dict(event.totals)

    def _on_AnnualConsumptionCorrected(self, event: AnnualConsumptionCorrected) -> None:
        self.totals = dict(event.totals)


def annual_totals(
    metered: Mapping[str, float], reported: Mapping[str, float] | None
) -> tuple[dict[str, float], dict[str, str]]:
    """A year's use per kind and where each figure comes from: the report for the kinds it names (it covers
    unmetered use too), the meters for the others."""
    totals = {kind: round(quantity, 6) for kind, quantity in metered.items()}
    sources = dict.fromkeys(totals, METERED)
    for kind, quantity in (reported or {}).items():
        totals[kind], sources[kind] = quantity, REPORTED
    return totals, sources
