"""Lending and renting out office space (出租出借): only with approval; unapproved ones are findings."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from typing import ClassVar, Self

from services.common.kernel.aggregate import Aggregate
from services.common.kernel.errors import NotFound, RuleViolation, require_status
from services.common.kernel.events import register_fen_upcaster
from services.common.kernel.money import require_fen
from services.office_space.domain.base import InvalidPeriod, OfficeSpaceEvent

LEASE_KINDS = ("rent", "lend")
"""出租 (rent, against rent) or 出借 (lend, free of charge)."""


@dataclass(frozen=True)
class LeaseRequested(OfficeSpaceEvent):
    """An agency asks to rent out or lend rooms, with term, rent and counter-party.

    v2: the monthly rent in integer fen (``monthly_rent_fen``); the v1 float-yuan ``monthly_rent`` is still
    published, filled from the fen.
    """

    schema_version: ClassVar[int] = 2
    legacy_yuan: ClassVar[dict[str, str]] = {"monthly_rent": "monthly_rent_fen"}

    lease_id: str
    agency_id: str
    district: str
    building_id: str
    room_ids: list[str]
    kind: str
    counter_party: str
    start_on: str
    end_on: str
    monthly_rent_fen: int


register_fen_upcaster(LeaseRequested)


@dataclass(frozen=True)
class LeaseApproved(OfficeSpaceEvent):
    """The administration approved the lease."""

    lease_id: str
    approved_by: str


@dataclass(frozen=True)
class LeaseRejected(OfficeSpaceEvent):
    """The administration refused the lease."""

    lease_id: str
    rejected_by: str
    reason: str


@dataclass(frozen=True)
class LeaseActivated(OfficeSpaceEvent):
    """The approved lease began."""

    lease_id: str
    activated_on: str


@dataclass(frozen=True)
class LeaseEnded(OfficeSpaceEvent):
    """The lease ended."""

    lease_id: str
    ended_on: str


@dataclass(frozen=True)
class UnapprovedLeaseFound(OfficeSpaceEvent):
    """A finding: an inspection found rooms rented out or lent without approval."""

    lease_id: str
    agency_id: str
    district: str
    building_id: str
    room_ids: list[str]
    counter_party: str
    inspection_id: str
    found_on: str


def require_lease_references(
    agency_district: str,
    building_id: str,
    building_district: str,
    building_rooms: Collection[str],
    room_ids: list[str],
) -> None:
    """A lease (requested or found) names a building of its agency's district and rooms of that building: a
    building of another district, or a room that is not in the building, answers as missing (404 with the
    field), never as a lease of rooms the platform does not know."""
    if building_district != agency_district:
        raise NotFound(
            f"building {building_id} not found in district {agency_district}",
            fields={"building_id": [f"no such building in district {agency_district}"]},
        )
    missing = [room for room in room_ids if room not in building_rooms]
    if missing:
        raise NotFound(
            f"rooms {', '.join(missing)} not in building {building_id}",
            fields={"room_ids": [f"not in building {building_id}: {', '.join(missing)}"]},
        )


def require_citing_inspection(inspection_id: str, inspected_agency_id: str | None, agency_id: str) -> None:
    """An unapproved-lease finding cites an inspection that was opened, of the agency whose rooms it found let
    (``inspected_agency_id`` None: no such inspection); otherwise the inspection answers as missing (404)."""
    if inspected_agency_id != agency_id:
        raise NotFound(
            f"inspection {inspection_id} of agency {agency_id} not found",
            fields={"inspection_id": [f"no inspection of agency {agency_id} with this id"]},
        )


class Lease(Aggregate):
    """A lease of office rooms: requested → approved or rejected → active → ended."""

    stream_type: ClassVar[str] = "Lease"

    def _init_state(self) -> None:
        self.status = ""

    @classmethod
    def request(
        cls,
        *,
        lease_id: str,
        agency_id: str,
        district: str,
        building_id: str,
        room_ids: list[str],
        kind: str,
        counter_party: str,
        start_on: date,
        end_on: date,
        monthly_rent_fen: int,
    ) -> Self:
        """Ask to rent out (with rent, in fen) or lend (free) rooms for a term."""
        if end_on <= start_on:
            raise InvalidPeriod("the lease must end after it starts", fields={"end_on": ["must be after start_on"]})
        require_fen("monthly_rent_fen", monthly_rent_fen)
        if kind == "rent" and monthly_rent_fen <= 0:
            raise RuleViolation("renting out needs a rent", fields={"monthly_rent_fen": ["must be > 0 when renting"]})
        if kind == "lend" and monthly_rent_fen != 0:
            raise RuleViolation("lending is free of charge", fields={"monthly_rent_fen": ["must be 0 when lending"]})
        lease = cls(lease_id)
        lease._record(
            LeaseRequested(
                lease_id=lease_id,
                agency_id=agency_id,
                district=district,
                building_id=building_id,
                room_ids=list(room_ids),
                kind=kind,
                counter_party=counter_party,
                start_on=start_on.isoformat(),
                end_on=end_on.isoformat(),
                monthly_rent_fen=monthly_rent_fen,
            )
        )
        return lease

    @classmethod
    def found_unapproved(
        cls,
        *,
        lease_id: str,
        agency_id: str,
        district: str,
        building_id: str,
        room_ids: list[str],
        counter_party: str,
        inspection_id: str,
        today: date,
    ) -> Self:
        """Record rooms found rented out or lent without approval (a finding)."""
        lease = cls(lease_id)
        lease._record(
            UnapprovedLeaseFound(
                lease_id=lease_id,
                agency_id=agency_id,
                district=district,
                building_id=building_id,
                room_ids=list(room_ids),
                counter_party=counter_party,
                inspection_id=inspection_id,
                found_on=today.isoformat(),
            )
        )
        return lease

    def approve(self, approved_by: str) -> None:
        """Approve a requested lease."""
        require_status(f"lease {self.id}", self.status, "requested")
        self._record(LeaseApproved(self.id, approved_by))

    def reject(self, rejected_by: str, reason: str) -> None:
        """Refuse a requested lease."""
        require_status(f"lease {self.id}", self.status, "requested")
        self._record(LeaseRejected(self.id, rejected_by, reason))

    def activate(self, today: date) -> None:
        """Begin an approved lease, not before its start."""
        require_status(f"lease {self.id}", self.status, "approved")
        if today < date.fromisoformat(self.start_on):
            raise RuleViolation("the lease has not started yet", details={"start_on": self.start_on})
        self._record(LeaseActivated(self.id, today.isoformat()))

    def end(self, today: date) -> None:
        """End an active lease (or stop an unapproved one found by inspection)."""
        require_status(f"lease {self.id}", self.status, "active", "unapproved")
        self._record(LeaseEnded(self.id, today.isoformat()))

    def _on_LeaseRequested(self, event: LeaseRequested) -> None:
        self.status, self.agency_id, self.district = "requested", event.agency_id, event.district
        self.start_on = event.start_on

    def _on_LeaseApproved(self, event: LeaseApproved) -> None:
        self.status = "approved"

    def _on_LeaseRejected(self, event: LeaseRejected) -> None:
        self.status = "rejected"

    def _on_LeaseActivated(self, event: LeaseActivated) -> None:
        self.status = "active"

    def _on_LeaseEnded(self, event: LeaseEnded) -> None:
        self.status = "ended"

    def _on_UnapprovedLeaseFound(self, event: UnapprovedLeaseFound) -> None:
        self.status, self.agency_id, self.district = "unapproved", event.agency_id, event.district
