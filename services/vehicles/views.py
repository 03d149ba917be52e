"""The vehicles service's read models (in its own database, from its own topic) and the queries over them.

The same projection runs in the gateway for the data center (``services/gateway/views/vehicles.py``). Tables:
vehicles with their seals, agency quotas, cost records (fuel and charging with quantity and carrier), measured
consumption, trips (visible to the requesting district and the vehicle's), and findings — vehicle anomalies,
trip flags and the districts' new-energy shortfalls — open until closed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from services.common import sql
from services.common.clock import china_date, iso_seconds_of
from services.common.db import register_migrations
from services.common.events import Envelope
from services.common.projector import Projection
from services.common.settings import topic_for
from services.vehicles.domain import (
    SHARE_ACQUISITION_KINDS,
    AcquisitionRecord,
    CostItem,
    RepairHistory,
    consumption_per_100km,
    costs_by_kind,
    year_window,
)

register_migrations("vehicles_views", Path(__file__).parent / "migrations")

metadata = sa.MetaData()
vehicles = sa.Table(
    "veh_vehicles",
    metadata,
    sa.Column("vehicle_id", sa.String(64), primary_key=True),
    sa.Column("plate", sa.String(12)),
    sa.Column("agency_id", sa.String(64)),
    sa.Column("district", sa.String(6)),
    sa.Column("energy_type", sa.String(20)),
    sa.Column("new_energy", sa.Boolean()),
    sa.Column("use_category", sa.String(40)),
    sa.Column("model", sa.String(100)),
    sa.Column("acquisition_kind", sa.String(20)),
    sa.Column("acquired_on", sa.String(10)),
    sa.Column("replaces_vehicle_id", sa.String(64)),
    sa.Column("norm_per_100km", sa.Float()),
    sa.Column("norm_unit", sa.String(5)),
    sa.Column("status", sa.String(20)),
    sa.Column("odometer_km", sa.Float()),
    sa.Column("disposed_on", sa.String(10)),
    sa.Column("disposal_method", sa.String(20)),
    sa.Column("proceeds_cents", sa.BigInteger()),
)
seals = sa.Table(
    "veh_seals",
    metadata,
    sa.Column("vehicle_id", sa.String(64), primary_key=True),
    sa.Column("seal_id", sa.String(64), primary_key=True),
    sa.Column("sealed_from", sa.String(10)),
    sa.Column("sealed_until", sa.String(10)),
    sa.Column("reason", sa.String(500)),
)
quotas = sa.Table(
    "veh_quotas",
    metadata,
    sa.Column("agency_id", sa.String(64), primary_key=True),
    sa.Column("district", sa.String(6)),
    sa.Column("quota", sa.Integer()),
    sa.Column("vehicles", sa.Integer()),
)
costs = sa.Table(
    "veh_costs",
    metadata,
    sa.Column("vehicle_id", sa.String(64), primary_key=True),
    sa.Column("record_id", sa.String(64), primary_key=True),
    sa.Column("agency_id", sa.String(64)),
    sa.Column("district", sa.String(6)),
    sa.Column("kind", sa.String(20)),
    sa.Column("amount_cents", sa.BigInteger()),
    sa.Column("occurred_on", sa.String(10)),
    sa.Column("covers_from", sa.String(10)),
    sa.Column("covers_to", sa.String(10)),
    sa.Column("energy_kind", sa.String(20)),
    sa.Column("quantity", sa.Float()),
    sa.Column("unit", sa.String(5)),
    sa.Column("designated", sa.Boolean()),
    sa.Column("vendor", sa.String(200)),
)
consumption = sa.Table(
    "veh_consumption",
    metadata,
    sa.Column("vehicle_id", sa.String(64), primary_key=True),
    sa.Column("to_km", sa.Float(), primary_key=True),
    sa.Column("from_km", sa.Float()),
    sa.Column("energy_kind", sa.String(20)),
    sa.Column("quantity", sa.Float()),
    sa.Column("per_100km", sa.Float()),
    sa.Column("norm_per_100km", sa.Float()),
    sa.Column("measured_on", sa.String(10)),
)
trips = sa.Table(
    "veh_trips",
    metadata,
    sa.Column("trip_id", sa.String(64), primary_key=True),
    sa.Column("agency_id", sa.String(64)),
    sa.Column("district", sa.String(6)),
    sa.Column("purpose", sa.String(500)),
    sa.Column("destination", sa.String(200)),
    sa.Column("planned_start", sa.String(40)),
    sa.Column("planned_end", sa.String(40)),
    sa.Column("status", sa.String(20)),
    sa.Column("vehicle_id", sa.String(64)),
    sa.Column("plate", sa.String(12)),
    sa.Column("vehicle_agency_id", sa.String(64)),
    sa.Column("vehicle_district", sa.String(6)),
    sa.Column("city_wide", sa.Boolean()),
    sa.Column("driver", sa.String(50)),
    sa.Column("approved", sa.Boolean()),
    sa.Column("started_at", sa.String(40)),
    sa.Column("finished_at", sa.String(40)),
    sa.Column("finished_utc", sa.String(40)),
    sa.Column("finished_on", sa.String(10)),
    sa.Column("start_km", sa.Float()),
    sa.Column("finish_km", sa.Float()),
    sa.Column("distance_km", sa.Float()),
    sa.Column("gps_points", sa.Integer()),
    sa.Column("gps_km", sa.Float()),
)
findings = sa.Table(
    "veh_findings",
    metadata,
    sa.Column("item_id", sa.String(300), primary_key=True),
    sa.Column("kind", sa.String(40)),
    sa.Column("agency_id", sa.String(64)),
    sa.Column("district", sa.String(6)),
    sa.Column("vehicle_id", sa.String(64)),
    sa.Column("trip_id", sa.String(64)),
    sa.Column("opened_on", sa.String(10)),
    sa.Column("detail", sa.String(1000)),
    sa.Column("evidence", sa.Text()),
    sa.Column("closed_on", sa.String(10)),
    sa.Column("note", sa.String(1000)),
)

TABLES = (vehicles, seals, quotas, costs, consumption, trips, findings)

_RAISE_ODOMETER = (
    vehicles.update()
    .where(vehicles.c.vehicle_id == sa.bindparam("vehicle_id"), vehicles.c.odometer_km < sa.bindparam("km"))
    .values(odometer_km=sa.bindparam("km"))
)
"""A vehicle's odometer, raised to ``km`` (never lowered); built once (``services.common.sql``)."""
_SEAL_START = sa.select(seals.c.sealed_from).where(
    seals.c.vehicle_id == sa.bindparam("vehicle_id"), seals.c.seal_id == sa.bindparam("seal_id")
)
"""When one seal of a vehicle began."""


def local_date(moment: str) -> str:
    """The Beijing-time date (ISO) of an ISO date or datetime."""
    if len(moment) == 10:
        return moment
    return china_date(moment)


def _evidence(payload: dict[str, Any], *drop: str) -> str:
    return json.dumps({k: v for k, v in payload.items() if k not in drop}, ensure_ascii=False)


class VehiclesViews(Projection):
    """Vehicles, quotas, costs, consumption, trips and findings, kept from the vehicles events."""

    topics = (topic_for("vehicles"),)
    tables = TABLES

    # -- fleet ---------------------------------------------------------------------------------------

    def on_FleetEstablished(self, conn: sa.Connection, env: Envelope) -> None:
        p = env.payload
        row = {"agency_id": p["agency_id"], "district": p["district"], "quota": p["quota"], "vehicles": 0}
        sql.insert(conn, quotas, row)

    def on_VehicleQuotaRevised(self, conn: sa.Connection, env: Envelope) -> None:
        sql.update(conn, quotas, {"agency_id": env.payload["agency_id"]}, {"quota": env.payload["quota"]})

    def on_VehicleAdmittedToFleet(self, conn: sa.Connection, env: Envelope) -> None:
        sql.update(conn, quotas, {"agency_id": env.payload["agency_id"]}, {"vehicles": env.payload["vehicles"]})

    def on_VehicleLeftFleet(self, conn: sa.Connection, env: Envelope) -> None:
        sql.add(conn, quotas, {"agency_id": env.payload["agency_id"]}, {"vehicles": -1})

    def on_VehicleRegistered(self, conn: sa.Connection, env: Envelope) -> None:
        p = env.payload
        keys = (
            "vehicle_id",
            "plate",
            "agency_id",
            "district",
            "energy_type",
            "new_energy",
            "use_category",
            "model",
            "acquisition_kind",
            "acquired_on",
            "replaces_vehicle_id",
            "norm_per_100km",
            "norm_unit",
            "odometer_km",
        )
        sql.insert(conn, vehicles, {**{k: p[k] for k in keys}, "status": "in_service"})

    def on_VehicleSealed(self, conn: sa.Connection, env: Envelope) -> None:
        p = env.payload
        keys = ("vehicle_id", "seal_id", "sealed_from", "sealed_until", "reason")
        sql.insert(conn, seals, {k: p[k] for k in keys})

    def on_VehicleUnsealed(self, conn: sa.Connection, env: Envelope) -> None:
        p = env.payload
        key = {"vehicle_id": p["vehicle_id"], "seal_id": p["seal_id"]}
        start = conn.execute(_SEAL_START, key).scalar()
        if start is None or p["unsealed_on"] <= start:
            sql.delete(conn, seals, key)
        else:
            last = date.fromordinal(date.fromisoformat(p["unsealed_on"]).toordinal() - 1).isoformat()
            sql.update(conn, seals, key, {"sealed_until": last})

    def on_VehicleDisposed(self, conn: sa.Connection, env: Envelope) -> None:
        p = env.payload
        sql.update(
            conn,
            vehicles,
            {"vehicle_id": p["vehicle_id"]},
            {
                "status": "disposed",
                "disposed_on": p["disposed_on"],
                "disposal_method": p["method"],
                "proceeds_cents": p["proceeds_cents"],
            },
        )

    # -- costs and odometer --------------------------------------------------------------------------

    def _cost(self, conn: sa.Connection, p: dict[str, Any], kind: str, occurred: str, **extra: Any) -> None:
        row = {
            "vehicle_id": p["vehicle_id"],
            "record_id": p["record_id"],
            "agency_id": p["agency_id"],
            "district": p["district"],
            "kind": kind,
            "amount_cents": p["amount_cents"],
            "occurred_on": local_date(occurred),
            "designated": p.get("designated"),
        }
        sql.insert(conn, costs, {**row, **extra})
        self._odometer(conn, p["vehicle_id"], p.get("odometer_km"))

    def _odometer(self, conn: sa.Connection, vehicle_id: str, km: float | None) -> None:
        if km is not None:
            sql.run(conn, _RAISE_ODOMETER, {"vehicle_id": vehicle_id, "km": km})

    def on_FuelRecorded(self, conn: sa.Connection, env: Envelope) -> None:
        p = env.payload
        energy = {"energy_kind": p["energy_kind"], "quantity": p["quantity"], "unit": p["unit"], "vendor": p["station"]}
        self._cost(conn, p, "fuel", p["refuelled_at"], **energy)

    def on_ChargingRecorded(self, conn: sa.Connection, env: Envelope) -> None:
        p = env.payload
        energy = {"energy_kind": p["energy_kind"], "quantity": p["quantity"], "unit": p["unit"], "vendor": p["station"]}
        self._cost(conn, p, "charging", p["charged_at"], **energy)

    def on_RepairRecorded(self, conn: sa.Connection, env: Envelope) -> None:
        p = env.payload
        self._cost(conn, p, p["kind"], p["occurred_on"], vendor=p["vendor"])

    def on_ExpenseRecorded(self, conn: sa.Connection, env: Envelope) -> None:
        p = env.payload
        period = {"covers_from": p["covers_from"], "covers_to": p["covers_to"], "vendor": p["payee"]}
        self._cost(conn, p, p["kind"], p["occurred_on"], **period)

    def on_FuelConsumptionMeasured(self, conn: sa.Connection, env: Envelope) -> None:
        p = env.payload
        keys = ("vehicle_id", "to_km", "from_km", "energy_kind", "quantity", "per_100km", "norm_per_100km")
        sql.insert(conn, consumption, {**{k: p[k] for k in keys}, "measured_on": local_date(p["measured_at"])})

    # -- anomalies -----------------------------------------------------------------------------------

    def _open(
        self, conn: sa.Connection, item_id: str, kind: str, p: dict[str, Any], opened: str, detail: str, **keys: Any
    ) -> None:
        row = {
            "item_id": item_id,
            "kind": kind,
            "agency_id": p["agency_id"],
            "district": p["district"],
            "vehicle_id": p.get("vehicle_id"),
            "opened_on": local_date(opened),
            "detail": detail[:1000],
            "evidence": _evidence(p),
        }
        sql.delete(conn, findings, {"item_id": item_id})  # a district's share may fall again
        sql.insert(conn, findings, {**row, **keys})

    def _close(self, conn: sa.Connection, item_id: str, closed: str, note: str) -> None:
        still_open = {"item_id": item_id, "closed_on": None}
        sql.update(conn, findings, still_open, {"closed_on": local_date(closed), "note": note[:1000]})

    def on_FuelConsumptionAboveNorm(self, conn: sa.Connection, env: Envelope) -> None:
        p = env.payload
        detail = (
            f"{p['per_100km']} {p['unit']}/100 km from {p['from_km']:g} to {p['to_km']:g} km, "
            f"norm {p['norm_per_100km']} × {p['factor']}"
        )
        self._open(conn, p["anomaly_id"], "consumption_above_norm", p, p["detected_at"], detail)

    def on_RefuelExceededCapacity(self, conn: sa.Connection, env: Envelope) -> None:
        p = env.payload
        detail = (
            f"{p['quantity']:g} {p['unit']} in one go (record {p['record_id']}), capacity {p['capacity']:g} {p['unit']}"
        )
        self._open(conn, p["anomaly_id"], "refuel_above_capacity", p, p["detected_at"], detail)

    def on_OdometerRollbackDetected(self, conn: sa.Connection, env: Envelope) -> None:
        p = env.payload
        detail = f"odometer {p['reported_km']:g} km below the last reading {p['last_km']:g} km ({p['source']} {p['source_id']})"
        self._open(conn, p["anomaly_id"], "odometer_rollback", p, p["detected_at"], detail)

    def on_RepairOutlierFlagged(self, conn: sa.Connection, env: Envelope) -> None:
        p = env.payload
        what = f"{p['value'] / 100:,.2f} yuan" if p["metric"] == "cost" else f"{p['value']:g} visits"
        median = f"{p['fleet_median'] / 100:,.2f} yuan" if p["metric"] == "cost" else f"{p['fleet_median']:g}"
        detail = f"repair {p['metric']} {what} in {p['period']}, fleet median {median}, robust z {p['robust_z']}"
        self._open(conn, p["anomaly_id"], "repair_outlier", p, p["flagged_on"], detail)

    def on_VehicleAnomalyResolved(self, conn: sa.Connection, env: Envelope) -> None:
        p = env.payload
        self._close(conn, p["anomaly_id"], p["resolved_on"], p["note"])

    def on_NewEnergyShareFellBelowTarget(self, conn: sa.Connection, env: Envelope) -> None:
        p = env.payload
        detail = (
            f"district {p['district']} {p['year']}: {p['new_energy_count']} of {p['total']} acquisitions new-energy "
            f"({p['share']:.0%}), target {p['target_percent']} %"
        )
        self._open(
            conn,
            f"new_energy:{p['district']}:{p['year']}",
            "new_energy_below_target",
            p,
            p.get("acquired_on") or env.recorded_at,  # the acquisition's date; v1: the day recorded
            detail,
        )

    def on_NewEnergyShareRestored(self, conn: sa.Connection, env: Envelope) -> None:
        p = env.payload
        self._close(conn, f"new_energy:{p['district']}:{p['year']}", env.recorded_at, f"share back to {p['share']:.0%}")

    # -- trips ---------------------------------------------------------------------------------------

    def _trip(self, conn: sa.Connection, trip_id: str, **values: Any) -> None:
        sql.update(conn, trips, {"trip_id": trip_id}, values)

    def on_TripRequested(self, conn: sa.Connection, env: Envelope) -> None:
        p = env.payload
        keys = ("trip_id", "agency_id", "district", "purpose", "destination", "planned_start", "planned_end")
        row = {k: p[k] for k in keys}
        sql.insert(conn, trips, {**row, "status": "requested", "approved": False, "gps_points": 0, "gps_km": 0.0})

    def on_TripDispatched(self, conn: sa.Connection, env: Envelope) -> None:
        p = env.payload
        keys = ("vehicle_id", "plate", "vehicle_agency_id", "vehicle_district", "city_wide", "driver")
        self._trip(conn, p["trip_id"], status="dispatched", **{k: p[k] for k in keys})

    def on_TripCancelled(self, conn: sa.Connection, env: Envelope) -> None:
        self._trip(conn, env.payload["trip_id"], status="cancelled")

    def on_TripOutsideHoursApproved(self, conn: sa.Connection, env: Envelope) -> None:
        self._trip(conn, env.payload["trip_id"], approved=True)

    def on_TripStarted(self, conn: sa.Connection, env: Envelope) -> None:
        p = env.payload
        self._trip(conn, p["trip_id"], status="in_progress", started_at=p["started_at"], start_km=p["odometer_km"])

    def on_GpsPointsRecorded(self, conn: sa.Connection, env: Envelope) -> None:
        p = env.payload
        sql.add(conn, trips, {"trip_id": p["trip_id"]}, {"gps_points": p["count"], "gps_km": p["distance_km"]})

    def on_TripFinished(self, conn: sa.Connection, env: Envelope) -> None:
        p = env.payload
        self._trip(
            conn,
            p["trip_id"],
            status="completed",
            finished_at=p["finished_at"],
            finished_utc=iso_seconds_of(p["finished_at"]),
            finished_on=local_date(p["finished_at"]),
            finish_km=p["finish_km"],
            distance_km=p["distance_km"],
        )

    def on_VehicleDepartedOnTrip(self, conn: sa.Connection, env: Envelope) -> None:
        self._odometer(conn, env.payload["vehicle_id"], env.payload["odometer_km"])

    def on_VehicleReturnedFromTrip(self, conn: sa.Connection, env: Envelope) -> None:
        self._odometer(conn, env.payload["vehicle_id"], env.payload["odometer_km"])

    def on_OdometerReplaced(self, conn: sa.Connection, env: Envelope) -> None:
        p = env.payload  # the new odometer's reading, even below the old one's
        sql.update(conn, vehicles, {"vehicle_id": p["vehicle_id"]}, {"odometer_km": p["new_reading_km"]})

    def on_TripOutsideHoursFlagged(self, conn: sa.Connection, env: Envelope) -> None:
        p = env.payload
        detail = f"trip {p['trip_id']} on {', '.join(p['days'])} ({', '.join(p['reasons'])}) without approval"
        item = f"outside_hours:{p['trip_id']}"
        self._open(conn, item, "outside_hours", p, p["finished_at"], detail, trip_id=p["trip_id"])

    def on_TripWithoutGpsFlagged(self, conn: sa.Connection, env: Envelope) -> None:
        p = env.payload
        detail = f"trip {p['trip_id']} finished {p['finished_at']} with no GPS point after {p['grace_hours']:g} h"
        item = f"without_gps:{p['trip_id']}"
        self._open(conn, item, "without_gps", p, p["flagged_at"], detail, trip_id=p["trip_id"])

    def on_TripFlagResolved(self, conn: sa.Connection, env: Envelope) -> None:
        p = env.payload
        self._close(conn, f"{p['flag']}:{p['trip_id']}", p["resolved_at"], p["note"])


# -- queries -----------------------------------------------------------------------------------------


def _rows(conn: sa.Connection, query: Any) -> list[dict[str, Any]]:
    return [row._asdict() for row in conn.execute(query)]


def _scoped(query: Any, table: sa.Table, agency_id: str | None, district: str | None) -> Any:
    if agency_id:
        query = query.where(table.c.agency_id == agency_id)
    if district:
        query = query.where(table.c.district == district)
    return query


def fleet(
    conn: sa.Connection,
    agency_id: str | None,
    district: str | None,
    status: str | None,
    today: str,
    limit: int = 200,
    offset: int = 0,
) -> dict[str, Any]:
    """Each agency's quota and vehicles held, and the vehicles with their status today (``sealed`` while a
    seal covers today)."""
    sealed_today = sa.select(seals.c.vehicle_id).where(seals.c.sealed_from <= today, seals.c.sealed_until >= today)
    shown_status = sa.case(
        (vehicles.c.status == "disposed", "disposed"),
        (vehicles.c.vehicle_id.in_(sealed_today), "sealed"),
        else_="in_service",
    ).label("status_today")
    query = _scoped(sa.select(vehicles, shown_status), vehicles, agency_id, district)
    if status:
        query = query.where(shown_status == status)
    listed = _rows(conn, query.order_by(vehicles.c.agency_id, vehicles.c.plate).limit(limit).offset(offset))
    held = _rows(conn, _scoped(sa.select(quotas), quotas, agency_id, district).order_by(quotas.c.agency_id))
    return {"quotas": held, "vehicles": listed}


def vehicle_row(conn: sa.Connection, vehicle_id: str) -> dict[str, Any] | None:
    """One vehicle of the read model, or None."""
    row = conn.execute(sa.select(vehicles).where(vehicles.c.vehicle_id == vehicle_id)).first()
    return row._asdict() if row else None


def seals_of(conn: sa.Connection, vehicle_id: str) -> list[dict[str, Any]]:
    """The seals of a vehicle."""
    return _rows(conn, sa.select(seals).where(seals.c.vehicle_id == vehicle_id).order_by(seals.c.sealed_from))


def cost_items(conn: sa.Connection, vehicle_id: str) -> list[CostItem]:
    """Every cost record of a vehicle as the cost functions take them."""
    c = costs.c
    query = sa.select(c.kind, c.amount_cents, c.occurred_on, c.covers_from, c.covers_to).where(
        c.vehicle_id == vehicle_id
    )
    return [CostItem(*row) for row in conn.execute(query)]


def km_by_month(conn: sa.Connection, vehicle_id: str, first_month: str, last_month: str) -> dict[str, float]:
    """Km of the vehicle's completed trips by the month they finished in (Beijing time)."""
    t = trips.c
    month = sa.func.substr(t.finished_on, 1, 7)
    query = (
        sa.select(month.label("month"), sa.func.sum(t.distance_km))
        .where(t.vehicle_id == vehicle_id, t.status == "completed", month >= first_month, month <= last_month)
        .group_by(month)
    )
    return {m: float(km or 0) for m, km in conn.execute(query)}


def year_cost_rows(
    conn: sa.Connection, year: int, agency_id: str | None = None, district: str | None = None
) -> list[dict[str, Any]]:
    """The cost records that touch ``year``: paid in it, or covering part of it (a premium paid the year before),
    with what ``CostItem`` needs to spread them (``services.vehicles.domain.costs_by_kind``)."""
    c = costs.c
    first, last = f"{year:04d}-01-01", f"{year:04d}-12-31"
    touches = sa.or_(
        c.occurred_on.startswith(f"{year:04d}-"),
        sa.and_(c.covers_from.is_not(None), c.covers_from <= last, c.covers_to >= first),
    )
    query = sa.select(
        c.vehicle_id,
        c.agency_id,
        c.district,
        c.kind,
        c.amount_cents,
        c.occurred_on,
        c.covers_from,
        c.covers_to,
        c.energy_kind,
        c.quantity,
        c.designated,
    ).where(touches)
    return _rows(conn, _scoped(query, costs, agency_id, district))


def cost_item(row: dict[str, Any]) -> CostItem:
    """A cost row of ``year_cost_rows`` as the cost functions take it."""
    return CostItem(row["kind"], int(row["amount_cents"]), row["occurred_on"], row["covers_from"], row["covers_to"])


DESIGNABLE_KINDS = ("fuel", "charging", "repair", "maintenance", "insurance")
"""The costs bought at designated vendors or not (定点加油, 定点维修, 定点保险): the designated share's base."""


def fleet_report(conn: sa.Connection, year: int, agency_id: str | None, district: str | None) -> list[dict[str, Any]]:
    """Per vehicle of the year: cost by kind (cents, each spread over the months it covers, as a vehicle's own
    cost endpoint does), km driven on trips, cost per km (yuan), fuel litres and charging kWh (by the day
    bought), the share of designable cost bought at designated vendors, and the consumption per 100 km over the
    distance measured in the year (百公里油耗: litres ÷ km × 100) against the norm (docs/kpis/vehicles.md)."""
    v, t, m = vehicles.c, trips.c, consumption.c
    first, last = year_window(year)
    prefix = f"{year:04d}-"
    listed = _rows(conn, _scoped(sa.select(vehicles), vehicles, agency_id, district).order_by(v.agency_id, v.plate))
    items: dict[str, list[CostItem]] = {}
    designated: dict[str, list[CostItem]] = {}
    quantities: dict[str, dict[str, float]] = {}
    for row in year_cost_rows(conn, year, agency_id, district):
        vid, item = row["vehicle_id"], cost_item(row)
        items.setdefault(vid, []).append(item)
        if row["designated"] and row["kind"] in DESIGNABLE_KINDS:
            designated.setdefault(vid, []).append(item)
        if row["energy_kind"] and row["occurred_on"].startswith(prefix):
            held = quantities.setdefault(vid, {})
            held[row["energy_kind"]] = round(held.get(row["energy_kind"], 0.0) + float(row["quantity"] or 0), 3)
    km = dict(
        conn.execute(
            sa.select(t.vehicle_id, sa.func.sum(t.distance_km))
            .where(t.status == "completed", t.finished_on.startswith(prefix))
            .group_by(t.vehicle_id)
        ).all()
    )
    windows: dict[str, list[tuple[float, float]]] = {}
    for vid, quantity, from_km, to_km in conn.execute(
        sa.select(m.vehicle_id, m.quantity, m.from_km, m.to_km).where(m.measured_on.startswith(prefix))
    ):
        windows.setdefault(vid, []).append((float(quantity), float(to_km) - float(from_km)))
    report = []
    for row in listed:
        vid = row["vehicle_id"]
        spent = costs_by_kind(items.get(vid, []), first, last)
        total = sum(spent.values())
        designable = sum(cents for kind, cents in spent.items() if kind in DESIGNABLE_KINDS)
        at_designated = sum(costs_by_kind(designated.get(vid, []), first, last).values())
        driven = float(km.get(vid) or 0)
        report.append(
            {
                "vehicle_id": vid,
                "plate": row["plate"],
                "agency_id": row["agency_id"],
                "district": row["district"],
                "energy_type": row["energy_type"],
                "status": row["status"],
                "cost_cents": spent,
                "total_cost_cents": total,
                "km": round(driven, 1),
                "cost_per_km": round(total / 100 / driven, 4) if driven > 0 else None,
                "quantities": quantities.get(vid, {}),
                "designated_share": round(at_designated / designable, 4) if designable else None,
                "consumption_per_100km": consumption_per_100km(windows.get(vid, [])),
                "norm_per_100km": row["norm_per_100km"],
            }
        )
    return report


def acquisitions(conn: sa.Connection, year: int | None, district: str | None = None) -> list[AcquisitionRecord]:
    """New and replacement acquisitions (of ``year``; of a district), for the new-energy share."""
    v = vehicles.c
    query = sa.select(v.agency_id, v.district, v.energy_type, v.acquired_on).where(
        v.acquisition_kind.in_(sorted(SHARE_ACQUISITION_KINDS))
    )
    if year is not None:
        query = query.where(v.acquired_on.startswith(f"{year:04d}-"))
    if district:
        query = query.where(v.district == district)
    return [AcquisitionRecord(*row) for row in conn.execute(query)]


def trip_rows(
    conn: sa.Connection,
    district: str | None,
    agency_id: str | None,
    vehicle_id: str | None,
    status: str | None,
    limit: int = 200,
) -> list[dict[str, Any]]:
    """Trips, newest planned first; a district sees its own and those its vehicles serve (city-wide dispatch)."""
    t = trips.c
    query = sa.select(trips)
    if district:
        query = query.where((t.district == district) | (t.vehicle_district == district))
    if agency_id:
        query = query.where((t.agency_id == agency_id) | (t.vehicle_agency_id == agency_id))
    if vehicle_id:
        query = query.where(t.vehicle_id == vehicle_id)
    if status:
        query = query.where(t.status == status)
    return _rows(conn, query.order_by(t.planned_start.desc()).limit(limit))


def finding_rows(
    conn: sa.Connection,
    district: str | None,
    agency_id: str | None,
    vehicle_id: str | None = None,
    kind: str | None = None,
    include_closed: bool = False,
) -> list[dict[str, Any]]:
    """Anomalies and flags, oldest first, with their evidence; open ones unless ``include_closed``."""
    f = findings.c
    query = _scoped(sa.select(findings), findings, agency_id, district)
    if vehicle_id:
        query = query.where(f.vehicle_id == vehicle_id)
    if kind:
        query = query.where(f.kind == kind)
    if not include_closed:
        query = query.where(f.closed_on.is_(None))
    found = _rows(conn, query.order_by(f.opened_on, f.item_id))
    for row in found:
        row["evidence"] = json.loads(row["evidence"] or "{}")
    return found


def repair_histories(conn: sa.Connection, period: str, district: str | None) -> dict[str, RepairHistory]:
    """Every vehicle in service during ``period`` (``YYYY`` or ``YYYY-MM``; of a district) with its repair and
    maintenance cents and visits in it — zeros included, so the median is the fleet's."""
    first, last = (f"{period}-01-01", f"{period}-12-31") if len(period) == 4 else (f"{period}-01", f"{period}-31")
    v, c = vehicles.c, costs.c
    fleet_query = sa.select(v.vehicle_id).where(
        v.acquired_on <= last, sa.or_(v.disposed_on.is_(None), v.disposed_on >= first)
    )
    if district:
        fleet_query = fleet_query.where(v.district == district)
    history = {vid: RepairHistory(0, 0) for vid in conn.execute(fleet_query).scalars()}
    spent = (
        sa.select(c.vehicle_id, sa.func.sum(c.amount_cents), sa.func.count())
        .where(c.kind.in_(("repair", "maintenance")), c.occurred_on >= first, c.occurred_on <= last)
        .group_by(c.vehicle_id)
    )
    for vid, cents, visits in conn.execute(spent):
        if vid in history:
            history[vid] = RepairHistory(int(cents or 0), int(visits))
    return history


def trips_awaiting_gps(conn: sa.Connection, finished_before_utc: str) -> list[str]:
    """Completed trips without any GPS point that finished before the cut-off and are not flagged yet."""
    t, f = trips.c, findings.c
    flagged = sa.select(f.trip_id).where(f.kind == "without_gps", f.trip_id.is_not(None))
    query = sa.select(t.trip_id).where(
        t.status == "completed", t.gps_points == 0, t.finished_utc < finished_before_utc, t.trip_id.not_in(flagged)
    )
    return list(conn.execute(query.order_by(t.finished_utc).limit(5000)).scalars())


def vehicles_to_seal(
    conn: sa.Connection, agency_id: str | None, district: str | None, exempt: Iterable[str]
) -> list[str]:
    """Vehicles in service of an agency or a district, but those of the exempt use categories."""
    v = vehicles.c
    query = _scoped(sa.select(v.vehicle_id), vehicles, agency_id, district).where(
        v.status == "in_service", v.use_category.not_in(list(exempt))
    )
    return list(conn.execute(query.order_by(v.vehicle_id)).scalars())
