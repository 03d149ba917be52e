"""Publishing finds kombu's producer pool with a key made once per connection settings, not once per message
(``services.common.runtime.rpc.keep_producer_pool_keys``): the same pool nameko's own lookup finds, and the
messages arrive. On the machine's RabbitMQ, on a virtual host of the session's own."""

from __future__ import annotations

import uuid

import nameko.amqp.publish
import pytest
from kombu import Connection, Exchange, Queue
from kombu.pools import producers
from nameko.amqp.publish import Publisher
from nameko.constants import DEFAULT_TRANSPORT_OPTIONS

from services.common.runtime import rpc


def test_every_publisher_of_the_process_finds_its_pool_with_a_kept_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(nameko.amqp.publish, "get_producer", nameko.amqp.publish.get_producer)
    rpc.keep_producer_pool_keys()
    assert nameko.amqp.publish.get_producer is rpc._pooled_producer  # undone by monkeypatch after the test


def test_messages_go_through_the_pool_nameko_would_use_and_arrive(
    amqp_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(nameko.amqp.publish, "get_producer", rpc._pooled_producer)
    monkeypatch.setattr(rpc, "_PRODUCER_POOL_KEYS", {})
    exchange = Exchange(f"test-pool-keys-{uuid.uuid4().hex[:8]}", type="direct", auto_delete=True)
    queue = Queue(exchange.name, exchange=exchange, routing_key="k", auto_delete=True)
    with Connection(amqp_uri) as conn:
        queue(conn.default_channel).declare()
        publisher = Publisher(amqp_uri, exchange=exchange, routing_key="k", serializer="json")
        for n in range(3):
            publisher.publish({"n": n})
        assert len(rpc._PRODUCER_POOL_KEYS) == 1  # three messages, one key
        key = next(iter(rpc._PRODUCER_POOL_KEYS.values()))
        as_nameko_makes_it = Connection(
            amqp_uri, transport_options={**DEFAULT_TRANSPORT_OPTIONS, "confirm_publish": True}
        )
        assert producers[key] is producers[as_nameko_makes_it]  # the same pool, so the same connections
        arrived = []
        for _ in range(3):
            message = queue(conn.default_channel).get(no_ack=True)
            assert message is not None
            arrived.append(message.payload["n"])
    assert arrived == [0, 1, 2]
