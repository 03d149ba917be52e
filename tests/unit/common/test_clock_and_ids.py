"""The one clock and the one id rule: ISO text of a moment, the city's date, new ids."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from services.common.kernel import clock
from services.common.kernel.clock import (
    CHINA_STANDARD_TIME,
    china_date,
    china_today,
    iso,
    iso_as_given,
    iso_seconds,
    iso_seconds_of,
)
from services.common.kernel.ids import new_id, random_uuid

LATE_EVENING_UTC = datetime(2026, 3, 31, 23, 30, 15, 250000, tzinfo=UTC)  # 07:30:15 on 1 April in Beijing


def test_iso_is_utc_to_the_microsecond() -> None:
    in_beijing = LATE_EVENING_UTC.astimezone(CHINA_STANDARD_TIME)
    assert iso(in_beijing) == "2026-03-31T23:30:15.250000+00:00"
    assert iso(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)) == "2026-01-02T03:04:05.000000+00:00"
    assert iso(datetime(2026, 1, 2, 3, 4, 5, 7, tzinfo=UTC)) == "2026-01-02T03:04:05.000007+00:00"
    assert iso(datetime(2026, 1, 2, 11, 4, 5, 7, tzinfo=CHINA_STANDARD_TIME)) == "2026-01-02T03:04:05.000007+00:00"


def test_iso_writes_each_moment_of_a_second_and_of_the_next_ones_as_isoformat_does() -> None:
    start = datetime(2026, 12, 31, 23, 59, 58, 999998, tzinfo=UTC)
    # the same second twice, the next second, the next year, the same time a month later, a second back
    steps = [timedelta(0), timedelta(microseconds=1), timedelta(microseconds=3), timedelta(seconds=1, microseconds=5)]
    steps += [timedelta(days=31), timedelta(microseconds=1), timedelta(seconds=-1)]
    moment = start
    for step in steps:
        moment += step
        assert iso(moment) == moment.isoformat(timespec="microseconds"), moment


def test_iso_seconds_drops_the_fraction_and_speaks_utc() -> None:
    assert iso_seconds(LATE_EVENING_UTC.astimezone(CHINA_STANDARD_TIME)) == "2026-03-31T23:30:15+00:00"
    assert iso_seconds_of("2026-04-01T07:30:15.999+08:00") == "2026-03-31T23:30:15+00:00"
    assert iso_seconds_of("2026-04-01T00:00:00-05:00") == "2026-04-01T05:00:00+00:00"


def test_iso_as_given_keeps_the_offset_and_the_precision() -> None:
    assert iso_as_given(LATE_EVENING_UTC.astimezone(CHINA_STANDARD_TIME)) == "2026-04-01T07:30:15.250000+08:00"
    assert iso_as_given(datetime(2026, 4, 1, 7, 30, tzinfo=CHINA_STANDARD_TIME)) == "2026-04-01T07:30:00+08:00"


def test_the_city_date_of_2330_utc_is_the_next_day() -> None:
    assert china_date("2026-03-31T23:30:00+00:00") == "2026-04-01"
    assert china_date("2026-03-31T15:59:59+00:00") == "2026-03-31"
    assert china_date("2026-03-31T16:00:00+00:00") == "2026-04-01"


def test_china_today_reads_the_one_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(clock, "utc_now", lambda: LATE_EVENING_UTC)
    assert china_today() == date(2026, 4, 1)
    monkeypatch.setattr(clock, "utc_now", lambda: datetime(2026, 12, 31, 15, 59, tzinfo=UTC))
    assert china_today() == date(2026, 12, 31)


def test_beijing_time_is_eight_hours_ahead_without_daylight_saving() -> None:
    assert timezone(timedelta(hours=8)) == CHINA_STANDARD_TIME
    assert clock.utc_now().tzinfo is UTC


def test_a_given_id_is_kept_and_a_new_one_is_prefixed_with_twelve_hex_digits() -> None:
    assert new_id("meter-42", "meter") == "meter-42"
    made = new_id(None, "asset")
    assert re.fullmatch(r"asset-[0-9a-f]{12}", made)
    assert new_id("", "lease").startswith("lease-")
    assert new_id(None, "asset") != made


def test_a_random_uuid_is_a_version_4_uuid_as_python_writes_it() -> None:
    drawn = [random_uuid() for _ in range(2000)]
    for text in drawn:
        parsed = uuid.UUID(text)
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122 and str(parsed) == text
    assert len(set(drawn)) == len(drawn)
    assert {text[19] for text in drawn} == set("89ab")  # the variant's digit takes each of its four values
