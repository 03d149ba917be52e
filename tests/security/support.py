"""What the security tests share: the routes (from the gateway's route registry), tokens of every role,
two districts with an agency each, and valid inputs generated from the OpenAPI document.

Inputs are generated, not written by hand, so a route added tomorrow is covered by the same tests: a body
has every required field (and the optional ids that name a resource some URL addresses), each with a
value its JSON Schema accepts; ids are derived from the field name and the district (``S320402-building``)
so a URL's ``<building_id>`` names what a body's ``building_id`` created; ``agency_id`` and ``district``
are the target district's agency and code.
"""

from __future__ import annotations

import json
import os
import re
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

import pytest
import sqlalchemy as sa

from services.common.base.db import create_db_engine
from services.common.write.store import EventStore
from services.gateway import auth, openapi
from services.gateway.service import GatewayService
from services.gateway.web import RouteSpec, route_specs
from tests.e2e.conftest import Platform
from tests.support import agency_code

SQLITE_ONLY = pytest.mark.parametrize(
    "platform", os.environ.get("SECURITY_PLATFORM", "sqlite").split(","), indirect=True
)
"""The suite runs on the SQLite platform (the matrix is about the gateway, not the store);
``SECURITY_PLATFORM=postgres`` (or ``sqlite,postgres``) runs it on PostgreSQL."""

DISTRICT_A = "320402"
DISTRICT_B = "320404"
ROUTES: list[tuple[str, RouteSpec]] = route_specs(GatewayService)
DOCUMENT = openapi.document()
URL_PARAMS = {name for _, spec in ROUTES for name, _ in spec.url_params}


def route_id(value: Any) -> str:
    """A readable test id: ``POST /api/v1/agencies``."""
    return f"{value[1].method} {value[1].url}" if isinstance(value, tuple) else str(value)


def operation(spec: RouteSpec) -> dict[str, Any]:
    """The OpenAPI operation of a route."""
    operation: dict[str, Any] = DOCUMENT["paths"][openapi.openapi_path(spec.url)][spec.method.lower()]
    return operation


def resolve(schema: dict[str, Any]) -> dict[str, Any]:
    """A schema with its ``$ref`` (into this document) followed."""
    while "$ref" in schema:
        node: Any = DOCUMENT
        for part in schema["$ref"].removeprefix("#/").split("/"):
            node = node[part]
        schema = node
    return schema


def agency_of(district: str) -> str:
    """The agency the world registers in ``district`` (a unified social credit code issued there)."""
    return agency_code(district, "SEC")


def id_for(name: str, district: str) -> str:
    """The id a field or URL parameter ``name`` gets in ``district``."""
    if name.endswith("agency_id"):
        return agency_of(district)
    if name == "district":
        return district
    return f"S{district}-{name.removesuffix('_id').replace('_', '-')}"


def _type(schema: dict[str, Any]) -> str | None:
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    return kind


def _in_range(schema: dict[str, Any], preferred: float) -> float:
    low = schema.get("minimum", schema.get("exclusiveMinimum"))
    high = schema.get("maximum", schema.get("exclusiveMaximum"))
    value = preferred
    if low is not None and value <= low:
        value = low + (1 if "exclusiveMinimum" in schema else 0)
    if high is not None and value >= high:
        value = high - (1 if "exclusiveMaximum" in schema else 0)
    return value


LATER = ("end", "deadline", "due", "close", "until", "expire", "to")
"""Date fields whose name says they come after the others (they get a date in the future)."""
HINTS: dict[str, Any] = {}
"""Values learnt from refusals: a field a service answered ``one of a, b`` for gets ``a`` from then on."""


def value_for(name: str, schema: dict[str, Any], district: str) -> Any:
    """A value ``schema`` accepts, for a field called ``name`` in ``district``."""
    schema = resolve(schema)
    if name in HINTS:
        return HINTS[name]
    later = any(part in LATER for part in name.split("_"))
    if "enum" in schema:
        return next(v for v in schema["enum"] if v is not None)
    kind = _type(schema)
    if kind == "string":
        if schema.get("format") == "date":
            return "2030-06-28" if later else "2026-03-02"
        if schema.get("format") == "date-time":
            return "2030-06-28T09:00:00+08:00" if later else "2026-03-02T09:00:00+08:00"
        if name.endswith(("_id", "_code")) or name == "district" or "pattern" in schema:
            candidates = [id_for(name, district), district, "A01", "0101", "ABC", "2026", "2026-03", "x"]
            pattern = schema.get("pattern")
            return next((c for c in candidates if not pattern or re.search(pattern, c)), candidates[0])
        text = "security matrix"[: schema.get("maxLength", 100)]
        return text.ljust(schema.get("minLength", 1), "x")
    if kind == "integer":
        preferred = 2026 if "year" in name else 1
        return int(_in_range(schema, preferred))
    if kind == "number":
        return float(_in_range(schema, 10.0))
    if kind == "boolean":
        return True
    if kind == "array":
        item = name.removesuffix("s") if name.endswith("_ids") else name
        return [value_for(item, schema.get("items", {}), district)] * max(schema.get("minItems", 1), 1)
    if kind == "object" or "properties" in schema:
        return body_for(schema, district)
    return "x"


def wanted(name: str, schema: dict[str, Any]) -> bool:
    """Required fields, and the optional ids that name something a URL addresses (so ids are known)."""
    return name in schema.get("required", []) or name in URL_PARAMS


def body_for(schema: dict[str, Any], district: str) -> dict[str, Any]:
    """A JSON object ``schema`` accepts, aimed at ``district`` (its agency, its code, its ids)."""
    schema = resolve(schema)
    properties = schema.get("properties", {})
    return {name: value_for(name, prop, district) for name, prop in properties.items() if wanted(name, schema)}


def request_for(spec: RouteSpec, district: str, fresh: str = "") -> tuple[str, Any]:
    """(path with query string, JSON body or None) of a valid-looking request aimed at ``district``.

    ``fresh`` is appended to the body's optional ids (those the service would otherwise choose: the id of
    what the command creates), so a creating command can be sent again and create something new.
    """
    op = operation(spec)
    path = openapi.openapi_path(spec.url)
    query: dict[str, str] = {}
    for param in op.get("parameters", []):
        param = resolve(param)
        if param["in"] == "path":
            path = path.replace("{" + param["name"] + "}", str(value_for(param["name"], param["schema"], district)))
        elif param["in"] == "query" and (param.get("required") or param["name"] in ("agency_id", "district")):
            value = value_for(param["name"], param["schema"], district)
            query[param["name"]] = str(value).lower() if isinstance(value, bool) else str(value)
    if query:
        path += "?" + urllib.parse.urlencode(query)
    body = None
    if "requestBody" in op:
        schema = resolve(op["requestBody"]["content"]["application/json"]["schema"])
        body = body_for(schema, district)
        for name in body:
            if fresh and name in URL_PARAMS and name not in schema.get("required", []):
                body[name] = f"{body[name]}{fresh}"
        if fresh and spec.command == "register_agency":  # its id is required: a code issued in the district
            body["agency_id"] = agency_code(district, f"{body['agency_id']}{fresh}")
    return path, body


@dataclass
class World:
    """The running platform with tokens of every role and an agency in each of two districts."""

    platform: Platform
    tokens: dict[str, str]
    broken: dict[str, str]
    created: dict[str, tuple[int, str, Any]] = field(default_factory=dict)

    def call(self, spec: RouteSpec, who: str | None, district: str = DISTRICT_A, fresh: str = "") -> tuple[int, Any]:
        """``spec``'s generated request aimed at ``district``, sent with the token of ``who``."""
        path, body = request_for(spec, district, fresh)
        token = self.tokens.get(who or "") or self.broken.get(who or "")
        status, answer, _ = self.platform.request(spec.method, path, body, token)
        return status, answer

    def store(self, service: str) -> EventStore:
        url = self.platform.database_urls.get(service) or f"sqlite:///{self.platform.var_dir / (service + '.db')}"
        return EventStore.open(url, service)


def _gateway_engine(platform: Platform) -> sa.Engine:
    url = platform.database_urls.get("gateway") or f"sqlite:///{platform.var_dir / 'gateway.db'}"
    return create_db_engine(url)


def _tokens(platform: Platform) -> tuple[dict[str, str], dict[str, str]]:
    engine = _gateway_engine(platform)
    tokens = {
        "city_admin": auth.create_token(engine, "sec-admin", "city_admin"),
        "operator_a": auth.create_token(engine, "sec-op-a", "district_operator", DISTRICT_A),
        "operator_b": auth.create_token(engine, "sec-op-b", "district_operator", DISTRICT_B),
        "viewer": auth.create_token(engine, "sec-viewer", "viewer"),
        "ops": auth.create_token(engine, "sec-ops", "ops"),
    }
    expired = auth.create_token(engine, "sec-expired", "city_admin", days=1)
    revoked = auth.create_token(engine, "sec-revoked", "city_admin")
    with engine.begin() as conn:
        t = auth.tokens_table
        conn.execute(
            t.update().where(t.c.token_id == expired.split("_")[1]).values(expires_at="2020-01-01T00:00:00+00:00")
        )
    assert auth.revoke_token(engine, revoked.split("_")[1])
    engine.dispose()
    _, admin_id, admin_secret = tokens["city_admin"].split("_", 2)
    broken = {
        "malformed": "not-a-token",
        "forged": f"gov_{admin_id}_{admin_secret[:-4]}AAAA",
        "unknown": f"gov_0123456789abcdef_{admin_secret}",
        "expired": expired,
        "revoked": revoked,
    }
    return tokens, broken


def make_world(platform: Platform) -> World:
    """Tokens, the two districts' agencies (in the data center's directory), then, as a city administrator,
    every creating route (success 201) once in district A so later routes address records that exist."""
    tokens, broken = _tokens(platform)
    world = World(platform, tokens, broken)
    admin = tokens["city_admin"]
    for district in (DISTRICT_A, DISTRICT_B):
        body = {
            "agency_id": agency_of(district),
            "name": f"安全测试单位 {district}",
            "district": district,
            "kind": "party_government",
            "admin_level": "city",
            "authorised_headcount": 20,
        }
        status, answer, _ = platform.request("POST", "/api/v1/agencies", body, admin)
        assert status in (201, 409), answer
    for district in (DISTRICT_A, DISTRICT_B):
        wait_for(platform, f"/api/v1/agencies/{agency_of(district)}", admin)
    creating = sorted(
        (spec for _, spec in ROUTES if spec.method == "POST" and spec.status == 201 and spec.roles),
        key=lambda spec: (len(spec.url_params), spec.url),
    )
    for _ in range(2):  # a second pass creates what depended on something the first pass created
        for spec in creating:
            _create(world, spec)
    # the records the reference tests aim at must exist: a service that learns of the agency from its topic
    # may lag behind on a loaded machine, so those not made yet are asked again for a while
    deadline = time.monotonic() + 30
    while (missing := [s for s in creating if s.url in ESSENTIAL and world.created[s.url][0] != 201]) and (
        time.monotonic() < deadline
    ):
        time.sleep(1)
        for spec in missing:
            _create(world, spec)
    return world


ESSENTIAL = ("/api/v1/buildings", "/api/v1/meters", "/api/v1/assets")
"""Creating routes of the records whose foreign copies ``test_references`` proves exist."""


def _create(world: World, spec: RouteSpec) -> None:
    """``spec``'s record made in district A by the city administrator (its answer kept in ``world.created``)."""
    for _attempt in range(3):
        status, answer = world.call(spec, "city_admin")
        world.created[spec.url] = (status, answer.get("error", "") if isinstance(answer, dict) else "", answer)
        if not learn(answer):
            break


def learn(answer: Any) -> bool:
    """Take ``one of a, b`` field reasons of a refusal as hints; whether there was anything new."""
    learnt = False
    for name, reasons in (answer.get("fields", {}) if isinstance(answer, dict) else {}).items():
        for reason in reasons if isinstance(reasons, list) else []:
            found = re.match(r"one of ([\w.-]+)", str(reason))
            if found and HINTS.get(name) != found.group(1):
                HINTS[name] = found.group(1)
                learnt = True
    return learnt


def wait_for(platform: Platform, path: str, token: str, timeout: float = 30) -> Any:
    """The body of GET ``path`` once it answers 200."""
    deadline = time.monotonic() + timeout
    while True:
        status, body, _ = platform.request("GET", path, token=token)
        if status == 200:
            return body
        assert time.monotonic() < deadline, f"GET {path}: {status} {body}"
        time.sleep(0.1)


def mentions(answer: Any, text: str) -> bool:
    """Whether ``text`` appears anywhere in a JSON answer."""
    return text in json.dumps(answer, ensure_ascii=False)


COVERAGE: dict[str, list[str]] = {
    "403 where the owner succeeds": [],
    "refused as a missing reference": [],
    "404 as a missing record": [],
    "403 (owner refused for another reason)": [],
    "same refusal as the owner": [],
    "listing limited to own district": [],
    "no district operators": [],
}
"""How strongly the matrix proved each route's district scope (printed at the end of the run)."""
