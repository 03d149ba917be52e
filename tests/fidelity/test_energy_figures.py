"""Energy and carbon against the 2020 baseline, for a small city written by hand (溧阳市, 2025 — a year that is
over, so every expected value is a literal): each figure read through the data center's public API and
compared with a value worked out on paper from docs/kpis/energy.md.

Factors (GB/T2589-2020+grid2022): electricity 0.1229 kgce/kWh. A local midnight is 16:00 UTC the day before.

- 溧阳市能源局 (LY-A, 1,000 m²): two electricity meters installed on 1 January 2025. M-A1 is read by hand on
  the 1st of each month (+4,000 kWh a month) and its last reading is that of 1 October: it covers 273 days
  (January–September). M-A2 is read once, at the year's end (+50,000 kWh, 365 days). 2020: 100,000 kWh.
- 溧阳市水利局 (LY-B, 500 m²): electricity all year (+18,000 kWh) and an electric car charged 400 kWh; its
  2020 report has electricity (20,000 kWh) and natural gas (1,000 m³), and no vehicle.
- 溧阳市档案馆 (LY-C, 100 m²): a meter installed on 29 December 2025 with three days of data (+300 kWh);
  2020: 10,000 kWh.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from tests.e2e.conftest import Platform

DISTRICT = "320481"
CST = timezone(timedelta(hours=8))
TAG = uuid.uuid4().hex[:6]


def _midnight(year: int, month: int, day: int) -> str:
    """The local midnight starting ``day``, as the API takes it."""
    return datetime(year, month, day, tzinfo=CST).isoformat()


def _ok(answer: tuple[int, Any, Any], expected: int = 201) -> Any:
    status, body, _ = answer
    assert status == expected, body
    return body


def _eventually(read: Callable[[], Any], accept: Callable[[Any], bool], timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if accept(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.5)


class City:
    """The reference city, loaded through the public API."""

    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.admin = platform.token()

    def post(self, path: str, body: dict[str, Any], expected: int = 201) -> Any:
        return _ok(self.platform.request("POST", path, body, self.admin), expected)

    def agency(self, key: str, name: str, area_m2: float) -> str:
        agency_id = f"LY-{key}-{TAG}"
        body = {
            "agency_id": agency_id,
            "name": name,
            "district": DISTRICT,
            "kind": "party_government",
            "admin_level": "county",
            "authorised_headcount": 20,
        }
        self.post("/api/v1/agencies", body)
        _eventually(
            lambda: self.platform.request("GET", f"/api/v1/agencies/{agency_id}", token=self.admin)[0],
            lambda status: status == 200,
        )
        building = {
            "building_id": f"B-{agency_id}",
            "agency_id": agency_id,
            "name": f"{name}办公楼",
            "address": "溧阳市燕山中路1号",
            "gross_floor_area_m2": area_m2,
        }
        self.post("/api/v1/buildings", building)
        return agency_id

    def meter(self, agency_id: str, meter_id: str, installed_at: str, kind: str = "electricity") -> str:
        meter_id = f"{meter_id}-{TAG}"
        body = {
            "meter_id": meter_id,
            "serial_no": f"SN-{meter_id}",
            "kind": kind,
            "agency_id": agency_id,
            "district": DISTRICT,
            "building_id": f"B-{agency_id}",
            "multiplier": 1,
            "initial_reading": 0,
            "installed_at": installed_at,
        }
        self.post("/api/v1/meters", body)
        return meter_id

    def readings(self, meter_id: str, readings: list[list[Any]]) -> Any:
        return self.post(f"/api/v1/meters/{meter_id}/readings", {"readings": readings}, 200)

    def report_2020(self, agency_id: str, totals: dict[str, float]) -> None:
        body = {
            "agency_id": agency_id,
            "district": DISTRICT,
            "year": 2020,
            "totals": totals,
            "source": "2020年度公共机构能源资源消费统计年报",
        }
        _eventually(
            lambda: self.platform.request("POST", "/api/v1/energy/annual-reports", body, self.admin)[0],
            lambda status: status == 201,
        )

    def profile(self, agency_id: str, year: int = 2025) -> Any:
        return self.platform.request("GET", f"/api/v1/datacenter/agencies/{agency_id}?year={year}", token=self.admin)


_BUILT: dict[int, dict[str, Any]] = {}


@pytest.fixture
def city(platform: Platform) -> dict[str, Any]:
    """The city of the module docstring (built once per platform: later tests read what earlier ones wrote)."""
    cached = _BUILT.get(id(platform))
    if cached is not None:
        return dict(cached)
    c = City(platform)
    a = c.agency("A", "溧阳市能源局", 1_000)
    a1 = c.meter(a, "M-A1", _midnight(2025, 1, 1))
    a2 = c.meter(a, "M-A2", _midnight(2025, 1, 1))
    c.readings(a1, [[_midnight(2025, month, 1), 4_000 * (month - 1)] for month in range(2, 11)])
    c.readings(a2, [[_midnight(2026, 1, 1), 50_000]])
    c.report_2020(a, {"electricity": 100_000})

    b = c.agency("B", "溧阳市水利局", 500)
    b1 = c.meter(b, "M-B1", _midnight(2025, 1, 1))
    c.readings(b1, [[_midnight(2026, 1, 1), 18_000]])
    c.report_2020(b, {"electricity": 20_000, "natural_gas": 1_000})
    _eventually(
        lambda: platform.request(
            "POST", f"/api/v1/agencies/{b}/vehicle-quota", {"quota": 1, "reason": "2025年编制"}, c.admin
        )[0],
        lambda status: status == 200,
    )
    vehicle = {
        "vehicle_id": f"V-{b}",
        "plate": f"苏DD{uuid.uuid4().int % 100_000:05d}",
        "agency_id": b,
        "energy_type": "battery_electric",
        "use_category": "general",
        "model": "比亚迪秦PLUS EV",
        "acquisition_kind": "new",
        "acquired_on": "2025-03-01",
        "norm_per_100km": 15,
        "battery_capacity_kwh": 60,
        "odometer_km": 10,
    }
    c.post("/api/v1/vehicles", vehicle)
    charging = {
        "quantity_kwh": 400,
        "amount": 360.0,
        "station": "溧阳市水利局充电桩",
        "designated": True,
        "charged_at": "2025-05-05T18:00:00+08:00",
    }
    c.post(f"/api/v1/vehicles/V-{b}/charging", charging)

    cc = c.agency("C", "溧阳市档案馆", 100)
    c1 = c.meter(cc, "M-C1", _midnight(2025, 12, 29))
    c.readings(c1, [[_midnight(2026, 1, 1), 300]])
    c.report_2020(cc, {"electricity": 10_000})

    built = {"client": c, "A": a, "B": b, "C": cc}
    _BUILT[id(platform)] = built
    return dict(built)


def _settled(city: dict[str, Any], key: str, accept: Callable[[Any], bool]) -> Any:
    client: City = city["client"]
    status, body, _ = _eventually(lambda: client.profile(city[key]), lambda a: a[0] == 200 and accept(a[1]))
    assert status == 200, body
    return body


def test_a_lagging_monthly_read_meter_is_annualised_by_its_own_covered_days(city: dict[str, Any]) -> None:
    body = _settled(
        city, "A", lambda b: b["floor_area_m2"] == 1000 and b["energy_by_kind"]["electricity_kwh"] == 86_000
    )
    # year to date as recorded: 9 × 4,000 + 50,000 = 86,000 kWh → 86,000 × 0.1229 / 1000 = 10.5694 tce
    assert body["energy_tce"] == 10.569
    # M-A1: 36,000 × 365 / 273 = 48,131.868132 kWh; M-A2: 50,000 → 98,131.868132 kWh × 0.1229 = 12.060407 tce
    assert body["energy_tce_annualised"] == 12.06
    assert body["energy_per_m2_kgce"] == 12.060407  # 12,060.407 kgce / 1,000 m²
    assert body["baseline_2020"]["energy_per_m2_kgce"] == 12.29  # 100,000 × 0.1229 / 1,000 m²
    # 12.060407 / 12.29 − 1 = −0.0187: above −6 %, off target (the calendar's 86,000 kWh would say −14 %, 达标)
    assert body["change_vs_2020"]["energy_per_m2_kgce"] == -0.0187
    assert body["verdicts"]["energy_per_m2_kgce"] == {"verdict": "off_target", "kinds": []}
    assert body["on_target"]["energy_per_m2_kgce"] is False
    # coverage: (273 + 365) / 2 = 319 days of 365; 319 / 365 = 0.874
    assert body["data_coverage"]["year"]["electricity"] == {
        "days_covered": 319.0,
        "days_elapsed": 365,
        "share": 0.874,
        "sources": 2,
    }
    assert body["data_coverage"]["baseline"]["electricity"]["share"] == 1.0  # the 2020 report covers its year
    # nobody on post: per-capita figures are null with the reason, never divided by the headcount
    assert body["energy_per_capita_kgce"] is None
    assert body["null_reasons"]["energy_per_capita_kgce"] == "nobody_on_post"
    assert body["methods"]["factors_version"] == "GB/T2589-2020+grid2022"


def test_a_kind_missing_this_year_and_vehicles_in_one_year_only_make_the_comparison_incomplete(
    city: dict[str, Any],
) -> None:
    body = _settled(city, "B", lambda b: b["energy_by_kind"]["vehicle_charging_kwh"] == 400)
    verdict = body["verdicts"]["energy_per_m2_kgce"]
    assert verdict == {
        "verdict": "incomplete",
        "kinds": ["natural_gas", "vehicle_charging"],
        "missing_this_year": ["natural_gas"],
        "missing_in_baseline": ["vehicle_charging"],
    }
    assert body["buildings_only"]["verdicts"]["carbon_per_m2_kg"]["kinds"] == ["natural_gas"]
    assert body["on_target"]["energy_per_m2_kgce"] is None
    assert body["change_vs_2020_null_reasons"]["energy_per_m2_kgce"] == "incomplete"
    # buildings only, 2025: 18,000 kWh × 0.1229 = 2.2122 tce / 500 m² = 4.4244 kgce/m²
    assert body["buildings_only"]["energy_per_m2_kgce"] == 4.4244
    # 2020: (20,000 × 0.1229 + 1,000 × 1.2143) / 1000 = 3.6723 tce / 500 m² = 7.3446 kgce/m²
    assert body["buildings_only"]["baseline_2020"]["energy_per_m2_kgce"] == 7.3446


def test_three_days_of_data_are_insufficient_never_on_target(city: dict[str, Any]) -> None:
    body = _settled(city, "C", lambda b: b["energy_by_kind"]["electricity_kwh"] == 300 and b["floor_area_m2"] == 100)
    assert body["data_coverage"]["year"]["electricity"] == {
        "days_covered": 3.0,
        "days_elapsed": 365,
        "share": 0.0082,  # 3 / 365
        "sources": 1,
    }
    # annualised: 300 × 365 / 3 = 36,500 kWh → 4.48585 tce / 100 m² = 44.8585 kgce/m²
    assert body["energy_per_m2_kgce"] == 44.8585
    assert body["verdicts"]["energy_per_m2_kgce"] == {"verdict": "insufficient_data", "kinds": ["electricity"]}
    assert body["on_target"]["energy_per_m2_kgce"] is None
    assert body["change_vs_2020"]["energy_per_m2_kgce"] is None
    assert body["change_vs_2020_null_reasons"]["energy_per_m2_kgce"] == "insufficient_data"
    assert body["scorecard"]["energy_per_m2"] == {"value": None, "passed": None}
