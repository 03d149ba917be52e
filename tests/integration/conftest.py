"""Fixtures of the integration tests: ``office_space_process``, a service process shared by a module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import rabbitmq_vhost
from tests.integration.running import RunningServices, start_services_with_broker


@pytest.fixture(scope="module")
def office_space_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServices]:
    """The office_space service as a process, with its own Tansu and RabbitMQ virtual host, shared by a module."""
    with rabbitmq_vhost() as amqp_uri:
        running = start_services_with_broker(tmp_path_factory.mktemp("office_space"), amqp_uri)
        yield running
        running.stop()
