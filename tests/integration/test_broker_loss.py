"""A broker that loses its topics (a memory-only Tansu started afresh on the same address): relays publish their
stores again, consumers read the new logs from their start, and nothing is skipped or applied twice."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa

from services.common.read.broker import ensure_topics, make_producer
from services.common.runtime.processes import ProcessGroup, free_port, start_tansu, wait_until
from services.common.runtime.relay import OutboxRelay
from services.common.write.store import EventStore
from services.gateway.views.agencies import agencies_table
from tests.integration.projecting import TOPIC, data_center_projector, office_space_store, publish
from tests.support import envelopes_of, meta, new_agency, read_topic


@dataclass
class Broker:
    """A Tansu of the test's own that can be replaced by an empty one on the same address."""

    group: ProcessGroup
    port: int

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start_afresh(self) -> None:
        """Stop the broker (its topics, in memory, are gone with it) and start an empty one on the same port."""
        self.group.stop("tansu")
        start_tansu(self.group, self.port)


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    group = ProcessGroup(tmp_path / "broker", os.environ)
    port = free_port()
    start_tansu(group, port)
    yield Broker(group, port)
    group.stop_all()


def _agencies(engine: sa.Engine) -> list[str]:
    with engine.connect() as conn:
        return sorted(conn.execute(sa.select(agencies_table.c.agency_id)).scalars())


def _published_ids(bootstrap: str) -> list[str]:
    return [e["event_id"] for e in envelopes_of(read_topic(bootstrap, TOPIC))]


def test_a_running_relay_publishes_its_store_again_on_a_fresh_broker(tmp_path: Path, broker: Broker) -> None:
    store = office_space_store(tmp_path, broker.bootstrap)
    store.save_all([new_agency(f"R{i}") for i in range(30)], meta())
    relay = OutboxRelay(store, make_producer(broker.bootstrap), TOPIC, check_seconds=1.0)
    stop = threading.Event()
    runner = threading.Thread(target=relay.run, args=(stop, 0.2), daemon=True)
    runner.start()
    try:
        wait_until(lambda: store.relay_position(TOPIC) == 30, 30, "the first publication")
        broker.start_afresh()
        store.save_all([new_agency(f"N{i}") for i in range(5)], meta())
        relay.wakeup.set()
        stored = sorted(e.event_id for e in store.read_all())  # 30 + 5 registrations
        wait_until(lambda: sorted(set(_published_ids(broker.bootstrap))) == stored, 60, "the store on the new broker")
    finally:
        stop.set()
        relay.wakeup.set()
        runner.join(10)
    assert store.relay_position(TOPIC) == store.last_position() == 35


def test_a_relay_started_after_the_broker_was_replaced_publishes_its_store_again(
    tmp_path: Path, broker: Broker
) -> None:
    store = office_space_store(tmp_path, broker.bootstrap)
    store.save_all([new_agency(f"S{i}") for i in range(12)], meta())
    publish(store, broker.bootstrap)  # all 12 acknowledged, position 12, then the relay "crashes"
    broker.start_afresh()
    publish(store, broker.bootstrap)  # a relay process started anew
    assert sorted(_published_ids(broker.bootstrap)) == sorted(e.event_id for e in store.read_all())
    assert len(_published_ids(broker.bootstrap)) == 12  # published once again, not twice


def test_a_projector_reads_a_new_shorter_log_from_its_start(tmp_path: Path, broker: Broker) -> None:
    store = office_space_store(tmp_path, broker.bootstrap)
    store.save_all([new_agency(f"P{i}") for i in range(10)], meta())
    relay = publish(store, broker.bootstrap)
    relay.republish()  # the old log holds every event twice (a relay killed before recording its position)
    projector = data_center_projector(f"sqlite:///{tmp_path / 'dc.db'}", broker.bootstrap)
    projector.catch_up()
    old_offsets = sum(projector.stored_offsets().values())
    assert old_offsets == 20  # 10 events, each on the log twice
    broker.start_afresh()
    store.save_all([new_agency(f"Q{i}") for i in range(3)], meta())
    publish(store, broker.bootstrap)  # the new log: the 13 events once each, so shorter than the stored 20
    assert len(_published_ids(broker.bootstrap)) == 13
    restarted = data_center_projector(f"sqlite:///{tmp_path / 'dc.db'}", broker.bootstrap, max_records=50)
    restarted.engine = projector.engine
    restarted.catch_up()
    # every agency once: the 3 new ones are not skipped, the 10 re-read are not applied again
    assert _agencies(projector.engine) == sorted([f"P{i}" for i in range(10)] + [f"Q{i}" for i in range(3)])
    assert sum(restarted.stored_offsets().values()) == 13


def test_a_running_projector_follows_its_topic_made_anew_with_more_partitions(tmp_path: Path, broker: Broker) -> None:
    store = office_space_store(tmp_path, broker.bootstrap)  # 3 partitions
    store.save_all([new_agency(f"A{i}") for i in range(6)], meta())
    publish(store, broker.bootstrap)
    projector = data_center_projector(f"sqlite:///{tmp_path / 'dc.db'}", broker.bootstrap)
    projector.catch_up()
    stop = threading.Event()
    runner = threading.Thread(target=projector.run, args=(stop,), daemon=True)
    runner.start()
    try:
        # the topic made anew with 5 partitions, and a writer on it with fewer messages than the projector had read;
        # Tansu makes a topic a running client asks about with partitions of its own choosing (it ignores the
        # clients' "do not create"), so the running projector may win the race to the new broker: start it again
        # until the platform's 5-partition topic is there first
        for _ in range(5):
            broker.start_afresh()
            if ensure_topics(broker.bootstrap, [TOPIC], 5)[TOPIC].partitions == 5:
                break
        fresh = EventStore.open(f"sqlite:///{tmp_path / 'other.db'}", "office_space")
        fresh.save_all([new_agency(f"B{i}") for i in range(10)], meta())
        publish(fresh, broker.bootstrap)
        used = {r.partition for r in read_topic(broker.bootstrap, TOPIC)}
        assert used & {3, 4}  # some events are on partitions the projector was not assigned before
        expected = sorted([f"A{i}" for i in range(6)] + [f"B{i}" for i in range(10)])
        wait_until(lambda: _agencies(projector.engine) == expected, 60, "the new log's events")
    finally:
        stop.set()
        runner.join(15)
    assert sum(projector.stored_offsets().values()) == 10  # positions on the new log: its 10 messages
    assert {tp.partition for tp in projector.stored_offsets()} == used  # every partition with events read
