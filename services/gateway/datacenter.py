"""The data center's figures (机关事务大数据中心): every system's per-agency numbers joined, rolled up to
districts and the city, with the KPIs against the 2020 targets and the conservation-agency scorecard.

Each ``services/gateway/views/<domain>.py`` gives its per-agency figures as plain summable numbers. Here
they are joined on the agency, summed per district and city (``RAW`` are the summable keys), and only
then turned into ratios (``derive``): area per person, the new-energy share, cost per km, energy per m² and
per capita — a district's ratio is its totals' ratio, never an average of its agencies' ratios.

Vehicle fuel and charging are part of their agency's energy and carbon (docs/domain.md, "What the data center
adds"), converted with the energy service's factor table (electricity, diesel) and ``GASOLINE``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from services.common.base.settings import settings
from services.common.kernel.money import FEN_PER_YUAN
from services.common.kernel.ratios import ratio
from services.common.read.freshness import behind_seconds
from services.energy.read_model import (
    DEFAULT_ANOMALY_RULES,
    DEFAULT_SUFFICIENCY,
    READING_INTERVALS_VERSION,
    TARGETS_VERSION,
    Coverage,
    FactorTable,
    convert,
    days_in_year,
    elapsed_days,
)
from services.gateway import kpis
from services.gateway.scorecard import Scorecard, coverage
from services.gateway.views import assets as assets_view
from services.gateway.views import energy as energy_view
from services.gateway.views import office_space as space_view
from services.gateway.views import procurement as procurement_view
from services.gateway.views import vehicles as vehicles_view
from services.gateway.views.agencies import agencies_table
from services.office_space.read_model import SPACE_SUMS, space_figures

SHARE_DIGITS = 4
"""Decimals a share or a unit cost of the profile is given to."""

SYSTEMS = ("office_space", "vehicles", "assets", "procurement", "energy")

GASOLINE = {"kgce_per_l": 1.0668, "kgco2_per_l": 2.1207}
"""Motor gasoline per litre: 1.4714 kgce/kg (GB/T 2589-2020) and 2.9251 kgCO₂/kg (省级温室气体清单编制指南),
at 0.725 kg/L. Diesel and electricity use the energy service's factor table."""
GASOLINE_VERSION = (
    "gasoline-2020.1 (GB/T 2589-2020 1.4714 kgce/kg; 省级温室气体清单编制指南 2.9251 kgCO2/kg; 0.725 kg/L)"
)
"""The version and source of ``GASOLINE``, named by every figure that converts vehicle gasoline."""

OVERDUE_DAYS = 30
"""An open finding or anomaly older than this counts against the scorecard."""

SPACE = ("authorised_headcount", "floor_area_m2", *SPACE_SUMS)
"""Master data, the gross floor area and the summable space quantities (``figures.SPACE_SUMS``)."""
ENERGY = (
    "electricity_kwh",
    "natural_gas_m3",
    "heat_gj",
    "fuel_l",
    "building_energy_tce",
    "building_carbon_t",
    "water_m3",
    "baseline_energy_tce",
    "baseline_carbon_t",
    "baseline_water_m3",
    "quota_tce",
    "forecast_tce",
    "agencies_with_quota",
    "agencies_over_quota",
    "open_anomalies",
    *energy_view.coverage_keys(),
    *energy_view.coverage_keys("baseline_"),
    *energy_view.BASELINE_EXTRAS,
    "baseline_reported",
    "frozen_vehicle_tce",
    "frozen_vehicle_tco2",
    "frozen_baseline_vehicle_tce",
    "frozen_baseline_vehicle_tco2",
)
VEHICLES = (
    "vehicles_in_service",
    "vehicle_quota",
    "acquisitions",
    "new_energy_acquisitions",
    "vehicle_cost_fen",
    "vehicle_km",
    "vehicle_gasoline_l",
    "vehicle_diesel_l",
    "vehicle_charging_kwh",
)
ASSETS = ("assets_count", "assets_book_value_fen", "idle_assets", "idle_assets_value_fen", "overdue_loans")
PROCUREMENT = ("budget_fen", "committed_fen", "spent_fen", "open_abnormal_quotes")
"""Money figures are integer fen (分) and end ``_fen`` (services/common/kernel/money.py): summed exactly over agencies."""
FINDINGS = ("open_findings", "open_items_over_30_days")
RAW = (*SPACE, *ENERGY, *VEHICLES, *ASSETS, *PROCUREMENT, *FINDINGS)
"""Every summable per-agency figure."""


@dataclass(frozen=True)
class Scope:
    """Which agencies and which year: ``district``/``agency_id`` narrow it; ``today`` fixes 'now'."""

    year: int
    today: date
    district: str | None = None
    agency_id: str | None = None


# -- gathering ------------------------------------------------------------------------------------


def agency_rows(
    conn: sa.Connection, scope: Scope, factors: FactorTable | None = None, closed: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """Per agency of the scope: master data and every summable figure (``RAW``) of ``scope.year``; with
    ``closed`` (the year's closed record, read once per answer so that figures and versions agree) the
    energy figures are the frozen ones. ``factors``: the year's table (``energy_view.factors_for``) unless given."""
    table = factors or energy_view.factors_for(conn, scope.year)
    result = assemble(
        space_view.space_by_agency(conn, scope.district, scope.agency_id),
        energy_view.energy_by_agency(conn, scope.district, scope.agency_id, scope.year, scope.today, table),
        _vehicles(conn, scope),
        assets_view.assets_by_agency(conn, scope.district, scope.agency_id, scope.today),
        procurement_view.procurement_by_agency(conn, scope.district, scope.agency_id, scope.year),
        open_items(conn, scope),
    )
    if closed is not None:
        for row in result:
            frozen = closed["figures"].get(row["agency_id"], {})
            row.update({key: frozen.get(key, 0.0) for key in (*frozen_keys(), *FROZEN_CONVERSIONS)})
    return result


def assemble(
    space: list[dict[str, Any]],
    energy: dict[str, dict[str, Any]],
    vehicles: dict[str, dict[str, Any]],
    assets: dict[str, dict[str, Any]],
    procurement: dict[str, dict[str, Any]],
    items: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    """Per agency of ``space`` (the directory's, in its order): master data and every summable figure, joined
    from each system's per-agency figures and the open items (the one assembly of full and kept gathering)."""
    items_of: dict[str, list[dict[str, Any]]] = {}
    for item in items:
        items_of.setdefault(item["agency_id"], []).append(item)
    result = []
    for row in space:
        agency = row["agency_id"]
        raw = {key: row.get(key) or 0 for key in SPACE}
        raw |= _energy(energy.get(agency))
        raw |= vehicles.get(agency, dict.fromkeys(VEHICLES, 0))
        raw |= _assets(assets.get(agency))
        raw |= _procurement(procurement.get(agency))
        mine = items_of.get(agency, [])
        raw["open_findings"] = len(mine)
        raw["open_items_over_30_days"] = sum(1 for item in mine if item["age_days"] > OVERDUE_DAYS)
        master = {k: row[k] for k in ("agency_id", "name", "district", "kind", "admin_level")}
        result.append({**master, **raw})
    return result


def _energy(figures: dict[str, Any] | None) -> dict[str, Any]:
    if not figures:
        return dict.fromkeys(ENERGY, 0)
    has_quota = figures.get("quota_basis") is not None and figures["quota_tce"] > 0
    return {
        "electricity_kwh": figures["electricity_kwh"],
        "natural_gas_m3": figures["natural_gas_m3"],
        "heat_gj": figures["heat_gj"],
        "fuel_l": figures["fuel_l"],
        "building_energy_tce": figures["energy_tce"],
        "building_carbon_t": figures["carbon_tco2"],
        "water_m3": figures["water_m3"],
        "baseline_energy_tce": figures["baseline_energy_tce"],
        "baseline_carbon_t": figures["baseline_carbon_tco2"],
        "baseline_water_m3": figures["baseline_water_m3"],
        "quota_tce": figures["quota_tce"] if has_quota else 0,
        "forecast_tce": figures["forecast_tce"],
        "agencies_with_quota": int(has_quota),
        "agencies_over_quota": int(has_quota and bool(figures["over_quota"])),
        "open_anomalies": figures["open_anomalies"],
        **{key: figures[key] for key in (*energy_view.coverage_keys(), *energy_view.coverage_keys("baseline_"))},
        **{key: figures[key] for key in (*energy_view.BASELINE_EXTRAS, "baseline_reported")},
        **dict.fromkeys(FROZEN_CONVERSIONS, 0.0),
    }


FROZEN_CONVERSIONS = (
    "frozen_vehicle_tce",
    "frozen_vehicle_tco2",
    "frozen_baseline_vehicle_tce",
    "frozen_baseline_vehicle_tco2",
)
"""A closed year's vehicle use in tce and CO₂, converted when it was closed (0 in live figures)."""


def frozen_keys() -> tuple[str, ...]:
    """What closing a year freezes per agency: every energy figure but the open anomalies (a live list), and
    the vehicles' fuel and charging."""
    return (
        *(key for key in ENERGY if key != "open_anomalies"),
        "vehicle_gasoline_l",
        "vehicle_diesel_l",
        "vehicle_charging_kwh",
    )


def closing_figures(
    conn: sa.Connection, year: int, today: date, factors: FactorTable | None = None
) -> dict[str, dict[str, float]]:
    """Every agency's figures of ``year`` as the data center sums them now, to be frozen by closing the year
    (``EnergyYearClosed``): use, coverage, baseline, vehicle use and their tce and CO₂ under ``factors`` (the
    year's table unless given)."""
    table = factors or energy_view.factors_for(conn, year)
    found = {}
    for row in agency_rows(conn, Scope(year, today), table):
        frozen = {key: float(row[key]) for key in frozen_keys()}
        tce, tco2 = _vehicle_conversion({kind: float(row[key]) for kind, key in VEHICLE_USE.items()}, table)
        base = {kind: float(row[f"baseline_{key}"]) for kind, key in VEHICLE_USE.items()}
        base_tce, base_tco2 = _vehicle_conversion(base, table)
        conversions = (round(tce, 6), round(tco2, 6), round(base_tce, 6), round(base_tco2, 6))
        found[row["agency_id"]] = frozen | dict(zip(FROZEN_CONVERSIONS, conversions, strict=True))
    return found


def method_versions(factors: FactorTable) -> dict[str, str]:
    """The versions of the methods the data center's energy figures are computed with now, ``factors`` the
    table of their year."""
    return {
        "factors_version": factors.version,
        "gasoline_factors": GASOLINE_VERSION,
        "sufficiency_version": DEFAULT_SUFFICIENCY.version,
        "targets_version": TARGETS_VERSION,
        "reading_intervals_version": READING_INTERVALS_VERSION,
        "anomaly_rules_version": DEFAULT_ANOMALY_RULES.version,
    }


def _assets(figures: dict[str, Any] | None) -> dict[str, Any]:
    if not figures:
        return dict.fromkeys(ASSETS, 0)
    return {
        "assets_count": figures["assets_count"],
        "assets_book_value_fen": figures["book_value_fen"],
        "idle_assets": figures["idle_assets_count"],
        "idle_assets_value_fen": figures["idle_assets_book_value_fen"],
        "overdue_loans": figures["overdue_loans"],
    }


def _procurement(figures: dict[str, Any] | None) -> dict[str, Any]:
    if not figures:
        return dict.fromkeys(PROCUREMENT, 0)
    return {
        "budget_fen": figures["budget_fen"],
        "committed_fen": figures["committed_fen"],
        "spent_fen": figures["spent_fen"],
        "open_abnormal_quotes": figures["open_abnormal_quotes"],
    }


def _vehicles(conn: sa.Connection, scope: Scope) -> dict[str, dict[str, Any]]:
    """Per agency: the fleet against its quota, acquisitions and how many are new-energy, the year's cost,
    kilometres, fuel by type and charging."""
    return vehicles_view.datacenter_figures(conn, scope.district, scope.agency_id, scope.year)


# -- rolling up and deriving ----------------------------------------------------------------------


def roll_up(rows: Iterable[dict[str, Any]], key: str | None) -> dict[str, dict[str, Any]]:
    """The summable figures summed per ``key`` (``district``) or for the city (``None``), with ``agencies``."""
    totals: dict[str, dict[str, Any]] = {}
    for row in rows:
        group = totals.setdefault(row[key] if key else "city", {"agencies": 0, **dict.fromkeys(RAW, 0)})
        group["agencies"] += 1
        for name in RAW:
            group[name] += row[name] or 0
    return totals


def derive(
    raw: dict[str, Any],
    year: int,
    today: date,
    factors: FactorTable,
    closed: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The figures the API shows, from summable ones: vehicle energy added to the agency's, ratios, KPIs;
    ``factors`` is the year's table; ``closed`` (a closed year's record) makes the energy figures those
    frozen, naming its versions."""
    table = factors
    return {
        **{k: raw[k] for k in ("agencies",) if k in raw},
        **{k: _rounded(raw[k]) for k in RAW},
        **space_figures(raw),  # the space figures, defined once (docs/kpis/office_space.md)
        "new_energy_share": ratio(raw["new_energy_acquisitions"], raw["acquisitions"], digits=SHARE_DIGITS),
        "vehicle_cost_per_km": ratio(
            raw["vehicle_cost_fen"], raw["vehicle_km"] * FEN_PER_YUAN, digits=SHARE_DIGITS
        ),  # yuan per km
        "year": year,
        **_energy_figures(raw, year, today, table, closed),
    }


VEHICLE_FUEL = {"vehicle_gasoline": "vehicle_gasoline_l", "vehicle_diesel": "vehicle_diesel_l"}
VEHICLE_USE = {**VEHICLE_FUEL, "vehicle_charging": "vehicle_charging_kwh"}
"""Vehicle energy kinds (``kpis.VEHICLE_KINDS``) and the summable figure of each."""


def _vehicle_conversion(use: dict[str, float], table: FactorTable) -> tuple[float, float]:
    """Vehicle gasoline, diesel (L) and charging (kWh) in tce and tCO₂."""
    electricity = table.kgce_per_unit["electricity"], table.kgco2_per_unit["electricity"]
    diesel = table.kgce_per_unit["fuel"], table.kgco2_per_unit["fuel"]
    gasoline, diesel_l, charging = use["vehicle_gasoline"], use["vehicle_diesel"], use["vehicle_charging"]
    tce = (gasoline * GASOLINE["kgce_per_l"] + diesel_l * diesel[0] + charging * electricity[0]) / 1000
    tco2 = (gasoline * GASOLINE["kgco2_per_l"] + diesel_l * diesel[1] + charging * electricity[1]) / 1000
    return tce, tco2


def _coverages(raw: dict[str, Any], prefix: str, elapsed: int, vehicles: dict[str, float]) -> dict[str, Coverage]:
    """Each kind present on one side with its coverage: meters and reports from the energy figures, vehicle
    kinds (a log complete to date, or the 2020 report's) covering every elapsed day."""
    found = {}
    for kind, key in energy_view.FIGURE_KEYS.items():
        sources = raw[f"{prefix}{key}_sources"]
        if sources:
            found[kind] = Coverage.of(raw[f"{prefix}{key}_source_days"], sources, elapsed)
    for kind, use in vehicles.items():
        if use:
            found[kind] = Coverage.of(float(elapsed), 1, elapsed)
    return found


def _energy_figures(
    raw: dict[str, Any], year: int, today: date, table: FactorTable, closed: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Energy and carbon year to date and annualised, their coverage, and the KPIs against 2020.

    Year-to-date figures keep their names (``energy_tce``, ``carbon_t``); the full-year figures the
    intensities are computed from are ``…_annualised``. A scope without any energy source has null figures
    with a reason, never 0."""
    elapsed, whole = elapsed_days(year, today), days_in_year(year)
    vehicles = {kind: float(raw[key]) for kind, key in VEHICLE_USE.items()}
    vehicle_tce, vehicle_carbon_t = _vehicle_conversion(vehicles, table)
    if closed is not None:
        vehicle_tce, vehicle_carbon_t = raw["frozen_vehicle_tce"], raw["frozen_vehicle_tco2"]
    vehicle_scale = whole / elapsed if 0 < elapsed < whole else 1.0
    coverage = _coverages(raw, "", elapsed, vehicles)
    baseline_vehicles = {kind: float(raw[f"baseline_{key}"]) for kind, key in VEHICLE_USE.items()}
    baseline_coverage = _coverages(raw, "baseline_", days_in_year(kpis.BASELINE_YEAR), baseline_vehicles)
    energy_known = any(kind in coverage for kind in (*kpis.BUILDING_KINDS, *kpis.VEHICLE_KINDS))
    water_known = "water" in coverage

    def known(value: float, present: bool) -> float | None:
        return value if present else None

    def shown(value: float | None) -> float | None:
        return None if value is None else round(value, 3)

    building_tce, building_carbon_t = raw["energy_tce_annualised"], raw["carbon_tco2_annualised"]
    annual_tce = building_tce + vehicle_tce * vehicle_scale
    annual_carbon_t = building_carbon_t + vehicle_carbon_t * vehicle_scale
    current = {
        "energy_tce": known(annual_tce, energy_known),
        "carbon_t": known(annual_carbon_t, energy_known),
        "building_energy_tce": known(building_tce, any(k in coverage for k in kpis.BUILDING_KINDS)),
        "building_carbon_t": known(building_carbon_t, any(k in coverage for k in kpis.BUILDING_KINDS)),
        "water_m3": known(raw["water_m3_annualised"], water_known),
        "floor_area_m2": raw["floor_area_m2"],
        "staff_on_post": raw["staff_on_post"],
        "baseline": _baseline(raw, baseline_coverage, baseline_vehicles, table, closed is not None),
    }
    against = kpis.against_2020(current, coverage, baseline_coverage)
    null_reason = None if energy_known else "no_meters"
    return {
        "annualised": any(c.days_covered < whole for c in coverage.values()) or 0 < elapsed < whole,
        "energy_tce": shown(known(raw["building_energy_tce"] + vehicle_tce, energy_known)),
        "carbon_t": shown(known(raw["building_carbon_t"] + vehicle_carbon_t, energy_known)),
        "energy_tce_null_reason": null_reason,
        "carbon_t_null_reason": null_reason,
        "energy_tce_annualised": shown(current["energy_tce"]),
        "carbon_t_annualised": shown(current["carbon_t"]),
        "building_energy_tce_annualised": shown(current["building_energy_tce"]),
        "water_m3_annualised": shown(current["water_m3"]),
        "data_coverage": {
            "year": {kind: c.as_dict() for kind, c in sorted(coverage.items())},
            "baseline": {kind: c.as_dict() for kind, c in sorted(baseline_coverage.items())},
        },
        "energy_by_kind": {
            "electricity_kwh": _rounded(raw["electricity_kwh"]),
            "natural_gas_m3": _rounded(raw["natural_gas_m3"]),
            "heat_gj": _rounded(raw["heat_gj"]),
            "fuel_l": _rounded(raw["fuel_l"]),
            "vehicle_fuel_l": _rounded(raw["vehicle_gasoline_l"] + raw["vehicle_diesel_l"]),
            "vehicle_charging_kwh": _rounded(raw["vehicle_charging_kwh"]),
        },
        "vehicle_energy_tce": round(vehicle_tce, 3),
        **against,
        "methods": dict(closed["versions"]) if closed is not None else method_versions(table),
        "closed_year": None
        if closed is None
        else {k: closed[k] for k in ("closed_on", "restated_on", "reason")} | {"versions": closed["versions"]},
        "energy_quota_tce": _rounded(raw["quota_tce"]) if raw["agencies_with_quota"] else None,
        "energy_forecast_tce": _rounded(raw["forecast_tce"]),
        "quota_exceeded_forecast": bool(raw["agencies_over_quota"]) if raw["agencies_with_quota"] else None,
    }


def _baseline(
    raw: dict[str, Any],
    coverage: dict[str, Coverage],
    vehicles: dict[str, float],
    table: FactorTable,
    frozen: bool = False,
) -> dict[str, Any] | None:
    """The 2020 full-year figures, when the scope has any (a baseline of nothing is no baseline)."""
    if not coverage:
        return None
    vehicle_tce, vehicle_carbon_t = _vehicle_conversion(vehicles, table)
    if frozen:
        vehicle_tce, vehicle_carbon_t = raw["frozen_baseline_vehicle_tce"], raw["frozen_baseline_vehicle_tco2"]
    buildings = any(k in coverage for k in kpis.BUILDING_KINDS)
    energy = buildings or any(k in coverage for k in kpis.VEHICLE_KINDS)
    tce, tco2 = raw["baseline_energy_tce_annualised"], raw["baseline_carbon_tco2_annualised"]
    return {
        "energy_tce": tce + vehicle_tce if energy else None,
        "carbon_t": tco2 + vehicle_carbon_t if energy else None,
        "building_energy_tce": tce if buildings else None,
        "building_carbon_t": tco2 if buildings else None,
        "water_m3": raw["baseline_water_m3_annualised"] if "water" in coverage else None,
        **_baseline_denominators(raw),
    }


def _baseline_denominators(raw: dict[str, Any]) -> dict[str, Any]:
    """The 2020 floor area and people served, when every 2020 report of the scope gives them (a district's
    2020 area is not a mix of 2020 and today's areas)."""
    reports = raw["baseline_reported"]
    found: dict[str, Any] = {}
    if reports and raw["baseline_area_reported"] == reports:
        found["floor_area_m2"] = raw["baseline_floor_area_m2"]
    if reports and raw["baseline_people_reported"] == reports:
        found["people"] = raw["baseline_people"]
    return found


def _rounded(value: Any) -> Any:
    return round(value, 3) if isinstance(value, float) else value


# -- the API's answers ----------------------------------------------------------------------------


RESTATED = (
    "energy_tce",
    "carbon_t",
    "energy_tce_annualised",
    "carbon_t_annualised",
    "energy_per_m2_kgce",
    "energy_per_capita_kgce",
    "water_per_capita_m3",
    "carbon_per_m2_kg",
    "change_vs_2020",
    "verdicts",
    "methods",
)
"""What a proposed restatement of a closed year shows beside the closed figures."""


def _proposed(frozen: dict[str, Any], live: dict[str, Any]) -> dict[str, Any] | None:
    """The live figures of a closed year where they differ from the frozen ones (new factors, late data), or
    None: shown beside the closed figures, applied only by ``POST .../restatement``."""
    proposed = {key: live[key] for key in RESTATED}
    return None if all(frozen[key] == live[key] for key in RESTATED) else proposed


def agencies(
    conn: sa.Connection,
    scope: Scope,
    card: Scorecard,
    rows: list[dict[str, Any]] | None = None,
    closed: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Every agency of the scope with its figures and its scorecard result; a closed year's energy figures are
    the frozen ones, with the live ones beside them when they differ (``proposed_restatement``). ``rows``
    and ``closed`` come together from ``city`` (one reading of the closed record per answer)."""
    table = energy_view.factors_for(conn, scope.year)
    if rows is None:
        closed = energy_view.closed_year(conn, scope.year)
        rows = agency_rows(conn, scope, table, closed=closed)
    live_rows = {r["agency_id"]: r for r in agency_rows(conn, scope, table)} if closed else {}
    return [judged_agency(row, scope, table, card, closed, live_rows.get(row["agency_id"])) for row in rows]


def judged_agency(
    row: dict[str, Any],
    scope: Scope,
    table: FactorTable,
    card: Scorecard,
    closed: dict[str, Any] | None = None,
    live_row: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One agency's entry of ``agencies``: master data, its figures derived from ``row`` and its scorecard
    result (a pure function of its arguments: what ``figures.KeptFigures`` keeps per agency)."""
    figures = derive(row, scope.year, scope.today, table, closed=closed)
    if closed is not None and live_row is not None:
        figures["proposed_restatement"] = _proposed(figures, derive(live_row, scope.year, scope.today, table))
    judged = card.score(figures)
    master = {k: row[k] for k in ("agency_id", "name", "district", "kind", "admin_level")}
    return {
        **master,
        **figures,
        "conservation_score": judged["score"],
        "conservation_agency": judged["conservation_agency"],
        "scorecard": judged["criteria"],
    }


@dataclass(frozen=True)
class Judged:
    """Every agency of a scope with its figures and scorecard result, and the summable rows they came from: what
    the city's, the agencies' and the scorecard's answers are made of (computed once for the three)."""

    closed: dict[str, Any] | None
    factors: FactorTable
    """The year's factor table the figures were converted with."""
    rows: list[dict[str, Any]]
    live_rows: list[dict[str, Any]]
    agencies: list[dict[str, Any]]


def judge(conn: sa.Connection, scope: Scope, card: Scorecard) -> Judged:
    """The agencies of ``scope`` judged (one reading of the closed record for rows and figures alike)."""
    closed = energy_view.closed_year(conn, scope.year)
    table = energy_view.factors_for(conn, scope.year)
    rows = agency_rows(conn, scope, table, closed=closed)
    live_rows = agency_rows(conn, scope, table) if closed else []
    return Judged(closed, table, rows, live_rows, agencies(conn, scope, card, rows, closed))


def city(conn: sa.Connection, scope: Scope, card: Scorecard, basis: Judged | None = None) -> dict[str, Any]:
    """The city's figures, each district's, and conservation-agency coverage (a closed year: frozen energy
    figures, with a proposed restatement beside them when the live ones differ); ``basis`` the scope's agencies
    judged already."""
    basis = basis or judge(conn, scope, card)
    closed, table, rows, live_rows = basis.closed, basis.factors, basis.rows, basis.live_rows
    judged = basis.agencies

    def shown(raw: dict[str, Any], live: dict[str, Any] | None) -> dict[str, Any]:
        figures = derive(raw, scope.year, scope.today, table, closed=closed)
        if closed is not None and live is not None:
            figures["proposed_restatement"] = _proposed(figures, derive(live, scope.year, scope.today, table))
        return figures

    city_total = roll_up(rows, None).get("city")
    live_districts = roll_up(live_rows, "district")
    districts = []
    for code, raw in sorted(roll_up(rows, "district").items()):
        mine = [a for a in judged if a["district"] == code]
        districts.append(
            {
                "district": code,
                "name": settings().districts.get(code, code),
                **shown(raw, live_districts.get(code)),
                "coverage": coverage(mine),
            }
        )
    return {
        "year": scope.year,
        "city": shown(city_total, roll_up(live_rows, None).get("city")) if city_total else None,
        "districts": districts,
        "coverage": coverage(judged),
    }


def open_items(
    conn: sa.Connection,
    scope: Scope,
    kind: str | None = None,
    system: str | None = None,
    min_age_days: int = 0,
) -> list[dict[str, Any]]:
    """Open findings and anomalies of every system, oldest first, with the agency's name and their age."""
    found = {
        name: source(conn, scope.district, scope.agency_id, kind)
        for name, source in ITEM_SOURCES.items()
        if system in (None, name)
    }
    return listed_items(found, agency_names(conn), scope, min_age_days)


ITEM_SOURCES: dict[str, Callable[[sa.Connection, str | None, str | None, str | None], list[dict[str, Any]]]] = {
    "office_space": space_view.open_items,
    "vehicles": vehicles_view.open_items,
    "assets": assets_view.open_items,
    "procurement": procurement_view.open_items,
    "energy": energy_view.open_items,
}
"""Each system's open findings and anomalies: (conn, district, agency_id, kind) → items."""


def agency_names(conn: sa.Connection) -> dict[str, str]:
    """Every agency's name by id (the findings name their agency)."""
    return dict(conn.execute(sa.select(agencies_table.c.agency_id, agencies_table.c.name)).all())  # type: ignore[arg-type]


SHARED_VALUES = ("system", "kind", "agency_id", "district", "opened_on", "status")
"""Item fields whose texts repeat across items (a kind, an agency, a day): kept once each (``sys.intern``)."""


def listed_items(
    found: dict[str, list[dict[str, Any]]], names: dict[str, str], scope: Scope, min_age_days: int = 0
) -> list[dict[str, Any]]:
    """Each system's items (in ``ITEM_SOURCES`` order) given their agency's name and their age on ``scope.today``
    (a new item in place; a kept one listed again as it is, or copied when its name changed: an answer given
    before shares it), those at least ``min_age_days`` old, oldest first."""
    listed = []
    for items in found.values():
        for item in items:
            name = names.get(item["agency_id"])
            age = (scope.today - date.fromisoformat(str(item["opened_on"])[:10])).days
            if "age_days" not in item:  # a new item: its own texts, then its name and age
                for key in SHARED_VALUES:  # the same few texts in thousands of kept items: one copy of each
                    if isinstance(item.get(key), str):
                        item[key] = sys.intern(item[key])
                item["agency_name"], item["age_days"] = name, age
            elif (item["agency_name"], item["age_days"]) != (name, age):
                item = {**item, "agency_name": name, "age_days": age}  # an answer given before still shows it
            if age >= min_age_days:
                listed.append(item)
    return sorted(listed, key=lambda item: (str(item["opened_on"]), item["system"], str(item["id"])))


def energy_trend(
    conn: sa.Connection, scope: Scope, months: int, factors: FactorTable | None = None
) -> list[dict[str, Any]]:
    """Metered use per month of the last ``months`` months up to ``scope.today``: tce and CO₂ of the energy
    kinds, electricity and water (vehicle fuel is counted per year, not in the monthly trend), each month with
    its year's factor table unless ``factors`` is given."""
    tables = energy_view.factor_tables_by_year(conn)
    return trend_of(monthly_use(conn, scope, month_start(scope.today, months - 1)), scope, months, tables, factors)


USE_UNITS = 1_000_000
"""The trend sums each day's use in millionths of its unit, as integers: exact in any order, so the months of an
agency gathered again alone add up with the others' to what one query of every agency gives
(``figures.KeptFigures.trend``)."""


def monthly_use(
    conn: sa.Connection, scope: Scope, first: date, agency_id: str | None = None
) -> dict[str, dict[tuple[str, str], int]]:
    """Per agency of the scope (or only ``agency_id``), its metered use per (month, kind) from ``first`` to
    ``scope.today``, in ``USE_UNITS``."""
    d = energy_view.daily.c
    month = sa.func.substr(d.day, 1, 7)
    units = sa.func.sum(sa.cast(sa.func.round(d.consumption * USE_UNITS), sa.BigInteger))
    query = (
        sa.select(d.agency_id, month.label("month"), d.kind, units.label("units"))
        .where(d.day >= first.isoformat(), d.day <= scope.today.isoformat())
        .group_by(d.agency_id, month, d.kind)
    )
    if scope.district:
        query = query.where(d.district == scope.district)
    for wanted in {scope.agency_id, agency_id} - {None}:
        query = query.where(d.agency_id == wanted)
    found: dict[str, dict[tuple[str, str], int]] = {}
    keys: dict[tuple[str, str], tuple[str, str]] = {}
    for row in conn.execute(query):
        key = (row.month, row.kind)  # the same few (month, kind) for every agency: one tuple each, kept
        found.setdefault(row.agency_id, {})[keys.setdefault(key, key)] = int(row.units or 0)
    return found


def trend_of(
    use: dict[str, dict[tuple[str, str], int]],
    scope: Scope,
    months: int,
    tables: Callable[[int], FactorTable],
    factors: FactorTable | None = None,
) -> list[dict[str, Any]]:
    """``energy_trend`` of the agencies' monthly use (``monthly_use``), ``tables`` the factor table of each year."""
    by_month: dict[str, dict[str, int]] = {}
    for uses in use.values():
        for (month, kind), units in uses.items():
            totals = by_month.setdefault(month, {})
            totals[kind] = totals.get(kind, 0) + units
    result = []
    for number in range(months):
        key = month_start(scope.today, months - 1 - number).isoformat()[:7]
        totals = {kind: units / USE_UNITS for kind, units in by_month.get(key, {}).items()}
        converted = convert(totals, factors or tables(int(key[:4])))
        result.append(
            {
                "month": key,
                "energy_tce": round(converted.tce, 3),
                "carbon_t": round(converted.tco2, 3),
                "factors_version": converted.factors_version,
                "electricity_kwh": round(totals.get("electricity", 0.0), 3),
                "water_m3": round(totals.get("water", 0.0), 3),
            }
        )
    return result


def month_start(today: date, back: int) -> date:
    """The first day of the month ``back`` months before ``today``'s."""
    index = today.year * 12 + today.month - 1 - back
    return date(index // 12, index % 12 + 1, 1)


def store_freshness(
    head: dict[str, Any] | None,
    projected_last_event_at: str | None,
    now: datetime,
    first_unapplied_at: str | None = None,
) -> dict[str, Any]:
    """How far the data center is behind one service's **store** (not its topic), end to end.

    ``head`` is the service's ``store_head`` (its newest event's position and time, and how far its relay got;
    None when the service did not answer), ``projected_last_event_at`` the time of the newest event of its topic
    the data center applied, ``first_unapplied_at`` the store's first event recorded after that one (when the
    data center is behind); ``lag_seconds`` is ``services.common.read.freshness.behind_seconds``, the same rule as
    the ``gov_store_projection_lag_seconds`` gauge. ``unpublished_events`` are those the broker has not acknowledged: an
    outbox that cannot publish shows as growing lag here and as ``OutboxBacklogStale`` in the alerts.
    """
    if head is None:
        return {"available": False, "lag_seconds": None, "unpublished_events": None}
    last_at = head.get("last_event_at")
    lag = behind_seconds(last_at, projected_last_event_at, now, first_unapplied_at)
    return {
        "available": True,
        "store_last_event_at": last_at,
        "projected_last_event_at": projected_last_event_at,
        "lag_seconds": round(lag, 3),
        "unpublished_events": int(head["last_position"]) - int(head["relay_position"]),
    }


def freshness(status: dict[str, Any]) -> dict[str, Any]:
    """What the figures reflect: per topic the position applied and the events not yet applied."""
    positions: dict[str, int] = {}
    for key, offset in status.get("positions", {}).items():
        topic = key.rsplit(":", 1)[0]
        positions[topic] = positions.get(topic, 0) + int(offset)
    lag = status.get("lag_events", {})
    return {
        "last_event_at": status.get("last_event_at"),
        "topics": {topic: {"position": pos, "lag_events": lag.get(topic)} for topic, pos in sorted(positions.items())},
    }
