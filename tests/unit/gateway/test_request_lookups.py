"""What the gateway remembers between requests: verified tokens (briefly), the districts of agencies and the
agency and district of buildings."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from werkzeug.wrappers import Request

from services.common.base.db import create_db_engine
from services.common.kernel.clock import iso, utc_now
from services.common.kernel.errors import NotInScope, Unauthenticated, ValidationFailed
from services.gateway import auth, references, web
from services.gateway.auth import Principal, authenticate, create_token, revoke_token, tokens_table
from services.gateway.views import prepare_database
from services.gateway.views.agencies import agencies_table

OPERATOR_07 = Principal("t1", "op", "district_operator", "320402")


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = create_db_engine(f"sqlite:///{tmp_path}/gateway.db")
    prepare_database(engine)
    auth._verified.clear()
    web._district_of_agency.clear()
    yield engine
    engine.dispose()


def _bearer(token: str) -> str:
    return f"Bearer {token}"


def test_a_verified_token_is_trusted_briefly_then_looked_up_again(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = create_token(engine, "dashboard", "viewer")
    assert authenticate(engine, _bearer(token)).role == "viewer"
    assert revoke_token(engine, token.split("_")[1])
    # within TOKEN_CACHE_SECONDS the verified principal stands ...
    assert authenticate(engine, _bearer(token)).name == "dashboard"
    # ... and once it has passed, the revocation is seen
    monkeypatch.setattr(auth, "TOKEN_CACHE_SECONDS", 0.0)
    auth._verified.clear()
    with pytest.raises(Unauthenticated, match="revoked"):
        authenticate(engine, _bearer(token))


def test_a_token_is_never_trusted_past_its_expiry(engine: Engine) -> None:
    token = create_token(engine, "batch", "city_admin", days=1)
    token_id = token.split("_")[1]
    authenticate(engine, _bearer(token))
    with engine.begin() as conn:  # it expires now: the remembered principal must not outlive it
        soon = iso(utc_now() + timedelta(milliseconds=50))
        conn.execute(sa.update(tokens_table).where(tokens_table.c.token_id == token_id).values(expires_at=soon))
    auth._verified.clear()
    authenticate(engine, _bearer(token))
    remembered_until, _ = auth._verified[_bearer(token)]
    assert remembered_until - auth.time.monotonic() <= 0.05


def test_a_forged_secret_is_never_remembered(engine: Engine) -> None:
    token = create_token(engine, "dashboard", "viewer")
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    for _ in range(2):
        with pytest.raises(Unauthenticated):
            authenticate(engine, _bearer(forged))
    assert _bearer(forged) not in auth._verified


def _register(engine: Engine, agency_id: str, district: str) -> None:
    now = iso(utc_now())
    row = {
        "agency_id": agency_id,
        "name": agency_id,
        "district": district,
        "kind": "party_government",
        "admin_level": "county",
        "authorised_headcount": 10,
        "version": 1,
        "registered_at": now,
        "updated_at": now,
    }
    with engine.begin() as conn:
        conn.execute(agencies_table.insert(), row)


def test_an_agency_in_another_district_is_refused_from_memory_as_from_the_directory(engine: Engine) -> None:
    _register(engine, "AG-04", "320404")
    with pytest.raises(NotInScope):
        web.agency_in_scope(engine, OPERATOR_07, "AG-04")
    with engine.begin() as conn:  # even were the directory emptied (a rebuild), the district stands
        conn.execute(agencies_table.delete())
    with pytest.raises(NotInScope):
        web.agency_in_scope(engine, OPERATOR_07, "AG-04")


def test_an_unknown_agency_is_looked_up_again_until_it_is_registered(engine: Engine) -> None:
    with pytest.raises(ValidationFailed):
        web.agency_in_scope(engine, OPERATOR_07, "AG-02")
    _register(engine, "AG-02", "320402")
    web.agency_in_scope(engine, OPERATOR_07, "AG-02")


def test_a_buildings_agency_and_district_are_asked_once_and_a_missing_building_every_time() -> None:
    references._settled.clear()
    asked: list[str] = []
    answers: dict[str, dict[str, object] | None] = {"B-1": None}

    def owner(building_id: str) -> dict[str, object] | None:
        asked.append(building_id)
        return answers[building_id]

    def lookup(building_id: str) -> object:
        return references.settled_record("building", building_id, lambda: owner(building_id))

    assert lookup("B-1") is None  # not registered yet: not remembered
    answers["B-1"] = {"id": "B-1", "version": 3, "agency_id": "AG-04", "district": "320404"}
    assert lookup("B-1") == {"agency_id": "AG-04", "district": "320404"}
    answers["B-1"] = {"id": "B-1", "version": 9, "agency_id": "AG-04", "district": "320404"}  # rooms added since
    assert lookup("B-1") == {"agency_id": "AG-04", "district": "320404"}
    assert asked == ["B-1", "B-1"]  # the third lookup was answered from memory
    # a kind whose checked attributes may change (a trip's vehicle district on dispatch) is asked every time
    trips: list[str] = []
    for _ in range(2):
        references.settled_record("trip", "T-1", lambda: trips.append("T-1") or {"district": "320404"})
    assert trips == ["T-1", "T-1"]


def test_the_rpc_context_carries_what_the_request_has_and_leaves_out_what_it_has_not() -> None:
    """A value the request does not have is left out, never sent as None (nameko warns and drops such a header)."""
    read = Request.from_values("/api/v1/agencies", method="GET", headers={"Idempotency-Key": "k-1"})
    city = Principal("t9", "ops-desk", "city_admin", None)
    assert web.rpc_context(read, city, "c-1") == {"actor": "city_admin:ops-desk", "correlation_id": "c-1"}
    command = Request.from_values("/api/v1/agencies", method="POST", headers={"Idempotency-Key": "k-1"})
    context = web.rpc_context(command, OPERATOR_07, "c-2")
    assert context.pop("request_key").startswith("request:")
    assert context == {
        "actor": "district_operator:op",
        "correlation_id": "c-2",
        "idempotency_key": "http:t1:k-1",  # bound to the token's id, not its name
        "scope_district": "320402",
    }
