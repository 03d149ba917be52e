"""Late and repeated readings: a late reading inside a gap splits it and moves use to where it belongs; a
repeat is a duplicate at any age; another value at a recorded moment is a conflict naming both values."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from services.energy.domain.meters import MAX_OPEN_GAPS, LateReadingsRecorded, Meter, MeterReadingsRecorded
from tests.unit.energy.builders import NOW, at, meter, series


def reasons(outcome: Any) -> list[tuple[int, str]]:
    return [(r.position, r.reason) for r in outcome.rejected]


def stored(m: Meter) -> Meter:
    m.mark_stored()
    return m


def with_gap() -> Meter:
    """Readings at 5 and 10 minutes, then nothing until 70 minutes (a 60-minute gap): 1,001, 1,002, 1,014."""
    m = meter(initial=1_000)
    m.record_readings(series(1_001, 1_002), NOW)
    outcome = m.record_readings([[at(70), 1_014]], NOW)
    assert outcome.gap_intervals == [[at(10), at(70), 3_600]]
    return stored(m)


def test_a_late_reading_inside_a_gap_is_accepted_and_splits_it() -> None:
    m = with_gap()
    outcome = m.record_readings([[at(40), 1_008]], NOW)
    assert (outcome.accepted, outcome.duplicates, outcome.rejected) == (1, 0, [])
    (event,) = m.pending_events
    assert isinstance(event, LateReadingsRecorded)
    # 10 → 40 min: 1,008 − 1,002 = 6 kWh; the reading at 70 min closed the gap with 12, now 12 − 6 = 6
    assert event.readings == [[at(40), 1_008, 6.0]]
    assert event.adjustments == [[at(70), -6.0]]
    assert event.filled == [[at(10), at(70)]]
    assert event.gaps == [[at(10), at(40), 1_800], [at(40), at(70), 1_800]]  # both halves still longer than 7.5 min
    assert m.holes == [[at(10), 1_002, at(40), 1_008, 1, 100_000], [at(40), 1_008, at(70), 1_014, 1, 100_000]]


def test_a_re_sent_stretch_fills_the_gap_and_repeats_are_duplicates_not_refusals() -> None:
    m = with_gap()
    resent = [[at(5), 1_001], [at(10), 1_002], *[[at(10 + 5 * n), 1_002 + n] for n in range(1, 12)], [at(70), 1_014]]
    outcome = m.record_readings(resent, NOW)
    # 13 stored moments of the 14 sent are repeats (5, 10, 70 min), the 11 in the gap are new: no refusal
    assert (outcome.accepted, outcome.duplicates, outcome.rejected) == (11, 3, [])
    (event,) = m.pending_events
    assert [r[2] for r in event.readings] == [1.0] * 11  # each 5-minute step used 1 kWh
    assert event.adjustments == [[at(70), -11.0]]  # the 12 kWh of the gap: 11 moved, 1 stays at 70 min
    assert event.gaps == [] and m.holes == []  # no interval is longer than expected any more


def test_a_late_reading_that_does_not_fit_the_counter_is_refused() -> None:
    m = with_gap()
    outcome = m.record_readings([[at(40), 1_020]], NOW)  # above the 1,014 that closed the gap
    assert reasons(outcome) == [(0, "counter_went_backwards")] and m.pending_events == []


def test_a_repeat_is_a_duplicate_and_another_value_a_conflict_at_any_age_with_the_meters_history() -> None:
    m = meter(initial=1_000)
    m.record_readings(series(1_001, 1_002), NOW)
    m.record_readings([[at(3 * 24 * 60), 1_100]], NOW.replace(day=5))  # three days later: at 5 min is old
    stored(m)
    old = [[at(5), 1_001], [at(10), 1_003]]
    assert m.history_wanted_from(old) == at(5)  # older than the meter's last day and not in a gap
    history = {at(5): 1_001.0, at(10): 1_002.0}  # what the service reads from the meter's stream
    outcome = m.record_readings(old, NOW.replace(day=5), history=history)
    assert outcome.duplicates == 1 and reasons(outcome) == [(1, "conflicting_reading")]
    assert (outcome.rejected[0].value, outcome.rejected[0].recorded_value) == (1_003, 1_002.0)
    assert m.pending_events == []


def test_gaps_and_late_fills_survive_a_reload_from_events() -> None:
    m = with_gap()
    m.record_readings([[at(40), 1_008]], NOW)
    events = [MeterReadingsRecorded, LateReadingsRecorded]
    assert all(type(e) in events for e in m.pending_events)
    replayed = meter(initial=1_000)
    replayed.record_readings(series(1_001, 1_002), NOW)
    replayed.record_readings([[at(70), 1_014]], NOW)
    replayed.record_readings([[at(40), 1_008]], NOW)
    assert replayed.holes == m.holes and replayed.last_at == at(70)


def test_a_meter_keeps_at_most_max_open_gaps_the_newest_and_forgets_closed_ones() -> None:
    m = meter(initial=1_000)
    later = NOW + timedelta(days=30)
    # a reading every hour for 260 hours: 260 intervals of 60 min, each a gap (longer than 5 + 2.5 min)
    outcome = m.record_readings([[at(60 * k), 1_000 + k] for k in range(1, 261)], later)
    assert outcome.gaps == 260
    stored(m)
    assert MAX_OPEN_GAPS == 256 and len(m.holes) == 256  # 260 − 256 = the 4 oldest forgotten
    assert m.holes[0][0] == at(60 * 4) and m.holes[-1][2] == at(60 * 260)
    # inside a forgotten gap (0 → 60 min): refused as a moment the meter cannot place
    assert reasons(m.record_readings([[at(30), 1_000.5]], later, history={})) == [(0, "before_last_reading")]
    # a re-sent stretch that closes the newest gap: the gap is dropped, nothing else changes
    resent = [[at(60 * 259 + 5 * n), 1_259 + n / 12] for n in range(1, 12)]
    outcome = m.record_readings(resent, later)
    assert (outcome.accepted, outcome.rejected) == (11, [])
    assert len(m.holes) == 255 and m.holes[-1][2] == at(60 * 259)
