"""The whole platform as separate processes: Tansu, every service and the gateway, over real RabbitMQ.

``platform`` is parametrized: once with SQLite stores, once with PostgreSQL (a database per service).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from services.common.base.settings import SERVICE_PORTS, SERVICES
from services.common.runtime.processes import ProcessGroup, free_port, start_services, start_tansu
from tests.conftest import rabbitmq_vhost
from tests.support import create_database, drop_database


@dataclass
class Platform:
    """A running platform and how to talk to it."""

    var_dir: Path
    env: dict[str, str]
    ports: dict[str, int]
    bootstrap: str
    database_urls: dict[str, str] = field(default_factory=dict)
    tokens_made: dict[tuple[str, str | None, str], str] = field(default_factory=dict, init=False, repr=False)

    @property
    def gateway(self) -> str:
        return f"http://127.0.0.1:{self.ports['gateway']}"

    def token(self, role: str = "city_admin", district: str | None = None, name: str = "e2e") -> str:
        """The API token of ``name`` for ``role`` (and ``district``), made with the documented CLI the first
        time it is asked for: a name is unique per role and district, so the same name is the same token."""
        made = self.tokens_made.get((role, district, name))
        if made is None:
            made = self.tokens_made[(role, district, name)] = self._make_token(role, district, name)
        return made

    def _make_token(self, role: str, district: str | None, name: str) -> str:
        argv = [sys.executable, "-m", "services.gateway.tokens", "create", "--name", name, "--role", role]
        argv += ["--district", district] if district else []
        return subprocess.run(argv, env=self.env, check=True, capture_output=True, text=True).stdout.strip()

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        token: str | None = None,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any, dict[str, str]]:
        """(status, JSON body, headers with lower-case names) of one HTTP call to the gateway."""
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        request = urllib.request.Request(self.gateway + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        for key, value in (headers or {}).items():
            request.add_header(key, value)
        try:
            with urllib.request.urlopen(request, timeout=15) as response:
                return response.status, _json(response.read()), {k.lower(): v for k, v in response.headers.items()}
        except urllib.error.HTTPError as error:
            return error.code, _json(error.read()), {k.lower(): v for k, v in error.headers.items()}

    def log(self, name: str) -> str:
        """Everything process ``name`` logged so far."""
        return (self.var_dir / "log" / f"{name}.log").read_text(errors="replace")


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode(errors="replace")


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def platform(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    """Start the platform (on a RabbitMQ virtual host of its own); stop every process it started afterwards."""
    with rabbitmq_vhost() as amqp_uri:
        yield from _running_platform(request, tmp_path_factory, amqp_uri)


def _running_platform(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, amqp_uri: str
) -> Iterator[Platform]:
    var_dir = tmp_path_factory.mktemp(f"platform-{request.param}")
    ports = {name: free_port() for name in SERVICE_PORTS}
    env = {
        **os.environ,
        "VAR_DIR": str(var_dir),
        "AMQP_URI": amqp_uri,
        "LOG_LEVEL": "DEBUG",
        **{f"PORT_{name.upper()}": str(port) for name, port in ports.items()},
    }
    urls: dict[str, str] = {}
    if request.param == "postgres":
        server = request.getfixturevalue("postgres_server")
        urls = {name: create_database(server) for name in (*SERVICES, "gateway", "keys")}
        env.update({f"DATABASE_URL_{name.upper()}": url for name, url in urls.items()})
    group = ProcessGroup(var_dir, env)
    broker_port = free_port()
    start_tansu(group, broker_port)
    env["KAFKA_BOOTSTRAP"] = group.env["KAFKA_BOOTSTRAP"] = f"127.0.0.1:{broker_port}"
    try:
        start_services(group, ports, timeout=90)
        yield Platform(var_dir, env, ports, env["KAFKA_BOOTSTRAP"], urls)
    finally:
        group.stop_all(["gateway", *SERVICES, "tansu"])
        for url in urls.values():
            drop_database(url)
