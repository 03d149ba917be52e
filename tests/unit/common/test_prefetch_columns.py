"""A rebuild's reader process hands its batches over as a list per field: the records come out as they went in."""

from __future__ import annotations

import pickle

from kafka import TopicPartition
from kafka.consumer.fetcher import ConsumerRecord

from services.common.read.broker import in_partition_order
from services.common.read.prefetch import Record, _columns, _records


def _consumed(topic: str, partition: int, offset: int, key: bytes | None, value: bytes | None) -> ConsumerRecord:
    return ConsumerRecord(topic, partition, -1, offset, 0, 0, key, value, [], None, -1, -1, -1)


def test_a_polled_batch_crosses_over_as_columns_and_comes_back_as_the_records_in_partition_order() -> None:
    polled = {
        TopicPartition("b.events", 0): [_consumed("b.events", 0, 7, b"k", b"{}")],
        TopicPartition("a.events", 2): [_consumed("a.events", 2, o, None, b"v%d" % o) for o in (4, 5, 6)],
        TopicPartition("a.events", 1): [_consumed("a.events", 1, 0, b"k1", None)],
        TopicPartition("a.events", 0): [],
    }
    handed = pickle.loads(pickle.dumps(_columns(polled)))
    records = _records(handed)
    expected = [Record(r.topic, r.partition, r.offset, r.key, r.value) for r in in_partition_order(polled)]
    assert records == expected and all(type(r) is Record for r in records)
    assert [(r.topic, r.partition, r.offset) for r in records] == [
        ("a.events", 1, 0),
        ("a.events", 2, 4),
        ("a.events", 2, 5),
        ("a.events", 2, 6),
        ("b.events", 0, 7),
    ]
    assert records[0].value is None and records[1].key is None
