"""A request whose service died handling it is handled again a bounded number of times, then dead-lettered:
kept in the store, answered with a reason, acknowledged, so it cannot kill its service on every restart."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from nameko.constants import AMQP_URI_CONFIG_KEY
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import OperationalError as StoreFailed
from structlog.testing import capture_logs

from services.common.base.db import create_db_engine, migrate
from services.common.base.personal import ERASED_TEXT, MASKED_TEXT, KeyStore, Subject, is_token
from services.common.runtime.dependencies import StoreProvider
from services.common.runtime.rpc import MAX_REDELIVERIES, _BrokerTolerantRpcConsumer, _Responder
from services.common.write.store import EventStore
from tests.support import database_text


class Message:
    def __init__(self, redelivered: bool, routing_key: str = "office_space.register_agency") -> None:
        self.properties = {
            "reply_to": "rpc.reply-gateway-1",
            "correlation_id": "c-poison",
            "content_type": "application/json",
        }
        self.delivery_info = {"routing_key": routing_key, "redelivered": redelivered}


def _consumer(store: EventStore, handled: list[Any], acked: list[Any]) -> _BrokerTolerantRpcConsumer:
    provider = object.__new__(StoreProvider)
    provider.store = store
    container = type("Container", (), {})()
    container.config = {AMQP_URI_CONFIG_KEY: "amqp://guest:guest@127.0.0.1:5672/"}
    container.dependencies = {provider}
    consumer: _BrokerTolerantRpcConsumer = object.__new__(_BrokerTolerantRpcConsumer)
    consumer.container = container
    consumer.queue_consumer = type("Queue", (), {"ack_message": staticmethod(acked.append)})()
    consumer.get_provider_for_method = lambda routing_key: type(  # type: ignore[method-assign]
        "Entrypoint", (), {"handle_message": staticmethod(lambda body, message: handled.append(body))}
    )()
    return consumer


def test_a_request_redelivered_too_often_is_dead_lettered_and_answered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: list[dict[str, Any]] = []
    monkeypatch.setattr(_Responder.publisher_cls, "publish", lambda _, payload, **kw: sent.append(payload))
    store = EventStore.open(f"sqlite:///{tmp_path / 'office_space.db'}", "office_space")
    handled: list[Any] = []
    acked: list[Any] = []
    consumer = _consumer(store, handled, acked)
    body = {"args": [{"agency_id": "AG-POISON"}], "kwargs": {}}
    consumer.handle_message(body, Message(redelivered=False))  # the first delivery: the service dies
    assert MAX_REDELIVERIES == 2
    for _ in range(MAX_REDELIVERIES):  # delivered again after each restart: handled (and it dies) twice more
        consumer.handle_message(body, Message(redelivered=True))
    assert len(handled) == 3 and sent == [] and acked == []
    fourth = Message(redelivered=True)
    consumer.handle_message(body, fourth)  # the 4th delivery is not handled
    assert len(handled) == 3
    assert acked == [fourth]
    assert [(s["result"], s["error"]["exc_type"]) for s in sent] == [(None, "ServiceError")]
    document = json.loads(sent[0]["error"]["exc_args"][0])  # the error as it crosses RPC to the gateway
    assert (document["code"], document["http_status"]) == ("request_dead_lettered", 500)
    [kept] = store.dead_lettered_requests()
    assert (kept["correlation_id"], kept["redeliveries"]) == ("c-poison", 3)
    assert "AG-POISON" in kept["request"]


def test_a_request_delivered_again_while_the_store_cannot_write_is_handled_and_the_service_lives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = EventStore.open(f"sqlite:///{tmp_path / 'office_space.db'}", "office_space")

    def full_disk(correlation_id: str, routing_key: str) -> int:  # what SQLite says past a file-size limit
        raise StoreFailed("UPDATE rpc_redeliveries", {}, sqlite3.OperationalError("disk I/O error"))

    monkeypatch.setattr(store, "count_redelivery", full_disk)
    handled: list[Any] = []
    consumer = _consumer(store, handled, [])
    # raised out of handle_message before: nameko ended the container, and the service exited
    consumer.handle_message({"args": [], "kwargs": {}}, Message(redelivered=True))
    assert len(handled) == 1  # its worker meets the same store and answers an error


def test_a_request_due_to_be_dead_lettered_while_the_store_fails_is_handled_and_the_service_lives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The 4th delivery's dead letter is written outside any worker too: a connection lost there (not an
    ``OperationalError``) or a full disk must not end the service either; the delivery after it is dead-lettered."""
    store = EventStore.open(f"sqlite:///{tmp_path / 'office_space.db'}", "office_space")
    body = {"args": [{"agency_id": "AG-POISON"}], "kwargs": {}}
    handled: list[Any] = []
    acked: list[Any] = []
    consumer = _consumer(store, handled, acked)
    consumer.handle_message(body, Message(redelivered=False))
    for _ in range(MAX_REDELIVERIES):
        consumer.handle_message(body, Message(redelivered=True))
    written = store.dead_letter_request

    def lost(correlation_id: str, body: Any) -> None:
        raise DBAPIError(
            "UPDATE rpc_redeliveries", {}, OSError("server closed the connection"), connection_invalidated=True
        )

    monkeypatch.setattr(store, "dead_letter_request", lost)
    consumer.handle_message(body, Message(redelivered=True))  # raised out of handle_message before
    assert len(handled) == 4 and acked == []  # handled by its worker, which meets the same store
    monkeypatch.setattr(store, "dead_letter_request", written)
    sent: list[dict[str, Any]] = []
    monkeypatch.setattr(_Responder.publisher_cls, "publish", lambda _, payload, **kw: sent.append(payload))
    consumer.handle_message(body, Message(redelivered=True))  # the store back: dead-lettered now
    assert len(handled) == 4 and len(acked) == 1
    [kept] = store.dead_lettered_requests()
    assert kept["redeliveries"] == 4  # the redeliveries counted: the one whose dead letter failed, and this one


def _dead_lettered(store: EventStore, body: dict[str, Any], routing_key: str) -> dict[str, Any]:
    """``body`` delivered until it is dead-lettered (its service died on each of the 3 tries); the row kept."""
    consumer = _consumer(store, [], [])
    consumer.handle_message(body, Message(redelivered=False, routing_key=routing_key))
    for _ in range(MAX_REDELIVERIES + 1):  # 2 more tries, then the 4th delivery is dead-lettered
        consumer.handle_message(body, Message(redelivered=True, routing_key=routing_key))
    [kept] = store.dead_lettered_requests()
    return kept


@pytest.fixture
def keys(tmp_path: Path) -> KeyStore:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'keys.db'}")
    migrate(engine, "personal_keys")
    return KeyStore(engine, [bytes(range(32))])


def test_a_dead_lettered_request_keeps_personal_values_sealed_under_their_subjects_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, keys: KeyStore
) -> None:
    monkeypatch.setattr(_Responder.publisher_cls, "publish", lambda _, payload, **kw: None)
    store = EventStore.open(f"sqlite:///{tmp_path / 'office_space.db'}", "office_space")
    store.personal = lambda: keys
    staff = {"agency_id": "AG-1", "person_id": "P-0042", "name": "欧阳娜娜", "rank": "section_principal"}
    with capture_logs() as logged:
        kept = _dead_lettered(store, {"args": [staff], "kwargs": {}}, "office_space.post_staff")
    assert "rpc_request_dead_lettered" in [line["event"] for line in logged]
    assert "欧阳娜娜" not in str(logged)  # nor does any log line of it
    assert "欧阳娜娜" not in database_text(store.engine)  # no table of the store holds the name
    [request] = json.loads(kept["request"])["args"]
    assert request["person_id"] == "P-0042" and request["rank"] == "section_principal"  # the rest as sent
    assert is_token(request["name"])  # recoverable by an operator until the person is erased
    assert keys.decrypt_field(request["name"], "name") == "欧阳娜娜"
    keys.erase(Subject("person", "P-0042"))
    assert keys.decrypt_field(request["name"], "name") != "欧阳娜娜"


def test_a_dead_lettered_dispatch_and_gps_batch_keep_no_driver_name_nor_point(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, keys: KeyStore
) -> None:
    monkeypatch.setattr(_Responder.publisher_cls, "publish", lambda _, payload, **kw: None)
    store = EventStore.open(f"sqlite:///{tmp_path / 'vehicles.db'}", "vehicles")
    store.personal = lambda: keys
    keys.erase(Subject("track", "TR-9"))  # an erased subject's value can be sealed under no key: it is redacted
    dispatch = {"trip_id": "TR-8", "vehicle_id": "V-1", "driver_id": "D-0077", "driver": "司马光明"}
    gps = {"trip_id": "TR-9", "points": [{"at": "2026-03-01T08:00:00+08:00", "lat": 31.7791, "lon": 119.9463}]}
    body = {"args": [dispatch], "kwargs": {"extra": gps}}
    kept = json.loads(_dead_lettered(store, body, "vehicles.dispatch_trip")["request"])
    raw = database_text(store.engine)
    assert "司马光明" not in raw and "31.7791" not in raw and "119.9463" not in raw
    assert keys.decrypt_field(kept["args"][0]["driver"], "driver") == "司马光明"
    assert kept["kwargs"]["extra"] == {"trip_id": "TR-9", "points": ERASED_TEXT}


def test_a_store_without_a_key_store_redacts_a_dead_lettered_personal_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_Responder.publisher_cls, "publish", lambda _, payload, **kw: None)
    store = EventStore.open(f"sqlite:///{tmp_path / 'office_space.db'}", "office_space")  # personal: None
    agency = {"agency_id": "AG-2", "name": "区机关事务管理局"}  # an agency's name: no person_id beside it
    staff = {"agency_id": "AG-2", "person_id": "P-0043", "name": "诸葛青云"}
    kept = json.loads(
        _dead_lettered(store, {"args": [staff, agency], "kwargs": {}}, "office_space.post_staff")["request"]
    )
    assert "诸葛青云" not in database_text(store.engine)
    assert kept["args"] == [{**staff, "name": MASKED_TEXT}, agency]
