"""The data center's figures (机关事务大数据中心): every system's per-agency numbers joined, rolled up to
districts and the city, with the KPIs against the 2020 targets and the conservation-agency scorecard.

Each ``services/gateway/views/<domain>.py`` gives its per-agency figures as plain summable numbers. Here
they are joined on the agency, summed per district and city (``RAW`` are the summable keys), and only
then turned into ratios (``derive``): area per person, the new-energy share, cost per km, energy per m² and
per capita — a district's ratio is its totals' ratio, never an average of its agencies' ratios.

Vehicle fuel and charging are part of their agency's energy and carbon (DOMAIN.md, "What the data center
adds"), converted with the energy service's factor table (electricity, diesel) and ``GASOLINE``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from services.common.settings import settings
from services.energy.domain import FactorTable, convert
from services.energy.factors import configured_factors
from services.gateway import kpis
from services.gateway.scorecard import Scorecard, coverage
from services.gateway.views import assets as assets_view
from services.gateway.views import energy as energy_view
from services.gateway.views import office_space as space_view
from services.gateway.views import procurement as procurement_view
from services.gateway.views import vehicles as vehicles_view
from services.gateway.views.agencies import agencies_table

SYSTEMS = ("office_space", "vehicles", "assets", "procurement", "energy")

GASOLINE = {"kgce_per_l": 1.0668, "kgco2_per_l": 2.1207}
"""Motor gasoline per litre: 1.4714 kgce/kg (GB/T 2589-2020) and 2.9251 kgCO₂/kg (省级温室气体清单编制指南),
at 0.725 kg/L. Diesel and electricity use the energy service's factor table."""

OVERDUE_DAYS = 30
"""An open finding or anomaly older than this counts against the scorecard."""

SPACE = (
    "authorised_headcount",
    "staff_on_post",
    "floor_area_m2",
    "office_area_m2",
    "standard_area_m2",
    "over_standard",
    "idle_rooms",
    "idle_area_m2",
)
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
)
VEHICLES = (
    "vehicles_in_service",
    "vehicle_quota",
    "acquisitions",
    "new_energy_acquisitions",
    "vehicle_cost_yuan",
    "vehicle_km",
    "vehicle_gasoline_l",
    "vehicle_diesel_l",
    "vehicle_charging_kwh",
)
ASSETS = ("assets_count", "assets_book_value_yuan", "idle_assets", "idle_assets_value_yuan", "overdue_loans")
PROCUREMENT = ("budget_yuan", "committed_yuan", "spent_yuan", "open_abnormal_quotes")
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


def agency_rows(conn: sa.Connection, scope: Scope, factors: FactorTable | None = None) -> list[dict[str, Any]]:
    """Per agency of the scope: master data and every summable figure (``RAW``) of ``scope.year``."""
    table = factors or configured_factors()
    rows = space_view.space_by_agency(conn, scope.district, scope.agency_id)
    energy = energy_view.energy_by_agency(conn, scope.district, scope.agency_id, scope.year, scope.today, table)
    vehicles = _vehicles(conn, scope)
    assets = assets_view.assets_by_agency(conn, scope.district, scope.agency_id, scope.today)
    procurement = procurement_view.procurement_by_agency(conn, scope.district, scope.agency_id, scope.year)
    items_of: dict[str, list[dict[str, Any]]] = {}
    for item in open_items(conn, scope):
        items_of.setdefault(item["agency_id"], []).append(item)
    result = []
    for row in rows:
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
    }


def _assets(figures: dict[str, Any] | None) -> dict[str, Any]:
    if not figures:
        return dict.fromkeys(ASSETS, 0)
    return {
        "assets_count": figures["assets_count"],
        "assets_book_value_yuan": figures["book_value_cents"] / 100,
        "idle_assets": figures["idle_assets_count"],
        "idle_assets_value_yuan": figures["idle_assets_book_value_cents"] / 100,
        "overdue_loans": figures["overdue_loans"],
    }


def _procurement(figures: dict[str, Any] | None) -> dict[str, Any]:
    if not figures:
        return dict.fromkeys(PROCUREMENT, 0)
    return {
        "budget_yuan": figures["budget_cents"] / 100,
        "committed_yuan": figures["committed_cents"] / 100,
        "spent_yuan": figures["spent_cents"] / 100,
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


def derive(raw: dict[str, Any], year: int, today: date, factors: FactorTable | None = None) -> dict[str, Any]:
    """The figures the API shows, from summable ones: vehicle energy added to the agency's, ratios, KPIs."""
    table = factors or configured_factors()
    electricity = table.kgce_per_unit["electricity"], table.kgco2_per_unit["electricity"]
    diesel = table.kgce_per_unit["fuel"], table.kgco2_per_unit["fuel"]
    vehicle_tce = (
        raw["vehicle_gasoline_l"] * GASOLINE["kgce_per_l"]
        + raw["vehicle_diesel_l"] * diesel[0]
        + raw["vehicle_charging_kwh"] * electricity[0]
    ) / 1000
    vehicle_carbon_t = (
        raw["vehicle_gasoline_l"] * GASOLINE["kgco2_per_l"]
        + raw["vehicle_diesel_l"] * diesel[1]
        + raw["vehicle_charging_kwh"] * electricity[1]
    ) / 1000
    energy_tce = raw["building_energy_tce"] + vehicle_tce
    carbon_t = raw["building_carbon_t"] + vehicle_carbon_t
    factor = kpis.annualisation(year, today)
    against = kpis.against_2020(
        {  # no use recorded at all is no data (shown as null), not an agency that used nothing
            "energy_tce": energy_tce or None,
            "carbon_t": carbon_t or None,
            "water_m3": raw["water_m3"] or None,
            "floor_area_m2": raw["floor_area_m2"],
            "staff_on_post": raw["staff_on_post"],
            "authorised_headcount": raw["authorised_headcount"],
            "baseline": _baseline(raw),
        },
        factor,
    )
    people = raw["staff_on_post"]
    return {
        **{k: raw[k] for k in ("agencies",) if k in raw},
        **{k: _rounded(raw[k]) for k in RAW},
        "area_per_person_m2": _ratio(raw["office_area_m2"], people),
        "new_energy_share": _ratio(raw["new_energy_acquisitions"], raw["acquisitions"]),
        "vehicle_cost_per_km": _ratio(raw["vehicle_cost_yuan"], raw["vehicle_km"]),
        "year": year,
        "annualised": factor != 1.0,
        "energy_tce": round(energy_tce, 3),
        "carbon_t": round(carbon_t, 3),
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
        "energy_quota_tce": _rounded(raw["quota_tce"]) if raw["agencies_with_quota"] else None,
        "energy_forecast_tce": _rounded(raw["forecast_tce"]),
        "quota_exceeded_forecast": bool(raw["agencies_over_quota"]) if raw["agencies_with_quota"] else None,
    }


def _baseline(raw: dict[str, Any]) -> dict[str, Any] | None:
    """The 2020 totals, when the agency has any (a baseline of nothing is no baseline)."""
    if not (raw["baseline_energy_tce"] or raw["baseline_water_m3"]):
        return None
    return {
        "energy_tce": raw["baseline_energy_tce"] or None,
        "carbon_t": raw["baseline_carbon_t"] or None,
        "water_m3": raw["baseline_water_m3"] or None,
    }


def _ratio(numerator: float, denominator: float) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


def _rounded(value: Any) -> Any:
    return round(value, 3) if isinstance(value, float) else value


# -- the API's answers ----------------------------------------------------------------------------


def agencies(
    conn: sa.Connection, scope: Scope, card: Scorecard, rows: list[dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    """Every agency of the scope with its figures and its scorecard result."""
    result = []
    for row in agency_rows(conn, scope) if rows is None else rows:
        figures = derive(row, scope.year, scope.today)
        judged = card.score(figures)
        master = {k: row[k] for k in ("agency_id", "name", "district", "kind", "admin_level")}
        result.append(
            {
                **master,
                **figures,
                "conservation_score": judged["score"],
                "conservation_agency": judged["conservation_agency"],
                "scorecard": judged["criteria"],
            }
        )
    return result


def city(conn: sa.Connection, scope: Scope, card: Scorecard) -> dict[str, Any]:
    """The city's figures, each district's, and conservation-agency coverage."""
    rows = agency_rows(conn, scope)
    judged = agencies(conn, scope, card, rows)
    city_total = roll_up(rows, None).get("city")
    districts = []
    for code, raw in sorted(roll_up(rows, "district").items()):
        mine = [a for a in judged if a["district"] == code]
        districts.append(
            {
                "district": code,
                "name": settings().districts.get(code, code),
                **derive(raw, scope.year, scope.today),
                "coverage": coverage(mine),
            }
        )
    return {
        "year": scope.year,
        "city": derive(city_total, scope.year, scope.today) if city_total else None,
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
    sources = {
        "office_space": space_view.open_items,
        "vehicles": vehicles_view.open_items,
        "assets": assets_view.open_items,
        "procurement": procurement_view.open_items,
        "energy": energy_view.open_items,
    }
    items: list[dict[str, Any]] = []
    for name, source in sources.items():
        if system in (None, name):
            items += source(conn, scope.district, scope.agency_id, kind)
    names = dict(conn.execute(sa.select(agencies_table.c.agency_id, agencies_table.c.name)).all())
    for item in items:
        item["agency_name"] = names.get(item["agency_id"])
        item["age_days"] = (scope.today - date.fromisoformat(str(item["opened_on"])[:10])).days
    kept = [item for item in items if item["age_days"] >= min_age_days]
    return sorted(kept, key=lambda item: (str(item["opened_on"]), item["system"], str(item["id"])))


def energy_trend(
    conn: sa.Connection, scope: Scope, months: int, factors: FactorTable | None = None
) -> list[dict[str, Any]]:
    """Metered use per month of the last ``months`` months up to ``scope.today``: tce and CO₂ of the energy
    kinds, electricity and water (vehicle fuel is counted per year, not in the monthly trend)."""
    table = factors or configured_factors()
    first = _month_start(scope.today, months - 1)
    d = energy_view.daily.c
    month = sa.func.substr(d.day, 1, 7)
    query = (
        sa.select(month.label("month"), d.kind, sa.func.sum(d.consumption).label("consumption"))
        .where(d.day >= first.isoformat(), d.day <= scope.today.isoformat())
        .group_by(month, d.kind)
    )
    if scope.district:
        query = query.where(d.district == scope.district)
    if scope.agency_id:
        query = query.where(d.agency_id == scope.agency_id)
    by_month: dict[str, dict[str, float]] = {}
    for row in conn.execute(query):
        by_month.setdefault(row.month, {})[row.kind] = float(row.consumption or 0.0)
    result = []
    for number in range(months):
        key = _month_start(scope.today, months - 1 - number).isoformat()[:7]
        totals = by_month.get(key, {})
        converted = convert(totals, table)
        result.append(
            {
                "month": key,
                "energy_tce": round(converted.tce, 3),
                "carbon_t": round(converted.tco2, 3),
                "electricity_kwh": round(totals.get("electricity", 0.0), 3),
                "water_m3": round(totals.get("water", 0.0), 3),
            }
        )
    return result


def _month_start(today: date, back: int) -> date:
    """The first day of the month ``back`` months before ``today``'s."""
    index = today.year * 12 + today.month - 1 - back
    return date(index // 12, index % 12 + 1, 1)


def store_freshness(head: dict[str, Any] | None, projected_last_event_at: str | None, now: datetime) -> dict[str, Any]:
    """How far the data center is behind one service's **store** (not its topic), end to end.

    ``head`` is the service's ``store_head`` (its newest event's position and time, and how far its relay got;
    None when the service did not answer), ``projected_last_event_at`` the time of the newest event of its topic
    the data center applied. When the store holds an event newer than any applied, the data center is behind
    by at least the age of the store's newest event (``lag_seconds``: the oldest event not applied is at
    least that old); otherwise by 0. ``unpublished_events`` are those the broker has not acknowledged: an
    outbox that cannot publish shows as growing lag here and as ``OutboxBacklogStale`` in the alerts.
    """
    if head is None:
        return {"available": False, "lag_seconds": None, "unpublished_events": None}
    last_at = head.get("last_event_at")
    behind = bool(last_at) and (projected_last_event_at is None or projected_last_event_at < last_at)
    lag = max((now - datetime.fromisoformat(last_at)).total_seconds(), 0.0) if behind and last_at else 0.0
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
