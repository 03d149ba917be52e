"""Every vehicles aggregate replays from its events (through JSON) and round-trips its snapshot."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from services.common.kernel.aggregate import Aggregate
from services.common.kernel.events import event_from_payload
from services.vehicles.domain.fleet import AgencyFleet
from services.vehicles.domain.new_energy import AcquisitionLedger, NewEnergyPolicy
from services.vehicles.domain.plates import PlateRegistration
from services.vehicles.domain.trips import Trip
from services.vehicles.domain.vehicles import Vehicle
from tests.unit.vehicles.builders import gasoline_car
from tests.unit.vehicles.test_trips import at, on_duty


def _fleet() -> AgencyFleet:
    fleet = AgencyFleet.establish("A1", "320402", 3, "核定")
    fleet.admit("V1", "苏D11111")
    fleet.admit("V2", "苏D22222")
    fleet.release("V1", "auction")
    fleet.admit("V3", "苏D33333", "V1")
    fleet.revise_quota(4, "增编")
    return fleet


def _ledger() -> AcquisitionLedger:
    ledger = AcquisitionLedger("320402-2026")
    flag = NewEnergyPolicy(30, "flag")
    ledger.record("320402", 2026, "V1", "A1", "gasoline", "new", "2026-01-05", flag)
    ledger.record("320402", 2026, "E1", "A1", "battery_electric", "new", "2026-02-05", flag)
    return ledger


def _plate() -> PlateRegistration:
    plate = PlateRegistration("苏D12345")
    plate.assign("V1", "A1", "320402")
    plate.release("V1")
    plate.assign("V2", "A2", "320404")
    return plate


def _vehicle() -> Vehicle:
    car = gasoline_car(stored=False)
    car.record_fuel("F1", "gasoline", 30, 23_400, "x", True, 10_000, "2026-03-01T09:00:00+08:00")
    car.record_fuel("F2", "gasoline", 80, 62_400, "x", False, 10_600, "2026-03-08T09:00:00+08:00")
    car.record_fuel("F3", "gasoline", 20, 15_600, "x", True, 9_000, "2026-03-09T09:00:00+08:00")
    car.record_repair("R1", "maintenance", "定点", True, 60_000, "保养", None, "2026-03-10")
    car.record_expense("I1", "insurance", "人保", True, 450_000, "2026-01-01", "2026-01-01", "2026-12-31")
    car.seal("S1", "2026-10-01", "2026-10-08", "国庆")
    car.unseal("S1", "2026-10-05")
    car.depart("T1", 10_700, "2026-03-11T09:00:00+08:00")
    car.return_from("T1", 10_750, 50, "2026-03-11T11:00:00+08:00")
    car.resolve_anomaly("refuel_above_capacity:V1:F2", "录入错误", "2026-03-12")
    car.dispose("auction", 3_000_000, "2026-12-01", "lot 7")
    return car


def _trip() -> Trip:
    trip = Trip.request(
        trip_id="T1",
        agency_id="A1",
        district="320402",
        purpose="调研",
        destination="武进",
        passengers=2,
        planned_start=at("2026-03-07", "09:00"),
        planned_end=at("2026-03-07", "12:00"),
    )
    trip.dispatch(on_duty(gasoline_car("V7", "苏D77777", district="320412")), "D-1", "王", at("2026-03-06", "17:00"))
    trip.start(10_000, at("2026-03-07", "09:00"))
    trip.record_gps([[at("2026-03-07", "09:05").isoformat(), 31.8, 119.9]])
    trip.finish(10_030, at("2026-03-07", "12:00"))
    trip.flag_missing_gps(datetime(2026, 3, 9, tzinfo=at("2026-03-07", "09:00").tzinfo), 24)
    trip.resolve_flag("outside_hours", "防汛", at("2026-03-09", "09:00"))
    return trip


@pytest.mark.parametrize("build", [_fleet, _ledger, _plate, _vehicle, _trip])
def test_an_aggregate_replays_from_its_events_and_its_snapshot(build: object) -> None:
    original: Aggregate = build()  # type: ignore[operator]
    stored = [json.loads(json.dumps(e.payload())) for e in original.pending_events]
    events = [
        event_from_payload("vehicles", type(e).__name__, type(e).schema_version, p)
        for e, p in zip(original.pending_events, stored, strict=True)
    ]
    replayed = type(original).rehydrate(original.id, events)
    assert replayed.snapshot_state() == original.snapshot_state()
    assert replayed.version == original.version
    snapshot = json.loads(json.dumps(original.snapshot_state()))
    restored = type(original).rehydrate(original.id, [], (original.version, snapshot))
    assert restored.snapshot_state() == original.snapshot_state()
