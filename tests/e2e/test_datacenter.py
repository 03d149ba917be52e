"""The data center end to end: one agency's data entered through every system's API, and the figures the
data center shows for it — floor area from office space, energy against the 2020 baseline, idle rooms and
idle assets side by side, the scorecard, the one list of open findings, district scope."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from services.common.kernel.clock import china_today
from services.energy.domain.rollups import FACTORS_2022
from tests.e2e.conftest import Platform
from tests.support import agency_code, eventually

DISTRICT = "320402"


_eventually = partial(eventually, timeout=40, interval=0.3)
"""``tests.support.eventually`` with this module's patience."""


def _ok(answer: tuple[int, Any, Any], expected: int = 201) -> Any:
    status, body, _ = answer
    assert status == expected, body
    return body


@pytest.fixture
def agency(platform: Platform) -> dict[str, Any]:
    """A county-level agency of 天宁区 with a 2,000 m² building, two staff (one retired still holding a room),
    an idle asset, a new electric car charged once, a 2020 energy report and this year's metered
    electricity."""
    admin = platform.token()
    tag = uuid.uuid4().hex[:8]
    first_day = china_today()
    agency_id, building = agency_code("320402", f"DC-{tag}"), f"DCB-{tag}"
    _ok(
        platform.request(
            "POST",
            "/api/v1/agencies",
            {
                "agency_id": agency_id,
                "name": "天宁区发展和改革局",
                "district": DISTRICT,
                "kind": "party_government",
                "admin_level": "county",
                "authorised_headcount": 30,
            },
            admin,
        )
    )
    _eventually(lambda: platform.request("GET", f"/api/v1/agencies/{agency_id}", token=admin)[0], lambda s: s == 200)
    for person in ("P1", "P2"):
        staff = {"person_id": f"{person}-{tag}", "name": "李娜", "rank": "below_section", "posted_on": "2022-01-04"}
        _ok(platform.request("POST", f"/api/v1/agencies/{agency_id}/staff", staff, admin))
    building_body = {
        "building_id": building,
        "agency_id": agency_id,
        "name": "天宁区行政中心3号楼",
        "address": "天宁区北塘河路8号",
        "gross_floor_area_m2": 2000,
    }
    _ok(platform.request("POST", "/api/v1/buildings", building_body, admin))
    for room in ("R1", "R2"):
        body = {"room_id": f"{room}-{tag}", "number": room, "usable_area_m2": 9, "use": "office"}
        _ok(platform.request("POST", f"/api/v1/buildings/{building}/rooms", body, admin))
    allocation = {"person_id": f"P1-{tag}", "agency_id": agency_id}
    _ok(platform.request("POST", f"/api/v1/buildings/{building}/rooms/R1-{tag}/allocations", allocation, admin))
    departure = {"reason": "retired", "departed_on": "2026-10-31"}
    _ok(platform.request("POST", f"/api/v1/agencies/{agency_id}/staff/P1-{tag}/departure", departure, admin), 200)

    asset = {
        "asset_id": f"A-{tag}",
        "agency_id": agency_id,
        "category": "furniture",
        "name": "文件柜",
        "location": "3号楼201",
        "original_value_fen": 120_000,
        "acquired_on": "2019-05-01",
    }
    _eventually(
        lambda: platform.request("POST", "/api/v1/assets", asset, admin)[0],
        lambda s: s == 201,  # the assets service learns the agency from office space's events
    )
    _ok(platform.request("POST", f"/api/v1/assets/A-{tag}/idle", {"reason": "机构调整后闲置"}, admin), 200)

    quota = {"quota": 2, "reason": "2026年公务用车编制"}
    _eventually(
        lambda: platform.request("POST", f"/api/v1/agencies/{agency_id}/vehicle-quota", quota, admin)[0],
        lambda s: s == 200,  # the vehicles service learns the agency from office space's events
    )
    vehicle = {
        "vehicle_id": f"V-{tag}",
        "plate": f"苏DD{uuid.uuid4().int % 100_000:05d}",
        "agency_id": agency_id,
        "energy_type": "battery_electric",
        "use_category": "general",
        "model": "比亚迪秦PLUS EV",
        "acquisition_kind": "new",
        "acquired_on": "2026-03-01",
        "norm_per_100km": 15,
        "battery_capacity_kwh": 60,
        "odometer_km": 10,
    }
    _ok(platform.request("POST", "/api/v1/vehicles", vehicle, admin))
    charging = {
        "quantity_kwh": 40,
        "amount_fen": 3_600,
        "station": "天宁区行政中心充电桩",
        "designated": True,
        "charged_at": "2026-03-05T18:00:00+08:00",
    }
    _ok(platform.request("POST", f"/api/v1/vehicles/V-{tag}/charging", charging, admin), 201)

    report = {
        "agency_id": agency_id,
        "district": DISTRICT,
        "year": 2020,
        "totals": {"electricity": 200_000, "water": 2_000},
        "source": "2020年度公共机构能源资源消费统计年报",
    }
    _eventually(lambda: platform.request("POST", "/api/v1/energy/annual-reports", report, admin)[0], lambda s: s == 201)
    now = datetime.now(UTC).replace(microsecond=0)
    start = now - timedelta(hours=3)
    meter = {
        "meter_id": f"DCM-{tag}",
        "serial_no": f"SN-{tag}",
        "kind": "electricity",
        "agency_id": agency_id,
        "district": DISTRICT,
        "building_id": building,
        "multiplier": 1,
        "initial_reading": 5_000,
        "installed_at": (start - timedelta(minutes=5)).isoformat(),
    }
    _ok(platform.request("POST", "/api/v1/meters", meter, admin))
    readings = [[(start + timedelta(minutes=5 * n)).isoformat(), 5_000 + 10 * (n + 1)] for n in range(12)]
    _ok(platform.request("POST", f"/api/v1/meters/DCM-{tag}/readings", {"readings": readings}, admin), 200)
    return {"admin": admin, "tag": tag, "agency_id": agency_id, "kwh": 120.0, "first_day": first_day}


def _profile(platform: Platform, agency: dict[str, Any], token: str | None = None) -> tuple[int, Any]:
    status, body, _ = platform.request(
        "GET", f"/api/v1/datacenter/agencies/{agency['agency_id']}", token=token or agency["admin"]
    )
    return status, body


def test_an_agencys_profile_joins_every_system_against_the_2020_baseline(
    platform: Platform, agency: dict[str, Any]
) -> None:
    def complete(answer: tuple[int, Any]) -> bool:
        status, body = answer
        return (
            status == 200
            and body["floor_area_m2"] == 2000
            and body["idle_assets"] == 1
            and body["energy_by_kind"]["electricity_kwh"] == agency["kwh"]
            and body["energy_by_kind"]["vehicle_charging_kwh"] == 40
            and any(f["system"] == "office_space" for f in body["findings"])
        )

    status, body = _eventually(lambda: _profile(platform, agency), complete)
    assert complete((status, body)), {
        k: body.get(k) for k in ("floor_area_m2", "idle_assets", "energy_by_kind", "findings")
    }
    # two 9 m² offices: 9 + 9 = 18 m²; R2 has no occupant, so it is idle office area (the catalogue's vacancy
    # figure; the 90-day 闲置 flag for adjustment is a separate list); P2 is on post, P1 retired
    assert (body["staff_on_post"], body["office_area_m2"], body["idle_office_rooms"], body["idle_office_area_m2"]) == (
        1,
        18.0,
        1,
        9.0,
    )
    # R1 is held only by the retired P1: departed-held, not occupied; P2 on post has no room: 0 m² / 1 = 0.0
    assert (body["occupied_office_area_m2"], body["departed_held_area_m2"], body["area_per_person_m2"]) == (
        0.0,
        9.0,
        0.0,
    )
    assert body["standard_area_m2"] == 9.0  # P2 科级以下 only; the retired P1 adds nothing
    # the cabinet: 120 000 fen, furniture 15 years = 180 months, charged from May 2019 through this month
    on = china_today()
    months = (on.year - 2019) * 12 + on.month - 5 + 1
    assert body["idle_assets_value_fen"] == 120_000 - 120_000 * months // 180  # Dec 2026: 92 months -> 58 667
    kgce = FACTORS_2022.kgce_per_unit["electricity"]
    assert body["baseline_2020"]["energy_per_m2_kgce"] == pytest.approx(200_000 * kgce / 2000, rel=1e-3)
    assert body["baseline_2020"]["water_per_capita_m3"] == pytest.approx(2_000 / 1, rel=1e-3)
    kwh = agency["kwh"] + 40  # the building's meter and the agency's electric car: both are the agency's energy
    assert body["energy_tce"] == pytest.approx(kwh * kgce / 1000, abs=1e-3)  # year to date, not annualised
    assert body["annualised"] is True and body["energy_tce_annualised"] > body["energy_tce"]
    # one hour of readings (the meter installed 5 minutes before the first of 12 five-minute readings)
    assert body["data_coverage"]["year"]["electricity"]["days_covered"] == 0.0417  # 3,600 s / 86,400
    # the car was counted this year and no vehicle fuel in 2020: incomplete with vehicles, naming the kind
    verdict = body["verdicts"]["energy_per_m2_kgce"]
    assert (verdict["verdict"], verdict["missing_in_baseline"]) == ("incomplete", ["vehicle_charging"])
    # buildings only: an hour of data is never a verdict (90 days and 80 % of the elapsed days are needed)
    only = body["buildings_only"]["verdicts"]["energy_per_m2_kgce"]
    assert only == {"verdict": "insufficient_data", "kinds": ["electricity"]}
    assert body["on_target"]["energy_per_m2_kgce"] is None and body["change_vs_2020"]["energy_per_m2_kgce"] is None
    assert body["verdicts"]["water_per_capita_m3"]["verdict"] == "no_data"  # water in 2020, none metered now
    assert body["scorecard"]["energy_per_m2"] == {"value": None, "passed": None}  # the criterion does not apply
    assert (body["vehicles_in_service"], body["vehicle_quota"], body["new_energy_share"]) == (1, 2, 1.0)
    finding = next(f for f in body["findings"] if f["system"] == "office_space")
    assert (finding["kind"], finding["agency_name"]) == ("departed_staff", "天宁区发展和改革局")
    # the finding is dated the departure (2026-10-31), not the day it was entered: its age counts from there
    assert (finding["opened_on"], finding["age_days"]) == ("2026-10-31", (china_today() - date(2026, 10, 31)).days)
    assert body["scorecard"]["office_space_within_standard"] == {"value": 0, "passed": True}
    assert body["freshness"]["topics"]["office_space.events"]["position"] > 0


def test_the_city_district_scorecard_and_findings_views_agree_and_respect_district_scope(
    platform: Platform, agency: dict[str, Any]
) -> None:
    admin = agency["admin"]
    _eventually(lambda: _profile(platform, agency), lambda a: a[0] == 200 and a[1]["idle_assets"] == 1)
    city = _ok(platform.request("GET", "/api/v1/datacenter/city", token=admin), 200)
    district = next(d for d in city["districts"] if d["district"] == DISTRICT)
    assert district["name"] == "天宁区" and district["agencies"] >= 1
    assert city["city"]["agencies"] == sum(d["agencies"] for d in city["districts"])
    assert city["city"]["floor_area_m2"] == pytest.approx(sum(d["floor_area_m2"] for d in city["districts"]))
    assert city["coverage"]["goal_2025"] == 0.85

    card = _ok(platform.request("GET", f"/api/v1/datacenter/scorecard?district={DISTRICT}", token=admin), 200)
    assert {c["id"] for c in card["criteria"]} >= {"energy_per_m2", "new_energy_share", "no_overdue_findings"}
    assert any(item["agency_id"] == agency["agency_id"] for item in card["items"])

    query = f"/api/v1/datacenter/findings?agency_id={agency['agency_id']}&system=office_space"
    findings = _ok(platform.request("GET", query, token=admin), 200)["items"]
    assert [f["kind"] for f in findings] == ["departed_staff"]

    elsewhere = platform.token("district_operator", district="320404", name="op-zhonglou")
    assert _profile(platform, agency, elsewhere)[0] == 404  # no existence oracle: as a missing agency
    theirs = _ok(platform.request("GET", "/api/v1/datacenter/findings", token=elsewhere), 200)["items"]
    assert all(f["district"] == "320404" for f in theirs)
    listed = _ok(platform.request("GET", f"/api/v1/datacenter/agencies?district={DISTRICT}", token=elsewhere), 200)
    assert all(a["district"] == "320404" for a in listed["items"])
    status, body, _ = platform.request("GET", "/api/v1/datacenter/findings?system=weather", token=admin)
    assert status == 422 and "system" in body["fields"]


def _projection_rows(engine: Any) -> dict[str, list[tuple[Any, ...]]]:
    """Every data-center projection table's rows, normalised (booleans as 0/1) and sorted."""
    from services.gateway.views import data_center_projections
    from services.gateway.views.changes import figure_changes

    def value(v: Any) -> Any:
        return int(v) if isinstance(v, bool) else round(v, 9) if isinstance(v, float) else v

    rows = {}
    with engine.connect() as conn:
        for projection in data_center_projections():
            for table in projection.tables:
                # a figure-change stamp is an event's id or, after a reset, a new one (views/changes.py): what
                # must agree is which agencies are stamped, not the stamps
                columns = [c for c in table.columns if (table.name, c.name) != (figure_changes.name, "stamp")]
                found = conn.execute(sa.select(*columns)).all()
                rows[table.name] = sorted((tuple(value(v) for v in row) for row in found), key=repr)
    return rows


def test_a_rebuilt_data_center_equals_the_incrementally_built_one(
    platform: Platform, agency: dict[str, Any], tmp_path: Path
) -> None:
    """Every projection replayed from offset 0 into a new database holds what the running gateway built
    event by event, across all five systems."""
    from services.common.base.db import create_db_engine
    from services.gateway.views import data_center_projector, prepare_database

    _eventually(lambda: _profile(platform, agency), lambda a: a[0] == 200 and a[1]["idle_assets"] == 1)
    rebuilt = create_db_engine(f"sqlite:///{tmp_path / 'rebuilt.db'}")
    prepare_database(rebuilt)
    projector = data_center_projector(rebuilt, bootstrap=platform.bootstrap)
    assert projector.rebuild() > 0
    positions = projector.status()["positions"]
    live_url = platform.database_urls.get("gateway") or f"sqlite:///{platform.var_dir / 'gateway.db'}"
    live = create_db_engine(live_url)

    def live_positions() -> dict[str, int]:
        status, body, _ = platform.request("GET", "/api/v1/projections", token=agency["admin"])
        return dict(body["projectors"][0]["positions"]) if status == 200 else {}

    assert _eventually(live_positions, lambda p: p == positions) == positions
    expected, actual = _projection_rows(live), _projection_rows(rebuilt)
    assert sum(len(rows) for rows in actual.values()) > 0
    assert [name for name in expected if expected[name] != actual[name]] == []
    live.dispose()
    rebuilt.dispose()
