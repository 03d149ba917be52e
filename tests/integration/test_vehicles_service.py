"""The vehicles service's commands and read models on a real store (SQLite and PostgreSQL), without brokers:
the service runs in-process (``worker_factory``) and its projection is fed the stored events directly."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

import pytest

from services.common.base.settings import settings
from services.common.kernel.clock import CHINA_STANDARD_TIME, utc_now
from services.common.runtime.rpc import ServiceError
from services.vehicles import read_model
from services.vehicles import service as vehicles_service
from services.vehicles.service import VehiclesService
from tests.integration.harness import ServiceHarness

TIANNING, WUJIN = "320402", "320412"


class Harness(ServiceHarness):
    """The vehicles service with a real store and read models; ``project()`` applies what was stored."""

    def __init__(self, url: str) -> None:
        agencies = (("AG-TN", TIANNING), ("AG-WJ", WUJIN))
        super().__init__(
            url, "vehicles", VehiclesService, read_model.VehiclesViews(), ["vehicles_views"], agencies, headcount=40
        )

    def register(self, vehicle_id: str, plate: str, agency: str = "AG-TN", **extra: Any) -> dict[str, Any]:
        body = {
            "vehicle_id": vehicle_id,
            "plate": plate,
            "agency_id": agency,
            "energy_type": "gasoline",
            "use_category": "general",
            "model": "大众帕萨特",
            "acquisition_kind": "existing",
            "acquired_on": "2024-05-01",
            "norm_per_100km": 8,
            "tank_capacity": 55,
            "odometer_km": 10_000,
        } | extra
        result: dict[str, Any] = self.service.register_vehicle(body)
        return result

    def refused(self, command: str, body: dict[str, Any]) -> ServiceError:
        with pytest.raises(ServiceError) as error:
            getattr(self.service, command)(body)
        return error.value


@pytest.fixture
def fleet(db_url: str) -> Harness:
    harness = Harness(db_url)
    for agency in ("AG-TN", "AG-WJ"):
        harness.service.set_vehicle_quota({"agency_id": agency, "quota": 3, "reason": "2026年编制核定"})
    return harness


def test_registration_keeps_to_the_quota_and_the_plate_and_disposal_frees_the_place(fleet: Harness) -> None:
    fleet.register("V1", "苏D11111")
    fleet.register("V2", "苏D·22222")
    assert fleet.refused("register_vehicle", {"plate": "苏D33333"}).code == "validation_failed"
    assert fleet.refused("register_vehicle", {**_vehicle("V9", "苏D11111")}).code == "already_exists"
    fleet.register("V3", "苏D33333")
    refused = fleet.refused("register_vehicle", _vehicle("V4", "苏D44444"))
    assert (refused.code, refused.http_status, refused.details) == ("quota_exceeded", 422, {"quota": 3, "vehicles": 3})
    disposal = {"method": "auction", "proceeds_fen": 3_560_050, "disposed_on": "2026-06-30", "reference": "CZ-2026-018"}
    answer = fleet.service.dispose_vehicle({"vehicle_id": "V1", **disposal})
    assert (answer["quota"], answer["vehicles"]) == (3, 2)
    fleet.register("V4", "苏D11111")  # the plate and the place are free again
    fleet.project()
    listed = fleet.service.fleet({"agency_id": "AG-TN"})
    assert listed["quotas"] == [{"agency_id": "AG-TN", "district": TIANNING, "quota": 3, "vehicles": 3}]
    disposed = next(v for v in listed["vehicles"] if v["vehicle_id"] == "V1")
    assert (disposed["status_today"], disposed["proceeds_fen"], disposed["disposal_method"]) == (
        "disposed",
        3_560_050,
        "auction",
    )


def _vehicle(vehicle_id: str, plate: str, **extra: Any) -> dict[str, Any]:
    return {
        "vehicle_id": vehicle_id,
        "plate": plate,
        "agency_id": "AG-TN",
        "energy_type": "gasoline",
        "use_category": "general",
        "model": "x",
        "acquisition_kind": "existing",
        "acquired_on": "2024-05-01",
        "norm_per_100km": 8,
        "tank_capacity": 55,
    } | extra


def test_the_new_energy_share_refuses_or_flags_by_configuration_and_queries_show_it(
    fleet: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    new = {"acquisition_kind": "new", "acquired_on": "2026-03-01"}
    refused = fleet.refused("register_vehicle", _vehicle("V1", "苏D11111", **new))
    assert (refused.code, refused.details["target_percent"]) == ("new_energy_share_below_target", 30)
    ev = {"energy_type": "battery_electric", "tank_capacity": None, "battery_capacity_kwh": 60, "norm_per_100km": 15}
    assert fleet.register("E1", "苏DD12345", **new, **ev)["district_share"] == {"new_energy": 1, "total": 1}
    flagging = dataclasses.replace(settings(), vehicle_new_energy_mode="flag")
    monkeypatch.setattr(vehicles_service, "settings", lambda: flagging)
    fleet.register("V1", "苏D11111", **new)  # 1 of 2
    answer = fleet.register("V2", "苏D22222", **new)  # 1 of 3: 33 %
    assert answer["new_energy_below_target"] is False
    fleet.service.set_vehicle_quota({"agency_id": "AG-TN", "quota": 5, "reason": "增编"})
    answer = fleet.register("V3", "苏D33333", **new)  # 1 of 4: flagged, recorded
    assert answer["new_energy_below_target"] is True
    fleet.project()
    share = fleet.service.new_energy_share({"year": 2026})
    assert share["districts"][TIANNING] == {"new_energy": 1, "total": 4, "share": 0.25, "meets_target": False}
    assert share["city"]["total"] == 4 and share["mode"] == "flag"
    (finding,) = fleet.service.anomalies({"district": TIANNING})["items"]
    assert (finding["kind"], finding["item_id"]) == ("new_energy_below_target", f"new_energy:{TIANNING}:2026")
    assert finding["opened_on"] == "2026-03-01"  # the acquisition's date, not the day it was entered


def test_fuel_charging_and_repairs_raise_anomalies_with_evidence_and_costs_give_cost_per_km(fleet: Harness) -> None:
    fleet.register("V1", "苏D11111")
    fuel = {"vehicle_id": "V1", "fuel": "gasoline", "station": "中石化龙城站", "designated": True}
    fleet.service.record_fuel(
        {**fuel, "quantity": 30, "amount_fen": 23_400, "odometer_km": 10_000, "refuelled_at": _at(1)}
    )
    answer = fleet.service.record_fuel(
        {**fuel, "record_id": "F2", "quantity": 80, "amount_fen": 62_400, "odometer_km": 10_500, "refuelled_at": _at(2)}
    )
    assert answer["anomalies"] == ["refuel_above_capacity:V1:F2", "consumption_above_norm:V1:F2"]
    wrong = fleet.refused("record_charging", {"vehicle_id": "V1", "quantity_kwh": 10, "amount_fen": 800} | _station(3))
    assert wrong.code == "wrong_energy_carrier"
    fleet.service.record_expense(
        {"vehicle_id": "V1", "kind": "insurance", "payee": "人保财险", "designated": True, "amount_fen": 450_000}
        | {"occurred_on": "2026-01-01", "covers_from": "2026-01-01", "covers_to": "2026-12-31"}
    )
    fleet.service.record_repair(
        {"vehicle_id": "V1", "kind": "repair", "vendor": "定点修理厂", "designated": False, "amount_fen": 120_050}
        | {"odometer_km": 9_000, "occurred_on": "2026-03-05"}
    )
    fleet.project()
    items = {i["kind"]: i for i in fleet.service.anomalies({"agency_id": "AG-TN"})["items"]}
    assert sorted(items) == ["consumption_above_norm", "odometer_rollback", "refuel_above_capacity"]
    rollback = items["odometer_rollback"]["evidence"]
    assert (rollback["reported_km"], rollback["last_km"], rollback["source"]) == (9_000, 10_500, "repair")
    assert items["consumption_above_norm"]["evidence"]["per_100km"] == 16.0  # 80 L over 500 km
    fleet.service.resolve_anomaly({"vehicle_id": "V1", "anomaly_id": "refuel_above_capacity:V1:F2", "note": "录入错误"})
    fleet.project()
    assert len(fleet.service.anomalies({"agency_id": "AG-TN"})["items"]) == 2
    costs = fleet.service.vehicle_costs({"vehicle_id": "V1", "from_month": "2026-03", "to_month": "2026-03"})
    (march,) = costs["months"]
    assert march["costs_fen"]["fuel"] == 85_800 and march["costs_fen"]["repair"] == 120_050
    assert march["costs_fen"]["insurance"] == 450_000 * 31 // 365
    assert costs["cost_per_km"] is None  # no trip driven in March
    report = fleet.service.fleet_report({"year": 2026})["items"]
    assert report[0]["quantities"] == {"gasoline": 110.0} and report[0]["total_cost_fen"] == 85_800 + 120_050 + 450_000


def test_after_an_odometer_replacement_lower_readings_are_not_rollbacks_and_the_views_show_the_new_one(
    fleet: Harness,
) -> None:
    fleet.register("V1", "苏D11111")  # 10,000 km
    fuel = {"vehicle_id": "V1", "fuel": "gasoline", "station": "中石化龙城站", "designated": True, "amount_fen": 23_400}
    fleet.service.record_fuel({**fuel, "quantity": 30, "odometer_km": 10_400, "refuelled_at": _at(1)})
    refused = fleet.refused(
        "replace_odometer",
        {"vehicle_id": "V1", "old_reading_km": 10_300, "new_reading_km": 0, "replaced_on": "2026-03-02", "reason": "x"},
    )
    assert (refused.code, refused.fields) == ("rule_violation", {"old_reading_km": ["must be >= 10400"]})
    answer = fleet.service.replace_odometer(
        {"vehicle_id": "V1", "replacement_id": "ODO-1", "old_reading_km": 10_420, "new_reading_km": 3}
        | {"replaced_on": "2026-03-02", "reason": "仪表盘故障更换"}
    )
    assert answer["replacement_id"] == "ODO-1"
    later = fleet.service.record_fuel({**fuel, "quantity": 30, "odometer_km": 300, "refuelled_at": _at(3)})
    assert later["anomalies"] == []
    fleet.project()
    assert fleet.service.get_vehicle({"vehicle_id": "V1"})["odometer_km"] == 300
    (listed,) = fleet.service.fleet({"agency_id": "AG-TN"})["vehicles"]
    assert listed["odometer_km"] == 300  # the view follows the new odometer down, then up
    assert fleet.service.anomalies({"agency_id": "AG-TN"})["items"] == []


def _at(day: int, hour: int = 9) -> str:
    return f"2026-03-{day:02d}T{hour:02d}:00:00+08:00"


def _station(day: int) -> dict[str, Any]:
    return {"station": "国网", "designated": True, "charged_at": _at(day)}


def test_a_trip_served_city_wide_is_written_by_both_districts_and_seen_by_both(fleet: Harness) -> None:
    fleet.register("V-WJ", "苏D77777", agency="AG-WJ")
    fleet.register("V-TN", "苏D11111")
    fleet.project()
    fleet.scope = TIANNING
    trip = {"trip_id": "T1", "agency_id": "AG-TN", "purpose": "防汛检查", "destination": "武进区"}
    fleet.service.request_trip(trip | {"planned_start": _at(2, 9), "planned_end": _at(2, 12)})
    refused = fleet.refused(
        "dispatch_trip", {"trip_id": "T1", "vehicle_id": "V-WJ", "driver_id": "D-1", "driver": "王师傅"}
    )
    assert refused.code == "not_in_scope"  # Tianning cannot send Wujin's car
    fleet.scope = WUJIN
    assert (
        fleet.service.dispatch_trip({"trip_id": "T1", "vehicle_id": "V-WJ", "driver_id": "D-1", "driver": "王师傅"})[
            "city_wide"
        ]
        is True
    )
    fleet.service.start_trip({"trip_id": "T1", "odometer_km": 10_000, "started_at": _at(2, 9)})
    fleet.service.record_gps_points(
        {"trip_id": "T1", "vehicle_id": "V-WJ", "points": [{"at": _at(2, 10), "lat": 31.7, "lon": 119.9}]}
    )
    answer = fleet.service.finish_trip({"trip_id": "T1", "odometer_km": 10_045, "finished_at": _at(2, 12)})
    assert (answer["distance_km"], answer["flags"]) == (45.0, [])
    fleet.scope = "320411"
    late_point = {"trip_id": "T1", "points": [{"at": _at(2, 11), "lat": 31.7, "lon": 119.9}]}
    assert fleet.refused("record_gps_points", late_point).code == "not_in_scope"  # a third district
    fleet.project()
    for district in (TIANNING, WUJIN):
        (seen,) = fleet.service.trips({"district": district})["items"]
        assert (seen["trip_id"], seen["city_wide"], seen["gps_points"]) == ("T1", True, 1)
    assert fleet.service.trips({"district": "320411"})["items"] == []


def test_a_vehicle_is_not_dispatched_twice_at_once_and_the_requester_frees_it_by_cancelling(fleet: Harness) -> None:
    fleet.register("V-WJ", "苏D77777", agency="AG-WJ")
    fleet.project()
    fleet.scope = TIANNING
    trip = {"agency_id": "AG-TN", "purpose": "防汛检查", "destination": "武进区"}
    fleet.service.request_trip(trip | {"trip_id": "T1", "planned_start": _at(2, 9), "planned_end": _at(2, 12)})
    fleet.service.request_trip(trip | {"trip_id": "T2", "planned_start": _at(2, 11), "planned_end": _at(2, 15)})
    fleet.scope = WUJIN
    fleet.service.dispatch_trip({"trip_id": "T1", "vehicle_id": "V-WJ", "driver_id": "D-1", "driver": "王师傅"})
    refused = fleet.refused(
        "dispatch_trip", {"trip_id": "T2", "vehicle_id": "V-WJ", "driver_id": "D-1", "driver": "王师傅"}
    )
    assert (refused.code, refused.details["trip_id"], refused.http_status) == ("vehicle_double_booked", "T1", 409)
    fleet.scope = TIANNING  # the requester calls its trip off, though Wujin's vehicle serves it
    cancelled = fleet.service.cancel_trip({"trip_id": "T1", "reason": "会议改期"})
    assert len(cancelled["event_ids"]) == 2  # the trip's cancellation and the vehicle's release, stored together
    fleet.scope = WUJIN
    assert (
        fleet.service.dispatch_trip({"trip_id": "T2", "vehicle_id": "V-WJ", "driver_id": "D-1", "driver": "王师傅"})[
            "city_wide"
        ]
        is True
    )


def test_sealed_vehicles_are_not_dispatched_and_weekend_trips_without_gps_are_flagged(fleet: Harness) -> None:
    fleet.register("V1", "苏D11111")
    fleet.register("V2", "苏D22222", use_category="emergency")
    fleet.project()
    sealed = fleet.service.seal_fleet(
        {"agency_id": "AG-TN", "sealed_from": "2026-10-01", "sealed_until": "2026-10-08", "reason": "国庆节封存"}
    )
    assert sealed["sealed"] == ["V1"]  # the emergency vehicle stays on duty
    holiday = {"agency_id": "AG-TN", "purpose": "x", "destination": "y"}
    fleet.service.request_trip(
        holiday
        | {"trip_id": "T1", "planned_start": "2026-10-02T09:00:00+08:00", "planned_end": "2026-10-02T11:00:00+08:00"}
    )
    assert (
        fleet.refused("dispatch_trip", {"trip_id": "T1", "vehicle_id": "V1", "driver_id": "D-1", "driver": "李"}).code
        == "vehicle_sealed"
    )
    fleet.service.dispatch_trip({"trip_id": "T1", "vehicle_id": "V2", "driver_id": "D-1", "driver": "李"})
    fleet.service.start_trip({"trip_id": "T1", "odometer_km": 10_000, "started_at": "2026-10-02T09:00:00+08:00"})
    finish = fleet.service.finish_trip(
        {"trip_id": "T1", "odometer_km": 10_020, "finished_at": "2026-10-02T11:00:00+08:00"}
    )
    assert finish["flags"] == ["outside_hours"]
    fleet.project()
    assert fleet.service.check_trips_without_gps({})["flagged"] == ["T1"]
    fleet.project()
    assert fleet.service.check_trips_without_gps({})["flagged"] == []
    kinds = sorted(i["kind"] for i in fleet.service.anomalies({"agency_id": "AG-TN"})["items"])
    assert kinds == ["outside_hours", "without_gps"]
    vehicle = fleet.service.get_vehicle({"vehicle_id": "V1"})
    assert vehicle["seals"] == {"SEAL-2026-10-01": ["2026-10-01", "2026-10-08"]}


def test_repair_outliers_are_flagged_against_the_whole_fleet_once(fleet: Harness) -> None:
    for agency in ("AG-TN", "AG-WJ"):
        fleet.service.set_vehicle_quota({"agency_id": agency, "quota": 10, "reason": "增编"})
    for n in range(8):
        agency = "AG-TN" if n < 4 else "AG-WJ"
        fleet.register(f"V{n}", f"苏D1000{n}", agency=agency)
        amount = 60_000 if n == 7 else 800 + 50 * n
        fleet.service.record_repair(
            {"vehicle_id": f"V{n}", "kind": "repair", "vendor": "定点", "designated": True, "amount_fen": amount * 100}
            | {"occurred_on": "2026-04-10"}
        )
    fleet.project()
    answer = fleet.service.check_repair_outliers({"period": "2026-04"})
    assert (answer["fleet_size"], answer["flagged"]) == (8, ["repair_outlier:V7:cost:2026-04"])
    fleet.project()
    assert fleet.service.check_repair_outliers({"period": "2026-04"})["flagged"] == []
    (item,) = fleet.service.anomalies({"kind": "repair_outlier"})["items"]
    assert item["agency_id"] == "AG-WJ" and item["evidence"]["fleet_size"] == 8


def test_a_trip_finishing_now_defaults_its_time(fleet: Harness) -> None:
    fleet.register("V1", "苏D11111")
    now = utc_now().astimezone(CHINA_STANDARD_TIME)
    fleet.service.request_trip(
        {"trip_id": "T1", "agency_id": "AG-TN", "purpose": "x", "destination": "y"}
        | {
            "planned_start": (now - timedelta(hours=2)).isoformat(),
            "planned_end": (now + timedelta(hours=1)).isoformat(),
        }
    )
    fleet.service.dispatch_trip({"trip_id": "T1", "vehicle_id": "V1", "driver_id": "D-1", "driver": "李"})
    fleet.service.start_trip(
        {"trip_id": "T1", "odometer_km": 10_000, "started_at": (now - timedelta(hours=1)).isoformat()}
    )
    assert fleet.service.finish_trip({"trip_id": "T1", "odometer_km": 10_010})["distance_km"] == 10.0
    assert fleet.service.get_trip({"trip_id": "T1"})["status"] == "completed"


def test_the_data_center_figures_sum_costs_km_and_energy_per_agency_and_roll_up(fleet: Harness) -> None:
    from services.gateway.views import vehicles as dc

    ev = {"energy_type": "battery_electric", "tank_capacity": None, "battery_capacity_kwh": 60, "norm_per_100km": 15}
    fleet.register("E1", "苏DD12345", acquisition_kind="new", acquired_on="2026-02-01", **ev)
    fleet.register("V1", "苏D11111", acquisition_kind="new", acquired_on="2026-02-02")
    fleet.register("V-WJ", "苏D77777", agency="AG-WJ")
    fuel = {"vehicle_id": "V1", "fuel": "gasoline", "station": "中石化", "designated": True}
    fleet.service.record_fuel({**fuel, "quantity": 40, "amount_fen": 31_200, "refuelled_at": _at(3)})
    fleet.service.record_charging({"vehicle_id": "E1", "quantity_kwh": 45.5, "amount_fen": 3_640} | _station(4))
    fleet.service.record_fuel(
        {
            **fuel,
            "vehicle_id": "V-WJ",
            "quantity": 30,
            "amount_fen": 23_400,
            "refuelled_at": "2025-12-30T10:00:00+08:00",
        }
    )
    fleet.service.request_trip(
        {"trip_id": "T1", "agency_id": "AG-TN", "purpose": "x", "destination": "y"}
        | {"planned_start": _at(5, 9), "planned_end": _at(5, 12)}
    )
    fleet.service.dispatch_trip({"trip_id": "T1", "vehicle_id": "V-WJ", "driver_id": "D-1", "driver": "王"})
    fleet.service.start_trip({"trip_id": "T1", "odometer_km": 10_000, "started_at": _at(5, 9)})
    fleet.service.finish_trip({"trip_id": "T1", "odometer_km": 10_100, "finished_at": _at(5, 12)})
    fleet.project()
    fleet.service.check_trips_without_gps({})
    fleet.project()
    with fleet.engine.connect() as conn:
        figures = dc.vehicles_by_agency(conn, year=2026)
        items = dc.open_items(conn)
        joined = dc.datacenter_figures(conn, TIANNING, None, 2026)
    assert joined == {
        "AG-TN": {
            "vehicles_in_service": 2,
            "vehicle_quota": 3,
            "acquisitions": 2,
            "new_energy_acquisitions": 1,
            "vehicle_cost_fen": 34_840,
            "vehicle_km": 0,
            "vehicle_gasoline_l": 40.0,
            "vehicle_diesel_l": 0,
            "vehicle_charging_kwh": 45.5,
        }
    }
    tianning, wujin = figures["AG-TN"], figures["AG-WJ"]
    assert (tianning["vehicles_in_service"], tianning["quota"], tianning["acquisitions"]) == (2, 3, 2)
    assert (tianning["new_energy_acquisitions"], tianning["gasoline_l"], tianning["charging_kwh"]) == (1, 40.0, 45.5)
    assert (tianning["cost_fen"], tianning["km"]) == (31_200 + 3_640, 0)
    assert (wujin["km"], wujin["cost_fen"], wujin["gasoline_l"]) == (100.0, 0, 0)  # its fuel was bought in 2025
    city = dc.roll_up(figures, None)[0]
    assert (city["agencies"], city["new_energy_share"], city["meets_new_energy_target"]) == (2, 0.5, True)
    assert city["cost_per_km"] == round((31_200 + 3_640) / 100 / 100, 4)
    (item,) = items
    assert item == {
        "system": "vehicles",
        "kind": "without_gps",
        "agency_id": "AG-TN",
        "district": TIANNING,
        "opened_on": item["opened_on"],
        "detail": item["detail"],
        "id": "without_gps:T1",
    }
    assert tianning["open_items"] == 1
