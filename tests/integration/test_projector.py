"""The projector against real Tansu: offsets with the rows, duplicates, dead letters, rebuild."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from kafka import TopicPartition

from services.common.base.db import create_db_engine
from services.common.read.broker import in_partition_order, make_producer
from services.common.read.projector import Projection, Projector, seen_table
from services.common.write.store import EventStore
from services.gateway import views
from services.gateway.views.agencies import AgencyDirectory, agencies_table
from tests.integration.projecting import TOPIC, data_center_projector, office_space_store, publish
from tests.support import meta, new_agency, read_topic


@pytest.fixture
def store(tmp_path: Path, fresh_tansu: str) -> EventStore:
    return office_space_store(tmp_path, fresh_tansu)


def _agencies(projector: Projector) -> list[tuple[str, int]]:
    with projector.engine.connect() as conn:
        rows = conn.execute(sa.select(agencies_table.c.agency_id, agencies_table.c.authorised_headcount))
        return sorted((r[0], r[1]) for r in rows)


@pytest.fixture
def projection_url(db_url: str) -> str:
    return db_url


def test_events_are_projected_and_offsets_kept_with_the_rows(
    store: EventStore, fresh_tansu: str, projection_url: str
) -> None:
    for i in range(10):
        store.save(new_agency(f"A{i}", headcount=i), meta())
    publish(store, fresh_tansu)
    projector = data_center_projector(projection_url, fresh_tansu)
    assert projector.catch_up() == 10
    assert _agencies(projector) == [(f"A{i}", i) for i in range(10)]
    assert sum(projector.stored_offsets().values()) == 10
    status = projector.status()
    assert status["last_event_at"] is not None and sum(status["positions"].values()) == 10


def test_a_republished_duplicate_changes_nothing(store: EventStore, fresh_tansu: str, projection_url: str) -> None:
    store.save(new_agency("A1"), meta())
    relay = publish(store, fresh_tansu)
    relay.republish()  # the same events again, as after a relay crash
    projector = data_center_projector(projection_url, fresh_tansu)
    assert projector.catch_up() == 2
    assert _agencies(projector) == [("A1", 10)]


def test_a_crash_before_commit_replays_the_batch_and_applies_it_once(
    store: EventStore, fresh_tansu: str, projection_url: str
) -> None:
    for i in range(5):
        store.save(new_agency(f"A{i}"), meta())
    publish(store, fresh_tansu)
    crashing = data_center_projector(projection_url, fresh_tansu)

    def crash(*_args: object) -> None:
        raise RuntimeError("killed between the rows and the offsets")

    crashing._store_offsets = crash  # type: ignore[method-assign]
    with pytest.raises(RuntimeError):
        crashing.catch_up()
    assert _agencies(crashing) == []  # rows and offsets share one transaction: nothing half-written
    restarted = data_center_projector(projection_url, fresh_tansu)
    restarted.catch_up()
    assert _agencies(restarted) == [(f"A{i}", 10) for i in range(5)]


def test_poison_messages_go_to_the_dead_letter_topic_and_the_projector_goes_on(
    store: EventStore, fresh_tansu: str, tmp_path: Path
) -> None:
    store.save(new_agency("GOOD1"), meta())
    good = store.read_all()[0].to_dict()
    publish(store, fresh_tansu)
    producer = make_producer(fresh_tansu)
    bad_payload = {**good, "event_id": "00000000-0000-4000-8000-000000000001", "payload": {"agency_id": "X"}}
    unknown_type = {**good, "event_id": "00000000-0000-4000-8000-000000000002", "event_type": "NoSuchEvent"}
    for value in (b"{not json", json.dumps(bad_payload).encode(), json.dumps(unknown_type).encode(), b"[1,2]"):
        producer.send(TOPIC, key=b"X", value=value).get(10)
    store.save(new_agency("GOOD2"), meta())
    publish(store, fresh_tansu)
    projector = data_center_projector(f"sqlite:///{tmp_path / 'p.db'}", fresh_tansu)
    projector.catch_up()
    assert _agencies(projector) == [("GOOD1", 10), ("GOOD2", 10)]
    dead = read_topic(fresh_tansu, f"{TOPIC}.dlq")
    reasons = sorted(dict(r.headers)["dlq_reason"].decode() for r in dead)
    assert reasons == ["contract_violation", "contract_violation", "malformed_envelope", "malformed_json"]
    assert all(dict(r.headers)["dlq_source"].decode().startswith(f"{TOPIC}:") for r in dead)


def test_a_rebuilt_projection_equals_the_incrementally_built_one(
    store: EventStore, fresh_tansu: str, tmp_path: Path
) -> None:
    projector = data_center_projector(f"sqlite:///{tmp_path / 'p.db'}", fresh_tansu)
    for i in range(30):
        store.save(new_agency(f"A{i}", headcount=i * 3), meta())
        if i % 10 == 9:
            publish(store, fresh_tansu)
            projector.catch_up()
    incremental = _agencies(projector)
    assert projector.rebuild() == 30
    assert _agencies(projector) == incremental and len(incremental) == 30


class RegistrationsOnly(Projection):
    """The agency directory's registrations alone: a projection that ignores most of its topic."""

    topics = AgencyDirectory.topics
    tables = AgencyDirectory.tables
    on_AgencyRegistered = AgencyDirectory.on_AgencyRegistered  # noqa: N815 (named as the event is)


def test_events_no_projection_applies_move_the_offsets_without_a_write(
    store: EventStore, fresh_tansu: str, projection_url: str
) -> None:
    """A service's views read a whole topic for a few event types: the rest must cost no transaction, and their
    offsets are stored once the projector finds nothing new (or with the next batch it applies)."""
    for i in range(4):
        agency = new_agency(f"A{i}")
        agency.change_headcount(20 + i, "reorganised")
        store.save(agency, meta())
    publish(store, fresh_tansu)
    engine = create_db_engine(projection_url)
    views.prepare_database(engine)
    projector = Projector("registrations", engine, [RegistrationsOnly()], fresh_tansu, "test")
    projector.assign()
    records: list[Any] = []
    while len(records) < 8:
        polled = projector.consumer.poll(timeout_ms=5000)
        records += in_partition_order(polled)
    changes = [r for r in records if json.loads(r.value)["event_type"] == "AuthorisedHeadcountChanged"]
    transactions: list[str] = []
    sa.event.listen(engine, "begin", lambda conn: transactions.append("begin"))
    projector._apply_batch(changes)
    assert transactions == []
    assert projector.stored_offsets() == {}
    transactions.clear()
    projector.save_offsets()
    assert transactions == ["begin"]
    assert projector.stored_offsets() == {
        TopicPartition(r.topic, r.partition): max(c.offset + 1 for c in changes if c.partition == r.partition)
        for r in changes
    }
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(seen_table)).scalar_one() == 0
    assert _agencies(projector) == []
