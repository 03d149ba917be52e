"""Loading vehicles: quotas, the fleet's past through the importer, this year's acquisitions and disposals, and a
year of trips (with GPS tracks on the district topics), fuel, charging, repairs, tolls and insurance."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import date

from infra.local.demo.base import Base
from infra.local.demo.city import Agency, Vehicle
from infra.local.demo.client import Phase
from infra.local.demo.histories import (
    Fleet,
    Step,
    disposal_body,
    fleet_files,
    fleet_of,
    gps_track,
    past_vehicle,
    quota_body,
    vehicle_body,
    vehicle_history,
)


class VehiclesLoader(Base):
    """The vehicle phase of ``Loader``."""

    def load_vehicles(self) -> None:
        """The fleet's past through the importer (``fleet_files``: quotas, vehicles acquired before this year,
        old vehicles and their disposal when it was before this year); then, through the API, the other quotas,
        this year's disposals, this year's new-energy acquisitions, then conventional ones, then each vehicle's
        year of trips and costs in time order; GPS tracks go through the vehicle's district topic."""
        api = self.api
        fleets = [a for a in self.agencies if a.vehicle_quota]
        histories: dict[str, tuple[float, list[Step]]] = {}
        fleet = Fleet(self.agencies)
        vehicles = [v for a in self.agencies for v in a.vehicles]
        simulated = Phase("vehicle histories", len(vehicles))
        for v in vehicles:
            histories[v.vehicle_id] = vehicle_history(v, fleet, self.today, self.o.seed)
            simulated.advance()
        simulated.finish()
        odometers = {ident: odometer for ident, (odometer, _) in histories.items()}
        past = self.import_past(
            "vehicles' past", fleet_files(self.agencies, odometers, self.today, self.o.seed, self.o.scale)
        )
        self.counts["past_rows"] += past.accepted
        this_year = date(self.today.year, 1, 1)
        quotas = {a.agency_id for a in fleets if not any(past_vehicle(v, this_year) for v in fleet_of(a))}
        disposals = {
            old.vehicle_id
            for v in vehicles
            if (old := v.replaces) is not None and (old.disposed_on or self.today) >= this_year
        }
        total = (
            len(quotas)
            + sum(1 for v in vehicles if not past_vehicle(v, this_year))
            + len(disposals)
            + sum(sum(1 for s in steps if s.gps_district is None) for _, steps in histories.values())
        )
        phase = Phase("vehicles", total)
        api.phase = phase

        def register(v: Vehicle) -> None:
            api.post("vehicles.register_vehicle", "/vehicles", vehicle_body(v, odometers[v.vehicle_id]), v.vehicle_id)

        def first_wave(a: Agency) -> None:
            if a.agency_id in quotas:
                api.post(
                    "vehicles.set_vehicle_quota",
                    f"/agencies/{a.agency_id}/vehicle-quota",
                    quota_body(a),
                    a.agency_id,
                )
            for v in a.vehicles:
                if (old := v.replaces) is not None and old.vehicle_id in disposals:
                    api.post(
                        "vehicles.dispose_vehicle",
                        f"/vehicles/{old.vehicle_id}/disposal",
                        disposal_body(old, self.today),
                        old.vehicle_id,
                    )
            for v in a.vehicles:
                if v.new_energy and not past_vehicle(v, this_year):
                    register(v)

        def second_wave(a: Agency) -> None:
            for v in a.vehicles:
                if not v.new_energy and not past_vehicle(v, this_year):
                    register(v)

        topics = self.topic()
        gps_sent = Counter[str]()

        def history(v: Vehicle) -> None:
            for step in histories[v.vehicle_id][1]:
                if step.gps_district is not None:  # the terminal uploads the track once the trip is over
                    trip = step.body["trip_id"]
                    body = {**step.body, "points": gps_track(*step.track)} if step.track else step.body
                    topics.send(step.gps_district, "vehicles.record_gps_points", f"demo-gps-{trip}", body, trip)
                    gps_sent[v.vehicle_id] += 1
                    continue
                answer = api.post(step.name, step.path, step.body, step.key)
                if answer is None and step.name == "vehicles.start_trip":
                    return  # the rest of this vehicle's history would be refused too; the refusal is reported

        try:
            with ThreadPoolExecutor(self.o.workers) as pool:
                list(pool.map(first_wave, fleets))
                list(pool.map(second_wave, fleets))
                list(pool.map(history, vehicles))
        finally:
            api.phase = None
            self.phases.append(phase.finish())
        topics.flush()
        self.counts["vehicles"] = len(vehicles)
        self.counts["new_energy_vehicles"] = sum(v.new_energy for v in vehicles)
        self.counts["trips"] = sum(
            1 for _, steps in histories.values() for s in steps if s.name == "vehicles.request_trip"
        )
        self.counts["gps_tracks"] = sum(gps_sent.values())
        self.counts["vehicle_cost_records"] = sum(
            1
            for _, steps in histories.values()
            for s in steps
            if s.name
            in ("vehicles.record_fuel", "vehicles.record_charging", "vehicles.record_repair", "vehicles.record_expense")
        )
