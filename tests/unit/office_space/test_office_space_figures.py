"""The office-space figures, defined once (services/office_space/domain/figures.py, docs/kpis/office_space.md);
every expected value worked out by hand from the definition."""

from __future__ import annotations

import pytest

from services.office_space.domain.base import UnknownRank
from services.office_space.domain.figures import (
    OfficeRoom,
    OverStandard,
    agency_sums,
    rank_standard,
    space_figures,
)

# A1 (county): P1 正科级 and P2 科级以下 share 36 m²; P3 retired but still holds 20 m²; P4 科级以下 is a newcomer
# without a room; one 15 m² office stands empty. A2 has nobody on post and one empty 30 m² office.
ROOMS = [
    OfficeRoom("A1", 36.0, occupants=2, on_post=2),  # P1, P2
    OfficeRoom("A1", 20.0, occupants=1, on_post=0),  # the retired P3
    OfficeRoom("A1", 15.0, occupants=0, on_post=0),
    OfficeRoom("A2", 30.0, occupants=0, on_post=0),
]
ON_POST = [("A1", "section_principal", 1), ("A1", "below_section", 2)]  # P1; P2 and the roomless P4
# P1: 36 / 2 = 18 > 12, approved; P2: 18 > 9; the retired P3 is not on post, so not counted
HELD = [OverStandard("A1", persons=2, approved=1)]


def test_each_space_quantity_follows_its_definition() -> None:
    sums = agency_sums(ROOMS, ON_POST, HELD)
    assert sums["A1"] == {
        "staff_on_post": 3,  # P1, P2, P4 (P3 retired)
        "office_rooms": 3,
        "office_area_m2": 71.0,  # 36 + 20 + 15
        "occupied_office_area_m2": 36.0,  # the shared room: someone on post is in it
        "idle_office_rooms": 1,
        "idle_office_area_m2": 15.0,
        "departed_held_area_m2": 20.0,  # only the retired P3 in it
        "standard_area_m2": 30.0,  # 12 (P1) + 9 (P2) + 9 (P4, roomless newcomer); P3 adds nothing
        "over_standard_persons": 2,  # P1 (approved) and P2; not the retired P3
        "over_standard_approved": 1,
    }


def test_area_per_person_leaves_idle_and_departed_held_space_out() -> None:
    shown = space_figures(agency_sums(ROOMS, ON_POST, HELD)["A1"])
    assert shown["area_per_person_m2"] == 12.0  # 36 occupied / 3 on post, not 71 / 3
    assert shown["area_per_person_m2_null_reason"] is None


def test_per_capita_figures_are_null_when_nobody_is_on_post_and_areas_when_there_are_no_rooms() -> None:
    nobody = space_figures(agency_sums(ROOMS, ON_POST, HELD)["A2"])
    assert (nobody["area_per_person_m2"], nobody["area_per_person_m2_null_reason"]) == (None, "nobody_on_post")
    assert (nobody["idle_office_area_m2"], nobody["office_area_m2"]) == (30.0, 30.0)
    roomless = space_figures(agency_sums([], [("A3", "below_bureau", 1)], [])["A3"])
    assert (roomless["office_area_m2"], roomless["office_area_m2_null_reason"]) == (None, "no_office_rooms")
    assert (roomless["area_per_person_m2"], roomless["area_per_person_m2_null_reason"]) == (None, "no_office_rooms")
    assert roomless["standard_area_m2"] == 9.0  # 局(处)级以下


def test_a_districts_figures_are_the_figures_of_its_summed_quantities() -> None:
    sums = agency_sums(ROOMS, ON_POST, HELD)
    district = {k: sums["A1"][k] + sums["A2"][k] for k in sums["A1"]}
    shown = space_figures(district)
    assert (shown["office_area_m2"], shown["idle_office_area_m2"]) == (101.0, 45.0)  # 71 + 30; 15 + 30
    assert shown["area_per_person_m2"] == 12.0  # 36 / 3: A2's empty office does not dilute it


def test_the_rank_alone_gives_the_standard() -> None:
    assert (rank_standard("bureau_deputy"), rank_standard("county_deputy")) == (18.0, 24.0)
    with pytest.raises(UnknownRank):
        rank_standard("minister")
