"""Every event the relay publishes is a CloudEvent in Kafka binary mode, as the CloudEvents SDK reads it."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from pathlib import Path

from cloudevents.v1.kafka import KafkaMessage, from_binary

from services.common.read.broker import ensure_topics, make_producer
from services.common.runtime.relay import OutboxRelay
from services.common.write.store import EventStore
from tests.support import meta, new_agency, read_topic


def test_the_sdk_reads_every_published_event_as_a_cloudevent_of_its_envelope(tmp_path: Path, tansu: str) -> None:
    store = EventStore.open(f"sqlite:///{tmp_path / 's.db'}", "office_space")
    for i in range(3):
        store.save(new_agency(f"A{i}"), meta())
    topic = f"cetest.{uuid.uuid4().hex[:8]}"
    ensure_topics(tansu, [topic], 1)
    relay = OutboxRelay(store, make_producer(tansu), topic, 100)
    while relay.publish_once():
        pass
    records = read_topic(tansu, topic)
    stored = {e.event_id: e for e in store.read_all()}
    assert len(records) == len(stored) == 3
    for record in records:
        headers = {name: value for name, value in record.headers}
        event = from_binary(KafkaMessage(headers=headers, key=record.key, value=record.value))
        envelope = stored[event["id"]]
        assert event["specversion"] == "1.0"
        assert event["source"] == f"/office_space/{envelope.stream_type}"
        assert event["type"] == f"cn.gov.offices.office_space.{envelope.event_type}.v{envelope.schema_version}"
        assert event["subject"] == envelope.stream_id == record.key.decode()
        assert datetime.fromisoformat(str(event["time"])) == datetime.fromisoformat(envelope.occurred_at)
        assert event["datacontenttype"] == "application/json"
        # the data is the envelope the existing consumers read, unchanged, and their headers are still there
        data = event.get_data() if hasattr(event, "get_data") else event.data
        assert (data if isinstance(data, dict) else json.loads(data))["event_id"] == envelope.event_id
        assert headers["event_id"].decode() == envelope.event_id
