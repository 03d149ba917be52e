"""Services as real processes for the integration tests of health and metrics.

``start_services_with_broker`` starts a Tansu of the caller's own and some services (office_space by
default) with ``services.common.runtime.processes``, the way ``make run`` does, on free ports and SQLite stores
in a temporary folder. With ``broker_first=False`` the services start before their broker, which
``RunningServices.start_broker`` starts later.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.common.runtime.processes import (
    Managed,
    ProcessGroup,
    free_port,
    service_argv,
    start_services,
    start_tansu,
    wait_until,
)


@dataclass
class RunningServices:
    """Service processes, their Tansu, and how to reach them."""

    group: ProcessGroup
    tansu: Managed | None
    ports: dict[str, int]
    bootstrap: str

    def start_broker(self) -> Managed:
        """Start the Tansu of ``bootstrap`` (when the services were started before it)."""
        self.tansu = start_tansu(self.group, int(self.bootstrap.rsplit(":", 1)[1]))
        return self.tansu

    def get(self, service: str, path: str) -> tuple[int, Any]:
        """(status, JSON body or text) of GET ``path`` on ``service``'s HTTP port."""
        url = f"http://127.0.0.1:{self.ports[service]}{path}"
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                return response.status, _body(response.read())
        except urllib.error.HTTPError as error:
            return error.code, _body(error.read())
        except (ConnectionError, urllib.error.URLError) as error:  # no answer (yet): status 0, for pollers
            return 0, repr(error)

    def stop(self) -> None:
        """Stop every process started (services first)."""
        self.group.stop_all([*self.ports, "tansu"])


def _body(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode(errors="replace")


def start_services_with_broker(
    base: Path,
    amqp_uri: str,
    names: tuple[str, ...] = ("office_space",),
    broker_first: bool = True,
    **extra_env: str,
) -> RunningServices:
    """Start a Tansu of our own, then ``names``, and wait until each is ready; or, unless ``broker_first``,
    start ``names`` alone and wait until each is alive (``start_broker`` starts the broker)."""
    ports = {name: free_port() for name in names}
    broker_port = free_port()
    env = {
        **os.environ,
        "VAR_DIR": str(base),
        "AMQP_URI": amqp_uri,
        "KAFKA_BOOTSTRAP": f"127.0.0.1:{broker_port}",
        **{f"PORT_{name.upper()}": str(port) for name, port in ports.items()},
        **extra_env,
    }
    group = ProcessGroup(base, env)
    running = RunningServices(group, None, ports, env["KAFKA_BOOTSTRAP"])
    try:
        if broker_first:
            running.start_broker()
            start_services(group, ports, names, timeout=90)
        else:
            for name in names:
                group.spawn(name, service_argv(name))
            for name in names:
                wait_until(lambda n=name: running.get(n, "/health/live")[0] == 200, 90, f"{name} alive")
    except BaseException:
        running.stop()
        raise
    return running
