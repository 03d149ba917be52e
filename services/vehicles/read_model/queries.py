"""Queries over the vehicles read models (the service's answers and the figures the data center builds on)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

from services.vehicles.domain.anomalies import RepairHistory, consumption_per_100km
from services.vehicles.domain.base import SHARE_ACQUISITION_KINDS
from services.vehicles.domain.costs import CostItem, costs_by_kind, year_window
from services.vehicles.domain.new_energy import AcquisitionRecord

from .tables import consumption, costs, findings, quotas, seals, trips, vehicles


def _rows(conn: sa.Connection, query: Any) -> list[dict[str, Any]]:
    return [row._asdict() for row in conn.execute(query)]


def _scoped(query: Any, table: sa.Table, agency_id: str | None, district: str | None) -> Any:
    if agency_id:
        query = query.where(table.c.agency_id == agency_id)
    if district:
        query = query.where(table.c.district == district)
    return query


def fleet(
    conn: sa.Connection,
    agency_id: str | None,
    district: str | None,
    status: str | None,
    today: str,
    limit: int = 200,
    offset: int = 0,
) -> dict[str, Any]:
    """Each agency's quota and vehicles held, and the vehicles with their status today (``sealed`` while a
    seal covers today)."""
    sealed_today = sa.select(seals.c.vehicle_id).where(seals.c.sealed_from <= today, seals.c.sealed_until >= today)
    shown_status = sa.case(
        (vehicles.c.status == "disposed", "disposed"),
        (vehicles.c.vehicle_id.in_(sealed_today), "sealed"),
        else_="in_service",
    ).label("status_today")
    query = _scoped(sa.select(vehicles, shown_status), vehicles, agency_id, district)
    if status:
        query = query.where(shown_status == status)
    listed = _rows(conn, query.order_by(vehicles.c.agency_id, vehicles.c.plate).limit(limit).offset(offset))
    held = _rows(conn, _scoped(sa.select(quotas), quotas, agency_id, district).order_by(quotas.c.agency_id))
    return {"quotas": held, "vehicles": listed}


def vehicle_row(conn: sa.Connection, vehicle_id: str) -> dict[str, Any] | None:
    """One vehicle of the read model, or None."""
    row = conn.execute(sa.select(vehicles).where(vehicles.c.vehicle_id == vehicle_id)).first()
    return row._asdict() if row else None


def seals_of(conn: sa.Connection, vehicle_id: str) -> list[dict[str, Any]]:
    """The seals of a vehicle."""
    return _rows(conn, sa.select(seals).where(seals.c.vehicle_id == vehicle_id).order_by(seals.c.sealed_from))


def cost_items(conn: sa.Connection, vehicle_id: str) -> list[CostItem]:
    """Every cost record of a vehicle as the cost functions take them."""
    c = costs.c
    query = sa.select(c.kind, c.amount_fen, c.occurred_on, c.covers_from, c.covers_to).where(c.vehicle_id == vehicle_id)
    return [CostItem(*row) for row in conn.execute(query)]


def km_by_month(conn: sa.Connection, vehicle_id: str, first_month: str, last_month: str) -> dict[str, float]:
    """Km of the vehicle's completed trips by the month they finished in (Beijing time)."""
    t = trips.c
    month = sa.func.substr(t.finished_on, 1, 7)
    query = (
        sa.select(month.label("month"), sa.func.sum(t.distance_km))
        .where(t.vehicle_id == vehicle_id, t.status == "completed", month >= first_month, month <= last_month)
        .group_by(month)
    )
    return {m: float(km or 0) for m, km in conn.execute(query)}


def year_cost_rows(
    conn: sa.Connection, year: int, agency_id: str | None = None, district: str | None = None
) -> list[dict[str, Any]]:
    """The cost records that touch ``year``: paid in it, or covering part of it (a premium paid the year before),
    with what ``CostItem`` needs to spread them (``services.vehicles.domain.costs.costs_by_kind``)."""
    c = costs.c
    first, last = f"{year:04d}-01-01", f"{year:04d}-12-31"
    touches = sa.or_(
        c.occurred_on.startswith(f"{year:04d}-"),
        sa.and_(c.covers_from.is_not(None), c.covers_from <= last, c.covers_to >= first),
    )
    query = sa.select(
        c.vehicle_id,
        c.agency_id,
        c.district,
        c.kind,
        c.amount_fen,
        c.occurred_on,
        c.covers_from,
        c.covers_to,
        c.energy_kind,
        c.quantity,
        c.designated,
    ).where(touches)
    return _rows(conn, _scoped(query, costs, agency_id, district))


def cost_item(row: dict[str, Any]) -> CostItem:
    """A cost row of ``year_cost_rows`` as the cost functions take it."""
    return CostItem(row["kind"], int(row["amount_fen"]), row["occurred_on"], row["covers_from"], row["covers_to"])


DESIGNABLE_KINDS = ("fuel", "charging", "repair", "maintenance", "insurance")
"""The costs bought at designated vendors or not (定点加油, 定点维修, 定点保险): the designated share's base."""


def fleet_report(conn: sa.Connection, year: int, agency_id: str | None, district: str | None) -> list[dict[str, Any]]:
    """Per vehicle of the year: cost by kind (fen, each spread over the months it covers, as a vehicle's own
    cost endpoint does), km driven on trips, cost per km (yuan), fuel litres and charging kWh (by the day
    bought), the share of designable cost bought at designated vendors, and the consumption per 100 km over the
    distance measured in the year (百公里油耗: litres ÷ km × 100) against the norm (docs/kpis/vehicles.md)."""
    v, t, m = vehicles.c, trips.c, consumption.c
    first, last = year_window(year)
    prefix = f"{year:04d}-"
    listed = _rows(conn, _scoped(sa.select(vehicles), vehicles, agency_id, district).order_by(v.agency_id, v.plate))
    items: dict[str, list[CostItem]] = {}
    designated: dict[str, list[CostItem]] = {}
    quantities: dict[str, dict[str, float]] = {}
    for row in year_cost_rows(conn, year, agency_id, district):
        vid, item = row["vehicle_id"], cost_item(row)
        items.setdefault(vid, []).append(item)
        if row["designated"] and row["kind"] in DESIGNABLE_KINDS:
            designated.setdefault(vid, []).append(item)
        if row["energy_kind"] and row["occurred_on"].startswith(prefix):
            held = quantities.setdefault(vid, {})
            held[row["energy_kind"]] = round(held.get(row["energy_kind"], 0.0) + float(row["quantity"] or 0), 3)
    km = dict(
        conn.execute(
            sa.select(t.vehicle_id, sa.func.sum(t.distance_km))
            .where(t.status == "completed", t.finished_on.startswith(prefix))
            .group_by(t.vehicle_id)
        ).all()
    )
    windows: dict[str, list[tuple[float, float]]] = {}
    for vid, quantity, from_km, to_km in conn.execute(
        sa.select(m.vehicle_id, m.quantity, m.from_km, m.to_km).where(m.measured_on.startswith(prefix))
    ):
        windows.setdefault(vid, []).append((float(quantity), float(to_km) - float(from_km)))
    report = []
    for row in listed:
        vid = row["vehicle_id"]
        spent = costs_by_kind(items.get(vid, []), first, last)
        total = sum(spent.values())
        designable = sum(fen for kind, fen in spent.items() if kind in DESIGNABLE_KINDS)
        at_designated = sum(costs_by_kind(designated.get(vid, []), first, last).values())
        driven = float(km.get(vid) or 0)
        report.append(
            {
                "vehicle_id": vid,
                "plate": row["plate"],
                "agency_id": row["agency_id"],
                "district": row["district"],
                "energy_type": row["energy_type"],
                "status": row["status"],
                "cost_fen": spent,
                "total_cost_fen": total,
                "km": round(driven, 1),
                "cost_per_km": round(total / 100 / driven, 4) if driven > 0 else None,
                "quantities": quantities.get(vid, {}),
                "designated_share": round(at_designated / designable, 4) if designable else None,
                "consumption_per_100km": consumption_per_100km(windows.get(vid, [])),
                "norm_per_100km": row["norm_per_100km"],
            }
        )
    return report


def acquisitions(conn: sa.Connection, year: int | None, district: str | None = None) -> list[AcquisitionRecord]:
    """New and replacement acquisitions (of ``year``; of a district), for the new-energy share."""
    v = vehicles.c
    query = sa.select(v.agency_id, v.district, v.energy_type, v.acquired_on).where(
        v.acquisition_kind.in_(sorted(SHARE_ACQUISITION_KINDS))
    )
    if year is not None:
        query = query.where(v.acquired_on.startswith(f"{year:04d}-"))
    if district:
        query = query.where(v.district == district)
    return [AcquisitionRecord(*row) for row in conn.execute(query)]


def trip_rows(
    conn: sa.Connection,
    district: str | None,
    agency_id: str | None,
    vehicle_id: str | None,
    status: str | None,
    limit: int = 200,
) -> list[dict[str, Any]]:
    """Trips, newest planned first; a district sees its own and those its vehicles serve (city-wide dispatch)."""
    t = trips.c
    query = sa.select(trips)
    if district:
        query = query.where((t.district == district) | (t.vehicle_district == district))
    if agency_id:
        query = query.where((t.agency_id == agency_id) | (t.vehicle_agency_id == agency_id))
    if vehicle_id:
        query = query.where(t.vehicle_id == vehicle_id)
    if status:
        query = query.where(t.status == status)
    return _rows(conn, query.order_by(t.planned_start.desc()).limit(limit))


def finding_rows(
    conn: sa.Connection,
    district: str | None,
    agency_id: str | None,
    vehicle_id: str | None = None,
    kind: str | None = None,
    include_closed: bool = False,
) -> list[dict[str, Any]]:
    """Anomalies and flags, oldest first, with their evidence; open ones unless ``include_closed``."""
    f = findings.c
    query = _scoped(sa.select(findings), findings, agency_id, district)
    if vehicle_id:
        query = query.where(f.vehicle_id == vehicle_id)
    if kind:
        query = query.where(f.kind == kind)
    if not include_closed:
        query = query.where(f.closed_on.is_(None))
    found = _rows(conn, query.order_by(f.opened_on, f.item_id))
    for row in found:
        row["evidence"] = json.loads(row["evidence"] or "{}")
    return found


def repair_histories(conn: sa.Connection, period: str, district: str | None) -> dict[str, RepairHistory]:
    """Every vehicle in service during ``period`` (``YYYY`` or ``YYYY-MM``; of a district) with its repair and
    maintenance fen and visits in it — zeros included, so the median is the fleet's."""
    first, last = (f"{period}-01-01", f"{period}-12-31") if len(period) == 4 else (f"{period}-01", f"{period}-31")
    v, c = vehicles.c, costs.c
    fleet_query = sa.select(v.vehicle_id).where(
        v.acquired_on <= last, sa.or_(v.disposed_on.is_(None), v.disposed_on >= first)
    )
    if district:
        fleet_query = fleet_query.where(v.district == district)
    history = {vid: RepairHistory(0, 0) for vid in conn.execute(fleet_query).scalars()}
    spent = (
        sa.select(c.vehicle_id, sa.func.sum(c.amount_fen), sa.func.count())
        .where(c.kind.in_(("repair", "maintenance")), c.occurred_on >= first, c.occurred_on <= last)
        .group_by(c.vehicle_id)
    )
    for vid, fen, visits in conn.execute(spent):
        if vid in history:
            history[vid] = RepairHistory(int(fen or 0), int(visits))
    return history


def trips_awaiting_gps(conn: sa.Connection, finished_before_utc: str) -> list[str]:
    """Completed trips without any GPS point that finished before the cut-off and are not flagged yet."""
    t, f = trips.c, findings.c
    flagged = sa.select(f.trip_id).where(f.kind == "without_gps", f.trip_id.is_not(None))
    query = sa.select(t.trip_id).where(
        t.status == "completed", t.gps_points == 0, t.finished_utc < finished_before_utc, t.trip_id.not_in(flagged)
    )
    return list(conn.execute(query.order_by(t.finished_utc).limit(5000)).scalars())


def tracks_finished(conn: sa.Connection, before_utc: str | None = None) -> list[tuple[str, str]]:
    """Completed trips with GPS points, ``(trip_id, finished_utc)`` oldest first: those that finished before
    ``before_utc`` when given (whose track is past retention), else all."""
    t = trips.c
    query = sa.select(t.trip_id, t.finished_utc).where(t.status == "completed", t.gps_points > 0)
    if before_utc is not None:
        query = query.where(t.finished_utc < before_utc)
    return [(row.trip_id, row.finished_utc) for row in conn.execute(query.order_by(t.finished_utc, t.trip_id))]


def vehicles_to_seal(
    conn: sa.Connection, agency_id: str | None, district: str | None, exempt: Iterable[str]
) -> list[str]:
    """Vehicles in service of an agency or a district, but those of the exempt use categories."""
    v = vehicles.c
    query = _scoped(sa.select(v.vehicle_id), vehicles, agency_id, district).where(
        v.status == "in_service", v.use_category.not_in(list(exempt))
    )
    return list(conn.execute(query.order_by(v.vehicle_id)).scalars())
