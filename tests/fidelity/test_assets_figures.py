"""Reference city, assets and money (docs/kpis/assets.md): assets entered through the public API, each book value
worked out by hand from the definition (straight line, no residual value, the month of acquisition charged, the
month of disposal not, never below zero; depreciation lives from the 2017 table: computers 6 years = 72 months,
furniture 15 years = 180 months), checked against the asset API and the data center; and rents in exact fen.

Acquisition dates are relative to the day the test runs (the last day of last month, the first day of this
month, ...) so that the number of months charged, and with it every expected value, is the same literal on any
day. Money is integer fen (分): 720 000 fen = 7 200.00 yuan.
"""

from __future__ import annotations

import json
import uuid
from datetime import date, timedelta
from typing import Any

import pytest

from services.common.kernel.clock import china_today
from tests.e2e.conftest import Platform
from tests.support import agency_code, county_agency, eventually, read_topic

DISTRICT = "320481"  # 溧阳市: this module's own district
TODAY: date
FIRST_OF_MONTH: date
LAST_DAY_OF_LAST_MONTH: date


def read_the_clock() -> None:
    """Today, read as the module is imported and again as each test starts (``tests/conftest.py``): the months
    charged stay the literals below."""
    global TODAY, FIRST_OF_MONTH, LAST_DAY_OF_LAST_MONTH
    TODAY = china_today()
    FIRST_OF_MONTH = TODAY.replace(day=1)
    LAST_DAY_OF_LAST_MONTH = FIRST_OF_MONTH - timedelta(days=1)


read_the_clock()


def _last_day_of_month_before(day: date, months: int) -> date:
    """The last day of the month ``months`` before ``day``'s month."""
    first = day.replace(day=1)
    for _ in range(months):
        first = (first - timedelta(days=1)).replace(day=1)
    return (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def _ok(answer: tuple[int, Any, Any], status: int = 200) -> Any:
    assert answer[0] == status, answer[1]
    return answer[1]


@pytest.fixture
def city(platform: Platform) -> dict[str, Any]:
    """One agency of the module's district, known to the assets service."""
    token = platform.token()
    tag = uuid.uuid4().hex[:8]
    agency = agency_code(DISTRICT, f"AG-FA-{tag}")
    body = county_agency(agency, "溧阳市机关事务服务中心", DISTRICT)
    _ok(platform.request("POST", "/api/v1/agencies", body, token), 201)
    return {"token": token, "tag": tag, "agency": agency}


def _register(platform: Platform, city: dict[str, Any], key: str, category: str, value: int, acquired: date) -> str:
    body = {"asset_id": f"AS-{key}-{city['tag']}", "agency_id": city["agency"], "category": category}
    body |= {"name": key, "location": "行政中心201", "original_value_fen": value, "acquired_on": acquired.isoformat()}
    status, answer, _ = eventually(
        lambda: platform.request("POST", "/api/v1/assets", body, city["token"]),
        # the assets service learns the agency from office space's event, a moment after it is registered
        lambda r: r[0] != 422 or "agency_id" not in r[1].get("fields", {}),
    )
    assert status == 201, answer
    return str(answer["id"])


def _asset(platform: Platform, city: dict[str, Any], asset_id: str) -> dict[str, Any]:
    return dict(_ok(platform.request("GET", f"/api/v1/assets/{asset_id}", token=city["token"])))


def test_book_values_by_the_month_of_acquisition_convention(platform: Platform, city: dict[str, Any]) -> None:
    token = city["token"]
    # 1. a computer of 720 000 fen bought on the last day of last month: last month and this month are charged,
    #    2 months: 720 000 * 2 // 72 = 20 000 accumulated, book value 700 000, 70 months left
    last_day = _register(platform, city, "pc-last-day", "computers", 720_000, LAST_DAY_OF_LAST_MONTH)
    # 2. a desk of 180 000 fen bought 30 June 2000: 180 months ran out in 2015, book value 0 (no residual, not
    #    negative), accumulated = the original value
    old_desk = _register(platform, city, "desk-2000", "furniture", 180_000, date(2000, 6, 30))
    # 3. a cabinet of 100 000 fen bought the first day of this month, then idle: 1 month charged,
    #    100 000 * 1 // 180 = 555 (rounded down to the fen), book value 99 445
    cabinet = _register(platform, city, "cabinet", "furniture", 100_000, FIRST_OF_MONTH)
    _ok(platform.request("POST", f"/api/v1/assets/{cabinet}/idle", {"reason": "机构调整"}, token))
    # 4. a computer of 720 000 fen bought on the last day of the month three months ago, disposed of this month:
    #    the three months before this one are charged, this month (of disposal) is not: 3 * 10 000 = 30 000,
    #    it leaves the ledger at 690 000
    scrapped = _register(platform, city, "pc-scrapped", "computers", 720_000, _last_day_of_month_before(TODAY, 3))
    disposal = {"disposal_id": f"DP-{city['tag']}", "agency_id": city["agency"], "asset_ids": [scrapped]}
    _ok(platform.request("POST", "/api/v1/disposals", disposal | {"method": "scrap", "reason": "主板损坏"}, token), 201)
    _ok(platform.request("POST", f"/api/v1/disposals/DP-{city['tag']}/decision", {"approve": True}, token))
    _ok(platform.request("POST", f"/api/v1/disposals/DP-{city['tag']}/completion", {"proceeds_fen": 0}, token))

    figures = {
        key: {k: a.get(k) for k in ("book_value_fen", "accumulated_depreciation_fen", "remaining_life_months")}
        for key, a in (
            ("last_day", _asset(platform, city, last_day)),
            ("old_desk", _asset(platform, city, old_desk)),
            ("cabinet", _asset(platform, city, cabinet)),
        )
    }
    assert figures == {
        "last_day": {
            "book_value_fen": 700_000,
            "accumulated_depreciation_fen": 20_000,
            "remaining_life_months": 70,
        },
        "old_desk": {"book_value_fen": 0, "accumulated_depreciation_fen": 180_000, "remaining_life_months": 0},
        "cabinet": {"book_value_fen": 99_445, "accumulated_depreciation_fen": 555, "remaining_life_months": 179},
    }
    gone = _asset(platform, city, scrapped)
    assert (gone["status"], gone["book_value_fen"], gone["book_value_at_disposal_fen"]) == ("disposed", 0, 690_000)
    assert gone["depreciation_life_version"] == "2017" and gone["depreciation_life_years"] == 6
    assert (gone["min_service_life_years"], gone["service_life_version"]) == (6, "2016")  # the other table

    # the assets report (the service's read model): by status, assets held only
    def report() -> dict[str, Any]:
        path = f"/api/v1/assets/report?agency_id={city['agency']}"
        return dict(platform.request("GET", path, token=token)[1]["by_holder"].get(city["agency"], {}))

    by_status = eventually(
        report, lambda r: r.get("idle", {}).get("count") == 1 and r.get("in_use", {}).get("count") == 2
    )
    assert by_status == {
        # the last-day computer and the old desk: 720 000 + 180 000 original, 700 000 + 0 book value
        "in_use": {"count": 2, "original_value_fen": 900_000, "book_value_fen": 700_000},
        "idle": {"count": 1, "original_value_fen": 100_000, "book_value_fen": 99_445},
    }

    # the data center, from its own projection of the same events: 3 assets held (the scrapped one is gone),
    # book value 700 000 + 0 + 99 445 = 799 445 fen; idle: the cabinet, 99 445
    def profile() -> dict[str, Any]:
        return dict(platform.request("GET", f"/api/v1/datacenter/agencies/{city['agency']}", token=token)[1])

    body = eventually(profile, lambda b: b.get("assets_count") == 3 and b.get("idle_assets") == 1)
    assert (body["assets_count"], body["assets_book_value_fen"]) == (3, 799_445)
    assert (body["idle_assets"], body["idle_assets_value_fen"]) == (1, 99_445)


def test_rents_and_property_income_are_exact_fen(platform: Platform, city: dict[str, Any]) -> None:
    token, tag = city["token"], city["tag"]
    prop = {"property_id": f"OP-{tag}", "district": DISTRICT, "name": "燕山路门面房"}
    prop |= {"baseline_rent_income_fen": 2_600_000, "baseline_vacancy_cost_fen": 0}
    _ok(platform.request("POST", "/api/v1/operating-properties", prop, token), 201)
    year = TODAY.year
    unit = {"unit_id": "U1", "area_m2": 80, "monthly_fixed_cost_fen": 35_050, "added_on": f"{year}-01-01"}
    _ok(platform.request("POST", f"/api/v1/operating-properties/OP-{tag}/units", unit, token), 201)
    tenancy = {
        "tenant": "溧阳某茶社",
        "monthly_rent_fen": 866_667,
        "start_on": f"{year}-01-01",
        "end_on": f"{year + 2}-12-31",
    }
    _ok(platform.request("POST", f"/api/v1/operating-properties/OP-{tag}/units/U1/tenancy", tenancy, token))
    for month in ("01", "02", "03"):
        rent = {"period": f"{year}-{month}", "amount_fen": 866_667}  # 8 666.67 yuan a month
        _ok(platform.request("POST", f"/api/v1/operating-properties/OP-{tag}/units/U1/rent", rent, token), 201)
    path = f"/api/v1/operating-properties/OP-{tag}/performance?year={year}"
    body = _ok(platform.request("GET", path, token=token))
    # 3 * 866 667 = 2 600 001 fen (as float yuan 8666.67 * 3 = 26000.010000000002); against the baseline
    # 2 600 000: +1 fen, a change of 0.0000004, shown to 4 decimals as 0.0
    assert (body["rent_income_fen"], body["rent_income_change"]) == (2_600_001, 0.0)

    # a lease's rent is published in fen, with the v1 float yuan beside it for older consumers
    building = {"building_id": f"B-{tag}", "agency_id": city["agency"], "name": "溧阳市行政中心"}
    building |= {"address": "燕山中路1号", "gross_floor_area_m2": 2000}
    status, answer, _ = eventually(  # office space knows the agency from its own projection, a moment later
        lambda: platform.request("POST", "/api/v1/buildings", building, token),
        lambda r: r[0] != 422 or "agency_id" not in r[1].get("fields", {}),
    )
    assert status == 201, answer
    room = {"room_id": "R1", "number": "101", "usable_area_m2": 40, "use": "office"}
    _ok(platform.request("POST", f"/api/v1/buildings/B-{tag}/rooms", room, token), 201)
    lease = {"lease_id": f"L-{tag}", "agency_id": city["agency"], "building_id": f"B-{tag}", "room_ids": ["R1"]}
    lease |= {"kind": "rent", "counter_party": "溧阳某公司", "start_on": f"{year + 1}-01-01"}
    lease |= {"end_on": f"{year + 2}-01-01", "monthly_rent_fen": 1_234_505}  # 12 345.05 yuan
    _ok(platform.request("POST", "/api/v1/leases", lease, token), 201)
    events = eventually(
        lambda: [json.loads(r.value) for r in read_topic(platform.bootstrap, "office_space.events", idle_polls=1)],
        lambda found: any(e["payload"].get("lease_id") == f"L-{tag}" for e in found),
    )
    mine = next(e for e in events if e["payload"].get("lease_id") == f"L-{tag}")
    assert (mine["event_type"], mine["schema_version"]) == ("LeaseRequested", 2)
    assert (mine["payload"]["monthly_rent_fen"], mine["payload"]["monthly_rent"]) == (1_234_505, 12_345.05)
