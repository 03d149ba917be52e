"""Queries over the office-space read models (the service's answers and the figures the data center builds on)."""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from services.common.base.db import fetch
from services.office_space.domain import figures
from services.office_space.domain.inspections import overdue

from .tables import allocations, buildings, findings, rooms, staff


def _scoped(query: Any, table: sa.Table, agency_id: str | None, district: str | None) -> Any:
    if agency_id:
        query = query.where(table.c.agency_id == agency_id)
    if district:
        query = query.where(table.c.district == district)
    return query


def _rows(conn: sa.Connection, query: Any) -> list[dict[str, Any]]:
    return [row._asdict() for row in conn.execute(query)]


def space_sums(conn: sa.Connection, agency_id: str | None, district: str | None) -> dict[str, dict[str, Any]]:
    """Per agency of the scope, the summable space quantities: the database counts the facts (per office room
    its occupants and those of them on post at its agency; staff on post per rank; over-standard staff on post)
    and ``figures.agency_sums`` — the one definition, for the report and the data center alike — turns them
    into the figures' quantities."""
    s, a, r = staff.c, allocations.c, rooms.c
    on_post = sa.and_(s.person_id == a.person_id, s.agency_id == r.agency_id)
    per_room = (
        sa.select(r.agency_id, r.usable_area_m2, sa.func.count(a.person_id), sa.func.count(s.person_id))
        .select_from(rooms.outerjoin(allocations, a.room_id == r.room_id).outerjoin(staff, on_post))
        .where(r.use == "office")
        .group_by(r.room_id, r.agency_id, r.usable_area_m2)
    )
    by_rank = sa.select(s.agency_id, s.rank, sa.func.count()).group_by(s.agency_id, s.rank)
    held_on_post = sa.and_(s.person_id == a.person_id, s.agency_id == a.agency_id)
    over = (
        sa.select(
            a.agency_id,
            sa.func.count(),
            sa.func.sum(sa.case((a.exception_approved_by.is_not(None), 1), else_=0)),
        )
        .select_from(allocations.join(staff, held_on_post))
        .where(a.over_standard.is_(True))
        .group_by(a.agency_id)
    )
    return figures.agency_sums(
        (
            figures.OfficeRoom(agency, float(area), int(occupants), int(present))
            for agency, area, occupants, present in conn.execute(_scoped(per_room, rooms, agency_id, district))
        ),
        ((agency, rank, int(n)) for agency, rank, n in conn.execute(_scoped(by_rank, staff, agency_id, district))),
        (
            figures.OverStandard(agency, int(n), int(approved or 0))
            for agency, n, approved in conn.execute(_scoped(over, allocations, agency_id, district))
        ),
    )


def space_report(conn: sa.Connection, agency_id: str | None, district: str | None) -> list[dict[str, Any]]:
    """Per agency: the space figures (``figures.space_figures``) under their catalogue names."""
    return [
        {"agency_id": agency, **figures.space_figures(sums)}
        for agency, sums in sorted(space_sums(conn, agency_id, district).items())
    ]


def over_standard(conn: sa.Connection, agency_id: str | None, district: str | None) -> list[dict[str, Any]]:
    """Staff on post whose share of their room exceeds their rank standard (超标准配置), with who approved the
    exception, if anyone did (an approved exception is still over-standard)."""
    on_post = sa.and_(staff.c.person_id == allocations.c.person_id, staff.c.agency_id == allocations.c.agency_id)
    query = _scoped(
        sa.select(allocations).join(staff, on_post).where(allocations.c.over_standard.is_(True)),
        allocations,
        agency_id,
        district,
    )
    return _rows(conn, query.order_by(allocations.c.agency_id, allocations.c.room_id, allocations.c.person_id))


def idle_rooms(conn: sa.Connection, agency_id: str | None, district: str | None) -> list[dict[str, Any]]:
    """Idle office rooms (闲置), available for adjustment."""
    query = _scoped(sa.select(rooms).where(rooms.c.idle.is_(True)), rooms, agency_id, district)
    return _rows(conn, query.order_by(rooms.c.district, rooms.c.room_id))


def open_findings(
    conn: sa.Connection, agency_id: str | None, district: str | None, today: date, overdue_only: bool
) -> list[dict[str, Any]]:
    """Open findings (rooms of departed staff, unapproved leases, inspection findings); overdue ones marked."""
    query = _scoped(sa.select(findings).where(findings.c.closed_on.is_(None)), findings, agency_id, district)
    found = _rows(conn, query.order_by(findings.c.opened_on))
    late = {f["finding_key"]: f["days_overdue"] for f in overdue([f for f in found if f["deadline"]], today)}
    for finding in found:
        finding["days_overdue"] = late.get(finding["finding_key"], 0)
    return [f for f in found if f["days_overdue"] > 0] if overdue_only else found


def buildings_located(conn: sa.Connection, agency_id: str | None, district: str | None) -> list[dict[str, Any]]:
    """Buildings with their registration and location (null when not given), by id."""
    query = _scoped(sa.select(buildings), buildings, agency_id, district)
    return _rows(conn, query.order_by(buildings.c.building_id))


def staff_on_post(conn: sa.Connection, agency_id: str | None, district: str | None) -> list[dict[str, Any]]:
    """The persons on post (of an agency or a district), by person id; their names as stored: tokens."""
    columns = (staff.c.person_id, staff.c.agency_id, staff.c.district, staff.c.name, staff.c.rank)
    query = _scoped(sa.select(*columns), staff, agency_id, district)
    return _rows(conn, query.order_by(staff.c.person_id))


def buildings_of(conn: sa.Connection) -> list[str]:
    """Every building with rooms (for the idle-room detector)."""
    return list(conn.execute(sa.select(rooms.c.building_id).distinct()).scalars())


_AGENCY_OF_PERSON = sa.select(staff.c.agency_id, staff.c.district).where(staff.c.person_id == sa.bindparam("person_id"))


def agency_of_person(engine: Engine, person_id: str) -> tuple[str, str | None] | None:
    """The agency (and its district) where the read model has the person on post, if any.

    Read as ``fetch`` reads (no transaction: on SQLite a ``Connection`` would begin one ``IMMEDIATE``, taking
    the write lock the store's appends and the projector wait for): asked for every person posted who has no
    stream yet, on the command's path."""
    _, rows = fetch(engine, _AGENCY_OF_PERSON, {"person_id": person_id})
    return None if not rows else (str(rows[0][0]), rows[0][1])


def buildings_where(conn: sa.Connection, person_id: str) -> list[str]:
    """The buildings where a person holds rooms."""
    query = sa.select(allocations.c.building_id).where(allocations.c.person_id == person_id).distinct()
    return list(conn.execute(query).scalars())
