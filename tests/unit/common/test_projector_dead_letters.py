"""The projector sends dead letters while it holds no database lock, and before it commits the offsets.

Sending yields to the other green threads of an eventlet process; one of them waiting (in C) for the write
lock the projector held froze the whole process — the gateway stalled for the SQLite busy timeout, over and
over, as soon as poison messages arrived under load (tests/faults/test_poison.py).
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from services.common.base.db import create_db_engine, migrate
from services.common.kernel.events import Envelope
from services.common.read.broker import envelope_message
from services.common.read.projector import Projection, Projector
from services.common.write.store import EventStore
from tests.support import meta, new_agency

TOPIC = "office_space.events"
directory = sa.Table(
    "dead_letter_test_directory", sa.MetaData(), sa.Column("agency_id", sa.String(40), primary_key=True)
)


class Directory(Projection):
    """Lists agencies; cannot project the ones whose id starts with BAD."""

    topics = (TOPIC,)
    tables = (directory,)

    def on_AgencyRegistered(self, conn: sa.Connection, env: Envelope) -> None:
        if env.stream_id.startswith("BAD"):
            raise RuntimeError("cannot project it")
        conn.execute(directory.insert(), {"agency_id": env.stream_id})


@dataclass
class Record:
    """The parts of a Kafka record the projector reads."""

    offset: int
    value: bytes | None
    topic: str = TOPIC
    partition: int = 0
    key: bytes | None = b"k"
    headers: list[tuple[str, bytes]] = field(default_factory=list)


@dataclass
class Sent:
    def get(self, timeout: float | None = None) -> None:
        return None


@dataclass
class LockCheckingProducer:
    """Records each dead letter, and whether the projection database was free to write when it was sent."""

    database: Path
    sent: list[tuple[str, bool, int]] = field(default_factory=list)

    def send(self, topic: str, key: Any = None, value: Any = None, headers: Any = None) -> Sent:
        probe = sqlite3.connect(self.database, timeout=0, isolation_level=None)
        try:
            committed = probe.execute("SELECT coalesce(sum(next_offset), 0) FROM projector_offsets").fetchone()[0]
            try:
                probe.execute("BEGIN IMMEDIATE")
                probe.execute("ROLLBACK")
                free = True
            except sqlite3.OperationalError:  # database is locked
                free = False
        finally:
            probe.close()
        self.sent.append((dict(headers)["dlq_reason"].decode(), free, committed))
        return Sent()

    def flush(self) -> None:
        return None


class NoLagConsumer:
    def end_offsets(self, partitions: Any) -> dict[Any, int]:
        return {}


def test_dead_letters_are_sent_outside_the_transaction_and_before_the_offsets(tmp_path: Path) -> None:
    store = EventStore.open(f"sqlite:///{tmp_path / 'office_space.db'}", "office_space")
    store.save(new_agency("GOOD1"), meta())
    store.save(new_agency("BAD1"), meta())
    values = [envelope_message(env)[1] for env in store.read_all()]
    database = tmp_path / "views.db"
    engine = create_db_engine(f"sqlite:///{database}")
    migrate(engine, "projector")
    directory.create(engine)
    producer = LockCheckingProducer(database)
    projector = Projector(
        "directory", engine, [Directory()], "unused:9092", "test", consumer=NoLagConsumer(), dlq_producer=producer
    )

    projector._apply_batch([Record(0, values[0]), Record(1, b"{not json"), Record(2, values[1])])  # type: ignore[list-item]

    assert producer.sent == [("malformed_json", True, 0), ("projection_failed", True, 0)]
    with engine.connect() as conn:
        assert list(conn.execute(sa.select(directory.c.agency_id)).scalars()) == ["GOOD1"]
    assert sum(projector.stored_offsets().values()) == 3
    assert json.loads(values[1])["stream_id"] == "BAD1"
