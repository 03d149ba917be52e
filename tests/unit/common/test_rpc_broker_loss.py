"""A RabbitMQ that goes away while a service answers costs the answer, not the service.

nameko ended the worker with the error of sending the answer (or acknowledging the request), which kills
the whole service container: a RabbitMQ restart under load took the office-space service down for good
(tests/faults/test_rabbitmq_restart.py).
"""

from __future__ import annotations

from typing import Any

import pytest
from amqp.exceptions import RecoverableConnectionError
from kombu.exceptions import OperationalError
from nameko.constants import AMQP_URI_CONFIG_KEY
from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR

from services.common.runtime.rpc import BrokerTolerantRpc, _BrokerTolerantRpcConsumer, _Responder, command


class Message:
    properties = {"reply_to": "rpc.reply-gateway-1", "correlation_id": "c-1"}


class Container:
    config = {AMQP_URI_CONFIG_KEY: "amqp://guest:guest@127.0.0.1:5672/"}


def _consumer() -> _BrokerTolerantRpcConsumer:
    consumer: _BrokerTolerantRpcConsumer = object.__new__(_BrokerTolerantRpcConsumer)
    consumer.container = Container()
    return consumer


@pytest.mark.parametrize(
    "error",
    [
        ConnectionResetError(104, "Connection reset by peer"),
        OperationalError("ECONNREFUSED"),
        RecoverableConnectionError(),
    ],
)
def test_an_answer_the_broker_cannot_take_is_given_up_and_the_worker_ends_normally(
    monkeypatch: pytest.MonkeyPatch, error: Exception
) -> None:
    def broker_gone(self: Any, result: Any, exc_info: Any) -> Any:
        raise error

    monkeypatch.setattr(_Responder, "send_response", broker_gone)
    assert _consumer().handle_result(Message(), {"id": "A1"}, None) == ({"id": "A1"}, None)


def test_any_other_failure_to_answer_is_contained_and_the_request_acknowledged(monkeypatch: pytest.MonkeyPatch) -> None:
    """An answer RabbitMQ refuses (or a bug in sending it) used to end the worker and kill the service, and the
    request, left unacknowledged, killed every restart again: now it is logged and the request acknowledged."""

    def bug(self: Any, result: Any, exc_info: Any) -> Any:
        raise TypeError("a bug")

    monkeypatch.setattr(_Responder, "send_response", bug)
    acked: list[Any] = []
    consumer = _consumer()
    consumer.queue_consumer = type("Queue", (), {"ack_message": staticmethod(acked.append)})()
    message = Message()
    assert consumer.handle_result(message, {"id": "A1"}, None) == ({"id": "A1"}, None)
    assert acked == [message]


def test_an_answer_is_sent_without_waiting_for_a_publisher_confirm(monkeypatch: pytest.MonkeyPatch) -> None:
    """A lost answer is given up anyway: waiting for RabbitMQ's confirm would only add a round trip."""
    sent: list[dict[str, Any]] = []

    def publish(publisher: Any, payload: Any, **kwargs: Any) -> None:
        sent.append({"payload": payload, "confirms": publisher.use_confirms, **kwargs})

    monkeypatch.setattr(_Responder.publisher_cls, "publish", publish)
    acked: list[Any] = []
    consumer = _consumer()
    consumer.queue_consumer = type("Queue", (), {"ack_message": staticmethod(acked.append)})()
    message = Message()
    message.properties = {**Message.properties, "content_type": "application/json"}
    assert consumer.handle_result(message, {"id": "A1"}, None) == ({"id": "A1"}, None)
    assert [(s["confirms"], s["routing_key"], s["payload"]["result"]) for s in sent] == [
        (False, "rpc.reply-gateway-1", {"id": "A1"})
    ]
    assert acked == [message]


def test_every_command_is_served_by_the_broker_tolerant_entrypoint() -> None:
    @command()
    def register(self: Any, cmd: dict[str, Any]) -> dict[str, Any]:
        return cmd

    entrypoints = getattr(register, ENTRYPOINT_EXTENSIONS_ATTR)
    assert [type(e) for e in entrypoints] == [BrokerTolerantRpc]
