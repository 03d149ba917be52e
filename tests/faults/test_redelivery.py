"""Duplicate and out-of-order delivery: the projectors see events as a misbehaving relay might send them.

The platform runs without its outbox relay (``RELAY_IN_PROCESS=false``); the test publishes the store
instead, every few hundred milliseconds: each batch with its streams interleaved at random (one stream's
events stay in order, which keying by stream id guarantees and is all the contract promises), plus copies
of a third of the events sent so far, each copy after its original — also after newer events of its own
stream, so a stale ``AgencyRegistered`` arrives after the headcount changed. Every copy must be ignored.
"""

from __future__ import annotations

import random
import threading
from collections import defaultdict, deque

import pytest
from kafka import KafkaProducer

from services.common.kernel.events import Envelope
from services.common.read.broker import ensure_topics, envelope_message, make_producer
from services.common.runtime.processes import wait_until
from services.gateway.views import data_center_projections
from tests.faults.conftest import StartPlatform
from tests.faults.harness import DLQ, TOPIC, FaultPlatform, Load, check_invariants, seed_world
from tests.support import metric_value

pytestmark = [pytest.mark.faults, pytest.mark.broker, pytest.mark.slow]


class MisbehavingRelay:
    """Publishes the office-space store shuffled within the contract, with duplicates."""

    def __init__(self, platform: FaultPlatform, seed: int = 7) -> None:
        self.store = platform.store()
        self.producer: KafkaProducer = make_producer(platform.bootstrap)
        self.random = random.Random(seed)
        self.sent: list[Envelope] = []
        self.copies = 0
        self.handled = {kind for p in data_center_projections() if TOPIC in p.topics for kind in p.handles()}
        """The event types the data center applies: a copy of any other is passed over, not counted as ignored."""
        self.handled_copies = 0
        self.position = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="misbehaving-relay", daemon=True)

    def __enter__(self) -> MisbehavingRelay:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(30)
        self.publish_once()  # whatever was stored last

    def _run(self) -> None:
        while not self.stop.wait(0.3):
            self.publish_once()

    def publish_once(self) -> None:
        fresh = self.store.read_all(after=self.position, limit=5000)
        if not fresh:
            return
        self.position = fresh[-1].position or self.position
        order = self._interleaved(fresh)
        earlier = self.sent + order
        for original in self.random.sample(earlier, k=len(earlier) // 3):
            after = order.index(original) + 1 if original in order else 0
            order.insert(self.random.randint(after, len(order)), original)
            self.copies += 1
            self.handled_copies += original.event_type in self.handled
        futures = [self.producer.send(TOPIC, **_message(env)) for env in order]
        self.producer.flush()
        for future in futures:
            future.get(timeout=30)
        self.sent.extend(fresh)

    def _interleaved(self, events: list[Envelope]) -> list[Envelope]:
        streams: dict[str, deque[Envelope]] = defaultdict(deque)
        for env in events:
            streams[env.stream_id].append(env)
        order: list[Envelope] = []
        while streams:
            stream = self.random.choice(sorted(streams))
            order.append(streams[stream].popleft())
            if not streams[stream]:
                del streams[stream]
        return order


def _message(env: Envelope) -> dict[str, object]:
    key, value, headers = envelope_message(env)
    return {"key": key, "value": value, "headers": headers}


def _duplicates_ignored(platform: FaultPlatform) -> float:
    labels = {"projector": "datacenter", "service": "gateway"}
    return metric_value(platform.gateway, "gov_duplicate_events_ignored_total", **labels) or 0.0


def test_duplicated_and_reordered_delivery_is_projected_exactly_once(start_platform: StartPlatform) -> None:
    platform = start_platform(env={"RELAY_IN_PROCESS": "false"})
    ensure_topics(platform.bootstrap, [TOPIC, DLQ], 3)
    token = platform.token()
    with MisbehavingRelay(platform) as relay:
        seed = seed_world(platform, token)
        with Load(platform, token, seed) as load:
            load.wait_for(150)
    report = check_invariants(platform, seed.outcomes + load.outcomes)
    assert relay.copies > 0 and report.kafka_records == report.stored_events + relay.copies
    # every copy was seen and ignored, none applied (the copies after the last original are read after the
    # projection has caught up with the store: wait for the count, then compare it exactly)
    wait_until(lambda: _duplicates_ignored(platform) >= relay.handled_copies, 60, "every copy read")
    assert relay.handled_copies > 0 and _duplicates_ignored(platform) == relay.handled_copies
    print(f"{relay.copies} copies ignored; {report}")
