"""A rebuild against real Tansu journals the event ids it applies and folds them into their index: duplicates
on the topic are still applied once, across folds and across a rebuild that stops half-way."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from services.common import seen
from services.common.projector import Projector
from services.common.seen import seen_journal_table, seen_table
from services.common.store import EventStore
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


def test_a_rebuild_applies_each_event_once_across_folds_of_its_journal(
    store: EventStore, fresh_tansu: str, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(seen, "JOURNAL_FOLD", 5)  # folds between the events and their duplicates
    for i in range(12):
        store.save(new_agency(f"A{i:02d}"), meta())
    _publish_twice(store, fresh_tansu)
    projector = _projector(db_url, fresh_tansu)
    assert projector.rebuild() == 24
    assert _agencies(projector) == [f"A{i:02d}" for i in range(12)]
    assert (_count(projector, seen_table), _count(projector, seen_journal_table)) == (12, 0)
    assert read_topic(fresh_tansu, f"{TOPIC}.dlq") == []  # a duplicate applied twice would fail its insert


def test_a_projector_started_after_an_interrupted_rebuild_folds_the_journal_before_applying(
    store: EventStore, fresh_tansu: str, db_url: str
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
        interrupted.rebuild()
    assert _count(interrupted, seen_table) == 0 and _count(interrupted, seen_journal_table) > 0  # two batches
    restarted = _projector(db_url, fresh_tansu)
    restarted.catch_up()
    assert _agencies(restarted) == [f"A{i:02d}" for i in range(12)]
    assert (_count(restarted, seen_table), _count(restarted, seen_journal_table)) == (12, 0)
    assert read_topic(fresh_tansu, f"{TOPIC}.dlq") == []
