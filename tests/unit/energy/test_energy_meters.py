"""Meters: installation by kind, sub-item and multiplier; replacement that keeps consumption continuous."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from services.common.kernel.errors import NotFound, WrongStatus
from services.energy.domain.base import InFuture
from services.energy.domain.meters import (
    CounterWentBackwards,
    Meter,
    MeterReplaced,
    NotAfterLastReading,
    NotPositive,
    ReadingOutOfRange,
    SubItemNotAllowed,
    UnknownMeter,
    UnknownMeterKind,
)
from tests.unit.energy.builders import INSTALLED_AT, NOW, at, meter, recorded, series

REPLACED_AT = INSTALLED_AT + timedelta(minutes=12)


def install(**changes: Any) -> Meter:
    args: dict[str, Any] = {
        "meter_id": "m-1",
        "serial_no": "SN-1",
        "kind": "electricity",
        "agency_id": "ag-1",
        "district": "320402",
        "building_id": "b-1",
        "sub_item": "none",
        "multiplier": 1,
        "rollover_limit": 100_000,
        "initial_reading": 0,
        "installed_at": INSTALLED_AT,
        "now": NOW,
    }
    return Meter.install(**(args | changes))


@pytest.mark.parametrize(("kind", "unit"), [("electricity", "kWh"), ("water", "m3"), ("heat", "GJ"), ("fuel", "L")])
def test_a_meter_counts_in_the_unit_of_its_kind(kind: str, unit: str) -> None:
    assert install(kind=kind).unit == unit


def test_an_unknown_kind_of_meter_is_refused() -> None:
    with pytest.raises(UnknownMeterKind):
        install(kind="steam")


def test_only_electricity_meters_are_itemised() -> None:
    assert install(sub_item="hvac").sub_item == "hvac"
    with pytest.raises(SubItemNotAllowed):
        install(kind="water", sub_item="hvac")


def test_an_unknown_sub_item_is_refused() -> None:
    with pytest.raises(SubItemNotAllowed):
        install(sub_item="elevators")


@pytest.mark.parametrize("field", ["multiplier", "rollover_limit"])
def test_multiplier_and_counter_limit_must_be_above_zero(field: str) -> None:
    with pytest.raises(NotPositive) as refused:
        install(**{field: 0})
    assert field in refused.value.fields


@pytest.mark.parametrize("initial", [-1, 100_000])
def test_the_initial_reading_must_lie_within_the_counter(initial: float) -> None:
    with pytest.raises(ReadingOutOfRange):
        install(initial_reading=initial)


def test_a_meter_cannot_be_installed_in_the_future() -> None:
    with pytest.raises(InFuture):
        install(installed_at=NOW + timedelta(minutes=1))


def test_the_installation_sets_the_agency_and_district_of_the_stream() -> None:
    m = install()
    assert (m.agency_id, m.district, m.last_at, m.last_value) == ("ag-1", "320402", at(0), 0)


def test_an_unknown_meter_is_a_not_found_error_for_the_service() -> None:
    assert issubclass(UnknownMeter, NotFound)
    assert UnknownMeter("no meter m-9").to_body()["error"] == "unknown_meter"


def replaced(m: Meter, final: float, initial: float = 0, **kw: Any) -> Meter:
    m.replace("SN-2", final, initial, kw.pop("replaced_at", REPLACED_AT), NOW, **kw)
    return m


def test_a_replacement_counts_up_to_the_old_meters_final_reading() -> None:
    m = meter(multiplier=40, initial=1_000)
    m.record_readings(series(1_001, 1_002), NOW)
    replaced(m, 1_002.5, 7)
    event = m.pending_events[-1]
    assert isinstance(event, MeterReplaced)
    assert (event.old_serial_no, event.final_consumption, event.new_initial_reading) == ("SN-1", 20.0, 7)


def test_after_a_replacement_the_lower_counter_of_the_new_meter_is_not_going_backwards() -> None:
    m = meter(initial=1_000)
    m.record_readings(series(1_001, 1_002), NOW)
    replaced(m, 1_003, 5, multiplier=2)
    outcome = m.record_readings([[at(15), 6]], NOW)
    assert outcome.rejected == []
    assert recorded(m)[-1] == [at(15), 6, 2]


def test_without_a_replacement_the_same_drop_is_refused() -> None:
    m = meter(initial=1_000)
    m.record_readings(series(1_001, 1_002), NOW)
    assert m.record_readings([[at(15), 6]], NOW).rejected[0].reason == "counter_went_backwards"


def test_a_final_reading_below_the_last_recorded_one_is_refused() -> None:
    m = meter(initial=1_000)
    m.record_readings(series(1_010), NOW)
    with pytest.raises(CounterWentBackwards):
        replaced(m, 1_009)


def test_a_final_reading_past_a_rollover_is_accepted() -> None:
    m = meter(limit=100_000, initial=99_999)
    replaced(m, 4)
    assert m.pending_events[-1].final_consumption == 5  # type: ignore[attr-defined]


def test_a_replacement_before_the_last_reading_is_refused() -> None:
    m = meter()
    m.record_readings(series(1_001, 1_002, 1_003), NOW)
    with pytest.raises(NotAfterLastReading):
        replaced(m, 1_004)


def test_a_replacement_cannot_be_in_the_future() -> None:
    with pytest.raises(InFuture):
        replaced(meter(), 1_004, replaced_at=NOW + timedelta(hours=1))


@pytest.mark.parametrize(
    ("final", "initial", "field"), [(100_000, 0, "old_final_reading"), (1_001, -1, "new_initial_reading")]
)
def test_replacement_readings_must_lie_within_their_counters(final: float, initial: float, field: str) -> None:
    with pytest.raises(ReadingOutOfRange) as refused:
        replaced(meter(limit=100_000), final, initial)
    assert field in refused.value.fields


def test_the_new_meter_may_have_its_own_counter_limit() -> None:
    m = replaced(meter(limit=100_000), 1_001, 500_000, rollover_limit=1_000_000)
    assert (m.rollover_limit, m.last_value) == (1_000_000, 500_000)


def test_a_meter_that_was_never_installed_cannot_be_replaced() -> None:
    with pytest.raises(WrongStatus):
        Meter("m-x").replace("SN-2", 1, 0, REPLACED_AT, NOW)


def test_gaps_are_judged_by_the_meters_own_reading_interval() -> None:
    from services.energy.domain.anomalies import detect_gaps
    from services.energy.domain.meters import UnknownReadingInterval
    from services.energy.domain.readings import READING_INTERVALS

    def installed(interval: str) -> Meter:
        m = Meter.install(
            meter_id="m-i",
            serial_no="SN-I",
            kind="water",
            agency_id="ag-1",
            district="320402",
            building_id="b-1",
            sub_item="none",
            multiplier=1,
            rollover_limit=100_000,
            initial_reading=0,
            installed_at=INSTALLED_AT,
            now=NOW,
            reading_interval=interval,
        )
        m.mark_stored()
        return m

    now = INSTALLED_AT + timedelta(days=100)
    monthly = installed("monthly")
    # read on the 1st, 31st (30 days) and 66th (35 days) day: within 31 + 5 days, no gap, no missing data
    reads = [[(INSTALLED_AT + timedelta(days=d)).isoformat(), v] for d, v in ((1, 10), (31, 20), (66, 30))]
    outcome = monthly.record_readings(reads, now)
    assert (outcome.accepted, outcome.gaps) == (3, 0) and detect_gaps("m-i", outcome.gap_intervals) == []
    # 37 days without a read is a gap even for a monthly meter: 37 × 86,400 = 3,196,800 s
    late = monthly.record_readings([[(INSTALLED_AT + timedelta(days=103)).isoformat(), 40]], now + timedelta(days=5))
    assert late.gap_intervals == [[reads[2][0], (INSTALLED_AT + timedelta(days=103)).isoformat(), 3_196_800]]
    # the same 30 days on a 5-minute meter are a gap (and missing data)
    five = installed("5min")
    assert five.record_readings(reads[:2], now).gaps == 2  # installation → day 1, day 1 → day 31
    hourly = installed("hourly")
    hours = [[(INSTALLED_AT + timedelta(hours=h)).isoformat(), h] for h in range(1, 5)]
    assert hourly.record_readings(hours, now).gaps == 0
    assert set(READING_INTERVALS) == {"5min", "hourly", "daily", "monthly"}
    with pytest.raises(UnknownReadingInterval):
        installed("weekly")


def test_a_v1_meter_installed_event_reads_as_read_every_five_minutes() -> None:
    from services.common.kernel.events import upcast

    payload = {"meter_id": "m-1", "installed_at": INSTALLED_AT.isoformat()}
    assert upcast("energy", "MeterInstalled", 1, payload, 2)["reading_interval"] == "5min"
