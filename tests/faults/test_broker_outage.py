"""Kafka (Tansu) frozen for 30 seconds under load: commands go on, nothing is lost or doubled after."""

from __future__ import annotations

import signal
import time

import pytest

from tests.faults.conftest import StartPlatform
from tests.faults.harness import Load, check_invariants, seed_world

pytestmark = [pytest.mark.faults, pytest.mark.broker, pytest.mark.slow]

OUTAGE_SECONDS = 30


def test_a_broker_stopped_for_30_seconds_under_load_loses_and_doubles_nothing(start_platform: StartPlatform) -> None:
    platform = start_platform()
    token = platform.token()
    seed = seed_world(platform, token)
    with Load(platform, token, seed) as load:
        load.wait_for(20)
        platform.signal("tansu", signal.SIGSTOP)
        try:
            during = load.accepted_count()
            time.sleep(OUTAGE_SECONDS)  # the outage itself, not a wait for anything
            accepted_during_outage = load.accepted_count() - during
        finally:
            platform.signal("tansu", signal.SIGCONT)
        load.wait_for(load.accepted_count() + 20)
    # the write path does not need Kafka: commands were accepted while the broker was frozen
    assert accepted_during_outage > 0
    report = check_invariants(platform, seed.outcomes + load.outcomes)
    print(report)
