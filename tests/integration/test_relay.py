"""The outbox relay against real Tansu: order, keys, kill -9 recovery, late commits on PostgreSQL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import defaultdict
from pathlib import Path

import pytest

from services.common.read.broker import ensure_topics, make_producer
from services.common.runtime.processes import wait_until
from services.common.runtime.relay import OutboxRelay
from services.common.write import store as store_module
from services.common.write.store import EventStore
from tests.support import envelopes_of, meta, new_agency, read_topic


def _topic() -> str:
    return f"relaytest.{uuid.uuid4().hex[:8]}"


def _relay(store: EventStore, bootstrap: str, topic: str, batch: int = 100) -> OutboxRelay:
    ensure_topics(bootstrap, [topic], 3)
    return OutboxRelay(store, make_producer(bootstrap), topic, batch)


def test_events_are_published_in_commit_order_keyed_by_stream(tmp_path: Path, tansu: str) -> None:
    store = EventStore.open(f"sqlite:///{tmp_path / 's.db'}", "office_space")
    for i in range(20):
        store.save(new_agency(f"A{i % 4}-{i}"), meta())
    topic = _topic()
    relay = _relay(store, tansu, topic, batch=7)
    while relay.publish_once():
        pass
    records = read_topic(tansu, topic)
    assert sorted(r.key.decode() for r in records) == sorted(e.stream_id for e in store.read_all())
    by_partition: dict[int, list[int]] = defaultdict(list)
    positions = {e.event_id: e.position for e in store.read_all()}
    for record in records:
        by_partition[record.partition].append(positions[dict(record.headers)["event_id"].decode()])
    assert all(p == sorted(p) for p in by_partition.values())  # commit order within every partition
    assert store.relay_position(topic) == store.last_position()


def test_progress_is_not_recorded_when_the_broker_does_not_acknowledge(tmp_path: Path) -> None:
    store = EventStore.open(f"sqlite:///{tmp_path / 's.db'}", "office_space")
    store.save(new_agency("A1"), meta())
    producer = make_producer("127.0.0.1:1", max_block_ms=500, request_timeout_ms=500, api_version=(2, 5))
    relay = OutboxRelay(store, producer, "nowhere.events")
    with pytest.raises(Exception):  # noqa: B017 - any failure to deliver
        relay.publish_once()
    assert store.relay_position("nowhere.events") == 0


def test_a_relay_killed_mid_stream_and_restarted_loses_nothing(tmp_path: Path, fresh_tansu: str) -> None:
    url = f"sqlite:///{tmp_path / 'office_space.db'}"
    store = EventStore.open(url, "office_space")
    total = 20_000  # a relay that no longer waits for each batch's acknowledgements sends 3,000 in a blink
    for start in range(0, total, 2000):
        store.save_all([new_agency(f"K{i}") for i in range(start, start + 2000)], meta())
    env = {
        **os.environ,
        "DATABASE_URL_OFFICE_SPACE": url,
        "KAFKA_BOOTSTRAP": fresh_tansu,
        "RELAY_BATCH": "100",
        "VAR_DIR": str(tmp_path),
    }
    argv = [sys.executable, "-m", "services.common.runtime.relay", "office_space"]
    first = subprocess.Popen(argv, env=env, stderr=subprocess.DEVNULL)
    wait_until(lambda: store.relay_position("office_space.events") >= 500, 60, "first relay progress", 0.01)
    first.send_signal(signal.SIGKILL)
    first.wait()
    killed_at = store.relay_position("office_space.events")
    assert killed_at < total, "the relay must be killed mid-stream"
    second = subprocess.Popen(argv, env=env, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: store.relay_position("office_space.events") == store.last_position(), 120, "second relay")
    finally:
        second.send_signal(signal.SIGKILL)
        second.wait()
    published = envelopes_of(read_topic(fresh_tansu, "office_space.events"))
    stored = {e.event_id for e in store.read_all(limit=total + 1)}
    assert {e["event_id"] for e in published} == stored
    assert len(published) >= total  # duplicates are allowed (at-least-once), losses are not


@pytest.mark.postgres
def test_on_postgresql_an_event_that_commits_late_is_not_skipped(
    postgres_url: str, tansu: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = EventStore.open(postgres_url, "office_space")
    topic = _topic()
    relay = _relay(store, tansu, topic)
    slow_writer_inside = threading.Event()
    release_slow_writer = threading.Event()
    original = store_module.refuse_if_expired

    def slow_commit(deadline, margin=0.0):  # type: ignore[no-untyped-def]
        # The deadline is checked after the insert and before the commit: hold the transaction open there.
        if threading.current_thread().name == "slow":
            slow_writer_inside.set()
            release_slow_writer.wait(10)
        original(deadline, margin)

    monkeypatch.setattr(store_module, "refuse_if_expired", slow_commit)
    slow = threading.Thread(target=lambda: store.save(new_agency("SLOW"), meta()), name="slow")
    slow.start()
    assert slow_writer_inside.wait(10)
    fast = threading.Thread(target=lambda: store.save(new_agency("FAST"), meta()), name="fast")
    fast.start()
    time.sleep(0.5)  # the fast writer would commit first here if appends were not serialized
    relay.publish_once()
    release_slow_writer.set()
    slow.join()
    fast.join()
    while relay.publish_once():
        pass
    published = {e["stream_id"] for e in envelopes_of(read_topic(tansu, topic))}
    assert published == {"SLOW", "FAST"}


def test_commits_made_while_the_relay_lingers_go_out_in_one_round(tmp_path: Path, tansu: str) -> None:
    store = EventStore.open(f"sqlite:///{tmp_path / 's.db'}", "office_space")
    topic = _topic()
    relay = _relay(store, tansu, topic)
    rounds: list[int] = []
    recorded = store.set_relay_position
    store.set_relay_position = lambda t, position, log=None: (rounds.append(position), recorded(t, position, log))  # type: ignore[method-assign]
    stop = threading.Event()
    runner = threading.Thread(target=relay.run, args=(stop, 5.0, 0.5), daemon=True)
    runner.start()
    try:
        time.sleep(0.3)  # the first, idle round is over: the relay waits to be woken
        for i in range(3):
            store.save(new_agency(f"L{i}"), meta())
            relay.wakeup.set()
            time.sleep(0.05)
        wait_until(lambda: store.relay_position(topic) == 3, 10, "the relay")
    finally:
        stop.set()
        relay.wakeup.set()
        runner.join(10)
    assert rounds == [3]  # one round for the three commits, not one each
    assert len(read_topic(tansu, topic)) == 3


def test_an_outbox_that_cannot_publish_shows_its_age_growing(tmp_path: Path) -> None:
    """The alert on the outbox's age must fire when the broker is gone, not show the age of the last good round."""
    from services.common.base.metrics import OUTBOX_AGE, OUTBOX_BACKLOG

    store = EventStore.open(f"sqlite:///{tmp_path / 's.db'}", "office_space")
    store.save(new_agency("U1"), meta())
    store.save(new_agency("U2"), meta())
    producer = make_producer("127.0.0.1:1", max_block_ms=300, request_timeout_ms=300, api_version=(2, 5))
    relay = OutboxRelay(store, producer, "nowhere.events")
    OUTBOX_BACKLOG.labels("office_space").set(0)  # as a last good round would have left them
    OUTBOX_AGE.labels("office_space").set(0)
    stop = threading.Event()
    runner = threading.Thread(target=relay.run, args=(stop,), daemon=True)
    runner.start()
    try:
        time.sleep(1.2)  # the two events are over a second old by the time a failed round reports
        wait_until(lambda: OUTBOX_BACKLOG.labels("office_space")._value.get() == 2, 60, "the backlog gauge")
        wait_until(lambda: OUTBOX_AGE.labels("office_space")._value.get() >= 1.0, 60, "the age gauge")
    finally:
        stop.set()
        runner.join(60)


def test_the_broker_checks_reuse_one_admin_client_until_a_failed_round(tmp_path: Path, tansu: str) -> None:
    store = EventStore.open(f"sqlite:///{tmp_path / 's.db'}", "office_space")
    relay = _relay(store, tansu, _topic())
    assert relay.check_broker() is None
    admin = relay._admin
    assert admin is not None
    assert relay.check_broker() is None
    assert relay._admin is admin  # the second check used the same client, not a new one
    relay.reconnect()  # what a failed round does: every client replaced
    assert relay._admin is None
    assert relay.check_broker() is None
    assert relay._admin is not None and relay._admin is not admin


def test_a_periodic_broker_check_that_waits_does_not_hold_up_publishing(tmp_path: Path, tansu: str) -> None:
    """A broker that stops answering the admin client keeps the check waiting for its timeouts; the publishing
    thread must go on meanwhile. The check here waits for the test, not for a timeout, so nothing is timed."""
    released = threading.Event()
    looking = threading.Event()

    class WaitingRelay(OutboxRelay):
        def _look(self, topic_id: str | None, marks: dict[int, int]) -> tuple[str | None, str]:
            if threading.current_thread() is not threading.main_thread():
                looking.set()
                released.wait(60)
            return super()._look(topic_id, marks)

    store = EventStore.open(f"sqlite:///{tmp_path / 's.db'}", "office_space")
    topic = _topic()
    ensure_topics(tansu, [topic], 3)
    relay = WaitingRelay(store, make_producer(tansu), topic, 100, check_seconds=0.0)
    store.save(new_agency("W1"), meta())
    assert relay.publish_once() == 1  # the first check is made by the publishing thread itself
    store.save(new_agency("W2"), meta())
    store.save(new_agency("W3"), meta())
    try:
        assert relay.publish_once() == 2  # published while the periodic check waits on its own thread
        assert looking.is_set() and relay._looker is not None and relay._looker.is_alive()
        assert store.relay_position(topic) == store.last_position()
    finally:
        released.set()
    assert relay._looker is not None
    relay._looker.join(60)
    assert relay.publish_once() == 0  # the verdict (nothing lost) applied: the position stays
    assert store.relay_position(topic) == store.last_position()
    assert len(read_topic(tansu, topic)) == 3
