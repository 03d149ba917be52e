"""The projection that keeps the office-space read models from the service's own events."""

from __future__ import annotations

from typing import Any

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

    _posts_of = sa.select(staff.c.person_id, staff.c.agency_id, staff.c.recorded_at).where(
        staff.c.person_id.in_(sa.bindparam("person_ids", expanding=True))
    )
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
        held: dict[str, Any] = {}
        for start in range(0, len(people), 500):  # bound the statement's parameters
            chunk = people[start : start + 500]
            held.update((row.person_id, row) for row in conn.execute(self._posts_of, {"person_ids": chunk}))
        posts = [env for env in envs if not _stands_elsewhere(held.get(env.payload["person_id"]), env)]
        sql.run(conn, self._unpost, [{"person_id": env.payload["person_id"]} for env in posts])
        sql.insert(conn, staff, [_post(env) for env in posts])

    def on_StaffDeparted(self, conn: sa.Connection, env: Envelope) -> None:
        p = env.payload
        sql.delete(conn, staff, {"person_id": p["person_id"], "agency_id": p["agency_id"]})

    def on_RoomAdded(self, conn: sa.Connection, env: Envelope) -> None:
        self.many_RoomAdded(conn, [env])

    def many_RoomAdded(self, conn: sa.Connection, envs: list[Envelope]) -> None:
        """Rooms added one after another (a building's rooms): one insert of them all."""
        keys = ("room_id", "building_id", "agency_id", "number", "usable_area_m2", "use")
        rows = [{**{k: env.payload[k] for k in keys}, "district": env.district, "idle": False} for env in envs]
        sql.insert(conn, rooms, rows)

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
