"""Queries over the energy read models: roll-ups, listings, target totals and the anomaly detection's inputs."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from services.common.kernel.clock import china_today
from services.energy.domain.anomalies import (
    DEFAULT_ANOMALY_RULES,
    AnomalyRules,
    Finding,
    WorkCalendar,
    detect_base_load,
    detect_spikes,
    detect_stuck,
)
from services.energy.domain.base import METER_UNITS
from services.energy.domain.coverage import (
    DEFAULT_SUFFICIENCY,
    MeterUse,
    YearUse,
    comparability,
    counts_in_year,
    elapsed_days,
    with_report,
    year_use,
)
from services.energy.domain.reports import annual_totals
from services.energy.domain.rollups import FACTORS_2022, NON_ENERGY_KINDS, PERIODS, FactorTable, MeterInfo, convert
from services.energy.domain.targets import BASELINE_YEAR

from .tables import (
    CHUNK,
    GROUP_COLUMNS,
    MAX_ROWS,
    annual_reports,
    anomalies,
    daily,
    flat_runs,
    floor_areas,
    gaps,
    hourly,
    meter_years,
    meters,
    quotas,
)


def _rows(conn: sa.Connection, query: Any) -> list[dict[str, Any]]:
    return [row._asdict() for row in conn.execute(query)]


def meter_infos(conn: sa.Connection, meter_ids: Sequence[str]) -> dict[str, MeterInfo]:
    """Where each known meter belongs."""
    found: dict[str, MeterInfo] = {}
    m = meters.c
    for start in range(0, len(meter_ids), CHUNK):
        query = sa.select(m.meter_id, m.agency_id, m.building_id, m.district, m.kind, m.sub_item).where(
            m.meter_id.in_(meter_ids[start : start + CHUNK])
        )
        for row in conn.execute(query):
            found[row.meter_id] = MeterInfo(row.agency_id, row.building_id, row.district, row.kind, row.sub_item)
    return found


def list_meters(
    conn: sa.Connection, agency_id: str | None, building_id: str | None, district: str | None, limit: int
) -> list[dict[str, Any]]:
    """Meters of an agency, a building or a district."""
    query = sa.select(meters)
    for column, value in (("agency_id", agency_id), ("building_id", building_id), ("district", district)):
        if value:
            query = query.where(meters.c[column] == value)
    return _rows(conn, query.order_by(meters.c.meter_id).limit(limit))


def _default_factors(year: int) -> FactorTable:
    return FACTORS_2022


def consumption(
    conn: sa.Connection, query: dict[str, Any], factors_for: Callable[[int], FactorTable] = _default_factors
) -> dict[str, Any]:
    """Use per period and group, in each kind's unit and (energy kinds) in tce and tCO₂ with the factor table
    of the period's year (``factors_for``; each row names its version, ``factors`` is the first year's).

    Totals by building, agency, district or kind count main meters only (sub-meters would count twice);
    ``by="sub_item"`` sums the sub-meters by item, as ``roll_up`` does.
    """
    period, by = query["period"], query["by"]
    table, column = (hourly, hourly.c.hour) if period == "hour" else (daily, daily.c.day)
    low, high = query["date_from"].isoformat(), query["date_to"].isoformat()
    label = column if period in ("hour", "day") else sa.func.substr(column, 1, PERIODS[period])
    group = None if by == "kind" else table.c[GROUP_COLUMNS[by]]
    selected = [table.c.kind, label.label("period"), sa.func.sum(table.c.consumption).label("consumption")]
    statement = sa.select(*([group.label("grp")] if group is not None else []), *selected)
    statement = statement.where(column >= low, column <= (f"{high}T23" if period == "hour" else high))
    if by == "sub_item":
        statement = statement.where(table.c.sub_item != "none")
    elif by != "meter":
        statement = statement.where(table.c.sub_item == "none")
    for name in ("kind", "district"):
        if query.get(name):
            statement = statement.where(table.c[name] == query[name])
    if query.get("group") and group is not None:
        statement = statement.where(group == query["group"])
    keys = ([group] if group is not None else []) + [table.c.kind, label]
    statement = statement.group_by(*keys).order_by(label, *keys[:-1]).limit(MAX_ROWS + 1)
    rows = []
    for row in conn.execute(statement):
        data = row._asdict()
        factors = factors_for(int(data["period"][:4]))
        rows.append(
            _with_conversion(data.get("grp", "all"), data["kind"], data["period"], data["consumption"], factors)
        )
    factors = factors_for(query["date_from"].year)
    return {
        "period": period,
        "by": by,
        "rows": rows[:MAX_ROWS],
        "truncated": len(rows) > MAX_ROWS,
        "factors": {"version": factors.version, "tce_source": factors.tce_source, "co2_source": factors.co2_source},
    }


def _with_conversion(group: str, kind: str, period: str, total: float, factors: FactorTable) -> dict[str, Any]:
    row: dict[str, Any] = {"group": group, "kind": kind, "period": period, "consumption": round(total, 6)}
    row["unit"] = METER_UNITS.get(kind, "")
    if kind not in NON_ENERGY_KINDS:
        converted = convert({kind: total}, factors)
        row |= {"tce": converted.tce, "tco2": converted.tco2, "factors_version": factors.version}
    return row


def use_by_kind(conn: sa.Connection, agency_id: str, first: date, last: date) -> dict[str, float]:
    """An agency's use per kind (main meters) from ``first`` to ``last``, both included."""
    d = daily.c
    query = (
        sa.select(d.kind, sa.func.sum(d.consumption))
        .where(d.agency_id == agency_id, d.sub_item == "none", d.day >= first.isoformat(), d.day <= last.isoformat())
        .group_by(d.kind)
    )
    return {kind: round(total, 6) for kind, total in conn.execute(query)}


def year_uses(
    conn: sa.Connection, year: int, as_of: date, agency_id: str | None = None, district: str | None = None
) -> dict[str, YearUse]:
    """Per agency: its main meters' use of ``year`` up to ``as_of``, annualised meter by meter by the days
    each covers, with the coverage of each kind (``coverage.year_use``, the data center's rule)."""
    m, d, y = meters.c, daily.c, meter_years.c
    query = sa.select(m.meter_id, m.agency_id, m.kind, m.installed_at).where(m.sub_item == "none")
    last = sa.select(y.meter_id, y.last_at).where(y.year == year)
    used = sa.select(d.meter_id, sa.func.sum(d.consumption)).where(
        d.sub_item == "none", d.day >= date(year, 1, 1).isoformat(), d.day <= as_of.isoformat()
    )
    for column, value in (("agency_id", agency_id), ("district", district)):
        if value:
            query = query.where(meters.c[column] == value)
            last = last.where(meter_years.c[column] == value)
            used = used.where(daily.c[column] == value)
    last_at: dict[str, str] = {meter_id: at for meter_id, at in conn.execute(last)}
    use: dict[str, float] = {meter_id: total for meter_id, total in conn.execute(used.group_by(d.meter_id))}
    found: dict[str, list[MeterUse]] = {}
    for meter in conn.execute(query):
        ends = last_at.get(meter.meter_id)
        if counts_in_year(meter.installed_at, ends, year, as_of):
            found.setdefault(meter.agency_id, []).append(
                MeterUse(meter.kind, float(use.get(meter.meter_id, 0.0)), meter.installed_at, ends)
            )
    return {agency: year_use(uses, year, as_of) for agency, uses in found.items()}


def floor_area(conn: sa.Connection, agency_id: str) -> float | None:
    """The gross floor area of an agency's buildings, as office space registered them (None if none)."""
    total = conn.execute(
        sa.select(sa.func.sum(floor_areas.c.gross_floor_area_m2)).where(floor_areas.c.agency_id == agency_id)
    ).scalar()
    return float(total) if total else None


def quotas_of_year(conn: sa.Connection, year: int) -> list[dict[str, Any]]:
    """Every quota set for ``year``."""
    return _rows(conn, sa.select(quotas).where(quotas.c.year == year).order_by(quotas.c.quota_id))


def list_quotas(
    conn: sa.Connection, year: int | None, agency_id: str | None, district: str | None
) -> list[dict[str, Any]]:
    """Quotas with their open alerts."""
    query = sa.select(quotas)
    for column, value in (("year", year), ("agency_id", agency_id), ("district", district)):
        if value:
            query = query.where(quotas.c[column] == value)
    result = _rows(conn, query.order_by(quotas.c.year, quotas.c.agency_id))
    for row in result:
        row["last_alert"] = json.loads(row["last_alert"]) if row["last_alert"] else None
    return result


def totals_for_targets(
    conn: sa.Connection,
    year: int,
    agency_id: str | None,
    district: str | None,
    factors: FactorTable = FACTORS_2022,
    today: date | None = None,
) -> list[dict[str, Any]]:
    """Per agency: energy (tce), CO₂ and water of ``year`` and of the 2020 baseline — the consumption side
    of the targets, which the data center judges (``services.gateway.kpis.against_2020``).

    Year to date (``energy_tce``, ``by_kind``) and full year (``…_annualised``: each main meter annualised
    by the days its readings cover, ``coverage.year_use``) are kept apart under different names; a kind
    of a year's annual report is the report's figure and covers the year (``with_report``). ``coverage``
    gives each kind's covered days; ``comparison`` says whether the year may be compared with 2020 at all
    (``comparability``: ``comparable``, or ``incomplete``/``insufficient_data``/``no_data``/``no_baseline``
    naming the kinds): the running year is never compared by the calendar."""
    today = today or china_today()
    years = [year, BASELINE_YEAR]
    metered = _metered_per_year(conn, years, agency_id, district)
    reported = _reported_per_year(conn, years, agency_id, district)
    uses = {wanted: year_uses(conn, wanted, _as_of(wanted, today), agency_id, district) for wanted in years}
    result = []
    for agency, in_district in sorted(set(metered) | set(reported)):
        figures = {}
        sides: dict[str, YearUse] = {}
        for label, wanted in (("current", year), ("baseline", BASELINE_YEAR)):
            key = (agency, in_district)
            report = reported.get(key, {}).get(wanted)
            totals, sources = annual_totals(metered.get(key, {}).get(wanted, {}), report)
            empty = YearUse({}, {}, {})
            side = with_report(uses[wanted].get(agency, empty), report, elapsed_days(wanted, today))
            sides[label] = side
            converted, annual = convert(totals, factors), convert(side.annualised, factors)
            figures[label] = {
                "year": wanted,
                "energy_tce": converted.tce,
                "carbon_tco2": converted.tco2,
                "water_m3": converted.water_m3,
                "by_kind": totals,
                "sources": sources,
                "energy_tce_annualised": annual.tce,
                "carbon_tco2_annualised": annual.tco2,
                "water_m3_annualised": annual.water_m3,
                "by_kind_annualised": side.annualised,
                "coverage": {kind: c.as_dict() for kind, c in side.coverage.items()},
            }
        kinds = sorted(set(sides["current"].coverage) | set(sides["baseline"].coverage))
        comparison = comparability(sides["current"].coverage, sides["baseline"].coverage, kinds)
        result.append(
            {
                "agency_id": agency,
                "district": in_district,
                **figures,
                "comparison": comparison.as_dict(),
                "factors_version": factors.version,
                "sufficiency_version": DEFAULT_SUFFICIENCY.version,
            }
        )
    return result


def _as_of(year: int, today: date) -> date:
    """The last day of ``year`` the data is judged up to: today in the running year, else 31 December."""
    return min(today, date(year, 12, 31))


def _metered_per_year(
    conn: sa.Connection, years: list[int], agency_id: str | None, district: str | None
) -> dict[tuple[str, str], dict[int, dict[str, float]]]:
    """Main meters' use per agency, year and kind."""
    d = daily.c
    year_of = sa.func.substr(d.day, 1, 4)
    query = sa.select(d.agency_id, d.district, year_of.label("year"), d.kind, sa.func.sum(d.consumption).label("total"))
    query = query.where(d.sub_item == "none", year_of.in_([str(y) for y in years]))
    if agency_id:
        query = query.where(d.agency_id == agency_id)
    if district:
        query = query.where(d.district == district)
    sums: dict[tuple[str, str], dict[int, dict[str, float]]] = {}
    for row in conn.execute(query.group_by(d.agency_id, d.district, "year", d.kind)):
        sums.setdefault((row.agency_id, row.district), {}).setdefault(int(row.year), {})[row.kind] = row.total
    return sums


def _reported_per_year(
    conn: sa.Connection, years: list[int], agency_id: str | None, district: str | None
) -> dict[tuple[str, str], dict[int, dict[str, float]]]:
    """Annual reports per agency and year."""
    r = annual_reports.c
    query = sa.select(r.agency_id, r.district, r.year, r.totals).where(r.year.in_(years))
    if agency_id:
        query = query.where(r.agency_id == agency_id)
    if district:
        query = query.where(r.district == district)
    found: dict[tuple[str, str], dict[int, dict[str, float]]] = {}
    for row in conn.execute(query):
        found.setdefault((row.agency_id, row.district), {})[row.year] = json.loads(row.totals)
    return found


def list_annual_reports(
    conn: sa.Connection, year: int | None, agency_id: str | None, district: str | None
) -> list[dict[str, Any]]:
    """Annual consumption reports by year, agency or district."""
    query = sa.select(annual_reports)
    for column, value in (("year", year), ("agency_id", agency_id), ("district", district)):
        if value:
            query = query.where(annual_reports.c[column] == value)
    rows = _rows(conn, query.order_by(annual_reports.c.year, annual_reports.c.agency_id))
    return [row | {"totals": json.loads(row["totals"])} for row in rows]


def list_anomalies(conn: sa.Connection, query: dict[str, Any]) -> list[dict[str, Any]]:
    """Anomalies, newest first, by status, kind, agency or district."""
    statement = sa.select(anomalies)
    for name in ("status", "kind", "agency_id", "district"):
        if query.get(name):
            statement = statement.where(anomalies.c[name] == query[name])
    result = _rows(conn, statement.order_by(anomalies.c.raised_at.desc(), anomalies.c.anomaly_id).limit(query["limit"]))
    for row in result:
        row["evidence"] = json.loads(row["evidence"])
    return result


def open_anomaly_counts(conn: sa.Connection) -> dict[str, int]:
    """Open and acknowledged anomalies per kind (the ``gov_open_anomalies`` gauge)."""
    a = anomalies.c
    query = sa.select(a.kind, sa.func.count()).where(a.status != "resolved").group_by(a.kind)
    return {kind: count for kind, count in conn.execute(query)}


def list_gaps(
    conn: sa.Connection, agency_id: str | None, district: str | None, meter_id: str | None, limit: int
) -> list[dict[str, Any]]:
    """Intervals without readings, newest first."""
    query = sa.select(gaps)
    for column, value in (("agency_id", agency_id), ("district", district), ("meter_id", meter_id)):
        if value:
            query = query.where(gaps.c[column] == value)
    return _rows(conn, query.order_by(gaps.c.gap_to.desc()).limit(limit))


# -- detection -------------------------------------------------------------------------------------


def find_anomalies(
    engine: Engine,
    days: Iterable[date],
    today: date,
    calendar: WorkCalendar,
    rules: AnomalyRules = DEFAULT_ANOMALY_RULES,
) -> list[tuple[Finding, MeterInfo]]:
    """Spikes and base load of every meter on ``days`` (base load only on days that are over), and stuck
    meters (long flat runs), with where each meter belongs — the periodic detector's input to ``Anomaly.open``."""
    found: list[Finding] = []
    with engine.connect() as conn:
        for day in days:
            first = day - timedelta(days=rules.baseline_days)
            for chunk in _chunks(_meters_with_use(conn, day)):
                for meter_id, series in _hourly_series(conn, chunk, first, day).items():
                    found += detect_spikes(meter_id, series, day, calendar, rules)
                    if day < today:
                        found += detect_base_load(meter_id, series, day, calendar, rules)
        for meter_id, readings in _long_flat_runs(conn, rules.stuck_readings):
            found += detect_stuck(meter_id, readings, calendar, rules)
        infos = meter_infos(conn, sorted({f.meter_id for f in found}))
    return [(finding, infos[finding.meter_id]) for finding in found if finding.meter_id in infos]


def prune_flat_runs(engine: Engine, ended_before: str, rules: AnomalyRules = DEFAULT_ANOMALY_RULES) -> None:
    """Forget closed flat runs too short to be a stuck meter, and those that ended before ``ended_before``
    (the detector has judged them)."""
    t = flat_runs.c
    too_short_or_judged = (t.length < rules.stuck_readings) | (t.run_end < ended_before)
    with engine.begin() as conn:
        conn.execute(flat_runs.delete().where(t.closed.is_(True), too_short_or_judged))


def _chunks(ids: list[str]) -> Iterable[list[str]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


def _meters_with_use(conn: sa.Connection, day: date) -> list[str]:
    h = hourly.c
    label = day.isoformat()
    query = sa.select(h.meter_id).where(h.hour >= f"{label}T00", h.hour <= f"{label}T23").distinct()
    return sorted(conn.execute(query).scalars())


def _hourly_series(conn: sa.Connection, meter_ids: list[str], first: date, last: date) -> dict[str, dict[str, float]]:
    h = hourly.c
    query = sa.select(h.meter_id, h.hour, h.consumption).where(
        h.meter_id.in_(meter_ids), h.hour >= f"{first.isoformat()}T00", h.hour <= f"{last.isoformat()}T23"
    )
    series: dict[str, dict[str, float]] = {}
    for meter_id, hour, total in conn.execute(query):
        series.setdefault(meter_id, {})[hour] = total
    return series


def _long_flat_runs(conn: sa.Connection, min_length: int) -> list[tuple[str, list[list[Any]]]]:
    t = flat_runs.c
    query = sa.select(t.meter_id, t.readings).where(t.length >= min_length).order_by(t.meter_id, t.run_start)
    return [(meter_id, json.loads(readings)) for meter_id, readings in conn.execute(query)]
