"""The projection that keeps the vehicles read models from the service's own events."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import sqlalchemy as sa

from services.common.base.settings import topic_for
from services.common.kernel.clock import china_date, iso_seconds_of
from services.common.kernel.events import Envelope
from services.common.read import sql
from services.common.read.projector import Projection

from .tables import TABLES, consumption, costs, findings, quotas, seals, trips, vehicles

_RAISE_ODOMETER = (
    vehicles.update()
    .where(vehicles.c.vehicle_id == sa.bindparam("vehicle_id"), vehicles.c.odometer_km < sa.bindparam("km"))
    .values(odometer_km=sa.bindparam("km"))
)
"""A vehicle's odometer, raised to ``km`` (never lowered); built once (``services.common.read.sql``)."""
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
                "proceeds_fen": p["proceeds_fen"],
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
            "amount_fen": p["amount_fen"],
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
        keys = ("vehicle_id", "plate", "vehicle_agency_id", "vehicle_district", "city_wide", "driver_id", "driver")
        self._trip(conn, p["trip_id"], status="dispatched", **{k: p[k] for k in keys})  # the driver as a token

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

    def on_GpsBatchRecorded(self, conn: sa.Connection, env: Envelope) -> None:
        """The sealed batch: its count and length are clear fields; the token of the points is not projected."""
        self.on_GpsPointsRecorded(conn, env)

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
