"""The data center's energy figures (公共机构节能): per agency, the year's use per kind in native units, tce and
CO₂, the 2020 baseline year, the quota and the forecast against it, and the open anomalies.

Cheap at city scale (50,000 meters every 5 minutes): the projection keeps one reading per meter, its last
(``dc_energy_last_readings``: where the next batch's first interval starts, as each interval is shared by
time over the days it spans). Each ``MeterReadingsRecorded`` (one meter's batch) adds its main-meter
consumption to one row per agency, kind and local day (``dc_energy_daily``, for trends) and per agency, kind
and year (``dc_energy_yearly``, what the figures read) — a read of the last reading and a few upserts per event; sub-meters (分项) are left out, as their main meter
already counts them. Annual reports (statistics), quotas, anomalies and building floor areas are one row
each. Conversions use the factor table of the figures' year: the newest adopted for it
(``FactorTableAdopted``, ``dc_energy_factor_tables``), else the deployment's default (``ENERGY_FACTORS_FILE``
or the built-in one), as the energy service chooses.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import date
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from services.common.base.settings import topic_for
from services.common.kernel.clock import china_date, china_today
from services.common.kernel.events import Envelope
from services.common.read import sql
from services.common.read.projector import Projection
from services.energy.read_model import (
    BASELINE_YEAR,
    METER_UNITS,
    NON_ENERGY_KINDS,
    Coverage,
    FactorTable,
    FloorAreaRequired,
    MeterUse,
    adopted_from,
    annual_totals,
    configured_factors,
    convert,
    counts_in_year,
    elapsed_days,
    epoch_seconds,
    forecast_against_quota,
    quota_in_tce,
    refill_gap,
    split_intervals,
    sum_meters,
    table_for_year,
)
from services.gateway.views.agencies import agencies_table

metadata = sa.MetaData()
meters = sa.Table(
    "dc_energy_meters",
    metadata,
    sa.Column("meter_id", sa.String(64), primary_key=True),
    sa.Column("agency_id", sa.String(64)),
    sa.Column("district", sa.String(6)),
    sa.Column("kind", sa.String(20)),
    sa.Column("sub_item", sa.String(20)),
    sa.Column("installed_at", sa.String(25)),
)
meter_years = sa.Table(
    "dc_energy_meter_years",
    metadata,
    sa.Column("meter_id", sa.String(64), primary_key=True),
    sa.Column("year", sa.Integer(), primary_key=True),
    sa.Column("agency_id", sa.String(64)),
    sa.Column("district", sa.String(6)),
    sa.Column("kind", sa.String(20)),
    sa.Column("consumption", sa.Float()),
    sa.Column("last_at", sa.String(25)),
)
"""Per main meter and local year: its use and its last reading, from which its covered days are known
(``services.energy.domain.coverage``)."""
last_readings = sa.Table(
    "dc_energy_last_readings",
    metadata,
    sa.Column("meter_id", sa.String(64), primary_key=True),
    sa.Column("last_at", sa.String(25)),
)
"""Per main meter: its latest reading's moment, where the next batch's first interval starts (an interval is
shared over the days and years it spans by time, ``split_intervals``)."""
meter_gaps = sa.Table(
    "dc_energy_gaps",
    metadata,
    sa.Column("meter_id", sa.String(64), primary_key=True),
    sa.Column("gap_from", sa.String(25), primary_key=True),
    sa.Column("gap_to", sa.String(25)),
    sa.Column("consumption", sa.Float()),
)
"""Per main meter: its gaps and their use, so a late reading inside one moves the use the gap's days were
given (``refill_gap``); a split gap is replaced by all its parts, as the meter keeps them."""
closed_years = sa.Table(
    "dc_energy_closed_years",
    metadata,
    sa.Column("year", sa.Integer(), primary_key=True),
    sa.Column("figures", sa.Text()),
    sa.Column("versions", sa.Text()),
    sa.Column("closed_on", sa.String(10)),
    sa.Column("restated_on", sa.String(10)),
    sa.Column("reason", sa.Text()),
)
"""Closed years: every agency's frozen figures (JSON) and the versions of the methods they used."""
factor_tables = sa.Table(
    "dc_energy_factor_tables",
    metadata,
    sa.Column("adoption", sa.Integer(), primary_key=True, autoincrement=False),
    sa.Column("version", sa.String(64)),
    sa.Column("valid_from", sa.Integer()),
    sa.Column("valid_to", sa.Integer()),
    sa.Column("payload", sa.Text()),
)
"""Adopted factor tables in adoption order (``adoption``: the event's place in its one stream), each with the
years it is valid for and the event's payload, from which ``factors_for`` picks a year's table."""
daily = sa.Table(
    "dc_energy_daily",
    metadata,
    sa.Column("agency_id", sa.String(64), primary_key=True),
    sa.Column("kind", sa.String(20), primary_key=True),
    sa.Column("day", sa.String(10), primary_key=True),
    sa.Column("district", sa.String(6)),
    sa.Column("consumption", sa.Float()),
)
yearly = sa.Table(
    "dc_energy_yearly",
    metadata,
    sa.Column("agency_id", sa.String(64), primary_key=True),
    sa.Column("kind", sa.String(20), primary_key=True),
    sa.Column("year", sa.Integer(), primary_key=True),
    sa.Column("district", sa.String(6)),
    sa.Column("consumption", sa.Float()),
)
reports = sa.Table(
    "dc_energy_reports",
    metadata,
    sa.Column("agency_id", sa.String(64), primary_key=True),
    sa.Column("year", sa.Integer(), primary_key=True),
    sa.Column("district", sa.String(6)),
    sa.Column("totals", sa.Text()),
    sa.Column("vehicle_fuel", sa.Text()),
    sa.Column("floor_area_m2", sa.Float()),
    sa.Column("people_served", sa.Integer()),
)
quotas = sa.Table(
    "dc_energy_quotas",
    metadata,
    sa.Column("agency_id", sa.String(64), primary_key=True),
    sa.Column("year", sa.Integer(), primary_key=True),
    sa.Column("district", sa.String(6)),
    sa.Column("basis", sa.String(20)),
    sa.Column("quota_limit", sa.Float()),
    sa.Column("alert_open", sa.Boolean()),
)
anomalies = sa.Table(
    "dc_energy_anomalies",
    metadata,
    sa.Column("anomaly_id", sa.String(64), primary_key=True),
    sa.Column("kind", sa.String(40)),
    sa.Column("agency_id", sa.String(64)),
    sa.Column("district", sa.String(6)),
    sa.Column("meter_id", sa.String(64)),
    sa.Column("opened_on", sa.String(10)),
    sa.Column("status", sa.String(20)),
    sa.Column("detail", sa.String(500)),
)
floor_areas = sa.Table(
    "dc_energy_floor_areas",
    metadata,
    sa.Column("building_id", sa.String(64), primary_key=True),
    sa.Column("agency_id", sa.String(64)),
    sa.Column("gross_floor_area_m2", sa.Float()),
)

FIGURE_KEYS = {kind: f"{kind}_{unit.lower()}" for kind, unit in METER_UNITS.items()}
"""The figure of each kind, named with its unit: ``electricity_kwh``, ``water_m3``, ``natural_gas_m3``,
``heat_gj``, ``fuel_l``."""


def _years(days: dict[str, float], ends: dict[int, str]) -> dict[int, list[Any]]:
    """Per local year: its use (the sum of its days) and where that use ends (its covered end)."""
    years: dict[int, float] = {}
    for day, used in days.items():
        years[int(day[:4])] = years.get(int(day[:4]), 0.0) + used
    return {year: [use, ends[year]] for year, use in years.items() if year in ends}


def _merge(days: dict[str, float], ends: dict[int, str], more: dict[str, float], more_ends: dict[int, str]) -> None:
    """Add one interval's days (and years' covered ends) to an event's."""
    for day, used in more.items():
        days[day] = days.get(day, 0.0) + used
    for year, at in more_ends.items():
        if year not in ends or epoch_seconds(at) > epoch_seconds(ends[year]):
            ends[year] = at


def _between(start: str, at: str, end: str) -> bool:
    return epoch_seconds(start) < epoch_seconds(at) < epoch_seconds(end)


def _upsert_add(conn: sa.Connection, table: sa.Table, keys: list[str], rows: list[dict[str, Any]]) -> None:
    """Insert rows, or add their consumption to the rows with the same keys (SQLite and PostgreSQL)."""
    if rows:
        sql.run(conn, _adding_upsert(conn.dialect.name, table, tuple(keys)), rows)


@cache
def _meter_year_upsert(dialect: str) -> sa.Insert:
    """Add a meter-year's use and keep its latest reading (a late reading never moves ``last_at`` back)."""
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(meter_years)
    latest = sa.case(
        (insert.excluded.last_at > meter_years.c.last_at, insert.excluded.last_at), else_=meter_years.c.last_at
    )
    return insert.on_conflict_do_update(
        index_elements=["meter_id", "year"],
        set_={"consumption": meter_years.c.consumption + insert.excluded.consumption, "last_at": latest},
    )


@cache
def _adding_upsert(dialect: str, table: sa.Table, keys: tuple[str, ...]) -> sa.Insert:
    """The upsert statement, built once per dialect and table: building it costs ten times its execution."""
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
    return insert.on_conflict_do_update(
        index_elements=list(keys), set_={"consumption": table.c.consumption + insert.excluded.consumption}
    )


def anomaly_detail(kind: str, meter_id: str, period_start: str, evidence: dict[str, Any]) -> str:
    """One line saying what an anomaly is, from its evidence (for the open-findings list)."""
    e = evidence
    if kind == "spike":
        text = f"{e.get('consumption')} in hour {e.get('hour')}, median of that hour {e.get('baseline_median')}"
    elif kind in ("night_base_load", "weekend_base_load"):
        text = f"base load {e.get('share', 0):.0%} of working-hours load on {e.get('day')}"
    elif kind == "stuck_meter":
        text = f"{e.get('readings')} readings unchanged at {e.get('value')} from {period_start}"
    elif kind == "missing_data":
        text = f"no readings for {e.get('seconds', 0) / 3600:.1f} h from {period_start}"
    elif kind == "negative_consumption":
        text = f"{e.get('count')} readings with the counter going backwards from {period_start}"
    else:
        text = json.dumps(e, ensure_ascii=False)
    return f"meter {meter_id}: {kind.replace('_', ' ')}: {text}"[:500]


class EnergyFigures(Projection):
    """Use per agency, kind and day / year; annual reports, quotas, anomalies, floor areas."""

    topics: tuple[str, ...] = (topic_for("energy"), topic_for("office_space"))
    tables = (
        meters,
        meter_years,
        last_readings,
        meter_gaps,
        closed_years,
        factor_tables,
        daily,
        yearly,
        reports,
        quotas,
        anomalies,
        floor_areas,
    )

    # -- meters and their use ------------------------------------------------------------------------

    def on_MeterInstalled(self, conn: sa.Connection, env: Envelope) -> None:
        """A meter and where it counts."""
        p = env.payload
        row = {k: p[k] for k in ("meter_id", "agency_id", "district", "kind", "sub_item", "installed_at")}
        sql.insert(conn, meters, row)
        if p["sub_item"] == "none":  # the first interval runs from the installation (its initial reading)
            self._set_last_reading(conn, p["meter_id"], p["installed_at"])

    def on_MeterReadingsRecorded(self, conn: sa.Connection, env: Envelope) -> None:
        """A meter's batch: its consumption per local day, added to its agency's day and year (main meters).
        Each interval is shared by time over the days (and years) it spans, from the meter's previous reading."""
        p = env.payload
        if p["sub_item"] != "none":
            return
        meter_id, readings = p["meter_id"], p["readings"]
        days, ends = split_intervals(self._last_reading(conn, meter_id), readings, "day")
        self._add(conn, str(env.agency_id), str(env.district), p["kind"], days)
        self._add_meter_years(conn, meter_id, str(env.agency_id), str(env.district), p["kind"], _years(days, ends))
        self._set_last_reading(conn, meter_id, readings[-1][0])
        if p["gaps"]:
            used = {r[0]: r[2] for r in readings}
            rows = [
                {"meter_id": meter_id, "gap_from": start, "gap_to": end, "consumption": used.get(end, 0.0)}
                for start, end, _ in p["gaps"]
            ]
            sql.insert(conn, meter_gaps, rows)

    def on_LateReadingsRecorded(self, conn: sa.Connection, env: Envelope) -> None:
        """Late readings inside gaps: the use each gap's days were given is shared again over the gap's parts
        (``refill_gap``); the year's total of a meter moves only when the parts lie in different years."""
        p = env.payload
        if p["sub_item"] != "none":
            return
        meter_id = p["meter_id"]
        adjustments = {a[0]: float(a[1]) for a in p["adjustments"]}
        stored = conn.execute(sa.select(meter_gaps).where(meter_gaps.c.meter_id == meter_id)).all()
        days: dict[str, float] = {}
        ends: dict[int, str] = {}
        for gap in stored:
            inside = [r for r in p["readings"] if _between(gap.gap_from, r[0], gap.gap_to)]
            if not inside:
                continue
            removed, _ = split_intervals(gap.gap_from, [[gap.gap_to, None, -gap.consumption]], "day")
            _merge(days, ends, removed, {})
            parts = refill_gap(gap.gap_from, gap.gap_to, gap.consumption, inside, adjustments)
            for start, end, used in parts:
                _merge(days, ends, *split_intervals(start, [[end, None, used]], "day"))
            sql.delete(conn, meter_gaps, {"meter_id": meter_id, "gap_from": gap.gap_from})
            rows = [
                {"meter_id": meter_id, "gap_from": start, "gap_to": end, "consumption": used}
                for start, end, used in parts
            ]
            sql.insert(conn, meter_gaps, rows)
        self._add(conn, str(env.agency_id), str(env.district), p["kind"], days)
        self._add_meter_years(conn, meter_id, str(env.agency_id), str(env.district), p["kind"], _years(days, ends))

    def _last_reading(self, conn: sa.Connection, meter_id: str) -> str | None:
        found = conn.execute(sa.select(last_readings.c.last_at).where(last_readings.c.meter_id == meter_id)).scalar()
        return None if found is None else str(found)

    def _set_last_reading(self, conn: sa.Connection, meter_id: str, at: str) -> None:
        if conn.execute(sa.select(last_readings.c.last_at).where(last_readings.c.meter_id == meter_id)).first():
            sql.update(conn, last_readings, {"meter_id": meter_id}, {"last_at": at})
        else:
            sql.insert(conn, last_readings, {"meter_id": meter_id, "last_at": at})

    def _add_meter_years(
        self, conn: sa.Connection, meter_id: str, agency_id: str, district: str, kind: str, years: dict[int, list[Any]]
    ) -> None:
        where = {"meter_id": meter_id, "agency_id": agency_id, "district": district, "kind": kind}
        rows = [where | {"year": y, "consumption": c, "last_at": at} for y, (c, at) in years.items()]
        if rows:
            sql.run(conn, _meter_year_upsert(conn.dialect.name), rows)

    def on_MeterReplaced(self, conn: sa.Connection, env: Envelope) -> None:
        """The old device's last use, shared by time from its previous reading to the replacement."""
        p = env.payload
        meter = conn.execute(sa.select(meters).where(meters.c.meter_id == p["meter_id"])).first()
        if meter is None or meter.sub_item != "none":
            return
        final = [[p["replaced_at"], None, p["final_consumption"]]]
        days, ends = split_intervals(self._last_reading(conn, p["meter_id"]), final, "day")
        self._add(conn, meter.agency_id, meter.district, meter.kind, days)
        self._add_meter_years(conn, p["meter_id"], meter.agency_id, meter.district, meter.kind, _years(days, ends))
        self._set_last_reading(conn, p["meter_id"], p["replaced_at"])

    def _add(self, conn: sa.Connection, agency_id: str, district: str, kind: str, days: dict[str, float]) -> None:
        where = {"agency_id": agency_id, "kind": kind, "district": district}
        _upsert_add(
            conn, daily, ["agency_id", "kind", "day"], [where | {"day": d, "consumption": c} for d, c in days.items()]
        )
        years: dict[int, float] = {}
        for day, consumption in days.items():
            years[int(day[:4])] = years.get(int(day[:4]), 0.0) + consumption
        rows = [where | {"year": y, "consumption": c} for y, c in years.items()]
        _upsert_add(conn, yearly, ["agency_id", "kind", "year"], rows)

    # -- closed years --------------------------------------------------------------------------------

    def on_EnergyYearClosed(self, conn: sa.Connection, env: Envelope) -> None:
        """A year's figures frozen with the versions of their methods."""
        p = env.payload
        row = {"year": p["year"], "figures": json.dumps(p["figures"]), "versions": json.dumps(p["versions"])}
        sql.insert(conn, closed_years, row | {"closed_on": p["closed_on"], "restated_on": None, "reason": None})

    def on_EnergyYearRestated(self, conn: sa.Connection, env: Envelope) -> None:
        """A closed year restated by explicit decision."""
        p = env.payload
        values = {"figures": json.dumps(p["figures"]), "versions": json.dumps(p["versions"])}
        sql.update(
            conn, closed_years, {"year": p["year"]}, values | {"restated_on": p["restated_on"], "reason": p["reason"]}
        )

    # -- factor tables ---------------------------------------------------------------------------------

    def on_FactorTableAdopted(self, conn: sa.Connection, env: Envelope) -> None:
        """A factor table adopted for the years it names (a closed year keeps its figures until restated)."""
        p = env.payload
        row = {"adoption": env.stream_version, "version": p["version"], "valid_from": p["valid_from"]}
        sql.insert(conn, factor_tables, row | {"valid_to": p["valid_to"], "payload": json.dumps(p)})

    # -- annual reports and quotas -------------------------------------------------------------------

    def on_AnnualConsumptionReported(self, conn: sa.Connection, env: Envelope) -> None:
        """An agency's statistics of a year."""
        p = env.payload
        row = {k: p[k] for k in ("agency_id", "year", "district", "floor_area_m2", "people_served")}
        row |= {"totals": json.dumps(p["totals"]), "vehicle_fuel": json.dumps(p["vehicle_fuel"])}
        sql.insert(conn, reports, row)

    def on_AnnualConsumptionCorrected(self, conn: sa.Connection, env: Envelope) -> None:
        """Corrected statistics."""
        p = env.payload
        key = {"agency_id": p["agency_id"], "year": p["year"]}
        sql.update(conn, reports, key, {"totals": json.dumps(p["totals"])})

    def on_EnergyQuotaSet(self, conn: sa.Connection, env: Envelope) -> None:
        """An agency's quota of a year."""
        p = env.payload
        row = {k: p[k] for k in ("agency_id", "year", "district", "basis")}
        sql.insert(conn, quotas, row | {"quota_limit": p["limit"], "alert_open": False})

    def on_EnergyQuotaRevised(self, conn: sa.Connection, env: Envelope) -> None:
        """A new limit."""
        self._quota(conn, env, quota_limit=env.payload["limit"])

    def on_QuotaOverrunAlerted(self, conn: sa.Connection, env: Envelope) -> None:
        """The energy service alerted the agency."""
        self._quota(conn, env, alert_open=True)

    def on_QuotaOverrunCleared(self, conn: sa.Connection, env: Envelope) -> None:
        """The trend came back within the quota."""
        self._quota(conn, env, alert_open=False)

    def _quota(self, conn: sa.Connection, env: Envelope, **values: Any) -> None:
        p = env.payload
        sql.update(conn, quotas, {"agency_id": p["agency_id"], "year": p["year"]}, values)

    # -- anomalies -----------------------------------------------------------------------------------

    def on_AnomalyRaised(self, conn: sa.Connection, env: Envelope) -> None:
        """An anomaly raised to its agency."""
        p = env.payload
        row = {k: p[k] for k in ("anomaly_id", "kind", "agency_id", "district", "meter_id")}
        detail = anomaly_detail(p["kind"], p["meter_id"], p["period_start"], p["evidence"])
        # dated the fact (the start of the period the anomaly concerns, a Beijing date), not the detection: a
        # month of readings loaded late opens its findings on the days they concern
        opened_on = china_date(p["period_start"])
        sql.insert(conn, anomalies, row | {"opened_on": opened_on, "status": "open"} | {"detail": detail})

    def on_AnomalyAcknowledged(self, conn: sa.Connection, env: Envelope) -> None:
        """The agency took the anomaly on."""
        sql.update(conn, anomalies, {"anomaly_id": env.payload["anomaly_id"]}, {"status": "acknowledged"})

    def on_AnomalyResolved(self, conn: sa.Connection, env: Envelope) -> None:
        """The agency rectified it."""
        sql.update(conn, anomalies, {"anomaly_id": env.payload["anomaly_id"]}, {"status": "resolved"})

    # -- floor areas (per-m² quotas) -----------------------------------------------------------------

    def on_BuildingRegistered(self, conn: sa.Connection, env: Envelope) -> None:
        """A building's gross floor area (office space), which per-m² quotas are multiplied by."""
        p = env.payload
        sql.insert(conn, floor_areas, {k: p[k] for k in ("building_id", "agency_id", "gross_floor_area_m2")})


PROJECTIONS: list[Projection] = [EnergyFigures()]


# -- per-agency figures ----------------------------------------------------------------------------


def _filtered(query: sa.Select[Any], table: sa.Table, district: str | None, agency_id: str | None) -> sa.Select[Any]:
    if district and "district" in table.c:
        query = query.where(table.c.district == district)
    if agency_id:
        query = query.where(table.c.agency_id == agency_id)
    return query


def _agencies(conn: sa.Connection, district: str | None, agency_id: str | None) -> dict[str, str]:
    """Every agency of the scope, from the directory and from the energy rows, with its district."""
    found: dict[str, str] = {}
    for table in (agencies_table, yearly, reports, quotas, anomalies):
        query = _filtered(sa.select(table.c.agency_id, table.c.district).distinct(), table, district, agency_id)
        found.update({row.agency_id: row.district for row in conn.execute(query) if row.agency_id not in found})
    return found


def _metered(
    conn: sa.Connection, years: list[int], district: str | None, agency_id: str | None
) -> dict[tuple[str, int], dict[str, float]]:
    """Main meters' use per (agency, year) and kind."""
    y = yearly.c
    query = _filtered(sa.select(y.agency_id, y.year, y.kind, y.consumption), yearly, district, agency_id)
    found: dict[tuple[str, int], dict[str, float]] = {}
    for row in conn.execute(query.where(y.year.in_(years))):
        found.setdefault((row.agency_id, row.year), {})[row.kind] = row.consumption
    return found


def _rows(
    conn: sa.Connection, table: sa.Table, years: list[int], district: str | None, agency_id: str | None
) -> dict[tuple[str, int], sa.Row[Any]]:
    """The rows of a table keyed by agency and year (reports, quotas)."""
    query = _filtered(sa.select(table), table, district, agency_id).where(table.c.year.in_(years))
    return {(row.agency_id, row.year): row for row in conn.execute(query)}


def _areas(conn: sa.Connection, agency_ids: Iterable[str]) -> dict[str, float]:
    f = floor_areas.c
    query = sa.select(f.agency_id, sa.func.sum(f.gross_floor_area_m2)).where(f.agency_id.in_(list(agency_ids)))
    return {agency: float(area) for agency, area in conn.execute(query.group_by(f.agency_id)) if area}


def _open_anomalies(conn: sa.Connection, district: str | None, agency_id: str | None) -> dict[str, int]:
    a = anomalies.c
    query = sa.select(a.agency_id, sa.func.count()).where(a.status != "resolved").group_by(a.agency_id)
    return {agency: count for agency, count in conn.execute(_filtered(query, anomalies, district, agency_id))}


def _meter_coverage(
    conn: sa.Connection, years: list[int], today: date, district: str | None, agency_id: str | None
) -> dict[tuple[str, int], dict[str, list[float]]]:
    """Per (agency, year) and kind of its main meters: ``[annualised use, covered days summed, meters, use]``
    (``sum_meters``: each meter annualised by its own covered days before the meters are summed); a meter
    installed before the year's end without a reading in it counts with 0 days."""
    m, y = meters.c, meter_years.c
    query = _filtered(sa.select(m.meter_id, m.agency_id, m.kind, m.installed_at), meters, district, agency_id)
    installed = list(conn.execute(query.where(m.sub_item == "none")))
    query = _filtered(sa.select(y.meter_id, y.year, y.consumption, y.last_at), meter_years, district, agency_id)
    used = {(row.meter_id, row.year): row for row in conn.execute(query.where(y.year.in_(years)))}
    found: dict[tuple[str, int], dict[str, list[float]]] = {}
    for year in years:
        per_agency: dict[str, list[MeterUse]] = {}
        for meter in installed:
            row = used.get((meter.meter_id, year))
            if not counts_in_year(meter.installed_at, row.last_at if row else None, year, today):
                continue
            use = MeterUse(
                meter.kind, float(row.consumption) if row else 0.0, meter.installed_at, row.last_at if row else None
            )
            per_agency.setdefault(meter.agency_id, []).append(use)
        for agency, uses in per_agency.items():
            found[(agency, year)] = sum_meters(uses, year, today)
    return found


def _coverage_figures(
    prefix: str,
    year: int,
    today: date,
    metered: dict[str, list[float]],
    report: dict[str, float] | None,
    factors: FactorTable,
) -> dict[str, Any]:
    """The annualised use per kind and its coverage sums (``…_source_days``, ``…_sources``): a reported
    kind (statistics of a year that is over) covers the whole year as one source."""
    elapsed = elapsed_days(year, today)
    figures: dict[str, Any] = {}
    annual: dict[str, float] = {}
    for kind, key in FIGURE_KEYS.items():
        if report is not None and kind in report:
            scaled, days, sources = report[kind], float(elapsed), 1.0
        else:
            scaled, days, sources = metered.get(kind, [0.0, 0.0, 0.0])[:3]
        annual[kind] = scaled
        figures[f"{prefix}{key}_annualised"] = round(scaled, 6)
        figures[f"{prefix}{key}_source_days"] = round(days, 4)
        figures[f"{prefix}{key}_sources"] = int(sources)
    converted = convert(annual, factors)
    return figures | {
        f"{prefix}energy_tce_annualised": converted.tce,
        f"{prefix}carbon_tco2_annualised": converted.tco2,
    }


BASELINE_EXTRAS = (
    "baseline_vehicle_gasoline_l",
    "baseline_vehicle_diesel_l",
    "baseline_vehicle_charging_kwh",
    "baseline_floor_area_m2",
    "baseline_people",
    "baseline_area_reported",
    "baseline_people_reported",
)
"""What the 2020 report gives beside its totals, summable: vehicle use by kind, the 2020 floor area and people
served, and whether it gave them (a count of agencies once summed)."""


def _baseline_extras(report: sa.Row[Any] | None) -> dict[str, Any]:
    fuel = json.loads(report.vehicle_fuel) if report is not None and report.vehicle_fuel else {}
    area = report.floor_area_m2 if report is not None else None
    people = report.people_served if report is not None else None
    return {
        "baseline_vehicle_gasoline_l": fuel.get("vehicle_gasoline", 0.0),
        "baseline_vehicle_diesel_l": fuel.get("vehicle_diesel", 0.0),
        "baseline_vehicle_charging_kwh": fuel.get("vehicle_charging", 0.0),
        "baseline_floor_area_m2": area or 0.0,
        "baseline_people": people or 0,
        "baseline_area_reported": int(area is not None),
        "baseline_people_reported": int(people is not None),
    }


def coverage_keys(prefix: str = "") -> tuple[str, ...]:
    """The summable coverage figures of ``energy_by_agency`` (``prefix`` ``baseline_`` for the 2020 ones)."""
    per_kind = [
        f"{prefix}{key}_{part}" for key in FIGURE_KEYS.values() for part in ("annualised", "source_days", "sources")
    ]
    return (*per_kind, f"{prefix}energy_tce_annualised", f"{prefix}carbon_tco2_annualised")


def _year_figures(prefix: str, totals: dict[str, float], factors: FactorTable) -> dict[str, Any]:
    converted = convert(totals, factors)
    figures: dict[str, Any] = {f"{prefix}{key}": round(totals.get(kind, 0.0), 6) for kind, key in FIGURE_KEYS.items()}
    return figures | {f"{prefix}energy_tce": converted.tce, f"{prefix}carbon_tco2": converted.tco2}


def energy_by_agency(
    conn: sa.Connection,
    district: str | None = None,
    agency_id: str | None = None,
    year: int | None = None,
    today: date | None = None,
    factors: FactorTable | None = None,
) -> dict[str, dict[str, Any]]:
    """Per agency (id → figures) of a district, one agency or the city, for ``year`` (default: this year).

    Plain numbers, summable over agencies (``roll_up``):

    - ``electricity_kwh``, ``water_m3``, ``natural_gas_m3``, ``heat_gj``, ``fuel_l``: the year's use per kind
      in its unit — the agency's annual report (statistics) for the kinds it names, else its main meters'
      sum, year to date for the running year; ``energy_tce`` (tonnes of standard coal) and ``carbon_tco2``
      (tonnes of CO₂) of it; water is never energy.
    - ``baseline_…``: the same for the 2020 baseline year (``baseline_year``); ``baseline_reported`` is 1
      when a report gives at least one of its kinds.
    - ``quota_tce``: the year's quota in tce (a per-m² quota times the floor area of the agency's registered
      buildings; 0 when there is none or it has no floor area yet), ``forecast_tce``: the year's use
      annualised by the meters' covered days, ``over_quota``: 1 when
      the use already exceeds the quota or (once every energy kind's data is sufficient, ``SufficiencyRules``) is trending above it,
      ``quota_alert_open``: 1 while the energy service's overrun alert is open.
    - ``open_anomalies``: anomalies raised and not yet resolved (open or acknowledged).
    - ``<kind>_<unit>_annualised``, ``…_source_days``, ``…_sources`` (and ``baseline_…``): the full-year use
      per kind, each main meter annualised by its own covered days (a reported kind counts whole), with the
      summed covered days and the number of sources, from which the data center derives coverage;
      ``energy_tce_annualised``, ``carbon_tco2_annualised`` of it.
    - ``baseline_vehicle_…``, ``baseline_floor_area_m2``, ``baseline_people`` and whether the 2020 report
      gave them (``baseline_area_reported``, ``baseline_people_reported``).

    ``district``, ``year``, ``baseline_year``, ``quota_basis`` and ``factors_version`` describe the row.
    """
    today = today or china_today()
    year = year or today.year
    table = factors or factors_for(conn, year)
    scope = _agencies(conn, district, agency_id)
    years = [year, BASELINE_YEAR]
    metered = _metered(conn, years, district, agency_id)
    per_meter = _meter_coverage(conn, years, today, district, agency_id)
    reported = _rows(conn, reports, years, district, agency_id)
    quota_rows = _rows(conn, quotas, [year], district, agency_id)
    areas = _areas(conn, [a for (a, _), q in quota_rows.items() if q.basis == "per_m2"])
    open_counts = _open_anomalies(conn, district, agency_id)
    as_of = today if year == today.year else date(year, 12, 31)
    result = {}
    for agency, in_district in sorted(scope.items()):
        row: dict[str, Any] = {"district": in_district, "year": year, "baseline_year": BASELINE_YEAR}
        for prefix, wanted in (("", year), ("baseline_", BASELINE_YEAR)):
            report = reported.get((agency, wanted))
            report_totals = json.loads(report.totals) if report else None
            totals, _ = annual_totals(metered.get((agency, wanted), {}), report_totals)
            row |= _year_figures(prefix, totals, table)
            coverage = per_meter.get((agency, wanted), {})
            row |= _coverage_figures(prefix, wanted, today, coverage, report_totals, table)
        row["baseline_reported"] = int((agency, BASELINE_YEAR) in reported)
        row |= _baseline_extras(reported.get((agency, BASELINE_YEAR)))
        energy_coverage = _energy_coverage(row, elapsed_days(year, as_of))
        quota = quota_rows.get((agency, year))
        annual_tce = row["energy_tce_annualised"]
        row |= _quota_figures(quota, row["energy_tce"], areas.get(agency), annual_tce, energy_coverage)
        row["open_anomalies"] = open_counts.get(agency, 0)
        result[agency] = row | {"factors_version": table.version}
    return result


def _energy_coverage(row: dict[str, Any], days_elapsed: int) -> dict[str, Coverage]:
    """The coverage of each energy kind the agency's year has (a reported kind covers the whole year)."""
    return {
        kind: Coverage.of(row[f"{key}_source_days"], row[f"{key}_sources"], days_elapsed)
        for kind, key in FIGURE_KEYS.items()
        if kind not in NON_ENERGY_KINDS and row[f"{key}_sources"]
    }


def _quota_figures(
    quota: sa.Row[Any] | None,
    used_tce: float,
    floor_area_m2: float | None,
    annual_tce: float,
    coverage: dict[str, Coverage],
) -> dict[str, Any]:
    """The quota in tce, the forecast (use annualised by each meter's covered days) and whether it is over
    (``forecast_against_quota``: the same sufficiency rule as the targets); zeros without a quota."""
    figures: dict[str, Any] = {"quota_basis": None, "quota_tce": 0.0, "over_quota": 0, "quota_alert_open": 0}
    figures["forecast_tce"] = round(annual_tce, 6)
    if quota is None:
        return figures
    figures |= {"quota_basis": quota.basis, "quota_alert_open": int(bool(quota.alert_open))}
    try:
        quota_tce = quota_in_tce(quota.basis, quota.quota_limit, floor_area_m2)
    except FloorAreaRequired:  # a per-m² quota of an agency whose buildings office space has not registered
        return figures
    against = forecast_against_quota(used_tce, quota_tce, annual_tce, coverage)
    return figures | {"quota_tce": against.quota_tce, "over_quota": int(against.over)}


SUMMED = (
    *FIGURE_KEYS.values(),
    "energy_tce",
    "carbon_tco2",
    *(f"baseline_{key}" for key in FIGURE_KEYS.values()),
    "baseline_energy_tce",
    "baseline_carbon_tco2",
    "baseline_reported",
    "quota_tce",
    "forecast_tce",
    "over_quota",
    "quota_alert_open",
    "open_anomalies",
    *coverage_keys(),
    *coverage_keys("baseline_"),
    *BASELINE_EXTRAS,
)
"""The figures of ``energy_by_agency`` that add up over agencies."""


def roll_up(by_agency: dict[str, dict[str, Any]], key: str | None) -> list[dict[str, Any]]:
    """Sum the agency figures per ``key`` (``district``) or for the whole city (``None``); ``agencies`` counts
    them, ``baseline_reported`` and ``over_quota`` become counts of agencies."""
    totals: dict[str, dict[str, Any]] = {}
    for row in by_agency.values():
        group = totals.setdefault(row[key] if key else "city", {"agencies": 0, **dict.fromkeys(SUMMED, 0)})
        group["agencies"] += 1
        for name in SUMMED:
            group[name] += row[name]
    return [
        {(key or "scope"): name, **{k: _rounded(v) for k, v in group.items()}} for name, group in sorted(totals.items())
    ]


def _rounded(value: Any) -> Any:
    return round(value, 6) if isinstance(value, float) else value


def factor_tables_by_year(conn: sa.Connection) -> Callable[[int], FactorTable]:
    """The factor table of each year (``table_for_year``: the newest adopted valid for it, else the
    deployment's default), the adopted tables read once."""
    query = sa.select(factor_tables.c.payload).order_by(factor_tables.c.adoption)
    adopted = [adopted_from(json.loads(payload)) for (payload,) in conn.execute(query)]
    default = configured_factors()
    return lambda year: table_for_year(adopted, year, default)


def factors_for(conn: sa.Connection, year: int) -> FactorTable:
    """The factor table the figures of ``year`` use."""
    return factor_tables_by_year(conn)(year)


def closed_year(conn: sa.Connection, year: int) -> dict[str, Any] | None:
    """A closed year's frozen figures per agency, the versions of its methods, when it was closed and last
    restated (and why); None while the year is open."""
    row = conn.execute(sa.select(closed_years).where(closed_years.c.year == year)).first()
    if row is None:
        return None
    return {
        "year": row.year,
        "figures": json.loads(row.figures),
        "versions": json.loads(row.versions),
        "closed_on": row.closed_on,
        "restated_on": row.restated_on,
        "reason": row.reason,
    }


def closed_years_list(conn: sa.Connection) -> list[dict[str, Any]]:
    """Every closed year with its versions and dates, newest first (without the figures)."""
    c = closed_years.c
    query = sa.select(c.year, c.versions, c.closed_on, c.restated_on, c.reason).order_by(c.year.desc())
    return [
        {
            "year": row.year,
            "versions": json.loads(row.versions),
            "closed_on": row.closed_on,
            "restated_on": row.restated_on,
            "reason": row.reason,
        }
        for row in conn.execute(query)
    ]


# -- open items ------------------------------------------------------------------------------------


def open_items(
    conn: sa.Connection, district: str | None = None, agency_id: str | None = None, kind: str | None = None
) -> list[dict[str, Any]]:
    """Energy anomalies not yet resolved, oldest first, for the one list of open findings: ``system``
    (``energy``), ``kind`` (spike, night_base_load, weekend_base_load, stuck_meter, missing_data,
    negative_consumption), ``agency_id``, ``district``, ``opened_on`` (the Beijing date the anomaly's period starts: the fact's date), ``detail`` (one
    line with the meter and the evidence), ``id`` (the anomaly id) and ``status`` (open or acknowledged)."""
    a = anomalies.c
    query = sa.select(anomalies).where(a.status != "resolved")
    if kind:
        query = query.where(a.kind == kind)
    query = _filtered(query, anomalies, district, agency_id).order_by(a.opened_on, a.anomaly_id)
    return [
        {
            "system": "energy",
            "kind": row.kind,
            "agency_id": row.agency_id,
            "district": row.district,
            "opened_on": row.opened_on,
            "detail": row.detail,
            "id": row.anomaly_id,
            "status": row.status,
        }
        for row in conn.execute(query)
    ]


def daily_use(
    conn: sa.Connection, agency_id: str, first: date, last: date, factors: FactorTable | None = None
) -> list[dict[str, Any]]:
    """An agency's main-meter use per local day and kind from ``first`` to ``last`` (trend charts), with the
    unit and, for energy kinds, tce (with the table of the day's year)."""
    tables = factor_tables_by_year(conn)
    d = daily.c
    query = (
        sa.select(d.day, d.kind, d.consumption)
        .where(d.agency_id == agency_id, d.day >= first.isoformat(), d.day <= last.isoformat())
        .order_by(d.day, d.kind)
    )
    rows = []
    for day, kind, consumption in conn.execute(query):
        row = {"day": day, "kind": kind, "unit": METER_UNITS.get(kind, ""), "consumption": round(consumption, 6)}
        table = factors or tables(int(day[:4]))
        rows.append(row | ({} if kind in NON_ENERGY_KINDS else {"tce": convert({kind: consumption}, table).tce}))
    return rows
