"""Office buildings (办公楼) and their rooms: allocation against the per-person standard, idle rooms,
rooms still held by staff who left, and adjustment (调剂) of idle rooms between agencies."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, ClassVar, Self

from services.common.kernel.aggregate import Aggregate
from services.common.kernel.errors import (
    AlreadyExists,
    InvalidState,
    NotFound,
    RuleViolation,
    require_not_future,
    require_positive,
)
from services.common.kernel.events import Payload, register_upcaster
from services.office_space.domain.base import ROOM_USES, AreaStandard, OfficeSpaceEvent

IDLE_AFTER_DAYS = 90
"""An office room without any occupant for this many days becomes idle (闲置); configurable per call."""


@dataclass(frozen=True)
class BuildingRegistered(OfficeSpaceEvent):
    """An office building (办公楼) of an agency was registered.

    v2 added its location, ``longitude`` and ``latitude`` in WGS-84 degrees (RFC 7946's datum, as GPS gives
    them; never GCJ-02), both or neither. v1 events read with both null: no location known.
    """

    schema_version: ClassVar[int] = 2

    building_id: str
    agency_id: str
    district: str
    name: str
    address: str
    gross_floor_area_m2: float
    longitude: float | None = None
    latitude: float | None = None


@register_upcaster("office_space", "BuildingRegistered", 1)
def _building_registered_v1_to_v2(payload: Payload) -> Payload:
    return {**payload, "longitude": None, "latitude": None}


def require_location(longitude: float | None, latitude: float | None) -> None:
    """A building's location is both WGS-84 coordinates or none; degrees within their ranges."""
    if (longitude is None) != (latitude is None):
        missing = "latitude" if latitude is None else "longitude"
        raise RuleViolation("a location needs both longitude and latitude", fields={missing: ["give both or neither"]})
    wrong: dict[str, list[str]] = {}
    if longitude is not None and not -180 <= longitude <= 180:
        wrong["longitude"] = ["WGS-84 degrees, -180 to 180"]
    if latitude is not None and not -90 <= latitude <= 90:
        wrong["latitude"] = ["WGS-84 degrees, -90 to 90"]
    if wrong:
        raise RuleViolation("location out of range", fields=wrong)


@dataclass(frozen=True)
class RoomAdded(OfficeSpaceEvent):
    """A room of a building, with its usable area and use, held by an agency.

    v2 added ``planned_occupancy`` (how many persons the office is meant for, its capacity) and
    ``vacant_since`` (a city loaded today has rooms that have stood empty for months: the idle check counts
    from this date, not from the day the room was entered). v1 events read with neither: no planned
    occupancy, vacant since ``added_on``.
    """

    schema_version: ClassVar[int] = 2

    building_id: str
    room_id: str
    number: str
    usable_area_m2: float
    use: str
    agency_id: str
    added_on: str
    planned_occupancy: int | None = None
    vacant_since: str | None = None


@register_upcaster("office_space", "RoomAdded", 1)
def _room_added_v1_to_v2(payload: Payload) -> Payload:
    return {**payload, "planned_occupancy": None, "vacant_since": None}


@dataclass(frozen=True)
class RoomAllocated(OfficeSpaceEvent):
    """An office room was allocated to a person, with the person's share of the room against the standard.

    ``area_per_person_m2`` is the person's share (usable area ÷ occupants after the allocation). v2 added
    ``occupants``: the re-judgement of every occupant of the room after the command (``share_of_room``), so a
    projection replaces every occupant's share and verdict and never keeps a stale one. When several persons
    are allocated in one command, each gets its own event and every one carries the room as it stands after
    the whole command. v1 events read with ``occupants`` null (only the allocated person's share is known).
    """

    schema_version: ClassVar[int] = 2

    building_id: str
    room_id: str
    person_id: str
    agency_id: str
    rank: str
    area_per_person_m2: float
    standard_m2: float
    standard_version: str
    over_standard: bool
    exception_approved_by: str | None
    exception_reason: str | None
    allocated_on: str
    occupants: list[dict[str, Any]] | None = None


@register_upcaster("office_space", "RoomAllocated", 1)
def _room_allocated_v1_to_v2(payload: Payload) -> Payload:
    return {**payload, "occupants": None}


@dataclass(frozen=True)
class RoomReleased(OfficeSpaceEvent):
    """A person gave up a room on ``released_on`` (the date of the fact, which may be before the day it was
    recorded).

    v2 added ``occupants``: the re-judgement of everyone who stays (their shares grew). v1 events read with
    ``occupants`` null.
    """

    schema_version: ClassVar[int] = 2

    building_id: str
    room_id: str
    person_id: str
    released_on: str
    occupants: list[dict[str, Any]] | None = None


@register_upcaster("office_space", "RoomReleased", 1)
def _room_released_v1_to_v2(payload: Payload) -> Payload:
    return {**payload, "occupants": None}


@dataclass(frozen=True)
class ShareRoseAboveStandard(OfficeSpaceEvent):
    """A finding: someone left a shared room and a person who stays now holds more than their rank's
    standard (超标准占用). Not a refusal: people leave; the finding asks for the room to be adjusted.
    ``opened_on`` is the date of the release."""

    building_id: str
    room_id: str
    person_id: str
    agency_id: str
    share_m2: float
    standard_m2: float
    opened_on: str
    detected_on: str


@dataclass(frozen=True)
class RoomBecameIdle(OfficeSpaceEvent):
    """An office room has had no occupant for the configured number of days (闲置)."""

    building_id: str
    room_id: str
    agency_id: str
    usable_area_m2: float
    vacant_since: str
    idle_days: int
    detected_on: str


@dataclass(frozen=True)
class RoomTransferred(OfficeSpaceEvent):
    """An idle room was transferred to another agency (调剂)."""

    building_id: str
    room_id: str
    from_agency_id: str
    to_agency_id: str
    approved_by: str
    transferred_on: str


@dataclass(frozen=True)
class RoomHeldByDepartedStaff(OfficeSpaceEvent):
    """A finding: a room is still held by a person who retired, transferred or left (退休、调离后占用)."""

    building_id: str
    room_id: str
    person_id: str
    agency_id: str
    reason: str
    departed_on: str
    detected_on: str


class OverStandardAllocation(RuleViolation):
    """The allocation would give a person more area than the standard allows (超标准配置)."""

    code = "over_standard"


class NotAnOffice(RuleViolation):
    """Only office rooms are allocated to persons."""

    code = "not_an_office"


class AreaExceedsBuilding(RuleViolation):
    """The rooms' usable area would exceed the building's gross floor area."""

    code = "area_exceeds_building"


class RoomFull(RuleViolation):
    """The office already holds as many persons as it is planned for."""

    code = "room_full"


class RoomNotIdle(InvalidState):
    """Only idle rooms can be transferred between agencies."""

    code = "room_not_idle"


@dataclass(frozen=True)
class ApprovedException:
    """A city administrator's approval of an allocation above the standard, with the reason."""

    approved_by: str
    reason: str


@dataclass(frozen=True)
class Newcomer:
    """A person to be allocated a room, with their rank (the rank decides their standard)."""

    person_id: str
    rank: str


@dataclass(frozen=True)
class Share:
    """One occupant's share of a room, judged against their rank's standard."""

    person_id: str
    share_m2: float
    standard_m2: float
    over_standard: bool
    exception_approved_by: str | None

    def to_payload(self) -> dict[str, Any]:
        """As events carry it."""
        return {
            "person_id": self.person_id,
            "share_m2": self.share_m2,
            "standard_m2": self.standard_m2,
            "over_standard": self.over_standard,
            "exception_approved_by": self.exception_approved_by,
        }


def share_of_room(
    usable_area_m2: float, standards: Mapping[str, float], approvals: Mapping[str, str | None] | None = None
) -> list[Share]:
    """Every occupant's share of a room: usable area ÷ current occupants, over-standard when it exceeds the
    occupant's rank standard (2014 standard: the per-person figures are usable office area per person, so a
    shared office is judged per head).

    The one place a share is computed: allocation, release and the figures all use it. ``standards`` maps
    each current occupant to their standard (m²); ``approvals`` to who approved an exception, if anyone
    did. An approved exception does not make a share within standard: it stays over-standard, marked
    approved. The comparison is ``area > standard × occupants`` so 18 m² for two 9 m² persons is exactly
    within standard (no rounding decides a verdict); the share is reported rounded to 0.01 m².
    """
    count = len(standards)
    approved = approvals or {}
    return [
        Share(
            person_id,
            round(usable_area_m2 / count, 2),
            standard,
            usable_area_m2 > standard * count,
            approved.get(person_id),
        )
        for person_id, standard in sorted(standards.items())
    ]


class Building(Aggregate):
    """An office building and its rooms (one consistency boundary: a room's occupants)."""

    stream_type: ClassVar[str] = "Building"

    def _init_state(self) -> None:
        self.name = ""
        self.gross_floor_area_m2 = 0.0
        self.rooms: dict[str, dict[str, Any]] = {}
        self.registered = False
        # rooms hold each occupant's standard and share since shared rooms are re-judged: a snapshot taken
        # before lacks this attribute, so the store ignores it and replays the stream (aggregate.snapshot_fits)
        self.shares_judged = True

    @classmethod
    def register(
        cls,
        *,
        building_id: str,
        agency_id: str,
        district: str,
        name: str,
        address: str,
        gross_floor_area_m2: float,
        longitude: float | None = None,
        latitude: float | None = None,
    ) -> Self:
        """Register a building with its gross floor area and, when known, its location (WGS-84)."""
        require_positive("gross_floor_area_m2", gross_floor_area_m2)
        require_location(longitude, latitude)
        building = cls(building_id)
        building._record(
            BuildingRegistered(
                building_id=building_id,
                agency_id=agency_id,
                district=district,
                name=name,
                address=address,
                gross_floor_area_m2=gross_floor_area_m2,
                longitude=longitude,
                latitude=latitude,
            )
        )
        return building

    def add_room(
        self,
        room_id: str,
        number: str,
        usable_area_m2: float,
        use: str,
        agency_id: str,
        today: date,
        planned_occupancy: int | None = None,
        vacant_since: date | None = None,
    ) -> None:
        """Add a room; the rooms' usable area may not exceed the building's gross floor area.

        ``planned_occupancy`` is how many persons an office is meant for (its capacity); ``vacant_since`` the
        day it became empty, when that was before today (a room entered when the city is loaded)."""
        require_positive("usable_area_m2", usable_area_m2)
        if use not in ROOM_USES:
            raise RuleViolation(f"unknown use {use}", fields={"use": [f"one of {', '.join(ROOM_USES)}"]})
        if room_id in self.rooms:
            raise AlreadyExists(f"room {room_id} exists", fields={"room_id": ["already exists"]})
        if planned_occupancy is not None:
            require_positive("planned_occupancy", planned_occupancy)
            if use != "office":
                raise NotAnOffice(
                    "only an office has a planned occupancy", fields={"planned_occupancy": ["offices only"]}
                )
        if vacant_since is not None:
            require_not_future("vacant_since", vacant_since, today)
        used = sum(r["usable_area_m2"] for r in self.rooms.values())
        if used + usable_area_m2 > self.gross_floor_area_m2:
            raise AreaExceedsBuilding(
                "the rooms would exceed the building's gross floor area",
                fields={"usable_area_m2": ["exceeds what the building has left"]},
                details={
                    "gross_floor_area_m2": self.gross_floor_area_m2,
                    "rooms_m2": used,
                    "requested_m2": usable_area_m2,
                },
            )
        self._record(
            RoomAdded(
                building_id=self.id,
                room_id=room_id,
                number=number,
                usable_area_m2=usable_area_m2,
                use=use,
                agency_id=agency_id,
                added_on=today.isoformat(),
                planned_occupancy=planned_occupancy,
                vacant_since=vacant_since.isoformat() if vacant_since else None,
            )
        )

    def allocate(
        self,
        room_id: str,
        person_id: str,
        agency_id: str,
        admin_level: str,
        rank: str,
        standard: AreaStandard,
        today: date,
        exception: ApprovedException | None = None,
    ) -> None:
        """Allocate an office room to one person (``allocate_many`` with one newcomer)."""
        self.allocate_many(
            room_id=room_id,
            newcomers=[Newcomer(person_id, rank)],
            agency_id=agency_id,
            admin_level=admin_level,
            standard=standard,
            today=today,
            exception=exception,
        )

    def allocate_many(
        self,
        room_id: str,
        newcomers: Sequence[Newcomer],
        agency_id: str,
        admin_level: str,
        standard: AreaStandard,
        today: date,
        exception: ApprovedException | None = None,
    ) -> None:
        """Allocate an office room to one or more persons in one step; every occupant is re-judged.

        The check judges each newcomer's share with the room as it will be after the command (usable area ÷
        occupants then): two 科级以下 allocated an 18 m² room together get 9 m² each and need no exception.
        A share above the standard needs an approved exception, and stays over-standard (marked approved).
        The planned occupancy is the room's capacity: more persons than planned are refused. It does not
        soften the check: an allocation accepted without exception never shows as over-standard afterwards,
        because the check and the figure judge the same current occupants.
        """
        room = self._room(room_id)
        if room["use"] != "office":
            raise NotAnOffice(f"room {room_id} is a {room['use']} room", fields={"room_id": ["not an office"]})
        if not newcomers:
            raise RuleViolation("nobody to allocate", fields={"person_ids": ["at least one person"]})
        ids = [n.person_id for n in newcomers]
        if len(set(ids)) != len(ids):
            raise RuleViolation("a person is named twice", fields={"person_ids": ["each person once"]})
        for person_id in ids:
            if person_id in room["occupants"]:
                raise AlreadyExists(
                    f"{person_id} already holds room {room_id}", fields={"person_id": ["already in the room"]}
                )
        if room["agency_id"] != agency_id:
            raise RuleViolation(
                f"room {room_id} is held by another agency", fields={"room_id": [f"held by {room['agency_id']}"]}
            )
        count = len(room["occupants"]) + len(newcomers)
        planned = room.get("planned_occupancy")
        if planned is not None and count > planned:
            raise RoomFull(
                f"room {room_id} is planned for {planned} persons",
                fields={"room_id": [f"planned for {planned} persons"]},
                details={"planned_occupancy": planned, "occupants_after": count},
            )
        allowed = {n.person_id: standard.for_rank(admin_level, n.rank) for n in newcomers}
        standards = {pid: float(o["standard_m2"]) for pid, o in room["occupants"].items()} | allowed
        approvals = {pid: o["exception_approved_by"] for pid, o in room["occupants"].items()}
        over = {s.person_id: s for s in share_of_room(room["usable_area_m2"], standards) if s.person_id in allowed}
        refused = [s for s in over.values() if s.over_standard]
        if refused and exception is None:
            first = refused[0]
            rank = next(n.rank for n in newcomers if n.person_id == first.person_id)
            raise OverStandardAllocation(
                f"{first.share_m2} m² per person exceeds the {first.standard_m2} m² standard for {rank}",
                fields={"room_id": [f"{first.share_m2} m² per person is above the standard of {first.standard_m2} m²"]},
                details={
                    "area_per_person_m2": first.share_m2,
                    "standard_m2": first.standard_m2,
                    "rank": rank,
                    "standard": standard.version,
                    "over_standard_persons": [s.person_id for s in refused],
                },
            )
        for s in refused:
            approvals[s.person_id] = exception.approved_by if exception else None
        judged = share_of_room(room["usable_area_m2"], standards, approvals)
        occupants = [j.to_payload() for j in judged]
        for newcomer in newcomers:
            mine = next(j for j in judged if j.person_id == newcomer.person_id)
            approved = exception if mine.over_standard else None
            self._record(
                RoomAllocated(
                    building_id=self.id,
                    room_id=room_id,
                    person_id=newcomer.person_id,
                    agency_id=agency_id,
                    rank=newcomer.rank,
                    area_per_person_m2=mine.share_m2,
                    standard_m2=mine.standard_m2,
                    standard_version=standard.version,
                    over_standard=mine.over_standard,
                    exception_approved_by=approved.approved_by if approved else None,
                    exception_reason=approved.reason if approved else None,
                    allocated_on=today.isoformat(),
                    occupants=occupants,
                )
            )

    def release(self, room_id: str, person_id: str, today: date, released_on: date | None = None) -> None:
        """A person gives up a room on ``released_on`` (today unless given; never in the future; it may be
        before the allocation was recorded, since a city is loaded with allocations made long ago).

        Everyone who stays is re-judged (their shares grow); each who is now above their standard — and
        was not before, or holds no approved exception — raises a finding dated the release. A release is
        never refused for that: people leave."""
        room = self._room(room_id)
        if person_id not in room["occupants"]:
            raise NotFound(f"{person_id} does not hold room {room_id}", fields={"person_id": ["not in the room"]})
        day = released_on or today
        require_not_future("released_on", day, today)
        stay = {pid: o for pid, o in room["occupants"].items() if pid != person_id}
        judged = (
            share_of_room(
                room["usable_area_m2"],
                {pid: float(o["standard_m2"]) for pid, o in stay.items()},
                {pid: o["exception_approved_by"] for pid, o in stay.items()},
            )
            if stay
            else []
        )
        self._record(
            RoomReleased(
                building_id=self.id,
                room_id=room_id,
                person_id=person_id,
                released_on=day.isoformat(),
                occupants=[j.to_payload() for j in judged],
            )
        )
        for share in judged:
            before = stay[share.person_id]
            if share.over_standard and (not before["over_standard"] or share.exception_approved_by is None):
                self._record(
                    ShareRoseAboveStandard(
                        building_id=self.id,
                        room_id=room_id,
                        person_id=share.person_id,
                        agency_id=str(before["agency_id"]),
                        share_m2=share.share_m2,
                        standard_m2=share.standard_m2,
                        opened_on=day.isoformat(),
                        detected_on=today.isoformat(),
                    )
                )

    def detect_idle_rooms(self, today: date, idle_after_days: int = IDLE_AFTER_DAYS) -> list[str]:
        """Record every office room vacant for ``idle_after_days`` or more as idle; the rooms found."""
        found = []
        for room_id, room in sorted(self.rooms.items()):
            if room["use"] != "office" or room["occupants"] or room["idle"] or room["vacant_since"] is None:
                continue
            days = (today - date.fromisoformat(room["vacant_since"])).days
            if days >= idle_after_days:
                self._record(
                    RoomBecameIdle(
                        building_id=self.id,
                        room_id=room_id,
                        agency_id=room["agency_id"],
                        usable_area_m2=room["usable_area_m2"],
                        vacant_since=room["vacant_since"],
                        idle_days=days,
                        detected_on=today.isoformat(),
                    )
                )
                found.append(room_id)
        return found

    def transfer_idle_room(self, room_id: str, to_agency_id: str, approved_by: str, today: date) -> None:
        """Adjust (调剂) an idle room to another agency."""
        room = self._room(room_id)
        if not room["idle"]:
            raise RoomNotIdle(f"room {room_id} is not idle", fields={"room_id": ["not idle"]})
        if room["agency_id"] == to_agency_id:
            raise RuleViolation("the room already belongs to that agency", fields={"to_agency_id": ["same agency"]})
        self._record(
            RoomTransferred(
                building_id=self.id,
                room_id=room_id,
                from_agency_id=room["agency_id"],
                to_agency_id=to_agency_id,
                approved_by=approved_by,
                transferred_on=today.isoformat(),
            )
        )

    def flag_departed(self, person_id: str, reason: str, departed_on: str, today: date) -> list[str]:
        """Record a finding for every room still held by a person who left; the rooms found."""
        held = [rid for rid, room in sorted(self.rooms.items()) if person_id in room["occupants"]]
        for room_id in held:
            if person_id not in self.rooms[room_id]["departed"]:
                agency_id = self.rooms[room_id]["occupants"][person_id]["agency_id"]
                self._record(
                    RoomHeldByDepartedStaff(
                        building_id=self.id,
                        room_id=room_id,
                        person_id=person_id,
                        agency_id=agency_id,
                        reason=reason,
                        departed_on=departed_on,
                        detected_on=today.isoformat(),
                    )
                )
        return held

    def _room(self, room_id: str) -> dict[str, Any]:
        if room_id not in self.rooms:
            raise NotFound(f"room {room_id} is not in building {self.id}", fields={"room_id": ["unknown room"]})
        return self.rooms[room_id]

    def _on_BuildingRegistered(self, event: BuildingRegistered) -> None:
        self.registered = True
        self.agency_id, self.district = event.agency_id, event.district
        self.name, self.gross_floor_area_m2 = event.name, event.gross_floor_area_m2

    def _on_RoomAdded(self, event: RoomAdded) -> None:
        self.rooms[event.room_id] = {
            "number": event.number,
            "usable_area_m2": event.usable_area_m2,
            "use": event.use,
            "agency_id": event.agency_id,
            "occupants": {},
            "vacant_since": event.vacant_since or event.added_on,
            "idle": False,
            "departed": [],
            "planned_occupancy": event.planned_occupancy,
        }

    def _on_RoomAllocated(self, event: RoomAllocated) -> None:
        room = self.rooms[event.room_id]
        room["occupants"][event.person_id] = {
            "agency_id": event.agency_id,
            "rank": event.rank,
            "standard_m2": event.standard_m2,
            "share_m2": event.area_per_person_m2,
            "over_standard": event.over_standard,
            "exception_approved_by": event.exception_approved_by,
            "allocated_on": event.allocated_on,
        }
        self._rejudged(room, event.occupants)
        room["vacant_since"], room["idle"] = None, False

    def _on_RoomReleased(self, event: RoomReleased) -> None:
        room = self.rooms[event.room_id]
        del room["occupants"][event.person_id]
        if event.person_id in room["departed"]:
            room["departed"].remove(event.person_id)
        self._rejudged(room, event.occupants)
        if not room["occupants"]:
            room["vacant_since"] = event.released_on

    @staticmethod
    def _rejudged(room: dict[str, Any], occupants: list[dict[str, Any]] | None) -> None:
        """Take the re-judgement an event carries (events before v2 carry none: the shares stay as they were)."""
        for share in occupants or []:
            held = room["occupants"].get(share["person_id"])
            if held is not None:
                held["share_m2"], held["over_standard"] = share["share_m2"], share["over_standard"]

    def _on_ShareRoseAboveStandard(self, event: ShareRoseAboveStandard) -> None:
        """A finding only: the share itself was re-judged by the release."""

    def _on_RoomBecameIdle(self, event: RoomBecameIdle) -> None:
        self.rooms[event.room_id]["idle"] = True

    def _on_RoomTransferred(self, event: RoomTransferred) -> None:
        self.rooms[event.room_id]["agency_id"] = event.to_agency_id

    def _on_RoomHeldByDepartedStaff(self, event: RoomHeldByDepartedStaff) -> None:
        self.rooms[event.room_id]["departed"].append(event.person_id)
