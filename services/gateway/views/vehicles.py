"""The data center's official-vehicle figures (公务用车): the vehicles read model (the same projection as the
vehicles service's own, kept in the gateway database too), per-agency figures that roll up to districts and
the city, and the open anomalies and flags for the one list of open findings."""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa

from services.common.kernel.clock import china_today
from services.common.read.projector import Projection
from services.vehicles.read_model import (
    SHARE_ACQUISITION_KINDS,
    CostItem,
    VehiclesViews,
    cost_item,
    costs_by_kind,
    findings,
    meets_target,
    quotas,
    trips,
    vehicles,
    year_cost_rows,
    year_window,
)

PROJECTIONS: list[Projection] = [VehiclesViews()]
MIGRATIONS = ("vehicles_views",)

FUEL_FIGURES = {
    "gasoline": "gasoline_l",
    "diesel": "diesel_l",
    "hydrogen": "hydrogen_kg",
    "electricity": "charging_kwh",
}
"""The energy carriers vehicles take and the figure each is summed in (litres, kg of hydrogen, kWh)."""

SUMMED = (
    "vehicles_in_service",
    "quota",
    "acquisitions",
    "new_energy_acquisitions",
    "cost_fen",
    "km",
    *FUEL_FIGURES.values(),
    "disposals",
    "disposal_proceeds_fen",
    "open_items",
)
"""The figures of ``vehicles_by_agency`` that add up over agencies."""


def _empty(district: str, year: int) -> dict[str, Any]:
    return {"district": district, "year": year, **dict.fromkeys(SUMMED, 0)}


def vehicles_by_agency(
    conn: sa.Connection,
    district: str | None = None,
    agency_id: str | None = None,
    year: int | None = None,
    today: date | None = None,
) -> dict[str, dict[str, Any]]:
    """Per agency (id → figures) holding vehicles or a vehicle quota, for ``year`` (default this year, Beijing
    time). Plain numbers, summable over agencies (``roll_up``):

    - ``vehicles_in_service``: vehicles held now and not disposed (sealed ones included); ``quota``: the
      vehicle quota (编制) the administration set, 0 when none is set yet.
    - ``acquisitions``: new and replacement vehicles (新增及更新) acquired in the year;
      ``new_energy_acquisitions``: those of them that are new-energy (the share's numerator; target 30 %).
    - ``cost_fen``: everything spent on the agency's vehicles in the year (fuel, charging, repair,
      maintenance, insurance, rental, tolls) in fen (分), each spread over the months it covers (a premium
      over its cover period), as the fleet report and a vehicle's cost endpoint do (docs/kpis/vehicles.md);
      ``km``: km driven by the agency's vehicles on trips finished in the year (whoever requested them) —
      ``cost_fen / 100 / km`` is the cost per km in yuan.
    - ``gasoline_l``, ``diesel_l``: litres refuelled in the year; ``hydrogen_kg``: kg of hydrogen;
      ``charging_kwh``: kWh charged — the quantities the lead converts into the agency's energy (tce) and CO₂.
    - ``disposals`` and ``disposal_proceeds_fen``: vehicles disposed of in the year and their proceeds (fen).
    - ``open_items``: anomalies and flags of the agency still open (see ``open_items``).

    ``district`` and ``year`` describe the row.
    """
    today = today or china_today()
    year = year or today.year
    prefix = f"{year:04d}-"
    result: dict[str, dict[str, Any]] = {}

    def row(agency: str, in_district: str) -> dict[str, Any]:
        return result.setdefault(agency, _empty(in_district, year))

    q, v, t, f = quotas.c, vehicles.c, trips.c, findings.c
    for agency, in_district, quota in conn.execute(
        _scoped(sa.select(q.agency_id, q.district, q.quota), q, district, agency_id)
    ):
        row(agency, in_district)["quota"] = quota or 0
    fleet = sa.select(
        v.agency_id,
        v.district,
        sa.func.sum(sa.case((v.status == "in_service", 1), else_=0)),
        sa.func.sum(
            sa.case(
                (v.acquisition_kind.in_(sorted(SHARE_ACQUISITION_KINDS)) & v.acquired_on.startswith(prefix), 1), else_=0
            )
        ),
        sa.func.sum(
            sa.case(
                (
                    v.acquisition_kind.in_(sorted(SHARE_ACQUISITION_KINDS))
                    & v.acquired_on.startswith(prefix)
                    & v.new_energy.is_(True),
                    1,
                ),
                else_=0,
            )
        ),
        sa.func.sum(sa.case((v.disposed_on.startswith(prefix), 1), else_=0)),
        sa.func.sum(sa.case((v.disposed_on.startswith(prefix), v.proceeds_fen), else_=0)),
    ).group_by(v.agency_id, v.district)
    for agency, in_district, active, acquired, green, disposed, proceeds in conn.execute(
        _scoped(fleet, v, district, agency_id)
    ):
        figures = row(agency, in_district)
        figures |= {
            "vehicles_in_service": int(active or 0),
            "acquisitions": int(acquired or 0),
            "new_energy_acquisitions": int(green or 0),
            "disposals": int(disposed or 0),
            "disposal_proceeds_fen": int(proceeds or 0),
        }
    first, last = year_window(year)
    items: dict[tuple[str, str], list[CostItem]] = {}
    for cost in year_cost_rows(conn, year, agency_id, district):
        key = (cost["agency_id"], cost["district"])
        items.setdefault(key, []).append(cost_item(cost))
        carrier = cost["energy_kind"]
        if carrier in FUEL_FIGURES and cost["occurred_on"].startswith(prefix):
            figures = row(*key)
            figures[FUEL_FIGURES[carrier]] = round(figures[FUEL_FIGURES[carrier]] + float(cost["quantity"] or 0), 3)
    for key, spread in items.items():
        row(*key)["cost_fen"] += sum(costs_by_kind(spread, first, last).values())
    driven = (
        sa.select(v.agency_id, v.district, sa.func.sum(t.distance_km))
        .select_from(trips.join(vehicles, v.vehicle_id == t.vehicle_id))
        .where(t.status == "completed", t.finished_on.startswith(prefix))
        .group_by(v.agency_id, v.district)
    )
    for agency, in_district, km in conn.execute(_scoped(driven, v, district, agency_id)):
        row(agency, in_district)["km"] = round(float(km or 0), 1)
    still_open = (
        sa.select(f.agency_id, f.district, sa.func.count())
        .where(f.closed_on.is_(None))
        .group_by(f.agency_id, f.district)
    )
    for agency, in_district, count in conn.execute(_scoped(still_open, f, district, agency_id)):
        row(agency, in_district)["open_items"] = int(count)
    return dict(sorted(result.items()))


def datacenter_figures(
    conn: sa.Connection, district: str | None = None, agency_id: str | None = None, year: int | None = None
) -> dict[str, dict[str, Any]]:
    """``vehicles_by_agency`` under the names the data center joins (``services/gateway/datacenter.py``):
    ``vehicles_in_service``, ``vehicle_quota``, ``acquisitions``, ``new_energy_acquisitions`` (counts),
    ``vehicle_cost_fen`` (fen), ``vehicle_km`` (km), ``vehicle_gasoline_l``, ``vehicle_diesel_l`` (litres),
    ``vehicle_charging_kwh`` (kWh) — all of ``year`` but the fleet and quota, which are today's."""
    return {
        agency: {
            "vehicles_in_service": f["vehicles_in_service"],
            "vehicle_quota": f["quota"],
            "acquisitions": f["acquisitions"],
            "new_energy_acquisitions": f["new_energy_acquisitions"],
            "vehicle_cost_fen": f["cost_fen"],
            "vehicle_km": f["km"],
            "vehicle_gasoline_l": f["gasoline_l"],
            "vehicle_diesel_l": f["diesel_l"],
            "vehicle_charging_kwh": f["charging_kwh"],
        }
        for agency, f in vehicles_by_agency(conn, district, agency_id, year).items()
    }


def _scoped(query: Any, columns: Any, district: str | None, agency_id: str | None) -> Any:
    if district:
        query = query.where(columns.district == district)
    if agency_id:
        query = query.where(columns.agency_id == agency_id)
    return query


def roll_up(by_agency: dict[str, dict[str, Any]], key: str | None) -> list[dict[str, Any]]:
    """Sum the agency figures per ``key`` (``district``) or for the whole city (``None``), with the derived
    ``cost_per_km`` (yuan, None without km), ``new_energy_share`` (0-1, None without acquisitions) and
    ``meets_new_energy_target`` (30 %)."""
    totals: dict[str, dict[str, Any]] = {}
    for figures in by_agency.values():
        group = totals.setdefault(figures[key] if key else "city", {"agencies": 0, **dict.fromkeys(SUMMED, 0)})
        group["agencies"] += 1
        for name in SUMMED:
            group[name] += figures[name]
    return [{(key or "scope"): name, **derived(group)} for name, group in sorted(totals.items())]


def derived(figures: dict[str, Any]) -> dict[str, Any]:
    """The figures with their cost per km, new-energy share and whether it meets the target."""
    km, acquired, green = figures["km"], figures["acquisitions"], figures["new_energy_acquisitions"]
    return {
        **{k: round(v, 3) if isinstance(v, float) else v for k, v in figures.items()},
        "cost_per_km": round(figures["cost_fen"] / 100 / km, 4) if km else None,
        "new_energy_share": round(green / acquired, 4) if acquired else None,
        "meets_new_energy_target": meets_target(green, acquired),
    }


def open_items(
    conn: sa.Connection, district: str | None = None, agency_id: str | None = None, kind: str | None = None
) -> list[dict[str, Any]]:
    """Open vehicle anomalies and flags, oldest first, for the one list of open findings: ``system``
    (``vehicles``), ``kind`` (``consumption_above_norm``, ``refuel_above_capacity``, ``odometer_rollback``,
    ``repair_outlier``, ``outside_hours`` — a trip on a holiday, weekend or outside working hours without
    approval —, ``without_gps``, ``new_energy_below_target`` — a district's share of the year, listed under the
    agency whose acquisition took it below), ``agency_id``, ``district``, ``opened_on`` (ISO date, Beijing
    time), ``detail`` (one line with the evidence) and ``id`` (the anomaly or flag id)."""
    f = findings.c
    query = _scoped(sa.select(findings).where(f.closed_on.is_(None)), f, district, agency_id)
    if kind:
        query = query.where(f.kind == kind)
    return [
        {
            "system": "vehicles",
            "kind": r.kind,
            "agency_id": r.agency_id,
            "district": r.district,
            "opened_on": r.opened_on,
            "detail": r.detail,
            "id": r.item_id,
        }
        for r in conn.execute(query.order_by(f.opened_on, f.item_id))
    ]
