"""A request whose service died handling it is handled again a bounded number of times, then dead-lettered:
kept in the store, answered with a reason, acknowledged, so it cannot kill its service on every restart."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from nameko.constants import AMQP_URI_CONFIG_KEY
from sqlalchemy.exc import OperationalError as StoreFailed

from services.common.runtime.dependencies import StoreProvider
from services.common.runtime.rpc import MAX_REDELIVERIES, _BrokerTolerantRpcConsumer, _Responder
from services.common.write.store import EventStore


class Message:
    def __init__(self, redelivered: bool) -> None:
        self.properties = {
            "reply_to": "rpc.reply-gateway-1",
            "correlation_id": "c-poison",
            "content_type": "application/json",
        }
        self.delivery_info = {"routing_key": "office_space.register_agency", "redelivered": redelivered}


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
