"""RabbitMQ (nameko RPC) restarted under load: commands fail while it is down, and are retried with their
idempotency keys until accepted, each stored and projected exactly once. The node is the test's own."""

from __future__ import annotations

import pytest

from tests.faults.conftest import StartPlatform
from tests.faults.harness import Load, PrivateRabbitMQ, check_invariants, seed_world

pytestmark = [pytest.mark.faults, pytest.mark.broker, pytest.mark.slow]


def test_a_rabbitmq_restart_under_load_loses_and_doubles_nothing(
    rabbitmq_node: PrivateRabbitMQ, start_platform: StartPlatform
) -> None:
    platform = start_platform(amqp_uri=rabbitmq_node.uri)
    token = platform.token()
    seed = seed_world(platform, token)
    with Load(platform, token, seed) as load:
        load.wait_for(30)
        rabbitmq_node.stop()
        rabbitmq_node.start()
        load.wait_for(load.accepted_count() + 30, timeout=150)  # reconnecting takes longer on a loaded machine
    report = check_invariants(platform, seed.outcomes + load.outcomes)
    print(report)
