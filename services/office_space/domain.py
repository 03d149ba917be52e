"""Office space (办公用房) domain: agencies as master data, and (growing) buildings, rooms and standards.

Pure Python: the rules of DOMAIN.md live here as aggregate methods that check and record events.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Self

from services.common.aggregate import Aggregate
from services.common.errors import InvalidState, RuleViolation
from services.common.events import Event

AGENCY_KINDS = ("party_government", "public_institution", "hospital", "school", "other")
"""Agency kinds: 党政机关, 事业单位, 医院, 学校, other public institutions."""

ADMIN_LEVELS = ("city", "county")
"""Administrative levels: 市级, 县级 (decides which per-person area standard applies)."""


@dataclass(frozen=True)
class OfficeSpaceEvent(Event):
    """Base of the office-space service's events."""

    domain: ClassVar[str] = "office_space"


@dataclass(frozen=True)
class AgencyRegistered(OfficeSpaceEvent):
    """An agency (单位) joined the platform's master data."""

    agency_id: str
    name: str
    district: str
    kind: str
    admin_level: str
    authorised_headcount: int


class UnknownDistrict(RuleViolation):
    """The district code is not one of the city's districts."""

    code = "unknown_district"


class Agency(Aggregate):
    """An agency (单位): master data every other service learns from its events."""

    stream_type: ClassVar[str] = "Agency"

    def _init_state(self) -> None:
        self.name = ""
        self.kind = ""
        self.admin_level = ""
        self.authorised_headcount = 0
        self.registered = False

    @classmethod
    def register(
        cls,
        agency_id: str,
        name: str,
        district: str,
        kind: str,
        admin_level: str,
        authorised_headcount: int,
        known_districts: dict[str, str],
    ) -> Self:
        """Register a new agency in one of the city's districts."""
        if district not in known_districts:
            raise UnknownDistrict(
                f"district {district} is not one of the city's districts",
                fields={"district": ["unknown district code"]},
            )
        if authorised_headcount < 0:
            raise RuleViolation("headcount cannot be negative", fields={"authorised_headcount": ["must be >= 0"]})
        agency = cls(agency_id)
        agency._record(
            AgencyRegistered(
                agency_id=agency_id,
                name=name,
                district=district,
                kind=kind,
                admin_level=admin_level,
                authorised_headcount=authorised_headcount,
            )
        )
        return agency

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
