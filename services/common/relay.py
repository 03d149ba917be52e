"""The outbox relay: publishes a store's events to ``<domain>.events`` in commit order.

Each round reads the next events after the recorded position, sends them keyed by stream id with the
idempotent ``acks=all`` producer, waits until the broker acknowledged every one, and only then records
the new position. Killed at any point, a relay resumes from the last recorded position: nothing is lost,
and what was sent but not recorded is sent again (consumers absorb duplicates by ``event_id``).

Run inside a service (``services.common.rpc.OutboxRelayRunner``) or alone::

    python -m services.common.relay office_space                    # follow the store
    python -m services.common.relay office_space --http-port 9100   # ... serving /metrics and /health/*
    python -m services.common.relay office_space --republish        # re-publish the whole store, with progress

Alone is how production runs it: exactly one relay per store (``RELAY_IN_PROCESS=false`` on the
service replicas), so commit order is kept without the replicas competing for the same rows.
"""

from __future__ import annotations

import argparse
import threading
import time
from datetime import datetime

from kafka import KafkaProducer

from services.common.broker import ensure_topics, make_producer, stored_message
from services.common.cloud_events import cloudevent_headers
from services.common.events import utc_now
from services.common.health import HealthChecks, serve_ops_http
from services.common.log import configure_logging, get_logger
from services.common.metrics import EVENTS_PUBLISHED, OUTBOX_AGE, OUTBOX_BACKLOG
from services.common.progress import Progress
from services.common.settings import SERVICES, settings, topic_for
from services.common.store import EventStore

log = get_logger()


class OutboxRelay:
    """Moves committed events from one store to its Kafka topic."""

    def __init__(self, store: EventStore, producer: KafkaProducer, topic: str, batch: int = 500) -> None:
        self.store = store
        self.producer = producer
        self.topic = topic
        self.batch = batch
        self.position = store.relay_position(topic)
        self.wakeup = threading.Event()
        self._reported_at = 0.0

    def publish_once(self) -> int:
        """Publish the next batch; returns how many events the broker acknowledged."""
        rows = self.store.read_stored(after=self.position, limit=self.batch)
        if not rows:
            self._report_backlog(force=True)
            return 0
        futures = []
        for row in rows:
            key, value, headers = stored_message(row)
            headers += cloudevent_headers(row)  # CloudEvents 1.0 binary mode (services.common.cloud_events)
            futures.append(self.producer.send(self.topic, key=key, value=value, headers=headers))
        self.producer.flush()
        for future in futures:
            future.get(timeout=30)  # raises if any was not acknowledged: the position is then not moved
        last = int(rows[-1]["position"])
        self.store.set_relay_position(self.topic, last)
        self.position = last
        EVENTS_PUBLISHED.labels(self.store.domain, self.topic).inc(len(rows))
        self._report_backlog()
        return len(rows)

    def _report_backlog(self, force: bool = False) -> None:
        """Set the backlog gauges: after every idle round, at most once a second while publishing (the two
        queries would otherwise double a busy relay's reads)."""
        if not force and time.monotonic() - self._reported_at < 1.0:
            return
        self._reported_at = time.monotonic()
        last = self.store.last_position()
        OUTBOX_BACKLOG.labels(self.store.domain).set(last - self.position)
        oldest = self.store.recorded_at(self.position + 1) if last > self.position else None
        age = (utc_now() - datetime.fromisoformat(oldest)).total_seconds() if oldest else 0.0
        OUTBOX_AGE.labels(self.store.domain).set(max(age, 0.0))

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
                stop.wait(1.0)
                continue
            if published < self.batch:
                woken = self.wakeup.wait(idle_seconds)
                self.wakeup.clear()
                if woken and linger_seconds:
                    stop.wait(linger_seconds)
        log.info("relay_stopped", topic=self.topic, position=self.position)

    def republish(self) -> int:
        """Publish the whole store again from position 0, with progress."""
        self.position = 0
        progress = Progress(f"republish {self.topic}", total=self.store.last_position())
        while published := self.publish_once():
            progress.advance(published)
        progress.finish()
        return progress.done


def connect(store: EventStore, topic: str, stop: threading.Event) -> OutboxRelay | None:
    """The relay of ``store`` to ``topic``, once Kafka answers: its topics made sure of and its producer made,
    tried again every second while the broker cannot be reached (None if ``stop`` is set meanwhile)."""
    config = settings()
    while not stop.is_set():
        try:
            ensure_topics(config.kafka_bootstrap, [topic, f"{topic}.dlq"], config.topic_partitions)
            return OutboxRelay(store, make_producer(config.kafka_bootstrap), topic, config.relay_batch)
        except Exception as exc:  # the broker is not there (yet): the process runs on, unready
            log.warning("relay_waiting_for_kafka", topic=topic, error=f"{type(exc).__name__}: {exc}"[:300])
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
    relay.run(stop, config.relay_idle_seconds, config.relay_linger_seconds)


if __name__ == "__main__":
    main()
