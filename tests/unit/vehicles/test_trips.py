"""Trips: request, dispatch (city-wide too), start and finish with the odometer, GPS batches, and the flags on
use outside working time and without GPS (pure: no I/O)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest

from services.common.kernel.clock import CHINA_STANDARD_TIME
from services.common.kernel.errors import RuleViolation, WrongStatus
from services.common.kernel.holidays import day_kind
from services.vehicles.domain.anomalies import OdometerRollbackDetected
from services.vehicles.domain.base import VehicleBusy, VehicleIsSealed
from services.vehicles.domain.trips import (
    InvalidGpsPoints,
    OdometerBelowStart,
    Trip,
    TripFlagResolved,
    TripOutsideHoursFlagged,
    TripWithoutGpsFlagged,
    VehicleOnDuty,
    WorkingHours,
    outside_hours,
    track_km,
)
from services.vehicles.domain.vehicles import Vehicle, VehicleBookedForTrip, VehicleBookingReleased, VehicleDoubleBooked
from tests.unit.vehicles.builders import gasoline_car


def at(day: str, clock: str) -> datetime:
    """A Beijing-time moment."""
    return datetime.combine(date.fromisoformat(day), time.fromisoformat(clock), CHINA_STANDARD_TIME)


def on_duty(vehicle: Vehicle) -> VehicleOnDuty:
    return VehicleOnDuty(vehicle.id, vehicle.plate, str(vehicle.agency_id), str(vehicle.district))


def trip(day: str = "2026-03-02", start: str = "09:00", end: str = "11:00", district: str = "320402") -> Trip:
    t = Trip.request(
        trip_id="T1",
        agency_id="A1",
        district=district,
        purpose="调研",
        destination="武进区政府",
        passengers=3,
        planned_start=at(day, start),
        planned_end=at(day, end),
    )
    t.mark_stored()
    return t


def driven(day: str = "2026-03-02", start: str = "09:00", end: str = "11:00", **finish: object) -> Trip:
    t = trip(day, start, end)
    t.dispatch(on_duty(gasoline_car()), "D-1", "李师傅", at(day, "08:00"))
    t.start(10_000, at(day, start))
    t.finish(10_042, at(day, end), **finish)  # type: ignore[arg-type]
    return t


def test_a_trip_goes_from_request_to_dispatch_to_start_to_finish_with_the_odometer_distance() -> None:
    t = trip()
    with pytest.raises(WrongStatus):
        t.start(10_000, at("2026-03-02", "09:00"))  # not dispatched yet
    t.dispatch(on_duty(gasoline_car()), "D-1", "李师傅", at("2026-03-02", "08:00"))
    t.start(10_000, at("2026-03-02", "09:00"))
    with pytest.raises(OdometerBelowStart):
        t.finish(9_990, at("2026-03-02", "11:00"))
    assert t.finish(10_042.4, at("2026-03-02", "11:00")) == 42.4
    assert t.status == "completed" and t.open_flags == []


def test_a_trip_ends_after_it_starts_and_is_cancelled_only_before_it_starts() -> None:
    with pytest.raises(RuleViolation):
        Trip.request(
            trip_id="T1",
            agency_id="A1",
            district="320402",
            purpose="x",
            destination="y",
            passengers=1,
            planned_start=at("2026-03-02", "11:00"),
            planned_end=at("2026-03-02", "09:00"),
        )
    t = driven()
    with pytest.raises(WrongStatus):
        t.cancel("不需要了", at("2026-03-02", "12:00"))
    fresh = trip()
    fresh.cancel("会议取消", at("2026-03-01", "12:00"))
    assert fresh.status == "cancelled"


def test_a_vehicle_of_another_district_serves_the_trip_city_wide_and_both_districts_may_write_it() -> None:
    t = trip(district="320402")
    other = gasoline_car("V7", "苏D77777", district="320412", agency_id="A7")
    assert t.shared_districts == frozenset()
    t.dispatch(on_duty(other), "D-2", "王师傅", at("2026-03-02", "08:00"))
    dispatched = t.pending_events[-1]
    assert dispatched.city_wide is True and dispatched.vehicle_district == "320412"  # type: ignore[attr-defined]
    assert (t.district, t.shared_districts) == ("320402", frozenset({"320412"}))


def test_a_sealed_vehicle_cannot_leave_and_a_busy_one_cannot_start_another_trip() -> None:
    car = gasoline_car()
    car.seal("S1", "2026-10-01", "2026-10-08", "国庆节封存")
    with pytest.raises(RuleViolation):
        car.depart("T9", 10_000, "2026-10-03T09:00:00+08:00")
    car.depart("T1", 10_000, "2026-09-30T09:00:00+08:00")
    with pytest.raises(VehicleBusy):
        car.depart("T2", 10_010, "2026-09-30T10:00:00+08:00")
    car.return_from("T1", 10_050, 50, "2026-09-30T11:00:00+08:00")
    assert (car.active_trip, car.odometer_km) == (None, 10_050)


def test_a_vehicle_is_not_dispatched_to_two_trips_at_overlapping_times() -> None:
    car = gasoline_car()
    car.book("T1", "2026-03-02T09:00:00+08:00", "2026-03-02T11:00:00+08:00")
    assert car.pending_events[-1] == VehicleBookedForTrip(
        "V1", "T1", "2026-03-02T09:00:00+08:00", "2026-03-02T11:00:00+08:00"
    )
    with pytest.raises(VehicleDoubleBooked) as refused:
        car.book("T2", "2026-03-02T10:30:00+08:00", "2026-03-02T12:00:00+08:00")
    assert refused.value.details["trip_id"] == "T1" and refused.value.code == "vehicle_double_booked"
    assert refused.value.http_status == 409  # a conflict with the trip holding it, as the README says
    with pytest.raises(VehicleDoubleBooked):  # the same overlap, written in UTC
        car.book("T3", "2026-03-02T00:00:00+00:00", "2026-03-02T01:30:00+00:00")
    car.book("T4", "2026-03-02T11:00:00+08:00", "2026-03-02T13:00:00+08:00")  # back to back is fine
    car.book("T5", "2026-03-02T06:00:00+00:00", "2026-03-02T08:00:00+00:00")  # 14:00-16:00 in Beijing
    assert sorted(car.bookings) == ["T1", "T4", "T5"]


def test_the_time_a_vehicle_was_held_for_is_free_once_its_trip_is_cancelled_or_over() -> None:
    car = gasoline_car()
    car.book("T1", "2026-03-02T09:00:00+08:00", "2026-03-02T11:00:00+08:00")
    car.release("T1", "会议取消")
    assert car.pending_events[-1] == VehicleBookingReleased("V1", "T1", "会议取消")
    car.book("T2", "2026-03-02T09:00:00+08:00", "2026-03-02T11:00:00+08:00")
    car.depart("T2", 10_000, "2026-03-02T09:00:00+08:00")
    car.return_from("T2", 10_040, 40, "2026-03-02T10:30:00+08:00")
    car.book("T3", "2026-03-02T10:00:00+08:00", "2026-03-02T12:00:00+08:00")
    assert car.bookings == {"T3": ["2026-03-02T10:00:00+08:00", "2026-03-02T12:00:00+08:00"]}
    count = len(car.pending_events)
    car.release("T9", "never held")
    assert len(car.pending_events) == count  # nothing to free: no event


def test_a_vehicle_sealed_on_a_day_of_the_trip_is_not_dispatched() -> None:
    car = gasoline_car()
    car.seal("S1", "2026-10-01", "2026-10-08", "国庆节封存")
    with pytest.raises(VehicleIsSealed):  # the trip runs from the eve into the holiday
        car.book("T1", "2026-09-30T20:00:00+08:00", "2026-10-01T02:00:00+08:00")
    assert car.bookings == {}


def test_a_trip_start_below_the_vehicles_last_reading_is_an_odometer_anomaly() -> None:
    car = gasoline_car()  # 10,000 km
    assert car.depart("T1", 9_000, "2026-03-02T09:00:00+08:00") == ["odometer_rollback:V1:T1.start"]
    assert isinstance(car.pending_events[-1], OdometerRollbackDetected)


@pytest.mark.parametrize(
    ("day", "start", "end", "reasons"),
    [
        ("2026-03-02", "09:00", "17:30", []),  # a Monday, in working hours
        ("2026-03-02", "06:00", "08:00", ["outside_hours"]),
        ("2026-03-02", "18:00", "21:00", ["outside_hours"]),
        ("2026-03-07", "09:00", "11:00", ["weekend"]),  # a Saturday
        ("2026-10-10", "09:00", "11:00", []),  # a Saturday worked for the National Day holiday (调休)
        ("2026-10-02", "09:00", "11:00", ["holiday"]),  # 国庆节
    ],
)
def test_use_on_holidays_weekends_or_outside_hours_needs_approval(
    day: str, start: str, end: str, reasons: list[str]
) -> None:
    assert outside_hours(at(day, start), at(day, end), WorkingHours())[0] == reasons


def test_a_trip_over_midnight_into_a_holiday_names_every_day_concerned() -> None:
    reasons, days = outside_hours(at("2026-09-30", "16:00"), at("2026-10-01", "10:00"), WorkingHours())
    assert (reasons, days) == (["holiday", "outside_hours"], ["2026-09-30", "2026-10-01"])
    assert day_kind(date(2026, 10, 1)) == "holiday"


def test_an_unapproved_trip_outside_working_time_is_flagged_with_its_evidence() -> None:
    t = driven("2026-03-07", "09:00", "11:00")
    flag = t.pending_events[-1]
    assert isinstance(flag, TripOutsideHoursFlagged)
    assert (flag.reasons, flag.days, flag.working_hours) == (["weekend"], ["2026-03-07"], "07:00-19:00")
    assert t.open_flags == ["outside_hours"]


def test_an_approved_trip_outside_working_time_is_not_flagged() -> None:
    t = trip("2026-10-02")
    t.approve_outside_hours("city_admin:王", "国庆值班应急保障")
    t.dispatch(on_duty(gasoline_car()), "D-1", "李师傅", at("2026-10-01", "18:00"))
    t.start(10_000, at("2026-10-02", "09:00"))
    t.finish(10_030, at("2026-10-02", "11:00"))
    assert not any(isinstance(e, TripOutsideHoursFlagged) for e in t.pending_events)


def test_the_working_hours_are_configurable() -> None:
    t = driven("2026-03-02", "07:30", "09:00", hours=WorkingHours(time(8, 0), time(18, 0)))
    assert t.open_flags == ["outside_hours"]


def test_gps_points_come_in_batches_within_the_trips_time() -> None:
    t = trip()
    t.dispatch(on_duty(gasoline_car()), "D-1", "李师傅", at("2026-03-02", "08:00"))
    t.start(10_000, at("2026-03-02", "09:00"))
    points = [
        [(at("2026-03-02", "09:00") + timedelta(minutes=n)).isoformat(), 31.81 + n * 0.01, 119.97] for n in (2, 0, 1)
    ]
    t.record_gps(points)  # type: ignore[arg-type]
    recorded = t.pending_events[-1]
    assert recorded.count == 3 and recorded.first_at == at("2026-03-02", "09:00").isoformat()  # type: ignore[attr-defined]
    assert recorded.distance_km == pytest.approx(2.224, abs=0.01)  # type: ignore[attr-defined]
    with pytest.raises(InvalidGpsPoints) as refused:
        t.record_gps([[at("2026-03-02", "08:00").isoformat(), 31.8, 119.9]])  # before the start
    assert list(refused.value.fields) == ["points.0"]
    with pytest.raises(InvalidGpsPoints):
        t.record_gps([[at("2026-03-02", "09:30").isoformat(), 91.0, 119.9]])
    t.finish(10_020, at("2026-03-02", "10:00"))
    t.record_gps([[at("2026-03-02", "10:10").isoformat(), 31.9, 119.9]])  # uploaded late, within the margin
    assert t.gps_points == 4


def test_a_finished_trip_without_gps_is_flagged_after_the_grace_period_and_the_track_closes_the_flag() -> None:
    t = driven()
    finished = at("2026-03-02", "11:00")
    assert t.flag_missing_gps(finished + timedelta(hours=23), 24) is False
    assert t.flag_missing_gps(finished + timedelta(hours=25), 24) is True
    assert isinstance(t.pending_events[-1], TripWithoutGpsFlagged)
    assert t.flag_missing_gps(finished + timedelta(hours=48), 24) is False  # once
    t.record_gps([[at("2026-03-02", "10:00").isoformat(), 31.8, 119.9]])
    assert isinstance(t.pending_events[-1], TripFlagResolved) and t.open_flags == []


def test_a_flag_is_resolved_with_a_note() -> None:
    t = driven("2026-03-07")
    t.resolve_flag("outside_hours", "周末防汛检查，事后补批", at("2026-03-09", "10:00"))
    assert t.open_flags == []
    with pytest.raises(RuleViolation):
        t.resolve_flag("without_gps", "x", at("2026-03-09", "10:00"))


def test_a_track_is_measured_along_great_circles() -> None:
    assert track_km([["a", 0.0, 0.0], ["b", 0.0, 1.0]]) == pytest.approx(111.195, abs=0.01)
