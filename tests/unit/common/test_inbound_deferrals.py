"""One service's outage costs the other districts and the other kinds of message nothing: a deferred message
pauses its own partition at that message, its kind is put aside for a wait that doubles while it keeps failing,
and every other message is read on at once (``services.common.read.inbound.Deferrals``).

Before, a deferral sent the whole consumer back to its stored offsets after a second's pause, every district
with it, and each message of a frozen service (each try waiting out the RPC timeout, 10 s) was tried in turn:
the districts' streams moved one round of 200 records per try."""

from __future__ import annotations

import json
from typing import Any

import pytest
from kafka import TopicPartition
from kafka.consumer.fetcher import ConsumerRecord

from services.common.kernel.errors import ServiceUnavailable, ValidationFailed
from services.common.read import inbound as inbound_module
from services.common.read.inbound import (
    DEFER_FIRST_SECONDS,
    DEFER_MOST_SECONDS,
    Deferrals,
    DistrictInbound,
    InboundMessage,
)
from services.common.runtime.rpc import ServiceError


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_kind_is_put_aside_for_a_wait_that_doubles_up_to_its_most_and_ends_with_an_answer() -> None:
    clock = Clock()
    deferrals = Deferrals(clock)
    assert deferrals.kind_waits("energy.meter_readings") is None
    waits = []
    for _ in range(9):
        until = deferrals.kind_failed("energy.meter_readings")
        waits.append(until - clock.now)
        assert deferrals.kind_waits("energy.meter_readings") == until
        assert deferrals.kind_waits("vehicles.fuel_records") is None  # another service's kind: tried as ever
        clock.now = until  # the wait is over: the kind is tried (once) again
        assert deferrals.kind_waits("energy.meter_readings") is None
    assert waits == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0, 30.0]
    assert (DEFER_FIRST_SECONDS, DEFER_MOST_SECONDS) == (1.0, 30.0)
    deferrals.kind_done("energy.meter_readings")  # answered: the next failure waits the first wait again
    assert deferrals.kind_failed("energy.meter_readings") - clock.now == 1.0


def test_a_paused_partition_is_due_at_its_time_and_the_poll_waits_no_longer() -> None:
    clock = Clock()
    deferrals = Deferrals(clock)
    a, b = TopicPartition("district.320402.inbound", 0), TopicPartition("district.320411.inbound", 1)
    assert deferrals.poll_ms(2000) == 2000
    deferrals.pause(a, clock.now + 8)
    deferrals.pause(b, clock.now)  # at least the first wait
    assert deferrals.poll_ms(2000) == 1001
    assert deferrals.due() == []
    clock.now += 1
    assert deferrals.due() == [b]
    clock.now += 7
    assert deferrals.due() == [a]
    assert deferrals.poll_ms(2000) == 2000


def _message(offset: int, district: str, message_type: str) -> ConsumerRecord:
    value = {
        "message_id": f"m-{district}-{offset}",
        "message_type": message_type,
        "schema_version": 1,
        "district": district,
        "sent_at": "2026-11-23T08:00:00+08:00",
        "payload": {},
    }
    topic = f"district.{district}.inbound"
    return ConsumerRecord(topic, 0, -1, offset, 0, 0, None, json.dumps(value).encode(), [], None, -1, -1, -1)


def _read(record: ConsumerRecord, district: str) -> InboundMessage:
    data = json.loads(record.value)
    return InboundMessage(**data, source=f"{record.topic}:{record.partition}:{record.offset}")


class Consumer:
    """A consumer that hands out the records given it once, and records how it was moved."""

    def __init__(self, records: list[ConsumerRecord]) -> None:
        self.records = records
        self.calls: list[tuple[str, Any]] = []

    def assignment(self) -> set[TopicPartition]:
        return {TopicPartition(r.topic, r.partition) for r in self.records}

    def poll(self, timeout_ms: int, max_records: int) -> dict[TopicPartition, list[ConsumerRecord]]:
        found: dict[TopicPartition, list[ConsumerRecord]] = {}
        for record in self.records:
            found.setdefault(TopicPartition(record.topic, record.partition), []).append(record)
        self.records = []
        return found

    def seek(self, partition: TopicPartition, offset: int) -> None:
        self.calls.append(("seek", (partition, offset)))

    def pause(self, partition: TopicPartition) -> None:
        self.calls.append(("pause", partition))

    def resume(self, partition: TopicPartition) -> None:
        self.calls.append(("resume", partition))


def _consumer_of(
    answers: dict[str, Exception | None], tried: list[str], stored: dict[tuple[str, int], int], clock: Clock
) -> Any:
    inbound: Any = object.__new__(DistrictInbound)
    inbound._deferrals = Deferrals(clock)
    inbound.container = type("Container", (), {"service_name": "gateway"})()
    inbound._producer = type("Producer", (), {"flush": lambda self: None})()
    inbound._store_offsets = stored.update
    inbound._reject = lambda record, district, message, refusal: tried.append(f"rejected {message.message_id}")

    def run_worker(message: Any) -> tuple[Any, Exception | None]:
        tried.append(message.message_id)
        return {"ok": True}, answers[message.message_type]

    inbound._run_worker = run_worker
    return inbound


def test_a_frozen_service_is_tried_once_and_every_other_district_and_kind_reads_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the messages' reading has tests of its own: here each is read as it is, whatever its payload
    monkeypatch.setattr(inbound_module, "read_message", _read)
    frozen = ServiceError.from_error(ServiceUnavailable("the service did not answer in time"))
    answers = {"energy.meter_readings": frozen, "vehicles.fuel_records": None, "assets.register": None}
    answers["office_space.post_staff"] = ServiceError.from_error(ValidationFailed("no", fields={"name": ["x"]}))
    records = [
        _message(0, "320402", "vehicles.fuel_records"),
        _message(1, "320402", "energy.meter_readings"),  # deferred: its partition pauses here
        _message(2, "320402", "vehicles.fuel_records"),  # after it in its partition: waits with it
        _message(0, "320411", "energy.meter_readings"),  # its kind put aside: deferred without a try
        _message(0, "320412", "office_space.post_staff"),  # refused for itself: rejected, not deferred
        _message(1, "320412", "assets.register"),
    ]
    tried: list[str] = []
    stored: dict[tuple[str, int], int] = {}
    clock = Clock()
    inbound = _consumer_of(answers, tried, stored, clock)
    consumer = Consumer(records)
    inbound._round(consumer)
    assert tried == ["m-320402-0", "m-320402-1", "m-320412-0", "rejected m-320412-0", "m-320412-1"]
    assert stored == {("district.320402.inbound", 0): 1, ("district.320412.inbound", 0): 2}
    a, b = TopicPartition("district.320402.inbound", 0), TopicPartition("district.320411.inbound", 0)
    assert consumer.calls == [("seek", (a, 1)), ("pause", a), ("seek", (b, 0)), ("pause", b)]

    # a second later the paused partitions are read again from the deferred messages; the service answers now
    clock.now += DEFER_FIRST_SECONDS
    answers["energy.meter_readings"] = None
    consumer.calls, consumer.records, tried[:] = [], [records[1], records[2], records[3]], []
    inbound._round(consumer)
    assert consumer.calls == [("resume", a), ("resume", b)]
    assert tried == ["m-320402-1", "m-320402-2", "m-320411-0"]
    assert stored[("district.320402.inbound", 0)] == 3 and stored[("district.320411.inbound", 0)] == 1
