"""Shared rooms judged the way the 2014 standard means it: a person's share = usable area ÷ current
occupants, re-judged for every occupant on every allocation and release (pure: no I/O)."""

from __future__ import annotations

from datetime import date

import pytest

from services.common.kernel.errors import DateInFuture, RuleViolation
from services.common.kernel.events import event_from_payload
from services.office_space.domain.base import AREA_STANDARD_2014
from services.office_space.domain.buildings import (
    ApprovedException,
    Building,
    Newcomer,
    OverStandardAllocation,
    RoomAllocated,
    RoomFull,
    RoomReleased,
    ShareRoseAboveStandard,
    share_of_room,
)

TODAY = date(2026, 11, 23)


def building(area: float = 18.0, planned: int | None = None) -> Building:
    b = Building.register(
        building_id="B1",
        agency_id="A1",
        district="320402",
        name="区行政中心",
        address="和平路1号",
        gross_floor_area_m2=1000.0,
    )
    b.add_room("R1", "101", area, "office", "A1", date(2026, 1, 1), planned_occupancy=planned)
    b.mark_stored()
    return b


def together(b: Building, *people: tuple[str, str], exception: ApprovedException | None = None) -> None:
    newcomers = [Newcomer(person, rank) for person, rank in people]
    b.allocate_many("R1", newcomers, "A1", "county", AREA_STANDARD_2014, TODAY, exception)


def test_the_share_is_the_area_over_current_occupants_compared_exactly() -> None:
    shares = share_of_room(18.0, {"P1": 9.0, "P2": 9.0})
    # 18 / 2 = 9.0 each, and 18 > 9 × 2 is false: within standard, no rounding involved
    assert [(s.person_id, s.share_m2, s.over_standard) for s in shares] == [("P1", 9.0, False), ("P2", 9.0, False)]
    alone = share_of_room(18.0, {"P1": 9.0}, {"P1": "city_admin:wang"})
    # 18 / 1 = 18.0 > 9: over-standard even with an approved exception, shown as approved
    assert [(s.share_m2, s.over_standard, s.exception_approved_by) for s in alone] == [(18.0, True, "city_admin:wang")]


def test_two_below_section_staff_sharing_18_m2_are_accepted_together_without_exception() -> None:
    b = building(18.0)
    together(b, ("P1", "below_section"), ("P2", "below_section"))  # 科级以下 9 m² each; 18 / 2 = 9
    events = [e for e in b.pending_events if isinstance(e, RoomAllocated)]
    assert [(e.person_id, e.area_per_person_m2, e.over_standard, e.exception_approved_by) for e in events] == [
        ("P1", 9.0, False, None),
        ("P2", 9.0, False, None),
    ]
    # each event carries the room as it stands after the whole command
    assert events[0].occupants == events[1].occupants
    assert [o["share_m2"] for o in events[0].occupants or []] == [9.0, 9.0]


def test_one_by_one_the_first_of_two_needs_an_exception_since_the_check_judges_current_occupants() -> None:
    b = building(18.0)
    with pytest.raises(OverStandardAllocation):
        together(b, ("P1", "below_section"))  # 18 / 1 = 18 > 9


def test_an_allocation_re_judges_everyone_in_the_room() -> None:
    b = building(18.0)
    together(b, ("P1", "below_section"), exception=ApprovedException("city_admin:wang", "临时"))  # 18 > 9
    assert b.rooms["R1"]["occupants"]["P1"]["over_standard"] is True
    together(b, ("P2", "below_section"))  # now 18 / 2 = 9 each
    assert b.rooms["R1"]["occupants"]["P1"]["share_m2"] == 9.0
    assert b.rooms["R1"]["occupants"]["P1"]["over_standard"] is False
    last = b.pending_events[-1]
    assert isinstance(last, RoomAllocated)
    assert [(o["person_id"], o["share_m2"], o["over_standard"]) for o in last.occupants or []] == [
        ("P1", 9.0, False),
        ("P2", 9.0, False),
    ]


def test_a_release_that_leaves_someone_above_standard_raises_a_finding_dated_the_release() -> None:
    b = building(18.0)
    together(b, ("P1", "below_section"), ("P2", "below_section"))
    b.release("R1", "P2", TODAY, released_on=date(2026, 3, 31))  # not refused: people leave
    released, finding = b.pending_events[-2:]
    assert isinstance(released, RoomReleased) and isinstance(finding, ShareRoseAboveStandard)
    assert released.occupants == [
        {"person_id": "P1", "share_m2": 18.0, "standard_m2": 9.0, "over_standard": True, "exception_approved_by": None}
    ]
    # P1 now holds 18 / 1 = 18 m² against 9 m²; the finding is dated the release, not the day it was entered
    assert (finding.person_id, finding.share_m2, finding.standard_m2) == ("P1", 18.0, 9.0)
    assert (finding.opened_on, finding.detected_on) == ("2026-03-31", "2026-11-23")
    assert b.rooms["R1"]["occupants"]["P1"]["over_standard"] is True


def test_a_release_raises_a_finding_for_each_who_stays_above_standard_and_none_for_those_within() -> None:
    b = building(36.0)
    together(b, ("P1", "section_principal"), ("P2", "section_principal"), ("P3", "section_principal"))  # 36 / 3 = 12
    b.release("R1", "P3", TODAY)  # 正科级 12 m²: 36 / 2 = 18 > 12 for each of P1 and P2
    assert [e.person_id for e in b.pending_events if isinstance(e, ShareRoseAboveStandard)] == ["P1", "P2"]
    mixed = building(18.0)
    together(mixed, ("P1", "county_deputy"), ("P2", "below_section"))  # 18 / 2 = 9: ≤ 24 and ≤ 9
    mixed.release("R1", "P2", TODAY)  # 县级副职 alone: 18 ≤ 24
    assert not [e for e in mixed.pending_events if isinstance(e, ShareRoseAboveStandard)]


def test_an_approved_exception_that_still_covers_the_share_raises_no_new_finding() -> None:
    b = building(30.0)
    approved = ApprovedException("city_admin:wang", "业务用房不足")
    together(b, ("P1", "below_section"), ("P2", "below_section"), exception=approved)  # 30 / 2 = 15 > 9
    together(b, ("P3", "below_section"), exception=approved)  # 30 / 3 = 10 > 9
    b.release("R1", "P3", TODAY)  # back to 15 each: over before, over after, approved
    assert not [e for e in b.pending_events if isinstance(e, ShareRoseAboveStandard)]
    assert b.rooms["R1"]["occupants"]["P1"]["over_standard"] is True


def test_a_release_cannot_be_dated_in_the_future() -> None:
    b = building(18.0)
    together(b, ("P1", "below_section"), ("P2", "below_section"))
    with pytest.raises(DateInFuture):
        b.release("R1", "P1", TODAY, released_on=date(2026, 11, 24))
    b.release("R1", "P1", TODAY, released_on=TODAY)
    assert b.pending_events[-2].released_on == "2026-11-23"  # type: ignore[attr-defined]


def test_nobody_and_the_same_person_twice_are_refused() -> None:
    b = building(18.0)
    with pytest.raises(RuleViolation, match="nobody"):
        together(b)
    with pytest.raises(RuleViolation, match="twice"):
        together(b, ("P1", "below_section"), ("P1", "below_section"))


def test_the_planned_occupancy_is_the_rooms_capacity() -> None:
    b = building(27.0, planned=2)
    with pytest.raises(RoomFull):
        together(b, ("P1", "below_section"), ("P2", "below_section"), ("P3", "below_section"))
    together(b, ("P1", "below_section"), ("P2", "below_section"), exception=ApprovedException("city_admin:w", "x"))
    # 27 / 2 = 13.5 > 9: both over, both approved
    assert [(o["share_m2"], o["exception_approved_by"]) for o in b.rooms["R1"]["occupants"].values()] == [
        (13.5, "city_admin:w"),
        (13.5, "city_admin:w"),
    ]


def test_a_room_can_be_registered_vacant_since_a_past_date_and_idles_from_it() -> None:
    b = Building.register(
        building_id="B1",
        agency_id="A1",
        district="320402",
        name="区行政中心",
        address="和平路1号",
        gross_floor_area_m2=1000.0,
    )
    b.add_room("R1", "101", 18.0, "office", "A1", TODAY, vacant_since=date(2026, 5, 1))
    with pytest.raises(DateInFuture):
        b.add_room("R2", "102", 18.0, "office", "A1", TODAY, vacant_since=date(2026, 12, 1))
    # 2026-05-01 → 2026-11-23 is 30+30+31+31+30+31+22 = 206 days ≥ 90
    assert b.detect_idle_rooms(TODAY) == ["R1"]
    assert b.pending_events[-1].idle_days == 206  # type: ignore[attr-defined]


def test_a_building_stored_before_shares_were_re_judged_still_replays() -> None:
    """Events stored as v1 (no occupants, no planned occupancy, no vacant-since) read through the upcasters."""
    stored = [
        (
            "BuildingRegistered",
            1,
            {
                "building_id": "B1",
                "agency_id": "A1",
                "district": "320402",
                "name": "楼",
                "address": "路1号",
                "gross_floor_area_m2": 1000.0,
            },
        ),
        (
            "RoomAdded",
            1,
            {
                "building_id": "B1",
                "room_id": "R1",
                "number": "101",
                "usable_area_m2": 18.0,
                "use": "office",
                "agency_id": "A1",
                "added_on": "2026-01-01",
            },
        ),
        (
            "RoomAllocated",
            1,
            {
                "building_id": "B1",
                "room_id": "R1",
                "person_id": "P1",
                "agency_id": "A1",
                "rank": "county_deputy",
                "area_per_person_m2": 18.0,
                "standard_m2": 24.0,
                "standard_version": "2014",
                "over_standard": False,
                "exception_approved_by": None,
                "exception_reason": None,
                "allocated_on": "2026-01-02",
            },
        ),
        ("RoomReleased", 1, {"building_id": "B1", "room_id": "R1", "person_id": "P1", "released_on": "2026-02-01"}),
    ]
    events = [event_from_payload("office_space", name, version, payload) for name, version, payload in stored]
    b = Building.rehydrate("B1", events)
    assert (b.version, b.rooms["R1"]["occupants"], b.rooms["R1"]["vacant_since"]) == (4, {}, "2026-02-01")
    assert b.rooms["R1"]["planned_occupancy"] is None
    together(b, ("P2", "below_section"), ("P3", "below_section"))  # and takes new commands: 18 / 2 = 9 each
    assert [o["share_m2"] for o in b.rooms["R1"]["occupants"].values()] == [9.0, 9.0]
