"""Office-space rules for leases, repair projects, inspections and operating properties (pure)."""

from __future__ import annotations

from datetime import date

import pytest

from services.common.kernel.errors import (
    AlreadyExists,
    DateInFuture,
    InvalidState,
    NotFound,
    RuleViolation,
    ValidationFailed,
    WrongStatus,
)
from services.office_space.domain.base import InvalidPeriod
from services.office_space.domain.inspections import Inspection, overdue
from services.office_space.domain.leases import Lease, require_citing_inspection, require_lease_references
from services.office_space.domain.properties import OperatingProperty
from services.office_space.domain.repairs import RepairProject

TODAY = date(2026, 11, 23)


def lease(kind: str = "rent", rent_fen: int = 500_000) -> Lease:
    return Lease.request(
        lease_id="L1",
        agency_id="A1",
        district="320400",
        building_id="B1",
        room_ids=["R1"],
        kind=kind,
        counter_party="常州某公司",
        start_on=date(2027, 1, 1),
        end_on=date(2028, 1, 1),
        monthly_rent_fen=rent_fen,
    )


def test_a_lease_needs_a_term_and_rent_matching_its_kind() -> None:
    with pytest.raises(InvalidPeriod):
        Lease.request(
            lease_id="L1",
            agency_id="A1",
            district="320400",
            building_id="B1",
            room_ids=["R1"],
            kind="rent",
            counter_party="x",
            start_on=date(2027, 1, 1),
            end_on=date(2027, 1, 1),
            monthly_rent_fen=1_000,
        )
    with pytest.raises(RuleViolation):
        lease("rent", 0)
    with pytest.raises(RuleViolation):
        lease("lend", 10_000)
    lease("lend", 0)


def test_a_lease_is_active_only_after_approval_and_its_start() -> None:
    pending = lease()
    with pytest.raises(WrongStatus):
        pending.activate(date(2027, 1, 2))
    pending.approve("city_admin:wang")
    with pytest.raises(RuleViolation):
        pending.activate(date(2026, 12, 31))
    pending.activate(date(2027, 1, 1))
    pending.end(date(2027, 6, 1))
    assert pending.status == "ended"


def test_a_rejected_lease_cannot_be_approved() -> None:
    refused = lease()
    refused.reject("city_admin:wang", "用途不符")
    with pytest.raises(WrongStatus):
        refused.approve("city_admin:wang")


def test_a_lease_found_without_approval_is_a_finding_that_can_be_stopped() -> None:
    found = Lease.found_unapproved(
        lease_id="L2",
        agency_id="A1",
        district="320400",
        building_id="B1",
        room_ids=["R3"],
        counter_party="某餐饮店",
        inspection_id="I1",
        today=TODAY,
    )
    assert (found.status, type(found.pending_events[0]).__name__) == ("unapproved", "UnapprovedLeaseFound")
    with pytest.raises(WrongStatus):
        found.activate(TODAY)
    found.end(TODAY)


def test_a_lease_names_a_building_of_its_district_and_rooms_of_that_building() -> None:
    require_lease_references("320402", "B1", "320402", {"R1", "R2"}, ["R1", "R2"])  # all known: accepted
    with pytest.raises(NotFound) as other_building:
        require_lease_references("320402", "B1", "320402", {"R1", "R2"}, ["R1", "R9"])
    assert other_building.value.fields == {"room_ids": ["not in building B1: R9"]}
    with pytest.raises(NotFound) as other_district:
        require_lease_references("320402", "B7", "320412", {"R1"}, ["R1"])
    assert other_district.value.fields == {"building_id": ["no such building in district 320402"]}


def test_an_unapproved_lease_cites_an_opened_inspection_of_its_agency() -> None:
    require_citing_inspection("I1", "A1", "A1")
    for inspected in (None, "A2"):  # never opened, or an inspection of another agency
        with pytest.raises(NotFound) as refused:
            require_citing_inspection("I1", inspected, "A1")
        assert refused.value.fields == {"inspection_id": ["no inspection of agency A1 with this id"]}


def test_an_inspection_may_be_brought_in_from_the_past_but_not_the_future() -> None:
    held = Inspection.open(
        inspection_id="I2",
        agency_id="A1",
        district="320400",
        topic="专项巡检",
        inspected_on=date(2019, 5, 6),
        today=TODAY,
    )
    assert held.inspected_on == "2019-05-06"
    with pytest.raises(DateInFuture) as future:
        Inspection.open(
            inspection_id="I3",
            agency_id="A1",
            district="320400",
            topic="专项巡检",
            inspected_on=date(2026, 11, 24),
            today=TODAY,
        )
    assert future.value.fields == {"inspected_on": ["must not be in the future"]}


def project() -> RepairProject:
    return RepairProject.apply(
        project_id="RP1",
        agency_id="A1",
        district="320400",
        building_id="B1",
        category="major",
        scope="屋面防水与外墙修缮",
        budget_fen=80_000_000,
        today=TODAY,
    )


def test_nothing_is_executed_before_the_necessity_review_and_approval() -> None:
    p = project()
    with pytest.raises(WrongStatus):
        p.start_execution(TODAY)
    with pytest.raises(WrongStatus):
        p.approve(70_000_000, "city_admin:wang")  # not reviewed yet
    p.review_necessity(True, "渗漏严重，确需维修", "reviewer:li")
    p.approve(70_000_000, "city_admin:wang")
    p.start_execution(TODAY)


def test_a_project_found_unnecessary_cannot_be_approved() -> None:
    p = project()
    p.review_necessity(False, "可小修解决", "reviewer:li")
    with pytest.raises(InvalidState):
        p.approve(10_000_000, "city_admin:wang")
    p.reject("经审核不必要", "city_admin:wang")


def test_changes_outside_the_approved_plan_are_flagged_and_need_a_reason() -> None:
    p = project()
    p.review_necessity(True, "确需", "reviewer:li")
    p.approve(70_000_000, "city_admin:wang")
    p.start_execution(TODAY)
    with pytest.raises(RuleViolation):
        p.record_change("增加地面翻新", " ", 5_000_000, outside_plan=True)
    p.record_change("防水材料规格调整", "原材料停产", 300_000, outside_plan=False)
    p.record_change("增加地面翻新", "使用单位要求", 5_000_000, outside_plan=True)
    inside, outside = p.pending_events[-2], p.pending_events[-1]
    # 300 000 + 5 000 000 fen (3 000 + 50 000 yuan)
    assert (inside.flagged, outside.flagged, outside.changes_total_fen) == (False, True, 5_300_000)


def inspection() -> Inspection:
    return Inspection.open(
        inspection_id="I1",
        agency_id="A1",
        district="320400",
        topic="办公用房专项巡检",
        inspected_on=date(2026, 10, 1),
        today=TODAY,
    )


def test_a_finding_needs_a_deadline_after_the_inspection_and_is_rectified_once() -> None:
    i = inspection()
    with pytest.raises(RuleViolation):
        i.record_finding("F1", "idle", "3间办公室闲置", date(2026, 10, 1))
    i.record_finding("F1", "idle", "3间办公室闲置", date(2026, 11, 1))
    with pytest.raises(AlreadyExists):
        i.record_finding("F1", "idle", "again", date(2026, 11, 1))
    with pytest.raises(NotFound):
        i.rectify("F9", "x", TODAY)
    i.rectify("F1", "已调剂给市档案馆", TODAY)
    with pytest.raises(InvalidState):
        i.rectify("F1", "again", TODAY)


def test_overdue_findings_are_the_open_ones_past_their_deadline_most_overdue_first() -> None:
    findings = [
        {"finding_id": "F1", "deadline": "2026-11-01", "rectified_on": None},
        {"finding_id": "F2", "deadline": "2026-10-15", "rectified_on": None},
        {"finding_id": "F3", "deadline": "2026-10-01", "rectified_on": "2026-10-20"},
        {"finding_id": "F4", "deadline": "2026-11-23", "rectified_on": None},
    ]
    assert [(f["finding_id"], f["days_overdue"]) for f in overdue(findings, TODAY)] == [("F2", 39), ("F1", 22)]


def prop() -> OperatingProperty:
    p = OperatingProperty.register(
        "OP1", "320400", "延陵西路商铺", baseline_rent_income_fen=10_000_000, baseline_vacancy_cost_fen=2_000_000
    )
    p.add_unit("U1", 100.0, 100_000, TODAY, added_on=date(2020, 1, 1))
    p.add_unit("U2", 300.0, 200_000, TODAY, added_on=date(2020, 1, 1))
    return p


def test_a_unit_is_not_let_twice_at_once_and_rent_needs_a_tenancy_of_its_month() -> None:
    p = prop()
    with pytest.raises(RuleViolation):
        p.receive_rent("U1", "2026-11", 500_000, TODAY)
    p.let("U1", "某书店", 500_000, date(2026, 1, 1), date(2026, 12, 31))
    with pytest.raises(RuleViolation) as overlap:
        p.let("U1", "另一家", 600_000, date(2026, 12, 1), date(2027, 6, 30))
    assert overlap.value.fields == {"unit_id": ["already let from 2026-01-01 to 2026-12-31"]}
    p.let("U1", "另一家", 600_000, date(2027, 1, 1), date(2027, 6, 30))  # the next tenancy, planned
    with pytest.raises(RuleViolation) as before:
        p.receive_rent("U1", "2025-12", 500_000, TODAY)
    assert before.value.fields == {"period": ["the unit is not let"]}
    p.receive_rent("U1", "2026-03", 500_000, TODAY)  # a past month of the tenancy: rent paid late


def test_backdated_units_and_vacancies_are_validated() -> None:
    p = prop()
    with pytest.raises(DateInFuture) as future:
        p.add_unit("U3", 50.0, 1_000, TODAY, added_on=date(2026, 11, 24))
    assert future.value.fields == {"added_on": ["must not be in the future"]}
    with pytest.raises(ValidationFailed) as ancient:
        p.add_unit("U3", 50.0, 1_000, TODAY, added_on=date(1899, 12, 31))
    assert ancient.value.fields == {"added_on": ["must be between 1900-01-01 and 2100-12-31"]}
    p.add_unit("U3", 50.0, 1_000, TODAY, added_on=date(2026, 11, 1))
    with pytest.raises(RuleViolation) as early:  # a tenancy before the unit existed
        p.let("U3", "x", 1_000, date(2026, 10, 1), date(2027, 1, 1))
    assert early.value.fields == {"start_on": ["must not be before the unit was added (2026-11-01)"]}
    with pytest.raises(ValidationFailed) as far:  # a planned end may lie ahead, but not beyond 2100
        p.let("U1", "某书店", 500_000, date(2026, 1, 1), date(2101, 1, 1))
    assert far.value.fields == {"end_on": ["must be between 1900-01-01 and 2100-12-31"]}
    p.let("U1", "某书店", 500_000, date(2026, 1, 1), date(2026, 12, 31))
    with pytest.raises(RuleViolation):  # not let that day
        p.vacate("U2", TODAY, vacated_on=date(2026, 6, 1))
    with pytest.raises(DateInFuture):
        p.vacate("U1", TODAY, vacated_on=date(2026, 12, 1))  # in the future
    p.vacate("U1", TODAY, vacated_on=date(2026, 7, 1))
    assert p.units["U1"]["tenancies"] == [["2026-01-01", "2026-06-30"]]  # vacant from 1 July


def test_occupancy_is_the_let_share_of_the_area_on_a_day_from_the_tenancies_dates() -> None:
    p = prop()
    assert p.occupancy_rate(TODAY) == 0.0
    p.let("U2", "某超市", 900_000, date(2026, 1, 1), date(2026, 6, 30))
    # on 2026-03-01: U2 (300 m²) let of 100 + 300 m² = 0.75
    assert p.occupancy_rate(date(2026, 3, 1)) == 0.75
    # the tenancy ended on 30 June and nobody vacated it: vacant from 1 July all the same
    assert p.occupancy_rate(date(2026, 6, 30)) == 0.75 and p.occupancy_rate(date(2026, 7, 1)) == 0.0
    assert p.occupancy_rate(date(2019, 12, 31)) is None  # no unit yet: no figure, not 0


def test_income_and_vacancy_costs_are_judged_against_2020_and_the_goals() -> None:
    p = prop()
    p.let("U1", "某书店", 900_000, date(2026, 1, 1), date(2027, 1, 1))
    for month in range(1, 13):
        p.receive_rent("U1", f"2026-{month:02d}", 860_000, TODAY)
    report = p.performance(2026, {"U2": 9}, date(2026, 12, 31))  # 9 × 200 000 fen = 1 800 000 (−10 % on 2 000 000)
    # 12 × 860 000 fen = 10 320 000, +3.2 % on 10 000 000
    assert (report["rent_income_fen"], report["rent_income_change"], report["rent_income_goal_met"]) == (
        10_320_000,
        0.032,
        True,
    )
    assert (report["vacancy_cost_fen"], report["vacancy_cost_change"], report["vacancy_cost_goal_met"]) == (
        1_800_000,
        -0.1,
        True,
    )
    assert p.performance(2025, {"U2": 12}, date(2025, 12, 31))["vacancy_cost_goal_met"] is False


def test_vacant_months_come_from_the_tenancies_and_the_units_dates() -> None:
    p = OperatingProperty.register("OP1", "320400", "商铺", 100_000, 10_000)
    p.add_unit("U1", 100.0, 100_000, TODAY, added_on=date(2025, 6, 1))
    p.add_unit("U2", 100.0, 100_000, TODAY, added_on=date(2025, 6, 1))
    p.add_unit("U3", 100.0, 100_000, date(2026, 12, 5), added_on=date(2026, 12, 5))
    p.let("U1", "书店", 500_000, date(2026, 4, 1), date(2027, 4, 1))  # vacant January to March
    p.vacate("U1", date(2026, 12, 5), vacated_on=date(2026, 9, 15))  # and again October to December
    # U1: Jan-Mar + Oct-Dec = 6; U2: never let, 12; U3: added in December, December only = 1
    assert p.vacant_months(2026, date(2026, 12, 31)) == {"U1": 6, "U2": 12, "U3": 1}
    # in the running year, asked on 2026-11-23: months to November only; U3 did not exist yet
    assert p.vacant_months(2026, TODAY) == {"U1": 5, "U2": 11}
    # 2025: from June, when the units were added: 7 months each
    assert p.vacant_months(2025, date(2026, 12, 5)) == {"U1": 7, "U2": 7}


def test_a_year_s_performance_stops_at_today_while_the_year_runs() -> None:
    p = OperatingProperty.register("OP1", "320400", "商铺", 0, 1_000_000)
    p.add_unit("U1", 100.0, 100_000, TODAY, added_on=date(2020, 1, 1))
    p.add_unit("U2", 100.0, 50_000, TODAY, added_on=date(2020, 1, 1))
    p.let("U1", "书店", 500_000, date(2020, 1, 1), date(2026, 6, 30))
    running = p.year_performance(2026, TODAY)
    # occupancy on 2026-11-23: U1's tenancy ended on 30 June, so 0 of 200 m² let = 0.0 (not 0.5)
    # vacancy to November: U1 Jul-Nov 5 × 100 000 + U2 Jan-Nov 11 × 50 000 = 500 000 + 550 000 = 1 050 000
    assert (running["occupancy_on"], running["occupancy_rate"], running["vacancy_cost_fen"]) == (
        "2026-11-23",
        0.0,
        1_050_000,
    )
    closed = p.year_performance(2025, TODAY)
    # 2025 closed: on 2025-12-31 U1 let: 100 of 200 m² = 0.5; vacancy U2 12 × 50 000 = 600 000 (−40 % on 1 000 000)
    assert (closed["occupancy_on"], closed["occupancy_rate"], closed["vacancy_cost_fen"]) == (
        "2025-12-31",
        0.5,
        600_000,
    )
    assert closed["vacancy_cost_change"] == -0.4


def test_an_inspection_finding_is_dated_the_inspection_however_late_it_is_entered() -> None:
    inspection = Inspection.open(
        inspection_id="I9",
        agency_id="A1",
        district="320402",
        topic="专项巡检",
        inspected_on=date(2026, 3, 2),
        today=TODAY,
    )
    inspection.record_finding("F9", "safety", "消防通道堆放杂物", date(2026, 4, 1))
    recorded = inspection.pending_events[-1]
    assert recorded.found_on == "2026-03-02"  # type: ignore[attr-defined]
