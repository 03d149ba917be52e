"""Reference city, vehicles and operating properties (docs/kpis/vehicles.md, docs/kpis/properties.md): a history
brought in through the public API with its own dates (a vehicle bought in 2024, premiums paid a year ahead, a
tenancy that ended in June, a unit added in December), every figure worked out by hand from the definition.

The year looked at is 2025, a closed year, so every expected value is the same literal on any day the suite runs
(the tests assume they run after 2025). Money is integer fen (分): 36 500 fen = 365.00 yuan.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Platform
from tests.support import agency_code, county_agency, eventually

DISTRICT = "320413"  # 金坛区: this module's own district


def _ok(answer: tuple[int, Any, Any], status: int = 200) -> Any:
    assert answer[0] == status, answer[1]
    return answer[1]


@pytest.fixture
def city(platform: Platform) -> dict[str, Any]:
    """One agency of the module's district with a vehicle quota of 2."""
    token = platform.token()
    tag = uuid.uuid4().hex[:8]
    agency = agency_code(DISTRICT, f"AG-FV-{tag}")
    body = county_agency(agency, "金坛区机关事务管理中心", DISTRICT)
    _ok(platform.request("POST", "/api/v1/agencies", body, token), 201)
    quota = {"quota": 2, "reason": "公务用车编制"}
    _ok(
        eventually(
            lambda: platform.request("POST", f"/api/v1/agencies/{agency}/vehicle-quota", quota, token),
            lambda r: r[0] != 422,  # the vehicles service learns the agency from office-space events
        )
    )
    return {"token": token, "tag": tag, "agency": agency}


def test_a_vehicle_s_year_costs_and_consumption_agree_in_every_report(platform: Platform, city: dict[str, Any]) -> None:
    token, agency = city["token"], city["agency"]
    vehicle = f"VH-{city['tag']}"
    car = {"vehicle_id": vehicle, "plate": "苏D" + uuid.uuid4().hex[:5].upper(), "agency_id": agency}
    car |= {"energy_type": "gasoline", "use_category": "general", "model": "大众帕萨特 1.4T"}
    car |= {"acquisition_kind": "existing", "acquired_on": "2024-06-01", "norm_per_100km": 8, "tank_capacity": 60}
    _ok(platform.request("POST", "/api/v1/vehicles", car | {"odometer_km": 9_000}, token), 201)
    path = f"/api/v1/vehicles/{vehicle}"
    premium = {"kind": "insurance", "payee": "人保财险", "designated": True, "amount_fen": 36_500}
    # paid 2024-11-28 for 2024-12-01..2025-11-30 (365 days, 100 fen a day): 2025 carries Jan-Nov, 334 days = 33 400
    body = premium | {"occurred_on": "2024-11-28", "covers_from": "2024-12-01", "covers_to": "2025-11-30"}
    _ok(platform.request("POST", f"{path}/expenses", body, token), 201)
    # 73 000 paid 2025-11-25 for 2025-12-01..2026-11-30 (365 days, 200 fen a day): 2025 carries December,
    # 31 days = 6 200 (booked on the day paid it would be 73 000, and the first premium nothing)
    body = premium | {"amount_fen": 73_000, "occurred_on": "2025-11-25"}
    body |= {"covers_from": "2025-12-01", "covers_to": "2026-11-30"}
    _ok(platform.request("POST", f"{path}/expenses", body, token), 201)
    fuel = {"fuel": "gasoline", "station": "中石化金坛站", "designated": False}
    for litres, fen, km, at in (
        (30, 22_500, 10_000, "2025-03-01T09:00:00+08:00"),  # opens the window (a fill-up)
        (40, 30_000, 10_500, "2025-03-20T09:00:00+08:00"),  # window 1: 40 L over 500 km = 8.0 L/100 km
        (30, 22_500, 10_800, "2025-04-10T09:00:00+08:00"),  # window 2: 30 L over 300 km = 10.0 L/100 km
    ):
        body = fuel | {"quantity": litres, "amount_fen": fen, "odometer_km": km, "refuelled_at": at}
        _ok(platform.request("POST", f"{path}/fuel", body, token), 201)

    # 2025: insurance 33 400 + 6 200 = 39 600; fuel 22 500 + 30 000 + 22 500 = 75 000; total 114 600
    # consumption: (40 + 30) L / (500 + 300) km × 100 = 8.75 L/100 km (the windows' plain mean would be 9.0)
    # designated share: designated insurance 39 600 of designable 114 600 = 0.345549… → 0.3455
    def report() -> dict[str, Any]:
        items = _ok(platform.request("GET", f"/api/v1/vehicle-reports/costs?year=2025&agency_id={agency}", token=token))
        return next((i for i in items["items"] if i["vehicle_id"] == vehicle), {})

    row = eventually(report, lambda r: r.get("cost_fen", {}).get("fuel") == 75_000)
    assert {k: row[k] for k in ("cost_fen", "total_cost_fen", "consumption_per_100km", "designated_share")} == {
        "cost_fen": {"insurance": 39_600, "fuel": 75_000},
        "total_cost_fen": 114_600,
        "consumption_per_100km": 8.75,
        "designated_share": 0.3455,
    }
    assert row["quantities"] == {"gasoline": 100.0}  # 30 + 40 + 30 litres bought in 2025
    own = _ok(platform.request("GET", f"{path}/costs?from_month=2025-01&to_month=2025-12", token=token))
    assert own["total_fen"] == 114_600  # the vehicle's own endpoint: the same figure
    assert own["months"][11]["costs_fen"]["insurance"] == 6_200  # December: 31 days of the second premium
    profile = eventually(
        lambda: _ok(platform.request("GET", f"/api/v1/datacenter/agencies/{agency}?year=2025", token=token)),
        lambda p: p.get("vehicle_cost_fen") == 114_600,
    )
    assert profile["vehicle_cost_fen"] == 114_600  # and the data center's
    assert profile["vehicle_cost_per_km"] is None  # no trip driven in 2025: no figure, not 0


def test_a_property_s_figures_come_from_the_units_and_tenancies_dates(platform: Platform, city: dict[str, Any]) -> None:
    token, tag = city["token"], city["tag"]
    prop = f"OP-FV-{tag}"
    body = {"property_id": prop, "district": DISTRICT, "name": "金坛区南环路商铺"}
    body |= {"baseline_rent_income_fen": 5_000_000, "baseline_vacancy_cost_fen": 1_000_000}
    _ok(platform.request("POST", "/api/v1/operating-properties", body, token), 201)
    units = f"/api/v1/operating-properties/{prop}/units"
    for unit, area, fixed, added in (
        ("U1", 100, 100_000, "2020-01-01"),
        ("U2", 100, 50_000, "2020-01-01"),
        ("U3", 50, 80_000, "2025-12-10"),  # added in December 2025
    ):
        body = {"unit_id": unit, "area_m2": area, "monthly_fixed_cost_fen": fixed, "added_on": added}
        _ok(platform.request("POST", units, body, token), 201)
    status, refused, _ = platform.request(
        "POST", units, {"unit_id": "U9", "area_m2": 10, "monthly_fixed_cost_fen": 1, "added_on": "2100-01-01"}, token
    )
    assert (status, list(refused["fields"])) == (422, ["added_on"])  # a unit added in the future is no history
    lease = {"tenant": "某书店", "monthly_rent_fen": 500_000, "start_on": "2020-01-01", "end_on": "2025-06-30"}
    _ok(platform.request("POST", f"{units}/U1/tenancy", lease, token))  # ends in June; nobody "vacates" it
    lease = {"tenant": "某茶社", "monthly_rent_fen": 300_000, "start_on": "2025-03-01", "end_on": "2027-02-28"}
    _ok(platform.request("POST", f"{units}/U2/tenancy", lease, token))
    for month in range(1, 7):  # U1: January to June 2025
        _ok(
            platform.request("POST", f"{units}/U1/rent", {"period": f"2025-{month:02d}", "amount_fen": 500_000}, token),
            201,
        )
    for month in range(3, 10):  # U2: March to September 2025
        _ok(
            platform.request("POST", f"{units}/U2/rent", {"period": f"2025-{month:02d}", "amount_fen": 300_000}, token),
            201,
        )
    _ok(platform.request("POST", f"{units}/U2/vacate", {"vacated_on": "2025-09-10"}, token))  # let until 9 September

    perf = _ok(platform.request("GET", f"/api/v1/operating-properties/{prop}/performance?year=2025", token=token))
    assert {k: perf[k] for k in perf if k not in ("property_id", "district")} == {
        "year": 2025,
        # on 2025-12-31: U1's tenancy ended 30 June, U2 vacated in September: 0 of 100 + 100 + 50 = 250 m² let
        "occupancy_on": "2025-12-31",
        "occupancy_rate": 0.0,
        # 6 × 500 000 + 7 × 300 000 = 3 000 000 + 2 100 000 = 5 100 000; 5 100 000 / 5 000 000 − 1 = +2 % (< +3 %)
        "rent_income_fen": 5_100_000,
        "rent_income_change": 0.02,
        "rent_income_goal_met": False,
        # U1 Jul-Dec 6 × 100 000 = 600 000; U2 Jan-Feb and Oct-Dec 5 × 50 000 = 250 000;
        # U3 December only 1 × 80 000 = 80 000; 930 000 / 1 000 000 − 1 = −7 % (goal −10 %)
        "vacancy_cost_fen": 930_000,
        "vacancy_cost_change": -0.07,
        "vacancy_cost_goal_met": False,
    }
    before = _ok(platform.request("GET", f"/api/v1/operating-properties/{prop}/performance?year=2024", token=token))
    # 2024: on 2024-12-31 U1 let, U2 vacant, U3 not there yet: 100 of 200 m² = 0.5; vacancy U2 12 × 50 000 = 600 000
    assert (before["occupancy_rate"], before["vacancy_cost_fen"], before["rent_income_fen"]) == (0.5, 600_000, 0)


def test_a_property_history_imported_from_files_gives_the_same_figures_and_imports_once(
    platform: Platform, city: dict[str, Any], tmp_path: Path
) -> None:
    from infra.local.importer import Gateway, read_rows, run

    token, tag = city["token"], city["tag"]
    prop = f"OP-IM-{tag}"
    (tmp_path / "properties.json").write_text(
        json.dumps(
            [
                {"fact": "register_property", "at": "2020-01-01", "property_id": prop, "district": DISTRICT}
                | {"name": "金坛区东门商铺", "baseline_rent_income_fen": 0, "baseline_vacancy_cost_fen": 1_000_000}
            ],
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    (tmp_path / "units.csv").write_text(
        "fact,at,property_id,unit_id,area_m2:float,monthly_fixed_cost_fen:int,added_on\n"
        f"add_property_unit,2020-01-01,{prop},U1,100,100000,2020-01-01\n"
        f"add_property_unit,2020-01-01,{prop},U2,100,50000,2020-01-01\n"
        f"add_property_unit,2100-01-01,{prop},U9,100,50000,2100-01-01\n",  # a typo: refused, reported
        encoding="utf-8",
    )
    (tmp_path / "tenancies.csv").write_text(
        "fact,at,property_id,unit_id,tenant,monthly_rent_fen:int,start_on,end_on\n"
        f"let_unit,2020-01-01,{prop},U1,某书店,500000,2020-01-01,2025-06-30\n",
        encoding="utf-8",
    )
    files = [tmp_path / "properties.json", tmp_path / "units.csv", tmp_path / "tenancies.csv"]
    rows = read_rows(files)
    state = tmp_path / "state.json"
    first = run(rows, Gateway(platform.gateway, token), state).as_dict()
    assert (first["accepted"], first["refused"], first["skipped"]) == (4, 1, 0)
    assert first["refused_by_reason"] == {"add_property_unit: date_in_future": 1}
    assert first["examples"][0]["row"] == "units.csv:3" and list(first["examples"][0]["fields"]) == ["added_on"]
    again = run(rows, Gateway(platform.gateway, token), state).as_dict()  # resumed: every row answered before
    assert (again["accepted"], again["refused"], again["skipped"]) == (0, 0, 5)
    state.unlink()  # state lost: the Idempotency-Keys still keep the facts from being recorded twice
    replay = run(rows, Gateway(platform.gateway, token), state).as_dict()
    assert (replay["accepted"], replay["refused"]) == (4, 1)
    perf = _ok(platform.request("GET", f"/api/v1/operating-properties/{prop}/performance?year=2025", token=token))
    # 2025: U1 let to 30 June, U2 never: vacancy U1 Jul-Dec 6 × 100 000 + U2 12 × 50 000 = 1 200 000 (+20 %);
    # occupancy on 2025-12-31: 0 of 200 m²; the unit added twice would have shown 400 m² and 2 400 000
    assert (perf["occupancy_rate"], perf["vacancy_cost_fen"], perf["vacancy_cost_change"]) == (0.0, 1_200_000, 0.2)
