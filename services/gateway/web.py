"""HTTP plumbing of the gateway: the ``api`` route decorator, JSON bodies, and the error edge.

Every error type is mapped here, once, to an HTTP status and the body
``{"error": code, "message": ..., "fields": {...}}``. A request without a valid token is 401; a valid
token whose role or district does not allow the action is 403.
"""

from __future__ import annotations

import functools
import json
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import eventlet
from marshmallow import Schema
from nameko.exceptions import RemoteError, UnknownService
from nameko.extensions import DependencyProvider
from nameko.web.handlers import http
from sqlalchemy.engine import Engine
from werkzeug.wrappers import Request, Response

from services.common.db import create_db_engine
from services.common.errors import BadRequest, PayloadTooLarge, PlatformError, ServiceUnavailable, ValidationFailed
from services.common.log import bind_context, get_logger
from services.common.metrics import HTTP_LATENCY, HTTP_REQUESTS
from services.common.rpc import ServiceError, json_response
from services.common.rpc import load_command as validated
from services.common.settings import settings
from services.gateway.auth import Principal, authenticate
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


def read_json(request: Request) -> Any:
    """The request body as JSON; 400 when it is not JSON, 413 when it is too large."""
    if request.content_length and request.content_length > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"the body exceeds {MAX_BODY_BYTES} bytes", details={"limit_bytes": MAX_BODY_BYTES})
    raw = request.get_data(cache=False)
    if len(raw) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"the body exceeds {MAX_BODY_BYTES} bytes", details={"limit_bytes": MAX_BODY_BYTES})
    try:
        return json.loads(raw or b"null")
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest("the body is not valid JSON", fields={"_body": [str(exc)]}) from None


@dataclass(frozen=True)
class InboundRoute:
    """Where a district inbound message type goes: the service's RPC proxy attribute on the gateway, its
    command, and the command's schema (the same one the HTTP route validates with)."""

    service: str
    command: str
    schema: type[Schema]


def call(method: Any, payload: dict[str, Any]) -> Any:
    """Call a service over RPC with the configured timeout."""
    with eventlet.Timeout(settings().rpc_timeout, ServiceUnavailable("the service did not answer in time")):
        return method.call_async(payload).result()


def _error_response(exc: Exception) -> Response:
    if isinstance(exc, PlatformError | ServiceError):
        return json_response(exc.to_body(), exc.http_status)
    if isinstance(exc, UnknownService):
        return json_response({"error": "service_unavailable", "message": str(exc), "fields": {}}, 503)
    if isinstance(exc, RemoteError):
        log.error("remote_error", exc_type=exc.exc_type, value=str(exc.value)[:500])
        return json_response({"error": "upstream_error", "message": "the service failed", "fields": {}}, 502)
    log.exception("unhandled_error")
    return json_response({"error": "internal_error", "message": "internal error", "fields": {}}, 500)


def _idempotency_key(request: Request, principal: Principal) -> str | None:
    """The client's ``Idempotency-Key`` header, scoped to its token (400 when malformed)."""
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    if not _CORRELATION.match(key):
        raise BadRequest("malformed Idempotency-Key", fields={"Idempotency-Key": ["1-100 letters, digits or _.:-"]})
    return f"http:{principal.token_id}:{key}"


def api(method: str, url: str, roles: frozenset[str] | None) -> Callable[[Callable[..., Any]], Any]:
    """An HTTP route: authenticate (unless ``roles`` is None), check the role, answer JSON, map errors.

    The handler is called as ``fn(self, request, principal, **url_params)`` and returns a body, or a
    (status, body) tuple.
    """

    def decorate(fn: Callable[..., Any]) -> Any:
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
                        self.request_context.update(
                            actor=principal.actor,
                            correlation_id=correlation_id,
                            idempotency_key=_idempotency_key(request, principal),
                            scope_district=principal.visible_district(),
                        )
                    result = fn(self, request, principal, **params)
                    status, body = result if isinstance(result, tuple) else (200, result)
                    response = body if isinstance(body, Response) else json_response(body, status)
                except Exception as exc:  # the one place errors become HTTP answers
                    response = _error_response(exc)
            response.headers["X-Correlation-ID"] = correlation_id
            HTTP_REQUESTS.labels("gateway", url, method, str(response.status_code)).inc()
            HTTP_LATENCY.labels("gateway", url).observe(time.perf_counter() - started)
            return response

        return http(method, url)(handler)

    return decorate


def command_route(
    method: str,
    url: str,
    service: str,
    command: str,
    schema: type[Schema],
    roles: frozenset[str],
    scope: str | None = "agency_id",
    status: int = 200,
) -> Any:
    """A route that validates the body (merged with the URL's ids) with ``schema``, checks the caller's
    district scope for the agency (``scope="agency_id"``) or district (``scope="district"``) it names,
    and calls ``service.command`` over RPC. With ``scope=None`` the owning service enforces the scope on
    the aggregates it changes (the caller's district travels in the RPC context)."""

    def handler(self: Any, request: Request, principal: Principal, **params: str) -> tuple[int, Any]:
        body = read_json(request)
        if isinstance(body, dict):
            body = {**body, **params}
        loaded = validated(schema, body)
        if scope == "agency_id":
            agency_in_scope(self.db, principal, loaded["agency_id"])
        elif scope == "district":
            principal.require_district(loaded["district"])
        return status, call(getattr(getattr(self, service), command), body)

    handler.__name__ = command
    handler.__doc__ = (schema.__doc__ or command).strip()
    return api(method, url, roles)(handler)


def query_route(url: str, service: str, query: str, schema: type[Schema], roles: frozenset[str]) -> Any:
    """A GET route answering from the owning service's read models; a district operator sees its district."""

    def handler(self: Any, request: Request, principal: Principal, **params: str) -> Any:
        args = {**request.args.to_dict(), **params}
        loaded = validated(schema, args)
        visible = principal.visible_district()
        if visible:
            if loaded.get("agency_id"):
                agency_in_scope(self.db, principal, loaded["agency_id"])
            args["district"] = visible
        return call(getattr(getattr(self, service), query), args)

    handler.__name__ = query
    handler.__doc__ = (schema.__doc__ or query).strip()
    return api("GET", url, roles)(handler)


def agency_in_scope(db: Engine, principal: Principal, agency_id: str, field: str = "agency_id") -> dict[str, Any]:
    """The agency from the data center's directory, refusing one outside the principal's district (403)
    and one the directory does not know (422)."""
    with db.connect() as conn:
        row = agencies.agency_row(conn, agency_id)
    if row is None:
        raise ValidationFailed(f"agency {agency_id} is not registered", fields={field: ["unknown agency"]})
    principal.require_district(row["district"])
    return row
