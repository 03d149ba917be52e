"""The annual energy statistics report (公共机构能源资源消费统计) of a closed year: each kind converted with the
closed year's factors (GB/T2589-2020+grid2022 and gasoline-2020.1), summed per district and city, laid out as
a statistical form in XLSX (read back with openpyxl)."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from services.common.kernel.errors import InvalidState
from services.energy.domain.rollups import FACTORS_2022
from services.gateway.datacenter import GASOLINE_VERSION
from services.gateway.statistics_report import factors_of, report_rows, require_same_factors, workbook

VERSIONS = {"factors_version": "GB/T2589-2020+grid2022", "gasoline_factors": GASOLINE_VERSION}
FIGURES = {
    "A": {"electricity_kwh": 100_000.0, "natural_gas_m3": 1_000.0, "water_m3": 2_000.0},
    "B": {"electricity_kwh": 20_000.0, "vehicle_gasoline_l": 100.0},
    "C": {"heat_gj": 10.0, "vehicle_charging_kwh": 1_000.0},
}
AGENCIES = [
    {"agency_id": "A", "name": "新北区机关事务管理中心", "district": "320411"},
    {"agency_id": "B", "name": "新北区统计局", "district": "320411"},
    {"agency_id": "C", "name": "金坛区档案馆", "district": "320413"},
]


def _rows(with_city: bool = True) -> list[dict[str, object]]:
    return report_rows(FIGURES, AGENCIES, factors_of(FACTORS_2022), with_city)


def test_each_kind_is_converted_by_its_factor_and_summed_per_district_and_city() -> None:
    rows = _rows()
    assert [(r["level"], r["district"], r["agency_id"]) for r in rows] == [
        ("agency", "320411", "A"),
        ("agency", "320411", "B"),
        ("district_sum", "320411", ""),
        ("agency", "320413", "C"),
        ("district_sum", "320413", ""),
        ("city_sum", "", ""),
    ]
    a, b, xinbei, c, _, city = rows
    # A: 100,000 kWh × 0.1229 kgce = 12.29 tce, × 0.5703 kgCO₂ = 57.03 t; 1,000 m³ gas × 1.2143 = 1.2143 tce,
    # × 2.1622 = 2.1622 t; total 13.5043 tce, 59.1922 t; water 2,000 m³ is not energy
    assert (a["electricity_tce"], a["electricity_co2_t"], a["natural_gas_tce"]) == (12.29, 57.03, 1.2143)
    assert (a["energy_tce"], a["carbon_co2_t"], a["water_m3"]) == (13.5043, 59.1922, 2_000.0)
    # B: 20,000 kWh = 2.458 tce, 11.406 t; 100 L gasoline × 1.0668 = 0.10668 tce, × 2.1207 = 0.21207 t
    assert (b["energy_tce"], b["carbon_co2_t"], b["vehicle_gasoline_tce"]) == (2.56468, 11.61807, 0.10668)
    # 新北区: 120,000 kWh; 13.5043 + 2.56468 = 16.06898 tce; 59.1922 + 11.61807 = 70.81027 t
    assert (xinbei["electricity_kwh"], xinbei["energy_tce"], xinbei["carbon_co2_t"]) == (120_000.0, 16.06898, 70.81027)
    # C: 10 GJ × 34.12 = 0.3412 tce, × 110 = 1.1 t; 1,000 kWh charging = 0.1229 tce, 0.5703 t → 0.4641, 1.6703
    assert (c["energy_tce"], c["carbon_co2_t"]) == (0.4641, 1.6703)
    # city: 16.06898 + 0.4641 = 16.53308 tce; 70.81027 + 1.6703 = 72.48057 t
    assert (city["energy_tce"], city["carbon_co2_t"], city["water_m3"]) == (16.53308, 72.48057, 2_000.0)


def test_a_district_report_has_no_city_total() -> None:
    assert [r["level"] for r in _rows(with_city=False)][-1] == "district_sum"


def test_a_year_closed_with_none_of_the_directorys_agencies_has_a_city_total_of_zeros() -> None:
    # a city that closed a year before any agency was registered (its figures empty): the form still has its city
    # row, every figure 0, instead of failing for want of a district's sums (it was a 500)
    empty = report_rows({}, [], factors_of(FACTORS_2022), with_city=True)
    assert [r["level"] for r in empty] == ["city_sum"]
    assert {v for k, v in empty[0].items() if k not in ("level", "district", "agency_id", "name")} == {0.0}
    closed = {"closed_on": "2024-01-15", "restated_on": None, "versions": VERSIONS}
    raw = workbook(2023, closed, empty, FACTORS_2022, "zh", {"320411": "新北区"})
    assert load_workbook(io.BytesIO(raw)).active["A1"].value == "2023年度 公共机构能源资源消费统计表"


def test_a_year_closed_with_other_factors_is_refused_until_restated() -> None:
    require_same_factors(VERSIONS, FACTORS_2022)
    with pytest.raises(InvalidState) as refused:
        require_same_factors({**VERSIONS, "factors_version": "GB/T2589-2020+grid2021"}, FACTORS_2022)
    assert list(refused.value.fields) == ["factors_version"]


def test_the_form_has_its_title_header_rows_figures_and_factors() -> None:
    closed = {"closed_on": "2024-01-15", "restated_on": None, "versions": VERSIONS}
    raw = workbook(2023, closed, _rows(), FACTORS_2022, "zh", {"320411": "新北区", "320413": "金坛区"})
    sheet = load_workbook(io.BytesIO(raw)).active
    assert sheet.title == "2023" and sheet["A1"].value == "2023年度 公共机构能源资源消费统计表"
    assert [sheet.cell(2, i).value for i in range(1, 7)] == [
        "填报单位",
        "市机关事务管理局",
        "统计年度",
        2023,
        "关账日期",
        "2024-01-15",
    ]
    assert [sheet.cell(5, i).value for i in (1, 2, 3, 4, 5, 8)] == [
        "统计层级",
        "辖市区",
        "单位编号",
        "单位名称",
        "电力",
        "天然气",
    ]
    assert [sheet.cell(6, i).value for i in (5, 6, 7, 8)] == [
        "实物量 (kWh)",
        "折标准煤 (tce)",
        "二氧化碳 (t CO₂)",
        "实物量 (m³)",
    ]
    # each kind's name is merged over its three columns (the merged-over cells read empty)
    assert [sheet.cell(5, i).value for i in (26, 27, 28)] == ["用水量", "综合能耗合计", None]
    assert "E5:G5" in {str(r) for r in sheet.merged_cells.ranges}
    assert [sheet.cell(6, i).value for i in (26, 27, 28)] == ["实物量 (m³)", "折标准煤 (tce)", "二氧化碳 (t CO₂)"]
    first = [sheet.cell(7, i).value for i in (1, 2, 3, 4, 5, 6, 7, 27, 28)]
    assert first == ["单位", "新北区", "A", "新北区机关事务管理中心", 100_000, 12.29, 57.03, 13.5043, 59.1922]
    assert [sheet.cell(9, i).value for i in (1, 2, 27)] == ["辖市区合计", "新北区", 16.06898]
    assert [sheet.cell(12, i).value for i in (1, 27, 28)] == ["全市合计", 16.53308, 72.48057]
    printed = [[c.value for c in row] for row in sheet.iter_rows(min_row=14)]
    assert printed[0][0] == "折算系数"
    assert ["电力", "kWh", 0.1229, 0.5703, "GB/T2589-2020+grid2022"] in [r[:5] for r in printed]
    assert ["车用汽油", "L", 1.0668, 2.1207, GASOLINE_VERSION] in [r[:5] for r in printed]


def test_the_form_reads_in_english_on_request() -> None:
    closed = {"closed_on": "2024-01-15", "restated_on": None, "versions": VERSIONS}
    raw = workbook(2023, closed, _rows(), FACTORS_2022, "en", {"320411": "新北区", "320413": "金坛区"})
    sheet = load_workbook(io.BytesIO(raw)).active
    assert sheet["A1"].value.endswith("Public-institution energy and resource consumption statistics")
    assert [sheet.cell(7, i).value for i in (1, 2)] == ["Agency", "320411 新北区"]


def test_an_agency_name_written_as_a_formula_stays_text() -> None:
    closed = {"closed_on": "2024-01-15", "restated_on": None, "versions": VERSIONS}
    rows = _rows()
    rows[0] = rows[0] | {"name": '=HYPERLINK("http://x","点击")'}  # what a hostile district may register
    raw = workbook(2023, closed, rows, FACTORS_2022, "zh", {"320411": "新北区", "320413": "金坛区"})
    sheet = load_workbook(io.BytesIO(raw)).active
    assert sheet.cell(7, 4).value == '=HYPERLINK("http://x","点击")'
    assert sheet.cell(7, 4).data_type == "s"  # text, not a formula the spreadsheet would run
