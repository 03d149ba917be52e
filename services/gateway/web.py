"""HTTP plumbing of the gateway: the ``api`` route decorator, JSON bodies, and the error edge.

Every error type is mapped here, once, to an HTTP status and the body
``{"error": code, "message": ..., "fields": {...}}``. A request without a valid token is 401; a valid
token whose role or district does not allow the action is 403.
"""

from __future__ import annotations

import contextlib
import functools
import json
import re
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import eventlet
from marshmallow import Schema
from nameko.exceptions import RemoteError, UnknownService
from nameko.extensions import DependencyProvider
from nameko.web.handlers import HttpRequestHandler, http
from sqlalchemy.engine import Engine
from werkzeug.exceptions import HTTPException, RequestTimeout
from werkzeug.wrappers import Request, Response

from services.common.base.db import create_db_engine, reader, store_failed, unavailable_when_store_fails
from services.common.base.log import bind_context, get_logger
from services.common.base.memory import reading
from services.common.base.metrics import HTTP_LATENCY, HTTP_REQUESTS, HTTP_THROTTLED
from services.common.base.personal import personal_in_request, platform_key_store, seal_for_transit
from services.common.base.settings import settings
from services.common.kernel.decoding import check_decoded, decode_json
from services.common.kernel.errors import (
    BadRequest,
    NotFound,
    NotInScope,
    PayloadTooLarge,
    PlatformError,
    ServiceUnavailable,
    TooManyRequests,
    UnsupportedMediaType,
    ValidationFailed,
)
from services.common.kernel.schemas import load_command as validated
from services.common.runtime.responses import EncodedAnswer, http_error_response, json_response
from services.common.runtime.rpc import BROKER_ERRORS, ServiceError
from services.gateway import keys, tabular
from services.gateway.auth import Principal, authenticate
from services.gateway.references import SOURCES, Lookup, check_references, references_of, settled_record
from services.gateway.views import agencies, prepare_database

log = get_logger()

MAX_BODY_BYTES = 1024 * 1024
"""Largest accepted command body (1 MiB); larger bodies are refused with 413."""

_CORRELATION = re.compile(r"^[A-Za-z0-9_.:-]{1,100}$")


class GatewayDatabase(DependencyProvider):  # type: ignore[misc]
    """The gateway's own database (tokens and projections), migrated at start."""

    def setup(self) -> None:
        self.engine = create_db_engine(settings().database_url("gateway"))
        prepare_database(self.engine)

    def get_dependency(self, worker_ctx: Any) -> Engine:
        return self.engine


class RequestContext(DependencyProvider):  # type: ignore[misc]
    """Lets a handler put actor and correlation id into the RPC context of the calls it makes."""

    def get_dependency(self, worker_ctx: Any) -> dict[str, Any]:
        data: dict[str, Any] = worker_ctx.data
        return data


def read_json(request: Request, max_bytes: int = MAX_BODY_BYTES) -> Any:
    """The request body as JSON, decoded safely (``services.common.kernel.decoding``): 415 when it is declared as
    anything but JSON, 413 above ``max_bytes``, 400 when it is not UTF-8 JSON or is nested too deeply, 422
    for text with control characters or lone surrogates."""
    require_json_content(request)
    if request.content_length and request.content_length > max_bytes:
        raise PayloadTooLarge(f"the body exceeds {max_bytes} bytes", details={"limit_bytes": max_bytes})
    try:
        if request.content_length is None and "chunked" in request.headers.get("Transfer-Encoding", "").lower():
            # werkzeug reads a body without Content-Length as empty; the server's input decodes the chunks, its
            # lines (a chunk's size, a trailer) bounded here
            body = request.environ["wsgi.input"]
            if hasattr(body, "rfile") and not isinstance(body.rfile, _BoundedLines):
                body.rfile = _BoundedLines(body.rfile)
            raw = body.read(max_bytes + 1)
        else:
            raw = request.get_data(cache=False)
    except (ValueError, OSError, HTTPException) as unread:
        if isinstance(unread, TimeoutError) or getattr(request.environ.get("wsgi.input"), "late", False):
            # sent slower than a body may be (``runner.requests_in_time``), or paused longer than a connection may
            raise RequestTimeout("the body did not arrive in time") from None
        # a chunk size that is no hex number (eventlet's ChunkReadError), a body cut short before its
        # Content-Length (werkzeug's ClientDisconnected) or before its last chunk: the client's fault, not a 500
        raise BadRequest(
            "the body could not be read: cut short, or its chunked encoding is malformed",
            fields={"body": [type(unread).__name__]},
        ) from None
    if len(raw) > max_bytes:
        raise PayloadTooLarge(f"the body exceeds {max_bytes} bytes", details={"limit_bytes": max_bytes})
    with reading(len(raw)):
        return decode_json(raw, max_bytes=max_bytes)


CHUNK_LINE_BYTES = 1024
"""The longest line of a chunked body the gateway reads (a chunk's size with its extensions, a trailer)."""


class _BoundedLines:
    """A chunked body's stream whose lines are at most ``CHUNK_LINE_BYTES`` long: eventlet reads a chunk's size
    line whole, however long, so one line of hundreds of megabytes cost the gateway that memory. A longer line
    is a ``ValueError`` (eventlet's ``ChunkReadError``: the body cannot be read, and after the answer the
    connection is closed rather than read on)."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def readline(self, size: int | None = -1) -> bytes:
        limit = CHUNK_LINE_BYTES if size is None or size < 0 else min(size, CHUNK_LINE_BYTES)
        line: bytes = self._stream.readline(limit)
        if len(line) >= limit and not line.endswith(b"\n"):
            raise ValueError(f"a line of the chunked body is longer than {CHUNK_LINE_BYTES} bytes")
        return line

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


JSON_CONTENT = re.compile(r"^application/([a-z0-9.+-]+\+)?json$")
"""``application/json`` and its ``+json`` kinds (``application/merge-patch+json``)."""


def require_json_content(request: Request) -> None:
    """Refuse (415) a body declared as something other than JSON. A request without ``Content-Type`` is read
    as JSON (command routes without a body are called so by many clients)."""
    declared = request.headers.get("Content-Type")
    if declared is None:
        return
    if not JSON_CONTENT.match(request.mimetype.lower()):
        raise UnsupportedMediaType(
            f"the body must be application/json, not {declared[:100]}",
            fields={"Content-Type": ["must be application/json"]},
        )


@dataclass(frozen=True)
class InboundRoute:
    """Where a district inbound message type goes: the service's RPC proxy attribute on the gateway, its
    command, and the command's schema (the same one the HTTP route validates with)."""

    service: str
    command: str
    schema: type[Schema]


class _NoAnswer(ServiceUnavailable):
    """The gateway's own wait for an answer ran out (not a refusal the service sent)."""


OUTCOME_INQUIRY_SECONDS = 3.0
"""How long the gateway waits for the answer to "what became of that command?" after a command's own wait."""


class _Quiet:
    """The services whose last call was not answered in time: one call at a time tries such a service, and the
    others meanwhile are refused at once (503, nothing was sent); any answer it gives (a refusal or an error too)
    ends the matter.

    Without it a frozen service (SIGSTOP, a stalled disk) held each call to it for the RPC timeout and the
    outcome inquiry after it (13 s): a few calls a second to it took all the gateway's workers, and every other
    request (a dashboard's read, another service's command, ``/health``) waited behind them. A service that
    wakes up answers the next call that tries it."""

    def __init__(self) -> None:
        self._silent: set[str] = set()
        self._trying: set[str] = set()

    def check(self, service: str) -> None:
        """Refuse a call to ``service`` while another call tries it; else, if it is silent, this call tries it."""
        if service in self._trying:
            raise ServiceUnavailable(f"the {service} service did not answer lately; nothing was sent: ask again")
        if service in self._silent:
            self._trying.add(service)

    def is_silent(self, service: str) -> bool:
        """Whether ``service``'s last call was not answered in time (and no answer came since)."""
        return service in self._silent

    def answered(self, service: str) -> None:
        self._silent.discard(service)
        self._trying.discard(service)

    def silent(self, service: str, tried: bool = True) -> None:
        """A call to ``service`` was not answered in time: it is silent (``tried``: the call that tried it is over)."""
        if service not in self._silent:
            log.warning("service_silent", service=service)
        self._silent.add(service)
        if tried:
            self._trying.discard(service)

    def sent_nothing(self, service: str) -> None:
        """The call was not sent after all (RabbitMQ gone, a key not bound): it tried nothing."""
        self._trying.discard(service)


_quiet = _Quiet()


def call(method: Any, payload: dict[str, Any]) -> Any:
    """Call a service over RPC with the configured timeout, telling it the deadline (``services.common.write.deadlines``):
    a service that gets the request after the gateway stopped waiting does not act, so a 503 means not done.

    A command whose answer did not come in time is settled before the caller is told anything: its answer may
    have been lost on the way back (RabbitMQ's connections dropped after the commit), so the gateway asks the
    service what it recorded under the command's key (``_settled``).

    A personal value (a staff or driver's name, GPS points: ``personal.request_marks``) crosses RabbitMQ sealed
    under its subject's key (``_sealed_for_transit``); the service opens it again."""
    timeout = settings().rpc_timeout
    service = str(getattr(method, "service_name", ""))
    _quiet.check(service)  # a service that did not answer lately: nothing is bound, nothing sent
    try:
        _bind_key(method, payload)
        sent = _sealed_for_transit(method, payload)
        _set_deadline(method, time.time() + timeout)
        reply = _sent(method, sent)
    except BaseException:
        _quiet.sent_nothing(service)
        raise
    try:
        with eventlet.Timeout(timeout, _NoAnswer("the service did not answer in time")):
            answer = reply.result()
    except _NoAnswer as late:
        _quiet.silent(service)
        try:
            answer = _settled(method, late)  # 503 (``late``) while it says nothing
        except ServiceError:  # the refusal it recorded: it answered the inquiry
            _quiet.answered(service)
            raise
    except Exception:
        _quiet.answered(service)  # a refusal or an error it sent is an answer
        raise
    except BaseException:  # the worker itself was stopped: it tried nothing
        _quiet.sent_nothing(service)
        raise
    _quiet.answered(service)
    return answer


def _sent(method: Any, payload: Any) -> Any:
    """``method`` called with ``payload`` (its answer to wait for), or 503 when RabbitMQ cannot be reached: nameko's
    publisher tried to connect again and gave up. The request was not queued, or (its connection lost between
    writing it and the broker's confirm, then no new connection) it was and its service acts on it before its
    deadline: asked again under the same key it is done once. Before, that error was the gateway's 500, and a
    district's message failing so went to the rejected topic instead of being tried again."""
    try:
        return method.call_async(payload)
    except BROKER_ERRORS as gone:
        log.warning("broker_unreachable", service=getattr(method, "service_name", ""), error=repr(gone)[:200])
        raise ServiceUnavailable("RabbitMQ could not be reached: ask again with the same Idempotency-Key") from None


def _settled(method: Any, late: _NoAnswer) -> Any:
    """What became of a command whose answer did not come in time, now that its deadline has passed (after
    which its service never commits it): the answer recorded under its key when it was done (its answer was lost
    on the way back), its recorded refusal, else ``late`` (503: not done). When the service cannot say either
    (it is down or frozen), 503 stands: the service will not act on it later; the one case it was done is an
    answer lost and the service gone within seconds, which a retry with the same ``Idempotency-Key`` settles."""
    worker_ctx = getattr(method, "worker_ctx", None)
    context: dict[str, Any] = worker_ctx.data if worker_ctx is not None else {}
    key = context.get("idempotency_key") or context.get("request_key")
    if not key:
        raise late  # a read: nothing to settle
    held: dict[str, Any] = {k: context.pop(k) for k in ("idempotency_key", "request_key") if k in context}
    try:
        inquiry = getattr(worker_ctx.service, method.service_name).command_outcome
        _set_deadline(inquiry, time.time() + OUTCOME_INQUIRY_SECONDS)
        with eventlet.Timeout(OUTCOME_INQUIRY_SECONDS, _NoAnswer("no answer")):
            outcome = inquiry.call_async({"key": key}).result()
    except Exception as unknown:  # down, frozen, RabbitMQ gone: the service will not act on it later
        log.warning("command_outcome_unknown", service=method.service_name, error=repr(unknown)[:200])
        raise late from None
    finally:
        context.update(held)
    if outcome.get("refusal") is not None:
        raise ServiceError(json.dumps(outcome["refusal"], ensure_ascii=False))
    if outcome.get("answer") is not None:
        log.info("command_answer_recovered", service=method.service_name, command=method.method_name)
        return outcome["answer"]
    raise late


def _sealed_for_transit(method: Any, payload: dict[str, Any]) -> Any:
    """``payload`` with its personal values as tokens (``personal.seal_for_transit``; itself when it holds none):
    409 ``subject_erased`` for an erased subject's value, 503 when the key store does not answer (a district
    message is deferred, not rejected)."""
    service = str(getattr(method, "service_name", ""))
    if not isinstance(payload, dict) or not personal_in_request(service, payload):
        return payload
    with unavailable_when_store_fails("the key store did not answer; the command was not sent"):
        return seal_for_transit(platform_key_store(), service, payload)


def _bind_key(method: Any, payload: dict[str, Any]) -> None:
    """Bind the caller's idempotency key (an ``Idempotency-Key``, a batch's or a district message's id) to the
    command before it is sent (``services.gateway.keys``): the same key on another service's command, or on
    another route, is 422 ``idempotency_key_reused`` and nothing is sent."""
    worker_ctx = getattr(method, "worker_ctx", None)
    key = worker_ctx.data.get("idempotency_key") if worker_ctx is not None else None
    if not key:
        return
    engine = next((d.engine for d in worker_ctx.container.dependencies if isinstance(d, GatewayDatabase)), None)
    if engine is not None:
        keys.bind(engine, key, method.service_name, method.method_name, payload)


def call_each(calls: dict[str, tuple[Any, dict[str, Any]]], *, skip_silent: bool = False) -> dict[str, Any]:
    """Several RPC calls at once, each ``name: (method, payload)``: every answer, or the exception it raised. All
    are sent before any is waited for, so services that do not answer cost one timeout together, not one each.

    A timer's calls (the freshness measure, every 15 s): they ask a silent service too, never taking the place of
    the one call that tries it for the requests (``_Quiet``), and what they hear ends its silence or starts it.
    A request's calls (``skip_silent``: ``/api/v1/projections``) ask no silent service (its answer is a 503
    ``ServiceUnavailable``, nothing sent): the timer's next measure, or the next single call, finds it awake."""
    timeout = settings().rpc_timeout
    deadline = time.time() + timeout
    pending: dict[str, Any] = {}
    answers: dict[str, Any] = {}
    services = {name: str(getattr(method, "service_name", "")) for name, (method, _) in calls.items()}
    for name, (method, payload) in calls.items():
        service = services[name]
        if skip_silent and _quiet.is_silent(service):
            answers[name] = ServiceUnavailable(f"the {service} service did not answer lately; nothing was sent")
            continue
        _set_deadline(method, deadline)
        try:
            pending[name] = _sent(method, payload)
        except Exception as exc:  # an unknown service, RabbitMQ gone: that one's answer
            answers[name] = exc
    for name, reply in pending.items():
        service = services[name]
        left = max(deadline - time.time(), 0.0)
        try:
            with eventlet.Timeout(left, _NoAnswer("the service did not answer in time")):
                answers[name] = reply.result()
            _quiet.answered(service)
        except _NoAnswer as exc:
            _quiet.silent(service, tried=False)
            answers[name] = exc
        except Exception as exc:
            _quiet.answered(service)
            answers[name] = exc
    return answers


def _set_deadline(method: Any, deadline: float) -> None:
    """Put ``deadline`` in the RPC context the proxy method sends (its worker's context data)."""
    worker_ctx = getattr(method, "worker_ctx", None)
    if worker_ctx is not None:
        worker_ctx.data["deadline"] = deadline


class InFlight:
    """The requests each token has the gateway serving, at most ``limit`` at once (``GATEWAY_IN_FLIGHT_PER_TOKEN``).

    The gateway serves 64 requests at once (``runner.GATEWAY_WORKERS``), every caller's alike. One caller keeping
    them all busy — a careless client's loop without waiting, a hostile one's flood of the heaviest bodies a route
    takes — left every other district's requests queued behind it. Now a token's requests beyond its limit are
    answered 429 ``too_many_requests`` at once (``Retry-After: 1``), before their body is read, and the other
    workers stay for everyone else. Counted by the caller's role (``gov_http_requests_throttled_total``)."""

    def __init__(self, limit: int | None = None) -> None:
        self._limit = limit
        self._serving: dict[str, int] = {}

    @property
    def limit(self) -> int:
        """The most requests of one token served at once (the process's setting unless given)."""
        if self._limit is None:
            self._limit = settings().gateway_in_flight_per_token
        return self._limit

    def serving(self, principal: Principal) -> int:
        """How many requests of ``principal``'s token are being served."""
        return self._serving.get(principal.token_id, 0)

    @contextlib.contextmanager
    def held(self, principal: Principal) -> Iterator[None]:
        """Count one more request of ``principal``'s token while it is served; TooManyRequests over the limit."""
        token = principal.token_id
        count, limit = self._serving.get(token, 0), self.limit
        if count >= limit:
            HTTP_THROTTLED.labels("gateway", principal.role).inc()
            raise TooManyRequests(
                f"this token has {count} requests being served, the most one caller may: ask again once one of "
                "them is answered",
                details={"in_flight": count, "limit": limit},
            )
        self._serving[token] = count + 1  # no green thread switch between the read and this write
        try:
            yield
        finally:
            left = self._serving[token] - 1
            if left:
                self._serving[token] = left
            else:
                del self._serving[token]


IN_FLIGHT = InFlight()
"""The gateway's requests in flight per token (one per process: its workers share it)."""

RETRY_AFTER_SECONDS = 1
"""What a 429 tells its caller to wait before asking again."""


def _error_response(exc: Exception) -> Response:
    if isinstance(exc, PlatformError | ServiceError):
        return json_response(exc.to_body(), exc.http_status)
    if isinstance(exc, UnknownService):
        return json_response({"error": "service_unavailable", "message": str(exc), "fields": {}}, 503)
    if isinstance(exc, RemoteError):
        log.error("remote_error", exc_type=exc.exc_type, value=str(exc.value)[:500])
        return json_response({"error": "upstream_error", "message": "the service failed", "fields": {}}, 502)
    if isinstance(exc, HTTPException) and exc.code is not None and 400 <= exc.code < 500:
        return http_error_response(exc)  # werkzeug's own refusal of what the client sent: its 4xx
    log.exception("unhandled_error")
    return json_response({"error": "internal_error", "message": "internal error", "fields": {}}, 500)


def _as_missing(error: Exception, method: str, principal: Principal | None, params: dict[str, Any]) -> Exception:
    """A district operator's read of one record (a GET naming ids in its URL) that is another district's, or
    does not exist, answered alike: 404 ``not_found`` naming the URL's last id, so no answer tells which
    (no existence oracle); a command, see ``_command_as_missing``. Every other error stays as it is."""
    if principal is None or principal.visible_district() is None or not params:
        return error
    if method.upper() != "GET":
        return _command_as_missing(error, params)
    code, status = getattr(error, "code", None), getattr(error, "http_status", None)
    missing = isinstance(error, NotInScope) or code == NotInScope.code or status == 404
    if not missing:
        return error
    name, value = list(params.items())[-1]
    return NotFound(f"{name.removesuffix('_id').replace('_', ' ')} {value} not found")


def _command_as_missing(error: Exception, params: dict[str, Any]) -> Exception:
    """A district operator's command on a record its URL names that is another district's (the owning
    service's ``not_in_scope`` naming it among ``outside``) or that does not exist (the store's 404 naming
    its ``stream_id``) answered alike: 404 ``not_found`` naming that URL id. A refusal about anything else
    (another aggregate the command touches, a rule) stays as it is."""
    ids = {str(value): name for name, value in params.items()}
    code, details = getattr(error, "code", None), getattr(error, "details", None) or {}
    if code == NotInScope.code:
        named = [found for found in details.get("outside", []) if found in ids]
    elif getattr(error, "http_status", None) == 404 and details.get("stream_id") in ids:
        named = [details["stream_id"]]
    else:
        return error
    if not named:
        return error
    return NotFound(f"{ids[named[0]].removesuffix('_id').replace('_', ' ')} {named[0]} not found")


def rpc_context(request: Request, principal: Principal, correlation_id: str) -> dict[str, Any]:
    """What the request's RPC calls carry to the services (their ``CommandContext``): actor, correlation id, the
    keys of a command and the caller's district. A value the request does not have (a read's keys, a city-wide
    caller's district) is left out rather than sent as None: nameko drops a None header anyway, with a warning
    in the gateway's log; a service reads the missing key as None."""
    context = {
        "actor": principal.actor,
        "correlation_id": correlation_id,
        "idempotency_key": _idempotency_key(request, principal),
        "request_key": _request_key(request),
        "scope_district": principal.visible_district(),
    }
    return {name: value for name, value in context.items() if value is not None}


def _request_key(request: Request) -> str | None:
    """A command without the client's ``Idempotency-Key`` gets one of its own request: should RabbitMQ deliver
    its RPC twice (a service killed between commit and acknowledgement), it still acts once."""
    return None if request.method == "GET" else f"request:{uuid.uuid4()}"


def _idempotency_key(request: Request, principal: Principal) -> str | None:
    """The client's ``Idempotency-Key`` header, bound to its token's id (never its name, which another token
    may share) (400 when malformed). The owning service binds it further to the command and its body
    (``services.common.runtime.rpc.command_fingerprint``): the key used again for anything else is refused (422
    ``idempotency_key_reused``). A read has none: it changes nothing."""
    key = request.headers.get("Idempotency-Key")
    if key is None or request.method == "GET":
        return None
    if not _CORRELATION.match(key):
        raise BadRequest("malformed Idempotency-Key", fields={"Idempotency-Key": ["1-100 letters, digits or _.:-"]})
    return f"http:{principal.token_id}:{key}"


DistrictScope = Literal["agency_id", "district", "service"]
"""What a district operator's district is checked against in a command (``command_route``)."""


@dataclass(frozen=True)
class RouteSpec:
    """What a route is, as the OpenAPI document and the security tests read it (recorded by ``api``).

    ``body``/``query`` are the marshmallow schemas the route validates its JSON body or its query string
    with (URL parameters are merged into them); ``status`` is the success status; ``scope`` what a
    district operator's district is checked against (``agency_id``/``district`` in the input at the
    gateway, ``service`` by the owning service on the aggregates it changes, None: not district-bound);
    ``max_body_bytes`` the largest body the route reads (None: it reads none); ``table`` the list of the
    answer that is its rows as CSV/XLSX (``services.gateway.tabular``; None: JSON only).
    """

    method: str
    url: str
    roles: frozenset[str] | None
    name: str
    doc: str
    body: type[Schema] | None = None
    query: type[Schema] | None = None
    status: int = 200
    kind: str = "api"
    service: str | None = None
    command: str | None = None
    scope: str | None = None
    max_body_bytes: int | None = None
    content_type: str = "application/json"
    documented: bool = True
    table: str | None = None

    @property
    def url_params(self) -> list[tuple[str, str]]:
        """(name, werkzeug converter) of each ``<converter:name>`` of the URL, in order."""
        return [(name, converter or "default") for converter, name in _URL_PARAM.findall(self.url)]


_URL_PARAM = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")

ROUTE_REGISTRY: dict[tuple[str, str], RouteSpec] = {}
"""Every route declared with ``api`` (and so ``command_route``/``query_route``), by (method, URL)."""


def route_specs(service_cls: type) -> list[tuple[str, RouteSpec]]:
    """(attribute name, spec) of every nameko HTTP entrypoint of ``service_cls``, sorted by URL and method.

    An entrypoint declared without ``api`` (a bare nameko ``http``) gets a spec with ``documented=False``
    so it still shows up (and the contract test names it).
    """
    found: list[tuple[str, RouteSpec]] = []
    for attr in dir(service_cls):
        fn = getattr(service_cls, attr, None)
        for entrypoint in getattr(fn, "nameko_entrypoints", ()):
            if not isinstance(entrypoint, HttpRequestHandler):
                continue
            for method in entrypoint.method.split(","):
                spec = getattr(fn, "route_spec", None)
                if spec is None or spec.method != method.strip().upper() or spec.url != entrypoint.url:
                    spec = RouteSpec(method.strip().upper(), entrypoint.url, None, attr, "", documented=False)
                found.append((attr, spec))
    return sorted(found, key=lambda item: (item[1].url, item[1].method))


def api(
    method: str,
    url: str,
    roles: frozenset[str] | None,
    *,
    body: type[Schema] | None = None,
    query: type[Schema] | None = None,
    status: int = 200,
    scope: str | None = None,
    max_body_bytes: int | None = None,
    content_type: str = "application/json",
    table: str | None = None,
    _kind: str = "api",
    _service: str | None = None,
    _command: str | None = None,
) -> Callable[[Callable[..., Any]], Any]:
    """An HTTP route: authenticate (unless ``roles`` is None), check the role, answer JSON, map errors.

    The handler is called as ``fn(self, request, principal, **url_params)`` and returns a body, or a
    (status, body) tuple. The keyword arguments only describe the route (they change nothing it does):
    ``body``/``query`` the schema it validates its JSON body or query string with, ``status`` its success
    status, ``scope`` what a district operator's district is checked against, ``max_body_bytes`` the
    body limit it applies (``body`` given: the gateway's 1 MiB), ``content_type`` of a success answer.
    ``table`` makes the route a listing or report that also answers as CSV or XLSX (``?format=``/``Accept``,
    ``?lang=``): the answer's list of that name is the rows (``services.gateway.tabular``).
    They are recorded in ``ROUTE_REGISTRY`` and on the handler (``route_spec``) for the OpenAPI document
    (``services.gateway.openapi``) and the security tests.
    """

    def decorate(fn: Callable[..., Any]) -> Any:
        spec = RouteSpec(
            method=method.upper(),
            url=url,
            roles=roles,
            name=fn.__name__,
            doc=(fn.__doc__ or "").strip(),
            body=body,
            query=query,
            status=status,
            kind=_kind,
            service=_service,
            command=_command,
            scope=scope,
            max_body_bytes=max_body_bytes if max_body_bytes is not None else (MAX_BODY_BYTES if body else None),
            content_type=content_type,
            table=table,
        )
        ROUTE_REGISTRY[(spec.method, url)] = spec

        @functools.wraps(fn)
        def handler(self: Any, request: Request, **params: Any) -> Response:
            started = time.perf_counter()
            given = request.headers.get("X-Correlation-ID", "")
            correlation_id = given if _CORRELATION.match(given) else str(uuid.uuid4())
            with bind_context(correlation_id=correlation_id, route=url):
                try:
                    principal = None
                    if roles is not None:
                        principal = authenticate(self.db, request.headers.get("Authorization"))
                        principal.require(roles)
                        self.request_context.update(rpc_context(request, principal, correlation_id))
                    with IN_FLIGHT.held(principal) if principal is not None else contextlib.nullcontext():
                        response = _answered(self, fn, request, principal, params, spec, table)
                except Exception as exc:  # the one place errors become HTTP answers
                    if method.upper() == "GET" and store_failed(exc):  # a read changes nothing: 503, try again
                        exc = ServiceUnavailable("a database did not answer; nothing was changed: ask again")
                    response = _error_response(_as_missing(exc, method, principal, params))
                    if isinstance(exc, TooManyRequests):
                        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
            response.headers["X-Correlation-ID"] = correlation_id
            HTTP_REQUESTS.labels("gateway", url, method, str(response.status_code)).inc()
            HTTP_LATENCY.labels("gateway", url).observe(time.perf_counter() - started)
            return response

        handler.route_spec = spec  # type: ignore[attr-defined]
        return http(method, url)(handler)

    return decorate


def _answered(
    service: Any,
    fn: Callable[..., Any],
    request: Request,
    principal: Principal | None,
    params: dict[str, Any],
    spec: RouteSpec,
    table: str | None,
) -> Response:
    """The route's own answer to an authorised request (its download when one is asked for)."""
    check_decoded({**request.args.to_dict(), **{k: v for k, v in params.items() if isinstance(v, str)}})
    export = chosen = None
    if table is not None:
        export = (tabular.requested_format(request), tabular.requested_language(request))
        chosen = request.args.get("table")
        tabular.without_export_parameters(request)
    result = fn(service, request, principal, **params)
    status, body = result if isinstance(result, tuple) else (200, result)
    if export is not None and export[0] != "json" and not isinstance(body, Response):
        return _exported(body, table, export, spec.name, chosen)
    return body if isinstance(body, Response) else json_response(body, status)


def _exported(body: Any, declared: str | None, export: tuple[str, str], name: str, chosen: str | None) -> Response:
    """The answer as a download (``tabular.export``); a kept answer's is made once per kept answer
    (``EncodedAnswer.exports``), and made again only when what it shows of this request's own changes (the
    ``summary`` of a report holds the answer's head: when it was given, how fresh); a CSV's lines are kept beside it
    (``tabular.KeptLines``), for the answer made again after a batch to write only its new rows."""
    table = declared or "items"  # only routes declaring their tables answer downloads
    exports = body.exports if isinstance(body, EncodedAnswer) else None
    if exports is None:
        return tabular.export(body, table, export[0], export[1], name, chosen)
    own = tabular.SUMMARY in tabular.table_names(table, body) and (export[0] != "csv" or chosen == tabular.SUMMARY)
    summary = tabular.summary_text(body, table) if own else None
    key = (table, export, name, chosen)
    made = exports.get(key)
    if made is None or made[0] != summary:
        lines = exports.setdefault(("lines", *key), tabular.KeptLines()) if export[0] == "csv" else None
        response = tabular.export(body, table, export[0], export[1], name, chosen, lines)
        made = exports[key] = (
            summary,
            response.get_data(),
            response.content_type,
            response.headers["Content-Disposition"],
        )
    _, data, content_type, disposition = made
    response = Response(data, content_type=content_type)
    response.headers["Content-Disposition"] = disposition
    return response


def command_route(
    method: str,
    url: str,
    service: str,
    command: str,
    schema: type[Schema],
    roles: frozenset[str],
    *,
    district_scope: DistrictScope = "agency_id",
    status: int = 200,
) -> Any:
    """A route that validates the body (merged with the URL's ids) with ``schema``, checks every reference
    the command declares (``services.gateway.references``: each exists, lies in the caller's district, agrees
    with the command), and calls ``service.command`` over RPC; ``status`` is its success status.

    ``district_scope`` names what a district operator's district is checked against (the rule:
    ``services.common.kernel.scope``): ``"agency_id"`` the agency the command acts for (one of its references),
    ``"district"`` the district the body names, checked here too, ``"service"`` nothing the body names: the
    owning service checks the aggregates the command addresses and changes. The owning service enforces the
    scope on the aggregates it changes whichever it is (the caller's district travels in the RPC context)."""

    def handler(self: Any, request: Request, principal: Principal, **params: str) -> tuple[int, Any]:
        body = read_json(request)
        if isinstance(body, dict):
            body = {**body, **params}
        loaded = validated(schema, body)
        target = getattr(getattr(self, service), command)
        try:
            # every id the command names (its agency included) exists, is in scope, agrees (``references``)
            with unavailable_when_store_fails("the gateway's database did not answer; the command was not sent"):
                check_references(principal, declared, loaded, frozenset(params), owner_lookup(self))
        except PlatformError as refused:
            # a passing failure (that 503, a service that did not answer) is not the key's answer for good
            if not self.request_context.get("idempotency_key") or refused.http_status >= 500:
                raise
            # the caller's key gets this answer for good: the service records (or replays) it for the key
            self.request_context["edge_refusal"] = json.dumps(ServiceError.from_error(refused).document())
            try:
                return status, call(target, body)
            finally:
                self.request_context.pop("edge_refusal", None)
        if district_scope == "district":
            principal.require_district(loaded["district"])
        return status, call(target, body)

    declared = references_of(service, command)

    handler.__name__ = command
    handler.__doc__ = (schema.__doc__ or command).strip()
    return api(
        method,
        url,
        roles,
        body=schema,
        status=status,
        scope=district_scope,
        _kind="command",
        _service=service,
        _command=command,
    )(handler)


def query_route(
    url: str,
    service: str,
    query: str,
    schema: type[Schema],
    roles: frozenset[str],
    table: str | None = "items",
    shown: Callable[[Any, Principal, Any], Any] | None = None,
) -> Any:
    """A GET route answering from the owning service's read models; a district operator sees its district.

    Every such route is a listing or report, so it also answers as CSV/XLSX, its rows the answer's list
    ``table`` (``items`` unless said otherwise; an answer without it is one row). ``shown(self, principal,
    answer)``, when given, makes the answer what the principal may see (personal values revealed or masked)."""

    def handler(self: Any, request: Request, principal: Principal, **params: str) -> Any:
        args = {**request.args.to_dict(), **params}
        loaded = validated(schema, args)
        visible = principal.visible_district()
        if visible:
            if loaded.get("agency_id"):
                agency_in_scope(self.db, principal, loaded["agency_id"], registered=registered_district(self))
            args["district"] = visible
        answer = call(getattr(getattr(self, service), query), args)
        return answer if shown is None else shown(self, principal, answer)

    handler.__name__ = query
    handler.__doc__ = (schema.__doc__ or query).strip()
    return api(
        "GET", url, roles, query=schema, scope="listing", table=table, _kind="query", _service=service, _command=query
    )(handler)


_district_of_agency: dict[str, str] = {}
"""District of each agency already found in the directory: an agency never changes district, so the answer
is kept (an agency not found yet is looked up again)."""


def agency_in_scope(
    db: Engine,
    principal: Principal,
    agency_id: str,
    field: str = "agency_id",
    registered: Callable[[str], str | None] | None = None,
) -> None:
    """Refuse an agency outside the principal's district (403) and one that is not registered (422).

    The data center's directory answers first; an agency it does not know yet (registered a moment ago: the
    directory is a projection, it may lag) is asked of ``registered`` (the owning service's own record, see
    ``registered_district``), so a command that follows its agency's registration at once succeeds.
    """
    district = agency_district(db, agency_id, registered)
    if district is None:
        raise ValidationFailed(f"agency {agency_id} is not registered", fields={field: ["unknown agency"]})
    principal.require_district(district)


def agency_district(db: Engine, agency_id: str, registered: Callable[[str], str | None] | None) -> str | None:
    """The district of an agency: the data center's directory first, then (an agency registered a moment
    ago: the directory may lag) ``registered``; None: no such agency."""
    district = _district_of_agency.get(agency_id)
    if district is None:
        with reader(db).connect() as conn:
            row = agencies.agency_row(conn, agency_id)
        district = row["district"] if row is not None else (registered(agency_id) if registered else None)
        if district is None:
            return None
        if len(_district_of_agency) >= 20_000:  # bounded: start over rather than grow
            _district_of_agency.clear()
        _district_of_agency[agency_id] = district
    return district


def registered_district(gateway: Any) -> Callable[[str], str | None]:
    """The district of an agency as office space's event store has it (None: no such agency), asked over
    RPC: the source the directory is projected from, never behind it."""

    def ask(agency_id: str) -> str | None:
        found = ask_owner(gateway, "office_space", "get_agency", {"agency_id": agency_id})
        district = found.get("district") if found is not None else None
        return district if isinstance(district, str) else None

    return ask


def ask_owner(gateway: Any, service: str, query: str, payload: dict[str, Any]) -> dict[str, Any] | None:
    """A record as its owning service has it (None: it answers 404), asked over RPC without the request's
    idempotency keys: a lookup, not the command, must not answer from (or record under) the command's keys."""
    context: dict[str, Any] = gateway.request_context
    held: dict[str, Any] = {k: context.pop(k) for k in ("idempotency_key", "request_key") if k in context}
    try:
        found = call(getattr(getattr(gateway, service), query), payload)
    except ServiceError as error:
        if error.http_status == 404:
            return None
        raise
    finally:
        context.update(held)
    return found if isinstance(found, dict) else None


def owner_lookup(gateway: Any) -> Lookup:
    """How ``check_references`` finds a record: an agency in the data center's directory, else (and every
    other kind) from its owning service's event store (``references.SOURCES``), a record whose checked
    attributes never change asked once (``references.settled_record``)."""

    def lookup(kind: str, value: str) -> Mapping[str, Any] | None:
        if kind == "agency":
            district = agency_district(gateway.db, value, registered_district(gateway))
            return None if district is None else {"agency_id": value, "district": district}
        source = SOURCES[kind]
        return settled_record(
            kind, value, lambda: ask_owner(gateway, source.service, source.query, {source.key: value})
        )

    return lookup
