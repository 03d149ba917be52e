"""A rebuild against real Tansu journals the event ids it applies and folds them into their index: duplicates
on the topic are still applied once, across folds and across a rebuild that stops half-way; read by the
projector itself or by a reader process of its own (``services.common.read.prefetch``)."""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from kafka import TopicPartition

from services.common.read import projector as projector_module
from services.common.read import seen
from services.common.read.broker import make_producer
from services.common.read.prefetch import Prefetcher, PrefetchFailed, Record
from services.common.read.projector import Projector
from services.common.read.seen import seen_journal_table, seen_table
from services.common.write.store import EventStore
from services.gateway.views.agencies import agencies_table
from tests.integration.projecting import TOPIC, data_center_projector, office_space_store, publish
from tests.support import meta, new_agency, read_topic


@pytest.fixture
def store(tmp_path: Path, fresh_tansu: str) -> EventStore:
    return office_space_store(tmp_path, fresh_tansu)


def _publish_twice(store: EventStore, bootstrap: str) -> None:
    """Every event on the topic, then every event again (as a relay that crashed before marking them)."""
    publish(store, bootstrap).republish()


def _projector(db_url: str, bootstrap: str) -> Projector:
    return data_center_projector(db_url, bootstrap, max_records=4)


def _count(projector: Projector, table: sa.Table) -> int:
    with projector.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def _agencies(projector: Projector) -> list[str]:
    with projector.engine.connect() as conn:
        return sorted(conn.execute(sa.select(agencies_table.c.agency_id)).scalars())


@pytest.mark.parametrize("prefetch", [False, True], ids=["read in process", "read by a reader process"])
def test_a_rebuild_applies_each_event_once_across_folds_of_its_journal(
    store: EventStore, fresh_tansu: str, db_url: str, monkeypatch: pytest.MonkeyPatch, prefetch: bool
) -> None:
    monkeypatch.setattr(seen, "JOURNAL_FOLD", 5)  # folds between the events and their duplicates
    for i in range(12):
        store.save(new_agency(f"A{i:02d}"), meta())
    _publish_twice(store, fresh_tansu)
    projector = _projector(db_url, fresh_tansu)
    assert projector.rebuild(prefetch=prefetch) == 24
    assert _agencies(projector) == [f"A{i:02d}" for i in range(12)]
    assert (_count(projector, seen_table), _count(projector, seen_journal_table)) == (12, 0)
    assert read_topic(fresh_tansu, f"{TOPIC}.dlq") == []  # a duplicate applied twice would fail its insert


@pytest.mark.parametrize("prefetch", [False, True], ids=["read in process", "read by a reader process"])
def test_a_projector_started_after_an_interrupted_rebuild_folds_the_journal_before_applying(
    store: EventStore, fresh_tansu: str, db_url: str, prefetch: bool
) -> None:
    for i in range(12):
        store.save(new_agency(f"A{i:02d}"), meta())
    _publish_twice(store, fresh_tansu)
    interrupted = _projector(db_url, fresh_tansu)
    store_offsets = interrupted._store_offsets
    batches = []

    def die_at_the_third_batch(conn: sa.Connection, newest: dict[tuple[str, int], tuple[int, str | None]]) -> None:
        batches.append(1)
        if len(batches) == 3:
            raise RuntimeError("killed mid-rebuild")
        store_offsets(conn, newest)

    interrupted._store_offsets = die_at_the_third_batch  # type: ignore[method-assign]
    with pytest.raises(RuntimeError):
        interrupted.rebuild(prefetch=prefetch)
    assert multiprocessing.active_children() == []  # the reader stopped with the rebuild
    assert _count(interrupted, seen_table) == 0 and _count(interrupted, seen_journal_table) > 0  # two batches
    restarted = _projector(db_url, fresh_tansu)
    restarted.catch_up()
    assert _agencies(restarted) == [f"A{i:02d}" for i in range(12)]
    assert (_count(restarted, seen_table), _count(restarted, seen_journal_table)) == (12, 0)
    assert read_topic(fresh_tansu, f"{TOPIC}.dlq") == []


def test_a_prefetched_rebuild_also_applies_what_arrived_after_the_reader_reached_its_end(
    store: EventStore, fresh_tansu: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for i in range(6):
        store.save(new_agency(f"A{i:02d}"), meta())
    publish(store, fresh_tansu)

    class ThenMoreArrive(Prefetcher):
        def __iter__(self) -> Iterator[list[Record]]:
            yield from super().__iter__()
            for i in range(6, 9):  # the reader has stopped at the ends it was given
                store.save(new_agency(f"A{i:02d}"), meta())
            publish(store, fresh_tansu)

    monkeypatch.setattr(projector_module, "Prefetcher", ThenMoreArrive)
    projector = _projector(f"sqlite:///{tmp_path / 'dc.db'}", fresh_tansu)
    assert projector.rebuild(prefetch=True) == 9
    assert _agencies(projector) == [f"A{i:02d}" for i in range(9)]


def test_a_reader_that_fails_fails_the_rebuild_with_its_reason() -> None:
    starts, ends = {TopicPartition(TOPIC, 0): 0}, {TopicPartition(TOPIC, 0): 10}
    with Prefetcher("kafka:no-port", "test-reader", starts, ends) as reader, pytest.raises(PrefetchFailed) as failure:
        list(reader)
    assert "invalid literal for int() with base 10: 'no-port'" in str(failure.value)  # the reader's traceback
    assert multiprocessing.active_children() == []


def test_a_reader_killed_mid_stream_fails_the_rebuild_rather_than_ending_it(
    store: EventStore, fresh_tansu: str
) -> None:
    for i in range(20):
        store.save(new_agency(f"A{i:02d}"), meta())
    publish(store, fresh_tansu)
    tps = [TopicPartition(TOPIC, p) for p in range(3)]
    with Prefetcher(fresh_tansu, "test-reader", dict.fromkeys(tps, 0), dict.fromkeys(tps, 100), 1, depth=1) as reader:
        batches = iter(reader)
        first = next(batches)
        assert len(first) == 1 and first[0].offset == 0
        process = reader._process
        assert process is not None
        process.kill()
        deadline = time.monotonic() + 30
        with pytest.raises(PrefetchFailed, match="died"):
            while time.monotonic() < deadline:
                next(batches)


def test_a_message_read_by_the_reader_process_that_does_not_decode_is_dead_lettered_with_its_reason(
    store: EventStore, fresh_tansu: str, tmp_path: Path
) -> None:
    for i in range(4):
        store.save(new_agency(f"A{i:02d}"), meta())
    publish(store, fresh_tansu)
    make_producer(fresh_tansu).send(TOPIC, key=b"junk", value=b"{not json").get(timeout=10)
    projector = _projector(f"sqlite:///{tmp_path / 'dc.db'}", fresh_tansu)
    assert projector.rebuild(prefetch=True) == 5
    assert _agencies(projector) == [f"A{i:02d}" for i in range(4)]
    (dead,) = read_topic(fresh_tansu, f"{TOPIC}.dlq")
    assert dead.value == b"{not json" and dict(dead.headers)["dlq_reason"] == b"malformed_json"
