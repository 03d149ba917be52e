"""Oversized bodies and batches are refused with the documented limits (README "Limits", the OpenAPI
document's ``x-max-body-bytes`` and ``maxItems``): 413 above a body limit, 413/422 above a batch size,
never a 2xx and never a 5xx."""

from __future__ import annotations

import http.client
import json
import socket
from typing import Any

import pytest

from services.gateway.web import MAX_BODY_BYTES, RouteSpec
from tests.security.support import DISTRICT_A, ROUTES, World, operation, request_for, resolve, route_id, value_for
from tests.support import agency_code

BODY_ROUTES = [(attr, spec) for attr, spec in ROUTES if spec.max_body_bytes is not None and spec.roles]


def _oversized(limit: int) -> bytes:
    """Valid JSON one byte over ``limit``."""
    head, tail = b'{"padding": "', b'"}'
    return head + b"x" * (limit + 1 - len(head) - len(tail)) + tail


def _raw(world: World, method: str, path: str, raw: bytes, chunked: bool = False) -> tuple[int, Any]:
    """Send ``raw`` as the body (optionally chunked, without Content-Length); (status, JSON answer)."""
    connection = http.client.HTTPConnection("127.0.0.1", world.platform.ports["gateway"], timeout=30)
    headers = {"Authorization": f"Bearer {world.tokens['city_admin']}", "Content-Type": "application/json"}
    try:
        if chunked:
            connection.request(
                method,
                path,
                body=iter([raw[i : i + 65536] for i in range(0, len(raw), 65536)]),
                headers=headers,
                encode_chunked=True,
            )
        else:
            connection.request(method, path, body=raw, headers=headers)
        response = connection.getresponse()
        return response.status, json.loads(response.read() or b"null")
    finally:
        connection.close()


def test_every_route_reading_a_body_documents_its_limit() -> None:
    for _, spec in BODY_ROUTES:
        assert operation(spec)["x-max-body-bytes"] == spec.max_body_bytes
    assert any(spec.max_body_bytes == MAX_BODY_BYTES for _, spec in BODY_ROUTES)


@pytest.mark.parametrize("route", BODY_ROUTES, ids=route_id)
def test_a_body_over_the_limit_is_413(world: World, route: tuple[str, RouteSpec]) -> None:
    _, spec = route
    assert spec.max_body_bytes is not None
    path, _ = request_for(spec, DISTRICT_A)
    status, answer = _raw(world, spec.method, path, _oversized(spec.max_body_bytes))
    assert (status, answer["error"]) == (413, "payload_too_large"), answer
    assert answer["details"]["limit_bytes"] == spec.max_body_bytes


def test_the_limit_holds_without_content_length_and_a_body_at_the_limit_is_read(world: World) -> None:
    status, answer = _raw(world, "POST", "/api/v1/agencies", _oversized(MAX_BODY_BYTES), chunked=True)
    assert (status, answer["error"]) == (413, "payload_too_large")
    agency = {
        "agency_id": agency_code(DISTRICT_A, "CHUNKED-1"),
        "name": "分块",
        "district": DISTRICT_A,
        "kind": "party_government",
    }
    agency |= {"admin_level": "city", "authorised_headcount": 3}
    status, answer = _raw(world, "POST", "/api/v1/agencies", json.dumps(agency).encode(), chunked=True)
    assert (status, answer["id"]) == (201, agency["agency_id"])  # a chunked body is read, not taken as empty
    at_limit = _oversized(MAX_BODY_BYTES - 1)
    assert len(at_limit) == MAX_BODY_BYTES
    status, answer = _raw(world, "POST", "/api/v1/agencies", at_limit)
    assert (status, answer["error"]) == (422, "validation_failed")  # read, and refused for its content


def _array_limits() -> list[tuple[str, RouteSpec, str, dict[str, Any]]]:
    found = []
    for attr, spec in BODY_ROUTES:
        content = operation(spec).get("requestBody", {}).get("content", {}).get("application/json", {})
        schema = resolve(content.get("schema", {}))
        for name, prop in schema.get("properties", {}).items():
            if "maxItems" in prop:
                found.append((attr, spec, name, prop))
    return found


@pytest.mark.parametrize(
    ("attr", "spec", "field", "prop"), _array_limits(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_a_batch_over_its_documented_size_is_refused(
    world: World, attr: str, spec: RouteSpec, field: str, prop: dict[str, Any]
) -> None:
    path, body = request_for(spec, DISTRICT_A, fresh="-limit")
    body = body or {}
    body[field] = [value_for(field.removesuffix("s"), prop.get("items", {}), DISTRICT_A)] * (prop["maxItems"] + 1)
    status, answer, _ = world.platform.request(spec.method, path, body, world.tokens["city_admin"])
    assert status in (413, 422), f"{attr}.{field}: {status} {answer}"
    if status == 422:
        assert field in answer["fields"] or answer["error"] != "validation_failed", answer


def test_listings_refuse_pages_over_500(world: World) -> None:
    checked = 0
    for _, spec in ROUTES:
        if spec.method != "GET" or spec.roles is None:
            continue
        limit = [p for p in operation(spec)["parameters"] if p.get("name") == "limit" and p.get("in") == "query"]
        if not limit or "maximum" not in limit[0]["schema"]:
            continue
        path, _ = request_for(spec, DISTRICT_A)
        separator = "&" if "?" in path else "?"
        too_many = limit[0]["schema"]["maximum"] + 1
        status, answer, _ = world.platform.request(
            "GET", f"{path}{separator}limit={too_many}", token=world.tokens["city_admin"]
        )
        assert (status, list(answer["fields"])) == (422, ["limit"]), f"{spec.url}: {status} {answer}"
        checked += 1
    assert checked >= 1


def _route(name: str) -> RouteSpec | None:
    return next((spec for attr, spec in ROUTES if attr == name), None)


def test_meter_readings_batches_over_their_limits_are_refused(world: World) -> None:
    """The energy service's documented batch limits: readings per meter, per batch, and the batch body."""
    energy_schemas = pytest.importorskip("services.energy.schemas")
    energy_api = pytest.importorskip("services.gateway.api.energy")
    per_meter, per_batch = energy_schemas.MAX_READINGS_PER_METER, energy_schemas.MAX_READINGS_PER_BATCH
    admin = world.tokens["city_admin"]
    reading = ["2026-03-02T09:00:00+08:00", 1.0]
    one_meter = _route("record_meter_readings")
    if one_meter is not None:
        path, _ = request_for(one_meter, DISTRICT_A)
        status, answer, _ = world.platform.request("POST", path, {"readings": [reading] * (per_meter + 1)}, admin)
        assert (status, list(answer["fields"])) == (422, ["readings"]), answer
    batch = _route("record_readings")
    if batch is not None:
        meters = [{"meter_id": f"M{i}", "readings": [reading] * per_meter} for i in range(per_batch // per_meter + 1)]
        status, answer, _ = world.platform.request("POST", "/api/v1/meter-readings", {"meters": meters}, admin)
        assert (status, list(answer["fields"])) == (422, ["meters"]), answer
        limit = energy_api.MAX_READINGS_BODY_BYTES
        status, answer = _raw(world, "POST", "/api/v1/meter-readings", _oversized(limit))
        assert (status, answer["error"], answer["details"]["limit_bytes"]) == (413, "payload_too_large", limit)
    assert one_meter is not None or batch is not None


def _sent_raw(world: World, head: bytes, body: bytes) -> bytes:
    """``head`` (a request line and headers, the token's added) and ``body`` sent as they are, the client's side
    of the connection then closed; the answer's first bytes."""
    token = f"Authorization: Bearer {world.tokens['city_admin']}\r\n".encode()
    with socket.create_connection(("127.0.0.1", world.platform.ports["gateway"]), timeout=30) as client:
        client.sendall(head + token + b"\r\n" + body)
        client.shutdown(socket.SHUT_WR)
        return client.recv(65536)


BROKEN_BODIES = {
    "a chunk size that is no hex number": (b"Transfer-Encoding: chunked\r\n", b"zz\r\n{}\r\n0\r\n\r\n"),
    "a negative chunk size": (b"Transfer-Encoding: chunked\r\n", b"-2\r\n{}\r\n0\r\n\r\n"),
    "chunks cut short": (b"Transfer-Encoding: chunked\r\n", b"64\r\n{}"),
    "a body cut short before its Content-Length": (b"Content-Length: 100\r\n", b"{}"),
}


@pytest.mark.parametrize("broken", BROKEN_BODIES, ids=list(BROKEN_BODIES))
def test_a_body_that_cannot_be_read_is_400(world: World, broken: str) -> None:
    """The server cannot read the body the client promised (it was a 500 ``internal_error``, logged as the
    gateway's own fault)."""
    headers, body = BROKEN_BODIES[broken]
    head = b"POST /api/v1/agencies HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\n" + headers
    answer = _sent_raw(world, head, body)
    assert answer.startswith(b"HTTP/1.1 400 "), answer[:300]
    assert json.loads(answer.split(b"\r\n\r\n", 1)[1])["error"] == "bad_request"


@pytest.mark.parametrize(
    "framing",
    [b"Content-Length: 2\r\nContent-Length: 40\r\n", b"Content-Length: 2\r\nTransfer-Encoding: chunked\r\n"],
    ids=["two Content-Length", "Content-Length and Transfer-Encoding"],
)
def test_a_body_whose_length_is_given_twice_is_400(world: World, framing: bytes) -> None:
    """The server would read one length and a proxy in front of it may read the other (request smuggling)."""
    head = b"POST /api/v1/agencies HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\n" + framing
    answer = _sent_raw(world, head, b"{}")
    assert answer.startswith(b"HTTP/1.1 400 ") or answer.startswith(b"HTTP/1.0 400 "), answer[:300]
