"""Official vehicles (公务用车) routes: quotas, registration, costs, anomalies, sealing, disposal and trips.

The administration sets vehicle quotas and runs the fleet-wide checks; writers (city administrators, district
operators in their district) register, record costs, seal, dispose and run trips. A trip served by another
district's vehicle (city-wide dispatch) is seen, and written, by both districts: the vehicles service checks
the scope of every aggregate it changes. District systems send fuel, charging and repair records and GPS
batches as inbound messages (``INBOUND_ROUTES``).
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy.engine import Engine
from werkzeug.wrappers import Request, Response

from services.common.base.personal import platform_key_store
from services.common.kernel.money import fen_from_yuan
from services.common.kernel.scope import require_in_scope
from services.common.runtime.rpc import rpc_proxy
from services.gateway.api.personal_data import drivers_shown, record_reads, reveal_track
from services.gateway.auth import CITY_ADMINS, READERS, WRITERS, Principal
from services.gateway.web import InboundRoute, api, call, command_route, query_route
from services.vehicles import schemas as s

VH = "vehicles"

INBOUND_ROUTES = {
    "vehicles.record_fuel": InboundRoute(VH, "record_fuel", s.RecordFuelSchema),
    "vehicles.record_charging": InboundRoute(VH, "record_charging", s.RecordChargingSchema),
    "vehicles.record_repair": InboundRoute(VH, "record_repair", s.RecordRepairSchema),
    "vehicles.record_gps_points": InboundRoute(VH, "record_gps_points", s.RecordGpsPointsSchema),
}
"""District inbound message types of this service (contracts in ``contracts/inbound/``)."""


def _amount_in_fen(payload: dict[str, Any]) -> dict[str, Any]:
    """A v1 cost message (``amount`` in yuan) as v2 (``amount_fen``, rounded half up)."""
    fen = fen_from_yuan(payload["amount"])
    return {**{k: v for k, v in payload.items() if k != "amount"}, "amount_fen": fen}


INBOUND_UPCASTERS = {
    ("vehicles.record_fuel", 1): _amount_in_fen,
    ("vehicles.record_charging", 1): _amount_in_fen,
    ("vehicles.record_repair", 1): _amount_in_fen,
}
"""How a message of an older contract version reads as the next one: v2 of the cost messages is in fen."""


def _trips_shown(api: Any, principal: Principal, answer: dict[str, Any]) -> dict[str, Any]:
    """A trip listing with each trip's driver as the principal may see it (``drivers_shown``)."""
    return {**answer, "items": drivers_shown(api.db, principal, "GET /api/v1/trips", answer["items"])}


class VehiclesApi:
    """Routes of the vehicles service."""

    db: Engine
    vehicles = rpc_proxy(VH)

    # -- quotas, vehicles, disposal ------------------------------------------------------------------

    set_vehicle_quota = command_route(
        "POST",
        "/api/v1/agencies/<agency_id>/vehicle-quota",
        VH,
        "set_vehicle_quota",
        s.SetVehicleQuotaSchema,
        CITY_ADMINS,
    )
    register_vehicle = command_route(
        "POST", "/api/v1/vehicles", VH, "register_vehicle", s.RegisterVehicleSchema, WRITERS, status=201
    )
    dispose_vehicle = command_route(
        "POST",
        "/api/v1/vehicles/<vehicle_id>/disposal",
        VH,
        "dispose_vehicle",
        s.DisposeVehicleSchema,
        WRITERS,
        district_scope="service",
    )
    seal_vehicle = command_route(
        "POST",
        "/api/v1/vehicles/<vehicle_id>/seals",
        VH,
        "seal_vehicle",
        s.SealVehicleSchema,
        WRITERS,
        district_scope="service",
        status=201,
    )
    unseal_vehicle = command_route(
        "POST",
        "/api/v1/vehicles/<vehicle_id>/seals/<seal_id>/end",
        VH,
        "unseal_vehicle",
        s.UnsealVehicleSchema,
        WRITERS,
        district_scope="service",
    )
    seal_vehicle_fleet = command_route(
        "POST",
        "/api/v1/vehicle-seals",
        VH,
        "seal_fleet",
        s.SealFleetSchema,
        WRITERS,
        district_scope="service",
        status=201,
    )

    # -- costs and anomalies -------------------------------------------------------------------------

    record_vehicle_fuel = command_route(
        "POST",
        "/api/v1/vehicles/<vehicle_id>/fuel",
        VH,
        "record_fuel",
        s.RecordFuelSchema,
        WRITERS,
        district_scope="service",
        status=201,
    )
    record_vehicle_charging = command_route(
        "POST",
        "/api/v1/vehicles/<vehicle_id>/charging",
        VH,
        "record_charging",
        s.RecordChargingSchema,
        WRITERS,
        district_scope="service",
        status=201,
    )
    record_vehicle_repair = command_route(
        "POST",
        "/api/v1/vehicles/<vehicle_id>/repairs",
        VH,
        "record_repair",
        s.RecordRepairSchema,
        WRITERS,
        district_scope="service",
        status=201,
    )
    replace_vehicle_odometer = command_route(
        "POST",
        "/api/v1/vehicles/<vehicle_id>/odometer-replacements",
        VH,
        "replace_odometer",
        s.ReplaceOdometerSchema,
        WRITERS,
        district_scope="service",
        status=201,
    )
    record_vehicle_expense = command_route(
        "POST",
        "/api/v1/vehicles/<vehicle_id>/expenses",
        VH,
        "record_expense",
        s.RecordExpenseSchema,
        WRITERS,
        district_scope="service",
        status=201,
    )
    resolve_vehicle_anomaly = command_route(
        "POST",
        "/api/v1/vehicles/<vehicle_id>/anomaly-resolutions",
        VH,
        "resolve_anomaly",
        s.ResolveAnomalySchema,
        WRITERS,
        district_scope="service",
    )
    check_vehicle_repair_outliers = command_route(
        "POST",
        "/api/v1/vehicle-checks/repair-outliers",
        VH,
        "check_repair_outliers",
        s.CheckRepairOutliersSchema,
        CITY_ADMINS,
        district_scope="service",
    )
    check_trips_without_gps = command_route(
        "POST",
        "/api/v1/vehicle-checks/trips-without-gps",
        VH,
        "check_trips_without_gps",
        s.CheckTripsWithoutGpsSchema,
        CITY_ADMINS,
        district_scope="service",
    )

    # -- trips ---------------------------------------------------------------------------------------

    request_trip = command_route("POST", "/api/v1/trips", VH, "request_trip", s.RequestTripSchema, WRITERS, status=201)
    dispatch_trip = command_route(
        "POST",
        "/api/v1/trips/<trip_id>/dispatch",
        VH,
        "dispatch_trip",
        s.DispatchTripSchema,
        WRITERS,
        district_scope="service",
    )
    cancel_trip = command_route(
        "POST",
        "/api/v1/trips/<trip_id>/cancel",
        VH,
        "cancel_trip",
        s.CancelTripSchema,
        WRITERS,
        district_scope="service",
    )
    approve_trip_outside_hours = command_route(
        "POST",
        "/api/v1/trips/<trip_id>/approval",
        VH,
        "approve_trip_outside_hours",
        s.ApproveTripSchema,
        WRITERS,
        district_scope="service",
    )
    start_trip = command_route(
        "POST", "/api/v1/trips/<trip_id>/start", VH, "start_trip", s.StartTripSchema, WRITERS, district_scope="service"
    )
    finish_trip = command_route(
        "POST",
        "/api/v1/trips/<trip_id>/finish",
        VH,
        "finish_trip",
        s.FinishTripSchema,
        WRITERS,
        district_scope="service",
    )
    record_gps_points = command_route(
        "POST",
        "/api/v1/trips/<trip_id>/gps",
        VH,
        "record_gps_points",
        s.RecordGpsPointsSchema,
        WRITERS,
        district_scope="service",
        status=201,
    )
    resolve_trip_flag = command_route(
        "POST",
        "/api/v1/trips/<trip_id>/flag-resolutions",
        VH,
        "resolve_trip_flag",
        s.ResolveTripFlagSchema,
        WRITERS,
        district_scope="service",
    )

    # -- queries -------------------------------------------------------------------------------------

    vehicle_fleet = query_route("/api/v1/vehicles", VH, "fleet", s.FleetQuerySchema, READERS, table="vehicles,quotas")
    vehicle_costs = query_route(
        "/api/v1/vehicles/<vehicle_id>/costs", VH, "vehicle_costs", s.VehicleCostsQuerySchema, READERS, table="months"
    )
    vehicle_fleet_report = query_route(
        "/api/v1/vehicle-reports/costs", VH, "fleet_report", s.FleetReportQuerySchema, READERS
    )
    vehicle_new_energy_share = query_route(
        "/api/v1/vehicle-reports/new-energy-share", VH, "new_energy_share", s.NewEnergyShareQuerySchema, READERS
    )
    vehicle_anomalies = query_route("/api/v1/vehicle-anomalies", VH, "anomalies", s.AnomaliesQuerySchema, READERS)
    list_trips = query_route("/api/v1/trips", VH, "trips", s.TripsQuerySchema, READERS, shown=_trips_shown)

    @api("GET", "/api/v1/vehicles/<vehicle_id>", roles=READERS)
    def get_vehicle(self, request: Request, principal: Principal, vehicle_id: str) -> dict[str, Any]:
        """One vehicle's current state (a district operator sees its own district's)."""
        vehicle: dict[str, Any] = call(self.vehicles.get_vehicle, {"vehicle_id": vehicle_id})
        principal.require_district(vehicle["district"])
        return vehicle

    @api("GET", "/api/v1/trips/<trip_id>", roles=READERS)
    def get_trip(self, request: Request, principal: Principal, trip_id: str) -> dict[str, Any]:
        """One trip's current state, for its district and the district of the vehicle serving it."""
        trip: dict[str, Any] = call(self.vehicles.get_trip, {"trip_id": trip_id})
        visible = principal.visible_district()
        message = f"trip {trip_id} is neither of district {visible} nor served by its vehicles"
        require_in_scope(visible, trip["district"], (trip["vehicle_district"],), message=message)
        return drivers_shown(self.db, principal, "GET /api/v1/trips/<trip_id>", [trip])[0]

    @api("GET", "/api/v1/trips/<trip_id>/track", roles=READERS, content_type="application/geo+json")
    def get_trip_track(self, request: Request, principal: Principal, trip_id: str) -> Response:
        """The trip's GPS track as GeoJSON (RFC 7946: a Feature, a LineString in WGS-84, longitude first, the
        time of each position in ``properties.times``), for its district and the vehicle's. The points are
        personal: decrypted here for a city administrator and those districts' operators (each such answer is
        recorded), withheld (``masked``) from viewers, 已删除 (``erased``) once erased or expired; the figures
        stay (docs/personal-data.md)."""
        answer: dict[str, Any] = call(self.vehicles.trip_track, {"trip_id": trip_id})
        trip = answer["trip"]
        visible = principal.visible_district()
        message = f"trip {trip_id} is neither of district {visible} nor served by its vehicles"
        require_in_scope(visible, trip["district"], (trip["vehicle_district"],), message=message)
        feature, shown = reveal_track(platform_key_store(), principal, answer)
        record_reads(self.db, principal, "GET /api/v1/trips/<trip_id>/track", shown)
        body = json.dumps(feature, ensure_ascii=False)
        return Response(body, content_type="application/geo+json; charset=utf-8")
