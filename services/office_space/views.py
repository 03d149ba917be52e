"""The office-space service's read models (in its own database, from its own topic) and its queries:
area per person against the standard, the over-standard list, idle rooms, open and overdue findings."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from services.common import sql
from services.common.clock import china_date
from services.common.db import register_migrations
from services.common.events import Envelope
from services.common.projector import Projection
from services.common.settings import topic_for
from services.office_space.domain import figures, overdue

register_migrations("office_space_views", Path(__file__).parent / "migrations")

metadata = sa.MetaData()
buildings = sa.Table(
    "os_buildings",
    metadata,
    sa.Column("building_id", sa.String(64), primary_key=True),
    sa.Column("agency_id", sa.String(64)),
    sa.Column("district", sa.String(6)),
    sa.Column("name", sa.String(200)),
    sa.Column("gross_floor_area_m2", sa.Float()),
    sa.Column("address", sa.Text()),
    sa.Column("longitude", sa.Float()),
    sa.Column("latitude", sa.Float()),
)
staff = sa.Table(
    "os_staff",
    metadata,
    sa.Column("person_id", sa.String(64), primary_key=True),
    sa.Column("agency_id", sa.String(64)),
    sa.Column("name", sa.String(100)),
    sa.Column("rank", sa.String(40)),
    sa.Column("district", sa.String(6)),
    sa.Column("recorded_at", sa.String(40)),
)
rooms = sa.Table(
    "os_rooms",
    metadata,
    sa.Column("room_id", sa.String(64), primary_key=True),
    sa.Column("building_id", sa.String(64)),
    sa.Column("agency_id", sa.String(64)),
    sa.Column("district", sa.String(6)),
    sa.Column("number", sa.String(20)),
    sa.Column("usable_area_m2", sa.Float()),
    sa.Column("use", sa.String(20)),
    sa.Column("idle", sa.Boolean()),
    sa.Column("idle_since", sa.String(40)),
)
allocations = sa.Table(
    "os_allocations",
    metadata,
    sa.Column("room_id", sa.String(64), primary_key=True),
    sa.Column("person_id", sa.String(64), primary_key=True),
    sa.Column("building_id", sa.String(64)),
    sa.Column("agency_id", sa.String(64)),
    sa.Column("district", sa.String(6)),
    sa.Column("rank", sa.String(40)),
    sa.Column("area_per_person_m2", sa.Float()),
    sa.Column("standard_m2", sa.Float()),
    sa.Column("over_standard", sa.Boolean()),
    sa.Column("exception_approved_by", sa.String(200)),
)
findings = sa.Table(
    "os_findings",
    metadata,
    sa.Column("finding_key", sa.String(200), primary_key=True),
    sa.Column("kind", sa.String(40)),
    sa.Column("agency_id", sa.String(64)),
    sa.Column("district", sa.String(6)),
    sa.Column("description", sa.String(2000)),
    sa.Column("opened_on", sa.String(40)),
    sa.Column("deadline", sa.String(40)),
    sa.Column("closed_on", sa.String(40)),
)


class OfficeSpaceViews(Projection):
    """Staff, rooms, allocations and findings, kept from the office-space events."""

    topics = (topic_for("office_space"),)
    tables = (buildings, staff, rooms, allocations, findings)
    _post_of = sa.select(staff.c.agency_id, staff.c.recorded_at).where(staff.c.person_id == sa.bindparam("person_id"))

    def on_BuildingRegistered(self, conn: sa.Connection, env: Envelope) -> None:
        p = env.payload
        sql.insert(
            conn,
            buildings,
            {k: p[k] for k in ("building_id", "agency_id", "district", "name", "address", "gross_floor_area_m2")}
            | {"longitude": p.get("longitude"), "latitude": p.get("latitude")},
        )

    def on_StaffPosted(self, conn: sa.Connection, env: Envelope) -> None:
        p = env.payload
        row = {k: p[k] for k in ("person_id", "agency_id", "name", "rank")}
        # A transfer's departure from the old agency and post at the new one are on two agencies' streams (maybe
        # two partitions), so they may arrive in either order: of two posts of one person the later-recorded one
        # stands, and a departure removes only the post at its own agency.
        held = conn.execute(self._post_of, {"person_id": p["person_id"]}).first()
        if held is not None and held.agency_id != p["agency_id"] and (held.recorded_at or "") > env.recorded_at:
            return
        sql.delete(conn, staff, {"person_id": p["person_id"]})
        sql.insert(conn, staff, {**row, "district": env.district, "recorded_at": env.recorded_at})

    def on_StaffDeparted(self, conn: sa.Connection, env: Envelope) -> None:
        p = env.payload
        sql.delete(conn, staff, {"person_id": p["person_id"], "agency_id": p["agency_id"]})

    def on_RoomAdded(self, conn: sa.Connection, env: Envelope) -> None:
        p = env.payload
        row = {k: p[k] for k in ("room_id", "building_id", "agency_id", "number", "usable_area_m2", "use")}
        sql.insert(conn, rooms, {**row, "district": env.district, "idle": False})

    def on_RoomAllocated(self, conn: sa.Connection, env: Envelope) -> None:
        p = env.payload
        keys = (
            "room_id",
            "person_id",
            "building_id",
            "agency_id",
            "rank",
            "area_per_person_m2",
            "standard_m2",
            "over_standard",
            "exception_approved_by",
        )
        room = {"room_id": p["room_id"]}
        if p.get("occupants") is None:  # a v1 event: everyone in the room now has the smaller area
            sql.update(conn, allocations, room, {"area_per_person_m2": p["area_per_person_m2"]})
        sql.insert(conn, allocations, {**{k: p[k] for k in keys}, "district": env.district})
        self._rejudge(conn, p["room_id"], p.get("occupants"), p["allocated_on"])
        sql.update(conn, rooms, room, {"idle": False, "idle_since": None})

    def on_RoomReleased(self, conn: sa.Connection, env: Envelope) -> None:
        p = env.payload
        sql.delete(conn, allocations, {"room_id": p["room_id"], "person_id": p["person_id"]})
        for kind in ("departed", "share"):
            key = {"finding_key": f"{kind}:{p['room_id']}:{p['person_id']}", "closed_on": None}
            sql.update(conn, findings, key, {"closed_on": p["released_on"]})
        self._rejudge(conn, p["room_id"], p.get("occupants"), p["released_on"])

    def on_ShareRoseAboveStandard(self, conn: sa.Connection, env: Envelope) -> None:
        p = env.payload
        self._open(
            conn,
            f"share:{p['room_id']}:{p['person_id']}",
            "over_standard",
            p["agency_id"],
            env.district,
            f"room {p['room_id']}: {p['person_id']} now holds {p['share_m2']} m² against {p['standard_m2']} m²",
            p["opened_on"],
            None,
        )

    def _rejudge(self, conn: sa.Connection, room_id: str, occupants: list[dict[str, Any]] | None, day: str) -> None:
        """Replace every occupant's share and verdict with the re-judgement the event carries, and close the
        share finding of anyone now within standard (v1 events carry none)."""
        for share in occupants or []:
            key = {"room_id": room_id, "person_id": share["person_id"]}
            values = {
                "area_per_person_m2": share["share_m2"],
                "over_standard": share["over_standard"],
                "exception_approved_by": share["exception_approved_by"],
            }
            sql.update(conn, allocations, key, values)
            if not share["over_standard"]:
                finding = {"finding_key": f"share:{room_id}:{share['person_id']}", "closed_on": None}
                sql.update(conn, findings, finding, {"closed_on": day})

    def on_RoomBecameIdle(self, conn: sa.Connection, env: Envelope) -> None:
        p = env.payload
        sql.update(conn, rooms, {"room_id": p["room_id"]}, {"idle": True, "idle_since": p["vacant_since"]})

    def on_RoomTransferred(self, conn: sa.Connection, env: Envelope) -> None:
        p = env.payload
        sql.update(conn, rooms, {"room_id": p["room_id"]}, {"agency_id": p["to_agency_id"]})

    def on_RoomHeldByDepartedStaff(self, conn: sa.Connection, env: Envelope) -> None:
        p = env.payload
        self._open(
            conn,
            f"departed:{p['room_id']}:{p['person_id']}",
            "departed_staff",
            p["agency_id"],
            env.district,
            f"room {p['room_id']} still held by {p['person_id']} ({p['reason']})",
            p["departed_on"],
            None,
        )

    def on_UnapprovedLeaseFound(self, conn: sa.Connection, env: Envelope) -> None:
        p = env.payload
        self._open(
            conn,
            f"lease:{p['lease_id']}",
            "unapproved_lease",
            p["agency_id"],
            env.district,
            f"rooms {', '.join(p['room_ids'])} let to {p['counter_party']} without approval",
            p["found_on"],
            None,
        )

    def on_LeaseEnded(self, conn: sa.Connection, env: Envelope) -> None:
        p = env.payload
        sql.update(conn, findings, {"finding_key": f"lease:{p['lease_id']}"}, {"closed_on": p["ended_on"]})

    def on_InspectionFindingRecorded(self, conn: sa.Connection, env: Envelope) -> None:
        p = env.payload
        self._open(
            conn,
            f"inspection:{p['inspection_id']}:{p['finding_id']}",
            p["kind"],
            env.agency_id or "",
            env.district,
            p["description"],
            p.get("found_on") or china_date(env.recorded_at),  # the inspection's day; v1: the day recorded
            p["deadline"],
        )

    def on_FindingRectified(self, conn: sa.Connection, env: Envelope) -> None:
        p = env.payload
        key = f"inspection:{p['inspection_id']}:{p['finding_id']}"
        sql.update(conn, findings, {"finding_key": key}, {"closed_on": p["rectified_on"]})

    def _open(
        self,
        conn: sa.Connection,
        key: str,
        kind: str,
        agency_id: str,
        district: str | None,
        text: str,
        opened_on: str,
        deadline: str | None,
    ) -> None:
        # a finding closed and raised again (a person posted again, holding the room again) reopens its row
        sql.delete(conn, findings, {"finding_key": key})
        sql.insert(
            conn,
            findings,
            {
                "finding_key": key,
                "kind": kind,
                "agency_id": agency_id,
                "district": district or "",
                "description": text,
                "opened_on": opened_on,
                "deadline": deadline,
            },
        )


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


def buildings_of(conn: sa.Connection) -> list[str]:
    """Every building with rooms (for the idle-room detector)."""
    return list(conn.execute(sa.select(rooms.c.building_id).distinct()).scalars())


def agency_of_person(conn: sa.Connection, person_id: str) -> tuple[str, str | None] | None:
    """The agency (and its district) where the read model has the person on post, if any."""
    query = sa.select(staff.c.agency_id, staff.c.district).where(staff.c.person_id == person_id)
    row = conn.execute(query).first()
    return None if row is None else (str(row.agency_id), row.district)


def buildings_where(conn: sa.Connection, person_id: str) -> list[str]:
    """The buildings where a person holds rooms."""
    query = sa.select(allocations.c.building_id).where(allocations.c.person_id == person_id).distinct()
    return list(conn.execute(query).scalars())
