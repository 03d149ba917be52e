"""Official vehicles end to end: quota and registration, costs with anomalies, a trip served city-wide with its
GPS batch from the vehicle's district system, and the data center's figures — through the gateway's HTTP API,
the district inbound topic, Kafka and the projections."""

from __future__ import annotations

import json
import uuid
from functools import partial
from typing import Any

import pytest
import sqlalchemy as sa

from services.common.base.db import create_db_engine
from services.common.read.broker import make_producer
from services.gateway.views import vehicles as dc
from tests.e2e.conftest import Platform
from tests.support import agency_code, eventually, owned_vehicle, read_topic

TIANNING, WUJIN = "320402", "320412"


_eventually = partial(eventually, timeout=20, interval=0.2)
"""``tests.support.eventually`` with this module's patience."""


def _agency(platform: Platform, admin: str, district: str, tag: str) -> str:
    agency = agency_code(district, f"AG-{district}-{tag}")
    body = {
        "agency_id": agency,
        "name": "区机关事务管理中心",
        "district": district,
        "kind": "party_government",
        "admin_level": "county",
        "authorised_headcount": 30,
    }
    assert platform.request("POST", "/api/v1/agencies", body, admin)[0] == 201
    _eventually(lambda: platform.request("GET", f"/api/v1/agencies/{agency}", token=admin)[0], lambda s: s == 200)
    quota = {"quota": 2, "reason": "2026年公务用车编制"}
    status, body, _ = _eventually(
        lambda: platform.request("POST", f"/api/v1/agencies/{agency}/vehicle-quota", quota, admin),
        lambda r: r[0] != 422,  # the vehicles service learns the agency from office-space events
    )
    assert status == 200, body
    return agency


def _vehicle(agency: str, plate: str, **extra: Any) -> dict[str, Any]:
    return owned_vehicle(f"VH-{uuid.uuid4().hex[:10]}", agency, plate) | extra


def _plate(new_energy: bool = False) -> str:
    """A random plate: conventional (苏D and five letters or digits) or small new-energy pure electric (苏DD…)."""
    if new_energy:
        return f"苏DD{uuid.uuid4().int % 100_000:05d}"
    return "苏D" + uuid.uuid4().hex[:5].upper()


@pytest.fixture(scope="module")
def districts(platform: Platform) -> dict[str, Any]:
    """An agency with a quota of 2 in Tianning and one in Wujin, and an operator token for each district."""
    admin = platform.token()
    tag = uuid.uuid4().hex[:6]
    return {
        "admin": admin,
        "tianning": _agency(platform, admin, TIANNING, tag),
        "wujin": _agency(platform, admin, WUJIN, tag),
        "op_tianning": platform.token("district_operator", district=TIANNING, name="op-tn"),
        "op_wujin": platform.token("district_operator", district=WUJIN, name="op-wj"),
    }


def test_quota_plates_and_fuel_anomalies_through_the_gateway(platform: Platform, districts: dict[str, Any]) -> None:
    admin, agency = districts["admin"], districts["tianning"]
    status, body, _ = platform.request("POST", "/api/v1/vehicles", _vehicle(agency, "苏DI2345"), admin)
    assert (status, body["error"], list(body["fields"])) == (422, "invalid_plate", ["plate"])
    status, body, _ = platform.request("POST", "/api/v1/vehicles", _vehicle(agency, _plate(), tank_capacity=-1), admin)
    assert (status, list(body["fields"])) == (422, ["tank_capacity"])
    first = _vehicle(agency, _plate())
    assert platform.request("POST", "/api/v1/vehicles", first, admin)[0] == 201
    ev = {"energy_type": "battery_electric", "tank_capacity": None, "battery_capacity_kwh": 60, "norm_per_100km": 15}
    assert (
        platform.request("POST", "/api/v1/vehicles", _vehicle(agency, _plate(new_energy=True), **ev), admin)[0] == 201
    )
    status, body, _ = platform.request("POST", "/api/v1/vehicles", _vehicle(agency, _plate()), admin)
    assert (status, body["error"]) == (422, "quota_exceeded")

    fuel = {
        "fuel": "gasoline",
        "station": "中石化龙城站",
        "designated": True,
        "refuelled_at": "2026-03-02T09:00:00+08:00",
    }
    path = f"/api/v1/vehicles/{first['vehicle_id']}/fuel"
    assert (
        platform.request("POST", path, fuel | {"quantity": 30, "amount_fen": 23_400, "odometer_km": 20_000}, admin)[0]
        == 201
    )
    status, body, _ = platform.request(
        "POST", path, fuel | {"quantity": 90, "amount_fen": 70_200, "odometer_km": 19_000}, admin
    )
    assert status == 201 and len(body["anomalies"]) == 2  # larger than the tank, odometer back
    status, body, _ = platform.request(
        "POST", path, fuel | {"quantity": 30, "amount_fen": "lots"}, districts["op_wujin"]
    )
    assert (status, list(body["fields"])) == (422, ["amount_fen"])
    status, body, _ = platform.request(
        "POST", path, fuel | {"quantity": 30, "amount_fen": 23_400}, districts["op_wujin"]
    )
    assert (status, body["error"]) == (
        404,
        "not_found",
    )  # another district's vehicle: as if missing (docs/hostile-input.md)

    anomalies = _eventually(
        lambda: platform.request("GET", f"/api/v1/vehicle-anomalies?agency_id={agency}", token=admin)[1],
        lambda b: len(b["items"]) == 2,
    )
    assert sorted(i["kind"] for i in anomalies["items"]) == ["odometer_rollback", "refuel_above_capacity"]
    listed = platform.request("GET", f"/api/v1/vehicles?agency_id={agency}", token=districts["op_tianning"])[1]
    assert listed["quotas"][0]["vehicles"] == 2 and len(listed["vehicles"]) == 2


def test_a_trip_served_city_wide_with_gps_from_the_vehicles_district_reaches_the_data_center(
    platform: Platform, districts: dict[str, Any]
) -> None:
    admin, tianning, wujin = districts["admin"], districts["tianning"], districts["wujin"]
    car = _vehicle(wujin, _plate())
    assert platform.request("POST", "/api/v1/vehicles", car, admin)[0] == 201
    trip_id = f"TRIP-{uuid.uuid4().hex[:10]}"
    trip = {"trip_id": trip_id, "agency_id": tianning, "purpose": "防汛检查", "destination": "武进区湖塘镇"}
    trip |= {"planned_start": "2026-03-02T09:00:00+08:00", "planned_end": "2026-03-02T12:00:00+08:00"}
    assert platform.request("POST", "/api/v1/trips", trip, districts["op_tianning"])[0] == 201
    driver_id, driver = f"D-{uuid.uuid4().hex[:8]}", f"司马{uuid.uuid4().hex[:6]}"  # unique: an exact search
    dispatch = {"vehicle_id": car["vehicle_id"], "driver_id": driver_id, "driver": driver}
    status, body, _ = platform.request("POST", f"/api/v1/trips/{trip_id}/dispatch", dispatch, districts["op_tianning"])
    assert (status, body["error"]) == (403, "not_in_scope")
    status, body, _ = platform.request("POST", f"/api/v1/trips/{trip_id}/dispatch", dispatch, districts["op_wujin"])
    assert (status, body["city_wide"]) == (200, True)
    start = {"odometer_km": 20_000, "started_at": "2026-03-02T09:00:00+08:00"}
    assert platform.request("POST", f"/api/v1/trips/{trip_id}/start", start, districts["op_wujin"])[0] == 200

    points = [{"at": f"2026-03-02T09:{m:02d}:00+08:00", "lat": 31.78 - m * 0.001, "lon": 119.97} for m in range(5)]
    message = {
        "message_id": f"gps-{trip_id}",
        "message_type": "vehicles.record_gps_points",
        "schema_version": 1,
        "district": WUJIN,
        "sent_at": "2026-03-02T09:06:00+08:00",
        "payload": {"trip_id": trip_id, "vehicle_id": car["vehicle_id"], "points": points},
    }
    producer = make_producer(platform.bootstrap)
    producer.send(f"district.{WUJIN}.inbound", key=b"gps", value=json.dumps(message).encode()).get(10)
    producer.flush()
    read_trip = lambda token: platform.request("GET", f"/api/v1/trips/{trip_id}", token=token)[1]  # noqa: E731
    assert _eventually(lambda: read_trip(admin), lambda t: t["gps_points"] == 5)["gps_points"] == 5

    finish = {"odometer_km": 20_064.5, "finished_at": "2026-03-02T12:00:00+08:00"}
    status, body, _ = platform.request("POST", f"/api/v1/trips/{trip_id}/finish", finish, districts["op_wujin"])
    assert (status, body["distance_km"], body["flags"]) == (200, 64.5, [])
    for token in (districts["op_tianning"], districts["op_wujin"]):  # visible to both districts
        trips = _eventually(
            lambda token=token: platform.request("GET", "/api/v1/trips?status=completed", token=token)[1],
            lambda b: any(t["trip_id"] == trip_id for t in b["items"]),
        )
        assert any(t["trip_id"] == trip_id and t["city_wide"] for t in trips["items"])

    url = platform.database_urls.get("gateway") or f"sqlite:///{platform.var_dir / 'gateway.db'}"
    engine = create_db_engine(url)

    def figures() -> dict[str, Any]:
        with engine.connect() as conn:
            return dc.vehicles_by_agency(conn, agency_id=wujin, year=2026).get(wujin, {})

    assert _eventually(figures, lambda f: f.get("km") == 64.5).get("km") == 64.5

    # the driver's name: a token in the vehicles store and topic; shown to the city and both districts (each
    # read recorded), masked for a viewer and another district's operator; 已删除 for all once erased
    for token in (admin, districts["op_tianning"], districts["op_wujin"]):
        assert read_trip(token)["driver"] == driver
    viewer = platform.token("viewer", name="veh-viewer")
    assert read_trip(viewer)["driver"] == "***"
    outsider = platform.token("district_operator", district="320411", name="op-xb")
    status, body, _ = platform.request("GET", f"/api/v1/trips/{trip_id}", token=outsider)
    assert status in (403, 404) and driver not in str(body)
    store = platform.database_urls.get("vehicles") or f"sqlite:///{platform.var_dir / 'vehicles.db'}"
    vehicles_engine = create_db_engine(store)
    with vehicles_engine.connect() as conn:
        stored = str(conn.execute(sa.text("SELECT payload FROM events")).all())
        projected = str(conn.execute(sa.text("SELECT driver FROM veh_trips")).all())
    vehicles_engine.dispose()
    assert f"pd:v1:driver:{driver_id}:driver:" in stored and driver not in stored and driver not in projected
    assert not [r for r in read_topic(platform.bootstrap, "vehicles.events") if driver.encode() in r.value]
    reads = platform.request("GET", f"/api/v1/personal-data/reads?subject=driver&id={driver_id}", token=admin)[1]
    assert {r["reader"] for r in reads["items"]} == {
        "city_admin:e2e",
        "district_operator:op-tn",
        "district_operator:op-wj",
    }
    erasure = {"subject": "driver", "id": driver_id}
    status, erased, _ = platform.request("POST", "/api/v1/personal-data/erasures", erasure, admin)
    assert (status, erased["subject"], erased["already_erased"]) == (200, "driver", False)
    for token in (admin, districts["op_wujin"], viewer):
        assert read_trip(token)["driver"] == "已删除"
    assert (read_trip(admin)["status"], figures().get("km")) == ("completed", 64.5)
    engine.dispose()
