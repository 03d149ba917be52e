"""A command answered 503 is not done: the office-space service frozen (SIGSTOP) while commands queue for it,
the gateway answers 503 at its RPC timeout, and when the service wakes up it does not act on any of them."""

from __future__ import annotations

import signal
import time

import pytest

from tests.faults.conftest import StartPlatform
from tests.faults.harness import DOMAIN, agency_body, store_events
from tests.support import agency_code

pytestmark = [pytest.mark.faults, pytest.mark.slow]

RPC_TIMEOUT = 3


def test_commands_answered_503_while_the_service_was_frozen_are_never_done(start_platform: StartPlatform) -> None:
    platform = start_platform(env={"RPC_TIMEOUT": str(RPC_TIMEOUT)})
    token = platform.token()
    agencies = [agency_code("320402") for _ in range(3)]
    platform.signal(DOMAIN, signal.SIGSTOP)
    try:
        answers = [
            platform.request("POST", "/api/v1/agencies", agency_body(agency, 10), token)[:2] for agency in agencies
        ]
        assert [(status, body["error"]) for status, body in answers] == [(503, "service_unavailable")] * 3
    finally:
        platform.signal(DOMAIN, signal.SIGCONT)
    # the service works again (a command now is done) ...
    status, _, _ = platform.request("POST", "/api/v1/agencies", agency_body(agency_code("320402"), 10), token)
    assert status in (200, 201)
    time.sleep(RPC_TIMEOUT)  # ... and had every chance to act on the queued ones: none is in the store
    registered = {e.payload["agency_id"] for e in store_events(platform) if e.event_type == "AgencyRegistered"}
    assert registered.isdisjoint(agencies)
