"""The data center's office-space figures: the office-space read model (staff, rooms, allocations,
findings), kept in the gateway database too, and the per-agency, district and city space figures."""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa

from services.common.projector import Projection
from services.gateway.views.agencies import agencies_table
from services.office_space.views import OfficeSpaceViews, allocations, buildings, findings, rooms, staff

PROJECTIONS: list[Projection] = [OfficeSpaceViews()]
MIGRATIONS = ("office_space_views",)


def space_by_agency(
    conn: sa.Connection, district: str | None = None, agency_id: str | None = None
) -> list[dict[str, Any]]:
    """Per agency: headcount, staff on post, floor area of its buildings, office area, area per person against
    the standard, idle rooms."""
    a = agencies_table.c
    floor = (
        sa.select(buildings.c.agency_id, sa.func.sum(buildings.c.gross_floor_area_m2).label("floor_m2"))
        .group_by(buildings.c.agency_id)
        .subquery()
    )
    staff_count = sa.select(staff.c.agency_id, sa.func.count().label("n")).group_by(staff.c.agency_id).subquery()
    office = (
        sa.select(
            rooms.c.agency_id,
            sa.func.sum(rooms.c.usable_area_m2).label("office_m2"),
            sa.func.sum(sa.case((rooms.c.idle, 1), else_=0)).label("idle_rooms"),
            sa.func.sum(sa.case((rooms.c.idle, rooms.c.usable_area_m2), else_=0)).label("idle_m2"),
        )
        .where(rooms.c.use == "office")
        .group_by(rooms.c.agency_id)
        .subquery()
    )
    standard = (
        sa.select(
            allocations.c.agency_id,
            sa.func.sum(allocations.c.standard_m2).label("standard_m2"),
            sa.func.sum(sa.case((allocations.c.over_standard, 1), else_=0)).label("over_standard"),
        )
        .group_by(allocations.c.agency_id)
        .subquery()
    )
    open_findings = (
        sa.select(findings.c.agency_id, sa.func.count().label("n"))
        .where(findings.c.closed_on.is_(None))
        .group_by(findings.c.agency_id)
        .subquery()
    )
    query = (
        sa.select(
            a.agency_id,
            a.name,
            a.district,
            a.kind,
            a.admin_level,
            a.authorised_headcount,
            sa.func.coalesce(staff_count.c.n, 0).label("staff_on_post"),
            sa.func.coalesce(floor.c.floor_m2, 0.0).label("floor_area_m2"),
            sa.func.coalesce(office.c.office_m2, 0.0).label("office_area_m2"),
            sa.func.coalesce(office.c.idle_rooms, 0).label("idle_rooms"),
            sa.func.coalesce(office.c.idle_m2, 0.0).label("idle_area_m2"),
            sa.func.coalesce(standard.c.standard_m2, 0.0).label("standard_area_m2"),
            sa.func.coalesce(standard.c.over_standard, 0).label("over_standard"),
            sa.func.coalesce(open_findings.c.n, 0).label("open_findings"),
        )
        .select_from(agencies_table)
        .outerjoin(staff_count, staff_count.c.agency_id == a.agency_id)
        .outerjoin(floor, floor.c.agency_id == a.agency_id)
        .outerjoin(office, office.c.agency_id == a.agency_id)
        .outerjoin(standard, standard.c.agency_id == a.agency_id)
        .outerjoin(open_findings, open_findings.c.agency_id == a.agency_id)
        .order_by(a.district, a.name)
    )
    if district:
        query = query.where(a.district == district)
    if agency_id:
        query = query.where(a.agency_id == agency_id)
    return [_per_person(row._asdict()) for row in conn.execute(query)]


def _per_person(row: dict[str, Any]) -> dict[str, Any]:
    people = row["staff_on_post"]
    row["area_per_person_m2"] = round(row["office_area_m2"] / people, 2) if people else None
    return row


def roll_up(rows: list[dict[str, Any]], key: str | None) -> list[dict[str, Any]]:
    """Sum agency figures per ``key`` (``district``) or for the whole city (``None``)."""
    totals: dict[str, dict[str, Any]] = {}
    summed = (
        "authorised_headcount",
        "staff_on_post",
        "floor_area_m2",
        "office_area_m2",
        "idle_rooms",
        "idle_area_m2",
        "standard_area_m2",
        "over_standard",
        "open_findings",
    )
    for row in rows:
        group = totals.setdefault(row[key] if key else "city", {"agencies": 0, **dict.fromkeys(summed, 0)})
        group["agencies"] += 1
        for name in summed:
            group[name] += row[name] or 0
    result = []
    for name, group in sorted(totals.items()):
        people = group["staff_on_post"]
        group["area_per_person_m2"] = round(group["office_area_m2"] / people, 2) if people else None
        result.append({(key or "scope"): name, **group})
    return result


def open_items(
    conn: sa.Connection, district: str | None = None, agency_id: str | None = None, kind: str | None = None
) -> list[dict[str, Any]]:
    """Open office-space findings (rooms held by departed staff, unapproved leases, inspection findings,
    repair changes outside the plan) for the data center's one list: ``system``, ``kind``, ``id``,
    ``agency_id``, ``district``, ``opened_on``, ``deadline`` (a rectification deadline, if any), ``detail``."""
    f = findings.c
    query = sa.select(findings).where(f.closed_on.is_(None))
    for column, value in ((f.district, district), (f.agency_id, agency_id), (f.kind, kind)):
        if value:
            query = query.where(column == value)
    return [
        {
            "system": "office_space",
            "kind": row.kind,
            "id": row.finding_key,
            "agency_id": row.agency_id,
            "district": row.district,
            "opened_on": row.opened_on[:10],
            "deadline": row.deadline,
            "detail": row.description,
        }
        for row in conn.execute(query.order_by(f.opened_on))
    ]


def open_findings_list(
    conn: sa.Connection, district: str | None, agency_id: str | None, kind: str | None, min_age_days: int, today: str
) -> list[dict[str, Any]]:
    """Open findings of every system, filterable by district, agency, kind and age (days since opened)."""
    f = findings.c
    query = sa.select(findings, sa.literal("office_space").label("system")).where(f.closed_on.is_(None))
    for column, value in ((f.district, district), (f.agency_id, agency_id), (f.kind, kind)):
        if value:
            query = query.where(column == value)
    rows = [row._asdict() for row in conn.execute(query.order_by(f.opened_on))]
    day = date.fromisoformat(today)
    for row in rows:
        row["age_days"] = (day - date.fromisoformat(row["opened_on"][:10])).days
    return [r for r in rows if r["age_days"] >= min_age_days]
