"""Kafka → projections, exactly once in effect.

A ``Projector`` reads its topics with explicit partition assignment (no consumer group: several group
members do not split partitions reliably on Tansu) and applies every message to its ``Projection``s.
The offsets it has consumed are stored in the projection's own database, **in the same transaction**
as the rows the batch changed: a crash replays the batch and changes nothing twice. Each applied
``event_id`` is remembered too, so a re-published duplicate is ignored (``services.common.read.seen``).

Applying an event is the projections' SQL and little else: nothing is logged or bound per event unless DEBUG is
on or it fails; projections write with the statements of ``services.common.read.sql``, built once.

A message that is not JSON, not a valid envelope, or whose payload fails its contract goes to
``<topic>.dlq`` with the reason in its headers, and the projector goes on; so does an event whose
projection raises (its partial changes are rolled back to a savepoint first).

An event no projection has an ``on_<EventType>`` for (a service's views read a whole topic for a few types)
costs no transaction: its offset moves on in memory and is stored with the next batch that changes rows, or
when a poll finds nothing new.

``rebuild()`` drops every row of the projections and replays from offset 0, with progress; from
``PREFETCH_FROM`` events on, a reader process of its own reads the topics on the other core while the
projector applies (``services.common.read.prefetch``).

Several processes can share the work by partition ranges: ``partition_filter`` (or ``assign(partitions)``)
limits a projector to some partitions of its topics; offsets are kept per partition, so the ranges never
interfere (``infra/RUNBOOK.md`` says when this is safe).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Collection, Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, TypeAlias

import sqlalchemy as sa
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord
from sqlalchemy.engine import Engine

from services.common.base import contracts, personal
from services.common.base.db import reader, register_migrations, store_failed
from services.common.base.jsontext import loads_message
from services.common.base.log import bind_context, get_logger
from services.common.base.memory import collection_deferred
from services.common.base.metrics import (
    DEAD_LETTERED,
    DUPLICATES_IGNORED,
    EVENTS_PROJECTED,
    POSITIONS_RESET,
    PROJECTOR_LAG_EVENTS,
    PROJECTOR_LAG_SECONDS,
)
from services.common.kernel.clock import iso, utc_now
from services.common.kernel.errors import ContractViolation
from services.common.kernel.events import Envelope, upcast
from services.common.read import sql
from services.common.read.broker import (
    IDLE_POLL_MS,
    TopicLog,
    ensure_topics,
    in_partition_order,
    make_consumer,
    make_producer,
    partitions_of,
    seek_starts,
)
from services.common.read.positions import TOPIC_RECREATED, consumer_starts
from services.common.read.prefetch import Prefetcher, Record
from services.common.read.progress import Progress
from services.common.read.seen import SeenBefore, SeenEvents
from services.common.read.seen import seen_table as seen_table  # where it was defined before

log = get_logger()
Handler = Callable[[sa.Connection, Envelope], None]
BatchForm = Callable[[sa.Connection, list[Envelope]], None]
AnyRecord: TypeAlias = "ConsumerRecord | Record"
"""A record read by the projector's own consumer or handed over by a rebuild's reader process."""

PREFETCH_FROM = 50_000
"""Events on the topics from which a rebuild reads them in a process of its own (starting it costs about a second)."""

register_migrations("projector", Path(__file__).parent / "migrations" / "projector")

projector_metadata = sa.MetaData()
offsets_table = sa.Table(
    "projector_offsets",
    projector_metadata,
    sa.Column("projector", sa.String(100), primary_key=True),
    sa.Column("topic", sa.String(200), primary_key=True),
    sa.Column("partition", sa.Integer(), primary_key=True),
    sa.Column("next_offset", sa.BigInteger(), nullable=False),
    sa.Column("last_event_at", sa.String(40)),
    sa.Column("updated_at", sa.String(40), nullable=False),
)
logs_table = sa.Table(
    "projector_logs",
    projector_metadata,
    sa.Column("projector", sa.String(100), primary_key=True),
    sa.Column("topic", sa.String(200), primary_key=True),
    sa.Column("topic_id", sa.String(64), nullable=False),
    sa.Column("updated_at", sa.String(40), nullable=False),
)
dead_letters_table = sa.Table(
    "projector_dead_letters",
    projector_metadata,
    sa.Column("projector", sa.String(100), primary_key=True),
    sa.Column("topic", sa.String(200), primary_key=True),
    sa.Column("reason", sa.String(100), primary_key=True),
    sa.Column("count", sa.BigInteger(), nullable=False),
)


def follow_logs(
    engine: Engine,
    name: str,
    service: str,
    consumer: KafkaConsumer,
    partitions: Sequence[TopicPartition],
    logs: dict[str, TopicLog],
) -> dict[TopicPartition, int | None]:
    """Where consumer ``name`` reads each of ``partitions`` from: its stored offset when that is on the same log
    (topic id) and within the log's start and end, else the log's start (None) — ``positions.consumer_starts``.

    The offsets that cannot be used are deleted, and the topic ids recorded, in one transaction: a crash right
    after still reads those partitions from their start. Every consumer ignores what it applied already (by
    ``event_id``, or a district message by its idempotency key), so reading again is never applying again.
    """
    t, lt = offsets_table.c, logs_table.c
    with engine.connect() as conn:
        stored = {
            (r.topic, r.partition): int(r.next_offset)
            for r in conn.execute(sa.select(t.topic, t.partition, t.next_offset).where(t.projector == name))
        }
        recorded = {
            r.topic: str(r.topic_id) for r in conn.execute(sa.select(lt.topic, lt.topic_id).where(lt.projector == name))
        }
    beginnings = {(tp.topic, tp.partition): o for tp, o in consumer.beginning_offsets(list(partitions)).items()}
    ends = {(tp.topic, tp.partition): o for tp, o in consumer.end_offsets(list(partitions)).items()}
    topic_ids = {topic: log.topic_id for topic, log in logs.items() if log.topic_id}
    starts = consumer_starts(stored, recorded, topic_ids, beginnings, ends)
    dropped = {key: start.reason for key, start in starts.items() if start.reason}
    now = iso(utc_now())
    with engine.begin() as conn:
        for (topic, partition), reason in dropped.items():
            log.warning(
                "consumer_position_reset",
                consumer=name,
                topic=topic,
                partition=partition,
                reason=reason,
                stored=stored.get((topic, partition)),
                log_start=beginnings.get((topic, partition)),
                log_end=ends.get((topic, partition)),
            )
            POSITIONS_RESET.labels(service, name, topic, str(reason)).inc()
            conn.execute(offsets_table.delete().where(t.projector == name, t.topic == topic, t.partition == partition))
        for topic, topic_id in topic_ids.items():
            if recorded.get(topic) == topic_id:
                continue
            key = {"projector": name, "topic": topic}
            if not sql.update(conn, logs_table, key, {"topic_id": topic_id, "updated_at": now}):
                sql.insert(conn, logs_table, key | {"topic_id": topic_id, "updated_at": now})
    return {TopicPartition(*key): start.offset for key, start in starts.items()}


def logs_moved(consumer: KafkaConsumer, logs: dict[str, TopicLog]) -> str | None:
    """Why the assignment no longer matches the broker (a topic gone or made anew, another partition count), as
    the consumer's own metadata (refreshed every few seconds) says; None when it matches."""
    cluster = getattr(consumer, "_cluster", None)
    for topic, assigned in sorted(logs.items()):
        now = cluster.topic_id(topic) if cluster is not None else None
        if now is not None and assigned.topic_id and str(now) != assigned.topic_id:
            return f"{topic}: {TOPIC_RECREATED}"
        found = consumer.partitions_for_topic(topic)
        if not found:  # gone with the broker: made again (by the platform, with its partition count) on assignment
            return f"{topic}: missing"
        if len(found) != assigned.partitions:
            return f"{topic}: partitions now {len(found)}"
    return None


class Projection:
    """A read model built from events: ``on_<EventType>(conn, envelope)`` methods and a ``reset``.

    A rebuild calls the handlers a million times: they write with ``services.common.read.sql`` (``insert``,
    ``update``, ``add``, ``delete``, or ``run`` of a statement built once), never build a statement per event.

    A handler may have a batch form, ``many_<EventType>(conn, envelopes)``, that applies several events of the
    type as ``on_<EventType>`` applied one after another would (typically one ``executemany``): the projector
    hands it each run of consecutive events of that type in a batch (same order, no other event between them),
    when each projection that handles the type has one. Several types may share one batch form (``many_A =
    many_B = many_ab``): a run is then consecutive events of any of them, mixed, in order (the form applies them
    as one by one). When several projections handle a run's types, each projection's batch form applies the
    whole run in turn, in the projections' order: a projection offers a batch form beside another's only where
    what it writes does not depend on what the other writes for the same events (each owns its tables). A batch
    that fails is applied again one event at a time with ``on_<EventType>``, so the batch form need not find
    which event failed.
    """

    topics: tuple[str, ...] = ()
    tables: tuple[sa.Table, ...] = ()

    def handles(self) -> frozenset[str]:
        """The event types this projection applies (those with an ``on_<EventType>`` method)."""
        return frozenset(name[3:] for name in dir(type(self)) if name.startswith("on_"))

    def apply(self, conn: sa.Connection, env: Envelope) -> None:
        """Apply one event (events without a handler are ignored)."""
        handler = getattr(self, f"on_{env.event_type}", None)
        if handler is not None:
            handler(conn, env)

    def reset(self, conn: sa.Connection) -> None:
        """Delete every row the projection owns (children first)."""
        for table in reversed(self.tables):
            conn.execute(table.delete())


Positions: TypeAlias = dict[tuple[str, int], tuple[int, str | None]]
"""Per (topic, partition): the next offset to read and the time of the newest event applied (or passed over)."""


def _advance(newest: Positions, records: Sequence[AnyRecord], event_at: dict[tuple[str, int], str]) -> None:
    """Move each partition's next offset past the last of ``records`` (read in partition order); ``event_at``
    holds, per partition, the time of its newest event applied or passed over in them, if any."""
    last = {(record.topic, record.partition): record.offset for record in records}
    for key, offset in last.items():
        newest[key] = (offset + 1, event_at.get(key) or newest.get(key, (0, None))[1])


class _ProjectionFailed(Exception):
    """A projection raised while applying a batch without savepoints; the batch is redone isolated."""


class _RolledBack(Exception):
    """Ends a batch's transaction without committing it."""


DLQ_REDACTED_HEADER = "dlq_redacted"
"""The header of a dead letter whose clear personal fields were withheld (their names, comma-separated): its
value is not the original, which a replay reads from ``dlq_source``."""


class DeadLetter(Exception):
    """A message the projector cannot apply; it goes to the dead-letter topic with ``reason``."""

    def __init__(self, reason: str, detail: str, event_id: str | None = None) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
        self.event_id = event_id


def decode(record: AnyRecord) -> Envelope:
    """The envelope in a Kafka record, validated against the contracts and upcast; DeadLetter if not."""
    if record.value is None:
        raise DeadLetter("malformed_json", "the message has no value (a tombstone)")
    try:
        data = loads_message(record.value)
    except (ValueError, UnicodeDecodeError) as exc:
        raise DeadLetter("malformed_json", str(exc)) from exc
    if not isinstance(data, dict):
        raise DeadLetter("malformed_envelope", "the message is not a JSON object")
    try:
        contracts.validate_envelope(data)
    except ContractViolation as exc:
        raise DeadLetter("contract_violation", json.dumps(exc.fields or exc.message, ensure_ascii=False)) from exc
    env = Envelope.from_valid(data)
    latest = contracts.latest_version(env.domain, env.event_type)
    if env.schema_version < latest:
        payload = upcast(env.domain, env.event_type, env.schema_version, env.payload, latest)
        env = Envelope(**{**env.to_dict(), "schema_version": latest, "payload": payload})
    return env


def decoded(record: AnyRecord) -> Envelope | DeadLetter:
    """The envelope in a Kafka record, or why it cannot be applied."""
    try:
        return decode(record)
    except DeadLetter as reason:
        return reason


def batch_forms(projections: Sequence[Projection]) -> dict[tuple[str, str], tuple[BatchForm, ...]]:
    """The batch forms (``many_<EventType>``) of each (domain, event type) each of whose handlers among
    ``projections`` has one, in the projections' order: a run of consecutive events with the same forms is applied
    by them together (``Projector``)."""
    forms: dict[tuple[str, str], list[BatchForm | None]] = {}
    for projection in projections:
        for domain in sorted({topic.split(".")[0] for topic in projection.topics}):
            for kind in sorted(projection.handles()):
                forms.setdefault((domain, kind), []).append(getattr(projection, f"many_{kind}", None))
    return {key: tuple(f for f in found if f is not None) for key, found in forms.items() if None not in found}


class Projector:
    """Applies the events of its topics to its projections, keeping offsets beside the rows."""

    def __init__(
        self,
        name: str,
        engine: Engine,
        projections: Sequence[Projection],
        bootstrap: str,
        service: str,
        consumer: KafkaConsumer | None = None,
        dlq_producer: KafkaProducer | None = None,
        max_records: int = 2000,
        partitions: int = 3,
        partition_filter: Collection[int] | None = None,
    ) -> None:
        self.name = name
        self.engine = engine
        self.projections = list(projections)
        self.topics = sorted({t for p in self.projections for t in p.topics})
        self._handlers: dict[tuple[str, str], list[Handler]] = {}
        """The handlers of each (domain, event type), in the projections' order (an event is applied in it)."""
        for projection in self.projections:
            domains = {topic.split(".")[0] for topic in projection.topics}
            for domain in sorted(domains):
                for kind in sorted(projection.handles()):
                    self._handlers.setdefault((domain, kind), []).append(getattr(projection, f"on_{kind}"))
        self._handled = set(self._handlers)
        """(domain, event type) of every event some projection applies; the others only move the offsets."""
        self._batchers = batch_forms(self.projections)
        self._unsaved_offsets: dict[tuple[str, int], tuple[int, str | None]] = {}
        self.seen = SeenEvents(engine, name)
        """The event ids applied (a re-published duplicate is ignored)."""
        self.bootstrap = bootstrap
        self.service = service
        self._consumer = consumer
        self._dlq = dlq_producer
        self.max_records = max_records
        self.partitions = partitions
        self.partition_filter: frozenset[int] | None = frozenset(partition_filter) if partition_filter else None
        self._partitions: list[TopicPartition] = []
        self._logs: dict[str, TopicLog] = {}
        self._last_lag_check = 0.0
        self.lag_events: dict[str, int] = {}
        """Events on each topic not yet applied, as of the last check (every 5 s while running)."""

    # -- assignment and offsets ----------------------------------------------------------------------

    @property
    def consumer(self) -> KafkaConsumer:
        """The Kafka consumer, connected on first use (a reset needs no broker)."""
        if self._consumer is None:
            self._consumer = make_consumer(self.bootstrap, client_id=f"{self.service}-{self.name}")
        return self._consumer

    def assign(self, partitions: Collection[int] | None = None) -> None:
        """Assign the partitions of the topics (creating missing topics) and seek to the stored offsets.

        Every partition, or only those numbered in ``partitions`` (remembered as ``partition_filter``).
        """
        if partitions is not None:
            self.partition_filter = frozenset(partitions) or None
        logs = ensure_topics(self.bootstrap, [*self.topics, *(f"{t}.dlq" for t in self.topics)], self.partitions)
        self._logs = {topic: logs[topic] for topic in self.topics}
        wanted = self.partition_filter
        self._partitions = [
            tp
            for topic in self.topics
            for tp in partitions_of(self.consumer, topic)
            if wanted is None or tp.partition in wanted
        ]
        if wanted is not None and not self._partitions:
            raise ValueError(f"partitions {sorted(wanted or ())} match no partition of {self.topics}")
        self.consumer.assign(self._partitions)
        if not self.seen.journaling:
            self.seen.fold()  # what a rebuild that stopped half-way journaled: looked up in the index from now on
        self._unsaved_offsets = {}
        starts = follow_logs(self.engine, self.name, self.service, self.consumer, self._partitions, logs)
        seek_starts(self.consumer, {tp: starts.get(tp) for tp in self._partitions})

    def stored_offsets(self) -> dict[TopicPartition, int]:
        """The next offset to read per partition, as committed with the projection rows."""
        t = offsets_table.c
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(t.topic, t.partition, t.next_offset).where(t.projector == self.name))
            return {TopicPartition(r.topic, r.partition): r.next_offset for r in rows}

    def status(self) -> dict[str, Any]:
        """The position the projections reflect, per partition, and when the newest event was recorded."""
        t = offsets_table.c
        with reader(self.engine).connect() as conn:  # never waits for the projector's own write lock
            rows = conn.execute(sa.select(offsets_table).where(t.projector == self.name)).all()
            d = dead_letters_table.c
            letters = conn.execute(
                sa.select(d.topic, d.reason, d.count).where(d.projector == self.name).order_by(d.topic, d.reason)
            ).all()
        newest: dict[str, str] = {}
        for r in rows:
            if r.last_event_at and r.last_event_at > newest.get(r.topic, ""):
                newest[r.topic] = r.last_event_at
        dead: dict[str, dict[str, int]] = {}
        for topic, reason, count in letters:
            dead.setdefault(topic, {})[reason] = int(count)
        return {
            "projector": self.name,
            "positions": {f"{r.topic}:{r.partition}": r.next_offset for r in rows},
            "last_event_at": max(newest.values(), default=None),
            "topics_last_event_at": newest,
            "lag_events": dict(self.lag_events),
            "dead_lettered": dead,
        }

    # -- the loop ------------------------------------------------------------------------------------

    def poll_once(self, timeout_ms: int = 500) -> int:
        """Read one batch and apply it in one transaction; returns how many records were read."""
        if not self._partitions:
            self.assign()
        batch = self.consumer.poll(timeout_ms=timeout_ms, max_records=self.max_records)
        records = in_partition_order(batch)
        if not records:
            self.save_offsets()
            PROJECTOR_LAG_SECONDS.labels(self.service, self.name).set(0)
            self._report_lag()
            return 0
        self._apply_batch(records)
        return len(records)

    def _apply_batch(self, records: Sequence[AnyRecord]) -> None:
        with collection_deferred():  # the batch's envelopes all live until it commits
            self._decode_and_commit(records)

    def _decode_and_commit(self, records: Sequence[AnyRecord]) -> None:
        items = [decoded(record) for record in records]
        # Dead letters are acknowledged before the offsets past them commit (a crash re-sends, never loses
        # one), and never sent inside the transaction: sending yields to the process's other green threads,
        # and one of them waiting (in C) for the database's write lock would freeze the process with it held.
        self._send_dead_letters([(r, d) for r, d in zip(records, items, strict=True) if isinstance(d, DeadLetter)])
        try:
            self._commit_batch(records, items, isolate=False)
        except _ProjectionFailed:
            # One event broke a projection: find which with a savepoint per event (a dry run, rolled back),
            # dead-letter them, then apply the batch without them.
            refused = self._commit_batch(records, items, isolate=True, dry_run=True)
            self._send_dead_letters(refused)
            self._commit_batch(records, items, isolate=True, refused={d.event_id or "" for _, d in refused})
        last_at = next((d.recorded_at for d in reversed(items) if isinstance(d, Envelope)), None)
        if last_at:
            lag = (utc_now() - datetime.fromisoformat(last_at)).total_seconds()
            PROJECTOR_LAG_SECONDS.labels(self.service, self.name).set(max(lag, 0.0))
        self._report_lag()

    def _commit_batch(
        self,
        records: Sequence[AnyRecord],
        decoded: list[Envelope | DeadLetter],
        isolate: bool,
        refused: Collection[str] = (),
        dry_run: bool = False,
        look_up: bool = False,
    ) -> list[tuple[AnyRecord, DeadLetter]]:
        """Apply the batch and store its offsets in one transaction; the events a projection refused.

        With ``isolate`` a refused event is rolled back to its savepoint. A ``dry_run`` only finds them and
        commits nothing; otherwise nothing commits unless every refused event is in ``refused`` (its dead
        letter was sent already). Not isolated, the batch applies all its events or none, so it claims their
        ids at once (``SeenEvents.claim``); when one was applied already, the batch is applied again and
        ``look_up`` which.
        """
        failures: list[tuple[AnyRecord, DeadLetter]] = []
        newest = dict(self._unsaved_offsets)
        handled = self._handled
        keys = [(d.domain, d.event_type) if isinstance(d, Envelope) else None for d in decoded]
        relevant = [
            d.event_id for d, key in zip(decoded, keys, strict=True) if key in handled and isinstance(d, Envelope)
        ]
        event_at: dict[tuple[str, int], str] = {}
        """Per partition, the time of the newest event applied or passed over (no projection applies it)."""
        if not relevant and not dry_run:
            # Nothing to apply: the offsets move on in memory and are stored with the next batch that changes
            # rows, or at the next idle poll (a crash meanwhile only reads these events again, to skip them).
            for record, item in zip(records, decoded, strict=True):
                if isinstance(item, Envelope) and item.recorded_at:
                    event_at[record.topic, record.partition] = item.recorded_at
            _advance(newest, records, event_at)
            self._unsaved_offsets = newest
            return failures
        debug = log.is_enabled_for(logging.DEBUG)
        batchers = {} if isolate else self._batchers  # isolated, every event is applied (and refused) on its own
        run: list[Envelope] = []
        """Consecutive events of types with the same batch forms, applied together by them (before any other)."""
        run_forms: tuple[BatchForm, ...] = ()
        applied: list[Envelope] = []
        duplicates = 0
        claimed = False
        try:
            with self.engine.begin() as conn:
                claimed = not (isolate or dry_run or look_up) and self.seen.claim(conn, relevant)
                seen = set() if claimed else self.seen.among(conn, relevant)
                for record, item, key in zip(records, decoded, keys, strict=True):
                    if key not in handled:
                        if isinstance(item, Envelope) and item.recorded_at:  # an envelope passed over
                            event_at[record.topic, record.partition] = item.recorded_at
                        continue
                    assert isinstance(item, Envelope)
                    event_id = item.event_id
                    if event_id in seen:  # applied before: the projections reflect it up to its time
                        duplicates += 1
                        if item.recorded_at:
                            event_at[record.topic, record.partition] = item.recorded_at
                        continue
                    seen.add(event_id)
                    forms = batchers.get(key)
                    if forms is not None and event_id not in refused:
                        if run and forms != run_forms:
                            self._apply_run(conn, run_forms, run, debug)
                            run = []
                        run.append(item)
                        run_forms = forms
                    else:
                        if run:
                            self._apply_run(conn, run_forms, run, debug)
                            run = []
                        failure = None if event_id in refused else self._apply(conn, item, isolate, debug)
                        if failure:
                            failures.append((record, failure))
                        if failure or event_id in refused:
                            continue
                    applied.append(item)
                    if item.recorded_at:
                        event_at[record.topic, record.partition] = item.recorded_at
                if run:
                    self._apply_run(conn, run_forms, run, debug)
                if dry_run or failures:
                    raise _RolledBack
                _advance(newest, records, event_at)
                if not claimed:
                    self.seen.remember(conn, [e.event_id for e in applied])
                self._store_offsets(conn, newest)
        except _RolledBack:
            if dry_run:
                return failures
            raise _ProjectionFailed(f"{len(failures)} events failed anew; the batch is replayed") from None
        except SeenBefore:  # rolled back: nothing of the batch was written
            return self._commit_batch(records, decoded, isolate, refused, dry_run, look_up=True)
        self._unsaved_offsets = {}
        self.seen.committed(e.event_id for e in applied)
        if duplicates:
            DUPLICATES_IGNORED.labels(self.service, self.name).inc(duplicates)
        EVENTS_PROJECTED.labels(self.service, self.name).inc(len(applied))
        return failures

    def _apply(self, conn: sa.Connection, env: Envelope, isolate: bool, debug: bool) -> DeadLetter | None:
        # Every event of a rebuild passes here: its context is bound for a failure's log line only, and the
        # ``event_projected`` line is written only when DEBUG is on.
        try:
            if isolate:
                with conn.begin_nested():
                    self._route(conn, env)
            else:
                self._route(conn, env)
        except Exception as exc:  # a projection bug must not stop the city's data center
            if store_failed(exc):  # the store's, not the event's: the round fails and the batch is replayed
                raise
            if not isolate:
                raise _ProjectionFailed from exc
            with bind_context(correlation_id=env.correlation_id, event_id=env.event_id, stream_id=env.stream_id):
                log.exception("projection_failed", event_type=env.event_type)
            return DeadLetter("projection_failed", f"{type(exc).__name__}: {exc}", env.event_id)
        if debug:
            _log_projected(env)
        return None

    def _apply_run(self, conn: sa.Connection, forms: tuple[BatchForm, ...], run: list[Envelope], debug: bool) -> None:
        """Apply consecutive events whose types have the batch ``forms`` (never isolated: a failure fails the
        batch, which is then applied again one event at a time, each in a savepoint of its own)."""
        try:
            for batch_form in forms:
                batch_form(conn, run)
        except Exception as exc:
            if store_failed(exc):
                raise
            raise _ProjectionFailed from exc
        if debug:
            for env in run:
                _log_projected(env)

    def _route(self, conn: sa.Connection, env: Envelope) -> None:
        for handler in self._handlers.get((env.domain, env.event_type), ()):
            handler(conn, env)

    def save_offsets(self) -> None:
        """Store the offsets of batches that had nothing to apply (done when a poll finds nothing new)."""
        if self._unsaved_offsets:
            with self.engine.begin() as conn:
                self._store_offsets(conn, self._unsaved_offsets)
            self._unsaved_offsets = {}

    def _store_offsets(self, conn: sa.Connection, newest: dict[tuple[str, int], tuple[int, str | None]]) -> None:
        now = iso(utc_now())
        for (topic, partition), (next_offset, event_at) in newest.items():
            key = {"projector": self.name, "topic": topic, "partition": partition}
            values: dict[str, Any] = {"next_offset": next_offset, "updated_at": now}
            if event_at:
                values["last_event_at"] = event_at
            if not sql.update(conn, offsets_table, key, values):
                sql.insert(conn, offsets_table, key | values)

    def _send_dead_letters(self, dead: Iterable[tuple[AnyRecord, DeadLetter]]) -> None:
        dead = list(dead)
        if not dead:
            return
        if self._dlq is None:
            self._dlq = make_producer(self.bootstrap)
        futures = []
        for record, reason in dead:
            # a dead letter keeps no clear personal value (an event stored before sealing): the original stays
            # on its source topic, where a replay reads it (services.common.runtime.dlq)
            value, detail, redacted = personal.redact_dead_letter(record.value, reason.detail)
            headers = [
                ("dlq_reason", reason.reason.encode()),
                ("dlq_detail", detail[:2000].encode()),
                ("dlq_source", f"{record.topic}:{record.partition}:{record.offset}".encode()),
                ("dlq_projector", self.name.encode()),
            ]
            if redacted:
                headers.append((DLQ_REDACTED_HEADER, ",".join(redacted).encode()))
            futures.append(self._dlq.send(f"{record.topic}.dlq", key=record.key, value=value, headers=headers))
            DEAD_LETTERED.labels(self.service, record.topic, reason.reason).inc()
            log.warning(
                "dead_lettered",
                topic=record.topic,
                offset=record.offset,
                reason=reason.reason,
                detail=detail[:300],
                redacted=redacted or None,
            )
        self._dlq.flush()
        for future in futures:
            future.get(timeout=30)
        self._count_dead_letters(dead)

    def _count_dead_letters(self, dead: list[tuple[AnyRecord, DeadLetter]]) -> None:
        """Add the dead letters sent (acknowledged) to the projector's persisted counts. A crash between the two
        counts a re-sent one again: the counts are at least the letters sent, never fewer."""
        counts: dict[tuple[str, str], int] = {}
        for record, letter in dead:
            counts[record.topic, letter.reason] = counts.get((record.topic, letter.reason), 0) + 1
        d = dead_letters_table.c
        with self.engine.begin() as conn:
            for (topic, why), n in counts.items():
                key = (d.projector == self.name) & (d.topic == topic) & (d.reason == why)
                if not conn.execute(dead_letters_table.update().where(key).values(count=d.count + n)).rowcount:
                    row = {"projector": self.name, "topic": topic, "reason": why, "count": n}
                    conn.execute(dead_letters_table.insert(), row)

    def _report_lag(self, force: bool = False) -> None:
        if not force and time.monotonic() - self._last_lag_check < 5:
            return
        self._last_lag_check = time.monotonic()
        ends = self.consumer.end_offsets(self._partitions)
        moved = logs_moved(self.consumer, self._logs)
        if moved:  # assigned again at the next poll, from positions checked against the logs
            log.warning("projector_logs_moved", projector=self.name, reason=moved)
            self.save_offsets()
            self._partitions = []
            return
        for topic in self.topics:
            lag = sum(max(end - self.consumer.position(tp), 0) for tp, end in ends.items() if tp.topic == topic)
            PROJECTOR_LAG_EVENTS.labels(self.service, self.name, topic).set(lag)
            self.lag_events[topic] = lag

    def run(self, stop: threading.Event) -> None:
        """Project until ``stop`` is set."""
        log.info("projector_started", projector=self.name, topics=self.topics)
        while not stop.is_set():
            try:
                self.poll_once(IDLE_POLL_MS)
            except Exception:
                log.exception("projector_round_failed", projector=self.name)
                self._partitions = []  # re-assign from the stored offsets: the failed batch is replayed
                self._unsaved_offsets = {}
                stop.wait(1.0)
        try:
            self.save_offsets()
        except Exception:  # stopping with the database gone: these events are read (and skipped) again
            log.warning("projector_offsets_not_saved", projector=self.name)

    def catch_up(self, idle_polls: int = 2, timeout_ms: int = 300, progress: Progress | None = None) -> int:
        """Apply everything currently on the topics; returns how many records were read."""
        if not self._partitions:
            self.assign()
        total, empty = 0, 0
        while empty < idle_polls:
            count = self.poll_once(timeout_ms)
            total += count
            if progress:
                progress.advance(count)
            empty = 0 if count else empty + 1
        return total

    def reset(self) -> None:
        """Drop every projection row, offset and seen event id: the next read starts at offset 0."""
        with self.engine.begin() as conn:
            for projection in self.projections:
                projection.reset(conn)
            conn.execute(offsets_table.delete().where(offsets_table.c.projector == self.name))
            self.seen.forget(conn)
        self._partitions = []
        self._unsaved_offsets = {}

    def rebuild(self, prefetch: bool | None = None) -> int:
        """Drop every projection row and replay the topics from offset 0, with progress.

        The event ids it applies are journaled rather than inserted into their index one by one, and folded
        into it in sorted runs (``services.common.read.seen``). With ``prefetch`` (by default from ``PREFETCH_FROM``
        events on) a reader process reads the topics up to their current ends while this one applies.
        """
        self.reset()
        self.seen.start_journal()
        try:
            self.assign()
            ends = self.consumer.end_offsets(self._partitions)
            total = sum(ends.values())
            progress = Progress(f"rebuild {self.name}", total=total or None)
            count = 0
            use_reader = total >= PREFETCH_FROM if prefetch is None else prefetch
            if use_reader:
                count = self._apply_prefetched(ends, progress)
            count += self.catch_up(progress=progress)  # what the reader left, and what arrived meanwhile
            progress.finish()
            self.seen.finish_journal()
        finally:
            self.seen.stop_journal()
        return count

    def _apply_prefetched(self, ends: dict[TopicPartition, int], progress: Progress) -> int:
        """Apply the batches a reader process reads up to ``ends``; this consumer's positions follow them."""
        starts = {tp: self.consumer.position(tp) for tp in self._partitions}
        count = 0
        client = f"{self.service}-{self.name}-reader"
        with Prefetcher(self.bootstrap, client, starts, ends, self.max_records) as reader:
            for records in reader:
                self._apply_batch(records)
                for (topic, partition), offset in {(r.topic, r.partition): r.offset for r in records}.items():
                    self.consumer.seek(TopicPartition(topic, partition), offset + 1)
                count += len(records)
                progress.advance(len(records))
        return count


def _log_projected(env: Envelope) -> None:
    """The debug line of one applied event (its ids, to follow it through the logs)."""
    log.debug(
        "event_projected",
        event_type=env.event_type,
        district=env.district,
        correlation_id=env.correlation_id,
        event_id=env.event_id,
        stream_id=env.stream_id,
    )
