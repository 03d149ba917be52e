"""SIGKILL of every service and of the gateway, one after the other, while commands keep coming."""

from __future__ import annotations

import pytest

from services.common.base.settings import SERVICES
from tests.faults.conftest import StartPlatform
from tests.faults.harness import Load, check_invariants, seed_world

pytestmark = [pytest.mark.faults, pytest.mark.broker, pytest.mark.slow]


def test_sigkill_of_each_service_mid_load_loses_and_doubles_nothing(start_platform: StartPlatform) -> None:
    platform = start_platform(services=SERVICES)
    token = platform.token()
    seed = seed_world(platform, token)
    with Load(platform, token, seed) as load:
        for name in (*SERVICES, "gateway"):
            load.wait_for(load.accepted_count() + 15)
            platform.kill(name)
            platform.restart(name)
        load.wait_for(load.accepted_count() + 15)
    report = check_invariants(platform, seed.outcomes + load.outcomes)
    print(report)
