"""Liveness and readiness, written once for every service, the gateway and the standalone relay.

- ``/health/live``: the process answers HTTP. Nothing else is checked, so an orchestrator restarts a
  process only when it is stuck, never because a broker is down (a restart would not bring it back).
- ``/health/ready``: the process can do its work. It checks the database (``SELECT 1``), RabbitMQ (an
  AMQP connection to ``AMQP_URI``) and Kafka (a TCP connection to a bootstrap server) and answers 200,
  or 503 naming what failed::

      {"service": "energy", "status": "failing",
       "checks": {"database": "ok", "rabbitmq": "ok", "kafka": "unreachable: 127.0.0.1:9092 (...)"}}

  ``/health`` is the same as ``/health/ready``. Each check's answer is reused for
  ``HEALTH_CACHE_SECONDS`` (2 s) so frequent probes and scrapes do not hammer the dependencies, and
  each check gives up after ``HEALTH_TIMEOUT_SECONDS`` (1 s). Every fresh answer also sets
  ``gov_dependency_up{service, dependency}``.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import sqlalchemy as sa
from kombu.connection import Connection
from nameko.extensions import DependencyProvider
from sqlalchemy.engine import Engine

from services.common.base.db import reader
from services.common.base.metrics import DEPENDENCY_UP, HTTP_CONNECTIONS_REFUSED, UP, render_metrics
from services.common.base.settings import settings
from services.common.read.broker import unreachable_reason
from services.common.runtime.runner import HTTP_CONNECTIONS, HTTP_HEAD_SECONDS, HTTP_IDLE_SECONDS

OK = "ok"
Check = Callable[[], str]


def database_check(engine: Engine) -> str:
    """``ok`` when the database answers ``SELECT 1`` (read-only: never waits for SQLite's write lock)."""
    try:
        with reader(engine).connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        return OK
    except Exception as exc:  # any failure is an answer, not a crash of the health endpoint
        return f"failing: {_brief(exc)}"


def rabbitmq_check(amqp_uri: str, timeout: float) -> str:
    """``ok`` when RabbitMQ accepts an AMQP connection within ``timeout`` seconds."""
    try:
        with Connection(amqp_uri, connect_timeout=timeout) as conn:  # type: ignore[no-untyped-call]
            conn.ensure_connection(max_retries=0, timeout=timeout)  # one attempt: retrying is the prober's job
        return OK
    except Exception as exc:
        return f"unreachable: {_brief(exc)}"


def kafka_check(bootstrap: str, timeout: float) -> str:
    """``ok`` when a Kafka bootstrap server accepts a TCP connection within ``timeout`` seconds."""
    reason = unreachable_reason(bootstrap, timeout)
    return OK if reason is None else f"unreachable: {reason}"


def _brief(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:300] if text else ''}".rstrip(": ")


@dataclass(frozen=True)
class Readiness:
    """The answer of ``/health/ready``: every check's result, ``ok`` or why not."""

    service: str
    checks: dict[str, str]

    @property
    def ready(self) -> bool:
        """Whether every check passed."""
        return all(result == OK for result in self.checks.values())

    @property
    def status_code(self) -> int:
        """200 when ready, 503 otherwise."""
        return 200 if self.ready else 503

    def body(self) -> dict[str, Any]:
        """The JSON body."""
        return {"service": self.service, "status": "ok" if self.ready else "failing", "checks": self.checks}


class HealthChecks:
    """The readiness checks of one process, each answer cached for ``cache_seconds``."""

    def __init__(
        self,
        service: str,
        checks: Mapping[str, Check],
        cache_seconds: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.service = service
        self.checks = dict(checks)
        self.cache_seconds = cache_seconds
        self.clock = clock
        self._answers: dict[str, tuple[float, str]] = {}

    @classmethod
    def standard(cls, service: str, engine: Callable[[], Engine | None], rabbitmq: bool = True) -> HealthChecks:
        """Database (``engine()`` resolved when first checked), RabbitMQ (unless not used) and Kafka."""
        config = settings()
        timeout = config.health_timeout_seconds

        def database() -> str:
            try:
                found = engine()
            except (AttributeError, RuntimeError):  # asked before the store was opened
                found = None
            return database_check(found) if found is not None else "failing: not opened yet"

        checks: dict[str, Check] = {"database": database}
        if rabbitmq:
            checks["rabbitmq"] = lambda: rabbitmq_check(config.amqp_uri, timeout)
        checks["kafka"] = lambda: kafka_check(config.kafka_bootstrap, timeout)
        return cls(service, checks, config.health_cache_seconds)

    def ready(self, extra: Mapping[str, str] | None = None) -> Readiness:
        """Run (or reuse) every check; ``extra`` adds results the caller knows already."""
        results = {name: self._answer(name, check) for name, check in self.checks.items()}
        return Readiness(self.service, {**results, **(extra or {})})

    def live(self) -> dict[str, str]:
        """The body of ``/health/live``."""
        return {"service": self.service, "status": "alive"}

    def _answer(self, name: str, check: Check) -> str:
        now = self.clock()
        cached = self._answers.get(name)
        if cached and now - cached[0] < self.cache_seconds:
            return cached[1]
        result = check()
        self._answers[name] = (self.clock(), result)
        DEPENDENCY_UP.labels(self.service, name).set(1 if result == OK else 0)
        return result


class HealthProvider(DependencyProvider):  # type: ignore[misc]
    """A nameko service's ``HealthChecks``; ``engine_of(container)`` finds the database to check."""

    def __init__(self, engine_of: Callable[[Any], Engine | None]) -> None:
        self.engine_of = engine_of

    def setup(self) -> None:
        container = self.container
        self.checks = HealthChecks.standard(container.service_name, lambda: self.engine_of(container))

    def get_dependency(self, worker_ctx: Any) -> HealthChecks:
        return self.checks


def serve_ops_http(host: str, port: int, checks: HealthChecks) -> ThreadingHTTPServer:
    """Serve ``/metrics``, ``/health``, ``/health/live`` and ``/health/ready`` from a daemon thread.

    For processes that are not nameko services (the standalone outbox relay).
    """

    class Handler(BaseHTTPRequestHandler):
        timeout = HTTP_IDLE_SECONDS  # a client keeping the connection waiting is let go (runner.connections_bounded)

        def setup(self) -> None:
            # The pause between bytes is bounded by ``timeout``; the whole exchange (one GET without a body,
            # answered at once: HTTP/1.0 closes after it) by ``HTTP_HEAD_SECONDS``, as ``runner.requests_in_time``
            # bounds the gateway's. Else a client dripping its headers a byte at a time, or reading the answer so,
            # held a thread and a place among ``HTTP_CONNECTIONS`` for as long as it liked: enough of them and
            # the relay's health and metrics were refused to everyone (slowloris).
            super().setup()
            self._deadline = threading.Timer(HTTP_HEAD_SECONDS, self._too_late)
            self._deadline.daemon = True
            self._deadline.start()

        def finish(self) -> None:
            self._deadline.cancel()
            super().finish()

        def _too_late(self) -> None:
            """Cut the connection: the handler's read or write blocked on it fails, and its thread ends."""
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                UP.labels(checks.service).set(1)
                body, content_type = render_metrics()
                self._send(200, body, content_type)
            elif path == "/health/live":
                self._send(200, json.dumps(checks.live()).encode(), "application/json")
            elif path in ("/health", "/health/ready"):
                report = checks.ready()
                self._send(report.status_code, json.dumps(report.body()).encode(), "application/json")
            else:
                self._send(404, b'{"error": "not_found"}', "application/json")

        def _send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            """Silence the per-request stderr lines (scrapes would flood the log)."""

    server = _BoundedHTTPServer((host, port), Handler)
    server.service = checks.service
    threading.Thread(target=server.serve_forever, name="ops-http", daemon=True).start()
    return server


class _BoundedHTTPServer(ThreadingHTTPServer):
    """A thread per connection, as ``ThreadingHTTPServer``, for at most ``HTTP_CONNECTIONS`` connections at once:
    one more is closed at once (``gov_http_connections_refused_total``), so a flood of idle clients cannot take
    the descriptors and threads the process needs for its store and Kafka (``runner.connections_bounded`` does
    the same for nameko's server)."""

    daemon_threads = True
    service = ""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._held = threading.BoundedSemaphore(HTTP_CONNECTIONS)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._held.acquire(blocking=False):
            HTTP_CONNECTIONS_REFUSED.labels(self.service).inc()
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except Exception:  # no thread for it: the connection is closed, the server goes on
            self._held.release()
            self.shutdown_request(request)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._held.release()
