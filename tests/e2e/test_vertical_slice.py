"""RegisterAgency end to end: HTTP → gateway → nameko RPC → event store → Kafka → projection → GET."""

from __future__ import annotations

import time
import urllib.request
import uuid
from typing import Any

from services.common.base.settings import SERVICES
from services.common.write.store import EventStore
from tests.e2e.conftest import Platform
from tests.support import agency_code, envelopes_of, read_topic

AGENCY = {
    "agency_id": "11320402MB00000012",
    "name": "天宁区机关事务管理中心",
    "district": "320402",
    "kind": "party_government",
    "admin_level": "county",
    "authorised_headcount": 25,
}


def _wait_for(platform: Platform, path: str, token: str, timeout: float = 20) -> tuple[int, Any]:
    deadline = time.monotonic() + timeout
    while True:
        status, body, _ = platform.request("GET", path, token=token)
        if status == 200 or time.monotonic() > deadline:
            return status, body
        time.sleep(0.1)


def _stored(platform: Platform) -> list[Any]:
    url = platform.database_urls.get("office_space") or f"sqlite:///{platform.var_dir / 'office_space.db'}"
    return EventStore.open(url, "office_space").read_all()


def test_a_registered_agency_reaches_the_data_center(platform: Platform) -> None:
    admin = platform.token()
    status, answer, headers = platform.request(
        "POST", "/api/v1/agencies", AGENCY, admin, headers={"X-Correlation-ID": "e2e-corr-1"}
    )
    assert status == 201, answer
    assert answer["version"] == 1 and len(answer["event_ids"]) == 1
    assert headers["x-correlation-id"] == "e2e-corr-1"

    status, agency = _wait_for(platform, f"/api/v1/agencies/{AGENCY['agency_id']}", admin)
    assert status == 200, agency
    assert {k: agency[k] for k in AGENCY} == AGENCY

    stored = [e for e in _stored(platform) if e.stream_id == AGENCY["agency_id"]]
    assert [(e.event_type, e.actor, e.correlation_id) for e in stored] == [
        ("AgencyRegistered", "city_admin:e2e", "e2e-corr-1")
    ]
    published = envelopes_of(read_topic(platform.bootstrap, "office_space.events"))
    assert answer["event_ids"][0] in {e["event_id"] for e in published}
    # The correlation id is in the service's and the gateway projector's log lines.
    assert '"correlation_id": "e2e-corr-1"' in platform.log("office_space")
    assert '"correlation_id": "e2e-corr-1"' in platform.log("gateway")


def test_bad_input_gets_a_4xx_with_field_reasons_and_stores_nothing(platform: Platform) -> None:
    admin = platform.token()
    before = len(_stored(platform))
    missing = {k: v for k, v in AGENCY.items() if k != "kind"} | {"agency_id": "NEW1"}
    status, body, _ = platform.request("POST", "/api/v1/agencies", missing, admin)
    assert (status, body["error"], list(body["fields"])) == (422, "validation_failed", ["kind"])

    status, body, _ = platform.request(
        "POST", "/api/v1/agencies", AGENCY | {"agency_id": "NEW2", "district": "32040"}, admin
    )
    assert (status, list(body["fields"])) == (422, ["district"])

    status, body, _ = platform.request(
        "POST", "/api/v1/agencies", AGENCY | {"agency_id": "NEW3", "district": "999999"}, admin
    )
    assert (status, body["error"], list(body["fields"])) == (422, "unknown_district", ["district"])

    status, body, _ = platform.request("POST", "/api/v1/agencies", token=admin, raw=b'{"name": "unterminated')
    assert (status, body["error"]) == (400, "bad_request")

    status, body, _ = platform.request(
        "POST", "/api/v1/agencies", AGENCY | {"agency_id": agency_code("320402", "NEW4")}
    )
    assert (status, body["error"]) == (401, "unauthenticated")

    other = platform.token("district_operator", district="320404", name="zhonglou")
    status, body, _ = platform.request(
        "POST", "/api/v1/agencies", AGENCY | {"agency_id": agency_code("320402", "NEW5")}, other
    )
    assert (status, body["error"]) == (403, "not_in_scope")

    viewer = platform.token("viewer", name="analyst")
    status, body, _ = platform.request(
        "POST", "/api/v1/agencies", AGENCY | {"agency_id": agency_code("320402", "NEW6")}, viewer
    )
    assert (status, body["error"]) == (403, "forbidden")

    assert len(_stored(platform)) == before


def test_every_service_and_the_gateway_serve_health_and_metrics(platform: Platform) -> None:
    for name in (*SERVICES, "gateway"):
        port = platform.ports[name]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as response:
            assert response.status == 200
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            text = response.read().decode()
        assert "gov_outbox_backlog_events" in text or name == "gateway"
        assert "gov_http_requests_total" in text
    with urllib.request.urlopen(f"http://127.0.0.1:{platform.ports['gateway']}/metrics", timeout=5) as response:
        assert "gov_events_projected_total" in response.read().decode()


def test_a_command_repeated_with_the_same_idempotency_key_acts_once(platform: Platform) -> None:
    admin = platform.token()
    body = AGENCY | {"agency_id": agency_code("320402", "IDEMPOTENT-1")}
    key = {"Idempotency-Key": "retry-of-request-42"}
    first = platform.request("POST", "/api/v1/agencies", body, admin, headers=key)
    second = platform.request("POST", "/api/v1/agencies", body, admin, headers=key)
    assert first[0] == second[0] == 201
    assert first[1] == second[1]
    assert [e.event_type for e in _stored(platform) if e.stream_id == body["agency_id"]] == ["AgencyRegistered"]
    without_key = platform.request("POST", "/api/v1/agencies", body, admin)
    assert (without_key[0], without_key[1]["error"]) == (409, "already_exists")


def test_who_did_what_is_queryable_by_the_events_actor(platform: Platform) -> None:
    admin = platform.token(name="auditor")
    name = f"clerk-{uuid.uuid4().hex[:6]}"
    clerk = platform.token("district_operator", district="320402", name=name)
    agency_id = agency_code("320402")
    body = {
        "agency_id": agency_id,
        "name": "天宁区审计局",
        "district": "320402",
        "kind": "party_government",
        "admin_level": "county",
        "authorised_headcount": 12,
    }
    assert platform.request("POST", "/api/v1/agencies", body, clerk)[0] == 201
    status, trail, _ = platform.request("GET", f"/api/v1/audit?actor=district_operator:{name}", token=admin)
    assert status == 200, trail
    assert [(e["event_type"], e["stream_id"], e["domain"]) for e in trail["items"]] == [
        ("AgencyRegistered", agency_id, "office_space")
    ]
    assert platform.request("GET", f"/api/v1/audit?actor=district_operator:{name}", token=clerk)[0] == 403
    assert platform.request("GET", "/api/v1/audit", token=admin)[0] == 422  # the actor is required
