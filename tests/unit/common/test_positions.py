"""Where a consumer reads from and when a relay publishes again, decided from what they recorded and the logs."""

from __future__ import annotations

from services.common.read.positions import (
    BEFORE_START,
    BEYOND_END,
    TOPIC_RECREATED,
    Start,
    consumer_starts,
    relay_lost,
)

T = "district.320402.inbound"


def test_a_stored_offset_on_the_same_log_within_it_is_used() -> None:
    starts = consumer_starts({(T, 0): 7}, {T: "id-1"}, {T: "id-1"}, {(T, 0): 0}, {(T, 0): 9})
    assert starts == {(T, 0): Start(7)}


def test_an_offset_at_the_log_end_is_used_nothing_new_is_there_yet() -> None:
    assert consumer_starts({(T, 0): 9}, {T: "a"}, {T: "a"}, {(T, 0): 0}, {(T, 0): 9}) == {(T, 0): Start(9)}


def test_an_offset_past_the_reported_end_of_the_same_log_is_used() -> None:
    # Tansu reports the end as the last batch's base offset + 1: after a batch of offsets 5..8 it says 6, and a
    # consumer that read all four stands at 9 on the very same log (same id)
    assert consumer_starts({(T, 0): 9}, {T: "a"}, {T: "a"}, {(T, 0): 0}, {(T, 0): 6}) == {(T, 0): Start(9)}


def test_a_topic_made_anew_is_read_from_its_start_even_when_it_already_reaches_the_stored_offset() -> None:
    # the new log has 12 messages, more than the 7 stored for the old one: only the id tells them apart
    starts = consumer_starts({(T, 0): 7}, {T: "old"}, {T: "new"}, {(T, 0): 0}, {(T, 0): 12})
    assert starts == {(T, 0): Start(None, TOPIC_RECREATED)}


def test_a_log_shorter_than_the_stored_offset_is_read_from_its_start() -> None:
    # no id recorded (positions kept before ids were): the offsets alone say the log is not the one read
    starts = consumer_starts({(T, 0): 7, (T, 1): 2}, {}, {T: "x"}, {(T, 0): 0, (T, 1): 0}, {(T, 0): 3, (T, 1): 5})
    assert starts == {(T, 0): Start(None, BEYOND_END), (T, 1): Start(2)}


def test_an_offset_before_the_log_start_is_read_from_the_start() -> None:
    starts = consumer_starts({(T, 0): 2}, {T: "a"}, {T: "a"}, {(T, 0): 5}, {(T, 0): 9})
    assert starts == {(T, 0): Start(None, BEFORE_START)}


def test_a_partition_without_a_stored_offset_starts_at_the_beginning_with_no_reason() -> None:
    # a partition added to the topic since the consumer last stored offsets
    starts = consumer_starts({(T, 0): 4}, {T: "a"}, {T: "a"}, {(T, 0): 0, (T, 3): 0}, {(T, 0): 4, (T, 3): 2})
    assert starts == {(T, 0): Start(4), (T, 3): Start(None)}


def test_a_relay_whose_topic_has_another_id_lost_its_events() -> None:
    assert relay_lost("old", {0: 3}, "new", {0: 40}) == TOPIC_RECREATED


def test_a_relay_whose_partition_ends_before_its_mark_lost_events() -> None:
    assert relay_lost("a", {0: 3, 1: 5}, "a", {0: 3, 1: 4}) == BEYOND_END


def test_a_relay_finds_nothing_lost_when_every_partition_reaches_its_mark() -> None:
    assert relay_lost("a", {0: 3, 1: 5}, "a", {0: 3, 1: 6, 2: 0}) is None


def test_a_relay_that_recorded_nothing_yet_has_lost_nothing() -> None:
    assert relay_lost(None, {}, "a", {0: 0}) is None
