"""Sealed at the edge: the gateway sends a command's personal values (a driver's name, a staff member's name, GPS
points) over RabbitMQ as tokens under their subjects' keys, and the owning service opens them again and handles
the command as sent (its store seals anew: a token is never sealed twice). On a real vehicles store (SQLite and
PostgreSQL) and a real key store; RabbitMQ's part is the payload handed to ``call_async``."""

from __future__ import annotations

import json
from typing import Any

import pytest
import sqlalchemy as sa

from services.common.base.personal import KeyStore, Subject, SubjectErased, is_token, open_request
from services.common.kernel.errors import ValidationFailed
from services.common.runtime.rpc import ServiceError, command_fingerprint
from services.gateway import web
from tests.integration.test_vehicles_service import Harness

DRIVER_ID, NAME = "D-0031", "慕容复生"
DISPATCH = {"trip_id": "T1", "vehicle_id": "V-WJ", "driver_id": DRIVER_ID, "driver": NAME}


class Method:
    """A gateway RPC proxy method as ``web.call`` uses it: what it would send over RabbitMQ is kept."""

    def __init__(self, service_name: str) -> None:
        self.service_name = service_name
        self.sent: list[Any] = []

    def call_async(self, payload: Any) -> Any:
        self.sent.append(payload)
        return type("Reply", (), {"result": staticmethod(lambda: {"ok": True})})()


@pytest.fixture
def keys(keys: KeyStore, monkeypatch: pytest.MonkeyPatch) -> KeyStore:
    monkeypatch.setattr(web, "platform_key_store", lambda: keys)  # the gateway's and the service's one key store
    return keys


@pytest.fixture
def fleet(db_url: str, keys: KeyStore) -> Harness:
    """A Tianning trip waiting for a Wujin vehicle."""
    harness = Harness(db_url)
    harness.store.personal = lambda: keys
    harness.service.set_vehicle_quota({"agency_id": "AG-WJ", "quota": 3, "reason": "2026年编制核定"})
    harness.register("V-WJ", "苏D77777", agency="AG-WJ")
    harness.service.request_trip(
        {"trip_id": "T1", "agency_id": "AG-TN", "purpose": "调研", "destination": "溧阳"}
        | {"planned_start": "2026-03-05T09:00:00+08:00", "planned_end": "2026-03-05T12:00:00+08:00"}
    )
    return harness


def _sent(service: str, payload: dict[str, Any]) -> dict[str, Any]:
    method = Method(service)
    assert web.call(method, payload) == {"ok": True}
    [sent] = method.sent
    return dict(sent)


def test_the_gateway_sends_personal_values_as_tokens_and_nothing_else_changes(keys: KeyStore) -> None:
    sent = _sent("vehicles", DISPATCH)
    assert NAME not in json.dumps(sent, ensure_ascii=False)
    assert is_token(sent["driver"]) and keys.decrypt_field(sent["driver"], "driver") == NAME
    assert {k: v for k, v in sent.items() if k != "driver"} == {k: v for k, v in DISPATCH.items() if k != "driver"}
    points = [{"at": "2026-03-05T09:01:00+08:00", "lat": 31.7791, "lon": 119.9463}]
    batch = _sent("vehicles", {"trip_id": "T1", "points": points})
    assert "31.7791" not in json.dumps(batch) and keys.decrypt_field(batch["points"], "points") == points
    staff = _sent("office_space", {"agency_id": "A1", "person_id": "P-0042", "name": "欧阳娜娜"})
    assert keys.decrypt_field(staff["name"], "name") == "欧阳娜娜"
    agency = {"agency_id": "A1", "name": "天宁区教育局", "district": "320402"}  # no personal value: sent as it is
    assert _sent("office_space", agency) == agency


def test_the_service_handles_a_sealed_request_as_the_clear_one(fleet: Harness, keys: KeyStore) -> None:
    sent = _sent("vehicles", DISPATCH)
    # the same command either way: the fingerprint an idempotency key is bound to is taken of the opened payload
    opened = open_request(lambda: keys, "vehicles", sent)
    assert opened == DISPATCH
    assert command_fingerprint("vehicles", "dispatch_trip", opened, lambda: keys) == command_fingerprint(
        "vehicles", "dispatch_trip", DISPATCH, lambda: keys
    )
    fleet.service.dispatch_trip(sent)
    [dispatched] = [e for e in fleet.store.read_all() if e.event_type == "TripDispatched"]
    stored = dispatched.payload["driver"]
    assert stored != sent["driver"] and keys.decrypt_field(stored, "driver") == NAME  # sealed anew, once
    with fleet.store.engine.connect() as conn:
        assert NAME not in str(conn.execute(sa.text("SELECT payload FROM events")).all())


def test_a_token_of_another_subject_or_field_is_refused(fleet: Harness, keys: KeyStore) -> None:
    other = keys.encrypt_field(Subject("driver", "D-0032"), "driver", "东方不败")
    with pytest.raises(ServiceError) as refused:  # a token copied from another driver's record
        fleet.service.dispatch_trip({**DISPATCH, "driver": other})
    assert (refused.value.code, refused.value.fields) == ("validation_failed", {"driver": ["not this subject's"]})
    with pytest.raises(ValidationFailed):  # a token of the driver's id made for another property
        open_request(
            lambda: keys,
            "vehicles",
            {**DISPATCH, "driver": keys.encrypt_field(Subject("driver", DRIVER_ID), "name", NAME)},
        )


def test_an_erased_subjects_value_is_refused_at_the_gateway_and_not_sent(keys: KeyStore) -> None:
    keys.erase(Subject("driver", DRIVER_ID))
    method = Method("vehicles")
    with pytest.raises(SubjectErased):
        web.call(method, DISPATCH)
    assert method.sent == []
