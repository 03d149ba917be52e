"""Office space end to end: agencies and staff, rooms against the standard, findings, leases, repairs,
inspections and operating properties — all through the gateway's HTTP API."""

from __future__ import annotations

import json
import uuid
from datetime import date
from functools import partial
from typing import Any

import geojson
import pytest

from services.common.kernel.clock import china_today
from tests.e2e.conftest import Platform
from tests.support import agency_code, eventually

_eventually = partial(eventually, timeout=20, interval=0.2)
"""``tests.support.eventually`` with this module's patience."""


@pytest.fixture
def city(platform: Platform) -> dict[str, Any]:
    """A city-level agency with two staff and a building of three rooms."""
    admin = platform.token()
    tag = uuid.uuid4().hex[:8]
    agency = agency_code("320400", f"AG-{tag}")
    body = {
        "agency_id": agency,
        "name": "常州市财政局",
        "district": "320400",
        "kind": "party_government",
        "admin_level": "city",
        "authorised_headcount": 80,
    }
    assert platform.request("POST", "/api/v1/agencies", body, admin)[0] == 201
    _eventually(lambda: platform.request("GET", f"/api/v1/agencies/{agency}", token=admin)[0], lambda s: s == 200)
    for person, rank in (("P1", "bureau_deputy"), ("P2", "below_bureau")):
        staff = {"person_id": f"{person}-{tag}", "name": "张伟", "rank": rank, "posted_on": "2021-03-01"}
        assert platform.request("POST", f"/api/v1/agencies/{agency}/staff", staff, admin)[0] == 201
    building = {
        "building_id": f"B-{tag}",
        "agency_id": agency,
        "name": "市行政中心1号楼",
        "address": "龙城大道1280号",
        "gross_floor_area_m2": 2000,
    }
    assert platform.request("POST", "/api/v1/buildings", building, admin)[0] == 201
    for room, area, use in (("R1", 18, "office"), ("R2", 20, "office"), ("M1", 60, "meeting")):
        room_body = {"room_id": f"{room}-{tag}", "number": room, "usable_area_m2": area, "use": use}
        assert platform.request("POST", f"/api/v1/buildings/B-{tag}/rooms", room_body, admin)[0] == 201
    return {"admin": admin, "tag": tag, "agency": agency, "building": f"B-{tag}"}


def _allocate(
    platform: Platform, city: dict[str, Any], room: str, person: str, token: str, **extra: Any
) -> tuple[int, Any, Any]:
    tag = city["tag"]
    body = {"person_id": f"{person}-{tag}", "agency_id": city["agency"], **extra}
    return platform.request("POST", f"/api/v1/buildings/{city['building']}/rooms/{room}-{tag}/allocations", body, token)


def _report(platform: Platform, city: dict[str, Any], **args: str) -> dict[str, Any]:
    query = "&".join(f"{k}={v}" for k, v in {"agency_id": city["agency"], **args}.items())
    status, body, _ = platform.request("GET", f"/api/v1/office-space/report?{query}", token=city["admin"])
    assert status == 200, body
    return dict(body)


def test_allocation_above_the_standard_is_refused_unless_a_city_administrator_approves(
    platform: Platform, city: dict[str, Any]
) -> None:
    assert _allocate(platform, city, "R1", "P1", city["admin"])[0] == 201  # 18 m² for 副局级 (18 m²)
    status, body, _ = _allocate(platform, city, "R2", "P2", city["admin"])  # 20 m² for 局级以下 (9 m²)
    assert (status, body["error"], body["details"]["standard_m2"]) == (422, "over_standard", 9.0)
    operator = platform.token("district_operator", district="320400", name="op-city")
    status, body, _ = _allocate(platform, city, "R2", "P2", operator, exception_reason="档案存放需要")
    assert (status, body["error"]) == (403, "forbidden")
    assert _allocate(platform, city, "R2", "P2", city["admin"], exception_reason="档案存放需要")[0] == 201
    report = _eventually(lambda: _report(platform, city), lambda r: len(r["over_standard"]) == 1)
    over = report["over_standard"][0]
    assert (over["room_id"], over["exception_approved_by"], over["standard_m2"]) == (
        f"R2-{city['tag']}",
        "city_admin:e2e",
        9.0,
    )
    figures = report["figures"][0]
    # R1 18 m² (P1) + R2 20 m² (P2) both occupied by staff on post: 38 / 2 = 19 m² per person; standard 18 + 9 = 27
    assert (figures["occupied_office_area_m2"], figures["area_per_person_m2"], figures["standard_area_m2"]) == (
        38.0,
        19.0,
        27.0,
    )
    assert (figures["over_standard_persons"], figures["over_standard_approved"]) == (1, 1)


def test_a_room_still_held_by_staff_who_retired_becomes_an_open_finding(
    platform: Platform, city: dict[str, Any]
) -> None:
    tag = city["tag"]
    assert _allocate(platform, city, "R1", "P1", city["admin"])[0] == 201
    _eventually(lambda: _report(platform, city), lambda r: r["figures"] and r["figures"][0]["occupied_office_area_m2"])
    departure = {"reason": "retired", "departed_on": "2026-10-31"}
    status, body, _ = platform.request(
        "POST", f"/api/v1/agencies/{city['agency']}/staff/P1-{tag}/departure", departure, city["admin"]
    )
    assert (status, body["rooms_still_held"]) == (200, [f"R1-{tag}"])
    report = _eventually(lambda: _report(platform, city), lambda r: r["findings"])
    assert [(f["kind"], f["agency_id"]) for f in report["findings"]] == [("departed_staff", city["agency"])]


def test_rooms_leases_and_repairs_follow_their_rules(platform: Platform, city: dict[str, Any]) -> None:
    admin, tag, agency = city["admin"], city["tag"], city["agency"]
    status, body, _ = _allocate(platform, city, "M1", "P1", admin)
    assert (status, body["error"]) == (422, "not_an_office")
    status, body, _ = platform.request(
        "POST", f"/api/v1/buildings/{city['building']}/rooms/R1-{tag}/transfer", {"to_agency_id": agency}, admin
    )
    assert (status, body["error"]) == (422, "room_not_idle")

    lease = {
        "lease_id": f"L-{tag}",
        "agency_id": agency,
        "building_id": city["building"],
        "room_ids": [f"M1-{tag}"],
        "kind": "rent",
        "counter_party": "常州某科技有限公司",
        "start_on": "2026-01-01",
        "end_on": "2027-01-01",
        "monthly_rent_fen": 0,
    }
    status, body, _ = platform.request("POST", "/api/v1/leases", lease, admin)
    assert (status, list(body["fields"])) == (422, ["monthly_rent_fen"])
    # money is integer fen: yuan with decimals are refused, not rounded
    status, body, _ = platform.request("POST", "/api/v1/leases", lease | {"monthly_rent_fen": 6500.5}, admin)
    assert (status, list(body["fields"])) == (422, ["monthly_rent_fen"])
    # references are checked: a room that is not in the building answers as missing, with the field
    stranger = lease | {"lease_id": f"LX-{tag}", "monthly_rent_fen": 650_000, "room_ids": [f"M1-{tag}", "NO-SUCH"]}
    status, body, _ = platform.request("POST", "/api/v1/leases", stranger, admin)
    assert (status, body["fields"]) == (404, {"room_ids": [f"not in building {city['building']}: NO-SUCH"]})
    found = {k: lease[k] for k in ("agency_id", "building_id", "room_ids", "counter_party")}
    status, body, _ = platform.request("POST", "/api/v1/leases/unapproved", found | {"inspection_id": "NEVER"}, admin)
    assert (status, list(body["fields"])) == (404, ["inspection_id"])  # an inspection that was never opened
    assert platform.request("POST", "/api/v1/leases", lease | {"monthly_rent_fen": 650_000}, admin)[0] == 201
    status, body, _ = platform.request("POST", f"/api/v1/leases/L-{tag}/activate", {}, admin)
    assert (status, body["error"]) == (422, "wrong_status")  # not approved yet
    assert platform.request("POST", f"/api/v1/leases/L-{tag}/decision", {"approve": True}, admin)[0] == 200
    assert platform.request("POST", f"/api/v1/leases/L-{tag}/activate", {}, admin)[0] == 200

    project = {
        "project_id": f"RP-{tag}",
        "agency_id": agency,
        "building_id": city["building"],
        "category": "major",
        "scope": "屋面防水及外墙修缮",
        "budget_fen": 86_000_000,
    }
    assert platform.request("POST", "/api/v1/repair-projects", project, admin)[0] == 201
    status, body, _ = platform.request("POST", f"/api/v1/repair-projects/RP-{tag}/start", {}, admin)
    assert (status, body["error"]) == (422, "wrong_status")  # nothing executes before approval
    review = {"necessary": True, "opinion": "屋面渗漏严重"}
    assert platform.request("POST", f"/api/v1/repair-projects/RP-{tag}/necessity-review", review, admin)[0] == 200
    assert (
        platform.request(
            "POST",
            f"/api/v1/repair-projects/RP-{tag}/decision",
            {"approve": True, "approved_budget_fen": 80_000_000},
            admin,
        )[0]
        == 200
    )
    assert platform.request("POST", f"/api/v1/repair-projects/RP-{tag}/start", {}, admin)[0] == 200
    change = {
        "description": "增加走廊地面翻新",
        "reason": "使用单位提出",
        "amount_fen": 5_200_000,
        "outside_plan": True,
    }
    status, body, _ = platform.request("POST", f"/api/v1/repair-projects/RP-{tag}/changes", change, admin)
    assert (status, body["flagged"]) == (201, True)


def test_overdue_inspection_findings_and_operating_property_performance(
    platform: Platform, city: dict[str, Any]
) -> None:
    admin, tag, agency = city["admin"], city["tag"], city["agency"]
    inspection = {
        "inspection_id": f"I-{tag}",
        "agency_id": agency,
        "topic": "办公用房专项巡检",
        "inspected_on": "2026-01-05",
    }
    assert platform.request("POST", "/api/v1/inspections", inspection, admin)[0] == 201
    finding = {"finding_id": f"F-{tag}", "kind": "idle", "description": "302室闲置", "deadline": "2026-02-01"}
    assert platform.request("POST", f"/api/v1/inspections/I-{tag}/findings", finding, admin)[0] == 201
    report = _eventually(lambda: _report(platform, city, overdue_only="true"), lambda r: r["findings"])
    assert report["findings"][0]["kind"] == "idle" and report["findings"][0]["days_overdue"] > 0

    prop = {
        "property_id": f"OP-{tag}",
        "district": "320402",
        "name": "延陵西路商铺",
        "baseline_rent_income_fen": 10_000_000,
        "baseline_vacancy_cost_fen": 2_000_000,
    }
    assert platform.request("POST", "/api/v1/operating-properties", prop, admin)[0] == 201
    unit = {"unit_id": "U1", "area_m2": 120, "monthly_fixed_cost_fen": 150_000, "added_on": "2025-01-01"}
    assert platform.request("POST", f"/api/v1/operating-properties/OP-{tag}/units", unit, admin)[0] == 201
    tenancy = {"tenant": "常州某书店", "monthly_rent_fen": 900_000, "start_on": "2026-01-01", "end_on": "2028-12-31"}
    assert platform.request("POST", f"/api/v1/operating-properties/OP-{tag}/units/U1/tenancy", tenancy, admin)[0] == 200
    rent = {"period": "2026-11", "amount_fen": 900_000}
    assert platform.request("POST", f"/api/v1/operating-properties/OP-{tag}/units/U1/rent", rent, admin)[0] == 201
    status, body, _ = platform.request(
        "GET", f"/api/v1/operating-properties/OP-{tag}/performance?year=2026", token=admin
    )
    assert (status, body["occupancy_rate"], body["rent_income_fen"]) == (200, 1.0, 900_000)


def test_bad_input_and_district_scope_are_refused_and_nothing_is_stored(
    platform: Platform, city: dict[str, Any]
) -> None:
    admin, tag, agency = city["admin"], city["tag"], city["agency"]
    status, body, _ = platform.request(
        "POST", f"/api/v1/agencies/{agency}/staff", {"name": "x", "rank": "general"}, admin
    )
    assert (status, sorted(body["fields"])) == (422, ["person_id", "posted_on", "rank"])
    status, body, _ = platform.request(
        "POST",
        f"/api/v1/buildings/NOPE-{tag}/rooms",
        {"room_id": "R", "number": "1", "usable_area_m2": 9, "use": "office"},
        admin,
    )
    assert (status, body["error"]) == (404, "not_found")
    other = platform.token("district_operator", district="320404", name="zhonglou")
    staff = {"person_id": f"P9-{tag}", "name": "李四", "rank": "below_bureau", "posted_on": "2026-01-01"}
    status, body, _ = platform.request("POST", f"/api/v1/agencies/{agency}/staff", staff, other)
    assert (status, body) == (404, {"error": "not_found", "message": f"agency {agency} not found", "fields": {}})
    status, body, _ = platform.request(
        "POST", f"/api/v1/buildings/{city['building']}/rooms/R1-{tag}/release", {"person_id": f"P1-{tag}"}, other
    )
    assert (status, body["error"]) == (404, "not_found")  # another district's building: as if missing
    status, body, _ = platform.request("GET", f"/api/v1/office-space/report?agency_id={agency}", token=other)
    assert (status, body["error"]) == (403, "not_in_scope")


def test_the_data_center_shows_space_figures_and_open_findings_and_serves_the_dashboard(
    platform: Platform, city: dict[str, Any]
) -> None:
    admin, tag, agency = city["admin"], city["tag"], city["agency"]
    assert _allocate(platform, city, "R1", "P1", admin)[0] == 201
    assert _allocate(platform, city, "R2", "P2", admin, exception_reason="档案存放需要")[0] == 201
    inspection = {"inspection_id": f"DI-{tag}", "agency_id": agency, "topic": "专项巡检", "inspected_on": "2026-01-05"}
    assert platform.request("POST", "/api/v1/inspections", inspection, admin)[0] == 201
    finding = {"finding_id": f"DF-{tag}", "kind": "safety", "description": "消防通道堆放杂物", "deadline": "2026-02-01"}
    assert platform.request("POST", f"/api/v1/inspections/DI-{tag}/findings", finding, admin)[0] == 201

    def profile() -> dict[str, Any]:
        return dict(platform.request("GET", f"/api/v1/datacenter/agencies/{agency}", token=admin)[1])

    seen = _eventually(profile, lambda p: p.get("over_standard_persons") == 1 and p.get("open_findings") == 1)
    assert (seen["staff_on_post"], seen["office_area_m2"], seen["area_per_person_m2"]) == (2, 38.0, 19.0)
    assert (seen["standard_area_m2"], seen["findings"][0]["kind"]) == (27.0, "safety")
    status, city_figures, _ = platform.request("GET", "/api/v1/datacenter/city", token=admin)
    assert status == 200 and "320400" in {d["district"] for d in city_figures["districts"]}
    listed = platform.request("GET", f"/api/v1/datacenter/findings?kind=safety&agency_id={agency}", token=admin)[1]
    # the finding is dated the inspection (2026-01-05), however late it was entered, and ages from there
    age = (china_today() - date(2026, 1, 5)).days
    shown = [(f["kind"], f["opened_on"], f["age_days"]) for f in listed["items"]]
    assert shown == [("safety", "2026-01-05", age)]
    older = platform.request(
        "GET", f"/api/v1/datacenter/findings?agency_id={agency}&min_age_days={age + 1}", token=admin
    )[1]
    assert older["items"] == []  # nothing older than the inspection
    operator = platform.token("district_operator", district="320404", name="zl-viewer")
    assert platform.request("GET", f"/api/v1/datacenter/agencies/{agency}", token=operator)[0] == 404  # as if missing
    status, page, headers = platform.request("GET", "/")
    assert status == 200 and headers["content-type"].startswith("text/html") and "机关事务大数据中心" in page


def test_a_person_on_post_is_refused_at_another_agency_and_a_transfer_moves_them_in_one_step(
    platform: Platform, city: dict[str, Any]
) -> None:
    admin, tag, agency = city["admin"], city["tag"], city["agency"]
    other = agency_code("320400", f"AG2-{tag}")
    body = {
        "agency_id": other,
        "name": "常州市审计局",
        "district": "320400",
        "kind": "party_government",
        "admin_level": "city",
        "authorised_headcount": 40,
    }
    assert platform.request("POST", "/api/v1/agencies", body, admin)[0] == 201
    _eventually(lambda: platform.request("GET", f"/api/v1/agencies/{other}", token=admin)[0], lambda s: s == 200)
    staff = {"person_id": f"P1-{tag}", "name": "张伟", "rank": "below_bureau", "posted_on": "2026-01-01"}
    status, refused, _ = platform.request("POST", f"/api/v1/agencies/{other}/staff", staff, admin)
    assert (status, refused["error"], refused.get("details")) == (
        409,
        "posted_elsewhere",
        {"person_id": f"P1-{tag}", "agency_id": agency},
    )
    assert _allocate(platform, city, "R1", "P1", admin)[0] == 201  # 18 m² for 副局级 (18 m²)
    move = {"to_agency_id": other, "transferred_on": "2026-11-30"}
    status, moved, _ = platform.request("POST", f"/api/v1/agencies/{agency}/staff/P1-{tag}/transfer", move, admin)
    assert (status, moved["rooms_still_held"]) == (200, [f"R1-{tag}"])

    def profile(agency_id: str) -> dict[str, Any]:
        return dict(platform.request("GET", f"/api/v1/datacenter/agencies/{agency_id}", token=admin)[1])

    after = _eventually(lambda: profile(other), lambda p: p.get("staff_on_post") == 1)
    assert (after["staff_on_post"], after["standard_area_m2"]) == (1, 18.0)  # P1 keeps 副局级 (18 m²)
    before = _eventually(lambda: profile(agency), lambda p: p.get("departed_held_area_m2") == 18.0)
    # P2 remains on post without a room; R1 is held only by P1, now of another agency: departed-held, not occupied
    assert (before["staff_on_post"], before["occupied_office_area_m2"], before["departed_held_area_m2"]) == (
        1,
        0.0,
        18.0,
    )
    finding = next(f for f in before["findings"] if f["kind"] == "departed_staff")
    assert finding["opened_on"] == "2026-11-30"  # the transfer's date, not the day it was entered


def test_buildings_locations_are_geojson_in_wgs84_scoped_to_the_district(
    platform: Platform, city: dict[str, Any]
) -> None:
    admin, tag, agency = city["admin"], city["tag"], city["agency"]
    located = {
        "building_id": f"BL-{tag}",
        "agency_id": agency,
        "name": "市行政中心2号楼",
        "address": "龙城大道1280号",
        "gross_floor_area_m2": 3000,
        "longitude": 119.9741,
        "latitude": 31.8112,
    }
    assert platform.request("POST", "/api/v1/buildings", located, admin)[0] == 201
    half = {**located, "building_id": f"BH-{tag}", "latitude": None}
    status, body, _ = platform.request("POST", "/api/v1/buildings", half, admin)
    assert (status, sorted(body["fields"])) == (422, ["latitude"])  # both coordinates or neither

    def collection() -> tuple[int, Any, dict[str, str]]:
        return platform.request("GET", f"/api/v1/buildings.geojson?agency_id={agency}", token=admin)

    status, body, headers = eventually(collection, lambda r: r[0] == 200 and len(r[1]["features"]) == 2, 60)
    assert status == 200 and headers["content-type"].startswith("application/geo+json")
    assert geojson.loads(json.dumps(body)).is_valid
    features = {f["id"]: f for f in body["features"]}
    assert features[f"BL-{tag}"]["geometry"] == {"type": "Point", "coordinates": [119.9741, 31.8112]}
    assert features[f"BL-{tag}"]["properties"]["address"] == "龙城大道1280号"
    assert features[city["building"]]["geometry"] is None  # registered without a location
    other = platform.token("district_operator", district="320404", name="zhonglou")
    status, body, _ = platform.request("GET", "/api/v1/buildings.geojson", token=other)
    assert status == 200 and all(f["properties"]["district"] == "320404" for f in body["features"])
    status, body, _ = platform.request("GET", f"/api/v1/buildings.geojson?agency_id={agency}", token=other)
    assert (status, body["error"]) == (403, "not_in_scope")
