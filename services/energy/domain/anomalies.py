"""Energy anomalies (能耗异常): pure detectors over consumption series, and each anomaly's life cycle.

The detectors decide and never store: they take plain data (hourly totals of one meter, its recorded
readings, gaps, refused readings) and return ``Finding``s with their evidence. The service opens an
``Anomaly`` per finding (its id is derived from the finding, so detecting the same thing twice opens it
once); the agency acknowledges it and resolves it after rectification.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from statistics import fmean, median
from typing import Any, ClassVar, Final, Self

from services.common.kernel.aggregate import Aggregate
from services.common.kernel.clock import CHINA_STANDARD_TIME, iso_seconds
from services.common.kernel.errors import RuleViolation, require_status

from .base import EnergyEvent
from .readings import RejectedReading
from .rollups import MeterInfo, local_hour

ANOMALY_KINDS: Final = (
    "spike",
    "night_base_load",
    "weekend_base_load",
    "stuck_meter",
    "missing_data",
    "negative_consumption",
)
"""Kinds of anomaly: 突增, 夜间基础负荷, 周末节假日基础负荷, 表计停走, 数据缺失, 负值(表码倒走)."""


@dataclass(frozen=True)
class WorkCalendar:
    """Working days and hours: weekends and public holidays (法定节假日) off, make-up days (调休) on."""

    holidays: frozenset[date] = frozenset()
    extra_workdays: frozenset[date] = frozenset()
    day_hours: tuple[int, int] = (8, 18)
    night_hours: tuple[int, int] = (22, 6)

    def is_workday(self, day: date) -> bool:
        """Whether the building is expected to be in use on ``day``."""
        return day in self.extra_workdays or (day.weekday() < 5 and day not in self.holidays)

    def is_working_hour(self, day: date, hour: int) -> bool:
        """Whether ``hour`` (local) of ``day`` is within working hours of a working day."""
        return self.is_workday(day) and self.day_hours[0] <= hour < self.day_hours[1]

    def is_night_hour(self, hour: int) -> bool:
        """Whether ``hour`` (local) is at night, when only base load should remain."""
        start, end = self.night_hours
        return hour >= start or hour < end


DEFAULT_CALENDAR: Final = WorkCalendar()
"""Monday to Friday, 08:00–18:00 working, 22:00–06:00 night; the service passes the year's holidays."""


@dataclass(frozen=True)
class AnomalyRules:
    """Thresholds of the detectors."""

    spike_factor: float = 2.0
    spike_min_excess: float = 1.0
    baseline_days: int = 14
    min_baseline_days: int = 5
    night_share: float = 0.5
    weekend_share: float = 0.4
    stuck_readings: int = 12
    min_gap_s: int = 3_600
    version: str = "anomalies-2026.1"
    source: str = (
        "platform rules for 能耗异常 (seed 002: 能耗监测、实时监控): median of the same hour on 14 days of the same "
        "day type, night 22–06 and weekend base load shares, an hour of unchanged readings, an hour without data"
    )


DEFAULT_ANOMALY_RULES: Final = AnomalyRules()
"""A spike is an hour above twice the median of the same hour on the last 14 days of the same day type
(at least 5 of them) and at least 1 unit above it; night load above 50 % of the day's working-hours load,
or a weekend / holiday above 40 % of recent working-hours load, is too high a base load; 12 unchanged
readings (an hour) in working hours is a stuck meter; a gap of an hour or more is missing data."""


@dataclass(frozen=True)
class Finding:
    """Something a detector found, with the evidence the agency needs to act on it."""

    kind: str
    meter_id: str
    period_start: str
    period_end: str
    evidence: dict[str, Any] = field(default_factory=dict)

    @property
    def anomaly_id(self) -> str:
        """A stable id: the same finding detected again names the same anomaly."""
        digest = hashlib.sha256(f"{self.kind}|{self.meter_id}|{self.period_start}".encode()).hexdigest()
        return f"an-{digest[:24]}"


def _hour_label(day: date, hour: int) -> str:
    return f"{day.isoformat()}T{hour:02d}"


def _hour_bounds(day: date, hour: int, tz: tzinfo) -> tuple[str, str]:
    start = datetime(day.year, day.month, day.day, hour, tzinfo=tz)
    return iso_seconds(start), iso_seconds(start + timedelta(hours=1))


def _day_bounds(day: date, tz: tzinfo) -> tuple[str, str]:
    start = datetime(day.year, day.month, day.day, tzinfo=tz)
    return iso_seconds(start), iso_seconds(start + timedelta(days=1))


def detect_spikes(
    meter_id: str,
    hourly: Mapping[str, float],
    day: date,
    calendar: WorkCalendar = DEFAULT_CALENDAR,
    rules: AnomalyRules = DEFAULT_ANOMALY_RULES,
    tz: tzinfo = CHINA_STANDARD_TIME,
) -> list[Finding]:
    """Hours of ``day`` far above the median of the same hour on past days of the same type (workday or not).

    ``hourly`` maps local hour labels (``2024-03-01T09``, as ``roll_up`` gives them) to one meter's use.
    """
    workday = calendar.is_workday(day)
    past = [day - timedelta(days=n) for n in range(1, rules.baseline_days + 1)]
    same_type = [d for d in past if calendar.is_workday(d) == workday]
    findings = []
    for hour in range(24):
        value = hourly.get(_hour_label(day, hour))
        history = [v for d in same_type if (v := hourly.get(_hour_label(d, hour))) is not None]
        if value is None or len(history) < rules.min_baseline_days:
            continue
        baseline = median(history)
        if value > baseline * rules.spike_factor and value - baseline >= rules.spike_min_excess:
            evidence = {
                "hour": _hour_label(day, hour),
                "consumption": value,
                "baseline_median": baseline,
                "factor": rules.spike_factor,
                "baseline_days": len(history),
            }
            findings.append(Finding("spike", meter_id, *_hour_bounds(day, hour, tz), evidence))
    return findings


def detect_base_load(
    meter_id: str,
    hourly: Mapping[str, float],
    day: date,
    calendar: WorkCalendar = DEFAULT_CALENDAR,
    rules: AnomalyRules = DEFAULT_ANOMALY_RULES,
    tz: tzinfo = CHINA_STANDARD_TIME,
) -> list[Finding]:
    """Too high a base load: at night against the day's working hours, or on a weekend or holiday against
    the working hours of the past week. Loads are mean hourly use; hours without data are left out."""
    if calendar.is_workday(day):
        kind, threshold = "night_base_load", rules.night_share
        loads = [
            v for h in range(24) if calendar.is_night_hour(h) and (v := hourly.get(_hour_label(day, h))) is not None
        ]
        reference_days = [day]
    else:
        kind, threshold = "weekend_base_load", rules.weekend_share
        loads = [v for h in range(24) if (v := hourly.get(_hour_label(day, h))) is not None]
        reference_days = [day - timedelta(days=n) for n in range(1, 8)]
    working = [
        v
        for d in reference_days
        for h in range(*calendar.day_hours)
        if calendar.is_working_hour(d, h) and (v := hourly.get(_hour_label(d, h))) is not None
    ]
    if not loads or not working or fmean(working) <= 0:
        return []
    base, reference = fmean(loads), fmean(working)
    share = round(base / reference, 4)
    if share <= threshold:
        return []
    evidence = {
        "day": day.isoformat(),
        "base_load": base,
        "working_load": reference,
        "share": share,
        "threshold": threshold,
    }
    return [Finding(kind, meter_id, *_day_bounds(day, tz), evidence)]


def detect_stuck(
    meter_id: str,
    readings: Sequence[Sequence[Any]],
    calendar: WorkCalendar = DEFAULT_CALENDAR,
    rules: AnomalyRules = DEFAULT_ANOMALY_RULES,
    tz: tzinfo = CHINA_STANDARD_TIME,
) -> list[Finding]:
    """Runs of unchanged readings (``[at, value, consumption]`` in time order) holding at least
    ``stuck_readings`` readings in working hours, when the building should use energy."""
    findings = []
    run: list[Sequence[Any]] = []
    for reading in [*readings, None]:
        if reading is not None and reading[2] == 0:
            run.append(reading)
            continue
        working = sum(1 for r in run if _in_working_hours(r[0], calendar, tz))
        if working >= rules.stuck_readings:
            evidence = {"value": run[0][1], "readings": len(run), "working_hour_readings": working}
            findings.append(Finding("stuck_meter", meter_id, run[0][0], run[-1][0], evidence))
        run = []
    return findings


def _in_working_hours(at: str, calendar: WorkCalendar, tz: tzinfo) -> bool:
    label = local_hour(at, tz)
    return calendar.is_working_hour(date.fromisoformat(label[:10]), int(label[11:13]))


def detect_gaps(
    meter_id: str, gaps: Sequence[Sequence[Any]], rules: AnomalyRules = DEFAULT_ANOMALY_RULES
) -> list[Finding]:
    """Gaps (``[from, to, seconds]`` of ``MeterReadingsRecorded``) long enough to be missing data."""
    return [
        Finding("missing_data", meter_id, start, end, {"seconds": seconds})
        for start, end, seconds in gaps
        if seconds >= rules.min_gap_s
    ]


def detect_counter_reversals(meter_id: str, rejected: Sequence[RejectedReading]) -> list[Finding]:
    """One finding for the readings of a batch refused because the counter went backwards (negative use)."""
    backwards = [r for r in rejected if r.reason == "counter_went_backwards"]
    if not backwards:
        return []
    evidence = {
        "count": len(backwards),
        "readings": [[r.timestamp, r.value, r.message] for r in backwards[:20]],
    }
    return [Finding("negative_consumption", meter_id, backwards[0].timestamp, backwards[-1].timestamp, evidence)]


@dataclass(frozen=True)
class AnomalyRaised(EnergyEvent):
    """An anomaly was found on a meter and raised to its agency for rectification."""

    anomaly_id: str
    kind: str
    meter_id: str
    agency_id: str
    district: str
    building_id: str
    period_start: str
    period_end: str
    evidence: dict[str, Any]
    raised_at: str


@dataclass(frozen=True)
class AnomalyAcknowledged(EnergyEvent):
    """The agency acknowledged the anomaly."""

    anomaly_id: str
    acknowledged_by: str
    note: str
    acknowledged_at: str


@dataclass(frozen=True)
class AnomalyResolved(EnergyEvent):
    """The agency rectified the anomaly and said how."""

    anomaly_id: str
    resolved_by: str
    resolution: str
    resolved_at: str


class UnknownAnomalyKind(RuleViolation):
    """The finding's kind is not one of the anomaly kinds."""

    code = "unknown_anomaly_kind"


class ResolutionRequired(RuleViolation):
    """Resolving an anomaly must say what was done."""

    code = "resolution_required"


class Anomaly(Aggregate):
    """An energy anomaly of a meter: open → acknowledged → resolved."""

    stream_type: ClassVar[str] = "Anomaly"

    def _init_state(self) -> None:
        self.status = ""
        self.kind = ""
        self.meter_id = ""

    @classmethod
    def open(cls, finding: Finding, meter: MeterInfo, now: datetime) -> Self:
        """Raise a finding of a meter to its agency."""
        if finding.kind not in ANOMALY_KINDS:
            raise UnknownAnomalyKind(f"unknown anomaly kind {finding.kind}", fields={"kind": list(ANOMALY_KINDS)})
        anomaly = cls(finding.anomaly_id)
        anomaly._record(
            AnomalyRaised(
                anomaly_id=finding.anomaly_id,
                kind=finding.kind,
                meter_id=finding.meter_id,
                agency_id=meter.agency_id,
                district=meter.district,
                building_id=meter.building_id,
                period_start=finding.period_start,
                period_end=finding.period_end,
                evidence=finding.evidence,
                raised_at=iso_seconds(now),
            )
        )
        return anomaly

    def acknowledge(self, by: str, note: str, now: datetime) -> None:
        """The agency has seen the anomaly and takes it on."""
        require_status(f"anomaly {self.id}", self.status, "open")
        self._record(AnomalyAcknowledged(self.id, by, note, iso_seconds(now)))

    def resolve(self, by: str, resolution: str, now: datetime) -> None:
        """Close an acknowledged anomaly with what was done about it."""
        require_status(f"anomaly {self.id}", self.status, "acknowledged")
        if not resolution.strip():
            raise ResolutionRequired("say how the anomaly was resolved", fields={"resolution": ["required"]})
        self._record(AnomalyResolved(self.id, by, resolution, iso_seconds(now)))

    def _on_AnomalyRaised(self, event: AnomalyRaised) -> None:
        self.status = "open"
        self.kind = event.kind
        self.meter_id = event.meter_id
        self.agency_id = event.agency_id
        self.district = event.district

    def _on_AnomalyAcknowledged(self, event: AnomalyAcknowledged) -> None:
        self.status = "acknowledged"

    def _on_AnomalyResolved(self, event: AnomalyResolved) -> None:
        self.status = "resolved"
