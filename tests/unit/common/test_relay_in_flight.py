"""The relay leaves a full batch in flight while it sends the next: its recorded position still moves only past
batches the broker acknowledged every event of, in order, and a failed event sends everything after the last
recorded batch again."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from kafka.errors import KafkaError
from kafka.future import Future
from kafka.producer.future import RecordMetadata

from services.common.runtime.relay import OutboxRelay
from services.common.write.store import EventStore
from tests.support import meta, new_agency

TOPIC = "office_space.events"


class AnsweringProducer:
    """A producer whose broker answers every send at once: an error for the keys in ``failing``, else the next
    offset of partition 0."""

    config = {"bootstrap_servers": "broker.invalid:9092"}

    def __init__(self, failing: set[str]) -> None:
        self.failing = failing
        self.sent: list[str] = []
        self.offset = 0

    def send(self, topic: str, key: bytes, value: bytes, headers: list[tuple[str, bytes]]) -> Future:
        self.sent.append(key.decode())
        if key.decode() in self.failing:
            return Future().failure(KafkaError(f"{key.decode()} refused"))
        self.offset += 1
        return Future().success(RecordMetadata(topic, 0, (topic, 0), self.offset, -1, None, 0, 0, 0))

    def flush(self, timeout: float | None = None) -> None:
        pass


class BrokerKeptRelay(OutboxRelay):
    """A relay whose broker never lost anything (its topic checks answer without a broker)."""

    def _look(self, topic_id: str | None, marks: dict[int, int]) -> tuple[str | None, str]:
        return None, "topic-1"


def _relay(db_url: str, failing: set[str]) -> tuple[EventStore, AnsweringProducer, OutboxRelay]:
    store = EventStore.open(db_url, "office_space")
    for i in range(5):
        store.save(new_agency(f"A{i}"), meta())
    producer = AnsweringProducer(failing)
    producer_any: Any = producer
    return store, producer, BrokerKeptRelay(store, producer_any, TOPIC, batch=2, ahead=1)


@pytest.mark.parametrize(
    ("failing", "recorded"),
    [
        ("A3", 2),  # in the batch in flight: the batch before it, acknowledged, is recorded meanwhile
        ("A4", 4),  # in the last batch: the one before it, acknowledged, is recorded in the same wait
    ],
)
def test_a_failed_event_in_a_later_batch_leaves_the_position_after_the_acknowledged_batches(
    db_url: str, failing: str, recorded: int
) -> None:
    store, producer, relay = _relay(db_url, {failing})
    assert relay.publish_once() == 2  # A0, A1: left in flight, acknowledged, not recorded yet
    assert store.relay_position(TOPIC) == 0
    assert relay.publish_once() == 2  # A2, A3 sent; A0, A1 recorded
    assert store.relay_position(TOPIC) == 2
    with pytest.raises(KafkaError, match=f"{failing} refused"):
        relay.publish_once()  # A4 sent: caught up, it waits for every batch in flight
    assert store.relay_position(TOPIC) == relay.position == recorded
    producer.failing.clear()
    producer.sent.clear()
    while relay.publish_once():
        pass
    assert producer.sent == [f"A{i}" for i in range(recorded, 5)]  # sent again from the first not recorded
    assert store.relay_position(TOPIC) == store.last_position() == 5


def test_a_relay_stopped_with_a_batch_in_flight_records_it_once_acknowledged(db_url: str) -> None:
    store, producer, relay = _relay(db_url, set())
    assert relay.publish_once() == 2  # A0, A1 in flight
    assert store.relay_position(TOPIC) == 0
    stop = threading.Event()
    stop.set()
    relay.run(stop)
    assert store.relay_position(TOPIC) == 2  # not sent again by the next relay
    assert producer.sent == ["A0", "A1"]
