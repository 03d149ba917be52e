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
from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR
from nameko.rpc import RpcConsumer

from services.common.rpc import BrokerTolerantRpc, _BrokerTolerantRpcConsumer, command


class Message:
    properties = {"reply_to": "rpc.reply-gateway-1", "correlation_id": "c-1"}


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
    def broker_gone(self: Any, message: Any, result: Any, exc_info: Any) -> Any:
        raise error

    monkeypatch.setattr(RpcConsumer, "handle_result", broker_gone)
    consumer = object.__new__(_BrokerTolerantRpcConsumer)
    assert consumer.handle_result(Message(), {"id": "A1"}, None) == ({"id": "A1"}, None)


def test_other_errors_still_end_the_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    def bug(self: Any, message: Any, result: Any, exc_info: Any) -> Any:
        raise TypeError("a bug")

    monkeypatch.setattr(RpcConsumer, "handle_result", bug)
    with pytest.raises(TypeError):
        object.__new__(_BrokerTolerantRpcConsumer).handle_result(Message(), None, None)


def test_every_command_is_served_by_the_broker_tolerant_entrypoint() -> None:
    @command()
    def register(self: Any, cmd: dict[str, Any]) -> dict[str, Any]:
        return cmd

    entrypoints = getattr(register, ENTRYPOINT_EXTENSIONS_ATTR)
    assert [type(e) for e in entrypoints] == [BrokerTolerantRpc]
