"""Agencies (单位): master data every other service learns from its events, and their staff on post."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, ClassVar, Self

from services.common.kernel import uscc
from services.common.kernel.aggregate import Aggregate
from services.common.kernel.errors import AlreadyExists, InvalidState, NotFound, RuleViolation, require_not_future
from services.common.kernel.events import Payload, register_upcaster
from services.office_space.domain.base import RANKS, OfficeSpaceEvent, UnknownRank

DEPARTURE_REASONS = ("retired", "transferred", "left")
"""Why staff leave their post: 退休, 调离, other departure."""


@dataclass(frozen=True)
class AgencyRegistered(OfficeSpaceEvent):
    """An agency (单位) joined the platform's master data.

    v2 added ``parent_agency_id``, the supervising agency (主管部门) of a subordinate institution; v1 events
    read as v2 with none. A v2 payload is a v1 payload plus that property, so v1 consumers go on working.
    """

    schema_version: ClassVar[int] = 2

    agency_id: str
    name: str
    district: str
    kind: str
    admin_level: str
    authorised_headcount: int
    parent_agency_id: str | None = None


@register_upcaster("office_space", "AgencyRegistered", 1)
def _agency_registered_v1_to_v2(payload: Payload) -> Payload:
    return {**payload, "parent_agency_id": None}


@dataclass(frozen=True)
class AuthorisedHeadcountChanged(OfficeSpaceEvent):
    """The agency's authorised headcount (编制) changed."""

    agency_id: str
    authorised_headcount: int
    reason: str


@dataclass(frozen=True)
class StaffPosted(OfficeSpaceEvent):
    """A person took up a post at the agency, with a rank."""

    agency_id: str
    person_id: str
    name: str
    rank: str
    posted_on: str


@dataclass(frozen=True)
class StaffDeparted(OfficeSpaceEvent):
    """A person left the agency: retired, transferred or otherwise left."""

    agency_id: str
    person_id: str
    reason: str
    departed_on: str


class UnknownDistrict(RuleViolation):
    """The district code is not one of the city's districts."""

    code = "unknown_district"


class Agency(Aggregate):
    """An agency (单位): master data, authorised headcount and staff on post."""

    stream_type: ClassVar[str] = "Agency"

    def _init_state(self) -> None:
        self.name = ""
        self.kind = ""
        self.admin_level = ""
        self.authorised_headcount = 0
        self.registered = False
        self.parent_agency_id: str | None = None
        self.staff: dict[str, dict[str, Any]] = {}

    @classmethod
    def register(
        cls,
        *,
        agency_id: str,
        name: str,
        district: str,
        kind: str,
        admin_level: str,
        authorised_headcount: int,
        known_districts: dict[str, str],
        parent: Agency | None = None,
    ) -> Self:
        """Register a new agency in one of the city's districts, under its supervising agency if it has one."""
        if district not in known_districts:
            raise UnknownDistrict(
                f"district {district} is not one of the city's districts",
                fields={"district": ["unknown district code"]},
            )
        _require_credit_code(agency_id, district)
        if authorised_headcount < 0:
            raise RuleViolation("headcount cannot be negative", fields={"authorised_headcount": ["must be >= 0"]})
        if parent is not None:
            _require_supervisor(parent, agency_id, district)
        agency = cls(agency_id)
        parent_id = parent.id if parent is not None else None
        agency._record(
            AgencyRegistered(
                agency_id=agency_id,
                name=name,
                district=district,
                kind=kind,
                admin_level=admin_level,
                authorised_headcount=authorised_headcount,
                parent_agency_id=parent_id,
            )
        )
        return agency

    def change_headcount(self, authorised_headcount: int, reason: str) -> None:
        """Record a new authorised headcount (编制)."""
        self._require_registered()
        if authorised_headcount < 0:
            raise RuleViolation("headcount cannot be negative", fields={"authorised_headcount": ["must be >= 0"]})
        self._record(AuthorisedHeadcountChanged(self.id, authorised_headcount, reason))

    def post_staff(self, person_id: str, name: str, rank: str, posted_on: str) -> None:
        """A person takes up a post with a rank of the agency's level."""
        self._require_registered()
        if rank not in RANKS[self.admin_level]:
            raise UnknownRank(
                f"rank {rank} does not exist at {self.admin_level} level",
                fields={"rank": [f"one of {', '.join(RANKS[self.admin_level])}"]},
            )
        if person_id in self.staff:
            raise AlreadyExists(
                f"{person_id} is already on post at {self.id}", fields={"person_id": ["already on post"]}
            )
        self._record(StaffPosted(self.id, person_id, name, rank, posted_on))

    def record_departure(self, person_id: str, reason: str, departed_on: str, today: date) -> None:
        """A person leaves on ``departed_on``: retired, transferred or otherwise left (their rooms become
        findings dated that day). The date may lie in the past (a city is loaded with what already happened),
        never after ``today``."""
        self._require_registered()
        require_not_future("departed_on", date.fromisoformat(departed_on), today)
        if person_id not in self.staff:
            raise NotFound(f"{person_id} is not on post at {self.id}", fields={"person_id": ["not on post"]})
        self._record(StaffDeparted(self.id, person_id, reason, departed_on))

    def rank_of(self, person_id: str) -> str:
        """The rank of a person on post; NotFound when the person is not on post here."""
        if person_id not in self.staff:
            raise NotFound(f"{person_id} is not on post at {self.id}", fields={"person_id": ["not on post"]})
        return str(self.staff[person_id]["rank"])

    def _require_registered(self) -> None:
        if not self.registered:
            raise InvalidState(f"agency {self.id} is not registered")

    def _on_AgencyRegistered(self, event: AgencyRegistered) -> None:
        self.registered = True
        self.agency_id = event.agency_id
        self.district = event.district
        self.name = event.name
        self.kind = event.kind
        self.admin_level = event.admin_level
        self.authorised_headcount = event.authorised_headcount
        self.parent_agency_id = event.parent_agency_id

    def _on_AuthorisedHeadcountChanged(self, event: AuthorisedHeadcountChanged) -> None:
        self.authorised_headcount = event.authorised_headcount

    def _on_StaffPosted(self, event: StaffPosted) -> None:
        self.staff[event.person_id] = {"name": event.name, "rank": event.rank, "posted_on": event.posted_on}

    def _on_StaffDeparted(self, event: StaffDeparted) -> None:
        del self.staff[event.person_id]


def _require_supervisor(parent: Agency, agency_id: str, district: str) -> None:
    """A supervising agency (主管部门) is another registered agency of the same district."""
    if not parent.registered or parent.id == agency_id:
        raise RuleViolation(
            f"supervising agency {parent.id} is not a registered agency",
            fields={"parent_agency_id": ["unknown agency"]},
        )
    if parent.district != district:
        raise RuleViolation(
            f"supervising agency {parent.id} is in district {parent.district}, not {district}",
            fields={"parent_agency_id": ["must be an agency of the same district"]},
        )


def _require_credit_code(agency_id: str, district: str) -> None:
    """An agency's id is its unified social credit code (统一社会信用代码, GB 32100-2015): a well-formed code
    whose check character matches, issued in the district it registers in (its division code is the
    district's). A code of another district would file the agency where its own district cannot see it."""
    reason = uscc.problem(agency_id)
    if reason is not None:
        raise RuleViolation(
            f"agency id {agency_id} is not a unified social credit code", fields={"agency_id": [reason]}
        )
    if uscc.division_code(agency_id) != district:
        raise RuleViolation(
            f"agency {agency_id} was issued in division {uscc.division_code(agency_id)}, not in district {district}",
            fields={"agency_id": [f"its division code is not the district's {district}"]},
        )
