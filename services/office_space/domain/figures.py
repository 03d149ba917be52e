"""The office-space figures, defined once (docs/kpis/office_space.md): the summable per-agency quantities
(``agency_sums``) and the figures shown from them (``space_figures``). The office-space report, the data
center (agency, district and city), the scorecard and the dashboard all take their space figures from here.

Definitions (docs/kpis/office_space.md, 2014 standard 党政机关办公用房建设标准):

- *office area* = usable area of all office rooms the agency holds;
- *occupied office area* = usable area of office rooms with at least one occupant on post;
- *idle office area* = usable area of office rooms with no occupant;
- *area held by departed staff* = usable area of office rooms whose occupants have all left their post;
  so office area = occupied + idle + departed-held, and neither idle nor departed-held space enters
- *area per person* = occupied office area ÷ staff on post;
- *standard area* (核定面积) = Σ the rank standard of each person on post (a retired person still holding a
  room adds nothing; a newcomer without a room adds their standard);
- *over-standard persons* = staff on post whose share of their room exceeds their rank standard (shares
  come from ``buildings.share_of_room``); ``over_standard_approved`` counts those with an approved exception.

No data is null with a reason, never 0: area figures are null (``no_office_rooms``) for an agency with no
office room recorded; per-capita figures are null (``nobody_on_post``) when nobody is on post, never
divided by another headcount. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from services.office_space.domain.base import AREA_STANDARD_2014, AreaStandard

FIGURES_VERSION: Final = "2026-12-05"
"""The version of these definitions (the date they were decided), shown with the figures."""

SPACE_SUMS: Final = (
    "staff_on_post",
    "office_rooms",
    "office_area_m2",
    "occupied_office_area_m2",
    "idle_office_rooms",
    "idle_office_area_m2",
    "departed_held_area_m2",
    "standard_area_m2",
    "over_standard_persons",
    "over_standard_approved",
)
"""The summable quantities of an agency: a district's or the city's are the sums of its agencies'."""

AREA_FIGURES: Final = (
    "office_area_m2",
    "occupied_office_area_m2",
    "idle_office_area_m2",
    "departed_held_area_m2",
)


@dataclass(frozen=True)
class OfficeRoom:
    """An office room as the figures need it: who holds it, how many persons are in it, how many of them are
    on post (at the room's agency)."""

    agency_id: str
    usable_area_m2: float
    occupants: int
    on_post: int


@dataclass(frozen=True)
class OverStandard:
    """Per agency: staff on post whose share exceeds their standard, and how many of them hold an approved
    exception."""

    agency_id: str
    persons: int
    approved: int


def rank_standard(rank: str, standard: AreaStandard = AREA_STANDARD_2014) -> float:
    """The standard area of a rank: rank names are distinct between city and county levels, so the rank
    alone decides it."""
    for level, ranks in standard.per_person_m2.items():
        if rank in ranks:
            return standard.for_rank(level, rank)
    return standard.for_rank("", rank)  # raises UnknownRank


def agency_sums(
    rooms: Iterable[OfficeRoom], staff_by_rank: Iterable[tuple[str, str, int]], over: Iterable[OverStandard]
) -> dict[str, dict[str, Any]]:
    """Per agency, the summable quantities (``SPACE_SUMS``).

    ``rooms`` are the office rooms; ``staff_by_rank`` the count of staff on post per (agency, rank);
    ``over`` the over-standard staff on post per agency (their shares judged by ``share_of_room``)."""
    sums: dict[str, dict[str, Any]] = {}

    def of(agency_id: str) -> dict[str, Any]:
        return sums.setdefault(agency_id, dict.fromkeys(SPACE_SUMS, 0))

    for agency_id, rank, count in staff_by_rank:
        row = of(agency_id)
        row["staff_on_post"] += count
        row["standard_area_m2"] += rank_standard(rank) * count
    for room in rooms:
        row = of(room.agency_id)
        row["office_rooms"] += 1
        row["office_area_m2"] += room.usable_area_m2
        if not room.occupants:
            row["idle_office_rooms"] += 1
            row["idle_office_area_m2"] += room.usable_area_m2
        elif room.on_post:
            row["occupied_office_area_m2"] += room.usable_area_m2
        else:
            row["departed_held_area_m2"] += room.usable_area_m2
    for counted in over:
        row = of(counted.agency_id)
        row["over_standard_persons"] += counted.persons
        row["over_standard_approved"] += counted.approved
    return sums


def space_figures(sums: Mapping[str, Any]) -> dict[str, Any]:
    """The figures shown for an agency, a district or the city, from its summed quantities, with a
    ``<name>_null_reason`` beside every figure that can be null."""
    rooms, people = sums.get("office_rooms") or 0, sums.get("staff_on_post") or 0
    figures: dict[str, Any] = {
        "figures_version": FIGURES_VERSION,
        "staff_on_post": people,
        "office_rooms": rooms,
        "idle_office_rooms": sums.get("idle_office_rooms") or 0,
        "standard_area_m2": round(float(sums.get("standard_area_m2") or 0.0), 2),
        "over_standard_persons": sums.get("over_standard_persons") or 0,
        "over_standard_approved": sums.get("over_standard_approved") or 0,
    }
    for name in AREA_FIGURES:
        figures[name] = round(float(sums.get(name) or 0.0), 2) if rooms else None
        figures[f"{name}_null_reason"] = None if rooms else "no_office_rooms"
    if not people:
        figures["area_per_person_m2"], reason = None, "nobody_on_post"
    elif not rooms:
        figures["area_per_person_m2"], reason = None, "no_office_rooms"
    else:
        figures["area_per_person_m2"], reason = round(float(sums["occupied_office_area_m2"]) / people, 2), None
    figures["area_per_person_m2_null_reason"] = reason
    return figures
