"""Ingestion of cumulative readings: per-reading rejection with reasons, duplicates, consumption, gaps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.common.kernel.errors import WrongStatus
from services.energy.domain.meters import DUPLICATE_WINDOW_S, Meter, MeterReadingsRecorded
from services.energy.domain.readings import IngestionRules
from tests.unit.energy.builders import INSTALLED_AT, NOW, at, meter, recorded, series


def reasons(outcome: Any) -> list[tuple[int, str]]:
    return [(r.position, r.reason) for r in outcome.rejected]


def test_a_batch_is_recorded_as_one_event_with_the_consumption_of_every_interval() -> None:
    m = meter(initial=1_000)
    outcome = m.record_readings(series(1_001.5, 1_003, 1_003), NOW)
    assert (outcome.accepted, outcome.duplicates, outcome.rejected) == (3, 0, [])
    assert [type(e) for e in m.pending_events] == [MeterReadingsRecorded]
    assert recorded(m) == [[at(5), 1_001.5, 1.5], [at(10), 1_003, 1.5], [at(15), 1_003, 0]]


def test_consumption_is_the_counter_difference_times_the_multiplier() -> None:
    m = meter(multiplier=40, initial=100)
    m.record_readings(series(100.25, 101), NOW)
    assert [r[2] for r in recorded(m)] == [10.0, 30.0]


def test_the_meter_remembers_where_its_counter_stands_for_the_next_batch() -> None:
    m = meter(initial=1_000)
    m.record_readings(series(1_002), NOW)
    m.record_readings(series(1_005, first=10), NOW)
    assert [r[2] for r in recorded(m)] == [2, 3]
    assert (m.last_at, m.last_value) == (at(10), 1_005)


def test_a_reading_beyond_the_clock_tolerance_is_refused_as_in_the_future() -> None:
    m = meter()
    ahead = [[(NOW + timedelta(seconds=60)).isoformat(), 1_001], [(NOW + timedelta(seconds=121)).isoformat(), 1_002]]
    outcome = m.record_readings(ahead, NOW, IngestionRules(future_tolerance_s=120))
    assert (outcome.accepted, reasons(outcome)) == (1, [(1, "in_future")])


def test_a_counter_going_backwards_is_refused_and_the_rest_of_the_batch_is_recorded() -> None:
    m = meter(initial=1_000)
    outcome = m.record_readings(series(1_010, 1_005, 1_012), NOW)
    assert reasons(outcome) == [(1, "counter_went_backwards")]
    assert "1010" in outcome.rejected[0].message
    assert recorded(m) == [[at(5), 1_010, 10], [at(15), 1_012, 2]]


def test_a_counter_restarting_near_zero_after_nearing_its_limit_rolled_over() -> None:
    m = meter(limit=100_000, initial=99_990)
    outcome = m.record_readings(series(99_998, 3), NOW)
    assert outcome.rejected == []
    assert recorded(m)[-1] == [at(10), 3, 5]
    assert m.pending_events[0].rollovers == [at(10)]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("initial", "after"),
    [(50_000, 3), (99_998, 5_000)],
    ids=["previous value far from the limit", "new value far from zero"],
)
def test_a_drop_is_no_rollover_unless_it_wraps_from_near_the_limit_to_near_zero(initial: float, after: float) -> None:
    m = meter(limit=100_000, initial=initial)
    assert reasons(m.record_readings(series(after), NOW)) == [(0, "counter_went_backwards")]


@pytest.mark.parametrize(
    ("item", "reason"),
    [
        ("not a pair", "malformed"),
        ([at(5)], "malformed"),
        ({"at": at(5), "value": 1_001}, "malformed"),
        (["yesterday", 1_001], "malformed_timestamp"),
        ([1709251500, 1_001], "malformed_timestamp"),
        (["2024-03-01T00:05:00", 1_001], "malformed_timestamp"),
        ([at(5), "1001"], "malformed_value"),
        ([at(5), True], "malformed_value"),
        ([at(5), None], "malformed_value"),
        ([at(5), float("nan")], "non_finite_value"),
        ([at(5), float("inf")], "non_finite_value"),
        ([at(5), -1], "negative_value"),
        ([at(5), 100_000], "above_counter_limit"),
    ],
)
def test_a_malformed_reading_is_refused_with_its_reason(item: Any, reason: str) -> None:
    m = meter(limit=100_000)
    outcome = m.record_readings([item, [at(10), 1_001]], NOW)
    assert (reasons(outcome), outcome.accepted) == ([(0, reason)], 1)


def test_a_repeated_reading_is_ignored_and_counted_as_a_duplicate() -> None:
    m = meter()
    m.record_readings(series(1_001, 1_002), NOW)
    m.mark_stored()
    outcome = m.record_readings(series(1_001, 1_002, 1_004), NOW)
    assert (outcome.accepted, outcome.duplicates, outcome.rejected) == (1, 2, [])
    assert recorded(m) == [[at(15), 1_004, 2]]


def test_a_batch_sent_twice_records_nothing_the_second_time() -> None:
    m = meter()
    m.record_readings(series(1_001, 1_002), NOW)
    m.mark_stored()
    outcome = m.record_readings(series(1_001, 1_002), NOW)
    assert (outcome.duplicates, m.pending_events) == (2, [])


def test_a_reading_repeated_within_one_batch_is_a_duplicate() -> None:
    m = meter()
    outcome = m.record_readings([[at(5), 1_001], [at(5), 1_001], [at(10), 1_002]], NOW)
    assert (outcome.accepted, outcome.duplicates) == (2, 1)


def test_another_value_at_an_already_recorded_time_is_refused() -> None:
    m = meter()
    m.record_readings(series(1_001, 1_002), NOW)
    outcome = m.record_readings([[at(5), 1_001.5]], NOW)
    assert reasons(outcome) == [(0, "conflicting_reading")]
    assert outcome.rejected[0].message == "1001 is already recorded at this time, not 1001.5"
    assert (outcome.rejected[0].value, outcome.rejected[0].recorded_value) == (1_001.5, 1_001)


def test_a_reading_older_than_the_last_that_was_never_recorded_and_not_in_a_gap_is_refused() -> None:
    m = meter()
    m.record_readings(series(1_001, 1_002, every=5), NOW)  # at 5 and 10 minutes: no gap between them
    assert reasons(m.record_readings([[at(7), 1_001.5]], NOW)) == [(0, "before_last_reading")]


def test_a_reading_at_or_before_the_installation_is_refused() -> None:
    m = meter()
    assert reasons(m.record_readings([[at(0), 1_000]], NOW)) == [(0, "before_last_reading")]


def test_recorded_readings_are_remembered_for_a_day_only() -> None:
    m = meter()
    m.record_readings(series(1_001), NOW)
    later = DUPLICATE_WINDOW_S // 60 + 10
    m.record_readings([[at(later), 1_002]], NOW + timedelta(days=1))
    assert m.recent == [[at(later), 1_002]]
    # older than a day: still a duplicate, since the reading opened the gap the meter keeps; one never
    # recorded, outside a gap, is refused unless the service passes the meter's history
    assert m.record_readings(series(1_001), NOW + timedelta(days=1)).duplicates == 1
    assert m.holes == [[at(5), 1_001, at(later), 1_002, 1, 100_000]]


def test_an_unsorted_batch_is_put_in_time_order_first() -> None:
    m = meter()
    outcome = m.record_readings([[at(15), 1_003], [at(5), 1_001], [at(10), 1_002]], NOW)
    assert outcome.rejected == []
    assert [r[0] for r in recorded(m)] == [at(5), at(10), at(15)]


def test_rejections_come_back_in_the_order_of_the_batch() -> None:
    m = meter()
    outcome = m.record_readings([[at(15), -1], [at(5), 1_001], [at(10), 999], ["x", 1]], NOW)
    assert [r.position for r in outcome.rejected] == [0, 2, 3]


def test_timestamps_with_an_offset_are_recorded_in_canonical_utc() -> None:
    m = meter()
    m.record_readings([["2024-03-01T08:05:00+08:00", 1_001], ["2024-03-01T00:10:00.700Z", 1_002]], NOW)
    assert [r[0] for r in recorded(m)] == [at(5), at(10)]


def test_an_interval_longer_than_expected_is_recorded_as_a_gap_with_its_length() -> None:
    m = meter()
    outcome = m.record_readings([[at(5), 1_001], [at(12), 1_002], [at(25), 1_003]], NOW)
    event = m.pending_events[0]
    assert outcome.gaps == 1
    assert event.gaps == outcome.gap_intervals == [[at(12), at(25), 780]]  # type: ignore[attr-defined]


def test_an_interval_within_the_tolerance_is_no_gap() -> None:
    m = meter()
    just_within = (datetime.fromisoformat(at(5)) + timedelta(seconds=450)).isoformat()
    assert m.record_readings([[at(5), 1_001], [just_within, 1_002]], NOW).gaps == 0


def test_the_consumption_across_a_gap_is_kept_at_its_end() -> None:
    m = meter()
    m.record_readings(series(1_001, 1_031, every=60), NOW)
    assert recorded(m)[-1] == [at(65), 1_031, 30]


def test_a_batch_of_only_rejected_readings_records_nothing() -> None:
    m = meter()
    outcome = m.record_readings([[at(5), -3]], NOW)
    assert (outcome.accepted, m.pending_events) == (0, [])


def test_readings_of_a_meter_that_was_never_installed_are_refused() -> None:
    with pytest.raises(WrongStatus):
        Meter("m-x").record_readings(series(1), NOW)


def test_a_whole_day_back_filled_in_one_batch_is_recorded_as_one_event() -> None:
    m = meter()
    day = [
        [(datetime(2024, 3, 1, 8, 0, tzinfo=UTC) + timedelta(minutes=5 * n)).isoformat(), 1_000 + n]
        for n in range(1, 289)
    ]
    outcome = m.record_readings(day, NOW + timedelta(days=1))
    assert (outcome.accepted, outcome.gaps, len(m.pending_events)) == (288, 1, 1)  # 8 hours after installation


class _GeneralPathOnly(Meter):
    """A meter that judges every batch by the general path (parse, sort, sequence, fill)."""

    def _ordinary(self, *args: Any) -> None:
        return None


def _judged_both_ways(batches: list[list[Any]]) -> tuple[list[Any], list[Any]]:
    """Each batch given in turn to a meter taking the one-pass path when it can and to one that never does: the
    outcomes, the events and the state after each batch."""
    seen = []
    for cls in (Meter, _GeneralPathOnly):
        m = cls.install(
            meter_id="m-1",
            serial_no="SN-1",
            kind="electricity",
            agency_id="ag-1",
            district="320402",
            building_id="b-1",
            sub_item="none",
            multiplier=2.5,
            rollover_limit=100_000,
            initial_reading=1_000,
            installed_at=INSTALLED_AT,
            now=NOW,
        )
        m.mark_stored()
        steps = []
        for batch in batches:
            outcome = m.record_readings(batch, NOW, history={})
            steps.append((outcome, [e.payload() for e in m.pending_events], m.snapshot_state()))
            m.mark_stored()
        seen.append(steps)
    return seen[0], seen[1]


readings_items = st.one_of(
    st.tuples(st.integers(min_value=-30, max_value=30 * 24 * 60), st.floats(min_value=-1, max_value=100_001)).map(
        lambda pair: [at(pair[0]), pair[1]]
    ),
    st.tuples(st.integers(min_value=0, max_value=3_000), st.integers(min_value=0, max_value=100_001)).map(
        lambda pair: [at(pair[0]), pair[1]]
    ),
    st.sampled_from(
        [["yesterday", 1_001], [at(5), "1001"], [at(5), float("nan")], [at(5), True], (at(5), 1_001), [at(5)], None]
    ),
)


def _ordinary_batch(start: int, steps: list[tuple[int, float]], first_value: float) -> list[list[Any]]:
    minute, value, batch = start, first_value, []
    for every, rise in steps:
        minute, value = minute + every, value + rise
        batch.append([at(minute), value])
    return batch


ordinary_batches = st.builds(
    _ordinary_batch,
    st.integers(min_value=0, max_value=60),
    st.lists(st.tuples(st.sampled_from([1, 5, 5, 5, 8, 60]), st.floats(min_value=0, max_value=50)), max_size=30),
    st.floats(min_value=1_000, max_value=1_100),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(ordinary_batches | st.lists(readings_items, max_size=12), min_size=1, max_size=4))
def test_the_one_pass_path_judges_every_batch_as_the_general_path_does(batches: list[list[Any]]) -> None:
    """Whatever the batches (ordinary ones, taken in one pass, and any others, which fall back to the general
    path), a meter records the same events, answers the same outcome and ends in the same state as a meter that
    always takes the general path."""
    one_pass, general = _judged_both_ways(batches)
    assert one_pass == general


def test_an_ordinary_batch_is_judged_in_one_pass() -> None:
    """Guards the test above: an ordinary batch does take the one-pass path (and another batch does not)."""
    m = meter(initial=1_000)
    assert m._ordinary(series(1_001.5, 1_003), 0, IngestionRules()) is None  # the readings are after ``latest``
    latest = int(NOW.timestamp())
    assert m._ordinary(series(1_001.5, 1_003), latest, IngestionRules()) == (
        [[at(5), 1_001.5, 1.5], [at(10), 1_003, 1.5]],
        [],
    )
    assert m._ordinary(series(1_003, 1_001.5), latest, IngestionRules()) is None  # the counter went back
