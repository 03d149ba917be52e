"""District inbound messages: a nameko entrypoint that consumes ``district.<code>.inbound`` topics.

District administrations' own systems send messages (meter-reading batches, fuel records, GPS batches,
staff changes, ...) to their district's topic. Each message is a JSON object::

    {"message_id": "...", "message_type": "energy.meter_readings", "schema_version": 1,
     "district": "320402", "sent_at": "2026-11-23T08:00:00+08:00", "payload": {...}}

described by ``contracts/inbound/message.v1.json``, its payload by
``contracts/inbound/<message_type>.v<N>.json``. The entrypoint checks size, JSON, envelope and that the
message's district is the topic's, then runs the decorated service method in a nameko worker whose
context carries ``actor=district:<code>``, ``scope_district=<code>`` (the owning service refuses to
touch another district's aggregates) and ``idempotency_key=district:<code>:<message_id>`` (a message
delivered twice is recorded once). A refused message goes to ``district.<code>.rejected`` with its
reason; the consumer goes on. Offsets are stored in the service's database after each batch, and only
after every message of the batch was either handled or rejected: a message whose handling failed for a
passing reason (a service down, a timeout) is tried again, never lost.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from eventlet.event import Event
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord
from nameko.exceptions import UnknownService
from nameko.extensions import Entrypoint

from services.common.base import contracts, personal
from services.common.base.backoff import PutAside
from services.common.base.db import create_db_engine, migrate, store_failed
from services.common.base.log import bind_context, get_logger
from services.common.base.memory import reading
from services.common.base.metrics import DEAD_LETTERED, EVENTS_PROJECTED
from services.common.base.settings import settings
from services.common.kernel.clock import iso, utc_now
from services.common.kernel.decoding import decode_json, scrub_text
from services.common.kernel.errors import (
    BadRequest,
    ContractViolation,
    PayloadTooLarge,
    PlatformError,
    ServiceUnavailable,
    ValidationFailed,
    short_reason,
    with_bounded_reasons,
)
from services.common.read.broker import (
    IDLE_POLL_MS,
    TopicLog,
    ensure_topics,
    in_partition_order,
    make_consumer,
    make_producer,
    seek_starts,
)
from services.common.read.projector import follow_logs, logs_moved, offsets_table

log = get_logger()

MAX_MESSAGE_BYTES = 4 * 1024 * 1024
"""Largest inbound message accepted (4 MiB, the producer's default request limit here)."""

CONSUMER_NAME = "district-inbound"
LOG_CHECK_SECONDS = 5.0
"""How often the running consumer compares its assignment and positions with the broker's logs."""


def inbound_topic(district: str) -> str:
    """Where a district's systems send their messages."""
    return f"district.{district}.inbound"


def rejected_topic(district: str) -> str:
    """Where the platform answers a district's refused messages, with reasons."""
    return f"district.{district}.rejected"


@dataclass(frozen=True)
class InboundMessage:
    """A district's message, checked against its envelope contract."""

    message_id: str
    message_type: str
    schema_version: int
    district: str
    sent_at: str
    payload: dict[str, Any]
    source: str

    @property
    def idempotency_key(self) -> str:
        """The key under which the owning service records the message once."""
        return f"district:{self.district}:{self.message_id}"


class Rejected(Exception):
    """An inbound message refused with a code, a message and field reasons."""

    def __init__(
        self,
        code: str,
        message: str,
        fields: dict[str, Any] | None = None,
        about: dict[str, Any] | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        kept, noted = with_bounded_reasons(fields, details)  # a rejection must fit its topic, whatever was sent
        self.code, self.message, self.fields = code, short_reason(message), kept
        self.details: dict[str, Any] = noted
        """The owning service's figures (a budget's remaining amount, a standard's area …)."""
        self.about = about or {}
        """What could be read of the refused message (its id and type), to tell the district which one."""


MAX_REJECTION_BYTES = 256 * 1024
"""The largest rejection sent to a district's rejected topic: far below what the topic takes (a rejection the
producer refused failed the consumer's round, and the next round met the same message again, for ever)."""

DEFER_FIRST_SECONDS = 1.0
"""How long a district's partition waits after a message of it was deferred (a passing failure) before it is read
again, and how long its kind of message is put aside at first."""

DEFER_MOST_SECONDS = 30.0
"""The longest a kind of message is put aside after its failures in a row (the wait doubles from the first)."""


class Deferrals:
    """What the districts' consumer puts aside after a passing failure, so that one service's outage costs the
    other districts' streams and the other kinds of message nothing.

    A deferred message's partition is paused (its position kept at the message) until it is due again; the other
    partitions are read on at once. Its kind (``message_type``: one owning service's command) is put aside too,
    for ``DEFER_FIRST_SECONDS`` at first and twice as long after each failure in a row, up to
    ``DEFER_MOST_SECONDS``: meanwhile a message of that kind in any partition is deferred without being tried, so a
    service that is frozen (each try waiting out the RPC timeout) is tried once per wait, not once per message;
    the first message of the kind handled after the wait ends it."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._kinds = PutAside(DEFER_FIRST_SECONDS, DEFER_MOST_SECONDS, clock)
        """Each kind put aside, until when."""
        self._paused: dict[TopicPartition, float] = {}
        """Each paused partition: when it is read again."""

    def kind_waits(self, message_type: str) -> float | None:
        """Until when ``message_type`` is put aside (a monotonic time), or None when it may be tried."""
        return self._kinds.until(message_type)

    def kind_failed(self, message_type: str) -> float:
        """A message of ``message_type`` was deferred after trying it: put the kind aside; until when."""
        return self._kinds.failed(message_type)

    def kind_done(self, message_type: str) -> None:
        """A message of ``message_type`` was handled (or refused for itself): its kind is tried again at once."""
        self._kinds.answered(message_type)

    def pause(self, partition: TopicPartition, until: float) -> None:
        """``partition`` is read again at ``until`` (at least ``DEFER_FIRST_SECONDS`` from now)."""
        self._paused[partition] = max(until, self._clock() + DEFER_FIRST_SECONDS)

    def due(self) -> list[TopicPartition]:
        """The paused partitions to read again now (no longer counted as paused)."""
        now = self._clock()
        found = [tp for tp, until in self._paused.items() if until <= now]
        for tp in found:
            del self._paused[tp]
        return found

    def poll_ms(self, idle_ms: int) -> int:
        """How long the next poll may wait for records: ``idle_ms``, or less when a paused partition is due sooner."""
        if not self._paused:
            return idle_ms
        soonest = min(self._paused.values()) - self._clock()
        return max(0, min(idle_ms, int(soonest * 1000) + 1))

    def partitions_reset(self) -> None:
        """The consumer was assigned anew (every partition read from its stored offset, none paused)."""
        self._paused.clear()


def read_message(record: ConsumerRecord, topic_district: str) -> InboundMessage:
    """The message in ``record``, or Rejected saying why it cannot be read.

    Whatever the bytes are, the answer is a message or a ``Rejected``: the value is decoded safely
    (``services.common.kernel.decoding``: size, UTF-8, depth, finite numbers, no control characters or lone
    surrogates) and any other failure of reading it is a rejection too, never an error that would stop the
    consumer.
    """
    source = f"{record.topic}:{record.partition}:{record.offset}"
    if record.value is None:
        raise Rejected("malformed_json", "the message has no value")
    try:
        with reading(len(record.value)):
            data = decode_json(record.value, max_bytes=MAX_MESSAGE_BYTES, what="_message")
    except PayloadTooLarge:
        raise Rejected("too_large", f"messages are limited to {MAX_MESSAGE_BYTES} bytes") from None
    except BadRequest as exc:
        raise Rejected("malformed_json", exc.message, exc.fields, details=exc.details) from None
    except ValidationFailed as exc:
        raise Rejected("invalid_text", exc.message, exc.fields, details=exc.details) from None
    about = {k: data.get(k) for k in ("message_id", "message_type")} if isinstance(data, dict) else {}
    about = {k: v if isinstance(v, str) else None for k, v in about.items()}
    try:
        contracts.validate_inbound_envelope(data)
    except ContractViolation as exc:
        raise Rejected("invalid_message", exc.message, exc.fields, about, exc.details) from None
    if data["district"] != topic_district:
        raise Rejected(
            "wrong_district",
            f"district {data['district']} may not send to {record.topic}",
            {"district": [f"must be {topic_district}"]},
            about,
        )
    return InboundMessage(
        **{k: data[k] for k in ("message_id", "message_type", "schema_version", "district", "sent_at", "payload")},
        source=source,
    )


class DistrictInbound(Entrypoint):  # type: ignore[misc]
    """Entrypoint: call the decorated method once per inbound message of every district of the city."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("expected_exceptions", (Rejected,))
        super().__init__(**kwargs)

    def setup(self) -> None:
        config = settings()
        self.districts = sorted(config.districts)
        self.stop_event = threading.Event()
        self.engine = create_db_engine(config.database_url(self.container.service_name))
        migrate(self.engine, "projector")
        self._producer: KafkaProducer | None = None
        self._logs: dict[str, TopicLog] = {}
        self._assigned: list[TopicPartition] = []
        self._checked_at = 0.0
        self._deferrals = Deferrals()

    def start(self) -> None:
        self.container.spawn_managed_thread(self._run, identifier="district-inbound")

    def stop(self) -> None:
        self.stop_event.set()
        super().stop()

    # -- the loop ------------------------------------------------------------------------------------

    def _run(self) -> None:
        # Everything that talks to Kafka is inside the loop's ``try``: a broker that is down when the service
        # starts, or goes away later, costs a retry a second, never the thread (whose death would stop the
        # whole service, nameko killing a container whose managed thread raised).
        consumer: KafkaConsumer | None = None
        assigned = False
        while not self.stop_event.is_set():
            try:
                if consumer is None:
                    consumer = self._connect()
                if not assigned:
                    self._assign(consumer)
                    assigned = True
                elif self._logs_moved(consumer):
                    self._assign(consumer)
                self._round(consumer)
            except Exception:  # the city's districts must not lose their consumer to one bad moment
                log.exception("district_inbound_round_failed")
                assigned = False  # re-read from the stored offsets
                self.stop_event.wait(1.0)
        self._close(consumer)

    def _round(self, consumer: KafkaConsumer) -> None:
        """One poll's records handled or rejected; a partition whose message was deferred is paused at that
        message until it is due (``Deferrals``), while the others are read on."""
        for partition in self._deferrals.due():
            if partition in consumer.assignment():
                consumer.resume(partition)
        batch = consumer.poll(timeout_ms=self._deferrals.poll_ms(IDLE_POLL_MS), max_records=200)
        records = in_partition_order(batch)
        if not records:
            return
        for (topic, number), (offset, until) in self._handle_batch(records).items():
            partition = TopicPartition(topic, number)
            consumer.seek(partition, offset)
            consumer.pause(partition)
            self._deferrals.pause(partition, until)

    def _close(self, consumer: KafkaConsumer | None) -> None:
        """Let go of the broker's connections as the service stops (rejections not yet sent are flushed)."""
        try:
            if consumer is not None:
                consumer.close()
            if self._producer is not None:
                self._producer.close(timeout=5)
        except Exception:  # the broker is gone: nothing more can be sent to it
            log.warning("district_inbound_close_failed")

    def _connect(self) -> KafkaConsumer:
        """The districts' topics made sure of, the producer of rejections (made once), and the consumer."""
        config = settings()
        topics = [t for d in self.districts for t in (inbound_topic(d), rejected_topic(d))]
        self._logs = ensure_topics(config.kafka_bootstrap, topics, config.topic_partitions)
        if self._producer is None:  # kept across retries: one that failed to make a consumer leaves none behind
            self._producer = make_producer(config.kafka_bootstrap)
        consumer = make_consumer(config.kafka_bootstrap, client_id=f"{self.container.service_name}-inbound")
        log.info("district_inbound_started", districts=len(self.districts))
        return consumer

    @property
    def producer(self) -> KafkaProducer:
        """The producer of rejections (made with the first connection)."""
        assert self._producer is not None, "the district consumer sends only once connected"
        return self._producer

    def _assign(self, consumer: KafkaConsumer) -> None:
        """Assign every partition of the districts' topics, each read from a stored offset only when that offset
        is on the same log (topic id) and within it (``projector.follow_logs``): after a fresh broker, a
        district's first messages on the new log are read, not skipped."""
        config = settings()
        topics = [t for d in self.districts for t in (inbound_topic(d), rejected_topic(d))]
        self._logs = ensure_topics(config.kafka_bootstrap, topics, config.topic_partitions)
        partitions = [
            TopicPartition(inbound_topic(d), p)
            for d in self.districts
            for p in range(self._logs[inbound_topic(d)].partitions)
        ]
        consumer.assign(partitions)
        self._assigned = partitions
        self._deferrals.partitions_reset()
        starts = follow_logs(self.engine, CONSUMER_NAME, self.container.service_name, consumer, partitions, self._logs)
        seek_starts(consumer, {tp: starts.get(tp) for tp in partitions})
        self._checked_at = time.monotonic()

    def _logs_moved(self, consumer: KafkaConsumer) -> bool:
        """Every few seconds: whether a topic was made anew or got more partitions (then the partitions are
        assigned again from checked positions)."""
        if time.monotonic() - self._checked_at < LOG_CHECK_SECONDS:
            return False
        self._checked_at = time.monotonic()
        moved = logs_moved(consumer, {tp.topic: self._logs[tp.topic] for tp in self._assigned})
        if moved:
            log.warning("district_inbound_logs_moved", reason=moved)
        return moved is not None

    def _handle_batch(self, records: list[ConsumerRecord]) -> dict[tuple[str, int], tuple[int, float]]:
        """Handle or reject every record; per partition holding a deferred one (a passing failure), its offset and
        when to try it again.

        A deferred record holds up its own partition only (the partition's later records of the batch are
        left for a later round, its offset stays at the deferred one); the other districts' records are
        handled and their offsets stored, so one district's outage never stops another's stream.
        """
        done: dict[tuple[str, int], int] = {}
        held: dict[tuple[str, int], tuple[int, float]] = {}
        for record in records:
            partition = (record.topic, record.partition)
            if partition in held:
                continue
            again = self._handle(record)
            if again is not None:
                held[partition] = (record.offset, again)
                continue
            done[partition] = record.offset + 1
        self.producer.flush()
        self._store_offsets(done)
        return held

    def _handle(self, record: ConsumerRecord) -> float | None:
        """Handle or reject one record (None), or defer it after a passing failure: when to try it again.

        Every failure but a passing one (``as_rejection``) rejects the record with its reason, including a
        failure of this method's own steps, so no record can stop the consumer. A record of a kind put aside
        (``Deferrals``) is deferred without being tried.
        """
        district = record.topic.split(".")[1]
        message: InboundMessage | None = None
        try:
            message = read_message(record, district)
            aside = self._deferrals.kind_waits(message.message_type)
            if aside is not None:
                return aside
            with bind_context(correlation_id=message.message_id, district=district):
                result, error = self._run_worker(message)
                refusal = None if error is None else as_rejection(error)
                if refusal is not None and not isinstance(refusal, Rejected):
                    log.warning("district_message_deferred", message_type=message.message_type, error=repr(error)[:300])
                    return self._deferrals.kind_failed(message.message_type)
                self._deferrals.kind_done(message.message_type)  # its service answered: its kind is tried at once
                if refusal is not None:
                    self._reject(record, district, message, refusal)
                    return None
                EVENTS_PROJECTED.labels(self.container.service_name, CONSUMER_NAME).inc()
                log.info("district_message_handled", message_type=message.message_type, result=_short(result))
                partly = partly_refused(result)
                if partly is not None:  # a batch accepted in part: the district hears of the items refused
                    self._reject(record, district, message, partly)
                return None
        except Rejected as refusal:
            self._reject(record, district, message, refusal)
            return None
        except Exception as error:  # a failure of reading or answering the record: it is rejected, not retried
            log.exception("district_message_failed", source=f"{record.topic}:{record.partition}:{record.offset}")
            self._reject(
                record, district, message, Rejected("processing_failed", f"{type(error).__name__}: {error}"[:500])
            )
            return None

    def _run_worker(self, message: InboundMessage) -> tuple[Any, Exception | None]:
        finished: Event = Event()

        def handle_result(worker_ctx: Any, result: Any, exc_info: Any) -> tuple[Any, Any]:
            finished.send((result, exc_info[1] if exc_info else None))
            return result, exc_info

        context = {
            "actor": f"district:{message.district}",
            "correlation_id": message.message_id,
            "idempotency_key": message.idempotency_key,
            "scope_district": message.district,
        }
        self.container.spawn_worker(self, (message,), {}, context_data=context, handle_result=handle_result)
        result, error = finished.wait()
        return result, error

    def _reject(self, record: ConsumerRecord, district: str, message: InboundMessage | None, refusal: Rejected) -> None:
        about = {"message_id": message.message_id, "message_type": message.message_type} if message else refusal.about
        body = {
            "message_id": about.get("message_id"),
            "message_type": about.get("message_type"),
            "district": district,
            "reason": refusal.code,
            "message": refusal.message,
            "fields": refusal.fields,
            **({"details": refusal.details} if refusal.details else {}),
            "source": f"{record.topic}:{record.partition}:{record.offset}",
            "rejected_at": iso(utc_now()),
        }
        # the reasons may quote the message (a name too long, a GPS point out of range): the rejected topic is
        # kept 90 days, so the text of the payload's clear personal values is withheld from them
        body = personal.redact_text(body, personal.clear_personal_values(_quietly_read(record)))
        value = scrub_text(json.dumps(body, ensure_ascii=False, default=str)).encode()
        if len(value) > MAX_REJECTION_BYTES:  # the reasons are bounded; the service's figures may still be many
            body = {**body, "details": {"omitted": f"{len(value)} bytes"}}
            value = scrub_text(json.dumps(body, ensure_ascii=False, default=str)).encode()
        self.producer.send(rejected_topic(district), key=record.key, value=value)
        DEAD_LETTERED.labels(self.container.service_name, record.topic, refusal.code).inc()
        log.info(
            "district_message_rejected",
            reason=refusal.code,
            detail=scrub_text(str(body["message"])[:300]),
            source=body["source"],
        )

    def _store_offsets(self, done: dict[tuple[str, int], int]) -> None:
        if not done:
            return
        now = iso(utc_now())
        t = offsets_table
        with self.engine.begin() as conn:
            for (topic, partition), next_offset in done.items():
                key = (t.c.projector == CONSUMER_NAME) & (t.c.topic == topic) & (t.c.partition == partition)
                values = {"next_offset": next_offset, "updated_at": now}
                if not conn.execute(t.update().where(key).values(**values)).rowcount:
                    conn.execute(
                        t.insert(), {"projector": CONSUMER_NAME, "topic": topic, "partition": partition, **values}
                    )


def _quietly_read(record: ConsumerRecord) -> Any:
    """The JSON of a record's value, or None when it has none (too large, not JSON): what a rejection's reasons
    could quote of it."""
    if record.value is None or len(record.value) > MAX_MESSAGE_BYTES:
        return None
    try:
        return json.loads(record.value)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None


def partly_refused(result: Any) -> Rejected | None:
    """The refusal to report for a batch message the service accepted in part: its answer counts
    ``rejected`` items and lists them in ``rejections`` (``meter_id``, ``position``, ``reason``, ``message``);
    None when nothing was refused."""
    if not isinstance(result, dict) or not result.get("rejected"):
        return None
    fields: dict[str, list[str]] = {}
    for item in result.get("rejections", []):
        where = f"readings.{item.get('meter_id')}.{item.get('position')}"
        fields.setdefault(where, []).append(f"{item.get('reason')}: {item.get('message')}")
    listed = "" if not result.get("rejections_truncated") else " (the first of them listed)"
    return Rejected(
        "partly_rejected",
        f"{result['rejected']} items of the message were refused, the rest recorded{listed}",
        fields,
    )


def _short(value: Any) -> Any:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return value if len(text) < 300 else text[:300]


district_inbound: Callable[..., Any] = DistrictInbound.decorator
"""Decorate a service method ``(self, message: InboundMessage)``; raise ``Rejected`` to refuse a message."""


def as_rejection(error: Exception) -> Exception:
    """A handler's failure as a rejection; a passing one (a service down or slow, its store failing) stays, to be
    tried again.

    A message the owning service refused (a rule, a validation, a scope) or failed on is rejected with the
    service's code and reasons, so one poison message never stalls its district's partition. A failure of the
    service's store is no fault of the message: rejected, the district would have to send it again by hand
    (the fault campaign's ``fill_disk`` rejected every message of its few seconds); tried again, under the
    message's idempotency key, it is done once when the store has room. Nor is a 503 the owning service
    answered (its database failed before anything was stored, the message reached it after its deadline).
    """
    if isinstance(error, UnknownService) or store_failed(error):
        return error
    if getattr(error, "http_status", None) == ServiceUnavailable.http_status:
        return error  # 503, here or from the owning service (a ServiceError): not done, to be asked again
    if isinstance(error, Rejected):
        return error
    if isinstance(error, PlatformError):
        return Rejected(error.code, error.message, error.fields, details=error.details)
    code = getattr(error, "code", None)
    if code:  # a ServiceError from the owning service
        message, fields = getattr(error, "message", str(error)), getattr(error, "fields", {})
        return Rejected(code, message, fields, details=getattr(error, "details", {}))
    return Rejected("processing_failed", f"{type(error).__name__}: {error}"[:500])
