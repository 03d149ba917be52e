"""Kafka (Tansu, memory-only) killed -9 under load and district traffic, and a fresh, empty broker started on its
address the way ``make run`` does (no ``make stop``, the services left running): every store is published again,
every projection and the district consumer read the new logs from their start, and every command accepted and
every district message the broker acknowledged is applied exactly once."""

from __future__ import annotations

import time

import pytest

from services.common.runtime.processes import start_services, start_tansu
from tests.faults.conftest import StartPlatform
from tests.faults.harness import DOMAIN, DistrictTraffic, Load, applied, check_invariants, seed_world

pytestmark = [pytest.mark.faults, pytest.mark.broker, pytest.mark.slow]


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
        _wait(lambda: applied(platform, district.acknowledged))
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
    _wait(lambda: applied(platform, district.acknowledged), timeout=120)
    report = check_invariants(platform, seed.outcomes + load.outcomes, district_agencies=district.acknowledged)
    print(report, f"; district messages acknowledged {len(district.acknowledged)}, failed sends {district.failures}")
    assert platform.processes.running(DOMAIN) and platform.processes.running("gateway")  # never restarted
    # converged: the data center has applied the office-space store's newest event, end to end
    status, body, _ = platform.request("GET", "/api/v1/projections", token=token)
    assert status == 200
    office = body["stores"][DOMAIN]
    assert (office["lag_seconds"], office["unpublished_events"]) == (0.0, 0), office


def _wait(check: object, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)
