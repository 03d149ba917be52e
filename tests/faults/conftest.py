"""Fixtures of the fault suite: ``start_platform`` gives each test a platform of its own (its own Tansu,
RabbitMQ virtual host, folder and stores), so killing its processes never disturbs another test."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import rabbitmq_vhost
from tests.faults.harness import FaultPlatform, PrivateRabbitMQ, private_rabbitmq, running_platform

StartPlatform = Callable[..., FaultPlatform]


@pytest.fixture
def start_platform(tmp_path: Path) -> Iterator[StartPlatform]:
    """``start_platform(services=("office_space",), database="sqlite", env=None, amqp_uri=None)``: a running
    platform in ``tmp_path`` on a RabbitMQ virtual host of its own (or on ``amqp_uri``), stopped afterwards."""
    with ExitStack() as stack:

        def start(amqp_uri: str | None = None, **options: Any) -> FaultPlatform:
            uri = amqp_uri or stack.enter_context(rabbitmq_vhost())
            return stack.enter_context(running_platform(tmp_path / "platform", uri, **options))

        yield start


RABBITMQ_SERVER = "/usr/lib/rabbitmq/bin/rabbitmq-server"
"""The server script itself (Debian's /usr/sbin/rabbitmq-server wrapper runs it as the rabbitmq user)."""


@pytest.fixture
def rabbitmq_node(tmp_path: Path) -> Iterator[PrivateRabbitMQ]:
    """A RabbitMQ node of this test's own; request it before ``start_platform`` so it stops last."""
    server = RABBITMQ_SERVER if Path(RABBITMQ_SERVER).exists() else shutil.which("rabbitmq-server")
    if not server:
        pytest.skip("rabbitmq-server is not installed: a private RabbitMQ node cannot be started")
    with private_rabbitmq(tmp_path / "rabbitmq", server) as node:
        yield node
