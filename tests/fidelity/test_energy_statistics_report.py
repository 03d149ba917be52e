"""The annual energy statistics report (公共机构能源资源消费统计) of a closed year, for a small district written
by hand (新北区, 2023 — a year no other suite closes), read back from the XLSX the API answers.

Factors: GB/T2589-2020+grid2022 (electricity 0.1229 kgce and 0.5703 kgCO₂ per kWh, natural gas 1.2143 kgce and
2.1622 kgCO₂ per m³) and gasoline-2020.1 (1.0668 kgce and 2.1207 kgCO₂ per L).

- 新北区机关事务管理中心 (XB-A): electricity 100,000 kWh, natural gas 1,000 m³ and water 2,000 m³ in 2023
  (meters installed on 1 January 2023, read on 1 January 2024).
- 新北区统计局 (XB-B): electricity 20,000 kWh, and a gasoline car refuelled twice with 50 L in 2023.
"""

from __future__ import annotations

import io
import urllib.error
import urllib.request
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

from openpyxl import load_workbook

from tests.e2e.conftest import Platform
from tests.support import agency_code, county_agency, eventually

DISTRICT = "320411"  # 新北区: this module's own district
YEAR = 2023
CST = timezone(timedelta(hours=8))
TAG = uuid.uuid4().hex[:6]
REPORT = f"/api/v1/datacenter/energy-years/{YEAR}/statistics-report"


def _midnight(year: int, month: int, day: int) -> str:
    return datetime(year, month, day, tzinfo=CST).isoformat()


def _ok(platform: Platform, path: str, body: dict[str, Any], token: str, expected: int = 201) -> Any:
    status, answer, _ = platform.request("POST", path, body, token)
    assert status == expected, (path, answer)
    return answer


def _agency(platform: Platform, admin: str, key: str, name: str) -> str:
    agency_id = agency_code(DISTRICT, f"XB-{key}-{TAG}")
    _ok(platform, "/api/v1/agencies", county_agency(agency_id, name, DISTRICT), admin)
    eventually(lambda: platform.request("GET", f"/api/v1/agencies/{agency_id}", token=admin)[0], lambda s: s == 200)
    building = {"building_id": f"B-{agency_id}", "agency_id": agency_id, "name": f"{name}办公楼"}
    _ok(platform, "/api/v1/buildings", building | {"address": "新北区府前路1号", "gross_floor_area_m2": 1_000}, admin)
    return agency_id


def _metered(platform: Platform, admin: str, agency_id: str, kind: str, used: float) -> None:
    """A meter of ``kind`` installed at the start of 2023 and read at its end: ``used`` in between."""
    meter_id = f"M-{kind}-{agency_id}"
    body = {"meter_id": meter_id, "serial_no": f"SN-{meter_id}", "kind": kind, "agency_id": agency_id}
    body |= {"district": DISTRICT, "building_id": f"B-{agency_id}", "multiplier": 1, "initial_reading": 0}
    _ok(
        platform, "/api/v1/meters", body | {"installed_at": _midnight(2023, 1, 1), "reading_interval": "monthly"}, admin
    )
    _ok(platform, f"/api/v1/meters/{meter_id}/readings", {"readings": [[_midnight(2024, 1, 1), used]]}, admin, 200)


def _gasoline_car(platform: Platform, admin: str, agency_id: str) -> None:
    """A gasoline car of the agency refuelled with 50 L in March and in September 2023."""
    quota = {"quota": 1, "reason": "2023年编制"}
    eventually(
        lambda: platform.request("POST", f"/api/v1/agencies/{agency_id}/vehicle-quota", quota, admin)[0],
        lambda status: status == 200,
    )
    car = {"vehicle_id": f"V-{agency_id}", "plate": "苏D" + uuid.uuid4().hex[:5].upper(), "agency_id": agency_id}
    car |= {"energy_type": "gasoline", "use_category": "general", "model": "大众帕萨特 1.4T", "odometer_km": 20_000}
    car |= {"acquisition_kind": "existing", "acquired_on": "2022-06-01", "norm_per_100km": 8, "tank_capacity": 55}
    _ok(platform, "/api/v1/vehicles", car, admin)
    for day, odometer in (("2023-03-02", 20_100), ("2023-09-02", 20_700)):
        fuel = {"fuel": "gasoline", "quantity": 50, "amount_fen": 39_000, "odometer_km": odometer}
        fuel |= {"station": "中石化府前站", "designated": True, "refuelled_at": f"{day}T09:00:00+08:00"}
        _ok(platform, f"/api/v1/vehicles/V-{agency_id}/fuel", fuel, admin)


def _sheet(raw: bytes) -> Any:
    return load_workbook(io.BytesIO(raw)).active


def _row(sheet: Any, agency_or_level: str) -> list[Any]:
    """The cells of the row whose agency id (or level label) is ``agency_or_level``."""
    for row in sheet.iter_rows(min_row=7, values_only=True):
        if agency_or_level in (row[2], row[0]) and (row[0] != "辖市区合计" or row[1] == "新北区"):
            return list(row)
    raise AssertionError(f"no row {agency_or_level}")


def test_a_closed_years_statistics_report_sums_each_kind_per_agency_district_and_city(platform: Platform) -> None:
    admin = platform.token()
    a = _agency(platform, admin, "A", "新北区机关事务管理中心")
    for kind, used in (("electricity", 100_000), ("natural_gas", 1_000), ("water", 2_000)):
        _metered(platform, admin, a, kind, used)
    b = _agency(platform, admin, "B", "新北区统计局")
    _metered(platform, admin, b, "electricity", 20_000)
    _gasoline_car(platform, admin, b)

    def settled() -> Any:
        path = f"/api/v1/datacenter/agencies?district={DISTRICT}&year={YEAR}"
        items = platform.request("GET", path, token=admin)[1]["items"]
        mine = {i["agency_id"]: i for i in items if i["agency_id"] in (a, b)}
        return mine

    mine = eventually(
        settled,
        lambda m: (
            len(m) == 2
            and m[a]["energy_by_kind"]["natural_gas_m3"] == 1_000
            and m[a]["water_m3_annualised"] == 2_000
            and m[b]["energy_by_kind"]["electricity_kwh"] == 20_000
            and m[b]["vehicle_gasoline_l"] == 100
        ),
    )
    assert mine[b]["energy_by_kind"]["vehicle_fuel_l"] == 100, mine

    status, body, _ = platform.request("GET", REPORT, token=admin)
    assert (status, body["error"]) == (404, "not_found")  # no report before the year is closed
    _ok(platform, f"/api/v1/datacenter/energy-years/{YEAR}/close", {}, admin)

    def report(token: str, query: str = "") -> tuple[int, bytes, str]:
        status, raw, kind = _get(platform, REPORT + query, token)
        return status, raw, kind

    status, raw, kind = eventually(lambda: report(admin), lambda r: r[0] == 200)
    assert status == 200 and kind.startswith("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    sheet = _sheet(raw)
    assert sheet["A1"].value == "2023年度 公共机构能源资源消费统计表"
    # columns: 5–7 electricity (kWh, tce, t CO₂), 8–10 natural gas, 17–19 vehicle gasoline, 26 water, 27–28 totals
    row_a = _row(sheet, a)
    # 100,000 kWh × 0.1229 = 12.29 tce, × 0.5703 = 57.03 t; 1,000 m³ × 1.2143 = 1.2143 tce, × 2.1622 = 2.1622 t
    assert row_a[1:10] == ["新北区", a, "新北区机关事务管理中心", 100_000, 12.29, 57.03, 1_000, 1.2143, 2.1622]
    # totals 12.29 + 1.2143 = 13.5043 tce, 57.03 + 2.1622 = 59.1922 t; water 2,000 m³ (not energy)
    assert row_a[25:28] == [2_000, 13.5043, 59.1922]
    row_b = _row(sheet, b)
    # 20,000 kWh = 2.458 tce, 11.406 t; 100 L gasoline × 1.0668 = 0.10668 tce, × 2.1207 = 0.21207 t
    assert row_b[4:7] == [20_000, 2.458, 11.406] and row_b[16:19] == [100, 0.10668, 0.21207]
    assert row_b[26:28] == [2.56468, 11.61807]  # 2.458 + 0.10668; 11.406 + 0.21207
    district = _row(sheet, "辖市区合计")
    # 新北区: 120,000 kWh = 14.748 tce; 13.5043 + 2.56468 = 16.06898 tce; 59.1922 + 11.61807 = 70.81027 t
    assert district[4:6] == [120_000, 14.748] and district[26:28] == [16.06898, 70.81027]
    city = _row(sheet, "全市合计")
    district_totals = [r for r in sheet.iter_rows(min_row=7, values_only=True) if r[0] == "辖市区合计"]
    assert round(sum(r[26] for r in district_totals), 6) == city[26]  # the city is the sum of its districts
    printed = [list(r[:5]) for r in sheet.iter_rows(values_only=True)]
    assert ["电力", "kWh", 0.1229, 0.5703, "GB/T2589-2020+grid2022"] in printed

    # a district operator gets its own district, no city total; another district's operator does not see ours
    own = platform.token("district_operator", district=DISTRICT, name="op-xinbei")
    sheet = _sheet(report(own, "?district=320402")[1])  # the asked district is overridden by its own
    levels = [r[0] for r in sheet.iter_rows(min_row=7, values_only=True) if r[0] in ("单位", "辖市区合计", "全市合计")]
    assert "全市合计" not in levels and _row(sheet, a)[26] == 13.5043
    other = platform.token("district_operator", district="320402", name="op-tianning-report")
    sheet = _sheet(report(other)[1])
    assert a not in [r[2] for r in sheet.iter_rows(min_row=7, values_only=True)]
    english = _sheet(report(admin, "?lang=en")[1])
    assert english["A1"].value == "2023 Public-institution energy and resource consumption statistics"


def _get(platform: Platform, path: str, token: str) -> tuple[int, bytes, str]:
    request = urllib.request.Request(platform.gateway + path, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read(), response.headers["Content-Type"]
    except urllib.error.HTTPError as error:
        return error.code, error.read(), error.headers["Content-Type"]
