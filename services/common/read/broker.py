"""Kafka plumbing (kafka-python): producers, consumers, topic admin and the message form of an envelope.

A message's key is the stream id (one aggregate's events stay on one partition, in order); its value is
the envelope as JSON; its headers repeat what consumers route and trace by without parsing the value.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from json.encoder import encode_basestring
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from services.common.base.jsontext import dumps_stored
from services.common.base.settings import settings
from services.common.kernel.events import PUBLISHED_FIELDS, Envelope

FETCH_MAX_WAIT_MS = 500
"""How long the broker holds a consumer's fetch when it has nothing to answer (the long poll; Kafka's default). It
sets two things at once: how often an idle consumer asks again (each time a request Tansu answers and a wake-up of
the consumer's IO loop: two a second per consumer, most of an idle platform's CPU), and how late a consumer sees
records under a steady load — Tansu answers a fetch then about a quarter of this after the record arrived (measured
at 100 records/s: p50 28 ms at 100, 128 ms at 500, 525 ms at 2 000), so a longer wait would cut the idle cost at
the price of the projections' freshness. A fetch leaves out the partitions whose position is still being looked up
when it is sent, and these wait for the next one: ``seek_starts`` knows every position before the first fetch."""

IDLE_POLL_MS = 2_000
"""How long a long-running consumer loop (a projector, the districts' inbound consumer) waits in ``poll()`` for
records: a poll returns as soon as records arrive, so this sets only how often an idle loop comes round (its
offsets, gauges and checks) and how late it notices a stop it is not killed for."""

KAFKA_METRICS = False
"""Why the producers and consumers are made with ``metrics_enabled=False``: kafka-python's own metrics (sensors
recorded for every request, batch and record, read only through ``.metrics()``, which nothing here calls) cost
about 15 % of a producer's CPU per message and 10 % of a consumer's (measured on Tansu, 300-byte messages: 122–135
→ 100–118 µs a message sent, 11–13 → 10–11 µs a message read). The platform's figures are its own Prometheus
metrics (``services.common.base.metrics``)."""

HEADER_KEYS = ("event_id", "event_type", "schema_version", "domain", "correlation_id", "causation_id", "district")


def make_producer(bootstrap: str, **overrides: Any) -> KafkaProducer:
    """An idempotent producer that waits for all in-sync replicas (``acks=all``).

    It never creates a topic: a send to a topic the platform has not made (``ensure_topics``) fails instead
    of making one with the broker's default partition count.
    """
    options: dict[str, Any] = {
        "bootstrap_servers": bootstrap,
        "allow_auto_create_topics": False,
        "acks": "all",
        "enable_idempotence": True,
        "linger_ms": 5,
        "batch_size": 256 * 1024,
        "max_request_size": 4 * 1024 * 1024,
        "retries": 2**31 - 1,
        "max_in_flight_requests_per_connection": 5,
        "client_id": "gov-affairs",
        "metrics_enabled": KAFKA_METRICS,
        **settings().kafka_security,
    }
    options.update(overrides)
    return KafkaProducer(**options)


def make_consumer(bootstrap: str, **overrides: Any) -> KafkaConsumer:
    """A consumer with no group: partitions are assigned explicitly and offsets kept by the caller.

    It never creates a topic (the platform makes them, with its partition count), and refreshes its metadata
    every 10 seconds, so a topic made anew or given more partitions is noticed (``services.common.read.positions``).
    An idle consumer asks the broker for records every ``FETCH_MAX_WAIT_MS``.
    """
    options: dict[str, Any] = {
        "bootstrap_servers": bootstrap,
        "allow_auto_create_topics": False,
        "metadata_max_age_ms": 10_000,
        "fetch_max_wait_ms": FETCH_MAX_WAIT_MS,
        "enable_auto_commit": False,
        "group_id": None,
        "auto_offset_reset": "earliest",
        "max_partition_fetch_bytes": 8 * 1024 * 1024,
        "fetch_max_bytes": 32 * 1024 * 1024,
        "metrics_enabled": KAFKA_METRICS,
        **settings().kafka_security,
    }
    options.update(overrides)
    return KafkaConsumer(**options)


@dataclass(frozen=True)
class TopicLog:
    """One topic as the broker has it now: its id changes when the topic is made anew (a fresh broker, a
    topic deleted and created again), which no offset can tell."""

    topic: str
    topic_id: str
    partitions: int


def describe_logs(admin: KafkaAdminClient, topics: Iterable[str]) -> dict[str, TopicLog]:
    """The topics among ``topics`` that exist, with their ids and partition counts."""
    wanted = sorted(set(topics))
    found: dict[str, TopicLog] = {}
    for meta in admin.describe_topics(wanted):
        if meta.get("error_code") or not meta.get("partitions"):
            continue
        name = str(meta["name"])
        found[name] = TopicLog(name, str(meta.get("topic_id") or ""), len(meta["partitions"]))
    return found


def make_admin(bootstrap: str, **overrides: Any) -> KafkaAdminClient:
    """An admin client of the platform (``overrides``: its timeouts, as for the producer it works beside)."""
    options = {"bootstrap_servers": bootstrap, "client_id": "gov-affairs-admin", **settings().kafka_security}
    return KafkaAdminClient(**{**options, **overrides})


def ensure_topics(
    bootstrap: str,
    topics: Iterable[str],
    partitions: int,
    replication: int | None = None,
    min_insync_replicas: int | None = None,
    admin: KafkaAdminClient | None = None,
) -> dict[str, TopicLog]:
    """Create the topics that do not exist yet (existing ones are left as they are), each with ``topic_configs``
    (a district's inbound topic with its short retention); each as it is now.

    ``admin``: a client the caller keeps and closes (a relay checks its topics every few seconds, and a new
    client each time means a new connection and metadata round each time); without it, one is made and closed.

    ``replication`` and ``min_insync_replicas`` default to ``TOPIC_REPLICATION`` and
    ``TOPIC_MIN_INSYNC_REPLICAS``; ``min.insync.replicas`` is set only on replicated topics (with
    ``acks=all`` a write is then acknowledged only once that many replicas have it).
    """
    config = settings()
    replication = config.topic_replication if replication is None else replication
    min_insync = config.topic_min_insync_replicas if min_insync_replicas is None else min_insync_replicas
    retention = config.inbound_retention_hours
    topics = list(topics)
    client = make_admin(bootstrap) if admin is None else admin
    try:
        existing = set(client.list_topics())
        missing = [
            NewTopic(t, partitions, replication, topic_configs=topic_configs(t, replication, min_insync, retention))
            for t in topics
            if t not in existing
        ]
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):
                client.create_topics(missing)
        return describe_logs(client, topics)
    finally:
        if admin is None:
            client.close()


_INBOUND_TOPIC = re.compile(r"^district\.[^.]+\.inbound$")


def topic_configs(
    topic: str, replication: int, min_insync_replicas: int, inbound_retention_hours: float
) -> dict[str, str]:
    """The configuration the platform creates ``topic`` with: ``min.insync.replicas`` when it is replicated; for a
    district's inbound topic, ``retention.ms`` of ``INBOUND_RETENTION_HOURS``, because the district sends
    personal fields there in clear (docs/personal-data.md) and the platform needs a message only until it is
    consumed. Every other topic keeps the broker's retention (``infra/KAFKA.md``: the domain topics unlimited)."""
    configs = {"min.insync.replicas": str(min_insync_replicas)} if replication > 1 else {}
    if _INBOUND_TOPIC.match(topic):
        configs["retention.ms"] = str(round(inbound_retention_hours * 3600 * 1000))
    return configs


def platform_topics(services: Iterable[str], districts: Iterable[str]) -> list[str]:
    """Every topic the platform uses: each service's events and their dead letters, each district's inbound and
    rejected messages."""
    from services.common.base.settings import topic_for
    from services.common.read.inbound import inbound_topic, rejected_topic  # it imports this module

    topics = [t for service in services for t in (topic_for(service), f"{topic_for(service)}.dlq")]
    return topics + [t for d in sorted(districts) for t in (inbound_topic(d), rejected_topic(d))]


def create_platform_topics(bootstrap: str, services: Iterable[str], districts: Iterable[str], partitions: int) -> None:
    """Make every topic of the platform with its partition count, before any service or district touches the
    broker: Tansu makes a topic a producer sends to on its own, with a partition count of its own."""
    ensure_topics(bootstrap, platform_topics(services, districts), partitions)


def require_topics(bootstrap: str, topics: Iterable[str]) -> dict[str, TopicLog]:
    """The topics as the broker has them; KafkaError naming those it lacks (a client must not make them by
    sending to them: the platform makes its topics, with their partition count)."""
    topics = sorted(set(topics))
    admin = make_admin(bootstrap)
    try:
        found = describe_logs(admin, topics)
    finally:
        admin.close()
    missing = [t for t in topics if t not in found]
    if missing:
        raise KafkaError(f"the broker has no topic {', '.join(missing)}: the platform creates it when it starts")
    return found


def seek_starts(consumer: KafkaConsumer, starts: Mapping[TopicPartition, int | None]) -> None:
    """Seek each partition to its offset, or (None) to its log's start, and wait until every position is known.

    A log's start is looked up on the broker, in the background of the next ``poll()``: a fetch sent meanwhile
    leaves that partition out, and its records would wait for the broker to answer the fetch (``FETCH_MAX_WAIT_MS``
    on a quiet log)."""
    for tp, offset in starts.items():
        if offset is not None:
            consumer.seek(tp, offset)
    settle_positions(consumer, [tp for tp, offset in starts.items() if offset is None], consumer.seek_to_beginning)


POSITION_WAIT_MS = 5_000
"""How long ``settle_positions`` waits for the broker to tell a partition's position: a broker that does not
answer by then leaves the look-up to the consumer's next ``poll()``, as without the wait, and the loop goes on."""


def settle_positions(consumer: KafkaConsumer, partitions: list[TopicPartition], seek: Any) -> None:
    """``seek(*partitions)`` (``seek_to_beginning`` or ``seek_to_end``), then wait until the broker told every
    partition's position (``seek_starts`` says why), ``POSITION_WAIT_MS`` at most in all."""
    if not partitions:
        return
    seek(*partitions)
    deadline = time.monotonic() + POSITION_WAIT_MS / 1000
    for tp in partitions:
        left_ms = int((deadline - time.monotonic()) * 1000)
        if left_ms <= 0 or consumer.position(tp, timeout_ms=left_ms) is None:
            return


def in_partition_order(polled: Mapping[TopicPartition, list[Any]]) -> list[Any]:
    """The records of one ``poll()`` in topic and partition order (each partition's in offset order)."""
    return [r for tp in sorted(polled, key=lambda p: (p.topic, p.partition)) for r in polled[tp]]


def partitions_of(consumer: KafkaConsumer, topic: str, timeout: float = 10.0) -> list[TopicPartition]:
    """The partitions of ``topic`` (waiting for metadata up to ``timeout`` seconds)."""
    deadline = time.monotonic() + timeout
    while True:
        found = consumer.partitions_for_topic(topic)
        if found:
            return [TopicPartition(topic, p) for p in sorted(found)]
        if time.monotonic() > deadline:
            raise KafkaError(f"topic {topic} has no partitions (does it exist?)")
        time.sleep(0.1)


def unreachable_reason(bootstrap: str, timeout: float = 1.0) -> str | None:
    """None when a bootstrap server accepts a TCP connection; otherwise why none did."""
    failures = []
    for server in bootstrap.split(","):
        host, _, port = server.strip().rpartition(":")
        try:
            with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
                return None
        except (OSError, ValueError) as exc:
            failures.append(f"{server.strip()} ({exc})")
    return "; ".join(failures) or "no bootstrap servers configured"


def reachable(bootstrap: str, timeout: float = 1.0) -> bool:
    """Whether any bootstrap server accepts a TCP connection (a cheap health check)."""
    return unreachable_reason(bootstrap, timeout) is None


def envelope_message(env: Envelope) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    """(key, value, headers) of the Kafka message carrying ``env``."""
    data = env.to_dict()
    headers = [(k, str(data[k]).encode()) for k in HEADER_KEYS if data.get(k) is not None]
    return env.stream_id.encode(), dumps_stored(data).encode(), headers


_STORED_FIELDS = tuple(
    (name, ("{" if i == 0 else ",") + json.dumps(name) + ":")
    for i, name in enumerate(name for name in PUBLISHED_FIELDS if name != "payload")
)
"""Each published field but the payload, with the JSON text before its value (``{"event_id":``, ``,"domain":``)."""


def _json_value(value: Any) -> str:
    """``value`` as ``jsontext.dumps_stored`` writes it (a text, ``None`` or an integer without its call)."""
    kind = type(value)
    if kind is str:
        return encode_basestring(value)
    if value is None:
        return "null"
    if kind is int:
        return str(value)
    return dumps_stored(value)


def stored_message(row: Mapping[str, Any]) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    """(key, value, headers) of the Kafka message carrying a stored event row (``EventStore.read_stored``):
    the same message as ``envelope_message`` gives, with the stored payload text spliced in unparsed.

    The relay sends every event through here: the envelope's JSON is written field by field (the C string
    encoder per value) rather than by ``json.dumps`` of a dict made per event, half the cost, same bytes."""
    parts = [prefix + _json_value(row[name]) for name, prefix in _STORED_FIELDS]
    value = "".join(parts) + ',"payload":' + row["payload"] + "}"
    headers = [(k, str(row[k]).encode()) for k in HEADER_KEYS if row[k] is not None]
    return str(row["stream_id"]).encode(), value.encode(), headers


def header(headers: list[tuple[str, bytes]] | None, name: str) -> str | None:
    """The value of header ``name`` (None when absent)."""
    for key, value in headers or ():
        if key == name:
            return value.decode(errors="replace")
    return None
