"""Office buildings (办公楼) and their rooms: allocation against the per-person standard, idle rooms,
rooms still held by staff who left, and adjustment (调剂) of idle rooms between agencies."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, ClassVar, Self

from services.common.aggregate import Aggregate
from services.common.errors import AlreadyExists, InvalidState, NotFound, RuleViolation, require_positive
from services.office_space.domain.base import ROOM_USES, AreaStandard, OfficeSpaceEvent

IDLE_AFTER_DAYS = 90
"""An office room without any occupant for this many days becomes idle (闲置); configurable per call."""


@dataclass(frozen=True)
class BuildingRegistered(OfficeSpaceEvent):
    """An office building (办公楼) of an agency was registered."""

    building_id: str
    agency_id: str
    district: str
    name: str
    address: str
    gross_floor_area_m2: float


@dataclass(frozen=True)
class RoomAdded(OfficeSpaceEvent):
    """A room of a building, with its usable area and use, held by an agency."""

    building_id: str
    room_id: str
    number: str
    usable_area_m2: float
    use: str
    agency_id: str
    added_on: str


@dataclass(frozen=True)
class RoomAllocated(OfficeSpaceEvent):
    """An office room was allocated to a person, with the area per person against the standard."""

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


@dataclass(frozen=True)
class RoomReleased(OfficeSpaceEvent):
    """A person gave up a room."""

    building_id: str
    room_id: str
    person_id: str
    released_on: str


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


class RoomNotIdle(InvalidState):
    """Only idle rooms can be transferred between agencies."""

    code = "room_not_idle"


@dataclass(frozen=True)
class ApprovedException:
    """A city administrator's approval of an allocation above the standard, with the reason."""

    approved_by: str
    reason: str


class Building(Aggregate):
    """An office building and its rooms (one consistency boundary: a room's occupants)."""

    stream_type: ClassVar[str] = "Building"

    def _init_state(self) -> None:
        self.name = ""
        self.gross_floor_area_m2 = 0.0
        self.rooms: dict[str, dict[str, Any]] = {}
        self.registered = False

    @classmethod
    def register(
        cls, building_id: str, agency_id: str, district: str, name: str, address: str, gross_floor_area_m2: float
    ) -> Self:
        """Register a building with its gross floor area."""
        require_positive("gross_floor_area_m2", gross_floor_area_m2)
        building = cls(building_id)
        building._record(BuildingRegistered(building_id, agency_id, district, name, address, gross_floor_area_m2))
        return building

    def add_room(self, room_id: str, number: str, usable_area_m2: float, use: str, agency_id: str, today: date) -> None:
        """Add a room; the rooms' usable area may not exceed the building's gross floor area."""
        require_positive("usable_area_m2", usable_area_m2)
        if use not in ROOM_USES:
            raise RuleViolation(f"unknown use {use}", fields={"use": [f"one of {', '.join(ROOM_USES)}"]})
        if room_id in self.rooms:
            raise AlreadyExists(f"room {room_id} exists", fields={"room_id": ["already exists"]})
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
        self._record(RoomAdded(self.id, room_id, number, usable_area_m2, use, agency_id, today.isoformat()))

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
        """Allocate an office room to a person; above the standard only with an approved exception."""
        room = self._room(room_id)
        if room["use"] != "office":
            raise NotAnOffice(f"room {room_id} is a {room['use']} room", fields={"room_id": ["not an office"]})
        if person_id in room["occupants"]:
            raise AlreadyExists(
                f"{person_id} already holds room {room_id}", fields={"person_id": ["already in the room"]}
            )
        if room["agency_id"] != agency_id:
            raise RuleViolation(
                f"room {room_id} is held by another agency", fields={"room_id": [f"held by {room['agency_id']}"]}
            )
        allowed = standard.for_rank(admin_level, rank)
        area = round(room["usable_area_m2"] / (len(room["occupants"]) + 1), 2)
        over = area > allowed
        if over and exception is None:
            raise OverStandardAllocation(
                f"{area} m² per person exceeds the {allowed} m² standard for {rank}",
                fields={"room_id": [f"{area} m² per person is above the standard of {allowed} m²"]},
                details={
                    "area_per_person_m2": area,
                    "standard_m2": allowed,
                    "rank": rank,
                    "standard": standard.version,
                },
            )
        approved_by, reason = (exception.approved_by, exception.reason) if over and exception else (None, None)
        self._record(
            RoomAllocated(
                self.id,
                room_id,
                person_id,
                agency_id,
                rank,
                area,
                allowed,
                standard.version,
                over,
                approved_by,
                reason,
                today.isoformat(),
            )
        )

    def release(self, room_id: str, person_id: str, today: date) -> None:
        """A person gives up a room."""
        if person_id not in self._room(room_id)["occupants"]:
            raise NotFound(f"{person_id} does not hold room {room_id}", fields={"person_id": ["not in the room"]})
        self._record(RoomReleased(self.id, room_id, person_id, today.isoformat()))

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
                        self.id,
                        room_id,
                        room["agency_id"],
                        room["usable_area_m2"],
                        room["vacant_since"],
                        days,
                        today.isoformat(),
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
        self._record(RoomTransferred(self.id, room_id, room["agency_id"], to_agency_id, approved_by, today.isoformat()))

    def flag_departed(self, person_id: str, reason: str, departed_on: str, today: date) -> list[str]:
        """Record a finding for every room still held by a person who left; the rooms found."""
        held = [rid for rid, room in sorted(self.rooms.items()) if person_id in room["occupants"]]
        for room_id in held:
            if person_id not in self.rooms[room_id]["departed"]:
                agency_id = self.rooms[room_id]["occupants"][person_id]["agency_id"]
                self._record(
                    RoomHeldByDepartedStaff(
                        self.id, room_id, person_id, agency_id, reason, departed_on, today.isoformat()
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
            "vacant_since": event.added_on,
            "idle": False,
            "departed": [],
        }

    def _on_RoomAllocated(self, event: RoomAllocated) -> None:
        room = self.rooms[event.room_id]
        room["occupants"][event.person_id] = {"agency_id": event.agency_id, "rank": event.rank}
        room["vacant_since"], room["idle"] = None, False

    def _on_RoomReleased(self, event: RoomReleased) -> None:
        room = self.rooms[event.room_id]
        del room["occupants"][event.person_id]
        if event.person_id in room["departed"]:
            room["departed"].remove(event.person_id)
        if not room["occupants"]:
            room["vacant_since"] = event.released_on

    def _on_RoomBecameIdle(self, event: RoomBecameIdle) -> None:
        self.rooms[event.room_id]["idle"] = True

    def _on_RoomTransferred(self, event: RoomTransferred) -> None:
        self.rooms[event.room_id]["agency_id"] = event.to_agency_id

    def _on_RoomHeldByDepartedStaff(self, event: RoomHeldByDepartedStaff) -> None:
        self.rooms[event.room_id]["departed"].append(event.person_id)
