"""What period the data of a year covers, how a partial year is annualised, and when a verdict may be given.

A year's figure is only comparable with a full-year baseline once it is scaled to a full year, and only
honest when that scaling rests on the days the data really covers. Readings are cumulative counters: the
use up to a meter's last reading is all counted (a gap's use is counted at its end), so a meter covers the
year from the later of the year's start and its installation up to its last reading in the year. A meter
whose readings lag by a week covers a week less than the calendar says; annualising it by the days elapsed
would report use that is too low.

Rules (docs/kpis/energy.md):

- **Coverage, not calendar**: each meter's use is annualised by its own covered days
  (``use × days in year ÷ covered days``), then the meters are summed. A kind's coverage at any level
  (agency, district, city) is the mean covered days of its sources (meters, or an annual report, which
  covers the whole year).
- **Sufficiency**: a comparison needs, for every kind the baseline has, at least ``min_days`` covered days
  and ``min_share`` of the elapsed days (``SufficiencyRules``, configurable, versioned); below, the verdict
  is ``insufficient_data``.
- **Like-for-like**: a kind present on one side and absent on the other makes the verdict ``incomplete``,
  naming the kind.

Pure: plain values in, plain values out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Final

from services.common.kernel.clock import CHINA_STANDARD_TIME

from .base import epoch_of

SECONDS_PER_DAY: Final = 86_400

VERDICTS: Final = ("on_target", "off_target", "insufficient_data", "incomplete", "no_data", "no_baseline")
"""What a comparison with the baseline can conclude: 达标, 未达标, 数据不足, 口径不一致 (a kind on one side
only), 无数据 (nothing this year), 无基准 (nothing in the baseline year)."""


@dataclass(frozen=True)
class SufficiencyRules:
    """How much of a year the data must cover before a verdict is given, for every kind of the baseline."""

    min_days: float = 90
    min_share: float = 0.8
    version: str = "sufficiency-2026.1"
    source: str = (
        "docs/energy-periods.md: a verdict needs 90 covered days and 80 % of the "
        "elapsed days of every kind the baseline has; cf. ENERGY STAR Portfolio Manager's 12 full months and "
        "CalTRACK's data-sufficiency report"
    )


DEFAULT_SUFFICIENCY: Final = SufficiencyRules()


def days_in_year(year: int) -> int:
    """365 or 366."""
    return (date(year + 1, 1, 1) - date(year, 1, 1)).days


def elapsed_days(year: int, today: date) -> int:
    """Local days of ``year`` up to and including ``today``: the whole year once it is over, 0 before it."""
    if year < today.year:
        return days_in_year(year)
    if year > today.year:
        return 0
    return (today - date(year, 1, 1)).days + 1


def _local_midnight_epoch(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=CHINA_STANDARD_TIME).timestamp())


def covered_days(installed_at: str | None, last_at: str | None, year: int, today: date) -> float:
    """Days of ``year`` one meter's readings cover: from the later of the year's start (local) and its
    installation, to its last reading in the year, never beyond the end of ``today``. 0 without a reading."""
    if last_at is None:
        return 0.0
    start = _local_midnight_epoch(date(year, 1, 1))
    if installed_at is not None:
        start = max(start, epoch_of(installed_at))
    end_day = min(date(year, 12, 31), today) + timedelta(days=1)
    end = min(epoch_of(last_at), _local_midnight_epoch(end_day))
    return round(max(0, end - start) / SECONDS_PER_DAY, 4)


def annualised(use: float, days_covered: float, year: int) -> float | None:
    """One source's use scaled to the whole year by the days it covers (None when it covers none)."""
    if days_covered <= 0:
        return None
    return use * days_in_year(year) / days_covered


@dataclass(frozen=True)
class Coverage:
    """How much of the elapsed part of a year a kind's data covers: the mean covered days of its sources."""

    days_covered: float
    days_elapsed: int
    share: float | None
    sources: int

    @classmethod
    def of(cls, source_days: float, sources: int, days_elapsed: int) -> Coverage:
        """From the summed covered days of ``sources`` sources (meters; a report counts as one, whole year)."""
        days = round(source_days / sources, 4) if sources else 0.0
        share = round(days / days_elapsed, 4) if days_elapsed else None
        return cls(days, days_elapsed, share, sources)

    def sufficient(self, rules: SufficiencyRules = DEFAULT_SUFFICIENCY) -> bool:
        """Whether the data covers enough of the year for a verdict."""
        return self.days_covered >= rules.min_days and self.share is not None and self.share >= rules.min_share

    def as_dict(self) -> dict[str, float | int | None]:
        """The API form."""
        return {
            "days_covered": self.days_covered,
            "days_elapsed": self.days_elapsed,
            "share": self.share,
            "sources": self.sources,
        }


@dataclass(frozen=True)
class Verdict:
    """A comparison's conclusion and, when it is not a judgement, the kinds that prevented one."""

    verdict: str
    kinds: tuple[str, ...] = ()
    detail: dict[str, list[str]] = field(default_factory=dict)

    @property
    def judged(self) -> bool:
        """Whether on or off target was decided (only then does the change count)."""
        return self.verdict in ("on_target", "off_target")

    def as_dict(self) -> dict[str, object]:
        """The API form."""
        return {"verdict": self.verdict, "kinds": list(self.kinds), **self.detail}


def comparability(
    current: Mapping[str, Coverage],
    baseline: Mapping[str, Coverage],
    kinds: Iterable[str],
    rules: SufficiencyRules = DEFAULT_SUFFICIENCY,
) -> Verdict:
    """Whether a year made of ``kinds`` may be compared with the baseline year at all: ``comparable``, or
    the verdict that stops a comparison (``no_data``, ``no_baseline``, ``incomplete``, ``insufficient_data``).
    ``judge`` and the energy service's target totals both ask it: one rule."""
    wanted = tuple(kinds)
    now = {k for k in wanted if k in current}
    then = {k for k in wanted if k in baseline}
    if not now:
        return Verdict("no_data")
    if not then:
        return Verdict("no_baseline")
    if now != then:
        missing_now, missing_then = sorted(then - now), sorted(now - then)
        return Verdict(
            "incomplete",
            tuple(sorted(now ^ then)),
            {"missing_this_year": missing_now, "missing_in_baseline": missing_then},
        )
    short = sorted(k for k in then if not (current[k].sufficient(rules) and baseline[k].sufficient(rules)))
    if short:
        return Verdict("insufficient_data", tuple(short))
    return Verdict("comparable")


def judge(
    change: float | None,
    target: float,
    current: Mapping[str, Coverage],
    baseline: Mapping[str, Coverage],
    kinds: Iterable[str],
    rules: SufficiencyRules = DEFAULT_SUFFICIENCY,
) -> Verdict:
    """The verdict of one indicator whose figure is made of ``kinds``.

    ``current`` and ``baseline`` give the coverage of each kind present in the year and in the baseline year.
    In order (``comparability``): nothing this year → ``no_data``; nothing in the baseline → ``no_baseline``;
    a kind on one side only → ``incomplete``; a kind of the baseline covered too little on either side →
    ``insufficient_data``; else ``on_target`` when ``change`` is at or below ``target``, ``off_target`` above it.
    """
    comparable = comparability(current, baseline, kinds, rules)
    if comparable.verdict != "comparable":
        return comparable
    if change is None:
        return Verdict("no_data")
    return Verdict("on_target" if change <= target else "off_target")


@dataclass(frozen=True)
class MeterUse:
    """One main meter's use in a year (up to the day judged), when it was installed and its last reading in
    the year (None without one): what its coverage and annualised use are made of."""

    kind: str
    use: float
    installed_at: str | None
    last_at: str | None


@dataclass(frozen=True)
class YearUse:
    """A scope's use of a year per kind: year to date, annualised meter by meter, and the coverage of each kind."""

    year_to_date: dict[str, float]
    annualised: dict[str, float]
    coverage: dict[str, Coverage]

    def insufficient(self, kinds: Iterable[str], rules: SufficiencyRules = DEFAULT_SUFFICIENCY) -> tuple[str, ...]:
        """The kinds among ``kinds`` whose data covers too little of the year for a verdict."""
        return tuple(sorted(k for k in kinds if k in self.coverage and not self.coverage[k].sufficient(rules)))


def sum_meters(meters: Iterable[MeterUse], year: int, today: date) -> dict[str, list[float]]:
    """Per kind ``[annualised use, covered days summed, meters, use year to date]``: each meter annualised by
    its own covered days (``covered_days``, ``annualised``) before the meters are summed; a meter without a
    reading in the year counts with 0 days and its use as it is (nothing). THE one place meters are
    annualised: the energy service's quotas and target totals and the data center all call it."""
    found: dict[str, list[float]] = {}
    for meter in meters:
        days = covered_days(meter.installed_at, meter.last_at, year, today)
        scaled = annualised(meter.use, days, year)
        kind = found.setdefault(meter.kind, [0.0, 0.0, 0, 0.0])
        kind[0] += meter.use if scaled is None else scaled
        kind[1] += days
        kind[2] += 1
        kind[3] += meter.use
    return found


def year_use(meters: Iterable[MeterUse], year: int, today: date) -> YearUse:
    """A scope's ``YearUse`` from its main meters (``sum_meters``), coverage against the days elapsed."""
    elapsed = elapsed_days(year, today)
    kinds = sum_meters(meters, year, today)
    return YearUse(
        year_to_date={k: round(v[3], 6) for k, v in kinds.items()},
        annualised={k: round(v[0], 6) for k, v in kinds.items()},
        coverage={k: Coverage.of(v[1], int(v[2]), elapsed) for k, v in kinds.items()},
    )


def counts_in_year(installed_at: str | None, last_at: str | None, year: int, today: date) -> bool:
    """Whether a main meter is a source of ``year``: it has a reading in the year, or it was installed by the
    year's end of a year already begun (then it counts with 0 covered days: a silent meter lowers coverage)."""
    if last_at is not None:
        return True
    if installed_at is None or year > today.year:
        return False
    return datetime.fromisoformat(installed_at).astimezone(CHINA_STANDARD_TIME).date() <= date(year, 12, 31)


def with_report(use: YearUse, report: Mapping[str, float] | None, days_elapsed: int) -> YearUse:
    """A year's use with its annual report (statistics of a year that is over) in place of the meters for
    the kinds the report names: a reported kind is its own annualised figure and covers the whole elapsed
    year as one source."""
    if not report:
        return use
    whole = Coverage.of(float(days_elapsed), 1, days_elapsed)
    return YearUse(
        year_to_date=use.year_to_date | dict(report),
        annualised=use.annualised | dict(report),
        coverage=use.coverage | {kind: whole for kind in report},
    )
