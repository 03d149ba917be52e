"""A command answered 503 is not done, and a command done is never answered 503: the office-space service frozen
(SIGSTOP) while commands queue for it, the gateway answers 503 at its RPC timeout, and when the service wakes up
it does not act on any of them; a command done whose answer was lost is answered with its own answer."""

from __future__ import annotations

import signal
import sqlite3
import threading
import time
from collections.abc import Callable

import pytest

from tests.faults.conftest import StartPlatform
from tests.faults.harness import DOMAIN, FaultPlatform, agency_body, store_events
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


def test_a_command_done_whose_answer_was_lost_is_answered_as_done_not_503(start_platform: StartPlatform) -> None:
    # The command is committed in time, but its answer cannot reach the gateway before the gateway's wait
    # runs out (here: the gateway frozen while the answer waits in its reply queue; in life: RabbitMQ's
    # connections dropped after the commit). A 503 would say "not done" of a done command. The gateway asks
    # the service what it recorded under the command's key and answers the command's own answer.
    platform = start_platform(env={"RPC_TIMEOUT": str(RPC_TIMEOUT)})
    token = platform.token()
    agency = agency_code("320402")
    answers: list[tuple[int, dict[str, object]]] = []
    store = platform.database_url(DOMAIN).removeprefix("sqlite:///")
    lock = sqlite3.connect(store, timeout=30, check_same_thread=False)
    lock.execute("BEGIN IMMEDIATE")  # the service will wait for the store's write lock
    sender = threading.Thread(
        target=lambda: answers.append(
            platform.request("POST", "/api/v1/agencies", agency_body(agency, 10), token)[:2]  # type: ignore[arg-type]
        )
    )
    sender.start()
    time.sleep(1.0)  # the gateway has sent the RPC; the service waits for the lock
    platform.signal("gateway", signal.SIGSTOP)
    try:
        lock.rollback()  # the service commits now, ~2 s before the deadline, and answers into a frozen gateway
        lock.close()
        _wait_until(lambda: agency in _registered(platform), 10)
        time.sleep(RPC_TIMEOUT)  # the gateway's wait for the answer is over when it wakes up
    finally:
        platform.signal("gateway", signal.SIGCONT)
    sender.join(timeout=30)
    assert len(answers) == 1
    status, body = answers[0]
    assert status == 201, body
    assert body["id"] == agency
    assert [a for a in _all_registered(platform) if a == agency] == [agency]  # done once


def _registered(platform: FaultPlatform) -> set[str]:
    return set(_all_registered(platform))


def _all_registered(platform: FaultPlatform) -> list[str]:
    return [e.payload["agency_id"] for e in store_events(platform) if e.event_type == "AgencyRegistered"]


def _wait_until(check: Callable[[], bool], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)
