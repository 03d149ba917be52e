"""Roll-ups of interval consumption and their conversion to standard coal (tce) and CO₂.

Pure functions over plain data, for the service's read models and the gateway's data center.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from functools import lru_cache
from math import isfinite
from typing import Any, Final

from services.common.kernel.clock import CHINA_STANDARD_TIME
from services.common.kernel.errors import RuleViolation

PERIODS: Final[dict[str, int]] = {"hour": 13, "day": 10, "month": 7}
"""Roll-up periods and the length of their local label (``2024-03-01T09``, ``2024-03-01``, ``2024-03``)."""

DIMENSIONS: Final = ("meter", "building", "agency", "district", "kind", "sub_item")
"""What consumption is summed by; every roll-up is also split by meter kind, since kWh and m³ do not add."""

NON_ENERGY_KINDS: Final = frozenset({"water"})
"""Kinds that are a resource, not energy: counted on their own (water per capita), never in tce or CO₂."""


@dataclass(frozen=True)
class MeterInfo:
    """Where a meter belongs, as the roll-ups need it (from ``MeterInstalled``)."""

    agency_id: str
    building_id: str
    district: str
    kind: str
    sub_item: str = "none"


class UnknownRollup(RuleViolation):
    """The period or dimension of a roll-up is not one the platform knows."""

    code = "unknown_rollup"


class InvalidFactorTable(RuleViolation):
    """A conversion factor table must name its version and sources and give factors above zero."""

    code = "invalid_factor_table"


class NoConversionFactor(RuleViolation):
    """An energy kind has no factor in the table: its tce or CO₂ cannot be computed."""

    code = "no_conversion_factor"


@lru_cache(maxsize=65_536)
def _local_hour(utc_hour: str, on_the_hour: bool, tz: tzinfo) -> str:
    """The local hour an interval ending in ``utc_hour`` belongs to (an interval ending at 10:00 is 09:00's)."""
    moment = datetime.fromisoformat(f"{utc_hour}:00:00+00:00") - timedelta(hours=on_the_hour)
    return moment.astimezone(tz).isoformat()[:13]


def local_hour(at: str, tz: tzinfo = CHINA_STANDARD_TIME) -> str:
    """The local hour label (``YYYY-MM-DDTHH``) of the interval that ends at ``at``."""
    if len(at) != 25 or not at.endswith("+00:00"):
        at = datetime.fromisoformat(at).astimezone(UTC).isoformat(timespec="seconds")
    return _local_hour(at[:13], at[14:19] == "00:00", tz)


SPLIT_PERIODS: Final[dict[str, int]] = {"hour": 13, "day": 10, "month": 7, "year": 4}
"""Periods an interval's consumption is split over, and the length of their local label."""


def _next_boundary(moment: datetime, period: str) -> datetime:
    """The first local period boundary after ``moment`` (a local, aware datetime)."""
    if period == "hour":
        return moment.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "day":
        return day + timedelta(days=1)
    if period == "month":
        return day.replace(year=day.year + (day.month == 12), month=day.month % 12 + 1, day=1)
    return day.replace(year=day.year + 1, month=1, day=1)


def split_interval(
    start: str | None, end: str, consumption: float, period: str, tz: tzinfo = CHINA_STANDARD_TIME
) -> list[tuple[str, float]]:
    """Share one reading interval's consumption over the local periods it spans, in proportion to time.

    Why: no reading exists at midnight, so the use of an interval that straddles a day, month or year
    boundary (a monthly meter read 15 December then 15 January, a smart meter silent over New Year) is
    shared by time — the rule already decided for a late reading splitting a gap (docs/energy-periods.md). The parts
    add up to ``consumption`` exactly (the last part takes the remainder). ``start`` is the previous
    reading's moment; without one (a meter's first reading), when it is not before ``end`` or when the
    interval used nothing, the whole consumption belongs to the period in which the interval ends (``local_hour``: an interval ending at
    00:00 belongs to the day before). Returns ``[(local period label, consumption)]`` in time order.
    """
    if period not in SPLIT_PERIODS:
        raise UnknownRollup(f"no split per {period}", fields={"period": list(SPLIT_PERIODS)})
    width = SPLIT_PERIODS[period]
    if start is None or consumption == 0:  # nothing to share: no rows of zeros over a silent month
        return [(local_hour(end, tz)[:width], consumption)]
    since = datetime.fromisoformat(start).astimezone(tz)
    until = datetime.fromisoformat(end).astimezone(tz)
    if since >= until:
        return [(local_hour(end, tz)[:width], consumption)]
    whole = (until - since).total_seconds()
    parts: list[tuple[str, float]] = []
    shared = 0.0
    cursor = since
    while cursor < until:
        boundary = min(_next_boundary(cursor, period), until)
        label = cursor.isoformat()[:width]
        if boundary == until:
            part = consumption - shared
        else:
            part = consumption * (boundary - cursor).total_seconds() / whole
            shared += part
        if parts and parts[-1][0] == label:
            parts[-1] = (label, parts[-1][1] + part)
        else:
            parts.append((label, part))
        cursor = boundary
    return parts


def split_intervals(
    previous_at: str | None, readings: Iterable[Sequence[Any]], period: str, tz: tzinfo = CHINA_STANDARD_TIME
) -> tuple[dict[str, float], dict[int, str]]:
    """A batch's ``[at, value, consumption]`` readings (in time order) shared over local periods by time.

    ``previous_at`` is the meter's reading before the batch (None for its first). Returns the use per period
    label and, per local year touched, where the use attributed to it ends: the reading's moment, or 00:00
    of 1 January after it when an interval runs on into the next year (the old year is then covered to its
    end, ``coverage.covered_days``)."""
    totals: dict[str, float] = {}
    ends: dict[int, str] = {}
    start = previous_at
    for reading in readings:
        at, consumption = str(reading[0]), float(reading[2])
        parts = split_interval(start, at, consumption, period, tz)
        for label, part in parts:
            totals[label] = totals.get(label, 0.0) + part
        last_year = int(local_hour(at, tz)[:4])
        for label, _ in parts:
            year = int(label[:4])
            end = at if year >= last_year else _year_end(year, tz)
            if year not in ends or epoch_seconds(end) > epoch_seconds(ends[year]):
                ends[year] = end
        ends.setdefault(last_year, at)
        if epoch_seconds(at) > epoch_seconds(ends[last_year]):
            ends[last_year] = at
        start = at
    return totals, ends


def _year_end(year: int, tz: tzinfo) -> str:
    """00:00 local of 1 January after ``year``, as the canonical UTC string of readings."""
    return datetime(year + 1, 1, 1, tzinfo=tz).astimezone(UTC).isoformat(timespec="seconds")


def epoch_seconds(at: str) -> float:
    """Seconds since the epoch of an ISO moment with its offset."""
    return datetime.fromisoformat(at).timestamp()


def refill_gap(
    gap_from: str, gap_to: str, use: float, late: Iterable[Sequence[Any]], adjustments: Mapping[str, float]
) -> list[tuple[str, str, float]]:
    """A gap's parts once late readings fell inside it: ``[(from, to, use)]`` in time order, adding up to the
    gap's ``use``.

    Why: the gap's use was shared over its days by time; a late reading splits it, so each part's use is
    shared over its own days (remove ``split_interval(gap_from, gap_to, use)``, add each part's). A late
    reading's use is its recorded consumption plus any adjustment at its own moment (a later late reading
    of the same event took part of it); the last part keeps what the late readings did not take.
    """
    points = sorted(((str(r[0]), float(r[2])) for r in late), key=lambda p: epoch_seconds(p[0]))
    parts: list[tuple[str, str, float]] = []
    start, taken = gap_from, 0.0
    for at, consumption in points:
        part = round(consumption + adjustments.get(at, 0.0), 6)
        parts.append((start, at, part))
        taken += part
        start = at
    parts.append((start, gap_to, round(use - taken, 6)))
    return parts


def roll_up(
    intervals: Iterable[tuple[str, str, float]],
    meters: Mapping[str, MeterInfo],
    period: str,
    by: str,
    tz: tzinfo = CHINA_STANDARD_TIME,
) -> dict[tuple[str, str, str], float]:
    """Sum ``(meter_id, at, consumption)`` intervals into ``{(group, kind, period label): total}``.

    An interval's consumption belongs to the local period in which it ends (a reading at 10:00 closes
    09:55–10:00). Totals by building, agency, district or kind count main meters only, so that
    sub-meters are not counted twice; ``by="sub_item"`` sums the sub-meters by item. For
    ``by="kind"`` the group is ``"all"``. Intervals of meters missing from ``meters`` are skipped.
    """
    if period not in PERIODS or by not in DIMENSIONS:
        raise UnknownRollup(
            f"no roll-up by {by} per {period}",
            fields={"period": list(PERIODS), "by": list(DIMENSIONS)},
        )
    width = PERIODS[period]
    totals: dict[tuple[str, str, str], float] = {}
    for meter_id, at, consumption in intervals:
        info = meters.get(meter_id)
        if info is None or (group := _group(meter_id, info, by)) is None:
            continue
        key = (group, info.kind, local_hour(at, tz)[:width])
        totals[key] = totals.get(key, 0.0) + consumption
    return {key: round(total, 6) for key, total in totals.items()}


def _group(meter_id: str, info: MeterInfo, by: str) -> str | None:
    """The group a meter counts in for ``by``; None when it does not count there."""
    if by == "meter":
        return meter_id
    if by == "sub_item":
        return None if info.sub_item == "none" else info.sub_item
    if info.sub_item != "none":
        return None
    if by == "kind":
        return "all"
    return {"building": info.building_id, "agency": info.agency_id, "district": info.district}[by]


@dataclass(frozen=True)
class FactorTable:
    """A versioned table of conversion factors per meter kind, naming its sources.

    ``kgce_per_unit``: kilograms of standard coal per unit of the kind; ``kgco2_per_unit``: kilograms
    of CO₂ per unit.
    """

    version: str
    tce_source: str
    co2_source: str
    kgce_per_unit: Mapping[str, float]
    kgco2_per_unit: Mapping[str, float]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FactorTable:
        """A table from its JSON form (``to_dict``); InvalidFactorTable naming what is wrong."""
        problems: dict[str, list[str]] = {}
        for name in ("version", "tce_source", "co2_source"):
            if not isinstance(data.get(name), str) or not data[name].strip():
                problems[name] = ["a non-empty string is required"]
        for name in ("kgce_per_unit", "kgco2_per_unit"):
            factors = data.get(name)
            if not isinstance(factors, Mapping) or not factors:
                problems[name] = ["a non-empty object {kind: factor} is required"]
                continue
            wrong = [k for k, v in factors.items() if type(v) not in (int, float) or not (isfinite(v) and v > 0)]
            if wrong:
                problems[name] = [f"factors must be numbers above zero: {', '.join(sorted(map(str, wrong)))}"]
        unknown = set(data) - {"version", "tce_source", "co2_source", "kgce_per_unit", "kgco2_per_unit"}
        if unknown:
            problems |= {name: ["unknown field"] for name in sorted(unknown)}
        if problems:
            raise InvalidFactorTable("the conversion factor table is not valid", fields=problems)
        return cls(
            data["version"],
            data["tce_source"],
            data["co2_source"],
            {str(k): float(v) for k, v in data["kgce_per_unit"].items()},
            {str(k): float(v) for k, v in data["kgco2_per_unit"].items()},
        )

    def to_dict(self) -> dict[str, Any]:
        """The table as JSON-native values (what ``ENERGY_FACTORS_FILE`` holds)."""
        return {
            "version": self.version,
            "tce_source": self.tce_source,
            "co2_source": self.co2_source,
            "kgce_per_unit": dict(self.kgce_per_unit),
            "kgco2_per_unit": dict(self.kgco2_per_unit),
        }


FACTORS_2022: Final = FactorTable(
    version="GB/T2589-2020+grid2022",
    tce_source=(
        "GB/T 2589-2020 综合能耗计算通则: electricity 0.1229 kgce/kWh (当量值, equivalent value); natural gas "
        "1.2143 kgce/m³ (8 500 kcal/m³); heat 34.12 kgce/GJ; diesel 1.4571 kgce/kg at 0.85 kg/L = 1.2385 kgce/L"
    ),
    co2_source=(
        "electricity: national grid average 0.5703 tCO₂/MWh for 2022 (生态环境部, 2023); natural gas 2.1622 "
        "kgCO₂/m³ and diesel 3.0959 tCO₂/t (×0.85 kg/L) from the IPCC 2006 defaults used by the 公共机构 "
        "accounting guides; heat 0.11 tCO₂/GJ (核算指南 default)"
    ),
    kgce_per_unit={"electricity": 0.1229, "natural_gas": 1.2143, "heat": 34.12, "fuel": 1.2385},
    kgco2_per_unit={"electricity": 0.5703, "natural_gas": 2.1622, "heat": 110.0, "fuel": 2.6315},
)
"""The default factor table. A deployment passes another ``FactorTable`` (e.g. the power-equivalent
value 当量/等价 choice, or a newer grid factor) with its own version; every conversion names the version."""


@dataclass(frozen=True)
class Conversion:
    """Energy totals in standard coal and CO₂, with the factor version used and the water kept apart."""

    tce: float
    tco2: float
    water_m3: float
    factors_version: str


def convert(totals: Mapping[str, float], factors: FactorTable = FACTORS_2022) -> Conversion:
    """Convert consumption per kind (in each kind's unit) to tce and tCO₂; water is reported on its own."""
    tce = tco2 = 0.0
    for kind, quantity in totals.items():
        if kind in NON_ENERGY_KINDS:
            continue
        if kind not in factors.kgce_per_unit or kind not in factors.kgco2_per_unit:
            raise NoConversionFactor(
                f"factor table {factors.version} has no factor for {kind}",
                fields={"kind": ["no conversion factor"]},
                details={"kind": kind, "factors_version": factors.version},
            )
        tce += quantity * factors.kgce_per_unit[kind] / 1000
        tco2 += quantity * factors.kgco2_per_unit[kind] / 1000
    return Conversion(round(tce, 6), round(tco2, 6), round(totals.get("water", 0.0), 6), factors.version)
