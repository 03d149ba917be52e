"""The event store: append-only streams with optimistic concurrency, snapshots, and the outbox.

One store per service (SQLite file by default, PostgreSQL by setting), the same code for both.

- ``save(aggregate, metadata)`` appends the aggregate's pending events with the version it was loaded at;
  a stale version raises ``VersionConflict`` (``AlreadyExists`` when creating a stream that exists).
- ``load(cls, stream_id)`` rebuilds an aggregate from its latest snapshot and the events after it.
- ``read_all(after, limit)`` returns events in commit order: the events table **is** the outbox, so
  appending and recording for publication are one transaction by construction.

Commit order equals position order because appends serialize per store: SQLite by ``BEGIN IMMEDIATE``,
PostgreSQL by a transaction-scoped advisory lock taken before the position is drawn from the sequence.
A reader of ``position > n`` can therefore never miss a row that commits later with a smaller position —
the relay never skips an event that committed late.

An append is one statement per event, run on the driver's connection (``services.common.base.statements``): the
insert carries its own version check (the row is inserted only if the stream's current version is the one
before it), so the check costs no statement of its own; a row not inserted rolls the transaction back and the
refusal is worked out afterwards (``_refusal``). On PostgreSQL the lock, the inserts and the command's log are
sent together (psycopg's pipeline mode): one round trip to the server for them, one for the commit. On SQLite the
append's connection is one kept for appends outside the pool (``db.KeptConnections``), and each event's row is the
dict its envelope is read from (``Envelope.from_valid``): what is left is SQLite's own work, the insert into the
table and its one index (stream and version: the two b-trees an append needs, store migration 0006) and the commit's
sync.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from services.common.base import contracts
from services.common.base.db import (
    commit_begun,
    create_db_engine,
    fetch,
    is_postgres,
    kept_connections,
    migrate,
    reader,
    register_migrations,
    unpinged,
    unsynced,
)
from services.common.base.jsontext import dumps_payload, dumps_stored
from services.common.base.metrics import EVENTS_APPENDED
from services.common.base.personal import KeyStore, seal_payload, seal_request, sealed_fields
from services.common.base.statements import execute
from services.common.kernel.aggregate import Aggregate
from services.common.kernel.clock import iso, utc_now
from services.common.kernel.errors import AlreadyExists, DuplicateCommand, NotFound, VersionConflict
from services.common.kernel.events import PUBLISHED_FIELDS, Envelope, Event, Metadata, event_from_payload
from services.common.kernel.ids import random_uuid
from services.common.write.deadlines import COMMIT_MARGIN_SECONDS, refuse_if_expired

register_migrations("store", Path(__file__).parent / "migrations" / "store")

A = TypeVar("A", bound=Aggregate)

APPEND_LOCK_KEY = 0x60F_A77A15
"""PostgreSQL advisory lock id serializing appends of one store (one database per service)."""

metadata = sa.MetaData()
events_table = sa.Table(
    "events",
    metadata,
    sa.Column("position", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("event_id", sa.String(36), nullable=False),
    sa.Column("domain", sa.String(40), nullable=False),
    sa.Column("stream_type", sa.String(100), nullable=False),
    sa.Column("stream_id", sa.String(200), nullable=False),
    sa.Column("stream_version", sa.Integer(), nullable=False),
    sa.Column("event_type", sa.String(100), nullable=False),
    sa.Column("schema_version", sa.Integer(), nullable=False),
    sa.Column("occurred_at", sa.String(40), nullable=False),
    sa.Column("recorded_at", sa.String(40), nullable=False),
    sa.Column("district", sa.String(6)),
    sa.Column("agency_id", sa.String(64)),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("correlation_id", sa.String(100), nullable=False),
    sa.Column("causation_id", sa.String(100)),
    sa.Column("payload", sa.Text(), nullable=False),
)
actor_positions_table = sa.Table(
    "actor_positions",
    metadata,
    sa.Column("position", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
    sa.Column("actor", sa.String(200), nullable=False),
)
"""Each event's actor by position, the index ``events_by_actor`` reads through: kept off the appends' commits (an
index of the events table would be one more page each of them writes) and brought up to date by the audit itself."""
snapshots_table = sa.Table(
    "snapshots",
    metadata,
    sa.Column("stream_type", sa.String(100), primary_key=True),
    sa.Column("stream_id", sa.String(200), primary_key=True),
    sa.Column("stream_version", sa.Integer(), nullable=False),
    sa.Column("state", sa.Text(), nullable=False),
    sa.Column("taken_at", sa.String(40), nullable=False),
)
relay_progress_table = sa.Table(
    "relay_progress",
    metadata,
    sa.Column("topic", sa.String(200), primary_key=True),
    sa.Column("position", sa.BigInteger(), nullable=False),
    sa.Column("updated_at", sa.String(40), nullable=False),
)
relay_logs_table = sa.Table(
    "relay_logs",
    metadata,
    sa.Column("topic", sa.String(200), primary_key=True),
    sa.Column("topic_id", sa.String(64), nullable=False),
    sa.Column("marks", sa.Text(), nullable=False),
    sa.Column("updated_at", sa.String(40), nullable=False),
)


@dataclass(frozen=True)
class RelayLog:
    """The topic a relay's acknowledged position is on (the broker's topic id) and, per partition, the offset
    after the last event the broker acknowledged to it: a broker whose topic has another id, or a partition
    that ends before its mark, has lost events the position counts as published."""

    topic_id: str
    marks: dict[int, int]


rpc_redeliveries_table = sa.Table(
    "rpc_redeliveries",
    metadata,
    sa.Column("correlation_id", sa.String(200), primary_key=True),
    sa.Column("routing_key", sa.String(200), nullable=False),
    sa.Column("redeliveries", sa.Integer(), nullable=False),
    sa.Column("first_at", sa.String(40), nullable=False),
    sa.Column("dead_lettered_at", sa.String(40)),
    sa.Column("request", sa.Text()),
)


command_log_table = sa.Table(
    "command_log",
    metadata,
    sa.Column("idempotency_key", sa.String(200), primary_key=True),
    sa.Column("command", sa.String(100), nullable=False),
    sa.Column("result", sa.Text(), nullable=False),
    sa.Column("recorded_at", sa.String(40), nullable=False),
)


@dataclass(frozen=True)
class Idempotency:
    """A command's idempotency key and the answer to record with its events (in the same transaction).

    ``fingerprint`` (``services.common.runtime.rpc.command_fingerprint``: the command's name and payload, hashed)
    is recorded with it, so the key used again for anything else can be told from a repeat.
    """

    key: str
    command: str
    result: dict[str, Any]
    fingerprint: str | None = None


REFUSED = "refused"
"""The ``command`` column of a refusal recorded under its key (``EventStore.record_refusal``)."""


@dataclass(frozen=True)
class RecordedCommand:
    """What was recorded under an idempotency key: the answer of a stored command, or the error document
    of a refused one, with the fingerprint of the command (None for rows recorded before fingerprints)."""

    answer: dict[str, Any] | None
    refusal: dict[str, Any] | None
    fingerprint: str | None

    @staticmethod
    def from_row(command: str, result: str) -> RecordedCommand:
        """Read a ``command_log`` row: its ``command`` column is ``<command>#<fingerprint>``."""
        name, _, fingerprint = command.partition("#")
        data = dict(json.loads(result))
        refused = name == REFUSED
        return RecordedCommand(None if refused else data, data if refused else None, fingerprint or None)


# The statements of every command and every relay round, built once (building one costs more than running it).
_STREAM_VERSION = sa.select(sa.func.max(events_table.c.stream_version)).where(
    events_table.c.stream_type == sa.bindparam("stream_type"), events_table.c.stream_id == sa.bindparam("stream_id")
)
_RECORDED_ANSWER = sa.select(command_log_table.c.command, command_log_table.c.result).where(
    command_log_table.c.idempotency_key == sa.bindparam("key")
)
_SNAPSHOT = sa.select(snapshots_table.c.stream_version, snapshots_table.c.state).where(
    snapshots_table.c.stream_type == sa.bindparam("stream_type"),
    snapshots_table.c.stream_id == sa.bindparam("stream_id"),
)
_EVENTS_AFTER = (
    sa.select(events_table.c.event_type, events_table.c.schema_version, events_table.c.payload)
    .where(
        events_table.c.stream_type == sa.bindparam("stream_type"),
        events_table.c.stream_id == sa.bindparam("stream_id"),
        events_table.c.stream_version > sa.bindparam("after"),
    )
    .order_by(events_table.c.stream_version)
)
_STORED_AFTER = (
    sa.select(events_table)
    .where(events_table.c.position > sa.bindparam("after"))
    .order_by(events_table.c.position)
    .limit(sa.bindparam("limit"))
)
_LAST_POSITION = sa.select(sa.func.coalesce(sa.func.max(events_table.c.position), 0))
_RECORDED_AT = sa.select(events_table.c.recorded_at).where(events_table.c.position == sa.bindparam("position"))
_AT_OR_AFTER = (
    sa.select(events_table.c.position, events_table.c.recorded_at)
    .where(events_table.c.position >= sa.bindparam("position"))
    .order_by(events_table.c.position)
    .limit(1)
)
_RELAY_POSITION = sa.select(relay_progress_table.c.position).where(relay_progress_table.c.topic == sa.bindparam("t"))
_NOT_INDEXED = sa.select(events_table.c.position, events_table.c.actor).where(
    events_table.c.position
    > sa.select(sa.func.coalesce(sa.func.max(actor_positions_table.c.position), 0)).scalar_subquery()
)
_SET_RELAY_POSITION = (
    relay_progress_table.update()
    .where(relay_progress_table.c.topic == sa.bindparam("t"))
    .values(position=sa.bindparam("position"), updated_at=sa.bindparam("updated_at"))
)


def _append_statements() -> dict[str, sa.Insert]:
    """One event's row, inserted only when its stream's version is ``previous`` (the version before the event's):
    the optimistic concurrency check and the insert in one statement (the version is read through the unique
    index on stream type, id and version), by dialect name.

    PostgreSQL: ``INSERT … SELECT … WHERE`` the version is ``previous`` (no row inserted otherwise). SQLite would
    copy such a ``SELECT`` into a temporary table first, as it reads the table it inserts into (a fifth of the
    insert's cost): there the row is inserted from its values, its ``stream_version`` given only when the stream
    is at ``previous`` (a ``CASE`` without ``ELSE``), so a stream elsewhere fails the column's ``NOT NULL``."""
    binds = {name: sa.bindparam(name, type_=events_table.c[name].type) for name in PUBLISHED_FIELDS}
    t = events_table.c
    current = (
        sa.select(sa.func.coalesce(sa.func.max(t.stream_version), sa.literal_column("0")))
        .where(t.stream_type == binds["stream_type"], t.stream_id == binds["stream_id"])
        .scalar_subquery()
    )
    at_previous = current == sa.bindparam("previous", type_=sa.Integer())
    row = sa.select(*binds.values()).where(at_previous)
    checked = {**binds, "stream_version": sa.case((at_previous, binds["stream_version"]))}
    return {
        "postgresql": events_table.insert().from_select(list(binds), row),
        "sqlite": events_table.insert().values(checked),
    }


_APPEND = _append_statements()
_LOG_COMMAND = command_log_table.insert()
_DELETE_SNAPSHOT = snapshots_table.delete().where(
    snapshots_table.c.stream_type == sa.bindparam("stream_type"),
    snapshots_table.c.stream_id == sa.bindparam("stream_id"),
)
_WRITE_SNAPSHOT = snapshots_table.insert()
_TAKE_APPEND_LOCK = f"SELECT pg_advisory_xact_lock({APPEND_LOCK_KEY})"


class _Refused(Exception):
    """An event's row was not inserted: its stream is not at the version the writer read."""


class _Unsent(Exception):
    """The connection an append took from the writer's pool was lost before its commit was sent: the
    transaction is gone with it, and the append can run again on another."""


@cache
def _appended_counter(domain: str, event_type: str) -> Any:
    return EVENTS_APPENDED.labels(domain, event_type)  # a labelled child is looked up under a lock: kept


class StreamAppend(NamedTuple):
    """Events for one stream, with the version the writer read (0 for a new stream).

    A named tuple, not a frozen dataclass: every command makes one, and a frozen dataclass sets each field through
    ``object.__setattr__`` (three times the cost)."""

    stream_type: str
    stream_id: str
    expected_version: int
    events: Sequence[Event]
    district: str | None = None
    agency_id: str | None = None
    snapshot: tuple[int, dict[str, Any]] | None = None


class EventStore:
    """A service's event store on SQLite or PostgreSQL."""

    def __init__(self, engine: Engine, domain: str, snapshot_every: int = 50, validate: bool = True) -> None:
        self.engine = engine
        self.reader = reader(engine)
        self.writer = unpinged(engine)
        """Where appends take their connection: on PostgreSQL a pool without the ping before each checkout (a
        round trip per append), one per engine (``db.unpinged``); an append finds a lost connection itself
        (``_write``)."""
        self.kept = kept_connections(engine)
        """On SQLite (a file), the connections appends run on, kept out of the pool (``db.KeptConnections``)."""
        self.domain = domain
        self.snapshot_every = snapshot_every
        self.validate = validate
        self.personal: Callable[[], KeyStore] | None = None
        """With a key store (given as the function opening it, called on the first personal field), the
        personal fields of every appended event are stored as tokens (``personal.seal_payload``): the one
        place where the platform's events are encrypted."""

    @classmethod
    def open(cls, url: str, domain: str, snapshot_every: int = 50) -> EventStore:
        """Open (and migrate) the store at ``url``; on SQLite every commit is synced to disk before it returns
        (``synchronous=FULL``, as PostgreSQL's ``synchronous_commit`` does): the relay publishes what committed,
        so a commit a power cut could take back would leave Kafka with an event the store no longer has."""
        engine = create_db_engine(url, sqlite_synchronous="FULL")
        migrate(engine, "store")
        return cls(engine, domain, snapshot_every)

    # -- writing -------------------------------------------------------------------------------------

    def save(self, aggregate: Aggregate, meta: Metadata) -> list[Envelope]:
        """Append the aggregate's pending events (optimistic concurrency) and forget them."""
        envelopes = self.append([self.pending_of(aggregate)], meta)
        aggregate.mark_stored()
        return envelopes

    def save_all(
        self, aggregates: Iterable[Aggregate], meta: Metadata, idempotency: Idempotency | None = None
    ) -> list[Envelope]:
        """Append the pending events of several aggregates in one transaction."""
        pending = [a for a in aggregates if a.pending_events]
        envelopes = self.append([self.pending_of(a) for a in pending], meta, idempotency)
        for aggregate in pending:
            aggregate.mark_stored()
        return envelopes

    def sealed(self, event_type: str, version: int, values: dict[str, Any]) -> dict[str, Any]:
        """``values`` (part of a payload of the event version) with its personal fields as tokens, for a command
        to hand its aggregate: the aggregate, its snapshots and its events then hold the token alone."""
        if self.personal is None or not sealed_fields(self.domain, event_type, version):
            return values
        return seal_payload(self.personal(), self.domain, event_type, version, values)

    def pending_of(self, aggregate: Aggregate) -> StreamAppend:
        """What appending ``aggregate``'s pending events means, with a snapshot when one is due."""
        events, end = aggregate.pending_events, aggregate.version
        start = end - len(events)  # ``aggregate.loaded_version``
        every = aggregate.snapshot_every or self.snapshot_every
        snapshot = None
        if every and end // every > start // every:
            snapshot = (end, aggregate.snapshot_state())
        return StreamAppend(
            stream_type=aggregate.stream_type,
            stream_id=aggregate.id,
            expected_version=start,
            events=events,
            district=aggregate.district,
            agency_id=aggregate.agency_id,
            snapshot=snapshot,
        )

    def append(
        self, appends: Sequence[StreamAppend], meta: Metadata, idempotency: Idempotency | None = None
    ) -> list[Envelope]:
        """Append events to one or more streams in one transaction; all or nothing.

        With ``idempotency``, the command's answer is recorded under its key in the same transaction; a
        second command with the same key finds it (``recorded_answer``) instead of acting twice.
        """
        now = iso(utc_now())
        sealed: set[tuple[str, str]] = set()
        envelopes: list[Envelope] = []
        rows: list[dict[str, Any]] = []
        for item in appends:
            rows += self._rows(item, meta, now, sealed, envelopes)
        if not rows:
            return []
        if sealed:  # an aggregate handed a clear personal value holds it in its state: no snapshot of it (the next
            # one is taken from the state rebuilt from the sealed events)
            appends = [a._replace(snapshot=None) if (a.stream_type, a.stream_id) in sealed else a for a in appends]
        try:
            log = self._log_row(idempotency, envelopes, now) if idempotency else None
            try:
                self._write(self.writer, appends, rows, meta, log, now)
            except _Unsent:  # a connection lost while idle (a database restarted): nothing stored, a pinged one
                self._write(self.engine, appends, rows, meta, log, now)
        except _Refused:
            raise self._refusal(appends, idempotency) from None
        except sa.exc.IntegrityError as exc:  # a unique key: an event's version (a concurrent writer), the command's
            raise self._refusal(appends, idempotency) from exc
        if len(envelopes) == 1:  # most commands: one event, one step of its counter
            _appended_counter(self.domain, envelopes[0].event_type).inc()
        else:
            self._count_appended(envelopes)
        return envelopes

    def _count_appended(self, envelopes: list[Envelope]) -> None:
        """One step of the metric per event type (a Counter's step costs more than counting one event)."""
        appended: dict[str, int] = {}
        for envelope in envelopes:
            appended[envelope.event_type] = appended.get(envelope.event_type, 0) + 1
        for event_type, count in appended.items():
            _appended_counter(self.domain, event_type).inc(count)

    def _write(
        self,
        engine: Engine,
        appends: Sequence[StreamAppend],
        rows: list[dict[str, Any]],
        meta: Metadata,
        log: dict[str, Any] | None,
        now: str,
    ) -> None:
        """Insert ``rows`` (each with the version its stream must be at), the snapshots due and the command's log
        row in one transaction on the driver's connection; _Refused when a row was not inserted, _Unsent when a
        connection of the writer was found lost before the commit was sent."""
        dialect = engine.dialect
        driver_error = dialect.loaded_dbapi.Error
        committing = lost = False
        keeping = self.kept
        connection: Any = None  # a connection of the engine's pool, unless one is kept for appends
        driver: Any  # psycopg's or sqlite3's connection
        if keeping is not None:
            driver = keeping.take()
        else:
            connection = engine.raw_connection()
            driver = connection.driver_connection
        postgres = dialect.name == "postgresql"
        cursor = driver.cursor()
        writes = driver.cursor() if postgres else cursor  # a pipeline's cursor counts every row it was answered
        try:
            try:
                if postgres:
                    with driver.pipeline():  # sent together, answered on leaving the block: one round trip
                        writes.execute(_TAKE_APPEND_LOCK)  # psycopg begins the transaction before it
                        self._insert(cursor, writes, dialect, appends, rows, log, now)
                    inserted = cursor.rowcount  # the events' own: known once the pipeline is answered
                else:
                    cursor.execute("BEGIN IMMEDIATE")
                    inserted = self._insert(cursor, writes, dialect, appends, rows, log, now)
                if inserted != len(rows):
                    raise _Refused
                # Last, with the write lock held: a command whose caller will have stopped waiting before the
                # commit and the answer get back is not committed (``services.common.write.deadlines``).
                refuse_if_expired(meta.deadline, COMMIT_MARGIN_SECONDS)
                committing = True
                commit_begun()
                driver.commit()
            except BaseException:
                with contextlib.suppress(driver_error):  # a connection lost is found below
                    driver.rollback()
                raise
        except (driver_error, sa.exc.DBAPIError) as exc:
            # what ``Connection.execute`` does with a driver's error: a lost connection leaves the pool, and the
            # error is raised as SQLAlchemy's (``sa.exc.IntegrityError``, ...)
            error: Any = exc.orig if isinstance(exc, sa.exc.DBAPIError) else exc
            lost = dialect.is_disconnect(error, driver, cursor)
            if lost and connection is not None:
                connection.invalidate(error)
                if engine is not self.engine and not committing:
                    raise _Unsent from exc
            if isinstance(exc, sa.exc.DBAPIError):
                raise
            raise sa.exc.DBAPIError.instance("append", None, exc, driver_error, lost, dialect=dialect) from exc
        finally:
            if connection is not None:
                if connection.dbapi_connection is not None:
                    cursor.close()
                    writes.close()
                connection.close()
            elif keeping is not None:
                try:  # kept again only out of any transaction, else closed
                    if lost or driver.in_transaction:
                        driver.close()
                    else:
                        cursor.close()
                        keeping.give_back(driver)
                except driver_error:
                    pass

    def _insert(
        self,
        events: Any,
        writes: Any,
        dialect: sa.Dialect,
        appends: Sequence[StreamAppend],
        rows: list[dict[str, Any]],
        log: dict[str, Any] | None,
        now: str,
    ) -> int:
        """The statements of an append, on the driver's cursors: ``events`` for the events, ``writes`` for the rest
        (the same cursor on SQLite); the events' row count as the driver reports it after their statement (in
        psycopg's pipeline, none yet: there ``events`` counts every row it gets, its events' alone, once answered)."""
        inserted = execute(events, dialect, _APPEND[dialect.name], rows[0] if len(rows) == 1 else rows)
        for item in appends:
            if item.snapshot is not None:
                version, state = item.snapshot
                key = {"stream_type": item.stream_type, "stream_id": item.stream_id}
                execute(writes, dialect, _DELETE_SNAPSHOT, key)
                row = {**key, "stream_version": version, "state": dumps_stored(state), "taken_at": now}
                execute(writes, dialect, _WRITE_SNAPSHOT, row)
        if log is not None:
            execute(writes, dialect, _LOG_COMMAND, log)
        return inserted

    def _refusal(self, appends: Sequence[StreamAppend], idempotency: Idempotency | None) -> Exception:
        """Why an append that was rolled back was refused: a stream not at the version its writer read
        (AlreadyExists for one created twice, VersionConflict with both versions), else the command's key
        recorded meanwhile (DuplicateCommand), else a concurrent change (VersionConflict). Versions only grow,
        so the stream found past the version read after the rollback was past it when the append ran."""
        try:
            with self.reader.connect() as conn:
                self._check_versions(conn, appends)
        except (AlreadyExists, VersionConflict) as refused:
            return refused
        if idempotency and self.recorded_answer(idempotency.key) is not None:
            return DuplicateCommand("this command was already handled", details={"key": idempotency.key})
        return VersionConflict("the stream was changed concurrently; reload and retry")

    @staticmethod
    def _log_row(idempotency: Idempotency, envelopes: list[Envelope], now: str) -> dict[str, Any]:
        """The ``command_log`` row recording the command's answer under its key."""
        result = {**idempotency.result, "event_ids": [e.event_id for e in envelopes]}
        return {
            "idempotency_key": idempotency.key,
            "command": _command_column(idempotency.command, idempotency.fingerprint),
            "result": dumps_stored(result),
            "recorded_at": now,
        }

    def recorded_answer(self, key: str) -> dict[str, Any] | None:
        """The answer recorded for an idempotency key, or None when no command with it was stored."""
        recorded = self.recorded_command(key)
        return recorded.answer if recorded else None

    def recorded_command(self, key: str) -> RecordedCommand | None:
        """What was recorded under an idempotency key (an answer or a refusal), or None."""
        _, rows = fetch(self.engine, _RECORDED_ANSWER, {"key": key})
        return RecordedCommand.from_row(rows[0][0], rows[0][1]) if rows else None

    def record_refusal(self, key: str, fingerprint: str, document: dict[str, Any]) -> None:
        """Record a command's refusal under its key, to be answered again to the same key; a key recorded
        meanwhile (the same command stored or refused by a concurrent attempt) is kept as it is."""
        row = {
            "idempotency_key": key,
            "command": _command_column(REFUSED, fingerprint),
            "result": dumps_stored(document),
            "recorded_at": iso(utc_now()),
        }
        try:
            with self.engine.begin() as conn:
                conn.execute(command_log_table.insert(), row)
        except sa.exc.IntegrityError:
            pass

    def _rows(
        self, item: StreamAppend, meta: Metadata, now: str, sealed: set[tuple[str, str]], envelopes: list[Envelope]
    ) -> list[dict[str, Any]]:
        """The rows inserting ``item``'s events (each envelope's published fields, its payload as JSON text, and the
        version its stream must be at, ``previous``); their envelopes are added to ``envelopes``."""
        rows = []
        for offset, event in enumerate(item.events, start=1):
            event_type, version = event.event_type, event.schema_version
            payload = event.payload()
            if self.personal is not None and sealed_fields(self.domain, event_type, version):
                clear = payload
                payload = seal_payload(self.personal(), self.domain, event_type, version, payload)
                if payload != clear:
                    sealed.add((item.stream_type, item.stream_id))
            if self.validate:
                contracts.validate_payload(self.domain, event_type, version, payload)
            stream_version = item.expected_version + offset
            row = {
                "event_id": random_uuid(),
                "event_type": event_type,
                "schema_version": version,
                "stream_type": item.stream_type,
                "stream_id": item.stream_id,
                "stream_version": stream_version,
                "occurred_at": now,
                "recorded_at": now,
                "district": item.district,
                "agency_id": item.agency_id,
                "actor": meta.actor,
                "correlation_id": meta.correlation_id,
                "causation_id": meta.causation_id,
                "payload": payload,
                "domain": self.domain,
            }
            envelopes.append(Envelope.from_valid(row))  # its fields copied: the row's payload becomes its JSON
            row["payload"] = dumps_payload(payload) if self.validate else dumps_stored(payload)  # see jsontext
            row["previous"] = stream_version - 1
            rows.append(row)
        return rows

    def _check_versions(self, conn: sa.Connection, appends: Sequence[StreamAppend]) -> None:
        current = self._current_versions(conn, [(a.stream_type, a.stream_id) for a in appends])
        for item in appends:
            actual = current.get((item.stream_type, item.stream_id), 0)
            if actual == item.expected_version:
                continue
            details = {"stream_id": item.stream_id, "expected_version": item.expected_version, "actual_version": actual}
            if item.expected_version == 0:
                raise AlreadyExists(f"{item.stream_type} {item.stream_id} already exists", details=details)
            raise VersionConflict(
                f"{item.stream_type} {item.stream_id} is at version {actual}, not {item.expected_version}",
                details=details,
            )

    def _current_versions(self, conn: sa.Connection, keys: list[tuple[str, str]]) -> dict[tuple[str, str], int]:
        t = events_table.c
        if len(keys) == 1:  # the common case, one command on one aggregate: the cheapest query
            ((stream_type, stream_id),) = keys
            version = conn.execute(_STREAM_VERSION, {"stream_type": stream_type, "stream_id": stream_id}).scalar()
            return {keys[0]: version} if version else {}
        versions: dict[tuple[str, str], int] = {}
        by_type: dict[str, list[str]] = {}
        for stream_type, stream_id in keys:
            by_type.setdefault(stream_type, []).append(stream_id)
        for stream_type, ids in by_type.items():
            for chunk in range(0, len(ids), 500):
                query = (
                    sa.select(t.stream_id, sa.func.max(t.stream_version))
                    .where(t.stream_type == stream_type, t.stream_id.in_(ids[chunk : chunk + 500]))
                    .group_by(t.stream_id)
                )
                versions.update({(stream_type, sid): v for sid, v in conn.execute(query)})
        return versions

    # -- reading -------------------------------------------------------------------------------------

    def load(self, cls: type[A], stream_id: str) -> A:
        """The aggregate ``stream_id`` of ``cls``; NotFound when the stream has no event."""
        aggregate = self.find(cls, stream_id)
        if aggregate is None:
            raise NotFound(f"{cls.stream_type} {stream_id} not found", details={"stream_id": stream_id})
        return aggregate

    def find(self, cls: type[A], stream_id: str) -> A | None:
        """The aggregate ``stream_id`` of ``cls``, or None when the stream has no event."""
        key = {"stream_type": cls.stream_type, "stream_id": stream_id}
        # Snapshot first, events after its version second: a snapshot written in between is newer than the one
        # read, and the events after the older one are all still there (no shared transaction is needed).
        _, snapshots = fetch(self.engine, _SNAPSHOT, key)
        snapshot = (snapshots[0][0], json.loads(snapshots[0][1])) if snapshots else None
        if snapshot is not None and not cls.snapshot_fits(snapshot[1]):
            snapshot = None  # taken when the aggregate kept other state: replay the whole stream
        _, rows = fetch(self.engine, _EVENTS_AFTER, {**key, "after": snapshot[0] if snapshot else 0})
        if snapshot is None and not rows:
            return None
        events = [
            event_from_payload(self.domain, kind, version, json.loads(payload)) for kind, version, payload in rows
        ]
        return cls.rehydrate(stream_id, events, snapshot)

    def find_many(self, cls: type[A], stream_ids: Sequence[str]) -> dict[str, A]:
        """The existing aggregates among ``stream_ids`` of ``cls``, loaded together (a few queries per 500 ids)."""
        s = snapshots_table.c
        snapshots: dict[str, tuple[int, dict[str, Any]]] = {}
        events: dict[str, list[Event]] = {}
        rows: list[Any] = []  # rows of (stream_id, stream_version, event_type, schema_version, payload)
        with self.reader.connect() as conn:
            for start in range(0, len(stream_ids), 500):
                chunk = list(stream_ids[start : start + 500])
                # Events first, snapshots second: a snapshot written between the two reads is newer than the
                # one the events were cut at, so it covers them (the filter below drops what it holds); read
                # the other way round, the events would start after a snapshot this load never sees.
                rows += conn.execute(self._events_after_snapshots(cls.stream_type, chunk)).all()
                for row in conn.execute(
                    sa.select(s.stream_id, s.stream_version, s.state).where(
                        s.stream_type == cls.stream_type, s.stream_id.in_(chunk)
                    )
                ):
                    snapshots[row.stream_id] = (row.stream_version, json.loads(row.state))
        domain, unsnapped = self.domain, (0, dict[str, Any]())
        for stream_id, stream_version, event_type, schema_version, payload in rows:  # unpacked: no attribute lookups
            if stream_version > snapshots.get(stream_id, unsnapped)[0]:
                event = event_from_payload(domain, event_type, schema_version, json.loads(payload))
                events.setdefault(stream_id, []).append(event)
        found = set(snapshots) | set(events)
        loaded = {}
        for sid in stream_ids:
            if sid not in found:
                continue
            if sid in snapshots and not cls.snapshot_fits(snapshots[sid][1]):  # an older shape: the whole stream
                loaded[sid] = self.load(cls, sid)
            else:
                loaded[sid] = cls.rehydrate(sid, events.get(sid, []), snapshots.get(sid))
        return loaded

    @staticmethod
    def _events_after_snapshots(stream_type: str, stream_ids: list[str]) -> sa.Select[Any]:
        """The events of ``stream_ids`` after each one's snapshot, in stream order (never the events a snapshot
        already holds: a stream of thousands of events loads from its snapshot and the few after it)."""
        t, s = events_table.c, snapshots_table.c
        joined = events_table.outerjoin(
            snapshots_table, (s.stream_type == t.stream_type) & (s.stream_id == t.stream_id)
        )
        return (
            sa.select(t.stream_id, t.stream_version, t.event_type, t.schema_version, t.payload)
            .select_from(joined)
            .where(t.stream_type == stream_type, t.stream_id.in_(stream_ids))
            .where(t.stream_version > sa.func.coalesce(s.stream_version, 0))
            .order_by(t.stream_id, t.stream_version)
        )

    def stream_ids_of_agency(self, stream_type: str, agency_id: str) -> list[str]:
        """The streams of ``stream_type`` whose aggregate belongs to ``agency_id``, as committed (never behind,
        unlike a read model)."""
        t = events_table.c
        query = sa.select(t.stream_id).where(t.stream_type == stream_type, t.agency_id == agency_id).distinct()
        with self.reader.connect() as conn:
            return sorted(conn.execute(query).scalars())

    def stream_envelopes(self, stream_type: str, stream_id: str) -> list[Envelope]:
        """Every stored envelope of one stream, in version order (the audit trail of one aggregate)."""
        t = events_table.c
        query = (
            sa.select(events_table)
            .where(t.stream_type == stream_type, t.stream_id == stream_id)
            .order_by(t.stream_version)
        )
        with self.reader.connect() as conn:
            return [self._envelope(row) for row in conn.execute(query)]

    def read_all(self, after: int = 0, limit: int = 1000) -> list[Envelope]:
        """Events with position > ``after`` in commit order, at most ``limit``."""
        t = events_table.c
        query = sa.select(events_table).where(t.position > after).order_by(t.position).limit(limit)
        with self.reader.connect() as conn:
            return [self._envelope(row) for row in conn.execute(query)]

    def read_stored(self, after: int = 0, limit: int = 1000) -> list[dict[str, Any]]:
        """Like ``read_all``, as stored: each row's columns with the payload still its JSON text (the relay
        publishes it as it is, without decoding and encoding it again)."""
        names, rows = fetch(self.engine, _STORED_AFTER, {"after": after, "limit": limit})
        return [dict(zip(names, row, strict=True)) for row in rows]

    def _envelope(self, row: sa.Row[Any]) -> Envelope:
        data = row._asdict()
        data["payload"] = json.loads(data["payload"])
        return Envelope(**data)

    def last_position(self) -> int:
        """The highest position in the store (0 when empty)."""
        return int(fetch(self.engine, _LAST_POSITION, {})[1][0][0])

    def recorded_at(self, position: int) -> str | None:
        """When the event at ``position`` was recorded (None if there is none)."""
        rows = fetch(self.engine, _RECORDED_AT, {"position": position})[1]
        return str(rows[0][0]) if rows else None

    def first_recorded_after(self, moment: str) -> str | None:
        """When the store's first event recorded after ``moment`` (ISO 8601, as ``recorded_at``; "" for the
        beginning) was recorded, None if none was: the oldest event a projection whose newest applied event was
        recorded at ``moment`` has not applied, whose age is how far that projection is behind.

        A binary search over positions, a primary-key lookup per step (no index on ``recorded_at`` needed):
        events are recorded in position order (on PostgreSQL two concurrent commits may swap by a few
        milliseconds, which is all this can be off by)."""
        low, high, found = 1, self.last_position(), None
        while low <= high:
            middle = (low + high) // 2
            rows = fetch(self.engine, _AT_OR_AFTER, {"position": middle})[1]
            if not rows or int(rows[0][0]) > high:  # no event in [middle, high] (positions may have gaps)
                high = middle - 1
            elif str(rows[0][1]) > moment:
                found, high = str(rows[0][1]), middle - 1
            else:
                low = int(rows[0][0]) + 1
        return found

    def events_by_actor(self, actor: str, limit: int = 100) -> list[Envelope]:
        """The latest events recorded for ``actor``: who did what (read through ``actor_positions``, brought up to
        date first)."""
        self._index_actors()
        a = actor_positions_table.c
        query = (
            sa.select(events_table)
            .join(actor_positions_table, a.position == events_table.c.position)
            .where(a.actor == actor)
            .order_by(a.position.desc())
            .limit(limit)
        )
        with self.reader.connect() as conn:
            return [self._envelope(row) for row in conn.execute(query)]

    def _index_actors(self) -> None:
        """Add the actor of every event committed after the last one in ``actor_positions``: commit order is
        position order (see above), so every event up to the last one there is there. Two audits at once on
        PostgreSQL may add the same events: the second leaves them as the first added them. Made again from the
        events when lost, so committed without waiting for the disk (``db.unsynced``)."""
        dialect = postgresql if is_postgres(self.engine) else sqlite
        with unsynced(self.engine).begin() as conn:
            new = dialect.insert(actor_positions_table).from_select(["position", "actor"], _NOT_INDEXED)
            conn.execute(new.on_conflict_do_nothing())

    # -- relay progress ------------------------------------------------------------------------------

    def relay_position(self, topic: str) -> int:
        """The last position the relay has had acknowledged on ``topic``."""
        rows = fetch(self.engine, _RELAY_POSITION, {"t": topic})[1]
        return int(rows[0][0]) if rows else 0

    def set_relay_position(self, topic: str, position: int, log: RelayLog | None = None) -> None:
        """Record that every event up to ``position`` was acknowledged on ``topic`` (and, with ``log``, on which
        log and up to which offsets, in the same transaction)."""
        now = iso(utc_now())
        values = {"t": topic, "position": position, "updated_at": now}
        # not synced to disk: a power cut takes it back at most to a position recorded before, from which the relay
        # publishes again what the consumers will drop as applied (an event's commit itself is synced)
        with unsynced(self.engine).begin() as conn:
            if not conn.execute(_SET_RELAY_POSITION, values).rowcount:
                row = {"topic": topic, "position": position, "updated_at": now}
                conn.execute(relay_progress_table.insert(), row)
            if log is not None:
                self._write_relay_log(conn, topic, log, now)

    def reset_relay(self, topic: str) -> int:
        """Make the next relay of ``topic`` publish the whole store again from position 0, on whatever topic it
        finds (its recorded log is forgotten): after the store's history was rewritten (``rekeying``) and the topic
        made anew. Returns the position it had reached. Stop the relay first: a running one keeps its position in
        memory and records it again."""
        with self.engine.begin() as conn:
            position = conn.execute(_RELAY_POSITION, {"t": topic}).scalar()
            conn.execute(relay_progress_table.delete().where(relay_progress_table.c.topic == topic))
            conn.execute(relay_logs_table.delete().where(relay_logs_table.c.topic == topic))
        return int(position or 0)

    def count_redelivery(self, correlation_id: str, routing_key: str) -> int:
        """Count one more delivery again of the RPC request ``correlation_id``; how many there have been."""
        t = rpc_redeliveries_table
        key = t.c.correlation_id == correlation_id
        with self.engine.begin() as conn:
            if not conn.execute(t.update().where(key).values(redeliveries=t.c.redeliveries + 1)).rowcount:
                row = {"correlation_id": correlation_id, "routing_key": routing_key, "redeliveries": 1}
                conn.execute(t.insert(), row | {"first_at": iso(utc_now())})
            return int(conn.execute(sa.select(t.c.redeliveries).where(key)).scalar_one())

    def dead_letter_request(self, correlation_id: str, body: Any) -> None:
        """Keep the RPC request ``correlation_id`` that was not handled (its body, when) for inspection: the
        personal fields of its payloads sealed under their subjects' keys (``personal.seal_request``), so that it
        can be read again until a subject is erased, and a clear value is never kept here for ever."""
        t = rpc_redeliveries_table
        if isinstance(body, dict):
            args = [seal_request(self.personal, self.domain, a) for a in body.get("args") or []]
            kwargs = {k: seal_request(self.personal, self.domain, v) for k, v in (body.get("kwargs") or {}).items()}
            body = {**body, "args": args, "kwargs": kwargs}
        request = json.dumps(body, ensure_ascii=False, default=str)
        values = {"dead_lettered_at": iso(utc_now()), "request": request[:65536]}
        with self.engine.begin() as conn:
            conn.execute(t.update().where(t.c.correlation_id == correlation_id).values(**values))

    def dead_lettered_requests(self) -> list[dict[str, Any]]:
        """The RPC requests dead-lettered, oldest first."""
        t = rpc_redeliveries_table
        with self.engine.connect() as conn:
            query = sa.select(t).where(t.c.dead_lettered_at.is_not(None)).order_by(t.c.dead_lettered_at)
            return [dict(row._mapping) for row in conn.execute(query)]

    def relay_log(self, topic: str) -> RelayLog | None:
        """The log the relay of ``topic`` last recorded (None before its first acknowledged round)."""
        t = relay_logs_table.c
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(t.topic_id, t.marks).where(t.topic == topic)).first()
        if row is None:
            return None
        return RelayLog(str(row.topic_id), {int(p): int(o) for p, o in json.loads(row.marks).items()})

    def set_relay_log(self, topic: str, log: RelayLog) -> None:
        """Record the log the relay of ``topic`` publishes to (its position unchanged)."""
        with self.engine.begin() as conn:
            self._write_relay_log(conn, topic, log, iso(utc_now()))

    @staticmethod
    def _write_relay_log(conn: sa.Connection, topic: str, log: RelayLog, now: str) -> None:
        values = {"topic_id": log.topic_id, "marks": json.dumps(log.marks, sort_keys=True), "updated_at": now}
        table = relay_logs_table
        if not conn.execute(table.update().where(table.c.topic == topic).values(**values)).rowcount:
            conn.execute(table.insert(), {"topic": topic, **values})


def _command_column(command: str, fingerprint: str | None) -> str:
    """The ``command`` column of a ``command_log`` row: the command and the fingerprint of its input (the
    column is kept, not a new one added, so the stores need no migration; it held the service's name)."""
    return f"{command}#{fingerprint}" if fingerprint else command
