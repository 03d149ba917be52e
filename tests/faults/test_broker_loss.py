"""Kafka (Tansu, memory-only) killed -9 under load and district traffic, and a fresh, empty broker started on its
address the way ``make run`` does (no ``make stop``, the services left running): every store is published again,
every projection and the district consumer read the new logs from their start, and every command accepted and
every district message the broker acknowledged is applied exactly once."""

from __future__ import annotations

import json
import threading
import time
import uuid

import pytest
from kafka import KafkaProducer

from services.common.broker import make_producer
from services.common.processes import start_services, start_tansu
from tests.faults.conftest import StartPlatform
from tests.faults.harness import (
    DOMAIN,
    FaultPlatform,
    Load,
    agency_body,
    check_invariants,
    seed_world,
    store_events,
)

pytestmark = [pytest.mark.faults, pytest.mark.broker, pytest.mark.slow]

DISTRICT = "320402"
INBOUND = f"district.{DISTRICT}.inbound"


class DistrictTraffic:
    """A district's system sending agency registrations one after another; a message counts once the broker
    acknowledged it. A send that failed is sent again with the same message id by a new producer (a producer a
    fresh broker does not know never succeeds again), as a district's own client would."""

    def __init__(self, platform: FaultPlatform, pause: float = 0.1) -> None:
        self.platform = platform
        self.pause = pause
        self.tag = uuid.uuid4().hex[:6]
        self.acknowledged: list[str] = []
        self.failures = 0
        self._stop = threading.Event()
        self._held = threading.Event()
        self._thread = threading.Thread(target=self._run, name="district", daemon=True)

    def __enter__(self) -> DistrictTraffic:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(60)

    def hold(self) -> None:
        """Stop sending (the message being sent is finished first)."""
        self._held.set()
        time.sleep(11)  # longer than a send's own wait for its acknowledgement

    def resume(self) -> None:
        self._held.clear()

    def _run(self) -> None:
        producer: KafkaProducer | None = None
        n = 0
        while not self._stop.is_set():
            if self._held.is_set():
                self._stop.wait(0.1)
                continue
            agency = f"DA-{self.tag}-{n}"
            message = {
                "message_id": f"dm-{self.tag}-{n}",
                "message_type": "office_space.register_agency",
                "schema_version": 1,
                "district": DISTRICT,
                "sent_at": "2026-11-23T08:00:00+08:00",
                "payload": agency_body(agency, 30),
            }
            try:
                producer = producer or make_producer(self.platform.bootstrap, max_block_ms=3000)
                producer.send(INBOUND, key=message["message_id"].encode(), value=json.dumps(message).encode()).get(10)
            except Exception:
                self.failures += 1
                if producer is not None:
                    producer.close(timeout=0)
                producer = None
                self._stop.wait(0.5)
                continue
            self.acknowledged.append(agency)
            n += 1
            self._stop.wait(self.pause)
        if producer is not None:
            producer.close(timeout=1)


def test_a_broker_killed_and_replaced_by_an_empty_one_loses_skips_and_doubles_nothing(
    start_platform: StartPlatform,
) -> None:
    platform = start_platform()
    token = platform.token()
    seed = seed_world(platform, token)
    with Load(platform, token, seed) as load, DistrictTraffic(platform) as district:
        load.wait_for(20)
        _wait(lambda: len(district.acknowledged) >= 10)
        # A memory-only broker loses what it had not delivered yet: the district's messages are all applied first,
        # so that every message the test counts is one the platform could still see.
        district.hold()
        _wait(lambda: _applied(platform, district.acknowledged))
        platform.kill("tansu")
        time.sleep(5)  # the outage: commands go on into the stores, district sends fail
        port = int(platform.bootstrap.rsplit(":", 1)[1])
        start_tansu(platform.processes, port)  # `make run`: an empty broker, the platform's topics made first,
        start_services(platform.processes, platform.ports, (DOMAIN, "gateway"))  # the running services kept
        acknowledged_before = len(district.acknowledged)
        district.resume()
        load.wait_for(load.accepted_count() + 20)
        _wait(lambda: len(district.acknowledged) >= acknowledged_before + 10)
    # every message the new broker acknowledged: read from the new log's start, applied (none skipped)
    _wait(lambda: _applied(platform, district.acknowledged), timeout=120)
    report = check_invariants(platform, seed.outcomes + load.outcomes, district_agencies=district.acknowledged)
    print(report, f"; district messages acknowledged {len(district.acknowledged)}, failed sends {district.failures}")
    assert platform.processes.running(DOMAIN) and platform.processes.running("gateway")  # never restarted
    # converged: the data center has applied the office-space store's newest event, end to end
    status, body, _ = platform.request("GET", "/api/v1/projections", token=token)
    assert status == 200
    office = body["stores"][DOMAIN]
    assert (office["lag_seconds"], office["unpublished_events"]) == (0.0, 0), office


def _applied(platform: FaultPlatform, agencies: list[str]) -> bool:
    registered = {e.payload["agency_id"] for e in store_events(platform) if e.event_type == "AgencyRegistered"}
    return set(agencies) <= registered


def _wait(check: object, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)
