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
- 溧阳市交通运输局 (LY-D, 2,000 m² now): electricity all year (+160,000 kWh) and an electric car charged
  4,000 kWh; its 2020 report: 200,000 kWh, vehicle charging 5,000 kWh and a 2020 floor area of 1,900 m².
- 溧阳市统计局 (LY-E): a 5-minute meter read at 23:00 and 23:05 on 1 March 2025 and at 01:00 on 2 March (a
  gap); its buffered 00:00 reading arrives later, with the first three sent again; then a different value
  for 23:05.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from tests.e2e.conftest import Platform
from tests.support import agency_code, county_agency, eventually

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


class City:
    """The reference city, loaded through the public API."""

    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.admin = platform.token()

    def post(self, path: str, body: dict[str, Any], expected: int = 201) -> Any:
        return _ok(self.platform.request("POST", path, body, self.admin), expected)

    def agency(self, key: str, name: str, area_m2: float) -> str:
        agency_id = agency_code(DISTRICT, f"LY-{key}-{TAG}")
        self.post("/api/v1/agencies", county_agency(agency_id, name, DISTRICT))
        eventually(
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

    def meter(
        self, agency_id: str, meter_id: str, installed_at: str, kind: str = "electricity", interval: str = "5min"
    ) -> str:
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
            "reading_interval": interval,
        }
        self.post("/api/v1/meters", body)
        return meter_id

    def readings(self, meter_id: str, readings: list[list[Any]]) -> Any:
        return self.post(f"/api/v1/meters/{meter_id}/readings", {"readings": readings}, 200)

    def report_2020(self, agency_id: str, totals: dict[str, float], **extra: Any) -> None:
        body = {
            "agency_id": agency_id,
            "district": DISTRICT,
            "year": 2020,
            "totals": totals,
            "source": "2020年度公共机构能源资源消费统计年报",
            **extra,
        }
        eventually(
            lambda: self.platform.request("POST", "/api/v1/energy/annual-reports", body, self.admin)[0],
            lambda status: status == 201,
        )

    def profile(self, agency_id: str, year: int = 2025) -> Any:
        return self.platform.request("GET", f"/api/v1/datacenter/agencies/{agency_id}?year={year}", token=self.admin)


_BUILT: dict[int, dict[str, Any]] = {}


def _electric_car(c: City, agency_id: str, kwh: float) -> None:
    """A battery-electric car of the agency (bought 1 March 2025), charged ``kwh`` from 5 May 2025 on, at most
    1,000 kWh a charge."""
    eventually(
        lambda: c.platform.request(
            "POST", f"/api/v1/agencies/{agency_id}/vehicle-quota", {"quota": 1, "reason": "2025年编制"}, c.admin
        )[0],
        lambda status: status == 200,
    )
    vehicle = {
        "vehicle_id": f"V-{agency_id}",
        "plate": f"苏DD{uuid.uuid4().int % 100_000:05d}",
        "agency_id": agency_id,
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
    day = 5
    while kwh > 0:
        charging = {
            "quantity_kwh": min(kwh, 1_000),
            "amount_fen": 36_000,  # 360 yuan
            "station": "单位充电桩",
            "designated": True,
            "charged_at": f"2025-05-{day:02d}T18:00:00+08:00",
        }
        c.post(f"/api/v1/vehicles/V-{agency_id}/charging", charging)
        kwh, day = kwh - 1_000, day + 1


@pytest.fixture
def city(platform: Platform) -> dict[str, Any]:
    """The city of the module docstring (built once per platform: later tests read what earlier ones wrote)."""
    cached = _BUILT.get(id(platform))
    if cached is not None:
        return dict(cached)
    c = City(platform)
    a = c.agency("A", "溧阳市能源局", 1_000)
    a1 = c.meter(a, "M-A1", _midnight(2025, 1, 1), interval="monthly")
    a2 = c.meter(a, "M-A2", _midnight(2025, 1, 1))
    c.readings(a1, [[_midnight(2025, month, 1), 4_000 * (month - 1)] for month in range(2, 11)])
    c.readings(a2, [[_midnight(2026, 1, 1), 50_000]])
    c.report_2020(a, {"electricity": 100_000})

    b = c.agency("B", "溧阳市水利局", 500)
    b1 = c.meter(b, "M-B1", _midnight(2025, 1, 1))
    c.readings(b1, [[_midnight(2026, 1, 1), 18_000]])
    c.report_2020(b, {"electricity": 20_000, "natural_gas": 1_000})
    _electric_car(c, b, 400)

    cc = c.agency("C", "溧阳市档案馆", 100)
    c1 = c.meter(cc, "M-C1", _midnight(2025, 12, 29))
    c.readings(c1, [[_midnight(2026, 1, 1), 300]])
    c.report_2020(cc, {"electricity": 10_000})

    d = c.agency("D", "溧阳市交通运输局", 2_000)
    d1 = c.meter(d, "M-D1", _midnight(2025, 1, 1))
    c.readings(d1, [[_midnight(2026, 1, 1), 160_000]])
    c.report_2020(d, {"electricity": 200_000}, vehicle_fuel={"vehicle_charging": 5_000}, floor_area_m2=1_900)
    _electric_car(c, d, 4_000)

    e = c.agency("E", "溧阳市统计局", 100)
    late_evening = datetime(2025, 3, 1, 23, 0, tzinfo=CST)
    e1 = c.meter(e, "M-E1", (late_evening - timedelta(minutes=5)).isoformat())
    stamps = {m: (late_evening + timedelta(minutes=m)).isoformat() for m in (0, 5, 60, 120)}
    first = [[stamps[0], 1], [stamps[5], 2], [stamps[120], 30]]
    c.readings(e1, first)
    resent = c.readings(e1, [*first, [stamps[60], 12]])  # the buffered 00:00 reading, with the rest again
    conflict = c.readings(e1, [[stamps[5], 3]])

    built = {"client": c, "A": a, "B": b, "C": cc, "D": d, "E": e, "M-A1": a1, "M-A2": a2}
    built |= {"resent": resent, "conflict": conflict, "E-stamps": stamps}
    _BUILT[id(platform)] = built
    return dict(built)


def _settled(city: dict[str, Any], key: str, accept: Callable[[Any], bool]) -> Any:
    client: City = city["client"]
    status, body, _ = eventually(lambda: client.profile(city[key]), lambda a: a[0] == 200 and accept(a[1]))
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


def test_vehicles_on_both_sides_and_the_2020_floor_area_give_a_like_for_like_verdict(city: dict[str, Any]) -> None:
    body = _settled(city, "D", lambda b: b["energy_by_kind"]["vehicle_charging_kwh"] == 4_000)
    # 2025: (160,000 + 4,000) kWh × 0.1229 = 20.1556 tce / 2,000 m² = 10.0778 kgce/m²
    assert body["energy_per_m2_kgce"] == 10.0778
    # 2020: (200,000 + 5,000) × 0.1229 = 25.1945 tce / 1,900 m² (the 2020 area) = 13.260263 kgce/m²
    assert body["baseline_2020"]["energy_per_m2_kgce"] == 13.260263
    assert body["denominators"] == {"floor_area_m2": "2020", "people": "current"}
    # 10.0778 / 13.260263 − 1 = −0.24: below −6 %, on target
    assert body["change_vs_2020"]["energy_per_m2_kgce"] == -0.24
    assert body["verdicts"]["energy_per_m2_kgce"] == {"verdict": "on_target", "kinds": []}
    # buildings only: 19.664 / 2,000 = 9.832 against 24.58 / 1,900 = 12.936842 → −0.24
    assert body["buildings_only"]["energy_per_m2_kgce"] == 9.832
    assert body["buildings_only"]["baseline_2020"]["energy_per_m2_kgce"] == 12.936842
    assert body["buildings_only"]["verdicts"]["energy_per_m2_kgce"]["verdict"] == "on_target"
    assert body["data_coverage"]["baseline"]["vehicle_charging"]["days_covered"] == 366.0  # 2020 is a leap year


def test_a_monthly_read_meter_raises_no_missing_data_but_a_5_minute_meter_read_once_does(city: dict[str, Any]) -> None:
    client: City = city["client"]

    def anomalies() -> set[str]:
        status, body, _ = client.platform.request(
            "GET", f"/api/v1/energy/anomalies?agency_id={city['A']}&kind=missing_data", token=client.admin
        )
        assert status == 200, body
        return {item["meter_id"] for item in body}

    # M-A2 (every 5 minutes) was read once in 2025, a year after its installation: missing data
    assert eventually(anomalies, lambda found: city["M-A2"] in found) == {city["M-A2"]}  # M-A1 monthly: none


def test_a_late_reading_fills_the_gap_re_sent_readings_are_duplicates_and_a_new_value_conflicts(
    city: dict[str, Any],
) -> None:
    assert (city["resent"]["accepted"], city["resent"]["duplicates"], city["resent"]["rejected"]) == (1, 3, 0)
    (refused,) = city["conflict"]["rejections"]
    assert (refused["reason"], refused["value"], refused["recorded_value"]) == ("conflicting_reading", 3, 2)
    client: City = city["client"]
    query = f"/api/v1/energy/consumption?period=day&by=agency&from=2025-03-01&to=2025-03-02&group={city['E']}"

    def days() -> dict[str, float]:
        status, body, _ = client.platform.request("GET", query, token=client.admin)
        assert status == 200, body
        return {row["period"]: row["consumption"] for row in body["rows"]}

    # 1 March: 1 (installation at 22:55 → 23:00) + 1 (→ 23:05) + 10 (→ 00:00, the late reading) = 12 kWh;
    # 2 March: 30 − 12 = 18 kWh (before the late reading: 1 March 2, 2 March 28)
    assert eventually(days, lambda found: found.get("2025-03-01") == 12.0) == {"2025-03-01": 12.0, "2025-03-02": 18.0}
    body = _settled(city, "E", lambda b: b["energy_by_kind"]["electricity_kwh"] == 30)
    assert body["data_coverage"]["year"]["electricity"]["sources"] == 1


def test_a_closed_year_keeps_its_figures_and_later_data_is_a_proposed_restatement_until_applied(
    platform: Platform,
) -> None:
    """2024 (a leap year) at 溧阳市机关事务管理局 (LY-F, 1,000 m²; 2020: 100,000 kWh): a meter installed on
    1 January 2024 read on 1 July (+50,000 kWh, 182 days: January–June). The year is closed; then the
    reading of 1 January 2025 arrives (+50,000 kWh more, the rest of 2024)."""
    c = City(platform)
    f = c.agency("F", "溧阳市机关事务管理局", 1_000)
    f1 = c.meter(f, "M-F1", _midnight(2024, 1, 1))
    c.readings(f1, [[_midnight(2024, 7, 1), 50_000]])
    c.report_2020(f, {"electricity": 100_000})

    def profile(accept: Callable[[Any], bool]) -> Any:
        status, body, _ = eventually(lambda: c.profile(f, 2024), lambda a: a[0] == 200 and accept(a[1]))
        assert status == 200, body
        return body

    before = profile(
        lambda b: (
            b["floor_area_m2"] == 1000
            and b["energy_by_kind"]["electricity_kwh"] == 50_000
            and b["baseline_2020"]["energy_per_m2_kgce"] == 12.29
        )  # the 2020 report is in before the year closes
    )
    # 50,000 × 366 / 182 = 100,549.450549 kWh × 0.1229 = 12.357527 tce / 1,000 m²
    assert before["energy_per_m2_kgce"] == 12.357527 and before["closed_year"] is None
    closed = c.post("/api/v1/datacenter/energy-years/2024/close", {})
    assert closed["event_ids"]
    status, again, _ = c.platform.request("POST", "/api/v1/datacenter/energy-years/2024/close", {}, c.admin)
    assert status == 409, again  # a year is closed once; later changes are restatements

    frozen = profile(lambda b: b["closed_year"] is not None)
    assert frozen["closed_year"]["versions"]["factors_version"] == "GB/T2589-2020+grid2022"
    assert frozen["energy_per_m2_kgce"] == 12.357527 and frozen["proposed_restatement"] is None

    c.readings(f1, [[_midnight(2025, 1, 1), 100_000]])  # the second half of 2024, read on New Year's Day
    shown = profile(lambda b: b["proposed_restatement"] is not None)
    assert shown["energy_per_m2_kgce"] == 12.357527  # the closed figure stays
    assert shown["energy_by_kind"]["electricity_kwh"] == 50_000
    # proposed: 100,000 kWh over 366 days = 100,000 × 0.1229 = 12.29 tce / 1,000 m²; 12.29 / 12.29 − 1 = 0
    proposed = shown["proposed_restatement"]
    assert (proposed["energy_per_m2_kgce"], proposed["change_vs_2020"]["energy_per_m2_kgce"]) == (12.29, 0.0)
    assert proposed["verdicts"]["energy_per_m2_kgce"]["verdict"] == "off_target"

    c.post("/api/v1/datacenter/energy-years/2024/restatement", {"reason": "补录2024年下半年抄表"}, 200)
    restated = profile(lambda b: b["energy_per_m2_kgce"] == 12.29)
    assert restated["proposed_restatement"] is None
    assert restated["closed_year"]["reason"] == "补录2024年下半年抄表", (
        restated["closed_year"],
        restated["proposed_restatement"],
    )
    status, listed, _ = c.platform.request("GET", "/api/v1/datacenter/energy-years", token=c.admin)
    assert status == 200 and listed["items"][0]["year"] == 2024 and listed["items"][0]["restated_on"] is not None


def test_the_energy_services_target_totals_annualise_by_coverage_and_say_when_no_comparison_holds(
    city: dict[str, Any],
) -> None:
    client: City = city["client"]

    def totals(key: str) -> Any:
        path = f"/api/v1/energy/target-totals?year=2025&agency_id={city[key]}"
        status, body, _ = client.platform.request("GET", path, token=client.admin)
        assert status == 200, body
        return body

    (a,) = eventually(lambda: totals("A"), lambda b: len(b) == 1 and b[0]["current"]["by_kind"].get("electricity"))
    # year to date as recorded: 9 × 4,000 + 50,000 = 86,000 kWh × 0.1229 / 1000 = 10.5694 tce
    assert (a["current"]["by_kind"], a["current"]["energy_tce"]) == ({"electricity": 86_000.0}, 10.5694)
    # M-A1: 36,000 × 365 / 273 = 48,131.868132; M-A2: 50,000 → 98,131.868132 kWh × 0.1229 = 12.060407 tce
    assert a["current"]["by_kind_annualised"] == {"electricity": 98_131.868132}
    assert a["current"]["energy_tce_annualised"] == 12.060407
    assert a["current"]["coverage"]["electricity"] == {  # (273 + 365) / 2 = 319 days; 319 / 365 = 0.874
        "days_covered": 319.0,
        "days_elapsed": 365,
        "share": 0.874,
        "sources": 2,
    }
    assert a["comparison"] == {"verdict": "comparable", "kinds": []}
    (c,) = totals("C")
    # three days (3 / 365 = 0.0082): no comparison, never a figure that looks like a whole year's
    assert c["comparison"] == {"verdict": "insufficient_data", "kinds": ["electricity"]}
    assert c["current"]["energy_tce"] == 0.03687  # 300 × 0.1229 / 1000, year to date
    (b,) = totals("B")  # natural gas in 2020, not in 2025
    assert b["comparison"]["verdict"] == "incomplete" and b["comparison"]["missing_this_year"] == ["natural_gas"]


def test_a_quota_is_judged_on_the_days_the_data_covers_and_not_on_too_little_data(platform: Platform) -> None:
    """2026, the running year, assessed as of 30 June (day 181 of 365). 溧阳市审计局 (LY-G): a monthly meter
    installed on 1 January 2026, read on the 1st of each month up to 1 June (+10,000 kWh a month: 50,000 kWh,
    151 days covered: January–May); quota 13.5 tce. 溧阳市民政局 (LY-H): the same meter read up to 1 April only
    (30,000 kWh, 90 days); quota 5 tce."""
    c = City(platform)
    g, h = c.agency("G", "溧阳市审计局", 1_000), c.agency("H", "溧阳市民政局", 1_000)
    g1 = c.meter(g, "M-G1", _midnight(2026, 1, 1), interval="monthly")
    h1 = c.meter(h, "M-H1", _midnight(2026, 1, 1), interval="monthly")
    c.readings(g1, [[_midnight(2026, month, 1), 10_000 * (month - 1)] for month in range(2, 7)])
    c.readings(h1, [[_midnight(2026, month, 1), 10_000 * (month - 1)] for month in range(2, 5)])
    for agency, limit in ((g, 13.5), (h, 5.0)):
        c.post(
            "/api/v1/energy/quotas",
            {"agency_id": agency, "district": DISTRICT, "year": 2026, "basis": "absolute", "limit": limit},
        )

    def used(agency: str) -> float:
        path = f"/api/v1/energy/target-totals?year=2026&agency_id={agency}"
        status, body, _ = c.platform.request("GET", path, token=c.admin)
        return body[0]["current"]["by_kind"].get("electricity", 0) if status == 200 and body else 0

    assert eventually(lambda: used(g), lambda kwh: kwh == 50_000) == 50_000
    assert eventually(lambda: used(h), lambda kwh: kwh == 30_000) == 30_000

    lagging = c.post(f"/api/v1/energy/quotas/{g}/2026/assessment", {"as_of": "2026-06-30"}, 200)
    # 50,000 kWh × 365 / 151 = 120,860.927152 kWh × 0.1229 / 1000 = 14.853808 tce > 13.5: over, alerted
    # (the calendar's 50,000 × 365 / 181 = 100,828.7 kWh = 12.3919 tce would have said within the quota)
    assert (lagging["forecast_tce"], lagging["verdict"], lagging["over"]) == (14.853808, "over_quota", True)
    assert lagging["year_to_date_tce"] == 6.145  # 50,000 × 0.1229 / 1000
    # 151 / 181 = 0.8343 ≥ 0.8 and ≥ 90 days: sufficient
    assert lagging["coverage"]["electricity"] == {
        "days_covered": 151.0,
        "days_elapsed": 181,
        "share": 0.8343,
        "sources": 1,
    }
    assert len(lagging["event_ids"]) == 1

    thin = c.post(f"/api/v1/energy/quotas/{h}/2026/assessment", {"as_of": "2026-06-30"}, 200)
    # 90 / 181 = 0.4972 < 0.8: no verdict and no alert, although 30,000 × 365 / 90 = 121,666.7 kWh = 14.952833
    # tce (and the calendar's 7.4351 tce) are above the 5 tce quota
    assert (thin["verdict"], thin["insufficient_kinds"], thin["over"]) == ("insufficient_data", ["electricity"], False)
    assert thin["forecast_tce"] == 14.952833 and thin["event_ids"] == []


def test_a_monthly_read_across_new_year_is_shared_between_the_years_by_time(platform: Platform) -> None:
    """溧阳市科学技术局 (LY-N): a monthly meter installed on 15 December 2025 at 0 and read on 15 January 2026
    at 310 kWh, both at 00:00 Beijing time: 31 days, 10 kWh a day."""
    c = City(platform)
    n = c.agency("N", "溧阳市科学技术局", 1_000)
    n1 = c.meter(n, "M-N1", _midnight(2025, 12, 15), interval="monthly")
    c.readings(n1, [[_midnight(2026, 1, 15), 310]])

    def settled(year: int, kwh: float) -> Any:
        status, body, _ = eventually(
            lambda: c.profile(n, year),
            lambda a: a[0] == 200 and a[1]["energy_by_kind"].get("electricity_kwh") == kwh,
        )
        assert status == 200, body
        return body

    # 2026 year to date: 1–14 January = 14 days × 10 = 140 kWh (not the whole 310); covered 14 days
    new_year = settled(2026, 140.0)
    assert new_year["data_coverage"]["year"]["electricity"]["days_covered"] == 14.0
    # 2025: 15–31 December = 17 days × 10 = 170 kWh, covered to the year's end: 17 days
    old_year = settled(2025, 170.0)
    assert old_year["data_coverage"]["year"]["electricity"]["days_covered"] == 17.0
