"""An interval's consumption shared over the local days, months and years it spans, in proportion to time."""

from __future__ import annotations

import pytest

from services.energy.domain.rollups import UnknownRollup, refill_gap, split_interval, split_intervals

DEC_15 = "2025-12-15T00:00:00+08:00"
JAN_15 = "2026-01-15T00:00:00+08:00"


def test_a_monthly_read_across_new_year_is_shared_between_the_years() -> None:
    # 15 Dec 00:00 → 15 Jan 00:00 is 31 days, 310 kWh → 10 kWh a day;
    # 15–31 Dec = 17 days = 170 kWh in 2025, 1–14 Jan = 14 days = 140 kWh in 2026
    parts = split_interval(DEC_15, JAN_15, 310.0, "year")
    assert [label for label, _ in parts] == ["2025", "2026"]
    assert parts[0][1] == pytest.approx(170.0)
    assert parts[1][1] == pytest.approx(140.0)


def test_the_same_interval_by_month_and_by_day() -> None:
    # months: the same 17 + 14 days as the years → 170 and 140 kWh
    months = split_interval(DEC_15, JAN_15, 310.0, "month")
    assert [(m, round(v, 9)) for m, v in months] == [("2025-12", 170.0), ("2026-01", 140.0)]
    # days: 31 local days of 10 kWh each, 2025-12-15 … 2026-01-14 (15 Jan 00:00 ends the interval)
    days = split_interval(DEC_15, JAN_15, 310.0, "day")
    assert len(days) == 31
    assert days[0][0] == "2025-12-15"
    assert days[16][0] == "2025-12-31"
    assert days[17][0] == "2026-01-01"
    assert days[-1][0] == "2026-01-14"
    assert all(v == pytest.approx(10.0) for _, v in days)


def test_the_parts_add_up_to_the_interval_exactly() -> None:
    # 100 kWh over 3 days (1/3 each): the last part takes the remainder, so the sum is exactly 100
    parts = split_interval("2026-03-01T00:00:00+08:00", "2026-03-04T00:00:00+08:00", 100.0, "day")
    assert sum(v for _, v in parts) == 100.0
    assert [d for d, _ in parts] == ["2026-03-01", "2026-03-02", "2026-03-03"]


def test_boundaries_are_beijing_time_whatever_the_offset_written() -> None:
    # 2025-12-31T12:00Z = 20:00 Beijing; 2026-01-01T00:00Z = 08:00 Beijing 1 Jan: 12 hours, 4 before midnight
    # 24 kWh → 24 × 4/12 = 8 kWh in 2025, 24 × 8/12 = 16 kWh in 2026
    parts = split_interval("2025-12-31T12:00:00+00:00", "2026-01-01T00:00:00+00:00", 24.0, "year")
    assert [(y, round(v, 9)) for y, v in parts] == [("2025", 8.0), ("2026", 16.0)]


def test_an_interval_inside_one_period_stays_whole() -> None:
    # a 5-minute interval ending at 00:00 1 Jan (Beijing) is 31 December's, as local_hour says
    parts = split_interval("2025-12-31T23:55:00+08:00", "2026-01-01T00:00:00+08:00", 1.5, "day")
    assert parts == [("2025-12-31", 1.5)]
    assert split_interval("2026-02-01T09:55:00+08:00", "2026-02-01T10:00:00+08:00", 0.2, "hour") == [
        ("2026-02-01T09", 0.2)
    ]


def test_without_a_previous_reading_the_interval_belongs_to_where_it_ends() -> None:
    # a meter's first reading: nothing to share, the period of its end (15 Jan 00:00 ends 14 Jan)
    assert split_interval(None, JAN_15, 7.0, "year") == [("2026", 7.0)]
    assert split_interval(None, JAN_15, 7.0, "day") == [("2026-01-14", 7.0)]
    # an interval that used nothing has nothing to share: one zero where it ends, not 31 days of zeros
    assert split_interval(DEC_15, JAN_15, 0.0, "day") == [("2026-01-14", 0.0)]
    # a start not before the end is treated the same way
    assert split_interval(JAN_15, JAN_15, 7.0, "month") == [("2026-01", 7.0)]


def test_an_unknown_period_is_refused() -> None:
    with pytest.raises(UnknownRollup):
        split_interval(DEC_15, JAN_15, 1.0, "week")


def test_a_batch_is_shared_from_the_meter_s_previous_reading() -> None:
    # previous reading 15 Dec 00:00; readings 15 Jan 00:00 (310 kWh, as above) and 15 Feb 00:00: 62 kWh over
    # the 31 days 15 Jan → 15 Feb = 2 kWh a day → 17 days of January = 34 kWh, 14 days of February = 28 kWh
    readings = [[JAN_15, 1310.0, 310.0], ["2026-02-15T00:00:00+08:00", 1372.0, 62.0]]
    months, ends = split_intervals(DEC_15, readings, "month")
    # 2025-12: 170; 2026-01: 140 + 34 = 174; 2026-02: 28
    assert {m: round(v, 9) for m, v in months.items()} == {"2025-12": 170.0, "2026-01": 174.0, "2026-02": 28.0}
    # 2025's use ends at 00:00 1 Jan 2026 Beijing = 16:00 UTC on 31 Dec; 2026's at the last reading
    assert ends == {2025: "2025-12-31T16:00:00+00:00", 2026: "2026-02-15T00:00:00+08:00"}


def test_a_meter_s_first_reading_counts_where_it_ends() -> None:
    days, ends = split_intervals(None, [["2026-01-02T10:00:00+08:00", 5.0, 0.0]], "day")
    assert days == {"2026-01-02": 0.0}
    assert ends == {2026: "2026-01-02T10:00:00+08:00"}


def test_late_readings_split_a_gap_into_parts_that_keep_its_use() -> None:
    # a gap 15 Dec → 15 Jan of 310 kWh; late readings 1 Jan 00:00 (170 kWh since 15 Dec) and 8 Jan 00:00,
    # recorded second-first: 8 Jan first took 15 Dec → 8 Jan = 240, then 1 Jan took 170 from it (adjustment)
    late = [["2026-01-01T00:00:00+08:00", 0.0, 170.0], ["2026-01-08T00:00:00+08:00", 0.0, 240.0]]
    adjustments = {"2026-01-08T00:00:00+08:00": -170.0, JAN_15: -240.0}
    parts = refill_gap(DEC_15, JAN_15, 310.0, late, adjustments)
    # 15 Dec → 1 Jan 170; 1 → 8 Jan 240 − 170 = 70; 8 → 15 Jan 310 − 170 − 70 = 70
    assert parts == [
        (DEC_15, "2026-01-01T00:00:00+08:00", 170.0),
        ("2026-01-01T00:00:00+08:00", "2026-01-08T00:00:00+08:00", 70.0),
        ("2026-01-08T00:00:00+08:00", JAN_15, 70.0),
    ]
