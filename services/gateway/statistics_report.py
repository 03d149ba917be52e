"""The annual public-institution energy and resource consumption statistics report (公共机构能源资源消费统计)
of a closed year: every agency's use per energy kind in its physical unit, in tonnes of standard coal (tce)
and tonnes of CO₂, summed per district and for the city, as an XLSX in the layout of a statistical form.

Only a closed year has one (``EnergyYearClosed``: the annual statistics, once reported, are the record), and
its figures are the frozen ones. Each kind is converted here with the factors of the version the year was
closed with, and those factors are printed under the table, so every cell can be checked by hand. When the
platform's factor table is no longer that version, the report is refused until the year is restated (a closed
year does not change silently, not even in a report).
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from services.common.kernel.errors import InvalidState
from services.energy.read_model import FactorTable
from services.gateway.datacenter import GASOLINE, GASOLINE_VERSION


@dataclass(frozen=True)
class Kind:
    """One energy kind of the form: its frozen figure, its unit, its labels and the factor it converts by."""

    key: str
    figure: str
    unit: str
    zh: str
    en: str
    factor: str
    """The factor table's kind (``electricity``, ``natural_gas``, ``heat``, ``fuel``) or ``gasoline``."""


KINDS = (
    Kind("electricity", "electricity_kwh", "kWh", "电力", "Electricity", "electricity"),
    Kind("natural_gas", "natural_gas_m3", "m³", "天然气", "Natural gas", "natural_gas"),
    Kind("heat", "heat_gj", "GJ", "热力", "Heat", "heat"),
    Kind("fuel", "fuel_l", "L", "柴油（建筑用）", "Diesel (buildings)", "fuel"),
    Kind("vehicle_gasoline", "vehicle_gasoline_l", "L", "车用汽油", "Vehicle gasoline", "gasoline"),
    Kind("vehicle_diesel", "vehicle_diesel_l", "L", "车用柴油", "Vehicle diesel", "fuel"),
    Kind("vehicle_charging", "vehicle_charging_kwh", "kWh", "车辆充电", "Vehicle charging", "electricity"),
)
"""The columns of the form, in its order: buildings' kinds, then vehicles' (as the data center counts them)."""

TITLE = ("公共机构能源资源消费统计表", "Public-institution energy and resource consumption statistics")
LABELS: dict[str, tuple[str, str]] = {
    "reporter": ("填报单位", "Reported by"),
    "administration": ("市机关事务管理局", "City Government Offices Administration"),
    "year": ("统计年度", "Year"),
    "closed_on": ("关账日期", "Closed on"),
    "restated_on": ("重述日期", "Restated on"),
    "units": ("计量单位", "Units"),
    "units_text": (
        "实物量按各列所注；折标准煤：吨标准煤（tce）；二氧化碳：吨（t CO₂）",
        "physical units as each column says; standard coal: tonnes (tce); CO₂: tonnes (t CO₂)",
    ),
    "level": ("统计层级", "Level"),
    "district": ("辖市区", "District"),
    "agency_id": ("单位编号", "Agency ID"),
    "name": ("单位名称", "Agency"),
    "physical": ("实物量", "Quantity"),
    "tce": ("折标准煤 (tce)", "Standard coal (tce)"),
    "co2": ("二氧化碳 (t CO₂)", "CO₂ (t)"),
    "water": ("用水量", "Water"),
    "total": ("综合能耗合计", "Total energy"),
    "agency": ("单位", "Agency"),
    "district_sum": ("辖市区合计", "District total"),
    "city_sum": ("全市合计", "City total"),
    "factors": ("折算系数", "Conversion factors"),
    "kind": ("能源品种", "Energy kind"),
    "unit": ("计量单位", "Unit"),
    "kgce": ("折标准煤系数 (kgce/单位)", "kgce per unit"),
    "kgco2": ("二氧化碳排放系数 (kgCO₂/单位)", "kgCO₂ per unit"),
    "version": ("版本", "Version"),
    "tce_source": ("折标系数来源", "Standard coal source"),
    "co2_source": ("排放系数来源", "CO₂ source"),
}


def require_same_factors(versions: Mapping[str, Any], table: FactorTable) -> None:
    """Refuse a report of a year closed with other factors than the platform converts with now."""
    wrong = {}
    if versions.get("factors_version") != table.version:
        wrong["factors_version"] = [f"closed with {versions.get('factors_version')}, the platform has {table.version}"]
    if versions.get("gasoline_factors") != GASOLINE_VERSION:
        wrong["gasoline_factors"] = [f"closed with {versions.get('gasoline_factors')}, the platform has another"]
    if wrong:
        raise InvalidState("the year was closed with other conversion factors: restate it first", fields=wrong)


def factors_of(table: FactorTable) -> dict[str, tuple[float, float]]:
    """(kgce, kgCO₂) per unit of each factor kind, gasoline included."""
    found = {kind: (table.kgce_per_unit[kind], table.kgco2_per_unit[kind]) for kind in table.kgce_per_unit}
    return found | {"gasoline": (GASOLINE["kgce_per_l"], GASOLINE["kgco2_per_l"])}


def agency_line(frozen: Mapping[str, Any], factors: Mapping[str, tuple[float, float]]) -> dict[str, float]:
    """One agency's cells: each kind's quantity, tce and t CO₂, water, and the totals (unrounded)."""
    line: dict[str, float] = {}
    for kind in KINDS:
        quantity = float(frozen.get(kind.figure) or 0.0)
        kgce, kgco2 = factors[kind.factor]
        line |= {
            kind.figure: quantity,
            f"{kind.key}_tce": quantity * kgce / 1000,
            f"{kind.key}_co2_t": quantity * kgco2 / 1000,
        }
    line["water_m3"] = float(frozen.get("water_m3") or 0.0)
    line["energy_tce"] = sum(line[f"{kind.key}_tce"] for kind in KINDS)
    line["carbon_co2_t"] = sum(line[f"{kind.key}_co2_t"] for kind in KINDS)
    return line


def summed(lines: Iterable[Mapping[str, float]]) -> dict[str, float]:
    """The cell-wise sum of lines (a district's or the city's total)."""
    total: dict[str, float] = {}
    for line in lines:
        for key, value in line.items():
            total[key] = total.get(key, 0.0) + value
    return total


def report_rows(
    figures: Mapping[str, Mapping[str, Any]],
    agencies: Iterable[Mapping[str, Any]],
    factors: Mapping[str, tuple[float, float]],
    with_city: bool,
) -> list[dict[str, Any]]:
    """The form's rows: each district's agencies (by name) then the district's total, districts by code, then
    the city's total (``with_city``); every figure rounded to 6 decimals as the data center's."""
    by_district: dict[str, list[dict[str, Any]]] = {}
    for agency in sorted(agencies, key=lambda a: (a["district"], a["name"], a["agency_id"])):
        line = agency_line(figures.get(agency["agency_id"], {}), factors)
        master = {"level": "agency", "district": agency["district"], "agency_id": agency["agency_id"]}
        by_district.setdefault(agency["district"], []).append(master | {"name": agency["name"]} | line)
    rows: list[dict[str, Any]] = []
    for district, members in sorted(by_district.items()):
        total = summed({k: v for k, v in m.items() if isinstance(v, float)} for m in members)
        rows += [*members, {"level": "district_sum", "district": district, "agency_id": "", "name": ""} | total]
    if with_city:
        sums = [{k: v for k, v in r.items() if isinstance(v, float)} for r in rows if r["level"] == "district_sum"]
        zero = dict.fromkeys((key for key, _, _ in columns()), 0.0)  # a city none of whose agencies was closed
        rows.append({"level": "city_sum", "district": "", "agency_id": "", "name": ""} | zero | summed(sums))
    return [{k: round(v, 6) if isinstance(v, float) else v for k, v in row.items()} for row in rows]


# -- the workbook ----------------------------------------------------------------------------------------------

IDENTITY = ("level", "district", "agency_id", "name")
"""The form's first columns: what a row is (agency, district or city total), district, agency id and name."""


def columns() -> list[tuple[str, str, str]]:
    """(row key, group label key or kind, sub-header) of every figure column after the identity columns."""
    found: list[tuple[str, str, str]] = []
    for kind in KINDS:
        found += [
            (kind.figure, kind.key, kind.unit),
            (f"{kind.key}_tce", kind.key, "tce"),
            (f"{kind.key}_co2_t", kind.key, "co2"),
        ]
    return [*found, ("water_m3", "water", "m³"), ("energy_tce", "total", "tce"), ("carbon_co2_t", "total", "co2")]


def workbook(
    year: int,
    closed: Mapping[str, Any],
    rows: list[dict[str, Any]],
    table: FactorTable,
    lang: str,
    district_names: Mapping[str, str],
) -> bytes:
    """The report as an XLSX form: title, reporter, year and units; a two-row header (kind, then quantity /
    tce / CO₂); a row per agency, district total and city total; the conversion factors and their versions."""
    from openpyxl import Workbook  # imported when a report is asked for: openpyxl is 10 MB the gateway need not hold
    from openpyxl.styles import Border, Side
    from openpyxl.utils import get_column_letter

    en = lang == "en"
    say = lambda key: LABELS[key][1 if en else 0]  # noqa: E731
    thin = Side(style="thin")
    box = Border(left=thin, right=thin, top=thin, bottom=thin)
    book = Workbook()
    sheet = book.active
    sheet.title = str(year)
    width = len(IDENTITY) + len(columns())
    _title(sheet, f"{year}{'' if en else '年度'} {TITLE[1 if en else 0]}", width)
    sheet.append([say("reporter"), say("administration"), say("year"), year, say("closed_on"), closed["closed_on"]])
    sheet.append([say("units"), say("units_text"), say("restated_on"), closed.get("restated_on") or "—"])
    sheet.append([])
    _header(sheet, say, en)
    for row in rows:
        sheet.append(_cells(row, say, en, district_names))
        for cell in sheet[sheet.max_row]:  # an agency's name is text, even one a district wrote as "=…"
            if isinstance(cell.value, str) and cell.value.startswith("="):
                cell.data_type = "s"
    first, last = 7, sheet.max_row
    for line in sheet.iter_rows(min_row=5, max_row=last, max_col=width):
        for cell in line:
            cell.border = box
    for line in sheet.iter_rows(min_row=first, max_row=last, min_col=len(IDENTITY) + 1, max_col=width):
        for cell in line:
            cell.number_format = "#,##0.000000" if isinstance(cell.value, float) else "General"
    _factor_table(sheet, say, en, table, closed, last + 2)
    for index in range(1, width + 1):
        sheet.column_dimensions[get_column_letter(index)].width = 22 if index == 4 else 14
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _middle() -> Any:
    from openpyxl.styles import Alignment

    return Alignment(horizontal="center", vertical="center", wrap_text=True)


def _title(sheet: Any, text: str, width: int) -> None:
    from openpyxl.styles import Font

    sheet.append([text])
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
    sheet["A1"].font = Font(bold=True, size=14)
    sheet["A1"].alignment = _middle()


def _header(sheet: Any, say: Any, en: bool) -> None:
    from openpyxl.styles import Font

    """Rows 5 and 6: the identity columns merged over both, each kind's name over its three columns."""
    names = {kind.key: (kind.en if en else kind.zh) for kind in KINDS} | {"water": say("water"), "total": say("total")}
    sub = {"tce": say("tce"), "co2": say("co2")}
    top = [say(key) for key in IDENTITY]
    below = ["" for _ in IDENTITY]
    for _, group, unit in columns():
        top.append(names[group])
        below.append(sub.get(unit) or f"{say('physical')} ({unit})")
    sheet.append(top)
    sheet.append(below)
    for index in range(1, len(IDENTITY) + 1):
        sheet.merge_cells(start_row=5, start_column=index, end_row=6, end_column=index)
    start = len(IDENTITY) + 1
    for size in [3] * len(KINDS) + [1, 2]:
        if size > 1:
            sheet.merge_cells(start_row=5, start_column=start, end_row=5, end_column=start + size - 1)
        start += size
    for line in sheet.iter_rows(min_row=5, max_row=6):
        for cell in line:
            cell.font, cell.alignment = Font(bold=True), _middle()


def _cells(row: Mapping[str, Any], say: Any, en: bool, district_names: Mapping[str, str]) -> list[Any]:
    level = {"agency": say("agency"), "district_sum": say("district_sum"), "city_sum": say("city_sum")}[row["level"]]
    code = row["district"]
    district = (f"{code} " if en else "") + district_names.get(code, code) if code else ""
    return [level, district, row["agency_id"], row["name"], *(row[k] for k, _, _ in columns())]


def _factor_table(sheet: Any, say: Any, en: bool, table: FactorTable, closed: Mapping[str, Any], start: int) -> None:
    from openpyxl.styles import Font

    """The factors each column was converted with, and the versions the closed year names."""
    sheet.cell(row=start, column=1, value=say("factors")).font = Font(bold=True)
    sheet.append([say("kind"), say("unit"), say("kgce"), say("kgco2"), say("version")])
    factors = factors_of(table)
    versions = closed.get("versions", {})
    for kind in KINDS:
        kgce, kgco2 = factors[kind.factor]
        version = versions.get("gasoline_factors") if kind.factor == "gasoline" else versions.get("factors_version")
        sheet.append([kind.en if en else kind.zh, kind.unit, kgce, kgco2, version])
    sheet.append([])
    sheet.append([say("tce_source"), table.tce_source])
    sheet.append([say("co2_source"), table.co2_source])
    for key, value in sorted(versions.items()):
        sheet.append([key, value])
