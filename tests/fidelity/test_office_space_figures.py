"""The reference city for office space (docs/kpis/office_space.md): a small district written by hand through the
public API, every expected figure a literal with its arithmetic, checked against the office-space report, the
data center's agency and district figures and the listing the dashboard reads.

District 320413 (金坛区) is this module's own; its two county-level agencies:

J1 金坛区财政局 — staff S1 正科级 (12 m²), S2/S3/S4/S6 科级以下 (9 m²), S5 副科级 (9 m²); building FB-J1:
  F101 18 m² office, planned for 2: S1 + S2 allocated together (18 / 2 = 9 each, no exception)
  F102 18 m² office: S3 + S6 together (9 each); S6 retires on 2026-06-30 and leaves the room that day:
       S3 now holds 18 m² > 9 m² → over-standard, a finding opened 2026-06-30
  F103  9 m² office: S5 (9 ≤ 9); S5 retires on 2026-03-31 and still holds it → departed-held, finding 2026-03-31
  F104 15 m² office, vacant since 2026-05-01 → idle (the 90-day check lists it from that date)
  F105 30 m² meeting room: not office area
  S4 is a newcomer without a room. On post: S1, S2, S3, S4.
J2 金坛区档案馆 — nobody on post; building FB-J2 with F201 20 m² office, empty.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from services.common.kernel.clock import china_today
from tests.e2e.conftest import Platform
from tests.support import agency_code, eventually

DISTRICT = "320413"  # 金坛区: this module's own district
J1, J2 = agency_code(DISTRICT, "FID-OS-J1"), agency_code(DISTRICT, "FID-OS-J2")


def _ok(answer: tuple[int, Any, Any], status: int = 201) -> Any:
    assert answer[0] == status, answer[1]
    return answer[1]


@pytest.fixture(scope="module")
def city(platform: Platform) -> dict[str, Any]:
    admin = platform.token()

    def post(path: str, body: dict[str, Any], status: int = 201) -> Any:
        return _ok(platform.request("POST", f"/api/v1{path}", body, admin), status)

    for agency_id, name, kind in ((J1, "金坛区财政局", "party_government"), (J2, "金坛区档案馆", "public_institution")):
        body = {"agency_id": agency_id, "name": name, "district": DISTRICT, "kind": kind, "admin_level": "county"}
        post("/agencies", {**body, "authorised_headcount": 10})
        path = f"/api/v1/agencies/{agency_id}"
        assert eventually(lambda p=path: platform.request("GET", p, token=admin)[0], lambda s: s == 200) == 200
    staff = {
        "S1": "section_principal",
        "S2": "below_section",
        "S3": "below_section",
        "S4": "below_section",
        "S5": "section_deputy",
        "S6": "below_section",
    }
    for person, rank in staff.items():
        post(
            f"/agencies/{J1}/staff",
            {"person_id": f"FID-{person}", "name": "王芳", "rank": rank, "posted_on": "2020-09-01"},
        )
    for building, agency_id in (("FB-J1", J1), ("FB-J2", J2)):
        body = {
            "building_id": building,
            "agency_id": agency_id,
            "name": "金坛区行政中心",
            "address": "金坛区东门大街1号",
        }
        post("/buildings", {**body, "gross_floor_area_m2": 1000})
    rooms = [
        ("FB-J1", "F101", 18, "office", {"planned_occupancy": 2}),
        ("FB-J1", "F102", 18, "office", {}),
        ("FB-J1", "F103", 9, "office", {}),
        ("FB-J1", "F104", 15, "office", {"vacant_since": "2026-05-01"}),
        ("FB-J1", "F105", 30, "meeting", {}),
        ("FB-J2", "F201", 20, "office", {}),
    ]
    for building, room, area, use, extra in rooms:
        post(
            f"/buildings/{building}/rooms",
            {"room_id": room, "number": room, "usable_area_m2": area, "use": use, **extra},
        )
    for room, persons in (("F101", ["FID-S1", "FID-S2"]), ("F102", ["FID-S3", "FID-S6"]), ("F103", ["FID-S5"])):
        post(f"/buildings/FB-J1/rooms/{room}/allocations", {"person_ids": persons, "agency_id": J1})
    post(f"/agencies/{J1}/staff/FID-S5/departure", {"reason": "retired", "departed_on": "2026-03-31"}, 200)
    post(f"/agencies/{J1}/staff/FID-S6/departure", {"reason": "retired", "departed_on": "2026-06-30"}, 200)
    post("/buildings/FB-J1/rooms/F102/release", {"person_id": "FID-S6", "released_on": "2026-06-30"}, 200)
    post("/office-space/idle-room-checks", {"building_id": "FB-J1"}, 200)
    return {"admin": admin}


def _get(platform: Platform, city: dict[str, Any], path: str) -> Any:
    status, body, _ = platform.request("GET", f"/api/v1{path}", token=city["admin"])
    assert status == 200, body
    return body


J1_FIGURES = {
    "staff_on_post": 4,  # S1, S2, S3, S4 (S5 and S6 retired)
    "office_rooms": 4,  # F101–F104 (F105 is a meeting room)
    "office_area_m2": 60.0,  # 18 + 18 + 9 + 15
    "occupied_office_area_m2": 36.0,  # F101 18 + F102 18 (someone on post in each)
    "idle_office_rooms": 1,  # F104
    "idle_office_area_m2": 15.0,
    "departed_held_area_m2": 9.0,  # F103, held only by the retired S5
    "area_per_person_m2": 9.0,  # 36 / 4
    "standard_area_m2": 39.0,  # S1 12 + S2 9 + S3 9 + S4 9 (the retired S5 adds nothing, the roomless S4 adds 9)
    "over_standard_persons": 1,  # S3 alone in F102: 18 > 9; S1 9 ≤ 12, S2 9 ≤ 9
    "over_standard_approved": 0,
}
J2_FIGURES = {
    "staff_on_post": 0,
    "office_area_m2": 20.0,
    "idle_office_area_m2": 20.0,  # F201, empty
    "occupied_office_area_m2": 0.0,
    "area_per_person_m2": None,  # nobody on post: null, never divided by the headcount of 10
    "area_per_person_m2_null_reason": "nobody_on_post",
    "standard_area_m2": 0.0,
}
DISTRICT_FIGURES = {
    "staff_on_post": 4,  # 4 + 0
    "office_area_m2": 80.0,  # 60 + 20
    "occupied_office_area_m2": 36.0,
    "idle_office_area_m2": 35.0,  # 15 + 20
    "departed_held_area_m2": 9.0,
    "area_per_person_m2": 9.0,  # 36 / 4: J2's empty office does not dilute it
    "standard_area_m2": 39.0,
    "over_standard_persons": 1,
}


FINAL_FINDINGS = ["departed_staff", "over_standard"]
"""J1's open findings once the whole city is applied: S5 still holds F103; S3 alone in F102 after S6's release (the
finding on S6 holding F102 closes with that release, so two findings are open before it too: count kinds, not rows)."""


def _kinds(findings: list[dict[str, Any]]) -> list[str]:
    return sorted(f["kind"] for f in findings if f.get("system", "office_space") == "office_space")


def _settled_profile(platform: Platform, city: dict[str, Any]) -> dict[str, Any]:
    """J1's data-center profile once the data center has applied the whole city."""
    return dict(
        eventually(
            lambda: _get(platform, city, f"/datacenter/agencies/{J1}"),
            lambda p: _kinds(p["findings"]) == FINAL_FINDINGS,
        )
    )


def _subset(figures: dict[str, Any], expected: dict[str, Any]) -> dict[str, Any]:
    return {key: figures.get(key) for key in expected}


def test_the_office_space_report_gives_the_hand_worked_figures(platform: Platform, city: dict[str, Any]) -> None:
    report = eventually(
        lambda: _get(platform, city, f"/office-space/report?district={DISTRICT}"),
        lambda r: (
            _kinds(r["findings"]) == FINAL_FINDINGS
            and r["idle_rooms"]
            and any(f["agency_id"] == J2 for f in r["figures"])
        ),
    )
    by_agency = {row["agency_id"]: row for row in report["figures"]}
    assert _subset(by_agency[J1], J1_FIGURES) == J1_FIGURES
    assert _subset(by_agency[J2], J2_FIGURES) == J2_FIGURES
    assert [(o["person_id"], o["area_per_person_m2"]) for o in report["over_standard"]] == [("FID-S3", 18.0)]
    assert [(r["room_id"], r["idle_since"]) for r in report["idle_rooms"]] == [("F104", "2026-05-01")]
    opened = sorted((f["kind"], f["opened_on"]) for f in report["findings"])
    assert opened == [("departed_staff", "2026-03-31"), ("over_standard", "2026-06-30")]


def test_the_data_center_gives_the_same_figures_for_agencies_and_the_district(
    platform: Platform, city: dict[str, Any]
) -> None:
    j1 = _settled_profile(platform, city)
    assert _subset(j1, J1_FIGURES) == J1_FIGURES
    assert _subset(_get(platform, city, f"/datacenter/agencies/{J2}"), J2_FIGURES) == J2_FIGURES
    ages = {f["kind"]: (f["opened_on"], f["age_days"]) for f in j1["findings"] if f["system"] == "office_space"}
    today = china_today()
    assert ages == {
        "departed_staff": ("2026-03-31", (today - date(2026, 3, 31)).days),
        "over_standard": ("2026-06-30", (today - date(2026, 6, 30)).days),
    }
    district = next(d for d in _get(platform, city, "/datacenter/city")["districts"] if d["district"] == DISTRICT)
    assert _subset(district, DISTRICT_FIGURES) == DISTRICT_FIGURES


def test_the_dashboards_listing_shows_the_same_figures(platform: Platform, city: dict[str, Any]) -> None:
    def listed() -> dict[str, Any]:
        return {
            row["agency_id"]: row for row in _get(platform, city, f"/datacenter/agencies?district={DISTRICT}")["items"]
        }

    _settled_profile(platform, city)  # each test stands alone: the data center has applied the whole city
    by_agency = listed()
    assert _subset(by_agency[J1], J1_FIGURES) == J1_FIGURES
    assert _subset(by_agency[J2], J2_FIGURES) == J2_FIGURES
    # the scorecard reads the same over-standard figure
    assert by_agency[J1]["scorecard"]["office_space_within_standard"] == {"value": 1, "passed": False}
