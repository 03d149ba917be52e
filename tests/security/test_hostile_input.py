"""Hostile input from outside (docs/hostile-input.md), one test per class of defect:

- a district's inbound record that cannot be read or handled (nested past every parser's recursion limit,
  not UTF-8, a lone surrogate, a number out of range, an unknown type) is rejected to
  ``district.<code>.rejected`` with its reason, and the consumer goes on: the same district's next message
  and another district's messages are handled;
- an HTTP body is decoded safely: declared as anything but JSON is 415, nested too deeply or with a number
  out of range is 400, text with a lone surrogate or a control character is 422 naming the field; never 5xx.
"""

from __future__ import annotations

import json
import time
import urllib.request
import uuid
from typing import Any

from services.common.read.broker import make_producer
from services.gateway.web import RouteSpec
from tests.security.support import DISTRICT_A, DISTRICT_B, ROUTES, World, agency_of, request_for, wait_for
from tests.support import agency_code, read_topic, server_errors_counted


def _message(
    district: str, payload: dict[str, Any], message_type: str = "office_space.register_agency"
) -> dict[str, Any]:
    return {
        "message_id": f"hostile-{uuid.uuid4().hex[:12]}",
        "message_type": message_type,
        "schema_version": 1,
        "district": district,
        "sent_at": "2026-11-23T08:00:00+08:00",
        "payload": payload,
    }


def _agency(agency_id: str, district: str) -> dict[str, Any]:
    return {
        "agency_id": agency_id,
        "name": "恶意输入测试单位",
        "district": district,
        "kind": "party_government",
        "admin_level": "county",
        "authorised_headcount": 5,
    }


def _rejections(world: World, district: str, sources_after: int, expect: int, timeout: float = 60) -> list[Any]:
    """The rejections of ``district`` for records at offsets ``>= sources_after`` once ``expect`` are there."""
    deadline = time.monotonic() + timeout
    while True:
        found = [
            json.loads(r.value)
            for r in read_topic(world.platform.bootstrap, f"district.{district}.rejected", idle_polls=1)
        ]
        found = [r for r in found if int(r["source"].rsplit(":", 1)[1]) >= sources_after]
        if len(found) >= expect or time.monotonic() > deadline:
            return found
        time.sleep(0.5)


def _end_offset(world: World, topic: str) -> int:
    return len(read_topic(world.platform.bootstrap, topic, idle_polls=1))


def test_hostile_inbound_records_are_rejected_with_reasons_and_no_district_stalls(world: World) -> None:
    admin = world.tokens["city_admin"]
    topic_a = f"district.{DISTRICT_A}.inbound"
    start = _end_offset(world, topic_a)
    envelope = json.dumps(_message(DISTRICT_A, {}))
    hostile = [
        envelope.replace('"payload": {}', '"payload": ' + '{"a": ' * 100_000 + "1" + "}" * 100_000).encode(),
        envelope.replace('"payload": {}', '"payload": ' + "[" * 100_000 + "]" * 100_000).encode(),
        b"\xff\xfe not utf-8",
        json.dumps(_message(DISTRICT_A, {**_agency("HOSTILE-SURROGATE", DISTRICT_A), "name": "\ud800"})).encode(),
        envelope.replace('"payload": {}', '"payload": {"n": 1e999}').encode(),
        envelope.replace('"payload": {}', '"payload": {"n": NaN}').encode(),
        json.dumps(_message(DISTRICT_A, {}, message_type="nothing.known")).encode(),
    ]
    after_a, after_b = agency_code(DISTRICT_A), agency_code(DISTRICT_B)
    producer = make_producer(world.platform.bootstrap)
    for value in hostile:
        producer.send(topic_a, key=b"hostile", value=value).get(10)
    producer.send(topic_a, key=b"ok", value=json.dumps(_message(DISTRICT_A, _agency(after_a, DISTRICT_A))).encode())
    producer.send(
        f"district.{DISTRICT_B}.inbound",
        key=b"ok",
        value=json.dumps(_message(DISTRICT_B, _agency(after_b, DISTRICT_B))).encode(),
    )
    producer.flush()
    producer.close()
    # the messages after the hostile ones, in the same district and in another, are handled
    assert wait_for(world.platform, f"/api/v1/agencies/{after_a}", admin, timeout=60)["district"] == DISTRICT_A
    assert wait_for(world.platform, f"/api/v1/agencies/{after_b}", admin, timeout=60)["district"] == DISTRICT_B
    rejected = _rejections(world, DISTRICT_A, start, expect=len(hostile))
    reasons = sorted(r["reason"] for r in rejected)
    # 2 too deep + not UTF-8 + 1e999 + NaN: unreadable; the surrogate: invalid text; the unknown type: no contract
    assert reasons == sorted(["malformed_json"] * 5 + ["invalid_text", "invalid_message"]), rejected
    assert all(r["message"] and r["district"] == DISTRICT_A for r in rejected)
    assert "processing_failed" not in reasons
    assert "district_message_failed" not in world.platform.log("gateway")
    assert server_errors_counted(world.platform.gateway) == []


def test_bodies_are_decoded_safely_with_a_4xx_for_every_fault(world: World) -> None:
    admin = world.tokens["city_admin"]
    good = _agency(agency_code(DISTRICT_A), DISTRICT_A)
    raw = json.dumps(good).encode()
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"):
        status, answer, _ = world.platform.request(
            "POST", "/api/v1/agencies", token=admin, raw=raw, headers={"Content-Type": content_type}
        )
        assert (status, answer["error"]) == (415, "unsupported_media_type"), content_type
    cases = {
        b"[" * 100_000 + b"]" * 100_000: (400, "bad_request"),
        raw.replace(b'"name": ', b'"name": ' + b'{"a": ' * 40 + b"1" + b"}" * 40 + b', "x": '): (400, "bad_request"),
        raw.replace(b'"authorised_headcount": 5', b'"authorised_headcount": 1e999'): (400, "bad_request"),
        raw.replace(b'"authorised_headcount": 5', b'"authorised_headcount": NaN'): (400, "bad_request"),
        raw.replace(b'"authorised_headcount": 5', b'"authorised_headcount": ' + b"9" * 5000): (400, "bad_request"),
    }
    for body, expected in cases.items():
        status, answer, _ = world.platform.request("POST", "/api/v1/agencies", token=admin, raw=body)
        assert (status, answer["error"]) == expected, body[:80]
    surrogate = json.dumps({**good, "name": "a\ud800b"}).encode()
    status, answer, _ = world.platform.request("POST", "/api/v1/agencies", token=admin, raw=surrogate)
    assert (status, answer["fields"]) == (422, {"name": ["contains a lone surrogate U+D800"]})
    # the same body, well formed and declared as JSON (with a charset), is accepted
    status, answer, _ = world.platform.request(
        "POST", "/api/v1/agencies", token=admin, raw=raw, headers={"Content-Type": "application/json; charset=utf-8"}
    )
    assert status == 201, answer
    assert server_errors_counted(world.platform.gateway) == []


def _spec(name: str) -> RouteSpec:
    return next(spec for attr, spec in ROUTES if attr == name)


def _post(world: World, path: str, body: Any, key: str, who: str = "city_admin") -> tuple[int, Any]:
    status, answer, _ = world.platform.request("POST", path, body, world.tokens[who], headers={"Idempotency-Key": key})
    return status, answer


def test_an_idempotency_key_means_one_command_and_a_refusal_is_replayed_like_a_success(world: World) -> None:
    n = uuid.uuid4().hex[:8]
    agency = _agency(agency_code(DISTRICT_A, f"IDEM-{n}"), DISTRICT_A)
    _, building = request_for(_spec("register_building"), DISTRICT_A, fresh=f"-{n}")
    first = _post(world, "/api/v1/agencies", agency, f"k1-{n}")
    assert first[0] == 201, first
    assert _post(world, "/api/v1/agencies", agency, f"k1-{n}") == first  # a repeat: the same answer
    for path, body in (
        ("/api/v1/agencies", {**agency, "name": "另一个单位"}),  # another body
        ("/api/v1/agencies", {**agency, "agency_id": agency_code(DISTRICT_A, f"IDEM-{n}-2")}),  # another command's id
        ("/api/v1/buildings", {**building, "building_id": f"IDEM-BLD-R-{n}"}),  # another route, same service
    ):
        status, answer = _post(world, path, body, f"k1-{n}")
        assert (status, answer["error"]) == (422, "idempotency_key_reused"), (path, answer)
    # the refused reuses did not run: their agency is unknown, their building can be registered now
    status, _, _ = world.platform.request("GET", f"/api/v1/agencies/IDEM-{n}-2", token=world.tokens["city_admin"])
    assert status == 404
    registered = _post(world, "/api/v1/buildings", {**building, "building_id": f"IDEM-BLD-R-{n}"}, f"k5-{n}")
    assert registered[0] == 201, registered
    # the key is bound to the token: another token's same key is its own
    other = _agency(agency_code(DISTRICT_A, f"IDEM-{n}-B"), DISTRICT_A)
    assert _post(world, "/api/v1/agencies", other, f"k1-{n}", who="operator_a")[0] == 201

    # a refusal of the owning service is recorded and answered again to its key, even once the state changed
    building_id = f"IDEM-BLD-{n}"
    _, room = request_for(_spec("add_room"), DISTRICT_A)
    room_path = f"/api/v1/buildings/{building_id}/rooms"
    room = {**room, "building_id": building_id, "room_id": f"IDEM-R-{n}"}
    refused = _post(world, room_path, room, f"k2-{n}")
    assert refused[0] in (404, 422), refused
    created = _post(world, "/api/v1/buildings", {**building, "building_id": building_id}, f"k3-{n}")
    assert created[0] == 201, created
    assert _post(world, room_path, room, f"k2-{n}") == refused  # the same key: the same answer
    added = _post(world, room_path, room, f"k4-{n}")
    assert added[0] == 201, (refused, created, added)


def test_a_district_message_id_sent_again_with_another_payload_is_refused(world: World) -> None:
    admin = world.tokens["city_admin"]
    n = uuid.uuid4().hex[:8]
    first = _message(DISTRICT_A, _agency(agency_code(DISTRICT_A, f"MSG-{n}"), DISTRICT_A))
    second = {**first, "payload": _agency(agency_code(DISTRICT_A, f"MSG-{n}-2"), DISTRICT_A)}
    topic = f"district.{DISTRICT_A}.inbound"
    start = _end_offset(world, topic)
    producer = make_producer(world.platform.bootstrap)
    producer.send(topic, key=b"k", value=json.dumps(first).encode()).get(10)
    assert (
        wait_for(world.platform, f"/api/v1/agencies/{agency_code(DISTRICT_A, f'MSG-{n}')}", admin, timeout=60)[
            "district"
        ]
        == DISTRICT_A
    )
    producer.send(topic, key=b"k", value=json.dumps(second).encode()).get(10)
    producer.close()
    rejected = [r for r in _rejections(world, DISTRICT_A, start, expect=1) if r["message_id"] == first["message_id"]]
    assert [r["reason"] for r in rejected] == ["idempotency_key_reused"], rejected
    status, _, _ = world.platform.request(
        "GET", f"/api/v1/agencies/{agency_code(DISTRICT_A, f'MSG-{n}-2')}", token=admin
    )
    assert status == 404


def test_a_district_operator_cannot_take_another_districts_asset_out_of_the_warehouse(world: World) -> None:
    """Scope is checked before the command as well as after: the warehouse's asset of district A, allocated
    to district B's agency by B's operator, would be B's after the command (the check after alone let it
    through). B's request is met from B's own stock only; A's asset stays in the warehouse, A's."""
    admin, n = world.tokens["city_admin"], uuid.uuid4().hex[:8]
    asset_id = f"SCOPE-{n}"
    body = {
        "asset_id": asset_id,
        "agency_id": agency_of(DISTRICT_A),
        "category": "furniture",
        "name": "会议桌",
        "location": "A楼301",
        "original_value_fen": 120_000,
        "acquired_on": "2024-01-10",
    }
    for path, command in (
        ("/api/v1/assets", body),
        (f"/api/v1/assets/{asset_id}/idle", {"reason": "机构调整"}),
        (f"/api/v1/assets/{asset_id}/hand-in", {"warehouse_id": agency_of(DISTRICT_A), "condition": "good"}),
    ):
        status, answer, _ = world.platform.request("POST", path, command, admin)
        assert status in (200, 201), (path, answer)
    deadline = time.monotonic() + 30
    while asset_id not in json.dumps(
        wait_for(world.platform, "/api/v1/warehouse/idle-stock?category=furniture", admin)
    ):
        assert time.monotonic() < deadline, "the handed-in asset never showed in the idle stock"
        time.sleep(0.3)
    request = {"agency_id": agency_of(DISTRICT_B), "category": "furniture", "quantity": 1000, "location": "B楼"}
    status, answer, _ = world.platform.request(
        "POST", "/api/v1/warehouse/requests", request, world.tokens["operator_b"]
    )
    assert status == 201, answer
    assert asset_id not in answer["allocated_asset_ids"]
    asset = wait_for(world.platform, f"/api/v1/assets/{asset_id}", admin)
    assert (asset["district"], asset["status"]) == (DISTRICT_A, "in_warehouse")


def test_out_of_range_dates_periods_and_offsets_are_422_with_the_fields_reason(world: World) -> None:
    """A period of eight thousand years used to make the service count its days (a trip's hours, an
    expense spread by day); out of range is now 422 naming the field, before any work."""
    admin = world.tokens["city_admin"]
    _, trip = request_for(_spec("request_trip"), DISTRICT_A)
    _, expense = request_for(_spec("record_vehicle_expense"), DISTRICT_A)
    cases = [
        ("POST", "/api/v1/trips", {**trip, "planned_end": "9999-12-31T18:00:00+08:00"}, "planned_end"),
        ("POST", "/api/v1/trips", {**trip, "planned_start": "0001-01-01T09:00:00+08:00"}, "planned_start"),
        (
            "POST",
            "/api/v1/vehicles/S320402-vehicle/expenses",
            {**expense, "covers_from": "1900-01-01", "covers_to": "2100-12-31"},
            "covers_to",
        ),
        ("GET", "/api/v1/energy/consumption?period=day&by=agency&from=1900-01-01&to=2100-12-31", None, "to"),
        ("GET", "/api/v1/energy/consumption?period=day&by=agency&from=0001-01-01&to=0001-01-02", None, "from"),
        ("GET", "/api/v1/agencies?offset=1000000000", None, "offset"),
    ]
    for method, path, body, field in cases:
        status, answer, _ = world.platform.request(method, path, body, admin)
        assert (status, answer["error"]) == (422, "validation_failed"), (path, answer)
        assert field in answer["fields"], (path, answer)
    assert server_errors_counted(world.platform.gateway) == []


def test_a_command_that_follows_its_agencys_registration_at_once_succeeds(world: World) -> None:
    """The gateway's scope check no longer waits on the data center's directory (a projection that may lag):
    an agency it does not know yet is asked of office space's own record."""
    n = uuid.uuid4().hex[:8]
    admin, operator = world.tokens["city_admin"], world.tokens["operator_a"]
    staff = {**request_for(_spec("post_staff"), DISTRICT_A)[1], "rank": "below_section"}  # a county agency's rank
    for i in range(3):
        agency_id = agency_code(DISTRICT_A, f"NOW-{n}-{i}")
        status, answer, _ = world.platform.request("POST", "/api/v1/agencies", _agency(agency_id, DISTRICT_A), admin)
        assert status == 201, answer
        key = {"Idempotency-Key": f"now-{n}-{i}"}
        path = f"/api/v1/agencies/{agency_id}/staff"
        status, answer, _ = world.platform.request(
            "POST", path, {**staff, "person_id": f"P-{n}-{i}"}, operator, headers=key
        )
        assert status == 201, answer
    # another district's operator is still refused, and a repeat of the keyed command answers the same
    status, answer, _ = world.platform.request(
        "POST", path, {**staff, "person_id": f"Q-{n}"}, world.tokens["operator_b"]
    )
    assert (status, answer["error"]) == (404, "not_found"), answer  # as if A's agency did not exist
    again = world.platform.request("POST", path, {**staff, "person_id": f"P-{n}-2"}, operator, headers=key)
    assert again[0] == 201, again


def test_a_readings_batch_id_is_bound_to_its_token_and_its_content(world: World) -> None:
    """A batch's ``message_id`` is its idempotency key: bound to the token's id (another token with the same
    id is its own batch) and to the batch (the same id with other readings is refused, nothing recorded)."""
    n = uuid.uuid4().hex[:8]
    admin = world.tokens["city_admin"]
    _, meter = request_for(_spec("install_meter"), DISTRICT_A, fresh=f"-b{n}")
    meter = {**meter, "meter_id": f"BATCH-{n}", "initial_reading": 0, "installed_at": "2026-01-01T00:00:00+08:00"}
    status, answer, _ = world.platform.request("POST", "/api/v1/meters", meter, admin)
    assert status == 201, answer

    def batch(value: float, day: int = 2) -> dict[str, Any]:
        readings = [[f"2026-01-{day:02d}T00:00:00+08:00", value]]
        return {"message_id": f"up-{n}", "meters": [{"meter_id": f"BATCH-{n}", "readings": readings}]}

    first = world.platform.request("POST", "/api/v1/meter-readings", batch(10), admin)[:2]
    assert first[0] == 200 and first[1]["accepted"] == 1, json.dumps(first, ensure_ascii=False)
    assert world.platform.request("POST", "/api/v1/meter-readings", batch(10), admin)[:2] == first  # a repeat
    status, answer, _ = world.platform.request("POST", "/api/v1/meter-readings", batch(20), admin)
    assert (status, answer["error"]) == (422, "idempotency_key_reused"), answer
    # the operator of the meter's district sends its own batch under the same id: its own, judged afresh
    status, answer, _ = world.platform.request(
        "POST", "/api/v1/meter-readings", batch(20, day=3), world.tokens["operator_a"]
    )
    assert status == 200 and answer["accepted"] == 1 and answer["event_ids"] != first[1]["event_ids"], answer


def test_an_unknown_url_or_method_is_answered_in_the_error_shape_of_every_other_error(world: World) -> None:
    """A client of the API reads one kind of answer: werkzeug's HTML page for a URL no route has, or a method its
    route does not take, is the platform's JSON error now (404 ``not_found``, 405 ``method_not_allowed`` naming
    the methods it takes); a doubled ``/`` is still a redirect."""
    token = world.tokens["city_admin"]
    for method, path, status, error in [
        ("GET", "/api/v1/no-such-listing", 404, "not_found"),
        ("POST", "/api/v1/agencies/x/y/z", 404, "not_found"),
        ("DELETE", "/api/v1/agencies", 405, "method_not_allowed"),
        ("PATCH", "/api/v1/agencies", 405, "method_not_allowed"),
    ]:
        answered, body, headers = world.platform.request(method, path, {}, token)
        assert (answered, headers["content-type"]) == (status, "application/json"), (method, path, body)
        assert body["error"] == error and body["fields"] == {}, body
        if status == 405:
            assert "POST" in headers["allow"] and "GET" in headers["allow"]
    request = urllib.request.Request(world.platform.gateway + "//api//v1//agencies", method="GET")
    opener = urllib.request.build_opener(NoRedirect)
    try:
        opener.open(request, timeout=15)
        raise AssertionError("a redirect was expected")
    except urllib.error.HTTPError as redirected:
        assert redirected.code == 308 and redirected.headers["Location"].endswith("/api/v1/agencies")


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None
