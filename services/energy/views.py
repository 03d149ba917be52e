"""The energy service's read models (in its own database, from its own topic and office space's) and queries.

- ``en_hourly`` / ``en_daily``: use per meter and local hour / day, each interval shared by time over the hours
  it spans from the meter's previous reading (``split_intervals``; ``en_last_readings``, ``en_gap_uses``),
  with the meter's kind, agency, building, district and sub-item beside it so every roll-up of the issue
  (hour, day, month × meter, building, agency, district, kind, sub-item) is one ``GROUP BY``. A
  replacement's ``final_consumption`` counts in the hour of the replacement.
- ``en_gaps``: intervals without readings; ``en_flat_runs``: runs of readings whose counter did not move
  (the stuck-meter detector's input; only runs, never every reading, are kept).
- ``en_anomalies``, ``en_quotas``: the anomalies' and quotas' current state, for listings.
- ``en_annual_reports``: the annual consumption reports (statistics) per agency and year.
- ``en_floor_areas``: gross floor area per building, learned from office space's ``BuildingRegistered``
  (a per-m² quota is assessed against it).

Handlers are idempotent per event (the projector ignores a repeated ``event_id``) and deterministic.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from datetime import date, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from services.common import sql
from services.common.clock import china_today
from services.common.db import register_migrations
from services.common.events import Envelope
from services.common.projector import Projection
from services.common.settings import topic_for
from services.energy.domain import (
    BASELINE_YEAR,
    DEFAULT_ANOMALY_RULES,
    DEFAULT_SUFFICIENCY,
    FACTORS_2022,
    METER_UNITS,
    NON_ENERGY_KINDS,
    PERIODS,
    AnomalyRules,
    FactorTable,
    Finding,
    MeterInfo,
    MeterUse,
    WorkCalendar,
    YearUse,
    annual_totals,
    comparability,
    convert,
    counts_in_year,
    detect_base_load,
    detect_spikes,
    detect_stuck,
    elapsed_days,
    refill_gap,
    split_intervals,
    with_report,
    year_use,
)
from services.energy.domain.base import epoch_of

register_migrations("energy_views", Path(__file__).parent / "migrations")

MAX_ROWS = 5_000
"""Rows a roll-up query answers at most (narrow it by district, kind or group for more detail)."""
MAX_RUN_READINGS = 600
"""Readings kept of one flat run (two days of 5-minute readings): enough evidence; the length goes on counting."""
CHUNK = 500
GROUP_COLUMNS = {
    "meter": "meter_id",
    "building": "building_id",
    "agency": "agency_id",
    "district": "district",
    "sub_item": "sub_item",
}
"""The column each roll-up dimension groups by (``kind`` groups by the kind alone)."""

metadata = sa.MetaData()


def _dimensions() -> list[sa.Column[Any]]:
    return [
        sa.Column("kind", sa.String(20)),
        sa.Column("agency_id", sa.String(64)),
        sa.Column("building_id", sa.String(64)),
        sa.Column("district", sa.String(6)),
        sa.Column("sub_item", sa.String(20)),
    ]


meters = sa.Table(
    "en_meters",
    metadata,
    sa.Column("meter_id", sa.String(64), primary_key=True),
    sa.Column("serial_no", sa.String(64)),
    sa.Column("unit", sa.String(10)),
    *_dimensions(),
    sa.Column("multiplier", sa.Float()),
    sa.Column("installed_at", sa.String(40)),
    sa.Column("replaced_at", sa.String(40)),
)
hourly = sa.Table(
    "en_hourly",
    metadata,
    sa.Column("meter_id", sa.String(64), primary_key=True),
    sa.Column("hour", sa.String(13), primary_key=True),
    *_dimensions(),
    sa.Column("consumption", sa.Float()),
)
daily = sa.Table(
    "en_daily",
    metadata,
    sa.Column("meter_id", sa.String(64), primary_key=True),
    sa.Column("day", sa.String(10), primary_key=True),
    *_dimensions(),
    sa.Column("consumption", sa.Float()),
)
gaps = sa.Table(
    "en_gaps",
    metadata,
    sa.Column("meter_id", sa.String(64), primary_key=True),
    sa.Column("gap_from", sa.String(40), primary_key=True),
    sa.Column("gap_to", sa.String(40)),
    sa.Column("seconds", sa.Integer()),
    sa.Column("agency_id", sa.String(64)),
    sa.Column("district", sa.String(6)),
)
flat_runs = sa.Table(
    "en_flat_runs",
    metadata,
    sa.Column("meter_id", sa.String(64), primary_key=True),
    sa.Column("run_start", sa.String(40), primary_key=True),
    sa.Column("run_end", sa.String(40)),
    sa.Column("length", sa.Integer()),
    sa.Column("readings", sa.Text()),
    sa.Column("closed", sa.Boolean()),
)
anomalies = sa.Table(
    "en_anomalies",
    metadata,
    sa.Column("anomaly_id", sa.String(64), primary_key=True),
    sa.Column("kind", sa.String(40)),
    sa.Column("meter_id", sa.String(64)),
    sa.Column("agency_id", sa.String(64)),
    sa.Column("district", sa.String(6)),
    sa.Column("building_id", sa.String(64)),
    sa.Column("period_start", sa.String(40)),
    sa.Column("period_end", sa.String(40)),
    sa.Column("evidence", sa.Text()),
    sa.Column("status", sa.String(20)),
    sa.Column("raised_at", sa.String(40)),
    sa.Column("acknowledged_by", sa.String(200)),
    sa.Column("acknowledged_at", sa.String(40)),
    sa.Column("note", sa.String(1000)),
    sa.Column("resolved_by", sa.String(200)),
    sa.Column("resolved_at", sa.String(40)),
    sa.Column("resolution", sa.String(1000)),
)
quotas = sa.Table(
    "en_quotas",
    metadata,
    sa.Column("quota_id", sa.String(100), primary_key=True),
    sa.Column("agency_id", sa.String(64)),
    sa.Column("district", sa.String(6)),
    sa.Column("year", sa.Integer()),
    sa.Column("basis", sa.String(20)),
    sa.Column("quota_limit", sa.Float()),
    sa.Column("alert_open", sa.Boolean()),
    sa.Column("last_alert", sa.Text()),
)
annual_reports = sa.Table(
    "en_annual_reports",
    metadata,
    sa.Column("agency_id", sa.String(64), primary_key=True),
    sa.Column("year", sa.Integer(), primary_key=True),
    sa.Column("district", sa.String(6)),
    sa.Column("totals", sa.Text()),
    sa.Column("source", sa.String(500)),
)
meter_years = sa.Table(
    "en_meter_years",
    metadata,
    sa.Column("meter_id", sa.String(64), primary_key=True),
    sa.Column("year", sa.Integer(), primary_key=True),
    sa.Column("agency_id", sa.String(64)),
    sa.Column("district", sa.String(6)),
    sa.Column("last_at", sa.String(40)),
)
"""Each meter's last reading per (local) year: where its covered period in the year ends (``covered_days``)."""
last_readings = sa.Table(
    "en_last_readings",
    metadata,
    sa.Column("meter_id", sa.String(64), primary_key=True),
    sa.Column("last_at", sa.String(40)),
)
"""Each meter's latest reading: where the next batch's first interval starts (``split_intervals``)."""
gap_uses = sa.Table(
    "en_gap_uses",
    metadata,
    sa.Column("meter_id", sa.String(64), primary_key=True),
    sa.Column("gap_from", sa.String(40), primary_key=True),
    sa.Column("gap_to", sa.String(40)),
    sa.Column("consumption", sa.Float()),
)
"""Each meter's gaps (and all the parts late readings left of them) with their use (``refill_gap``)."""
floor_areas = sa.Table(
    "en_floor_areas",
    metadata,
    sa.Column("building_id", sa.String(64), primary_key=True),
    sa.Column("agency_id", sa.String(64)),
    sa.Column("gross_floor_area_m2", sa.Float()),
)


def _add_consumption(conn: sa.Connection, table: sa.Table, key: str, rows: list[dict[str, Any]]) -> None:
    """Insert rows, or add their consumption to the rows already there (an upsert on both databases)."""
    if rows:
        sql.run(conn, _adding_upsert(conn.dialect.name, table, key), rows)


@cache
def _adding_upsert(dialect: str, table: sa.Table, key: str) -> sa.Insert:
    """The upsert statement, built once per dialect and table: building it costs ten times its execution."""
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
    return insert.on_conflict_do_update(
        index_elements=["meter_id", key], set_={"consumption": table.c.consumption + insert.excluded.consumption}
    )


def _info(env: Envelope, payload: dict[str, Any]) -> MeterInfo:
    return MeterInfo(
        agency_id=env.agency_id or "",
        building_id=payload["building_id"],
        district=env.district or "",
        kind=payload["kind"],
        sub_item=payload["sub_item"],
    )


def _merge(hours: dict[str, float], ends: dict[int, str], more: dict[str, float], more_ends: dict[int, str]) -> None:
    """Add one interval's hours (and years' ends) to an event's."""
    for hour, used in more.items():
        hours[hour] = hours.get(hour, 0.0) + used
    for year, at in more_ends.items():
        if year not in ends or epoch_of(at) > epoch_of(ends[year]):
            ends[year] = at


class EnergyViews(Projection):
    """Meters, use per hour and day, gaps, flat runs, anomalies, quotas and floor areas."""

    topics = (topic_for("energy"), topic_for("office_space"))
    tables = (
        meters,
        hourly,
        daily,
        meter_years,
        last_readings,
        gap_uses,
        gaps,
        flat_runs,
        anomalies,
        quotas,
        annual_reports,
        floor_areas,
    )

    # -- meters and readings -------------------------------------------------------------------------

    def on_MeterInstalled(self, conn: sa.Connection, env: Envelope) -> None:
        p = env.payload
        keys = ("meter_id", "serial_no", "unit", "kind", "building_id", "sub_item", "multiplier", "installed_at")
        row = {k: p[k] for k in keys} | {"agency_id": env.agency_id, "district": env.district}
        sql.insert(conn, meters, row)
        sql.insert(conn, last_readings, {"meter_id": p["meter_id"], "last_at": p["installed_at"]})

    def on_MeterReplaced(self, conn: sa.Connection, env: Envelope) -> None:
        p = env.payload
        replaced = {"serial_no": p["new_serial_no"], "multiplier": p["multiplier"], "replaced_at": p["replaced_at"]}
        sql.update(conn, meters, {"meter_id": p["meter_id"]}, replaced)
        row = conn.execute(sa.select(meters).where(meters.c.meter_id == p["meter_id"])).one()._asdict()
        final = [[p["replaced_at"], None, p["final_consumption"]]]
        self._add_hours(
            conn, p["meter_id"], _info(env, row), *split_intervals(self._last(conn, p["meter_id"]), final, "hour")
        )
        self._set_last(conn, p["meter_id"], p["replaced_at"])
        self._close_open_run(conn, p["meter_id"])

    def on_MeterReadingsRecorded(self, conn: sa.Connection, env: Envelope) -> None:
        p = env.payload
        meter_id, readings = p["meter_id"], p["readings"]
        self._add_hours(conn, meter_id, _info(env, p), *split_intervals(self._last(conn, meter_id), readings, "hour"))
        self._set_last(conn, meter_id, readings[-1][0])
        if p["gaps"]:
            used = {r[0]: r[2] for r in readings}
            rows = [
                {"meter_id": meter_id, "gap_from": start, "gap_to": end, "consumption": used.get(end, 0.0)}
                for start, end, _ in p["gaps"]
            ]
            sql.insert(conn, gap_uses, rows)
            sql.insert(
                conn,
                gaps,
                [
                    {"meter_id": meter_id, "gap_from": start, "gap_to": end, "seconds": seconds}
                    | {"agency_id": env.agency_id, "district": env.district}
                    for start, end, seconds in p["gaps"]
                ],
            )
        self._follow_flat_runs(conn, meter_id, readings)

    def on_LateReadingsRecorded(self, conn: sa.Connection, env: Envelope) -> None:
        """Late readings inside gaps: their use is added where it belongs and taken off the reading that closed
        each gap; a split gap is replaced by its parts still longer than expected."""
        p = env.payload
        meter_id = p["meter_id"]
        adjustments = {a[0]: float(a[1]) for a in p["adjustments"]}
        hours: dict[str, float] = {}
        ends: dict[int, str] = {}
        for gap in conn.execute(sa.select(gap_uses).where(gap_uses.c.meter_id == meter_id)).all():
            inside = [r for r in p["readings"] if epoch_of(gap.gap_from) < epoch_of(r[0]) < epoch_of(gap.gap_to)]
            if not inside:
                continue
            removed, _ = split_intervals(gap.gap_from, [[gap.gap_to, None, -gap.consumption]], "hour")
            _merge(hours, ends, removed, {})
            parts = refill_gap(gap.gap_from, gap.gap_to, gap.consumption, inside, adjustments)
            for start, end, used in parts:
                _merge(hours, ends, *split_intervals(start, [[end, None, used]], "hour"))
            sql.delete(conn, gap_uses, {"meter_id": meter_id, "gap_from": gap.gap_from})
            rows = [
                {"meter_id": meter_id, "gap_from": start, "gap_to": end, "consumption": used}
                for start, end, used in parts
            ]
            sql.insert(conn, gap_uses, rows)
        self._add_hours(conn, meter_id, _info(env, p), hours, ends)
        for start, _ in p["filled"]:
            sql.delete(conn, gaps, {"meter_id": meter_id, "gap_from": start})
        if p["gaps"]:
            sql.insert(
                conn,
                gaps,
                [
                    {"meter_id": meter_id, "gap_from": start, "gap_to": end, "seconds": seconds}
                    | {"agency_id": env.agency_id, "district": env.district}
                    for start, end, seconds in p["gaps"]
                ],
            )

    def _last(self, conn: sa.Connection, meter_id: str) -> str | None:
        found = conn.execute(sa.select(last_readings.c.last_at).where(last_readings.c.meter_id == meter_id)).scalar()
        return None if found is None else str(found)

    def _set_last(self, conn: sa.Connection, meter_id: str, at: str) -> None:
        if conn.execute(sa.select(last_readings.c.last_at).where(last_readings.c.meter_id == meter_id)).first():
            sql.update(conn, last_readings, {"meter_id": meter_id}, {"last_at": at})
        else:
            sql.insert(conn, last_readings, {"meter_id": meter_id, "last_at": at})

    def _add_hours(
        self, conn: sa.Connection, meter_id: str, info: MeterInfo, hours: dict[str, float], ends: dict[int, str]
    ) -> None:
        """Add use per local hour (shared by time, ``split_intervals``) and its days; follow the years' ends."""
        self._follow_last_readings(conn, meter_id, info, ends)
        dims = {
            "kind": info.kind,
            "agency_id": info.agency_id,
            "building_id": info.building_id,
            "district": info.district,
            "sub_item": info.sub_item,
        }
        # not rounded: a monthly meter's use is shared over hundreds of hours, and rounding each would drift
        days: dict[str, float] = {}
        for hour, total in hours.items():
            days[hour[:10]] = days.get(hour[:10], 0.0) + total
        _add_consumption(
            conn,
            hourly,
            "hour",
            [{"meter_id": meter_id, "hour": h, "consumption": t, **dims} for h, t in hours.items()],
        )
        _add_consumption(
            conn,
            daily,
            "day",
            [{"meter_id": meter_id, "day": d, "consumption": t, **dims} for d, t in days.items()],
        )

    def _follow_last_readings(
        self, conn: sa.Connection, meter_id: str, info: MeterInfo, latest: dict[int, str]
    ) -> None:
        """Keep where each year's use of the meter ends: its latest reading in the year, or the year's end when
        an interval runs on into the next (a late reading never moves it back)."""
        rows = [
            {"meter_id": meter_id, "year": y, "agency_id": info.agency_id, "district": info.district, "last_at": at}
            for y, at in latest.items()
        ]
        for row in rows:
            key = {"meter_id": meter_id, "year": row["year"]}
            found = conn.execute(
                sa.select(meter_years.c.last_at).where(
                    meter_years.c.meter_id == meter_id, meter_years.c.year == row["year"]
                )
            ).scalar()
            if found is None:
                sql.insert(conn, meter_years, row)
            elif epoch_of(str(row["last_at"])) > epoch_of(found):
                sql.update(conn, meter_years, key, {"last_at": row["last_at"]})

    def _follow_flat_runs(self, conn: sa.Connection, meter_id: str, readings: list[list[Any]]) -> None:
        """Keep the runs of readings with zero consumption (a counter that did not move)."""
        if all(r[2] != 0 for r in readings):
            self._close_open_run(conn, meter_id)
            return
        t = flat_runs.c
        found = conn.execute(sa.select(flat_runs).where(t.meter_id == meter_id, t.closed.is_(False))).first()
        run = found._asdict() | {"readings": json.loads(found.readings)} if found else None
        runs: list[dict[str, Any]] = []
        for reading in readings:
            if reading[2] != 0:
                if run is not None:
                    runs.append(run | {"closed": True})
                run = None
            elif run is None:
                run = {"meter_id": meter_id, "run_start": reading[0], "run_end": reading[0], "length": 1}
                run["readings"] = [reading]
            else:
                run["run_end"], run["length"] = reading[0], run["length"] + 1
                if len(run["readings"]) < MAX_RUN_READINGS:
                    run["readings"].append(reading)
        if run is not None:
            runs.append(run | {"closed": False})
        if found:
            sql.delete(conn, flat_runs, {"meter_id": meter_id, "run_start": found.run_start})
        sql.insert(conn, flat_runs, [r | {"readings": json.dumps(r["readings"])} for r in runs])

    def _close_open_run(self, conn: sa.Connection, meter_id: str) -> None:
        sql.update(conn, flat_runs, {"meter_id": meter_id, "closed": False}, {"closed": True})

    # -- anomalies -----------------------------------------------------------------------------------

    def on_AnomalyRaised(self, conn: sa.Connection, env: Envelope) -> None:
        p = env.payload
        keys = ("anomaly_id", "kind", "meter_id", "agency_id", "district", "building_id", "period_start", "period_end")
        row = {k: p[k] for k in keys} | {"raised_at": p["raised_at"], "status": "open"}
        sql.insert(conn, anomalies, row | {"evidence": json.dumps(p["evidence"], ensure_ascii=False)})

    def on_AnomalyAcknowledged(self, conn: sa.Connection, env: Envelope) -> None:
        p = env.payload
        values = {"acknowledged_by": p["acknowledged_by"], "acknowledged_at": p["acknowledged_at"], "note": p["note"]}
        sql.update(conn, anomalies, {"anomaly_id": p["anomaly_id"]}, {"status": "acknowledged", **values})

    def on_AnomalyResolved(self, conn: sa.Connection, env: Envelope) -> None:
        p = env.payload
        values = {"resolved_by": p["resolved_by"], "resolved_at": p["resolved_at"], "resolution": p["resolution"]}
        sql.update(conn, anomalies, {"anomaly_id": p["anomaly_id"]}, {"status": "resolved", **values})

    # -- quotas and floor areas ----------------------------------------------------------------------

    def on_EnergyQuotaSet(self, conn: sa.Connection, env: Envelope) -> None:
        p = env.payload
        row = {k: p[k] for k in ("agency_id", "district", "year", "basis")}
        sql.insert(conn, quotas, row | {"quota_id": env.stream_id, "quota_limit": p["limit"], "alert_open": False})

    def on_EnergyQuotaRevised(self, conn: sa.Connection, env: Envelope) -> None:
        sql.update(conn, quotas, {"quota_id": env.stream_id}, {"quota_limit": env.payload["limit"]})

    def on_QuotaOverrunAlerted(self, conn: sa.Connection, env: Envelope) -> None:
        alert = json.dumps(env.payload, ensure_ascii=False)
        sql.update(conn, quotas, {"quota_id": env.stream_id}, {"alert_open": True, "last_alert": alert})

    def on_QuotaOverrunCleared(self, conn: sa.Connection, env: Envelope) -> None:
        sql.update(conn, quotas, {"quota_id": env.stream_id}, {"alert_open": False})

    def on_AnnualConsumptionReported(self, conn: sa.Connection, env: Envelope) -> None:
        p = env.payload
        row = {k: p[k] for k in ("agency_id", "district", "year", "source")} | {"totals": json.dumps(p["totals"])}
        sql.insert(conn, annual_reports, row)

    def on_AnnualConsumptionCorrected(self, conn: sa.Connection, env: Envelope) -> None:
        p = env.payload
        key = {"agency_id": p["agency_id"], "year": p["year"]}
        sql.update(conn, annual_reports, key, {"totals": json.dumps(p["totals"])})

    def on_BuildingRegistered(self, conn: sa.Connection, env: Envelope) -> None:
        p = env.payload
        sql.insert(conn, floor_areas, {k: p[k] for k in ("building_id", "agency_id", "gross_floor_area_m2")})


# -- queries ---------------------------------------------------------------------------------------


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
