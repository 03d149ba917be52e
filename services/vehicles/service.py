"""The vehicles service (公务用车): fleets against their quotas, registration and the new-energy share,
costs with their anomaly checks, trips with city-wide dispatch, sealing for holidays, disposal.

Every RPC method is the whole public surface of the service: validate (``@command`` with the schema),
load the aggregates, call the domain, append the events, answer with the new version and event ids.
Queries answer from the service's read models (``read_model.py``).

District scope: a district's operator (or system) writes its own district's fleets, vehicles and trips; a
trip served by another district's vehicle is written by both (the vehicle's district reports start, finish
and GPS), and only the vehicle's district or the city dispatches a vehicle.
"""

from __future__ import annotations

from datetime import UTC, date, time, timedelta
from typing import Any

from nameko.timer import timer

from services.common.base.personal import platform_key_store
from services.common.base.settings import settings
from services.common.kernel.clock import china_today, iso_as_given, utc_now
from services.common.kernel.errors import NotFound, RuleViolation
from services.common.kernel.ids import new_id
from services.common.kernel.scope import require_in_scope
from services.common.read.agencies import known_agency
from services.common.runtime.dependencies import service_views
from services.common.runtime.rpc import DomainService, command
from services.vehicles import read_model
from services.vehicles import schemas as s
from services.vehicles.domain.anomalies import AnomalyRules, repair_outliers
from services.vehicles.domain.base import SHARE_ACQUISITION_KINDS
from services.vehicles.domain.costs import cost_per_km, monthly_costs
from services.vehicles.domain.fleet import AgencyFleet
from services.vehicles.domain.new_energy import AcquisitionLedger, NewEnergyPolicy, ledger_id, new_energy_shares
from services.vehicles.domain.plates import PlateRegistration
from services.vehicles.domain.trips import GPS_BATCH_EVENTS, Trip, VehicleOnDuty, WorkingHours
from services.vehicles.domain.vehicles import Vehicle
from services.vehicles.retention import expire_tracks

GPS_CHECK_SECONDS = 3600
"""How often finished trips are checked for a missing GPS track."""

RETENTION_CHECK_SECONDS = 24 * 3600
"""How often tracks past their retention are expired (once a day)."""

REPAIR_CHECK_SECONDS = 24 * 3600
"""How often last month's repairs are compared with the fleet's."""


def working_hours(spec: str) -> WorkingHours:
    """``HH:MM-HH:MM`` as working hours."""
    first, _, last = spec.partition("-")
    return WorkingHours(time.fromisoformat(first), time.fromisoformat(last))


def _last_month(today: date) -> str:
    first = today.replace(day=1) - timedelta(days=1)
    return f"{first.year:04d}-{first.month:02d}"


class VehiclesService(DomainService):
    """Nameko service ``vehicles``."""

    name = "vehicles"
    read_models = service_views(read_model.VehiclesViews(), migrations=("vehicles_views",))

    # -- configuration -------------------------------------------------------------------------------

    def _rules(self) -> AnomalyRules:
        config = settings()
        return AnomalyRules(
            consumption_factor=config.vehicle_consumption_factor, robust_z_threshold=config.vehicle_repair_outlier_z
        )

    def _policy(self) -> NewEnergyPolicy:
        config = settings()
        return NewEnergyPolicy(config.vehicle_new_energy_target_percent, config.vehicle_new_energy_mode)

    # -- fleet, registration, disposal ---------------------------------------------------------------

    @command(s.SetVehicleQuotaSchema)
    def set_vehicle_quota(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """SetVehicleQuota: the administration sets an agency's vehicle quota (编制), or revises it."""
        fleet = self.store.find(AgencyFleet, cmd["agency_id"])
        if fleet is None:
            agency = known_agency(self.read_models.engine, cmd["agency_id"])
            fleet = AgencyFleet.establish(agency.agency_id, agency.district, cmd["quota"], cmd["reason"])
        else:
            fleet.revise_quota(cmd["quota"], cmd["reason"])
        return self.save(fleet, answer={"quota": fleet.quota, "vehicles": len(fleet.vehicles)})

    @command(s.RegisterVehicleSchema)
    def register_vehicle(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """RegisterVehicle: within the agency's quota, with a plate no other vehicle holds; a new or replacement
        acquisition counts in its district's new-energy share of the year (refused or flagged below target)."""
        fleet = self.store.find(AgencyFleet, cmd["agency_id"]) or AgencyFleet(cmd["agency_id"])
        fleet.require_quota()
        acquired_on: date = cmd["acquired_on"]
        vehicle = Vehicle.register(
            vehicle_id=new_id(cmd["vehicle_id"], "VH"),
            plate=cmd["plate"],
            agency_id=cmd["agency_id"],
            district=str(fleet.district),
            energy_type=cmd["energy_type"],
            use_category=cmd["use_category"],
            model=cmd["model"],
            acquisition_kind=cmd["acquisition_kind"],
            acquired_on=acquired_on.isoformat(),
            norm_per_100km=cmd["norm_per_100km"],
            tank_capacity=cmd["tank_capacity"],
            battery_capacity_kwh=cmd["battery_capacity_kwh"],
            odometer_km=cmd["odometer_km"],
            replaces_vehicle_id=cmd["replaces_vehicle_id"],
            today=china_today(),
        )
        fleet.admit(vehicle.id, vehicle.plate, cmd["replaces_vehicle_id"])
        plate = self.store.find(PlateRegistration, vehicle.plate) or PlateRegistration(vehicle.plate)
        plate.assign(vehicle.id, str(fleet.agency_id), str(fleet.district))
        changed: list[Any] = [vehicle, fleet, plate]
        answer: dict[str, Any] = {"plate": vehicle.plate, "new_energy_below_target": False}
        if cmd["acquisition_kind"] in SHARE_ACQUISITION_KINDS:
            key = ledger_id(str(fleet.district), acquired_on.year)
            ledger = self.store.find(AcquisitionLedger, key) or AcquisitionLedger(key)
            answer["new_energy_below_target"] = ledger.record(
                district=str(fleet.district),
                year=acquired_on.year,
                vehicle_id=vehicle.id,
                agency_id=str(fleet.agency_id),
                energy_type=vehicle.energy_type,
                acquisition_kind=vehicle.acquisition_kind,
                acquired_on=vehicle.acquired_on,
                policy=self._policy(),
            )
            answer["district_share"] = {"new_energy": ledger.new_energy, "total": ledger.total}
            changed.append(ledger)
        return self.save(*changed, answer=answer)

    @command(s.DisposeVehicleSchema)
    def dispose_vehicle(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """DisposeVehicle: auction (with proceeds), scrap or transfer; the vehicle leaves the quota and its plate."""
        vehicle = self.load_in_scope(Vehicle, cmd["vehicle_id"])
        vehicle.dispose(cmd["method"], cmd["proceeds_fen"] or 0, cmd["disposed_on"].isoformat(), cmd["reference"])
        fleet = self.store.load(AgencyFleet, str(vehicle.agency_id))
        fleet.release(vehicle.id, cmd["method"])
        plate = self.store.load(PlateRegistration, vehicle.plate)
        plate.release(vehicle.id)
        return self.save(vehicle, fleet, plate, answer={"quota": fleet.quota, "vehicles": len(fleet.vehicles)})

    @command(s.SealVehicleSchema)
    def seal_vehicle(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """SealVehicle: seal one vehicle for some days (封存)."""
        vehicle = self.load_in_scope(Vehicle, cmd["vehicle_id"])
        seal_id = new_id(cmd["seal_id"], "SEAL")
        vehicle.seal(seal_id, cmd["sealed_from"].isoformat(), cmd["sealed_until"].isoformat(), cmd["reason"])
        return self.save(vehicle, answer={"seal_id": seal_id})

    @command(s.SealFleetSchema)
    def seal_fleet(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """SealFleet: seal every vehicle in service of an agency or district for a holiday, but those on duty."""
        self._require_fleet_in_scope(cmd["agency_id"], cmd["district"])
        with self.read_models.engine.connect() as conn:
            ids = read_model.vehicles_to_seal(conn, cmd["agency_id"], cmd["district"], cmd["exempt_use_categories"])
        first, last = cmd["sealed_from"].isoformat(), cmd["sealed_until"].isoformat()
        seal_id = f"SEAL-{first}"
        sealed = []
        for vehicle in self.store.find_many(Vehicle, ids).values():
            if vehicle.status == "in_service" and seal_id not in vehicle.seals:
                vehicle.seal(seal_id, first, last, cmd["reason"])
                sealed.append(vehicle)
        if not sealed:
            return {"seal_id": seal_id, "sealed": [], "event_ids": []}
        return self.save(*sealed, answer={"seal_id": seal_id, "sealed": [v.id for v in sealed]})

    def _require_fleet_in_scope(self, agency_id: str | None, district: str | None) -> None:
        """A district operator seals only its own district's fleets (403 before anything is looked up)."""
        scope = self.context().scope_district
        if scope is None:
            return
        fleet_district = known_agency(self.read_models.engine, agency_id).district if agency_id else district
        outside = {"agency_id" if agency_id else "district": [f"outside your district {scope}"]}
        require_in_scope(scope, fleet_district, fields=outside)
        if district:
            require_in_scope(scope, district, fields=outside)

    @command(s.UnsealVehicleSchema)
    def unseal_vehicle(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """UnsealVehicle: end a seal early."""
        vehicle = self.load_in_scope(Vehicle, cmd["vehicle_id"])
        vehicle.unseal(cmd["seal_id"], cmd["unsealed_on"].isoformat())
        return self.save(vehicle)

    # -- costs and anomalies -------------------------------------------------------------------------

    @command(s.RecordFuelSchema)
    def record_fuel(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """RecordFuel: a refuel; answers the anomalies it raised."""
        vehicle = self.load_in_scope(Vehicle, cmd["vehicle_id"])
        record_id = new_id(cmd["record_id"], "FUEL")
        raised = vehicle.record_fuel(
            record_id=record_id,
            fuel=cmd["fuel"],
            quantity=cmd["quantity"],
            amount_fen=cmd["amount_fen"],
            station=cmd["station"],
            designated=cmd["designated"],
            odometer_km=cmd["odometer_km"],
            refuelled_at=iso_as_given(cmd["refuelled_at"]),
            rules=self._rules(),
        )
        return self.save(vehicle, answer={"record_id": record_id, "anomalies": raised})

    @command(s.RecordChargingSchema)
    def record_charging(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """RecordCharging: a charge; answers the anomalies it raised."""
        vehicle = self.load_in_scope(Vehicle, cmd["vehicle_id"])
        record_id = new_id(cmd["record_id"], "CHG")
        raised = vehicle.record_charging(
            record_id=record_id,
            quantity_kwh=cmd["quantity_kwh"],
            amount_fen=cmd["amount_fen"],
            station=cmd["station"],
            designated=cmd["designated"],
            odometer_km=cmd["odometer_km"],
            charged_at=iso_as_given(cmd["charged_at"]),
            rules=self._rules(),
        )
        return self.save(vehicle, answer={"record_id": record_id, "anomalies": raised})

    @command(s.RecordRepairSchema)
    def record_repair(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """RecordRepair: repair or maintenance paid for."""
        vehicle = self.load_in_scope(Vehicle, cmd["vehicle_id"])
        record_id = new_id(cmd["record_id"], "REP")
        raised = vehicle.record_repair(
            record_id=record_id,
            kind=cmd["kind"],
            vendor=cmd["vendor"],
            designated=cmd["designated"],
            amount_fen=cmd["amount_fen"],
            description=cmd["description"],
            odometer_km=cmd["odometer_km"],
            occurred_on=cmd["occurred_on"].isoformat(),
        )
        return self.save(vehicle, answer={"record_id": record_id, "anomalies": raised})

    @command(s.ReplaceOdometerSchema)
    def replace_odometer(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """ReplaceOdometer: a new odometer; its readings are checked from its first one on, not against the old."""
        vehicle = self.load_in_scope(Vehicle, cmd["vehicle_id"])
        replacement_id = new_id(cmd["replacement_id"], "ODO")
        vehicle.replace_odometer(
            replacement_id,
            cmd["old_reading_km"],
            cmd["new_reading_km"],
            cmd["replaced_on"].isoformat(),
            cmd["reason"],
        )
        return self.save(vehicle, answer={"replacement_id": replacement_id})

    @command(s.RecordExpenseSchema)
    def record_expense(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """RecordExpense: insurance, rental or tolls."""
        vehicle = self.load_in_scope(Vehicle, cmd["vehicle_id"])
        record_id = new_id(cmd["record_id"], "EXP")
        covers_from, covers_to = (d.isoformat() if d else None for d in (cmd["covers_from"], cmd["covers_to"]))
        vehicle.record_expense(
            record_id=record_id,
            kind=cmd["kind"],
            payee=cmd["payee"],
            designated=cmd["designated"],
            amount_fen=cmd["amount_fen"],
            occurred_on=cmd["occurred_on"].isoformat(),
            covers_from=covers_from,
            covers_to=covers_to,
            today=china_today(),
        )
        return self.save(vehicle, answer={"record_id": record_id})

    @command(s.ResolveAnomalySchema)
    def resolve_anomaly(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """ResolveAnomaly: close a vehicle's open anomaly with what was found."""
        vehicle = self.load_in_scope(Vehicle, cmd["vehicle_id"])
        vehicle.resolve_anomaly(cmd["anomaly_id"], cmd["note"], china_today().isoformat())
        return self.save(vehicle)

    @command(s.CheckRepairOutliersSchema)
    def check_repair_outliers(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """CheckRepairOutliers: flag vehicles whose repair cost or visits of the period are far above the fleet's."""
        return self._check_repairs(cmd["period"], cmd["district"])

    @timer(interval=REPAIR_CHECK_SECONDS)  # type: ignore[untyped-decorator]
    def check_repair_outliers_daily(self) -> None:
        """Once a day, compare last month's repairs of the city's fleet (each flag is recorded once)."""
        self._check_repairs(_last_month(china_today()), None)

    def _check_repairs(self, period: str, district: str | None) -> dict[str, Any]:
        with self.read_models.engine.connect() as conn:
            histories = read_model.repair_histories(conn, period, district)
        outliers = repair_outliers(histories, self._rules())
        loaded = self.store.find_many(Vehicle, sorted({o.vehicle_id for o in outliers}))
        flagged = [
            aid
            for o in outliers
            if o.vehicle_id in loaded
            and (aid := loaded[o.vehicle_id].flag_repair_outlier(o, period, china_today().isoformat())) is not None
        ]
        changed = [v for v in loaded.values() if v.pending_events]
        answer = {"period": period, "fleet_size": len(histories), "flagged": flagged}
        return self.save(*changed, answer=answer) if changed else {**answer, "event_ids": []}

    # -- trips ---------------------------------------------------------------------------------------

    @command(s.RequestTripSchema)
    def request_trip(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """RequestTrip: an agency asks for a vehicle."""
        agency = known_agency(self.read_models.engine, cmd["agency_id"])
        trip = Trip.request(
            trip_id=new_id(cmd["trip_id"], "TRIP"),
            agency_id=agency.agency_id,
            district=agency.district,
            purpose=cmd["purpose"],
            destination=cmd["destination"],
            passengers=cmd["passengers"],
            planned_start=cmd["planned_start"],
            planned_end=cmd["planned_end"],
        )
        return self.save(trip)

    @command(s.DispatchTripSchema)
    def dispatch_trip(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """DispatchTrip: assign a vehicle not sealed on the trip's days nor dispatched to a trip at an overlapping
        time; a vehicle of another district serves it city-wide (dispatched by that district or the city)."""
        trip = self.store.load(Trip, cmd["trip_id"])  # another district's trip: served by the vehicle's district
        vehicle = self.store.load(Vehicle, cmd["vehicle_id"])
        scope = self.context().scope_district
        require_in_scope(
            scope,
            vehicle.district,
            message=f"vehicle {vehicle.plate} of district {vehicle.district} is dispatched by its district or the city",
            details={"scope_district": scope, "vehicle_district": vehicle.district},
        )
        vehicle.book(trip.id, trip.planned_start, trip.planned_end)
        on_duty = VehicleOnDuty(vehicle.id, vehicle.plate, str(vehicle.agency_id), str(vehicle.district))
        # sealed before the aggregate sees it: the event (and any snapshot) holds the driver's name as a token
        driver = self.store.sealed("TripDispatched", 2, {"driver_id": cmd["driver_id"], "driver": cmd["driver"]})
        trip.dispatch(on_duty, cmd["driver_id"], driver["driver"], utc_now())
        return self.save(trip, vehicle, answer={"city_wide": vehicle.district != trip.district})

    @command(s.CancelTripSchema)
    def cancel_trip(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """CancelTrip: call a trip off before it starts; its vehicle's time is free again."""
        trip = self.load_in_scope(Trip, cmd["trip_id"])
        trip.cancel(cmd["reason"], utc_now())
        if trip.vehicle_id is None:
            return self.save(trip)
        vehicle = self.store.load(Vehicle, trip.vehicle_id)
        vehicle.release(trip.id, cmd["reason"])
        return self.save(trip, following=(vehicle,))  # the requester cancels, even a trip served city-wide

    @command(s.ApproveTripSchema)
    def approve_trip_outside_hours(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """ApproveTripOutsideHours: the caller approves use outside working time (recorded as approver)."""
        trip = self.load_in_scope(Trip, cmd["trip_id"])
        trip.approve_outside_hours(self.context().actor, cmd["reason"])
        return self.save(trip)

    @command(s.StartTripSchema)
    def start_trip(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """StartTrip: the vehicle leaves (not while sealed or on another trip); answers odometer anomalies."""
        trip = self.load_in_scope(Trip, cmd["trip_id"])
        if trip.vehicle_id is None:
            raise RuleViolation(f"trip {trip.id} has no vehicle yet", fields={"trip_id": ["not dispatched"]})
        vehicle = self.store.load(Vehicle, trip.vehicle_id)
        started = cmd["started_at"] or utc_now()
        raised = vehicle.depart(trip.id, cmd["odometer_km"], iso_as_given(started))
        trip.start(cmd["odometer_km"], started)
        return self.save(trip, vehicle, answer={"anomalies": raised})

    @command(s.FinishTripSchema)
    def finish_trip(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """FinishTrip: the vehicle is back; use outside working time without approval is flagged."""
        trip = self.load_in_scope(Trip, cmd["trip_id"])
        if trip.vehicle_id is None:
            raise RuleViolation(f"trip {trip.id} has no vehicle yet", fields={"trip_id": ["not dispatched"]})
        vehicle = self.store.load(Vehicle, trip.vehicle_id)
        finished = cmd["finished_at"] or utc_now()
        distance = trip.finish(cmd["odometer_km"], finished, working_hours(settings().vehicle_working_hours))
        raised = vehicle.return_from(trip.id, cmd["odometer_km"], distance, iso_as_given(finished))
        answer = {"distance_km": distance, "flags": list(trip.open_flags), "anomalies": raised}
        return self.save(trip, vehicle, answer=answer)

    @command(s.RecordGpsPointsSchema)
    def record_gps_points(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """RecordGpsPoints: a batch of the trip's track (from the vehicle's terminal)."""
        trip = self.load_in_scope(Trip, cmd["trip_id"])
        if cmd["vehicle_id"] is not None and cmd["vehicle_id"] != trip.vehicle_id:
            raise RuleViolation(
                f"trip {trip.id} is served by {trip.vehicle_id}", fields={"vehicle_id": ["not the trip's vehicle"]}
            )
        trip.record_gps([[iso_as_given(p["at"]), p["lat"], p["lon"]] for p in cmd["points"]])
        return self.save(trip, answer={"points": len(cmd["points"]), "gps_points": trip.gps_points})

    @command(s.ResolveTripFlagSchema)
    def resolve_trip_flag(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """ResolveTripFlag: close a trip's flag with its explanation."""
        trip = self.load_in_scope(Trip, cmd["trip_id"])
        trip.resolve_flag(cmd["flag"], cmd["note"], utc_now())
        return self.save(trip)

    @command(s.CheckTripsWithoutGpsSchema)
    def check_trips_without_gps(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """CheckTripsWithoutGps: flag finished trips still without a GPS point after the grace period."""
        grace = cmd["grace_hours"] if cmd["grace_hours"] is not None else settings().vehicle_gps_grace_hours
        return self._check_gps(grace)

    @timer(interval=GPS_CHECK_SECONDS)  # type: ignore[untyped-decorator]
    def check_trips_without_gps_hourly(self) -> None:
        """Every hour, flag finished trips still without GPS after ``VEHICLE_GPS_GRACE_HOURS``."""
        self._check_gps(settings().vehicle_gps_grace_hours)

    @timer(interval=RETENTION_CHECK_SECONDS)  # type: ignore[untyped-decorator]
    def expire_gps_tracks_daily(self) -> None:
        """Once a day, erase the track keys of trips that finished more than ``GPS_RETENTION_DAYS`` ago
        (``services.vehicles.retention``): their points read 已删除 everywhere, their figures stay."""
        expire_tracks(self.read_models.engine, platform_key_store(), utc_now(), settings().gps_retention_days)

    def _check_gps(self, grace_hours: float) -> dict[str, Any]:
        now = utc_now()
        cutoff = (now - timedelta(hours=grace_hours)).astimezone(UTC).isoformat(timespec="seconds")
        with self.read_models.engine.connect() as conn:
            ids = read_model.trips_awaiting_gps(conn, cutoff)
        flagged = [t for t in self.store.find_many(Trip, ids).values() if t.flag_missing_gps(now, grace_hours)]
        if not flagged:
            return {"flagged": [], "event_ids": []}
        return self.save(*flagged, answer={"flagged": [t.id for t in flagged]})

    # -- queries -------------------------------------------------------------------------------------

    @command(s.VehicleIdSchema)
    def get_vehicle(self, query: dict[str, Any]) -> dict[str, Any]:
        """The current state of one vehicle, from its stream."""
        vehicle = self.store.load(Vehicle, query["vehicle_id"])
        state = vehicle.snapshot_state()
        state["records"] = len(state.pop("record_ids"))
        return {"id": vehicle.id, "version": vehicle.version, **state}

    @command(s.TripIdSchema)
    def get_trip(self, query: dict[str, Any]) -> dict[str, Any]:
        """The current state of one trip, from its stream."""
        trip = self.store.load(Trip, query["trip_id"])
        return {"id": trip.id, "version": trip.version, **trip.snapshot_state()}

    @command(s.TripIdSchema)
    def trip_track(self, query: dict[str, Any]) -> dict[str, Any]:
        """The trip (ids, districts, status) and its GPS batches as stored: ``points`` a token (sealed, personal)
        or, for batches recorded before sealing, the clear list, with the batch's clear figures. The gateway
        decrypts for the entitled reader and answers the GeoJSON (``read_model.track_feature``)."""
        trip = self.store.load(Trip, query["trip_id"])
        state = trip.snapshot_state()
        fields = ("agency_id", "district", "vehicle_id", "vehicle_district", "status", "started_at", "finished_at")
        batches = [
            {k: env.payload[k] for k in ("points", "count", "first_at", "last_at", "distance_km")}
            for env in self.store.stream_envelopes(Trip.stream_type, trip.id)
            if env.event_type in GPS_BATCH_EVENTS
        ]
        return {"trip": {"trip_id": trip.id, **{k: state.get(k) for k in fields}}, "batches": batches}

    @command(s.FleetQuerySchema)
    def fleet(self, query: dict[str, Any]) -> dict[str, Any]:
        """Quotas and vehicles (with today's status: in service, sealed, disposed)."""
        with self.read_models.engine.connect() as conn:
            return read_model.fleet(
                conn=conn,
                agency_id=query["agency_id"],
                district=query["district"],
                status=query["status"],
                today=china_today().isoformat(),
                limit=query["limit"],
                offset=query["offset"],
            )

    @command(s.VehicleCostsQuerySchema)
    def vehicle_costs(self, query: dict[str, Any]) -> dict[str, Any]:
        """One vehicle's costs per month and kind (fen), km per month, cost per km and per month (yuan)."""
        today = china_today()
        first = query["from_month"] or f"{today.year:04d}-01"
        last = query["to_month"] or f"{today.year:04d}-{today.month:02d}"
        if last < first:
            raise RuleViolation("the window ends before it starts", fields={"to_month": ["before from_month"]})
        with self.read_models.engine.connect() as conn:
            row = read_model.vehicle_row(conn, query["vehicle_id"])
            if row is None:
                raise NotFound(f"vehicle {query['vehicle_id']} not found")
            require_in_scope(  # the district a district operator's query is limited to
                query["district"] or None,
                row["district"],
                message=f"vehicle {query['vehicle_id']} is not of district {query['district']}",
            )
            months = monthly_costs(read_model.cost_items(conn, query["vehicle_id"]), first, last)
            km = read_model.km_by_month(conn, query["vehicle_id"], first, last)
        total = sum(sum(kinds.values()) for kinds in months.values())
        distance = round(sum(km.values()), 1)
        return {
            "vehicle_id": row["vehicle_id"],
            "plate": row["plate"],
            "agency_id": row["agency_id"],
            "from_month": first,
            "to_month": last,
            "months": [
                {"month": m, "costs_fen": kinds, "total_fen": sum(kinds.values()), "km": round(km.get(m, 0.0), 1)}
                for m, kinds in months.items()
            ],
            "total_fen": total,
            "km": distance,
            "cost_per_km": cost_per_km(months, distance),
            "cost_per_month": round(total / 100 / len(months), 2),
        }

    @command(s.FleetReportQuerySchema)
    def fleet_report(self, query: dict[str, Any]) -> dict[str, Any]:
        """Per vehicle of a year: costs, km, cost per km, fuel and charging, designated shares, consumption."""
        year = query["year"] or china_today().year
        with self.read_models.engine.connect() as conn:
            items = read_model.fleet_report(conn, year, query["agency_id"], query["district"])
        return {"year": year, "items": items}

    @command(s.NewEnergyShareQuerySchema)
    def new_energy_share(self, query: dict[str, Any]) -> dict[str, Any]:
        """The new-energy share of the year's new and replacement acquisitions per agency, district and city."""
        year = query["year"] or china_today().year
        policy = self._policy()
        with self.read_models.engine.connect() as conn:
            records = read_model.acquisitions(conn, year)
        levels = {
            level: {k: vars(v) for k, v in new_energy_shares(records, level, year, policy.target_percent).items()}
            for level in ("agency", "district", "city")
        }
        agencies = {a: v for a, v in levels["agency"].items() if not query["agency_id"] or a == query["agency_id"]}
        if query["district"]:
            local = {r.agency_id for r in records if r.district == query["district"]}
            agencies = {a: v for a, v in agencies.items() if a in local}
        districts = {k: v for k, v in levels["district"].items() if not query["district"] or k == query["district"]}
        return {
            "year": year,
            "target_percent": policy.target_percent,
            "mode": policy.mode,
            "agencies": agencies,
            "districts": districts,
            "city": levels["city"].get("city"),
        }

    @command(s.TripsQuerySchema)
    def trips(self, query: dict[str, Any]) -> dict[str, Any]:
        """Trips; a district sees its own and those its vehicles serve."""
        with self.read_models.engine.connect() as conn:
            items = read_model.trip_rows(
                conn=conn,
                district=query["district"],
                agency_id=query["agency_id"],
                vehicle_id=query["vehicle_id"],
                status=query["status"],
                limit=query["limit"],
            )
        return {"items": items}

    @command(s.AnomaliesQuerySchema)
    def anomalies(self, query: dict[str, Any]) -> dict[str, Any]:
        """Vehicle anomalies, trip flags and new-energy shortfalls with their evidence."""
        with self.read_models.engine.connect() as conn:
            items = read_model.finding_rows(
                conn=conn,
                district=query["district"],
                agency_id=query["agency_id"],
                vehicle_id=query["vehicle_id"],
                kind=query["kind"],
                include_closed=query["include_closed"],
            )
        return {"items": items}
