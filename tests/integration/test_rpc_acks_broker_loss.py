"""A RabbitMQ that closes a connection while a message of it is acknowledged costs the acknowledgement, not the
process: nameko let the socket's error escape the thread handling the message, which kills the container (a
RabbitMQ restart under load killed the gateway, tests/faults/test_rabbitmq_restart.py)."""

from __future__ import annotations

import inspect
import socket
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from kombu import Connection, Exchange, Queue
from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR, Extension, is_extension
from nameko.messaging import QueueConsumer

from services.common.base.settings import SERVICES
from services.common.runtime.rpc import BrokerTolerantQueueConsumer
from services.common.runtime.runner import service_class

pytestmark = [pytest.mark.broker]


@pytest.fixture
def queue(amqp_uri: str) -> Iterator[Queue]:
    name = f"gov_test_acks_{uuid.uuid4().hex[:8]}"
    declared = Queue(name, Exchange(name, type="direct"), routing_key=name)
    with Connection(amqp_uri) as conn:
        declared(conn.default_channel).declare()
        conn.Producer().publish({"answer": 1}, exchange=declared.exchange, routing_key=name, serializer="json")
    yield declared
    with Connection(amqp_uri) as conn:
        declared(conn.default_channel).delete()


def _received_on_a_connection_then_cut(amqp_uri: str, queue: Queue) -> tuple[Connection, Any]:
    """A message delivered (not acknowledged) on a connection whose socket is then cut, as RabbitMQ's restart
    cuts it: the next write on it fails with the socket's own error."""
    conn = Connection(amqp_uri)
    message = queue(conn.default_channel).get(no_ack=False)
    assert message is not None and message.payload == {"answer": 1}
    conn.connection.sock.shutdown(socket.SHUT_RDWR)
    return conn, message


def test_nameko_lets_the_sockets_error_of_an_acknowledgement_escape(amqp_uri: str, queue: Queue) -> None:
    """What the tolerant consumer is for: without it, this error ends the thread and kills the container."""
    conn, message = _received_on_a_connection_then_cut(amqp_uri, queue)
    try:
        with pytest.raises(OSError):
            QueueConsumer().ack_message(message)
    finally:
        conn.release()


@pytest.mark.parametrize("give_back", ["ack_message", "requeue_message"])
def test_an_acknowledgement_the_broker_cannot_take_is_given_up_and_the_message_delivered_again(
    amqp_uri: str, queue: Queue, give_back: str
) -> None:
    conn, message = _received_on_a_connection_then_cut(amqp_uri, queue)
    try:
        getattr(BrokerTolerantQueueConsumer(), give_back)(message)  # returns: the thread goes on
    finally:
        conn.release()
    with Connection(amqp_uri) as again:
        redelivered = queue(again.default_channel).get(no_ack=True)
    assert redelivered is not None and redelivered.payload == {"answer": 1}
    assert redelivered.delivery_info["redelivered"] is True


def _queue_consumers(extension: Extension) -> Iterator[Extension]:
    """Every ``QueueConsumer`` an extension stands on, however deep."""
    if isinstance(extension, QueueConsumer):
        yield extension
    for _, nested in inspect.getmembers(extension, is_extension):
        yield from _queue_consumers(nested)


@pytest.mark.parametrize("service", [*SERVICES, "gateway"])
def test_every_rpc_queue_of_every_process_is_consumed_by_the_tolerant_consumer(service: str) -> None:
    """Requests (a service's ``@command``) and answers (the gateway's proxies) alike: a proxy made without
    ``rpc_proxy`` or an entrypoint without ``command`` would bring nameko's own consumer back."""
    cls = service_class(service)
    extensions = [value for _, value in inspect.getmembers(cls, is_extension)]
    extensions += [
        e for _, method in inspect.getmembers(cls, callable) for e in getattr(method, ENTRYPOINT_EXTENSIONS_ATTR, ())
    ]
    consumers = [consumer for extension in extensions for consumer in _queue_consumers(extension)]
    assert consumers, f"{service} consumes no RPC queue"
    assert {type(consumer) for consumer in consumers} == {BrokerTolerantQueueConsumer}
