"""Fixtures of the integration tests: ``office_space_process``, a service process shared by a module; ``keys``, a
personal-data key store of a test's own (SQLite) under ``MASTER``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from services.common.base.db import create_db_engine, migrate
from services.common.base.personal import KeyStore
from tests.conftest import rabbitmq_vhost
from tests.integration.running import RunningServices, start_services_with_broker


@pytest.fixture(scope="module")
def office_space_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServices]:
    """The office_space service as a process, with its own Tansu and RabbitMQ virtual host, shared by a module."""
    with rabbitmq_vhost() as amqp_uri:
        running = start_services_with_broker(tmp_path_factory.mktemp("office_space"), amqp_uri)
        yield running
        running.stop()


MASTER = bytes(range(32))
"""The master key of the tests' key stores."""


def key_store_engine(tmp_path: Path) -> Engine:
    """A key store's database (SQLite in ``tmp_path``), migrated."""
    engine = create_db_engine(f"sqlite:///{tmp_path / 'keys.db'}")
    migrate(engine, "personal_keys")
    return engine


@pytest.fixture
def keys(tmp_path: Path) -> Iterator[KeyStore]:
    """A key store of the test's own under ``MASTER``."""
    engine = key_store_engine(tmp_path)
    yield KeyStore(engine, [MASTER])
    engine.dispose()
