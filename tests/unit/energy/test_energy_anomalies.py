"""Anomalies (能耗异常): detectors over consumption series, and the open → acknowledged → resolved life cycle."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from services.common.kernel.errors import WrongStatus
from services.energy.domain.anomalies import (
    Anomaly,
    AnomalyRaised,
    AnomalyRules,
    Finding,
    ResolutionRequired,
    UnknownAnomalyKind,
    WorkCalendar,
    detect_base_load,
    detect_counter_reversals,
    detect_gaps,
    detect_spikes,
    detect_stuck,
)
from services.energy.domain.readings import RejectedReading
from tests.unit.energy.builders import INFO, MONDAY, hourly_days

SATURDAY = MONDAY - timedelta(days=2)
NOW = datetime(2024, 3, 12, 1, 0, tzinfo=UTC)


def workday_profile(day_load: float = 10.0, night_load: float = 1.0) -> dict[int, float]:
    return {h: (day_load if 8 <= h < 18 else night_load) for h in range(24)}


def history(days: int = 14, **profile: float) -> dict[str, float]:
    """Hourly use of the ``days`` days before Monday, then Monday itself (same profile)."""
    return hourly_days(MONDAY - timedelta(days=days), days + 1, workday_profile(**profile))


def spike_hours(hourly: dict[str, float], day: date = MONDAY, **rules: Any) -> list[str]:
    return [f.evidence["hour"] for f in detect_spikes("m-1", hourly, day, rules=AnomalyRules(**rules))]


def test_an_hour_above_twice_the_median_of_the_same_hour_is_a_spike() -> None:
    hourly = history() | {f"{MONDAY}T10": 21.0}
    findings = detect_spikes("m-1", hourly, MONDAY)
    assert [f.evidence for f in findings] == [
        {"hour": f"{MONDAY}T10", "consumption": 21.0, "baseline_median": 10.0, "factor": 2.0, "baseline_days": 10}
    ]
    assert (findings[0].period_start, findings[0].period_end) == (
        "2024-03-11T02:00:00+00:00",
        "2024-03-11T03:00:00+00:00",
    )


def test_an_hour_of_exactly_twice_the_median_is_no_spike() -> None:
    assert spike_hours(history() | {f"{MONDAY}T10": 20.0}) == []


def test_a_spike_must_also_exceed_the_baseline_by_a_minimum_amount() -> None:
    quiet = history(night_load=0.1) | {f"{MONDAY}T02": 0.5}
    assert spike_hours(quiet) == []
    assert spike_hours(quiet, spike_min_excess=0.2) == [f"{MONDAY}T02"]


def test_without_enough_past_days_there_is_no_baseline_and_no_spike() -> None:
    short = hourly_days(MONDAY - timedelta(days=4), 5, workday_profile()) | {f"{MONDAY}T10": 50.0}
    assert spike_hours(short) == []


def test_weekends_are_compared_with_weekends_and_workdays_with_workdays() -> None:
    start = SATURDAY - timedelta(days=21)
    hourly = {
        f"{start + timedelta(days=d)}T10": (2.0 if (start + timedelta(days=d)).weekday() >= 5 else 10.0)
        for d in range(22)
    }
    hourly[f"{SATURDAY}T10"] = 5.0
    assert spike_hours(hourly, SATURDAY, baseline_days=21) == [f"{SATURDAY}T10"]


def test_holidays_are_off_and_make_up_days_are_working_days() -> None:
    calendar = WorkCalendar(holidays=frozenset({MONDAY}), extra_workdays=frozenset({SATURDAY}))
    assert (calendar.is_workday(MONDAY), calendar.is_workday(SATURDAY)) == (False, True)
    assert calendar.is_workday(MONDAY + timedelta(days=1))
    assert not calendar.is_workday(SATURDAY + timedelta(days=1))


def test_a_night_load_above_half_the_working_hours_load_is_a_night_base_load() -> None:
    findings = detect_base_load("m-1", history(night_load=5.5), MONDAY)
    assert [(f.kind, f.evidence["share"]) for f in findings] == [("night_base_load", 0.55)]
    assert detect_base_load("m-1", history(night_load=5.0), MONDAY) == []


def test_a_weekend_load_above_the_threshold_of_recent_working_hours_is_a_weekend_base_load() -> None:
    week = hourly_days(SATURDAY - timedelta(days=5), 5, workday_profile())
    heavy = week | hourly_days(SATURDAY, 1, {}, default=4.5)
    findings = detect_base_load("m-1", heavy, SATURDAY)
    assert [(f.kind, f.evidence["share"], f.period_start) for f in findings] == [
        ("weekend_base_load", 0.45, "2024-03-08T16:00:00+00:00")
    ]
    assert detect_base_load("m-1", week | hourly_days(SATURDAY, 1, {}, default=4.0), SATURDAY) == []


def test_a_holiday_is_judged_like_a_weekend() -> None:
    calendar = WorkCalendar(holidays=frozenset({MONDAY}))
    hourly = history() | hourly_days(MONDAY, 1, {}, default=4.5)
    assert [f.kind for f in detect_base_load("m-1", hourly, MONDAY, calendar)] == ["weekend_base_load"]


def test_a_day_without_working_hours_use_gives_no_base_load_share() -> None:
    assert detect_base_load("m-1", hourly_days(MONDAY, 1, {h: 5.0 for h in range(8)}, default=0.0), MONDAY) == []


def readings(start: datetime, count: int, consumption: float = 0.0) -> list[list[Any]]:
    return [[(start + timedelta(minutes=5 * n)).isoformat(), 500.0, consumption] for n in range(count)]


MONDAY_10_LOCAL = datetime(2024, 3, 11, 2, 0, tzinfo=UTC)
MONDAY_23_LOCAL = datetime(2024, 3, 11, 15, 0, tzinfo=UTC)


def test_twelve_unchanged_readings_in_working_hours_are_a_stuck_meter() -> None:
    series = readings(MONDAY_10_LOCAL - timedelta(minutes=5), 1, 3.0) + readings(MONDAY_10_LOCAL, 12)
    findings = detect_stuck("m-1", series)
    assert [(f.kind, f.period_start, f.evidence["working_hour_readings"]) for f in findings] == [
        ("stuck_meter", "2024-03-11T02:00:00+00:00", 12)
    ]


def test_eleven_unchanged_readings_are_not_yet_stuck() -> None:
    assert detect_stuck("m-1", readings(MONDAY_10_LOCAL, 11)) == []


def test_unchanged_readings_at_night_are_not_a_stuck_meter() -> None:
    assert detect_stuck("m-1", readings(MONDAY_23_LOCAL, 48)) == []


def test_a_reading_that_moves_ends_the_run() -> None:
    series = readings(MONDAY_10_LOCAL, 6) + readings(MONDAY_10_LOCAL + timedelta(minutes=30), 1, 1.0)
    series += readings(MONDAY_10_LOCAL + timedelta(minutes=35), 6)
    assert detect_stuck("m-1", series) == []


def test_a_gap_of_an_hour_or_more_is_missing_data() -> None:
    gaps = [["2024-03-11T02:00:00+00:00", "2024-03-11T03:00:00+00:00", 3_600], ["a", "b", 3_599]]
    assert [(f.kind, f.evidence) for f in detect_gaps("m-1", gaps)] == [("missing_data", {"seconds": 3_600})]


def test_readings_refused_for_a_counter_going_backwards_are_one_negative_consumption_finding() -> None:
    rejected = [
        RejectedReading(0, "2024-03-11T02:00:00+00:00", 90, "counter_went_backwards", "went back from 100"),
        RejectedReading(1, "x", 1, "malformed_timestamp", "bad"),
        RejectedReading(2, "2024-03-11T02:05:00+00:00", 91, "counter_went_backwards", "went back from 100"),
    ]
    findings = detect_counter_reversals("m-1", rejected)
    assert [(f.kind, f.period_start, f.period_end, f.evidence["count"]) for f in findings] == [
        ("negative_consumption", "2024-03-11T02:00:00+00:00", "2024-03-11T02:05:00+00:00", 2)
    ]
    assert detect_counter_reversals("m-1", rejected[1:2]) == []


FINDING = Finding("spike", "m-1", "2024-03-11T02:00:00+00:00", "2024-03-11T03:00:00+00:00", {"consumption": 21.0})


def test_the_same_finding_names_the_same_anomaly_so_it_is_opened_once() -> None:
    again = Finding("spike", "m-1", FINDING.period_start, "2024-03-11T04:00:00+00:00", {"consumption": 30.0})
    later = Finding("spike", "m-1", "2024-03-11T03:00:00+00:00", "2024-03-11T04:00:00+00:00")
    assert FINDING.anomaly_id == again.anomaly_id != later.anomaly_id


def test_an_anomaly_is_raised_to_the_meters_agency_with_its_evidence() -> None:
    anomaly = Anomaly.open(FINDING, INFO, NOW)
    event = anomaly.pending_events[0]
    assert isinstance(event, AnomalyRaised)
    assert (event.agency_id, event.building_id, event.evidence, anomaly.status) == (
        "ag-1",
        "b-1",
        {"consumption": 21.0},
        "open",
    )
    assert (anomaly.agency_id, anomaly.district) == ("ag-1", "320402")


def test_an_unknown_kind_of_anomaly_is_refused() -> None:
    with pytest.raises(UnknownAnomalyKind):
        Anomaly.open(Finding("ghost", "m-1", "a", "b"), INFO, NOW)


def test_an_anomaly_is_acknowledged_then_resolved() -> None:
    anomaly = Anomaly.open(FINDING, INFO, NOW)
    anomaly.acknowledge("op-1", "已通知物业", NOW)
    anomaly.resolve("op-1", "空调定时器已修复", NOW)
    assert anomaly.status == "resolved"


def test_an_open_anomaly_cannot_be_resolved_before_it_is_acknowledged() -> None:
    with pytest.raises(WrongStatus):
        Anomaly.open(FINDING, INFO, NOW).resolve("op-1", "done", NOW)


def test_an_anomaly_is_acknowledged_once() -> None:
    anomaly = Anomaly.open(FINDING, INFO, NOW)
    anomaly.acknowledge("op-1", "", NOW)
    with pytest.raises(WrongStatus):
        anomaly.acknowledge("op-2", "", NOW)


def test_a_resolution_must_say_what_was_done() -> None:
    anomaly = Anomaly.open(FINDING, INFO, NOW)
    anomaly.acknowledge("op-1", "", NOW)
    with pytest.raises(ResolutionRequired):
        anomaly.resolve("op-1", " ", NOW)


def test_a_resolved_anomaly_is_closed() -> None:
    anomaly = Anomaly.open(FINDING, INFO, NOW)
    anomaly.acknowledge("op-1", "", NOW)
    anomaly.resolve("op-1", "修复", NOW)
    with pytest.raises(WrongStatus):
        anomaly.resolve("op-1", "again", NOW)
