"""The outbox relay: publishes a store's events to ``<domain>.events`` in commit order.

Each round reads the next events after those it sent, and sends them keyed by stream id with the idempotent
``acks=all`` producer. A batch's position is recorded only once the broker acknowledged every one of its events,
and only after the batches before it: while the relay has more to send, it leaves a full batch in flight and
records it in the next round (reading and sending the next batch meanwhile, rather than waiting a round trip per
batch); caught up, it waits for everything sent and records it. An event the broker refused or did not answer
fails the round: the position stays after the last batch acknowledged in full, and the relay sends everything
after it again. Killed at any point, a relay resumes from the last recorded position: nothing is lost, and what
was sent but not recorded is sent again (consumers absorb duplicates by ``event_id``).

Run inside a service (``services.common.runtime.dependencies.OutboxRelayRunner``) or alone::

    python -m services.common.runtime.relay office_space                    # follow the store
    python -m services.common.runtime.relay office_space --http-port 9100   # ... serving /metrics and /health/*
    python -m services.common.runtime.relay office_space --republish        # re-publish the whole store, with progress

Alone is how production runs it: exactly one relay per store (``RELAY_IN_PROCESS=false`` on the
service replicas), so commit order is kept without the replicas competing for the same rows.

A relay notices a broker that lost its events (``services.common.read.positions.relay_lost``): at start, after
any failed round and every ``check_seconds`` it compares the topic's id and its partitions' ends with what it
recorded beside its position (``relay_logs``); a topic made anew (a fresh memory-only broker, a deleted topic)
or a partition ending before the offset the broker acknowledged means the events are gone, and the relay
publishes its whole store again (consumers ignore what they applied already, by ``event_id``). A failed round
also replaces the producer: an idempotent producer that a fresh broker does not know fails for ever with
``UnknownProducerId``.

The periodic check keeps one admin client (replaced with the producer after a failed round), which asks for the
topics and for their partitions' ends alike (no consumer of its own: each Kafka client is a connection and an IO
loop more in the process), and runs on a thread of its own: against a broker that stopped answering, the admin
client waits out its timeouts there, while the publishing thread goes on with its rounds (which fail, and reconnect,
on their own). Its verdict is applied by the publishing thread before its next round; the check at start and the one
after a failed round are made by the publishing thread itself, before it sends anything.
"""

from __future__ import annotations

import argparse
import threading
import time
from collections import deque
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from kafka import KafkaAdminClient, KafkaProducer, TopicPartition
from kafka.admin import OffsetSpec
from kafka.errors import KafkaTimeoutError
from kafka.producer.future import RecordMetadata

from services.common.base.log import configure_logging, get_logger, standard_streams_lossy
from services.common.base.memory import startup_objects_frozen
from services.common.base.metrics import BROKER_LOSSES, EVENTS_PUBLISHED, OUTBOX_AGE, OUTBOX_BACKLOG
from services.common.base.settings import SERVICES, settings, topic_for
from services.common.kernel.clock import utc_now
from services.common.read.broker import ensure_topics, make_admin, make_producer, stored_message
from services.common.read.positions import relay_lost
from services.common.read.progress import Progress
from services.common.runtime.health import HealthChecks, serve_ops_http
from services.common.write.cloud_events import cloudevent_headers
from services.common.write.store import EventStore, RelayLog

log = get_logger()


def relay_message(row: Mapping[str, Any]) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    """(key, value, headers) of the message the relay sends for a stored event row: the envelope's message
    (``services.common.read.broker.stored_message``) with the CloudEvents 1.0 binary-mode headers
    (``services.common.write.cloud_events``)."""
    key, value, headers = stored_message(row)
    headers += cloudevent_headers(row)
    return key, value, headers


class InFlight:
    """A batch of events sent and not yet recorded: its last position, and what the broker answered for each of
    its events (called back on the producer's thread, or on the sending one when an answer came first).

    Only this is kept of a sent event, not its future: the futures and their metadata die as soon as the broker
    answers, as a raw producer's do, instead of living (and being scanned by the garbage collector) until the
    batch is recorded."""

    def __init__(self, last: int, count: int) -> None:
        self.last = last
        self.count = count
        self.firsts: dict[int, int] = {}  # partition: its lowest acknowledged offset
        self.error: BaseException | None = None
        self._waiting = count
        self._lock = threading.Lock()
        self._answered = threading.Event()

    def acknowledged(self, sent: RecordMetadata) -> None:
        with self._lock:
            first = self.firsts.get(sent.partition)
            if first is None or sent.offset < first:
                self.firsts[sent.partition] = sent.offset
            self._arrived()

    def failed(self, error: BaseException) -> None:
        with self._lock:
            self.error = self.error or error
            self._arrived()

    def _arrived(self) -> None:
        self._waiting -= 1
        if not self._waiting:
            self._answered.set()

    def wait(self, timeout: float) -> dict[int, int]:
        """Each partition's first offset, once the broker acknowledged every event; raises if it failed one or
        did not answer within ``timeout`` seconds."""
        if not self._answered.wait(timeout):
            raise KafkaTimeoutError(f"{self._waiting} of {self.count} events not answered after {timeout}s")
        if self.error is not None:
            raise self.error
        return self.firsts


class OutboxRelay:
    """Moves committed events from one store to its Kafka topic."""

    def __init__(
        self,
        store: EventStore,
        producer: KafkaProducer,
        topic: str,
        batch: int = 500,
        check_seconds: float = 5.0,
        ahead: int = 1,
    ) -> None:
        self.store = store
        self.producer = producer
        self.topic = topic
        self.batch = batch
        self.check_seconds = check_seconds
        self.ahead = ahead  # full batches left in flight, unrecorded, while the next is read and sent
        self.position = store.relay_position(topic)  # acknowledged by the broker and recorded
        self._sent = self.position  # sent: the next round reads after it
        self._in_flight: deque[InFlight] = deque()  # sent, oldest first, not yet recorded
        self.wakeup = threading.Event()
        self._reported_at = 0.0
        self._reported_position: int | None = None  # the position the backlog gauges were last set at
        self.bootstrap = str(producer.config["bootstrap_servers"])
        # the limits of the producer it was given, kept by the producers that replace it and followed by the
        # admin client: a relay whose producer gives up on a broker after 500 ms does not wait 30 s for its admin
        limits = ("request_timeout_ms", "max_block_ms", "api_version")
        self._limits = {key: producer.config[key] for key in limits if key in producer.config}
        recorded = store.relay_log(topic)
        self._topic_id = recorded.topic_id if recorded else None
        self._marks: dict[int, int] = dict(recorded.marks) if recorded else {}
        self._admin: KafkaAdminClient | None = None
        self._checked_at: float | None = None  # None: check before the next round
        self._generation = 0  # bumped with the clients: a background look made with older ones is dropped
        self._looker: threading.Thread | None = None
        self._looked: tuple[int, str | None, str | None, str] | None = None  # generation, id looked from, lost, id

    def publish_once(self) -> int:
        """Send the next batch; returns how many events it sent.

        A full batch is left in flight: the next round reads and sends the following one while the broker
        acknowledges it, and records the position of the batches before, waiting only for those more than
        ``ahead`` rounds old. A round that finds less than a full batch (the relay caught up) waits until the broker
        acknowledged everything sent and records it, so it returns with the position at the store's end."""
        self._apply_background_look()
        if self._checked_at is None:
            self.check_broker()
        elif time.monotonic() - self._checked_at >= self.check_seconds:
            self._look_in_background()
        try:
            rows = self.store.read_stored(after=self._sent, limit=self.batch)
            if rows:
                batch = InFlight(int(rows[-1]["position"]), len(rows))
                send, topic, acknowledged, failed = self.producer.send, self.topic, batch.acknowledged, batch.failed
                for row in rows:
                    key, value, headers = relay_message(row)
                    send(topic, key=key, value=value, headers=headers).add_callback(acknowledged).add_errback(failed)
                self._in_flight.append(batch)
                self._sent = batch.last
            if len(rows) < self.batch:
                if self._in_flight:  # an idle round (nothing sent, nothing waiting) leaves the producer's IO loop be
                    self.producer.flush()
                    self._record(len(self._in_flight))
            else:
                self._record(len(self._in_flight) - self.ahead)
        except BaseException:
            self._rewind(self.position)  # what was not acknowledged is read and sent again
            raise
        if rows or self.position != self._reported_position:
            self._report_backlog(force=not rows)
        return len(rows)

    def _record(self, count: int) -> None:
        """Wait for the broker to acknowledge the ``count`` oldest batches in flight and record the position past
        them (raises if any event was not acknowledged: the position then stays before that batch)."""
        if count <= 0:
            return
        marks, last, acknowledged = dict(self._marks), self.position, 0
        try:
            for _ in range(count):
                batch = self._in_flight[0]
                firsts = batch.wait(timeout=30)  # raises if any event was not acknowledged
                # each partition's mark: its first event of this batch + 1, which every broker's reported end
                # reaches (Tansu's is its last batch's base offset + 1; ``services.common.read.positions``)
                marks.update({partition: offset + 1 for partition, offset in firsts.items()})
                last, acknowledged = batch.last, acknowledged + batch.count
                self._in_flight.popleft()
        finally:  # the batches acknowledged before one that failed are recorded all the same
            if acknowledged:
                log_now = RelayLog(self._topic_id, marks) if self._topic_id else None
                self.store.set_relay_position(self.topic, last, log_now)
                self.position, self._marks = last, marks
                EVENTS_PUBLISHED.labels(self.store.domain, self.topic).inc(acknowledged)

    def _rewind(self, position: int) -> None:
        """Read and send again from ``position``: the batches in flight are forgotten (never recorded)."""
        self.position = self._sent = position
        self._in_flight.clear()

    def check_broker(self) -> str | None:
        """Make sure of the topics and compare the log with what was recorded; when the broker lost acknowledged
        events, start again from position 0. Returns why it did (None when nothing was lost)."""
        lost, topic_id = self._look(self._topic_id, dict(self._marks))
        self._apply(lost, topic_id)
        return lost

    def _look(self, topic_id: str | None, marks: dict[int, int]) -> tuple[str | None, str]:
        """Why the broker lost events recorded as ``topic_id`` and ``marks`` (None if it did not), and the topic's
        id now. The marks are taken before the ends are asked for: ends only grow, so a round publishing meanwhile
        cannot make a log look shorter than it is."""
        logs = ensure_topics(
            self.bootstrap, [self.topic, f"{self.topic}.dlq"], settings().topic_partitions, admin=self._admin_client()
        )
        topic_log = logs[self.topic]
        latest = {TopicPartition(self.topic, p): OffsetSpec.LATEST for p in range(topic_log.partitions)}
        ends = {tp.partition: found.offset for tp, found in self._admin_client().list_partition_offsets(latest).items()}
        lost = relay_lost(topic_id, marks, topic_log.topic_id, ends)
        if lost:
            log.info("relay_broker_log_seen", topic=self.topic, recorded=marks, ends=ends, topic_id=topic_log.topic_id)
        return lost, topic_log.topic_id

    def _look_in_background(self) -> None:
        """Start the periodic look at the broker on its own thread (unless one is still waiting for the broker)."""
        if self._looker is not None and self._looker.is_alive():
            return
        generation, topic_id, marks = self._generation, self._topic_id, dict(self._marks)

        def look() -> None:
            try:
                lost, now_id = self._look(topic_id, marks)
            except Exception as exc:  # the broker does not answer: the publishing rounds fail and reconnect
                log.warning("relay_broker_check_failed", topic=self.topic, error=f"{type(exc).__name__}: {exc}"[:300])
                return
            self._looked = (generation, topic_id, lost, now_id)

        self._checked_at = time.monotonic()
        self._looker = threading.Thread(target=look, name=f"{self.topic}-broker-check", daemon=True)
        self._looker.start()

    def _apply_background_look(self) -> None:
        """Apply the verdict of the last background look, if it was made with the current clients and log."""
        looked, self._looked = self._looked, None
        if looked is None:
            return
        generation, topic_id, lost, now_id = looked
        if generation == self._generation and topic_id == self._topic_id:
            self._apply(lost, now_id)

    def _apply(self, lost: str | None, topic_id: str) -> None:
        """Act on a look at the broker: start again from position 0 when it lost events, else record its id."""
        if lost:
            log.warning(
                "relay_broker_lost_events",
                topic=self.topic,
                reason=lost,
                position=self.position,
                recorded=self._marks,
            )
            BROKER_LOSSES.labels(self.store.domain, self.topic, lost).inc()
            self._rewind(0)
            self._marks = {}
            self._topic_id = topic_id
            self.store.set_relay_position(self.topic, self.position, RelayLog(self._topic_id, self._marks))
        elif topic_id != self._topic_id:
            self._topic_id = topic_id
            self.store.set_relay_log(self.topic, RelayLog(self._topic_id, self._marks))
        self._checked_at = time.monotonic()

    def _admin_client(self) -> KafkaAdminClient:
        """The admin client of the topic checks, made once and kept until a failed round replaces it."""
        if self._admin is None:
            limits = {k: v for k, v in self._limits.items() if k != "max_block_ms"}
            if "request_timeout_ms" in limits:
                limits["bootstrap_timeout_ms"] = limits["request_timeout_ms"]
            self._admin = make_admin(self.bootstrap, **limits)
        return self._admin

    def reconnect(self) -> None:
        """Replace the producer and the admin client (after a failed round): a producer the broker no longer knows
        (a fresh broker: ``UnknownProducerId``) never succeeds again; the broker is checked before the next
        round."""
        old, self.producer = self.producer, make_producer(self.bootstrap, **self._limits)
        admin, self._admin = self._admin, None
        self._generation += 1
        self._checked_at = None
        self._rewind(self.position)
        self._close_quietly(old, admin)

    def close(self) -> None:
        """Close the relay's clients (the producer, the admin client): before its broker stops, so that no client
        is left reconnecting to it."""
        admin, self._admin = self._admin, None
        self._close_quietly(self.producer, admin)

    def _close_quietly(self, *clients: Any) -> None:
        for client in clients:
            try:
                if client is not None:
                    client.close(timeout=0) if isinstance(client, KafkaProducer) else client.close()
            except Exception:  # the old broker is gone: nothing to say goodbye to
                log.debug("relay_client_close_failed", topic=self.topic)

    def _report_backlog(self, force: bool = False) -> None:
        """Set the backlog gauges: after the first idle round at a position, at most once a second while publishing
        (the two queries would otherwise double a busy relay's reads). An idle round at the position they were set
        at has nothing to change: it found nothing after the position, so the backlog is still none."""
        if not force and time.monotonic() - self._reported_at < 1.0:
            return
        self._reported_at = time.monotonic()
        report_backlog(self.store, self.position)
        self._reported_position = self.position

    def run(self, stop: threading.Event, idle_seconds: float = 0.2, linger_seconds: float = 0.0) -> None:
        """Publish until ``stop`` is set; sleep ``idle_seconds`` (or until woken) when nothing is new.

        Woken by a commit, the relay lingers ``linger_seconds`` first, so that the commands committed meanwhile
        go to the broker in the same round (one produce request and one position update for several events
        instead of one each, for a few milliseconds more between a commit and its event on Kafka).
        """
        log.info("relay_started", topic=self.topic, position=self.position)
        while not stop.is_set():
            try:
                published = self.publish_once()
            except Exception:
                log.exception("relay_round_failed", topic=self.topic, position=self.position)
                _report_backlog_quietly(self.store, self.position, self.topic)
                stop.wait(1.0)
                try:
                    self.reconnect()
                except Exception:  # the broker cannot be reached yet: tried again after the next failed round
                    log.warning("relay_reconnect_failed", topic=self.topic)
                continue
            if published < self.batch:
                woken = self.wakeup.wait(idle_seconds)
                self.wakeup.clear()
                if woken and linger_seconds:
                    stop.wait(linger_seconds)
        if self._in_flight:  # stopped with batches in flight: what the broker acknowledges soon is not sent again
            try:
                self.producer.flush(timeout=5)
                self._record(len(self._in_flight))
            except Exception:
                log.warning("relay_in_flight_not_recorded", topic=self.topic, position=self.position)
        log.info("relay_stopped", topic=self.topic, position=self.position)

    def republish(self) -> int:
        """Publish the whole store again from position 0, with progress."""
        self.check_broker()
        self._rewind(0)
        progress = Progress(f"republish {self.topic}", total=self.store.last_position())
        while published := self.publish_once():
            progress.advance(published)
        progress.finish()
        return progress.done


def report_backlog(store: EventStore, position: int) -> None:
    """Set the outbox gauges of ``store`` from the relay's acknowledged ``position``: how many events and how old
    the oldest are that Kafka has not acknowledged. Done also while the relay cannot publish (its rounds fail, or
    it waits for Kafka), so an outbox that cannot publish shows as an age that grows and fires its alert."""
    last = store.last_position()
    OUTBOX_BACKLOG.labels(store.domain).set(last - position)
    oldest = store.recorded_at(position + 1) if last > position else None
    age = (utc_now() - datetime.fromisoformat(oldest)).total_seconds() if oldest else 0.0
    OUTBOX_AGE.labels(store.domain).set(max(age, 0.0))


def _report_backlog_quietly(store: EventStore, position: int | None, topic: str) -> None:
    try:
        report_backlog(store, store.relay_position(topic) if position is None else position)
    except Exception:  # the store itself is unreachable: its own readiness check says so
        log.warning("outbox_backlog_not_reported", domain=store.domain)


def connect(store: EventStore, topic: str, stop: threading.Event) -> OutboxRelay | None:
    """The relay of ``store`` to ``topic``, once Kafka answers: its topics made sure of and its producer made,
    tried again every second while the broker cannot be reached (None if ``stop`` is set meanwhile)."""
    config = settings()
    while not stop.is_set():
        try:
            relay = OutboxRelay(store, make_producer(config.kafka_bootstrap), topic, config.relay_batch)
            relay.check_broker()  # the topics made sure of, and a broker that lost the events noticed
            return relay
        except Exception as exc:  # the broker is not there (yet): the process runs on, unready
            log.warning("relay_waiting_for_kafka", topic=topic, error=f"{type(exc).__name__}: {exc}"[:300])
            _report_backlog_quietly(store, None, topic)
            stop.wait(1.0)
    return None


def main(argv: list[str] | None = None) -> None:
    """Run one service's relay as a process."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("service", choices=SERVICES)
    parser.add_argument("--republish", action="store_true", help="publish the whole store again, then exit")
    parser.add_argument("--http-port", type=int, default=0, help="serve /metrics and /health/* on this port")
    args = parser.parse_args(argv)
    config = settings()
    standard_streams_lossy()  # a full disk must not end the process through a write to stderr
    configure_logging(f"{args.service}-relay", config.log_level)
    store = EventStore.open(config.database_url(args.service), args.service, config.snapshot_every)
    if args.http_port:
        checks = HealthChecks.standard(f"{args.service}-relay", lambda: store.engine, rabbitmq=False)
        serve_ops_http(config.http_host, args.http_port, checks)
    stop = threading.Event()
    relay = connect(store, topic_for(args.service), stop)
    assert relay is not None  # nothing sets ``stop``: SIGTERM ends the process
    if args.republish:
        relay.republish()
        return
    startup_objects_frozen()
    relay.run(stop, config.relay_idle_seconds, config.relay_linger_seconds)


if __name__ == "__main__":
    main()
