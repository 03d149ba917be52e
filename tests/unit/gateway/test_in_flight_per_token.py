"""One caller cannot keep every worker of the gateway busy: a token's requests beyond ``GATEWAY_IN_FLIGHT_PER_TOKEN``
being served at once are answered 429 ``too_many_requests`` at once (``Retry-After``), before their route runs or
reads their body, and every other token is served as before (``web.InFlight``)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import eventlet
import pytest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from services.common.kernel.errors import TooManyRequests
from services.gateway import web
from services.gateway.auth import Principal

URL = "/api/v1/test-in-flight"
ALICE = Principal("tokA", "alice", "district_operator", "320402")
BOB = Principal("tokB", "bob", "district_operator", "320411")


class Gateway:
    """What a route's handler reads of the gateway's service: its database and the request's context."""

    db = None
    request_context: dict[str, Any] = {}


@pytest.fixture
def route(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, list[str], eventlet.event.Event]]:
    """A route whose calls wait for ``release``; ``served`` names the caller of each call it ran."""
    monkeypatch.setattr(web, "IN_FLIGHT", web.InFlight(2))
    monkeypatch.setattr(web, "authenticate", lambda _db, header: ALICE if header == "Bearer a" else BOB)
    monkeypatch.setattr(web, "rpc_context", lambda request, principal, correlation_id: {})
    served: list[str] = []
    release = eventlet.event.Event()

    def waits(self: Any, request: Request, principal: Principal) -> dict[str, Any]:
        served.append(principal.name)
        release.wait()
        return {"served": principal.name}

    handler = web.api("POST", URL, frozenset({"district_operator"}))(waits)
    yield handler, served, release
    web.ROUTE_REGISTRY.pop(("POST", URL), None)


def _request(token: str) -> Request:
    return Request(EnvironBuilder(method="POST", path=URL, headers={"Authorization": f"Bearer {token}"}).get_environ())


def test_a_token_over_its_limit_is_answered_429_at_once_and_others_are_served(
    route: tuple[Any, list[str], eventlet.event.Event],
) -> None:
    handler, served, release = route
    held = [eventlet.spawn(handler, Gateway(), _request("a")) for _ in range(2)]
    eventlet.sleep(0)  # both of alice's requests are in their route now
    assert served == ["alice", "alice"]

    refused = handler(Gateway(), _request("a"))  # a third: answered at once, its route not run
    assert refused.status_code == 429 and refused.headers["Retry-After"] == str(web.RETRY_AFTER_SECONDS)
    body = json.loads(refused.get_data())
    assert body["error"] == "too_many_requests" and body["details"] == {"in_flight": 2, "limit": 2}
    assert served == ["alice", "alice"]

    bob = eventlet.spawn(handler, Gateway(), _request("b"))  # another district's token is served meanwhile
    eventlet.sleep(0)
    assert served == ["alice", "alice", "bob"]

    release.send(None)
    assert [green.wait().status_code for green in [*held, bob]] == [200, 200, 200]
    assert web.IN_FLIGHT.serving(ALICE) == 0 and web.IN_FLIGHT.serving(BOB) == 0
    again = eventlet.spawn(handler, Gateway(), _request("a"))  # answered: alice may ask again
    assert again.wait().status_code == 200


def test_a_request_that_fails_gives_its_place_back() -> None:
    in_flight = web.InFlight(1)
    with pytest.raises(KeyError), in_flight.held(ALICE):
        raise KeyError("the route failed")
    assert in_flight.serving(ALICE) == 0
    with in_flight.held(ALICE), pytest.raises(TooManyRequests), in_flight.held(ALICE):
        pass
    assert in_flight.serving(ALICE) == 0
