"""The projection that keeps the energy read models from the service's own events and office space's buildings."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from services.common.base.settings import topic_for
from services.common.kernel.events import Envelope
from services.common.read import sql
from services.common.read.projector import Projection
from services.energy.domain.base import epoch_of
from services.energy.domain.rollups import MeterInfo, refill_gap, split_intervals

from .tables import (
    MAX_RUN_READINGS,
    annual_reports,
    anomalies,
    daily,
    flat_runs,
    floor_areas,
    gap_uses,
    gaps,
    hourly,
    last_readings,
    meter_years,
    meters,
    quotas,
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
