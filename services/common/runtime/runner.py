"""Run one service (or the gateway) as a process: ``python -m services.common.runtime.runner office_space``.

Eventlet must patch the standard library before anything else is imported, so this module does it
first when run as a program. The nameko configuration is built from ``services.common.base.settings``.
"""

if __name__ == "__main__":
    import os

    # psycopg's C and epoll waits block the whole eventlet hub while PostgreSQL holds a lock; its select()
    # wait goes through eventlet's green select, so one waiting query no longer freezes every request
    os.environ.setdefault("PSYCOPG_WAIT_FUNC", "wait_select")

    from services.common.base.memory import development_extras_refused

    development_extras_refused()  # before structlog and openpyxl look for them (memory.DEVELOPMENT_EXTRAS says why)

    import eventlet

    eventlet.monkey_patch()

import argparse
import contextlib
import importlib
import signal
from typing import Any

from services.common.base.contracts import load_domains
from services.common.base.log import configure_logging, get_logger, standard_streams_lossy
from services.common.base.memory import large_blocks_given_back, startup_objects_frozen
from services.common.base.metrics import HTTP_CONNECTIONS_REFUSED
from services.common.base.settings import SERVICES, Settings, settings

GATEWAY_WORKERS = 64
"""Requests the gateway serves at once: each mostly waits for its service's answer, so a burst must not queue
behind ten of them (a service runs ten commands at once; its store serializes their appends anyway)."""


def nameko_config(service: str, config: Settings) -> dict[str, Any]:
    """The nameko configuration of ``service``."""
    return {
        "AMQP_URI": config.amqp_uri,
        "WEB_SERVER_ADDRESS": f"{config.http_host}:{config.port(service)}",
        "serializer": "json",
        "max_workers": GATEWAY_WORKERS if service == "gateway" else 10,
        "parent_calls_tracked": 10,
        "rpc_exchange": "gov-affairs-rpc",
    }


def answer_without_delay() -> None:
    """Send every HTTP answer as soon as it is written (``TCP_NODELAY`` on the listening socket, which the
    accepted connections inherit): eventlet's server writes an answer's headers and body separately, and Nagle's
    algorithm held the last part until the client's delayed acknowledgement, 40 ms later."""
    import socket

    from nameko.web.server import WebServer

    original = WebServer.get_wsgi_server

    def get_wsgi_server(self: WebServer, sock: Any, wsgi_app: Any, *args: Any, **kwargs: Any) -> Any:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return original(self, sock, wsgi_app, *args, **kwargs)

    WebServer.get_wsgi_server = get_wsgi_server


HTTP_CONNECTIONS = 1024
"""HTTP connections a process holds open at most (fewer when its file limit is low: half of it), so that idle or
slow clients cannot take every file descriptor the process needs for its databases, Kafka and RabbitMQ. A new
connection beyond it takes the place of the oldest one waiting for a request; when every one is in the middle of
a request, it is closed at once. Both are counted (``gov_http_connections_refused_total``)."""

HTTP_IDLE_SECONDS = 30.0
"""How long a client's connection may keep the server waiting for its next bytes (a request line, headers, a
body, an idle keep-alive): then it is closed. A request's own work (its RPC calls) is not bounded by it."""


def connections_bounded(limit: int | None = None, idle_seconds: float = HTTP_IDLE_SECONDS) -> None:
    """Make nameko's web server (every service's and the gateway's) outlast hostile or careless clients.

    nameko's accept loop and each connection run as the container's managed threads, and an exception in one
    ends the container and the process: a client opening connections until the process ran out of file
    descriptors (``EMFILE`` on ``accept``) ended the gateway, and a connection left open without a request held
    its descriptor for ever (no socket timeout). Now the connections held are bounded (``HTTP_CONNECTIONS``: a
    flood of idle connections makes room for a client that sends its request, by closing the oldest idle ones),
    an accept that fails waits a moment and goes on, a connection waiting longer than ``idle_seconds`` for its
    client is closed, and an error on one connection is that connection's alone."""
    import errno
    import resource
    import socket
    from functools import partial

    import eventlet
    from eventlet.wsgi import STATE_IDLE
    from nameko.web.server import WebServer

    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    most = limit or (min(HTTP_CONNECTIONS, soft // 2) if soft != resource.RLIM_INFINITY else HTTP_CONNECTIONS)
    log = get_logger()

    def run(self: WebServer) -> None:
        self._serv.socket_timeout = idle_seconds
        held: dict[Any, list[Any]] = {}  # each connection's eventlet state (address, socket, idle or not), oldest first
        while self._is_accepting:
            try:
                sock, addr = self._sock.accept()
            except OSError as error:
                if not self._is_accepting:
                    return
                # out of descriptors (EMFILE, ENFILE) or buffers, a client gone before it was accepted: the
                # listening socket is fine, and connections closing free what the next accept needs
                log.warning("http_accept_failed", error=errno.errorcode.get(error.errno or 0, str(error)))
                eventlet.sleep(0.1)
                continue
            if len(held) >= most:
                HTTP_CONNECTIONS_REFUSED.labels(self.container.service_name).inc()
                idle = next((state for state in held.values() if state[2] == STATE_IDLE), None)
                if idle is None:  # every connection is in the middle of a request: the new one waits its turn
                    sock.close()
                    continue
                del held[idle[1]]
                with contextlib.suppress(OSError):
                    idle[1].shutdown(socket.SHUT_RDWR)  # its reader wakes to the end of the stream and returns
            sock.settimeout(idle_seconds)
            state = held[sock] = [addr, sock, STATE_IDLE]
            self.container.spawn_managed_thread(partial(serve, self, state, held))

    def serve(self: WebServer, state: list[Any], held: dict[Any, list[Any]]) -> None:
        try:
            self._serv.process_request(state)  # eventlet's: it keeps state[2] as the connection goes
        except OSError as error:  # the client's connection failed (reset, cut short): the process goes on
            log.info("http_connection_failed", error=repr(error)[:200])
        except Exception as error:  # anything else of one connection is that connection's alone, never the process's
            log.warning("http_connection_failed", error=repr(error)[:200])
        finally:
            held.pop(state[1], None)
            state[1].close()

    WebServer.run = run


HTTP_HEAD_SECONDS = 30.0
"""How long a request's headers may take to arrive, all of them, once its request line came."""

BODY_GRACE_SECONDS = 10.0
BODY_BYTES_PER_SECOND = 64 * 1024
"""A body must arrive within ``BODY_GRACE_SECONDS`` plus its length at ``BODY_BYTES_PER_SECOND`` (a 1 MiB command
body: 26 s; a chunked body is given the time of ``LONGEST_BODY_BYTES``)."""

LONGEST_BODY_BYTES = 8 * 1024 * 1024
"""The largest body a route reads (a district's batch of meter readings): 138 s for a chunked body."""


def requests_in_time(
    head_seconds: float = HTTP_HEAD_SECONDS,
    grace_seconds: float = BODY_GRACE_SECONDS,
    bytes_per_second: float = BODY_BYTES_PER_SECOND,
    longest_body: int = LONGEST_BODY_BYTES,
) -> None:
    """Bound the time a request may take to arrive, not only the pause between its bytes (``HTTP_IDLE_SECONDS``).

    A client sending its headers or its body a byte at a time, each within the idle limit, held its connection
    (a place among ``HTTP_CONNECTIONS``: a connection in the middle of a request is never evicted) or, sending a
    body, one of the gateway's workers for as long as it liked: 64 such bodies left no worker for any other
    request (slowloris). Now the headers must all arrive within ``head_seconds`` (else the connection is closed)
    and a body within its grace and rate (else the read fails with ``TimeoutError`` and the body is marked
    ``late``: the gateway answers 408 and the connection is closed rather than read on)."""
    import time

    import eventlet
    from eventlet.wsgi import HttpProtocol, Input

    parse_request = HttpProtocol.parse_request

    def parse_request_in_time(self: HttpProtocol) -> bool:
        late = TimeoutError(f"the request's headers took longer than {head_seconds:g} s")
        with eventlet.Timeout(head_seconds, late):
            return bool(parse_request(self))

    def in_time(read: Any) -> Any:
        def read_in_time(self: Input, *args: Any) -> Any:
            deadline = getattr(self, "deadline", None)
            if deadline is None:
                length = self.content_length if self.content_length is not None else longest_body
                deadline = self.deadline = time.monotonic() + grace_seconds + length / bytes_per_second
            left = deadline - time.monotonic()
            late = TimeoutError("the request's body did not arrive in time")
            try:
                if left <= 0:
                    raise late
                with eventlet.Timeout(left, late):
                    return read(self, *args)
            except TimeoutError:
                self.late = True  # werkzeug's reader turns the error into ClientDisconnected: the gateway asks this
                raise

        return read_in_time

    HttpProtocol.parse_request = parse_request_in_time
    Input.read = in_time(Input.read)
    Input.readline = in_time(Input.readline)


def errors_as_json() -> None:
    """Answer a URL no route has, or a method its route does not take, in the platform's JSON error shape
    (``responses.http_error_response``: 404 ``not_found``, 405 ``method_not_allowed`` with ``Allow``), as every
    other error is answered, instead of werkzeug's HTML page: a client of the API reads one kind of answer. A
    redirect (a URL with a doubled ``/``) stays one."""
    from nameko.web.server import WsgiApp
    from werkzeug.exceptions import HTTPException
    from werkzeug.wrappers import Request

    from services.common.runtime.responses import http_error_response

    def answer(self: WsgiApp, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ, shallow=True)  # as nameko's: nothing reads the body before the route's handler
        adapter = self.url_map.bind_to_environ(environ)
        try:
            framed_once(environ)
            provider, values = adapter.match()
            request.path_values = values  # type: ignore[attr-defined]  # nameko's way to hand the URL's values over
            response = provider.handle_request(request)
        except HTTPException as refused:
            response = http_error_response(refused) if (refused.code or 0) >= 400 else refused
        return response(environ, start_response)

    WsgiApp.__call__ = answer


def framed_once(environ: dict[str, Any]) -> None:
    """Refuse (400) a request whose body's length is said twice (two ``Content-Length`` headers, or one beside
    ``Transfer-Encoding``): the server reads one of them and a proxy in front of it may read the other, so the
    rest of the body would be taken for the next request (request smuggling, RFC 9112 §6.3)."""
    from werkzeug.exceptions import BadRequest

    named = [name.lower() for name, _ in environ.get("headers_raw", ())]
    if named.count("content-length") > 1 or ("content-length" in named and "transfer-encoding" in named):
        raise BadRequest(
            "the body's length is given twice (Content-Length with another Content-Length or with Transfer-Encoding)"
        )


def service_class(service: str) -> type:
    """The nameko service class in ``services.<service>.service``."""
    module = importlib.import_module(f"services.{service}.service")
    for value in vars(module).values():
        if isinstance(value, type) and getattr(value, "name", None) == service:
            return value
    raise LookupError(f"services.{service}.service defines no service named {service!r}")


def main(argv: list[str] | None = None) -> None:
    """Start the service and run until SIGTERM or SIGINT."""
    import eventlet
    from nameko.runners import ServiceRunner

    from services.common.runtime.rpc import keep_producer_pool_keys

    parser = argparse.ArgumentParser(description="run one service of the platform")
    parser.add_argument("service", choices=(*SERVICES, "gateway"))
    args = parser.parse_args(argv)
    answer_without_delay()
    connections_bounded()
    requests_in_time()
    errors_as_json()
    large_blocks_given_back()
    keep_producer_pool_keys()
    config = settings()
    standard_streams_lossy()  # a full disk must not end the process through a write to stderr
    configure_logging(args.service, config.log_level)
    log = get_logger()
    # Every event class and upcaster of the domains the process serves (the gateway's: every domain), whichever
    # of their modules the service happens to import.
    load_domains(None if args.service == "gateway" else (args.service,))
    runner = ServiceRunner(nameko_config(args.service, config))
    runner.add_service(service_class(args.service))

    def shutdown(signum: int, _frame: Any) -> None:
        log.info("service_stopping", signal=signum)
        eventlet.spawn_n(runner.stop)

    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    runner.start()
    frozen = startup_objects_frozen()
    log.info("service_started", frozen_objects=frozen, http=f"http://{config.http_host}:{config.port(args.service)}")
    runner.wait()
    log.info("service_stopped")


if __name__ == "__main__":
    main()
