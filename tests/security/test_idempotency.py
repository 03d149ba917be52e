"""An idempotency key means one command, everywhere (docs/hostile-input.md), one test per class:

- the same ``Idempotency-Key`` on another route of the same service, and on another service's route, is 422
  ``idempotency_key_reused`` and the second command never runs (each service keeps its own command log, so
  the second service used to run it: the gateway now binds a key to its first command, across services);
- a district message's id sent again as another message type (another service's command) is rejected
  ``idempotency_key_reused``;
- a refusal by a domain rule is answered again to its key even once the state that caused it went away: a
  vehicle double-booked (409) stays refused for that key after the other trip is cancelled.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from services.common.read.broker import make_producer
from tests.security.support import DISTRICT_A, World, agency_of, wait_for
from tests.support import agency_code, owned_vehicle, read_topic


def _post(world: World, path: str, body: Any, key: str | None = None, who: str = "city_admin") -> tuple[int, Any]:
    headers = {"Idempotency-Key": key} if key else None
    status, answer, _ = world.platform.request("POST", path, body, world.tokens[who], headers=headers)
    return status, answer


def _agency(agency_id: str, district: str = DISTRICT_A) -> dict[str, Any]:
    return {
        "agency_id": agency_id,
        "name": "幂等键测试单位",
        "district": district,
        "kind": "party_government",
        "admin_level": "county",
        "authorised_headcount": 5,
    }


def _asset(asset_id: str) -> dict[str, Any]:
    return {
        "asset_id": asset_id,
        "agency_id": agency_of(DISTRICT_A),
        "category": "furniture",
        "name": "文件柜",
        "location": "A楼302",
        "original_value_fen": 80_000,
        "acquired_on": "2024-01-10",
    }


def test_a_key_reused_on_another_route_or_another_service_is_refused_and_nothing_runs(world: World) -> None:
    n = uuid.uuid4().hex[:8]
    admin = world.tokens["city_admin"]
    first = _post(world, "/api/v1/agencies", _agency(agency_code(DISTRICT_A, f"KEY-{n}")), f"x-{n}")
    assert first[0] == 201, first
    for path, body in (
        ("/api/v1/assets", _asset(f"KEY-AS-{n}")),  # another service (assets)
        (
            f"/api/v1/agencies/{agency_code(DISTRICT_A, f'KEY-{n}')}/headcount",
            {"authorised_headcount": 6, "reason": "编制调整"},
        ),  # another route
    ):
        status, answer = _post(world, path, body, f"x-{n}")
        assert (status, answer.get("error")) == (422, "idempotency_key_reused"), (path, answer)
    # the asset was never registered: its id is free, and the first key still answers its own command
    status, _, _ = world.platform.request("GET", f"/api/v1/assets/KEY-AS-{n}", token=admin)
    assert status == 404
    assert _post(world, "/api/v1/agencies", _agency(agency_code(DISTRICT_A, f"KEY-{n}")), f"x-{n}") == first
    registered = _post(world, "/api/v1/assets", _asset(f"KEY-AS-{n}"), f"y-{n}")
    assert registered[0] == 201, registered


def _message(message_id: str, message_type: str, payload: dict[str, Any]) -> bytes:
    message = {
        "message_id": message_id,
        "message_type": message_type,
        "schema_version": 1,
        "district": DISTRICT_A,
        "sent_at": "2026-11-23T08:00:00+08:00",
        "payload": payload,
    }
    return json.dumps(message, ensure_ascii=False).encode()


def test_a_district_message_id_sent_again_as_another_services_message_is_refused(world: World) -> None:
    admin, n = world.tokens["city_admin"], uuid.uuid4().hex[:8]
    topic, rejected = f"district.{DISTRICT_A}.inbound", f"district.{DISTRICT_A}.rejected"
    message_id = f"idem-{n}"
    producer = make_producer(world.platform.bootstrap)
    producer.send(
        topic,
        key=b"idem",
        value=_message(message_id, "office_space.register_agency", _agency(agency_code(DISTRICT_A, f"MID-{n}"))),
    )
    producer.flush()
    assert (
        wait_for(world.platform, f"/api/v1/agencies/{agency_code(DISTRICT_A, f'MID-{n}')}", admin, timeout=60)[
            "district"
        ]
        == DISTRICT_A
    )
    readings = {
        "message_id": message_id,
        "meters": [{"meter_id": f"MID-M-{n}", "readings": [["2026-11-22T00:00:00+08:00", 1]]}],
    }
    sentinel = _message(f"end-{n}", "energy.unknown_thing", {})  # rejected once every earlier message was handled
    producer.send(topic, key=b"idem", value=_message(message_id, "energy.record_readings", readings))
    producer.send(topic, key=b"idem", value=sentinel)
    producer.close()
    deadline = time.monotonic() + 60
    while True:
        found = [json.loads(r.value) for r in read_topic(world.platform.bootstrap, rejected, idle_polls=1)]
        if any(r["message_id"] == f"end-{n}" for r in found) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    reasons = [r["reason"] for r in found if r["message_id"] == message_id]
    assert reasons == ["idempotency_key_reused"], reasons


def _trip(trip_id: str, agency_id: str, start: str, end: str) -> dict[str, Any]:
    return {
        "trip_id": trip_id,
        "agency_id": agency_id,
        "purpose": "幂等键测试公务",
        "destination": "武进区政府",
        "passengers": 2,
        "planned_start": start,
        "planned_end": end,
    }


def test_a_domain_rules_refusal_is_answered_again_to_its_key_after_its_cause_went_away(world: World) -> None:
    """A vehicle double-booked is a 409 of a domain rule; it was not recorded for its key (409s were taken for
    races), so the same key answered success once the other trip was cancelled: another answer to one key."""
    admin, n = world.tokens["city_admin"], uuid.uuid4().hex[:8]
    agency = agency_code(DISTRICT_A, f"DBL-{n}")
    assert _post(world, "/api/v1/agencies", _agency(agency))[0] == 201
    wait_for(world.platform, f"/api/v1/agencies/{agency}", admin)
    quota = {"quota": 1, "reason": "2026年公务用车编制"}
    deadline = time.monotonic() + 30
    while (answer := _post(world, f"/api/v1/agencies/{agency}/vehicle-quota", quota))[0] == 422:
        assert time.monotonic() < deadline, answer  # the vehicles service learns the agency from its events
        time.sleep(0.3)
    assert answer[0] == 200, answer
    vehicle = owned_vehicle(f"DBL-V-{n}", agency, "苏D" + uuid.uuid4().hex[:5].upper())
    assert (registered := _post(world, "/api/v1/vehicles", vehicle))[0] == 201, registered
    # 2027-03-03 is a Wednesday: both trips lie in working hours, 10:00-11:00 in both
    first, second = f"DBL-T1-{n}", f"DBL-T2-{n}"
    for trip in (
        _trip(first, agency, "2027-03-03T09:00:00+08:00", "2027-03-03T11:00:00+08:00"),
        _trip(second, agency, "2027-03-03T10:00:00+08:00", "2027-03-03T12:00:00+08:00"),
    ):
        assert (requested := _post(world, "/api/v1/trips", trip))[0] == 201, requested
    dispatch = {"vehicle_id": vehicle["vehicle_id"], "driver_id": "D-1", "driver": "王师傅"}
    assert (held := _post(world, f"/api/v1/trips/{first}/dispatch", dispatch))[0] == 200, held
    refused = _post(world, f"/api/v1/trips/{second}/dispatch", dispatch, f"dbl-{n}")
    assert (refused[0], refused[1]["error"]) == (409, "vehicle_double_booked"), refused
    cancelled = _post(world, f"/api/v1/trips/{first}/cancel", {"reason": "会议取消"})
    assert cancelled[0] == 200, cancelled
    assert _post(world, f"/api/v1/trips/{second}/dispatch", dispatch, f"dbl-{n}") == refused  # the same answer
    dispatched = _post(world, f"/api/v1/trips/{second}/dispatch", dispatch, f"dbl2-{n}")
    assert dispatched[0] == 200, (refused, dispatched)  # a new key: judged afresh, the vehicle is free now
