"""Energy ingestion end to end: readings accepted → stored → on Kafka, beside the raw kafka-python producer.

Two scenarios (meters installed beforehand, not timed):

- ``city hour``: 5,000 meters × 12 readings (an hour of 5-minute readings), five requests of 1,000 meters;
- ``district day``: a district back-filling a day, 1,000 meters × 288 readings, in requests of at most
  100,000 readings (``MAX_READINGS_PER_BATCH``).

Paths measured, each in the same run on the same broker:

- ``service``: the service's real ``record_readings`` command (schema validation, bulk load, domain,
  one transaction per request through the event store) called in-process, with the outbox relay
  publishing to Kafka in a thread (as inside a service process), then again with the relay as a process
  of its own (as production runs it, one per store); the clock stops when the broker has acknowledged
  the last event;
- ``rpc``: the same through nameko RPC to the energy service running as its own process (relay and
  read-model projector out of process, as in production), when RabbitMQ answers;
- ``raw producer``: a raw kafka-python producer (idempotent, ``acks=all``) sending the very messages the
  relay sent (the same keys, values and headers) — the broker's and client's ceiling for this data on this
  machine; connected before the clock starts, the median of three rounds.
- ``data center``: the gateway's energy projection applying every event of the run (it aggregates per
  agency, kind and day; no reading is kept).

Rates are readings per second (a message carries one meter's batch). ``run(bootstrap, db_url)`` returns
the figures; ``main()`` starts Tansu, uses a temporary SQLite store (``--postgres`` for a fresh PostgreSQL
database) and prints them. ``--profile`` prints where the in-process path spends its time (cProfile).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from nameko.standalone.rpc import ClusterRpcProxy
from nameko.testing.services import worker_factory

from services.common.base.db import create_db_engine
from services.common.base.log import configure_logging
from services.common.base.memory import startup_objects_frozen
from services.common.base.settings import settings
from services.common.kernel.events import Metadata
from services.common.read.broker import ensure_topics, make_producer
from services.common.read.projector import Projector
from services.common.runtime.processes import (
    ProcessGroup,
    free_port,
    healthy,
    port_open,
    service_argv,
    start_tansu,
    wait_until,
)
from services.common.runtime.relay import OutboxRelay, relay_message
from services.common.runtime.runner import nameko_config
from services.common.write.store import EventStore
from services.energy.domain.meters import Meter
from services.energy.domain.rollups import FACTORS_2022
from services.energy.schemas import MAX_READINGS_PER_BATCH
from services.energy.service import EnergyService
from services.gateway.views import energy as dc_energy
from services.gateway.views import prepare_database
from services.gateway.views.energy import EnergyFigures

TOPIC = "energy.events"
SCENARIOS = {"city_hour": (5_000, 12, 1_000), "district_day": (1_000, 288, 340)}
"""Scenario: (meters, readings per meter, meters per request): the city's hour arrives as five districts'
requests of 1,000 meters (12,000 readings each); the back-filled day in requests of at most 100,000 readings."""
START = (datetime.now(UTC) - timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
"""Readings begin two days ago (never in the future); each run uses meters of its own."""


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# -- the data -------------------------------------------------------------------------------------------


def install(store: EventStore, prefix: str, count: int) -> list[str]:
    """Install ``count`` meters (not timed)."""
    ids = [f"{prefix}-{n:05d}" for n in range(count)]
    installed_at = START - timedelta(minutes=5)
    for start in range(0, count, 1000):
        meters = [
            Meter.install(
                meter_id=meter_id,
                serial_no=f"SN-{meter_id}",
                kind="electricity",
                agency_id=f"AG-{n % 200:03d}",
                district="320402",
                building_id=f"B-{n % 400:03d}",
                sub_item="none",
                multiplier=1.0,
                rollover_limit=1e8,
                initial_reading=1000.0,
                installed_at=installed_at,
                now=START,
            )
            for n, meter_id in enumerate(ids[start : start + 1000], start=start)
        ]
        store.save_all(meters, Metadata(actor="bench"))
    return ids


def requests(meter_ids: list[str], per_meter: int, per_request: int) -> list[dict[str, Any]]:
    """Multi-meter batches of ``per_request`` meters, readings every 5 minutes from START."""
    assert per_request * per_meter <= MAX_READINGS_PER_BATCH
    times = [(START + timedelta(minutes=5 * (n + 1))).isoformat() for n in range(per_meter)]
    batches = []
    for start in range(0, len(meter_ids), per_request):
        meters = [
            {"meter_id": m, "readings": [[at, 1000.0 + (n + 1) * (1 + i % 7) * 0.25] for n, at in enumerate(times)]}
            for i, m in enumerate(meter_ids[start : start + per_request])
        ]
        batches.append({"meters": meters})
    return batches


# -- the paths ------------------------------------------------------------------------------------------


class _Waker:
    def __init__(self, relay: OutboxRelay) -> None:
        self.relay = relay

    def wake(self) -> None:
        self.relay.wakeup.set()


def _published(store: EventStore, target: int, timeout: float = 600) -> None:
    wait_until(lambda: store.relay_position(TOPIC) >= target, timeout, "the relay", interval=0.01)


def _figures(label: str, readings: int, messages: int, stored_s: float, total_s: float) -> dict[str, Any]:
    rate = readings / total_s
    log(
        f"  {label:44} {rate:>10,.0f} readings/s end to end  ({readings:,} readings, {messages:,} messages; "
        f"stored in {stored_s:.2f}s, on Kafka after {total_s:.2f}s)"
    )
    return {
        "label": label,
        "readings": readings,
        "messages": messages,
        "stored_seconds": round(stored_s, 3),
        "seconds": round(total_s, 3),
        "rate": round(rate, 1),
        "stored_rate": round(readings / stored_s, 1),
    }


def _relay_process(tmp: str, bootstrap: str, db_url: str) -> ProcessGroup:
    """The store's outbox relay as a process of its own, as production runs it (``RELAY_IN_PROCESS=false``)."""
    env = {**os.environ, "KAFKA_BOOTSTRAP": bootstrap, "DATABASE_URL_ENERGY": db_url, "RELAY_IDLE_SECONDS": "0.02"}
    group = ProcessGroup(Path(tmp), env | {"VAR_DIR": tmp, "LOG_LEVEL": "WARNING"})
    group.spawn("energy-relay", [sys.executable, "-m", "services.common.runtime.relay", "energy"])
    return group


def bench_service(
    store: EventStore, bootstrap: str, db_url: str, scenario: str, relay_process: bool, profile: bool = False
) -> dict[str, Any]:
    """The service's command in-process; the relay in a thread (as inside the service) or as a process of its
    own (as in production); the clock stops when Kafka acknowledged the last event."""
    count, per_meter, per_request = SCENARIOS[scenario]
    prefix = f"{'P' if relay_process else 'T'}{scenario[:1]}"
    batches = requests(install(store, prefix, count), per_meter, per_request)
    relay = OutboxRelay(store, make_producer(bootstrap), TOPIC, settings().relay_batch)
    stop = threading.Event()
    with tempfile.TemporaryDirectory(prefix="gov-bench-relay-") as tmp:
        group = _relay_process(tmp, bootstrap, db_url) if relay_process else None
        thread = threading.Thread(target=relay.run, args=(stop, 0.05), daemon=True)
        # the installations published before the clock starts, by the relay measured: the relay process is then
        # running (started, connected, its first rounds done) as production's is, not starting on the clock
        if group is None:
            while relay.publish_once():
                pass
            thread.start()
        else:
            _published(store, store.last_position(), timeout=120)
        service = worker_factory(
            EnergyService,
            store=store,
            relay=_Waker(relay),
            context=lambda: Metadata(actor="bench", correlation_id="b"),
            factors=FACTORS_2022,
        )
        first = store.last_position()
        profiler = cProfile.Profile() if profile else None
        started = time.perf_counter()
        if profiler:
            profiler.enable()
        answers = [service.record_readings(batch) for batch in batches]
        stored = time.perf_counter() - started
        _published(store, store.last_position())
        total = time.perf_counter() - started
        if profiler:
            profiler.disable()
            pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(35)
        stop.set()
        relay.wakeup.set()
        if group:
            group.stop_all(["energy-relay"])
        else:
            thread.join()
        relay.close()  # before the broker stops: a client left open logs its reconnects on teardown
    accepted = sum(a["accepted"] for a in answers)
    assert accepted == count * per_meter, answers[0]["rejected_by_reason"]
    where = "relay process" if relay_process else "relay thread"
    label = f"service in-process, {where}: {scenario}"
    return _figures(label, accepted, store.last_position() - first, stored, total) | {"first_position": first}


RAW_ROUNDS = 3
"""Rounds of the raw producer (its median is the baseline): a round takes a fraction of a second, where one busy
moment of a shared machine would halve or double a single measurement."""


def bench_raw_producer(store: EventStore, bootstrap: str, first: int, label: str) -> dict[str, Any]:
    """The same messages the relay sent (``relay_message`` of the stored rows: key, value and every header, the
    CloudEvents ones included), by a raw kafka-python producer with the same settings, connected and known to the
    broker before the clock starts (as the relay measured is); the median of ``RAW_ROUNDS`` rounds."""
    messages: list[tuple[bytes, bytes, list[tuple[str, bytes]]]] = []
    while batch := store.read_stored(after=first + len(messages), limit=5000):
        messages += [relay_message(row) for row in batch]
    readings = sum(len(json.loads(m[1])["payload"].get("readings", ())) for m in messages)
    ensure_topics(bootstrap, ["raw.energy.events"], settings().topic_partitions)
    producer = make_producer(bootstrap)
    key, value, headers = messages[0]
    producer.send("raw.energy.events", key=key, value=value, headers=headers)  # its metadata, connection, producer id
    producer.flush()
    rounds = []
    for _ in range(RAW_ROUNDS):
        started = time.perf_counter()
        for key, value, headers in messages:
            producer.send("raw.energy.events", key=key, value=value, headers=headers)
        producer.flush()
        rounds.append(time.perf_counter() - started)
    producer.close()
    seconds = statistics.median(rounds)
    return _figures(f"baseline: raw producer, {label}", readings, len(messages), seconds, seconds)


def bench_rpc(store: EventStore, bootstrap: str, db_url: str, scenario: str, amqp_uri: str) -> dict[str, Any]:
    """The command over nameko RPC to the energy service process, its relay a process of its own."""
    count, per_meter, per_request = SCENARIOS[scenario]
    batches = requests(install(store, f"R{scenario[:1]}", count), per_meter, per_request)
    with tempfile.TemporaryDirectory(prefix="gov-bench-energy-") as tmp:
        port = free_port()
        env = {
            **os.environ,
            "VAR_DIR": tmp,
            "AMQP_URI": amqp_uri,
            "KAFKA_BOOTSTRAP": bootstrap,
            "DATABASE_URL_ENERGY": db_url,
            "PORT_ENERGY": str(port),
            "PROJECTORS_IN_PROCESS": "false",
            "RELAY_IN_PROCESS": "false",
            "LOG_LEVEL": "WARNING",
            "RPC_TIMEOUT": "120",
        }
        group = ProcessGroup(Path(tmp), env)
        group.spawn("energy", service_argv("energy"))
        relay = _relay_process(tmp, bootstrap, db_url)
        try:
            wait_until(lambda: healthy(port), 60, "the energy service")
            _published(store, store.last_position())  # the installations, before the clock starts
            first = store.last_position()
            config = nameko_config("energy", settings()) | {"AMQP_URI": amqp_uri}
            with ClusterRpcProxy(config, timeout=300) as rpc:
                started = time.perf_counter()
                answers = [rpc.energy.record_readings(batch) for batch in batches]
                stored = time.perf_counter() - started
                _published(store, store.last_position())
                total = time.perf_counter() - started
        finally:
            group.stop_all(["energy"])
            relay.stop_all(["energy-relay"])
    accepted = sum(a["accepted"] for a in answers)
    assert accepted == count * per_meter
    return _figures(f"service over RPC: {scenario}", accepted, store.last_position() - first, stored, total)


class _EnergyFiguresOnly(EnergyFigures):
    """The data center's energy projection, reading the energy topic only."""

    topics = (TOPIC,)


def bench_data_center(bootstrap: str, db_url: str) -> dict[str, Any]:
    """The gateway's energy projection applying every event of the run (installations and readings batches)
    to its per agency/kind/day and year rows, as the data-center projector does (offsets and event ids in the
    same transaction, contract validation of every envelope)."""
    engine = create_db_engine(db_url)
    prepare_database(engine)
    projector = Projector("bench-energy-datacenter", engine, [_EnergyFiguresOnly()], bootstrap, "bench")
    projector.max_records = 5000
    started = time.perf_counter()
    events = projector.catch_up(idle_polls=1)
    seconds = time.perf_counter() - started
    projector.consumer.close()
    with engine.connect() as conn:
        day_rows = int(conn.execute(sa.select(sa.func.count()).select_from(dc_energy.daily)).scalar_one())
    engine.dispose()
    log(
        f"  {'data-center projection (energy topic)':44} {events / seconds:>10,.0f} events/s  ({events:,} in {seconds:.2f}s)"
    )
    return {
        "label": "data-center projection",
        "events": events,
        "seconds": round(seconds, 3),
        "rate": round(events / seconds, 1),
        "day_rows": day_rows,
    }


# -- report ---------------------------------------------------------------------------------------------

TITLES = {
    "city_hour": "city hour: 5,000 meters × 12 readings, 5 requests of 1,000 meters",
    "district_day": "district day: 1,000 meters × 288 readings, 3 requests of ≤ 100,000 readings",
}
PATHS = {
    "service": "service in-process, relay thread",
    "service_relay_process": "service in-process, relay as its own process",
    "rpc": "service over nameko RPC (own process), relay process",
}


def markdown(results: dict[str, Any]) -> str:
    """The energy section of BENCHMARKS.md: readings per second end to end beside the raw producer."""
    lines = [
        "Energy ingestion (`tests/load/bench_energy.py`): readings per second from the command to the broker's "
        "acknowledgement of the last event (accepted → stored → on Kafka), one `MeterReadingsRecorded` message "
        "per meter and request, beside a raw kafka-python producer sending the very messages the relay sent.",
        "",
        "| scenario | path | ours (readings/s) | raw producer, same messages (readings/s) | ratio ours/baseline |",
        "|---|---|---:|---:|---:|",
    ]
    for scenario, title in TITLES.items():
        baseline = results[f"{scenario}_raw_producer"]
        for path, label in PATHS.items():
            ours = results.get(f"{scenario}_{path}")
            if ours is None:
                continue
            ratio = ours["rate"] / baseline["rate"]
            lines.append(f"| {title} | {label} | {ours['rate']:,.0f} | {baseline['rate']:,.0f} | {ratio:.2f} |")
    if "data_center" in results:
        dc = results["data_center"]
        lines += [
            "",
            f"The data center's energy projection applied every event of the run ({dc['events']:,}: installations "
            f"and readings batches) at {dc['rate']:,.0f} events/s into {dc['day_rows']:,} agency × kind × day rows "
            "(it keeps no reading).",
        ]
    if "load_before" in results:
        lines += [
            "",
            f"Load average of the machine (1 minute) when the energy run began: {results['load_before']}, when it "
            f"ended: {results['load_after']} (other work may share its cores).",
        ]
    return "\n".join(lines)


# -- entry points ---------------------------------------------------------------------------------------


def run(bootstrap: str, db_url: str, rpc: bool = True, profile: bool = False) -> dict[str, Any]:
    """Every scenario through the service in-process (and over RPC when RabbitMQ answers), beside the raw producer."""
    ensure_topics(bootstrap, [TOPIC, f"{TOPIC}.dlq"], settings().topic_partitions)
    store = EventStore.open(db_url, "energy")
    startup_objects_frozen()  # as the service's process does once started (runner.main)
    results: dict[str, Any] = {"load_before": round(os.getloadavg()[0], 2)}
    for scenario in SCENARIOS:
        ours = bench_service(store, bootstrap, db_url, scenario, False, profile)
        results[f"{scenario}_service"] = ours
        results[f"{scenario}_raw_producer"] = bench_raw_producer(store, bootstrap, ours["first_position"], scenario)
        results[f"{scenario}_service_relay_process"] = bench_service(store, bootstrap, db_url, scenario, True)
    amqp_uri = settings().amqp_uri
    if rpc and port_open("127.0.0.1", 5672):
        for scenario in SCENARIOS:
            results[f"{scenario}_rpc"] = bench_rpc(store, bootstrap, db_url, scenario, amqp_uri)
    with tempfile.TemporaryDirectory(prefix="gov-bench-energy-dc-") as tmp:
        results["data_center"] = bench_data_center(bootstrap, f"sqlite:///{Path(tmp) / 'gateway.db'}")
    results["load_after"] = round(os.getloadavg()[0], 2)
    return results


def _with_broker(work: Callable[[str], dict[str, Any]]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="gov-bench-energy-") as tmp:
        group = ProcessGroup(Path(tmp), os.environ)
        port = free_port()
        start_tansu(group, port)
        try:
            return work(f"127.0.0.1:{port}")
        finally:
            group.stop_all(["tansu"])


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Start Tansu, run the energy benchmark on a temporary store, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", action="store_true", help="a fresh PostgreSQL database instead of SQLite")
    parser.add_argument("--no-rpc", action="store_true", help="skip the RPC path")
    parser.add_argument("--profile", action="store_true", help="profile the in-process path (cProfile)")
    args = parser.parse_args(argv)
    configure_logging("bench", "WARNING")
    with tempfile.TemporaryDirectory(prefix="gov-bench-energy-db-") as tmp:
        if args.postgres:
            from tests.support import POSTGRES_SERVER, create_database, drop_database

            url = create_database(POSTGRES_SERVER)
        else:
            url = f"sqlite:///{Path(tmp) / 'energy.db'}"
        try:
            results = _with_broker(lambda bootstrap: run(bootstrap, url, not args.no_rpc, args.profile))
            print(markdown(results))
            return results
        finally:
            if args.postgres:
                drop_database(url)


if __name__ == "__main__":
    main()
