"""What the office-space aggregates share: the event base, agency kinds and levels, ranks, area standards."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Final

from services.common.kernel.errors import RuleViolation
from services.common.kernel.events import Event


@dataclass(frozen=True)
class OfficeSpaceEvent(Event):
    """Base of the office-space service's events."""

    domain: ClassVar[str] = "office_space"


AGENCY_KINDS: Final = ("party_government", "public_institution", "hospital", "school", "other")
"""Agency kinds: 党政机关, 事业单位, 医院, 学校, other public institutions."""

ADMIN_LEVELS: Final = ("city", "county")
"""Administrative levels: 市级, 县级 (decides which per-person area standard applies)."""

RANKS: Final[dict[str, tuple[str, ...]]] = {
    "city": ("city_principal", "city_deputy", "bureau_principal", "bureau_deputy", "below_bureau"),
    "county": ("county_principal", "county_deputy", "section_principal", "section_deputy", "below_section"),
}
"""Ranks of staff by the agency's level. City: 市级正职, 市级副职, 正局(处)级, 副局(处)级, 局(处)级以下.
County: 县级正职, 县级副职, 正科级, 副科级, 科级以下."""

ROOM_USES: Final = ("office", "meeting", "service", "equipment")
"""Uses of a room: 办公室, 会议室, 服务用房, 设备用房. Only offices are allocated to persons."""


@dataclass(frozen=True)
class AreaStandard:
    """A versioned per-person office area standard (usable m² per person by level and rank)."""

    version: str
    source: str
    per_person_m2: dict[str, dict[str, float]] = field(default_factory=dict)

    def for_rank(self, admin_level: str, rank: str) -> float:
        """The standard area of ``rank`` in an agency of ``admin_level``; UnknownRank if there is none."""
        try:
            return self.per_person_m2[admin_level][rank]
        except KeyError:
            raise UnknownRank(
                f"rank {rank} does not exist at {admin_level} level",
                fields={"rank": [f"one of {', '.join(RANKS.get(admin_level, ()))}"]},
            ) from None


AREA_STANDARD_2014: Final = AreaStandard(
    version="2014",
    source="党政机关办公用房建设标准（发改投资〔2014〕2674号）",
    per_person_m2={
        "city": {
            "city_principal": 42.0,
            "city_deputy": 30.0,
            "bureau_principal": 24.0,
            "bureau_deputy": 18.0,
            "below_bureau": 9.0,
        },
        "county": {
            "county_principal": 30.0,
            "county_deputy": 24.0,
            "section_principal": 12.0,
            "section_deputy": 9.0,
            "below_section": 9.0,
        },
    },
)
"""The 2014 national standard (docs/domain.md, "Office space")."""


class UnknownRank(RuleViolation):
    """The rank does not exist at the agency's administrative level."""

    code = "unknown_rank"


class InvalidPeriod(RuleViolation):
    """A period whose end is not after its start."""

    code = "invalid_period"
