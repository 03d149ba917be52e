"""While records keep coming, the projector's poll right after a batch is made with the cyclic collector held (its
records all live until their batch commits) and waits briefly; a poll for news waits for the rest of the time asked,
with the collector running."""

from __future__ import annotations

import gc
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from kafka import TopicPartition

from services.common.base.db import create_db_engine, migrate
from services.common.kernel.events import Envelope
from services.common.read.broker import envelope_message
from services.common.read.projector import FLOWING_POLL_MS, Projection, Projector
from services.common.write.store import EventStore
from tests.support import meta, new_agency

TOPIC = "office_space.events"


class Registrations(Projection):
    """Counts the registrations it applies."""

    topics = (TOPIC,)

    def __init__(self) -> None:
        self.applied = 0

    def on_AgencyRegistered(self, conn: sa.Connection, env: Envelope) -> None:
        self.applied += 1


@dataclass
class Record:
    """The parts of a Kafka record the projector reads."""

    offset: int
    value: bytes
    topic: str = TOPIC
    partition: int = 0
    key: bytes = b"k"


@dataclass
class ScriptedConsumer:
    """Answers each poll with the next of ``answers`` (records or none), noting how each poll was made."""

    answers: list[list[Record]]
    polls: list[tuple[int, bool]] = field(default_factory=list)
    """Each poll's timeout and whether the collector was running during it."""

    def poll(self, timeout_ms: int, max_records: int) -> dict[TopicPartition, list[Record]]:
        self.polls.append((timeout_ms, gc.isenabled()))
        records = self.answers.pop(0)
        return {TopicPartition(TOPIC, 0): records} if records else {}

    def end_offsets(self, partitions: Any) -> dict[Any, int]:
        return {}


def test_the_poll_after_a_batch_holds_the_collector_and_waits_briefly_and_a_poll_for_news_does_not(
    tmp_path: Path,
) -> None:
    store = EventStore.open(f"sqlite:///{tmp_path / 'office_space.db'}", "office_space")
    store.save_all([new_agency(f"C{i}") for i in range(3)], meta())
    values = [envelope_message(env)[1] for env in store.read_all()]
    engine = create_db_engine(f"sqlite:///{tmp_path / 'views.db'}")
    migrate(engine, "projector")
    consumer = ScriptedConsumer([[Record(0, values[0])], [Record(1, values[1])], [], [], [Record(2, values[2])]])
    projection = Registrations()
    projector = Projector("collector", engine, [projection], "unused:9092", "test", consumer=consumer)  # type: ignore[arg-type]
    projector._partitions = [TopicPartition(TOPIC, 0)]  # assigned: no broker to ask
    assert gc.isenabled()

    counts = [projector.poll_once(timeout_ms=2000) for _ in range(4)]

    assert counts == [1, 1, 0, 1]
    assert projection.applied == 3
    assert consumer.polls == [
        (2000, True),  # nothing came before: a poll for news
        (FLOWING_POLL_MS, False),  # right after a batch
        (FLOWING_POLL_MS, False),  # right after a batch, and nothing came:
        (2000 - FLOWING_POLL_MS, True),  # a poll for news for the rest of the time, and nothing came
        (2000, True),  # so the next is a poll for news
    ]
    assert gc.isenabled()
