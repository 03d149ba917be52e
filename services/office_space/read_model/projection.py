"""The projection that keeps the office-space read models from the service's own events."""

from __future__ import annotations

from typing import Any, NamedTuple

import sqlalchemy as sa

from services.common.base.settings import topic_for
from services.common.kernel.clock import china_date
from services.common.kernel.events import Envelope
from services.common.read import sql
from services.common.read.projector import Projection

from .tables import allocations, buildings, findings, rooms, staff


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

    _posts = sa.select(staff.c.person_id, staff.c.agency_id, staff.c.recorded_at)
    _unpost = staff.delete().where(staff.c.person_id == sa.bindparam("person_id"))

    def on_StaffPosted(self, conn: sa.Connection, env: Envelope) -> None:
        p = env.payload
        held = conn.execute(self._post_of, {"person_id": p["person_id"]}).first()
        if _stands_elsewhere(held, env):
            return
        sql.delete(conn, staff, {"person_id": p["person_id"]})
        sql.insert(conn, staff, _post(env))

    def many_StaffPosted(self, conn: sa.Connection, envs: list[Envelope]) -> None:
        """Staff posted one after another (an agency's staff): one read, one delete and one insert for them all.
        Each post is of another person, so each is applied as ``on_StaffPosted`` would apply it after the
        others; a run posting someone twice is applied one event at a time."""
        people = [env.payload["person_id"] for env in envs]
        if len(set(people)) < len(people):
            for env in envs:
                self.on_StaffPosted(conn, env)
            return
        held = {row[0]: _Post(*row[1:]) for row in sql.fetch_in(conn, self._posts, staff.c.person_id, people)}
        posts = [env for env in envs if not _stands_elsewhere(held.get(env.payload["person_id"]), env)]
        sql.run(conn, self._unpost, [{"person_id": env.payload["person_id"]} for env in posts])
        sql.insert(conn, staff, [_post(env) for env in posts])

    def on_StaffDeparted(self, conn: sa.Connection, env: Envelope) -> None:
        p = env.payload
        sql.delete(conn, staff, {"person_id": p["person_id"], "agency_id": p["agency_id"]})

    def on_RoomAdded(self, conn: sa.Connection, env: Envelope) -> None:
        sql.insert(conn, rooms, _room(env))

    def on_RoomAllocated(self, conn: sa.Connection, env: Envelope) -> None:
        p = env.payload
        room = {"room_id": p["room_id"]}
        occupants = p.get("occupants")
        if occupants is None:  # a v1 event: everyone in the room now has the smaller area
            sql.update(conn, allocations, room, {"area_per_person_m2": p["area_per_person_m2"]})
        # the newcomer's re-judged share goes into the insert rather than into an update of the row just inserted
        # (which would leave the same values): one statement fewer per allocation
        row = _allocation(env)
        own = [share for share in occupants or [] if share["person_id"] == p["person_id"]]
        if own:
            row |= {column: own[-1][field] for column, field in _JUDGED}
        sql.insert(conn, allocations, row)
        others = [share for share in occupants or [] if share["person_id"] != p["person_id"]]
        self._rejudge(conn, p["room_id"], others, p["allocated_on"])
        for share in own:
            if not share["over_standard"]:
                finding = {"finding_key": f"share:{p['room_id']}:{share['person_id']}", "closed_on": None}
                sql.update(conn, findings, finding, {"closed_on": p["allocated_on"]})
        sql.update(conn, rooms, room, {"idle": False, "idle_since": None})

    def many_rooms(self, conn: sa.Connection, envs: list[Envelope]) -> None:
        """Rooms added and allocated one after another (a building's rooms and their occupants, in turn): one
        insert of the rooms, one of the allocations, then one ``executemany`` each for the re-judged shares, the
        share findings closed and the rooms marked occupied, each in the events' order.

        The tables end as the events applied one by one leave them: no event of the run changes a room or an
        allocation before its insert but a re-judgement, and every share is set by an update in the events'
        order, the newcomer's by its own event after that insert, so the last event naming an occupant sets its
        share, as one by one (a room allocated before it is added ends occupied either way: an added room is not
        idle); findings are only closed, by the first event that closes each. A run with a v1 allocation (which
        changes the whole room's area) or one whose re-judgement does not name its newcomer is applied one event
        at a time."""
        allocated = [env for env in envs if env.event_type == "RoomAllocated"]
        for env in allocated:
            occupants = env.payload.get("occupants")
            if occupants is None or all(share["person_id"] != env.payload["person_id"] for share in occupants):
                for one in envs:
                    self.apply(conn, one)
                return
        sql.insert(conn, rooms, [_room(env) for env in envs if env.event_type == "RoomAdded"])
        sql.insert(conn, allocations, [_allocation(env) for env in allocated])
        shares = [(env, share) for env in allocated for share in env.payload["occupants"]]
        sql.run(
            conn,
            _SET_SHARE,
            [
                {"b_room_id": env.payload["room_id"], "b_person_id": share["person_id"]}
                | {column: share[field] for column, field in _JUDGED}
                for env, share in shares
            ],
        )
        closing = [
            {"b_finding_key": f"share:{env.payload['room_id']}:{share['person_id']}"}
            | {"closed_on": env.payload["allocated_on"]}
            for env, share in shares
            if not share["over_standard"]
        ]
        sql.run(conn, _CLOSE_SHARE_FINDING, closing)
        sql.run(conn, _OCCUPIED, [{"b_room_id": env.payload["room_id"]} for env in allocated])

    many_RoomAdded = many_RoomAllocated = many_rooms  # noqa: N815 (the projector looks up many_<EventType>)
    """One batch form for both (``Projection``: consecutive events whose types share a batch form make one run): a
    building's rooms are added and allocated in turn, so the runs of either type alone are of one event."""

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
            sql.update(conn, allocations, key, {column: share[field] for column, field in _JUDGED})
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


_JUDGED = (
    ("area_per_person_m2", "share_m2"),
    ("over_standard", "over_standard"),
    ("exception_approved_by", "exception_approved_by"),
)
"""The allocation columns a re-judgement sets, and the fields of an occupant's share they come from."""
_SET_SHARE = (
    allocations.update()
    .where(allocations.c.room_id == sa.bindparam("b_room_id"), allocations.c.person_id == sa.bindparam("b_person_id"))
    .values({column: sa.bindparam(column) for column, _ in _JUDGED})
)
_CLOSE_SHARE_FINDING = (
    findings.update()
    .where(findings.c.finding_key == sa.bindparam("b_finding_key"), findings.c.closed_on.is_(None))
    .values(closed_on=sa.bindparam("closed_on"))
)
_OCCUPIED = rooms.update().where(rooms.c.room_id == sa.bindparam("b_room_id")).values(idle=False, idle_since=None)


def _room(env: Envelope) -> dict[str, Any]:
    p = env.payload
    row = {k: p[k] for k in ("room_id", "building_id", "agency_id", "number", "usable_area_m2", "use")}
    return {**row, "district": env.district, "idle": False}


def _allocation(env: Envelope) -> dict[str, Any]:
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
    return {**{k: p[k] for k in keys}, "district": env.district}


class _Post(NamedTuple):
    """A person's post as ``many_StaffPosted`` reads it (``on_StaffPosted`` reads a row of the same names)."""

    agency_id: str | None
    recorded_at: str | None


def _stands_elsewhere(held: Any, env: Envelope) -> bool:
    """Whether the post ``held`` (a row of ``staff``, None if the person holds none) stands against the post
    ``env``. A transfer's departure from the old agency and post at the new one are on two agencies' streams
    (maybe two partitions), so they may arrive in either order: of two posts of one person the later-recorded
    one stands, and a departure removes only the post at its own agency."""
    return (
        held is not None and held.agency_id != env.payload["agency_id"] and (held.recorded_at or "") > env.recorded_at
    )


def _post(env: Envelope) -> dict[str, Any]:
    p = env.payload
    row = {k: p[k] for k in ("person_id", "agency_id", "name", "rank")}
    return {**row, "district": env.district, "recorded_at": env.recorded_at}
