"""Office-space rules for agencies, buildings and rooms (pure: no I/O)."""

from __future__ import annotations

from datetime import date

import pytest

from services.common.kernel.errors import AlreadyExists, DateInFuture, NotFound, NotPositive, RuleViolation
from services.office_space.domain.agencies import Agency, UnknownDistrict
from services.office_space.domain.base import AREA_STANDARD_2014, UnknownRank
from services.office_space.domain.buildings import (
    ApprovedException,
    AreaExceedsBuilding,
    Building,
    NotAnOffice,
    OverStandardAllocation,
    RoomNotIdle,
)
from tests.support import agency_code

DISTRICTS = {"320402": "天宁区", "320400": "常州市本级"}
A1 = agency_code("320400", "A1")
TODAY = date(2026, 11, 23)


def agency(level: str = "city") -> Agency:
    a = Agency.register(
        agency_id=A1,
        name="市财政局",
        district="320400",
        kind="party_government",
        admin_level=level,
        authorised_headcount=50,
        known_districts=DISTRICTS,
    )
    a.mark_stored()
    return a


def building(*rooms: tuple[str, float, str]) -> Building:
    b = Building.register(
        building_id="B1",
        agency_id="A1",
        district="320400",
        name="市行政中心1号楼",
        address="龙城大道1280号",
        gross_floor_area_m2=1000.0,
    )
    for room_id, area, use in rooms:
        b.add_room(room_id, room_id, area, use, "A1", date(2026, 1, 1))
    b.mark_stored()
    return b


def allocate(
    b: Building, room: str, person: str, rank: str, level: str = "city", exception: ApprovedException | None = None
) -> None:
    b.allocate(room, person, "A1", level, rank, AREA_STANDARD_2014, TODAY, exception)


def test_an_agency_in_an_unknown_district_is_refused() -> None:
    with pytest.raises(UnknownDistrict):
        Agency.register(
            agency_id="A9",
            name="x",
            district="999999",
            kind="party_government",
            admin_level="city",
            authorised_headcount=5,
            known_districts=DISTRICTS,
        )


def test_a_subordinate_institution_names_its_supervising_agency_of_the_same_district() -> None:
    parent = agency()
    child = Agency.register(
        agency_id=agency_code("320400", "A2"),
        name="市财政局信息中心",
        district="320400",
        kind="public_institution",
        admin_level="city",
        authorised_headcount=12,
        known_districts=DISTRICTS,
        parent=parent,
    )
    assert child.parent_agency_id == A1
    assert child.pending_events[0].parent_agency_id == A1  # type: ignore[attr-defined]
    with pytest.raises(RuleViolation, match="not 320402"):
        Agency.register(
            agency_id=agency_code("320402", "A3"),
            name="区教研室",
            district="320402",
            kind="public_institution",
            admin_level="county",
            authorised_headcount=8,
            known_districts=DISTRICTS,
            parent=parent,
        )
    with pytest.raises(RuleViolation, match="not a registered agency"):
        Agency.register(
            agency_id=agency_code("320400", "A4"),
            name="x",
            district="320400",
            kind="public_institution",
            admin_level="city",
            authorised_headcount=8,
            known_districts=DISTRICTS,
            parent=Agency("A9"),
        )
    with pytest.raises(RuleViolation, match="not a registered agency"):
        Agency.register(
            agency_id=A1,
            name="x",
            district="320400",
            kind="public_institution",
            admin_level="city",
            authorised_headcount=8,
            known_districts=DISTRICTS,
            parent=parent,
        )  # itself


def test_staff_rank_must_exist_at_the_agencys_level() -> None:
    a = agency("city")
    a.post_staff("P1", "张三", "bureau_principal", "2026-01-01")
    with pytest.raises(UnknownRank):
        a.post_staff("P2", "李四", "section_principal", "2026-01-01")  # a county rank


def test_a_person_cannot_be_posted_twice_and_only_staff_on_post_can_leave() -> None:
    a = agency()
    a.post_staff("P1", "张三", "below_bureau", "2026-01-01")
    with pytest.raises(AlreadyExists):
        a.post_staff("P1", "张三", "below_bureau", "2026-01-02")
    a.record_departure("P1", "retired", "2026-06-30", date(2026, 11, 23))
    with pytest.raises(NotFound):
        a.record_departure("P1", "retired", "2026-07-01", date(2026, 11, 23))


def test_a_negative_headcount_is_refused() -> None:
    with pytest.raises(RuleViolation):
        agency().change_headcount(-1, "reorganisation")


def test_an_allocation_above_the_per_person_standard_is_refused_with_the_figures() -> None:
    b = building(("R1", 20.0, "office"))
    with pytest.raises(OverStandardAllocation) as refused:
        allocate(b, "R1", "P1", "bureau_deputy")  # 副局级: 18 m²
    assert refused.value.details == {
        "area_per_person_m2": 20.0,
        "standard_m2": 18.0,
        "rank": "bureau_deputy",
        "standard": "2014",
        "over_standard_persons": ["P1"],
    }
    assert b.pending_events == []


def test_an_allocation_at_the_standard_is_accepted() -> None:
    b = building(("R1", 18.0, "office"))
    allocate(b, "R1", "P1", "bureau_deputy")
    event = b.pending_events[-1]
    assert (event.area_per_person_m2, event.standard_m2, event.over_standard) == (18.0, 18.0, False)


def test_an_approved_exception_allows_an_over_standard_allocation_and_is_recorded() -> None:
    b = building(("R1", 20.0, "office"))
    allocate(b, "R1", "P1", "bureau_deputy", exception=ApprovedException("city_admin:wang", "专业设备需放置"))
    event = b.pending_events[-1]
    assert (event.over_standard, event.exception_approved_by, event.exception_reason) == (
        True,
        "city_admin:wang",
        "专业设备需放置",
    )


def test_county_and_city_agencies_have_different_standards() -> None:
    b = building(("R1", 24.0, "office"), ("R2", 24.0, "office"))
    allocate(b, "R1", "P1", "county_deputy", level="county")  # 县级副职: 24 m²
    with pytest.raises(OverStandardAllocation):
        allocate(b, "R2", "P2", "bureau_deputy", level="city")  # 副局级: 18 m²


def test_a_shared_room_divides_its_area_among_its_occupants() -> None:
    b = building(("R1", 18.0, "office"))
    with pytest.raises(OverStandardAllocation):
        allocate(b, "R1", "P1", "below_bureau")  # alone: 18 m² > 9 m²
    allocate(b, "R1", "P1", "city_deputy")  # 30 m² allowed
    allocate(b, "R1", "P2", "below_bureau")  # 9 m² each now
    assert b.pending_events[-1].area_per_person_m2 == 9.0


def test_only_office_rooms_of_the_agency_are_allocated_to_persons() -> None:
    b = building(("M1", 60.0, "meeting"), ("R1", 9.0, "office"))
    with pytest.raises(NotAnOffice):
        allocate(b, "M1", "P1", "city_principal")
    with pytest.raises(RuleViolation):
        b.allocate("R1", "P1", "OTHER", "city", "below_bureau", AREA_STANDARD_2014, TODAY)


def test_rooms_cannot_exceed_the_buildings_gross_floor_area() -> None:
    b = building(("R1", 900.0, "service"))
    with pytest.raises(AreaExceedsBuilding):
        b.add_room("R2", "R2", 101.0, "office", "A1", TODAY)
    with pytest.raises(NotPositive):
        b.add_room("R3", "R3", 0.0, "office", "A1", TODAY)


def test_an_office_vacant_for_the_configured_days_becomes_idle_once() -> None:
    b = building(("R1", 9.0, "office"), ("R2", 9.0, "office"), ("M1", 40.0, "meeting"))
    allocate(b, "R2", "P1", "below_bureau")
    assert b.detect_idle_rooms(date(2026, 3, 31), idle_after_days=90) == []  # 89 days
    assert b.detect_idle_rooms(date(2026, 4, 1), idle_after_days=90) == ["R1"]  # 90 days; R2 occupied; M1 not an office
    assert b.detect_idle_rooms(date(2026, 5, 1), idle_after_days=90) == []  # already idle


def test_a_released_room_counts_its_vacancy_from_the_release() -> None:
    b = building(("R1", 9.0, "office"))
    allocate(b, "R1", "P1", "below_bureau")
    b.release("R1", "P1", date(2026, 12, 1))
    assert b.detect_idle_rooms(date(2027, 2, 28), 90) == []
    assert b.detect_idle_rooms(date(2027, 3, 1), 90) == ["R1"]


def test_only_idle_rooms_are_transferred_between_agencies() -> None:
    b = building(("R1", 9.0, "office"))
    with pytest.raises(RoomNotIdle):
        b.transfer_idle_room("R1", "A2", "city_admin:wang", TODAY)
    b.detect_idle_rooms(date(2026, 6, 1), 90)
    b.transfer_idle_room("R1", "A2", "city_admin:wang", date(2026, 6, 2))
    assert b.rooms["R1"]["agency_id"] == "A2"
    b.allocate("R1", "P9", "A2", "county", "section_principal", AREA_STANDARD_2014, TODAY)


def test_rooms_held_by_staff_who_left_become_findings_once() -> None:
    b = building(("R1", 18.0, "office"), ("R2", 9.0, "office"))
    allocate(b, "R1", "P1", "bureau_deputy")
    allocate(b, "R2", "P2", "below_bureau")
    assert b.flag_departed("P1", "retired", "2026-10-31", TODAY) == ["R1"]
    finding = b.pending_events[-1]
    assert (type(finding).__name__, finding.room_id, finding.reason) == ("RoomHeldByDepartedStaff", "R1", "retired")
    count = len(b.pending_events)
    b.flag_departed("P1", "retired", "2026-10-31", TODAY)
    assert len(b.pending_events) == count  # not raised twice
    assert b.flag_departed("P3", "left", "2026-10-31", TODAY) == []


def test_a_departure_may_be_backdated_but_not_dated_in_the_future() -> None:
    a = agency()
    a.post_staff("P1", "张三", "below_bureau", "2020-01-01")
    with pytest.raises(DateInFuture):
        a.record_departure("P1", "retired", "2026-11-24", TODAY)
    a.record_departure("P1", "retired", "2026-03-31", TODAY)
    assert a.pending_events[-1].departed_on == "2026-03-31"  # type: ignore[attr-defined]


# -- the agency's id: a unified social credit code (GB 32100-2015) ---------------------------------------------


def test_an_agency_registers_under_a_unified_social_credit_code_of_its_own_district() -> None:
    # 11320402000000001 weighted by 3^(i-1) mod 31 = 1 3 9 27 19 26 16 17 20 29 25 13 8 24 10 30 28:
    # 1·1 + 1·3 + 3·9 + 2·27 + 0·19 + 4·26 + 0·16 + 2·17 + 0·20 + … + 0·30 + 1·28 = 1+3+27+54+104+34+28 = 251;
    # 251 mod 31 = 3, 31 - 3 = 28 → ALPHABET[28] = "W"
    code = "11320402000000001W"
    assert (
        Agency.register(
            agency_id=code,
            name="区财政局",
            district="320402",
            kind="party_government",
            admin_level="county",
            authorised_headcount=20,
            known_districts=DISTRICTS,
        ).id
        == code
    )
    with pytest.raises(RuleViolation, match="not a unified social credit code") as wrong_check:
        Agency.register(
            agency_id="11320402000000001X",
            name="区财政局",
            district="320402",
            kind="party_government",
            admin_level="county",
            authorised_headcount=20,
            known_districts=DISTRICTS,
        )
    assert wrong_check.value.fields == {"agency_id": ["check character 'X' does not match, 'W' expected"]}
    with pytest.raises(RuleViolation, match="issued in division 320402, not in district 320400") as elsewhere:
        Agency.register(
            agency_id=code,
            name="市财政局",
            district="320400",
            kind="party_government",
            admin_level="city",
            authorised_headcount=20,
            known_districts=DISTRICTS,
        )
    assert elsewhere.value.fields == {"agency_id": ["its division code is not the district's 320400"]}
    for bad, reason in [
        ("A1", "a unified social credit code has 18 characters, not 2"),
        ("11320402000000001w", "characters 'w' are not in a unified social credit code (no I, O, Z, S, V, lower case)"),
        ("11320402O00000001W", "characters 'O' are not in a unified social credit code (no I, O, Z, S, V, lower case)"),
        ("11A20402000000001W", "characters 3 to 8 are an administrative division code (six digits)"),
    ]:
        with pytest.raises(RuleViolation) as refused:
            Agency.register(
                agency_id=bad,
                name="x",
                district="320402",
                kind="party_government",
                admin_level="county",
                authorised_headcount=1,
                known_districts=DISTRICTS,
            )
        assert refused.value.fields == {"agency_id": [reason]}, bad


def test_published_codes_pass_the_check() -> None:
    """Codes printed on real licences (a company's and the standard's own example) pass; one character
    changed fails."""
    from services.common.kernel import uscc

    for code in ("91350100M000100Y43", "91110108MA01KPJ13N"):
        assert uscc.problem(code) is None
        assert uscc.problem(code[:-1] + ("0" if code[-1] != "0" else "1")) is not None
