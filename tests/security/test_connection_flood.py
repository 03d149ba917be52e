"""Idle, slow and excess HTTP connections cannot end a service: nameko's web server, as every service and the
gateway run it (``services.common.runtime.runner.connections_bounded``), bounds the connections it holds, closes
one whose client keeps it waiting, and goes on when the process is out of file descriptors. Before, a client
opening connections until ``accept`` failed with ``EMFILE`` ended the container and the process. A request's
headers and body must also arrive in time (``runner.requests_in_time``): dripped a byte at a time, each within
the idle limit, they held a connection or a worker for as long as the client liked (slowloris).

The server runs in a process of its own with a low file limit (64 descriptors: it holds at most 32 connections),
so that the flood reaches the limit in a moment; the attacker is this process."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator

import pytest

from services.common.runtime import health
from services.common.runtime.processes import free_port
from tests.support import eventually

SERVER = textwrap.dedent(
    """
    import eventlet
    eventlet.monkey_patch()
    import resource, sys
    resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
    from nameko.runners import ServiceRunner
    from nameko.web.handlers import http
    from werkzeug.exceptions import HTTPException
    from services.common.kernel.errors import PlatformError
    from services.common.runtime.runner import connections_bounded, requests_in_time
    from services.gateway.web import read_json

    if sys.argv[2] == "bounded":
        connections_bounded(idle_seconds=float(sys.argv[3]))
        requests_in_time(head_seconds=2.0, grace_seconds=1.0, bytes_per_second=1000)

    class Probe:
        name = "probe"

        @http("GET", "/ping")
        def ping(self, request):
            return "pong"

        @http("POST", "/echo")
        def echo(self, request):
            try:
                return f"read {len(read_json(request))}"
            except HTTPException as refused:
                return refused.code, refused.description
            except PlatformError as refused:
                return refused.http_status, refused.message

    runner = ServiceRunner({"WEB_SERVER_ADDRESS": f"127.0.0.1:{sys.argv[1]}", "AMQP_URI": "memory://"})
    runner.add_service(Probe)
    runner.start()
    print("ready", flush=True)
    runner.wait()
    """
)


def _server(bounded: bool, idle_seconds: float = 30.0) -> Iterator[tuple[subprocess.Popen[str], int]]:
    port = free_port()
    argv = [sys.executable, "-c", SERVER, str(port), "bounded" if bounded else "as nameko has it", str(idle_seconds)]
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert process.stdout is not None and process.stdout.readline().strip() == "ready"
        yield process, port
    finally:
        process.kill()
        process.wait()


@pytest.fixture
def server() -> Iterator[tuple[subprocess.Popen[str], int]]:
    yield from _server(bounded=True)


@pytest.fixture
def impatient_server() -> Iterator[tuple[subprocess.Popen[str], int]]:
    """One that lets a client keep it waiting for a second only."""
    yield from _server(bounded=True, idle_seconds=1.0)


def _ping(port: int) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as client:
        client.sendall(b"GET /ping HTTP/1.0\r\n\r\n")
        return client.recv(4096)


def _flood(port: int, count: int) -> list[socket.socket]:
    """``count`` connections that send nothing (a client connecting beyond what the server holds is closed)."""
    held = []
    for _ in range(count):
        held.append(socket.create_connection(("127.0.0.1", port), timeout=5))
        time.sleep(0.002)
    return held


def _ends_read(held: list[socket.socket], closed: set[int]) -> list[int]:
    """The numbers of the clients the server has closed (each reads the end): ``closed``, those found before, with
    those found now added (a busy machine delivers the ends late, never fewer in the end)."""
    for number, client in enumerate(held):
        if number in closed:
            continue
        client.settimeout(0.01)
        with contextlib.suppress(TimeoutError):
            if client.recv(1) == b"":
                closed.add(number)
    return sorted(closed)


def test_a_flood_of_idle_connections_is_outlasted(server: tuple[subprocess.Popen[str], int]) -> None:
    process, port = server
    held = _flood(port, 100)  # three times what the server holds, more than its file limit
    time.sleep(0.3)
    assert process.poll() is None, "the server ended"
    # served during the flood (after it: the server takes connections in turn), in the place of the oldest idle one
    assert _ping(port).endswith(b"pong")
    # the server let go of the oldest idle ones: all but the 32 it holds, one of which made room for the ping
    ends: set[int] = set()
    closed = eventually(lambda: _ends_read(held, ends), lambda found: len(found) >= 100 - 32 + 1, 10, interval=0.05)
    assert len(closed) == 100 - 32 + 1, closed
    assert closed == list(range(len(closed))), closed  # oldest first: the newest are the ones still held
    for client in held:
        client.close()
    time.sleep(0.2)
    assert _ping(port).endswith(b"pong")
    assert process.poll() is None


def test_a_connection_that_keeps_the_server_waiting_is_closed(
    impatient_server: tuple[subprocess.Popen[str], int],
) -> None:
    _, port = impatient_server
    with socket.create_connection(("127.0.0.1", port), timeout=5) as client:
        client.sendall(b"GET /ping HTTP/1.1\r\nHost: x\r\n")  # the headers never end
        started = time.monotonic()
        assert client.recv(4096) == b""  # closed by the server after its idle second, not held for ever
        assert time.monotonic() - started < 4


def _drip(client: socket.socket, data: bytes, pause: float) -> float:
    """Send ``data`` a byte every ``pause`` seconds (within the idle limit) until the server closes the connection
    or answers: the seconds that took (the whole drip's when it did neither)."""
    started = time.monotonic()
    client.settimeout(pause)
    for byte in data:
        try:
            client.sendall(bytes([byte]))
            if client.recv(4096, socket.MSG_PEEK) is not None:
                break  # an answer, or the end of the stream
        except TimeoutError:
            continue
        except OSError:
            break
    return time.monotonic() - started


def test_headers_dripped_within_the_idle_limit_are_cut_off(impatient_server: tuple[subprocess.Popen[str], int]) -> None:
    _, port = impatient_server
    headers = b"X-Slow: " + b"a" * 60 + b"\r\n\r\n"  # 64 bytes at 0.3 s: 19 s, each pause below the idle second
    with socket.create_connection(("127.0.0.1", port), timeout=5) as client:
        client.sendall(b"GET /ping HTTP/1.1\r\nHost: x\r\n")
        took = _drip(client, headers, 0.3)
        assert client.recv(4096) == b""  # closed, with no answer: the headers did not arrive within 2 s
    assert 1.5 < took < 6, took
    assert _ping(port).endswith(b"pong")


def test_a_body_dripped_within_the_idle_limit_is_answered_408(
    impatient_server: tuple[subprocess.Popen[str], int],
) -> None:
    _, port = impatient_server
    body = b'{"a": "' + b"x" * 291 + b'"}'  # 300 bytes: 1 s of grace + 300 B at 1000 B/s = 1.3 s to arrive
    head = f"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=5) as client:
        client.sendall(head.encode() + body)  # in time: read whole
        assert client.recv(4096).endswith(b"read 1")
    with socket.create_connection(("127.0.0.1", port), timeout=5) as client:
        client.sendall(head.encode())
        took = _drip(client, body, 0.3)  # 300 bytes at 0.3 s: 90 s
        answer = client.recv(4096)
        assert answer.startswith(b"HTTP/1.1 408"), answer
        client.settimeout(2)
        assert client.recv(4096) == b""  # and closed, not read on
    assert 1 < took < 6, took
    assert _ping(port).endswith(b"pong")


def test_without_the_bound_the_same_flood_ends_the_server() -> None:
    """What the bound is for: nameko's server as it comes ends its process on the first ``EMFILE``."""
    for process, port in _server(bounded=False):
        held = _flood(port, 100)
        deadline = time.monotonic() + 10
        while process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        for client in held:
            client.close()
        assert process.poll() is not None


def test_the_relay_process_s_ops_server_holds_a_bounded_number_of_connections(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A process that is not a nameko service (the standalone relay) serves ``/metrics`` and ``/health`` with a
    thread per connection: bounded too, and idle clients let go."""
    monkeypatch.setattr(health, "HTTP_CONNECTIONS", 8)
    monkeypatch.setattr(health, "HTTP_IDLE_SECONDS", 1.0)
    monkeypatch.setattr(health.HTTP_CONNECTIONS_REFUSED, "labels", lambda service: refused)
    refused = Counted()
    port = free_port()
    server = health.serve_ops_http("127.0.0.1", port, health.HealthChecks("office_space-relay", {}))
    try:
        held = _flood(port, 40)
        # beyond the bound: closed at once, and counted (the server's thread may count the last ones a moment later)
        assert eventually(lambda: refused.count, lambda n: n >= 40 - 8, timeout=10, interval=0.05) == 40 - 8
        for client in held:
            client.close()
        # the places given back as the server reads each end: answered again
        assert eventually(
            lambda: _relay_health_of(port), lambda answer: answer.startswith(b"HTTP/1.0 200"), timeout=10, interval=0.1
        )
        with socket.create_connection(("127.0.0.1", port), timeout=5) as client:
            client.sendall(b"GET /metrics HTTP/1.1\r\n")  # the headers never end
            assert client.recv(4096) == b""  # let go after its idle second
    finally:
        server.shutdown()
        server.server_close()


def _relay_health_of(port: int) -> bytes:
    """The relay's ``/health/live`` answer, or nothing when the connection was refused (closed at once)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as client:
            client.sendall(b"GET /health/live HTTP/1.0\r\n\r\n")
            return client.recv(4096)
    except ConnectionError:
        return b""


def test_the_relay_process_s_ops_server_lets_go_of_a_request_dripped_a_byte_at_a_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each byte within the idle limit, the headers never ending: the exchange is cut at its deadline, so a few
    such clients cannot hold every place and leave the relay's health and metrics unanswered (slowloris)."""
    monkeypatch.setattr(health, "HTTP_IDLE_SECONDS", 1.0)
    monkeypatch.setattr(health, "HTTP_HEAD_SECONDS", 2.0)
    port = free_port()
    server = health.serve_ops_http("127.0.0.1", port, health.HealthChecks("office_space-relay", {}))
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as client:
            started = time.monotonic()
            client.sendall(b"GET /metrics HTTP/1.0\r\n")
            closed = False
            while time.monotonic() - started < 8:
                time.sleep(0.5)  # within the idle second
                try:
                    client.sendall(b"X")
                except OSError:  # reset: cut
                    closed = True
                    break
                client.settimeout(0.01)
                try:
                    if client.recv(4096) == b"":
                        closed = True
                        break
                except TimeoutError:
                    pass
            took = time.monotonic() - started
        assert closed and 1.5 < took < 4, took
        with socket.create_connection(("127.0.0.1", port), timeout=5) as client:
            client.sendall(b"GET /health/live HTTP/1.0\r\n\r\n")
            assert client.recv(4096).startswith(b"HTTP/1.0 200")  # an ordinary request is answered as before
    finally:
        server.shutdown()
        server.server_close()


class Counted:
    def __init__(self) -> None:
        self.count = 0

    def inc(self) -> None:
        self.count += 1
