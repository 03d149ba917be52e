"""The authorization matrix: every route of the gateway × every role × two districts.

The routes come from the gateway's route registry (``route_specs(GatewayService)``) and the requests from
the OpenAPI document, so a new route is in the matrix without touching this file. For each route:

- no token, a malformed, an unknown, a forged, an expired and a revoked token → 401 ``unauthenticated``;
- every role the route does not allow (viewers on writes, ops outside their routes, ...) → 403
  ``forbidden`` naming the allowed roles;
- a district operator of district B sending the request aimed at district A's agency and records → never
  2xx: 403, or the very refusal A's own operator then gets for the same request (the record does not
  exist, the state does not allow it); where A's operator succeeds, B's refusal must be 403 — but a read of
  one record (a GET naming ids in its URL) answers B exactly as it answers a missing record (404, no
  existence oracle), and so does a command naming A's record (the reference check's 404 or 422 ``unknown
  <kind>``, shown equal to a missing id's by tests/security/test_references.py). A listing B may read must
  not mention A's agency;
- the roles the route allows pass the role check, and nothing answers 5xx.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from services.gateway.web import RouteSpec
from tests.security.support import (
    COVERAGE,
    DISTRICT_A,
    DISTRICT_B,
    ROUTES,
    World,
    agency_of,
    mentions,
    operation,
    request_for,
    resolve,
    route_id,
    value_for,
)

AUTHENTICATED = [(attr, spec) for attr, spec in ROUTES if spec.roles is not None]
PUBLIC = [(attr, spec) for attr, spec in ROUTES if spec.roles is None]
ROLE_TOKEN = {"city_admin": "city_admin", "district_operator": "operator_a", "viewer": "viewer", "ops": "ops"}


def _role_refused(status: int, body: Any) -> bool:
    """The answer of the role check (403 naming the allowed roles)."""
    return status == 403 and isinstance(body, dict) and "allowed_roles" in body.get("details", {})


def _no_server_error(spec: RouteSpec, who: str, status: int, body: Any) -> None:
    assert status < 500, f"{spec.method} {spec.url} as {who}: {status} {body}"


@pytest.mark.parametrize("route", PUBLIC, ids=route_id)
def test_public_routes_answer_without_a_token(world: World, route: tuple[str, RouteSpec]) -> None:
    _, spec = route
    status, body = world.call(spec, None)
    assert status == 200, body


@pytest.mark.parametrize("route", AUTHENTICATED, ids=route_id)
def test_without_a_valid_token_every_route_answers_401(world: World, route: tuple[str, RouteSpec]) -> None:
    _, spec = route
    for who in (None, *world.broken):
        status, body = world.call(spec, who)
        assert (status, body["error"]) == (401, "unauthenticated"), f"{who}: {status} {body}"


def test_other_authorization_schemes_and_empty_bearers_are_401(world: World) -> None:
    admin = world.tokens["city_admin"]
    for header in (f"Basic {admin}", "Bearer", "Bearer ", f"bearer {admin}", f"Bearer  gov__{admin}", admin):
        status, body, _ = world.platform.request("GET", "/api/v1/agencies", headers={"Authorization": header})
        assert (status, body["error"]) == (401, "unauthenticated"), header
    status, _, _ = world.platform.request("GET", "/api/v1/agencies", token=admin)
    assert status == 200


@pytest.mark.parametrize("route", AUTHENTICATED, ids=route_id)
def test_roles_a_route_does_not_allow_get_403(world: World, route: tuple[str, RouteSpec]) -> None:
    _, spec = route
    assert spec.roles is not None
    for role, who in ROLE_TOKEN.items():
        if role in spec.roles:
            continue
        status, body = world.call(spec, who)
        assert (status, body["error"]) == (403, "forbidden"), f"{role}: {status} {body}"
        assert body["details"]["allowed_roles"] == sorted(spec.roles)
        assert status != 200


@pytest.mark.parametrize("route", AUTHENTICATED, ids=route_id)
def test_no_district_operator_acts_on_or_reads_another_districts_records(
    world: World, route: tuple[str, RouteSpec]
) -> None:
    _, spec = route
    assert spec.roles is not None
    fresh = "-m" if spec.status == 201 else ""  # what a creating command creates is new (not made by the setup)
    foreign: tuple[int, Any] | None = None
    if "district_operator" in spec.roles:
        foreign = world.call(spec, "operator_b", DISTRICT_A, fresh)  # first: A's request cannot have changed state
        _no_server_error(spec, "operator_b", *foreign)
    answers: dict[str, tuple[int, Any]] = {}
    for role in ("district_operator", "viewer", "ops", "city_admin"):
        if role in spec.roles:
            answers[role] = world.call(spec, ROLE_TOKEN[role], DISTRICT_A, fresh)
            _no_server_error(spec, role, *answers[role])
            assert not _role_refused(*answers[role]), f"{role} is allowed on {spec.url}: {answers[role]}"
    if foreign is None:
        COVERAGE["no district operators"].append(route_id(route))
        return
    status_b, body_b = foreign
    status_a, body_a = answers["district_operator"]
    if spec.method == "GET" and 200 <= status_b < 300:
        assert not mentions(body_b, agency_of(DISTRICT_A)), f"{DISTRICT_B}'s operator sees {DISTRICT_A}'s agency"
        COVERAGE["listing limited to own district"].append(route_id(route))
        return
    assert not 200 <= status_b < 300, f"{DISTRICT_B}'s operator got {status_b} {body_b} on {DISTRICT_A}'s records"
    if spec.method == "GET" and spec.url_params:
        # a read of one record: another district's answers exactly as a missing one (no existence oracle)
        missing = _missing_answer(world, spec)
        assert (status_b, body_b) == missing, f"B: {status_b} {body_b}; a missing record: {missing}"
        COVERAGE["404 as a missing record"].append(route_id(route))
    elif _as_missing_reference(body_b):
        # a command naming another district's record is refused as if the record did not exist (docs/hostile-input.md)
        COVERAGE["refused as a missing reference"].append(f"{route_id(route)} (owner {status_a})")
    elif 200 <= status_a < 300:
        assert status_b == 403, f"A's operator succeeded ({status_a}); B's must be refused 403: {status_b} {body_b}"
        COVERAGE["403 where the owner succeeds"].append(route_id(route))
    elif status_b == 403:
        COVERAGE["403 (owner refused for another reason)"].append(f"{route_id(route)} (owner {status_a})")
    else:
        assert status_b == status_a, f"B: {status_b} {body_b}; A: {status_a} {body_a}"
        COVERAGE["same refusal as the owner"].append(f"{route_id(route)} ({status_b} {body_b.get('error')})")


def _as_missing_reference(body: Any) -> bool:
    """The reference check's refusal (``services.gateway.references``): 404 ``<kind> <id> not found`` or 422
    naming the field ``unknown <kind>``; tests/security/test_references.py proves it equals a missing id's."""
    if not isinstance(body, dict):
        return False
    reasons = [r for rs in body.get("fields", {}).values() for r in (rs if isinstance(rs, list) else [])]
    return body.get("error") == "not_found" or any(str(r).startswith("unknown ") for r in reasons)


def _missing_answer(world: World, spec: RouteSpec) -> tuple[int, Any]:
    """What B's operator gets for the same read naming an id that does not exist (the URL's last id), with the
    id in the answer put back to A's (so the two answers compare as wholes)."""
    path, _ = request_for(spec, DISTRICT_A)
    name = spec.url_params[-1][0]
    real = str(value_for(name, _path_schema(spec, name), DISTRICT_A))
    status, body, _ = world.platform.request("GET", path.replace(real, "NOSUCH", 1), token=world.tokens["operator_b"])
    return status, json.loads(json.dumps(body).replace("NOSUCH", real))


def _path_schema(spec: RouteSpec, name: str) -> dict[str, Any]:
    for param in operation(spec).get("parameters", []):
        param = resolve(param)
        if param["in"] == "path" and param["name"] == name:
            schema: dict[str, Any] = param["schema"]
            return schema
    raise AssertionError(f"{spec.url} has no path parameter {name}")


def test_each_district_operator_reads_its_own_agency_and_not_the_other(world: World) -> None:
    for own, other, who in ((DISTRICT_A, DISTRICT_B, "operator_a"), (DISTRICT_B, DISTRICT_A, "operator_b")):
        token = world.tokens[who]
        status, body, _ = world.platform.request("GET", f"/api/v1/agencies/{agency_of(own)}", token=token)
        assert (status, body["district"]) == (200, own)
        status, body, _ = world.platform.request("GET", f"/api/v1/agencies/{agency_of(other)}", token=token)
        missing = world.platform.request("GET", f"/api/v1/agencies/{agency_of(other)}X", token=token)[:2]
        assert (status, body) == (404, {**missing[1], "message": f"agency {agency_of(other)} not found"})
        assert missing[0] == 404
        status, body, _ = world.platform.request("GET", f"/api/v1/agencies?district={other}", token=token)
        assert status == 200 and {item["district"] for item in body["items"]} == {own}
