"""The data center's office-space figures: the office-space read model (staff, rooms, allocations,
findings), kept in the gateway database too, and the per-agency summable space quantities (the data center
sums them per district and city and derives the figures with ``figures.space_figures``)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from services.common.read.projector import Projection
from services.gateway.views.agencies import agencies_table
from services.office_space.read_model import SPACE_SUMS, OfficeSpaceViews, buildings, findings, space_sums

PROJECTIONS: list[Projection] = [OfficeSpaceViews()]
MIGRATIONS = ("office_space_views",)


def space_by_agency(
    conn: sa.Connection, district: str | None = None, agency_id: str | None = None
) -> list[dict[str, Any]]:
    """Per agency of the master data: the gross floor area of its buildings (the denominator of energy per
    m²), its open findings, and the summable space quantities — computed by ``views.space_sums`` and
    ``figures.agency_sums``, the one definition the office-space report uses too (docs/kpis/office_space.md)."""
    a = agencies_table.c
    floor = (
        sa.select(buildings.c.agency_id, sa.func.sum(buildings.c.gross_floor_area_m2).label("floor_m2"))
        .group_by(buildings.c.agency_id)
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
            sa.func.coalesce(floor.c.floor_m2, 0.0).label("floor_area_m2"),
            sa.func.coalesce(open_findings.c.n, 0).label("open_findings"),
        )
        .select_from(agencies_table)
        .outerjoin(floor, floor.c.agency_id == a.agency_id)
        .outerjoin(open_findings, open_findings.c.agency_id == a.agency_id)
        .order_by(a.district, a.name)
    )
    if district:
        query = query.where(a.district == district)
    if agency_id:
        query = query.where(a.agency_id == agency_id)
    masters = [row._asdict() for row in conn.execute(query)]
    wanted = {row["agency_id"] for row in masters}
    # the agencies' own space (a room is scoped by its agency, wherever its building stands)
    sums = space_sums(conn, agency_id, None)
    empty = dict.fromkeys(SPACE_SUMS, 0)
    return [{**row, **sums.get(row["agency_id"], empty)} for row in masters if row["agency_id"] in wanted]


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
