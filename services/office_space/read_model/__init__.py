"""The office-space service's read models (in its own database, from its own topic) and its queries:
area per person against the standard, the over-standard list, idle rooms, open and overdue findings."""

from __future__ import annotations

from pathlib import Path

from services.common.base.db import register_migrations

# The published surface also carries the domain's figure definitions the data center computes with: the space
# figures are defined once (``domain/figures.py``), and the service's report and the data center both read them
# from here.
from services.office_space.domain.figures import SPACE_SUMS, space_figures

from .projection import OfficeSpaceViews
from .queries import (
    agency_of_person,
    buildings_located,
    buildings_of,
    buildings_where,
    idle_rooms,
    open_findings,
    over_standard,
    space_report,
    space_sums,
    staff_on_post,
)
from .tables import allocations, buildings, findings, rooms, staff

register_migrations("office_space_views", Path(__file__).parents[1] / "migrations")

__all__ = [
    "SPACE_SUMS",
    "OfficeSpaceViews",
    "agency_of_person",
    "allocations",
    "buildings",
    "buildings_located",
    "buildings_of",
    "buildings_where",
    "findings",
    "idle_rooms",
    "open_findings",
    "over_standard",
    "rooms",
    "space_figures",
    "space_report",
    "space_sums",
    "staff",
    "staff_on_post",
]
