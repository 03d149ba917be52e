"""Energy quotas (能耗定额) per agency and year, and the alert when the year's trend will exceed them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import ClassVar, Final, Self

from services.common.kernel.aggregate import Aggregate
from services.common.kernel.errors import RuleViolation, require_status

from .base import EnergyEvent
from .coverage import DEFAULT_SUFFICIENCY, Coverage, SufficiencyRules, YearUse
from .rollups import FACTORS_2022, NON_ENERGY_KINDS, FactorTable, convert

QUOTA_BASES: Final = ("absolute", "per_m2")
"""How a quota is set: ``absolute`` in tce per year, or ``per_m2`` in kgce per m² of floor area per year
(单位建筑面积能耗定额); the floor area comes from the office-space service."""

QUOTA_VERDICTS: Final = ("over_quota", "within_quota", "insufficient_data", "no_data")
"""Where an agency stands against its quota: already above it or trending above it (超定额), within it, no
verdict because an energy kind's data covers too little of the year (``SufficiencyRules``: the same rule as
the targets'), or nothing metered yet. A quota already exceeded is over on any day, whatever the coverage:
that use is recorded, not projected."""


@dataclass(frozen=True)
class EnergyQuotaSet(EnergyEvent):
    """An agency's energy quota for a year was set."""

    agency_id: str
    district: str
    year: int
    basis: str
    limit: float
    set_on: str


@dataclass(frozen=True)
class EnergyQuotaRevised(EnergyEvent):
    """An agency's energy quota for a year was changed, with the reason."""

    agency_id: str
    year: int
    previous_limit: float
    limit: float
    reason: str
    revised_on: str


@dataclass(frozen=True)
class QuotaOverrunAlerted(EnergyEvent):
    """The agency's year-to-date energy use, extrapolated to the year, will exceed its quota (or already has)."""

    agency_id: str
    year: int
    as_of: str
    year_to_date_tce: float
    forecast_tce: float
    quota_tce: float
    already_exceeded: bool
    factors_version: str


@dataclass(frozen=True)
class QuotaOverrunCleared(EnergyEvent):
    """The agency's trend came back within its quota."""

    agency_id: str
    year: int
    as_of: str
    forecast_tce: float
    quota_tce: float


@dataclass(frozen=True)
class QuotaForecast:
    """Where an agency stands against its quota on a day."""

    year_to_date_tce: float
    forecast_tce: float
    quota_tce: float
    over: bool
    verdict: str = "within_quota"
    insufficient_kinds: tuple[str, ...] = ()


class UnknownQuotaBasis(RuleViolation):
    """A quota is absolute or per m²."""

    code = "unknown_quota_basis"


class QuotaNotPositive(RuleViolation):
    """A quota must be above zero."""

    code = "quota_not_positive"


class QuotaYearClosed(RuleViolation):
    """A quota cannot be set or changed for a year that is over, nor assessed outside its year."""

    code = "quota_year_closed"


class FloorAreaRequired(RuleViolation):
    """A per-m² quota needs the agency's floor area (from office space) to be assessed."""

    code = "floor_area_required"


class ReasonRequired(RuleViolation):
    """A revision must say why."""

    code = "reason_required"


def _require_positive_limit(limit: float) -> None:
    if not limit > 0:
        raise QuotaNotPositive(
            "a quota must be above zero", fields={"limit": ["must be > 0"]}, details={"limit": limit}
        )


def _require_open_year(year: int, today: date) -> None:
    if year < today.year:
        raise QuotaYearClosed(f"year {year} is over", fields={"year": ["the year is over"]}, details={"year": year})


class EnergyQuota(Aggregate):
    """An agency's energy quota for one year, with the open overrun alert if any."""

    stream_type: ClassVar[str] = "EnergyQuota"

    def _init_state(self) -> None:
        self.status = ""
        self.year = 0
        self.basis = ""
        self.limit = 0.0
        self.alert_open = False

    @staticmethod
    def stream_id_for(agency_id: str, year: int) -> str:
        """One quota per agency and year."""
        return f"{agency_id}-{year}"

    @classmethod
    def set(cls, *, agency_id: str, district: str, year: int, basis: str, limit: float, today: date) -> Self:
        """Set an agency's quota for this year or a later one."""
        if basis not in QUOTA_BASES:
            raise UnknownQuotaBasis(f"unknown quota basis {basis}", fields={"basis": list(QUOTA_BASES)})
        _require_positive_limit(limit)
        _require_open_year(year, today)
        quota = cls(cls.stream_id_for(agency_id, year))
        quota._record(
            EnergyQuotaSet(
                agency_id=agency_id, district=district, year=year, basis=basis, limit=limit, set_on=today.isoformat()
            )
        )
        return quota

    def revise(self, limit: float, reason: str, today: date) -> None:
        """Change the quota of a year that is not over."""
        require_status(f"quota {self.id}", self.status, "set")
        _require_positive_limit(limit)
        _require_open_year(self.year, today)
        if not reason.strip():
            raise ReasonRequired("a revision must say why", fields={"reason": ["required"]})
        self._record(
            EnergyQuotaRevised(
                agency_id=str(self.agency_id),
                year=self.year,
                previous_limit=self.limit,
                limit=limit,
                reason=reason,
                revised_on=today.isoformat(),
            )
        )

    def assess(
        self,
        use: YearUse,
        as_of: date,
        floor_area_m2: float | None = None,
        factors: FactorTable = FACTORS_2022,
        rules: SufficiencyRules = DEFAULT_SUFFICIENCY,
    ) -> QuotaForecast:
        """Compare the year's use, each meter annualised by the days its data covers, with the quota; alert
        once when it is or will be exceeded. Insufficient data gives no verdict: no alert, and an open alert
        stays open (only a trend judged within the quota clears it)."""
        require_status(f"quota {self.id}", self.status, "set")
        if as_of.year != self.year:
            raise QuotaYearClosed(f"quota {self.id} is for {self.year}", fields={"as_of": ["outside the quota's year"]})
        year_to_date = convert(use.year_to_date, factors)
        forecast = forecast_against_quota(
            year_to_date.tce,
            quota_in_tce(self.basis, self.limit, floor_area_m2),
            convert(use.annualised, factors).tce,
            use.coverage,
            rules,
        )
        if forecast.over and not self.alert_open:
            self._record(
                QuotaOverrunAlerted(
                    agency_id=str(self.agency_id),
                    year=self.year,
                    as_of=as_of.isoformat(),
                    year_to_date_tce=forecast.year_to_date_tce,
                    forecast_tce=forecast.forecast_tce,
                    quota_tce=forecast.quota_tce,
                    already_exceeded=forecast.year_to_date_tce > forecast.quota_tce,
                    factors_version=year_to_date.factors_version,
                )
            )
        elif forecast.verdict == "within_quota" and self.alert_open:
            cleared = QuotaOverrunCleared(
                agency_id=str(self.agency_id),
                year=self.year,
                as_of=as_of.isoformat(),
                forecast_tce=forecast.forecast_tce,
                quota_tce=forecast.quota_tce,
            )
            self._record(cleared)
        return forecast

    def _on_EnergyQuotaSet(self, event: EnergyQuotaSet) -> None:
        self.status = "set"
        self.agency_id = event.agency_id
        self.district = event.district
        self.year = event.year
        self.basis = event.basis
        self.limit = event.limit

    def _on_EnergyQuotaRevised(self, event: EnergyQuotaRevised) -> None:
        self.limit = event.limit

    def _on_QuotaOverrunAlerted(self, event: QuotaOverrunAlerted) -> None:
        self.alert_open = True

    def _on_QuotaOverrunCleared(self, event: QuotaOverrunCleared) -> None:
        self.alert_open = False


def quota_in_tce(basis: str, limit: float, floor_area_m2: float | None) -> float:
    """A quota as tce per year: absolute as it is, per m² (kgce/m²) times the floor area."""
    if basis == "absolute":
        return limit
    if floor_area_m2 is None or not floor_area_m2 > 0:
        raise FloorAreaRequired(
            "a per-m² quota needs the agency's floor area", fields={"floor_area_m2": ["required, > 0"]}
        )
    return limit * floor_area_m2 / 1000


def forecast_against_quota(
    year_to_date_tce: float,
    quota_tce: float,
    annualised_tce: float,
    coverage: Mapping[str, Coverage],
    rules: SufficiencyRules = DEFAULT_SUFFICIENCY,
) -> QuotaForecast:
    """The year's use forecast against the quota, and the verdict (``QUOTA_VERDICTS``).

    The forecast is ``annualised_tce``: each meter's use annualised by the days its readings cover, then
    summed (``coverage.sum_meters``), never the year to date scaled by the calendar. ``coverage`` gives each
    kind of the scope; its energy kinds must all be sufficient (``SufficiencyRules``) for a trend to count.
    Already above the quota is over on any day."""
    forecast_tce = round(annualised_tce, 6)
    energy = [k for k in coverage if k not in NON_ENERGY_KINDS]
    short = tuple(sorted(k for k in energy if not coverage[k].sufficient(rules)))
    if year_to_date_tce > quota_tce:
        verdict = "over_quota"
    elif not energy:
        verdict = "no_data"
    elif short:
        verdict = "insufficient_data"
    else:
        verdict = "over_quota" if forecast_tce > quota_tce else "within_quota"
    over = verdict == "over_quota"
    return QuotaForecast(
        year_to_date_tce=year_to_date_tce,
        forecast_tce=forecast_tce,
        quota_tce=round(quota_tce, 6),
        over=over,
        verdict=verdict,
        insufficient_kinds=short,
    )
