"""Rebuild of the data center from 1 million office-space events, beside a raw consumer reading the same topic.

The topic is filled (not timed) with real office-space events in the relay's message form: one agency's
history is made by the real aggregates (an ``Agency``'s registration, ``post_staff``, ``Building.register``,
``add_room``, ``allocate`` against the 2014 standard), rendered by ``envelope_message`` as the relay renders
it, checked with the projector's own ``decode`` (envelope and payload contracts), and then repeated for
20,000 agencies with their ids, event ids and correlation ids replaced (rendering a million events through
the aggregates would take longer than the rebuild). 50 events per agency: the registration, 20 staff
posted, a building, 14 rooms and 14 allocations, spread over the city's districts; keys are stream ids and
the partitioner is kafka-python's (murmur2), so the partitions fill as the relay fills them. The filling
producer is librdkafka's (``confluent-kafka``, a dev dependency) for speed, kafka-python's when it is missing.

Timed, on the same broker and topic:

- ``rebuild``: the real command, ``python -m services.gateway.rebuild --force``, as a process of its own on
  an empty SQLite gateway database (``--postgres``: a fresh PostgreSQL one): every data-center projection
  reset, the topics replayed from offset 0 with progress, contract validation of every envelope, offsets
  and event ids committed with the rows; its reader process reads while it applies. Its resident
  memory (with the reader's) and Tansu's CPU are sampled while it runs.
- ``raw consumer``: kafka-python reading the same number of messages and parsing their JSON (the baseline);
- ``consumer + decode``: the same plus the projector's ``decode`` (contracts, ``Envelope``), without SQL, on
  the first 200,000 events, which splits the rebuild's time into reading, decoding and applying.

Each path's CPU time is recorded beside its wall time: on a shared machine the wall time includes waiting
for a core, the CPU time per event does not.

``python -m tests.load.bench_rebuild [--events N] [--postgres] [--profile]`` runs it alone on a Tansu of
its own; ``--profile`` runs the rebuild under cProfile and prints where its time goes (in the applying
process; the reader process is not profiled).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import date
from pathlib import Path
from typing import Any, cast

from kafka import TopicPartition

from services.common.base.log import configure_logging
from services.common.base.settings import settings, topic_for
from services.common.kernel.clock import iso, utc_now
from services.common.kernel.districts import CITY_CODE, DEFAULT_DISTRICTS
from services.common.kernel.events import Envelope, Metadata
from services.common.read.broker import ensure_topics, envelope_message, make_consumer, make_producer
from services.common.read.projector import DeadLetter, decoded
from services.common.runtime.processes import ProcessGroup, free_port, start_tansu
from services.office_space.domain.agencies import Agency, AgencyRegistered
from services.office_space.domain.base import AREA_STANDARD_2014, RANKS
from services.office_space.domain.buildings import Building
from tests.load.bench_gateway import cpu_seconds

TOPIC = topic_for("office_space")
EVENTS = 1_000_000
STAFF, ROOMS = 20, 14
PER_AGENCY = 1 + STAFF + 1 + ROOMS + ROOMS
"""Events of one agency's history: registration, staff posted, a building, its rooms, their allocations."""
DECODE_SAMPLE = 200_000
"""Events the consumer + decode path reads (a rate; the first events of the topic)."""
TAG = "QQQQQQ"
"""Stands for the agency's number in the template (replaced by six digits in each copy)."""

Message = tuple[bytes, bytes, list[tuple[str, bytes]]]


def broker_pid(group: ProcessGroup) -> int | None:
    """The pid of the group's Tansu (whose CPU the rebuild's fetches cost)."""
    return next((int(str(record["pid"])) for name, record in group.recorded() if name == "tansu"), None)


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# -- the events -----------------------------------------------------------------------------------------


def _history(district: str) -> list[tuple[Any, str]]:
    """(aggregate, stream type) pairs with one agency's pending events, made by the real domain rules."""
    level = "city" if district == CITY_CODE else "county"
    ranks = RANKS[level]
    # recorded as ``Agency.register`` records it, without its check of the id (a unified social credit code,
    # which the placeholder replaced per copy is not; the projections never read one)
    agency = Agency(f"AG-{TAG}")
    agency._record(AgencyRegistered(f"AG-{TAG}", f"单位 {TAG}", district, "party_government", level, STAFF + 5, None))
    people = [(f"P-{TAG}-{k:02d}", ranks[min(k, len(ranks) - 1)]) for k in range(STAFF)]
    for person, rank in people:
        agency.post_staff(person, "张伟", rank, "2021-03-01")
    building = Building.register(
        building_id=f"B-{TAG}",
        agency_id=agency.id,
        district=district,
        name=f"办公楼 {TAG}",
        address="龙城大道1280号",
        gross_floor_area_m2=5000.0,
    )
    today = date(2026, 1, 5)
    for k, (person, rank) in enumerate(people[:ROOMS]):
        area = AREA_STANDARD_2014.for_rank(level, rank)
        building.add_room(f"R-{TAG}-{k:02d}", f"{k + 101}", area, "office", agency.id, today)
        building.allocate(f"R-{TAG}-{k:02d}", person, agency.id, level, rank, AREA_STANDARD_2014, today)
    return [(agency, Agency.stream_type), (building, Building.stream_type)]


def _placeholder(n: int) -> str:
    return f"00000000-0000-4000-8000-{n:012d}"


def template(district: str) -> list[Message]:
    """One agency's 50 events in the relay's message form, with placeholders for ids; each checked by the
    projector's ``decode`` (a copy with real ids) so a million copies are known to project."""
    meta = Metadata(actor="bench", correlation_id=f"c0000000-0000-4000-8000-{TAG}000000")
    now = iso(utc_now())
    messages: list[Message] = []
    for aggregate, stream_type in _history(district):
        for version, event in enumerate(aggregate.pending_events, start=1):
            env = Envelope(
                event_id=_placeholder(len(messages)),
                event_type=event.event_type,
                schema_version=event.schema_version,
                stream_type=stream_type,
                stream_id=aggregate.id,
                stream_version=version,
                occurred_at=now,
                recorded_at=now,
                district=aggregate.district,
                agency_id=aggregate.agency_id,
                actor=meta.actor,
                correlation_id=meta.correlation_id,
                causation_id=None,
                payload=event.payload(),
                domain="office_space",
            )
            messages.append(envelope_message(env))
    assert len(messages) == PER_AGENCY, len(messages)
    for message in copies(messages, 0):
        checked = _Record(message[1])
        if isinstance(decoded(checked), DeadLetter):
            raise AssertionError(f"the template does not decode: {decoded(checked)}")
    return messages


class _Record:
    """Just what ``decode`` reads of a Kafka record."""

    def __init__(self, value: bytes) -> None:
        self.value = value


def copies(messages: list[Message], number: int) -> list[Message]:
    """Agency ``number``'s copy of a template: its ids in place of the tag, fresh event ids."""
    tag = f"{number:06d}".encode()
    out: list[Message] = []
    for n, (key, value, headers) in enumerate(messages):
        holder = _placeholder(n).encode()
        event_id = str(uuid.uuid4()).encode()
        value = value.replace(b"QQQQQQ", tag).replace(holder, event_id)
        new_headers = [(k, v.replace(b"QQQQQQ", tag).replace(holder, event_id)) for k, v in headers]
        out.append((key.replace(b"QQQQQQ", tag), value, new_headers))
    return out


def _producer(bootstrap: str) -> tuple[Any, Any]:
    """(send, flush) of the fastest producer at hand: librdkafka (the ``confluent-kafka`` dev dependency) with
    the murmur2 partitioner of kafka-python, so every key lands where the relay would put it; else
    kafka-python itself (the fill is not timed; it only takes longer)."""
    try:
        from confluent_kafka import Producer
    except ImportError:
        producer = make_producer(bootstrap)

        def send_python(key: bytes, value: bytes, headers: list[tuple[str, bytes]]) -> None:
            producer.send(TOPIC, key=key, value=value, headers=headers)

        return send_python, producer.flush
    options = {
        "bootstrap.servers": bootstrap,
        "acks": "all",
        "enable.idempotence": True,
        "partitioner": "murmur2_random",
        "linger.ms": 20,
        "queue.buffering.max.messages": 500_000,
    }
    fast = Producer(options)

    def send(key: bytes, value: bytes, headers: list[tuple[str, bytes]]) -> None:
        while True:
            try:
                fast.produce(TOPIC, value=value, key=key, headers=cast(Any, headers))
                break
            except BufferError:  # the local queue is full: let it drain
                fast.poll(0.05)
        fast.poll(0)

    def flush() -> None:
        if fast.flush(120) != 0:
            raise RuntimeError("the topic could not be filled")

    return send, flush


def fill(bootstrap: str, count: int) -> dict[str, Any]:
    """Put ``count`` events (rounded up to whole agencies) on the office-space topic, as the relay would."""
    ensure_topics(bootstrap, [TOPIC], settings().topic_partitions)
    templates = [template(code) for code in DEFAULT_DISTRICTS]
    send, flush = _producer(bootstrap)
    agencies = -(-count // PER_AGENCY)
    started = time.perf_counter()
    sent = size = 0
    for number in range(agencies):
        for key, value, headers in copies(templates[number % len(templates)], number):
            send(key, value, headers)
            size += len(value)
        sent += PER_AGENCY
        if number % 4000 == 3999:
            log(f"  filled {sent:,} events")
    flush()
    seconds = time.perf_counter() - started
    log(f"  topic filled: {sent:,} events, {size / sent:,.0f} bytes each on average, in {seconds:.1f}s")
    return {"events": sent, "agencies": agencies, "mean_bytes": round(size / sent), "fill_seconds": round(seconds, 1)}


# -- the paths ------------------------------------------------------------------------------------------


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _rss_sampler(pid: int, samples: list[int], stop: threading.Event) -> None:
    """Resident memory of the rebuild with its reader process (its children), every 0.2 s."""
    while not stop.is_set():
        try:
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
            total = _rss_kb(pid)
        except OSError:
            return
        for child in children:
            with contextlib.suppress(OSError):  # it may be gone already
                total += _rss_kb(int(child))
        samples.append(total)
        stop.wait(0.2)


def bench_rebuild(
    bootstrap: str, db_url: str, count: int, profile: bool = False, broker_pid: int | None = None
) -> dict[str, Any]:
    """``python -m services.gateway.rebuild --force`` on an empty gateway database, timed from start to exit
    (and the broker's CPU while it ran, when ``broker_pid`` is given)."""
    with tempfile.TemporaryDirectory(prefix="gov-bench-rebuild-") as tmp:
        env = {
            **os.environ,
            "VAR_DIR": tmp,
            "KAFKA_BOOTSTRAP": bootstrap,
            "DATABASE_URL_GATEWAY": db_url,
            "LOG_LEVEL": "WARNING",
            "PORT_GATEWAY": str(free_port()),
            "PYTHONWARNINGS": "ignore",
        }
        argv = [sys.executable, "-m", "services.gateway.rebuild", "--force"]
        if profile:
            argv = [sys.executable, "-m", "cProfile", "-o", f"{tmp}/rebuild.prof", "-m", "services.gateway.rebuild"]
            argv.append("--force")
        samples: list[int] = []
        stop = threading.Event()
        broker_cpu = cpu_seconds(broker_pid) if broker_pid else 0.0
        started = time.perf_counter()
        process = subprocess.Popen(argv, env=env, stderr=subprocess.PIPE, text=True)
        sampler = threading.Thread(target=_rss_sampler, args=(process.pid, samples, stop), daemon=True)
        sampler.start()
        final: dict[str, Any] = {}
        assert process.stderr is not None
        for line in process.stderr:
            if line.startswith('{"progress"'):
                progress = json.loads(line)
                if progress["final"] or progress["done"] // 100_000 != final.get("done", 0) // 100_000:
                    log(f"  rebuild: {progress['done']:,} events, {progress['rate']:,}/s")
                final = progress
            elif "blocking the event loop" not in line:  # kafka-python on a busy machine
                sys.stderr.write(line)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        process.returncode = code = os.waitstatus_to_exitcode(status)
        cpu = usage.ru_utime + usage.ru_stime  # with its reader process's (waited for by the rebuild)
        log(f"  rebuild CPU: user {usage.ru_utime:.1f} s, system {usage.ru_stime:.1f} s")
        broker_cpu = cpu_seconds(broker_pid) - broker_cpu if broker_pid else 0.0
        stop.set()
        sampler.join()
        if code != 0:
            raise RuntimeError(f"the rebuild exited with {code}")
        if profile:
            import pstats

            pstats.Stats(f"{tmp}/rebuild.prof", stream=sys.stderr).sort_stats("tottime").print_stats(30)
            pstats.Stats(f"{tmp}/rebuild.prof", stream=sys.stderr).sort_stats("cumulative").print_stats(40)
    done = int(final.get("done", 0))
    if done < count:
        raise RuntimeError(f"the rebuild read {done:,} events of {count:,}")
    rate = done / seconds
    log(
        f"  {'rebuild (services.gateway.rebuild)':44} {rate:>10,.0f} events/s  ({done:,} in {seconds:.1f}s, "
        f"{cpu:.1f} s of CPU)"
    )
    return {
        "label": "python -m services.gateway.rebuild",
        "count": done,
        "seconds": round(seconds, 1),
        "rate": round(rate, 1),
        "cpu_seconds": round(cpu, 1),
        "cpu_us_per_event": round(cpu / done * 1e6, 1),
        "peak_rss_mb": round(max(samples, default=0) / 1024, 1),
        "broker_cpu_seconds": round(broker_cpu, 1),
    }


def _read(bootstrap: str, count: int, label: str, work: Any) -> dict[str, Any]:
    consumer = make_consumer(bootstrap)
    tps = [TopicPartition(TOPIC, p) for p in sorted(consumer.partitions_for_topic(TOPIC) or [])]
    consumer.assign(tps)
    consumer.seek_to_beginning(*tps)
    started, cpu_started = time.perf_counter(), time.process_time()
    seen = 0
    while seen < count:
        for records in consumer.poll(timeout_ms=500, max_records=5000).values():
            for record in records:
                work(record)
            seen += len(records)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    consumer.close()
    log(f"  {label:44} {seen / seconds:>10,.0f} events/s  ({seen:,} in {seconds:.1f}s, {cpu:.1f} s of CPU)")
    return {
        "label": label,
        "count": seen,
        "seconds": round(seconds, 1),
        "rate": round(seen / seconds, 1),
        "cpu_seconds": round(cpu, 1),
        "cpu_us_per_event": round(cpu / seen * 1e6, 1),
    }


def bench_raw_consumer(bootstrap: str, count: int) -> dict[str, Any]:
    """kafka-python reading the topic and parsing each message's JSON."""
    return _read(bootstrap, count, "raw kafka-python consumer (+ json.loads)", lambda r: json.loads(r.value))


def bench_decode(bootstrap: str, count: int) -> dict[str, Any]:
    """The same plus the projector's ``decode`` (contracts, ``Envelope``): the rebuild without SQL."""

    def work(record: Any) -> None:
        if isinstance(decoded(record), DeadLetter):
            raise AssertionError("a generated event does not decode")

    return _read(bootstrap, count, "consumer + the projector's decode (no SQL)", work)


def breakdown(agencies: int = 200) -> dict[str, Any]:
    """CPU per event type of the data-center projections alone (and SQL statements per event): ``agencies``
    histories decoded in memory, then applied as the projector applies them — a run of consecutive events whose
    types have batch forms by those forms together (``projector.batch_forms``), any other event by every
    projection handling it — in transactions of 2,000 events, without Kafka, offsets or event ids (which the
    rebuild adds). A run's CPU and statements are shared among its event types by their counts in it."""
    from collections import Counter, defaultdict

    import sqlalchemy as sa

    from services.common.base.db import create_db_engine
    from services.common.read.projector import batch_forms
    from services.gateway import views

    templates = [template(code) for code in DEFAULT_DISTRICTS]
    envelopes = [
        env
        for number in range(agencies)
        for _, value, _ in copies(templates[number % len(templates)], number)
        if isinstance(env := decoded(_Record(value)), Envelope)
    ]
    cpu: defaultdict[str, float] = defaultdict(float)
    events: Counter[str] = Counter()
    statements: defaultdict[str, float] = defaultdict(float)
    counted = [0]
    with tempfile.TemporaryDirectory(prefix="gov-bench-breakdown-") as tmp:
        engine = create_db_engine(f"sqlite:///{tmp}/gateway.db")
        # counted by SQLite itself: projections run their writes on the driver's cursor, past SQLAlchemy's events
        sa.event.listen(engine, "connect", lambda dbapi, _: dbapi.set_trace_callback(lambda _: _count(counted)))
        views.prepare_database(engine)
        projections = views.data_center_projections()
        forms = batch_forms(projections)
        routes = [(p, {t.split(".")[0] for t in p.topics}) for p in projections]

        def apply(conn: Any, run: list[Envelope]) -> None:
            began, before = time.process_time(), counted[0]
            found = forms.get((run[0].domain, run[0].event_type))
            if found:
                for form in found:
                    form(conn, run)
            else:
                for projection, domains in routes:
                    if run[0].domain in domains:
                        projection.apply(conn, run[0])
            spent, made = time.process_time() - began, counted[0] - before
            for kind, count in Counter(env.event_type for env in run).items():
                cpu[kind] += spent * count / len(run)
                statements[kind] += made * count / len(run)
                events[kind] += count

        for start in range(0, len(envelopes), 2000):
            with engine.begin() as conn:
                run: list[Envelope] = []
                for env in envelopes[start : start + 2000]:
                    key = forms.get((env.domain, env.event_type))
                    if run and (key is None or key != forms.get((run[0].domain, run[0].event_type))):
                        apply(conn, run)
                        run = []
                    run.append(env)
                    if key is None:
                        apply(conn, run)
                        run = []
                if run:
                    apply(conn, run)
        engine.dispose()
    rows = {
        kind: {
            "events": events[kind],
            "cpu_us": round(cpu[kind] / events[kind] * 1e6, 1),
            "statements": round(statements[kind] / events[kind], 2),
        }
        for kind in events
    }
    total = sum(cpu.values()) / sum(events.values()) * 1e6
    log(f"  projections alone: {total:.0f} µs of CPU per event on average ({rows})")
    return {"events": sum(events.values()), "cpu_us_per_event": round(total, 1), "by_type": rows}


def _count(counted: list[int]) -> None:
    counted[0] += 1


# -- report ---------------------------------------------------------------------------------------------


def markdown(results: dict[str, Any]) -> str:
    """The rebuild section of BENCHMARKS.md."""
    rebuild, raw, dec, topic = results["rebuild"], results["raw_consumer"], results["decode"], results["topic"]
    if topic["events"] >= EVENTS:
        goal = f"**{'met' if rebuild['seconds'] < 120 else 'not met'}** ({rebuild['seconds']:.0f} s)"
    else:
        projected = rebuild["seconds"] * EVENTS / topic["events"]
        goal = f"not measured: a smaller run; at this rate 1 million would take about {projected:.0f} s"
    lines = [
        f"Rebuild of the data center (`tests/load/bench_rebuild.py`): {topic['events']:,} office-space events "
        f"({topic['agencies']:,} agencies × {PER_AGENCY}: registration, {STAFF} staff, a building, {ROOMS} rooms, "
        f"{ROOMS} allocations; {topic['mean_bytes']} bytes each on average) replayed from offset 0 by "
        f"`python -m services.gateway.rebuild` into an empty {results['database']} gateway database, beside a "
        f"raw kafka-python consumer reading the same topic. Goal: 1 million events in under 2 minutes — {goal}.",
        "",
        "| path | events | seconds | events/s | CPU seconds | CPU µs per event | ratio to raw consumer (events/s) "
        "| ratio to raw consumer (CPU per event) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in (rebuild, dec, raw):
        lines.append(
            f"| {row['label']} | {row['count']:,} | {row['seconds']:,.1f} | {row['rate']:,.0f} | {row['cpu_seconds']:,.1f} "
            f"| {row['cpu_us_per_event']:,.0f} | {row['rate'] / raw['rate']:.2f} "
            f"| {row['cpu_us_per_event'] / raw['cpu_us_per_event']:.2f} |"
        )
    read, decoding = dec["cpu_us_per_event"], dec["cpu_us_per_event"] - raw["cpu_us_per_event"]
    applying = rebuild["cpu_us_per_event"] - dec["cpu_us_per_event"]
    total = rebuild["cpu_us_per_event"]
    lines += [
        "",
        f"Where the rebuild's CPU goes, per event (its own process and its reader process together): reading "
        f"from Kafka and decoding as the projector does (orjson, the envelope and payload contracts, `Envelope`) "
        f"about {read:.0f} µs ({read / total:.0%}; {abs(decoding):.1f} µs {'more' if decoding >= 0 else 'less'} "
        f"than the raw consumer reading with `json.loads`), handing the records "
        f"over from the reader process and applying them in SQL with their offsets and event ids (and the "
        f"processes' start and migrations) about {applying:.0f} µs ({applying / total:.0%}). The reader process "
        f"reads on one core while the rebuild decodes and applies on the other: its wall time "
        f"({rebuild['seconds']:.0f} s) is {'below' if rebuild['seconds'] < rebuild['cpu_seconds'] else 'above'} "
        f"its CPU time ({rebuild['cpu_seconds']:.0f} s); Tansu serving the "
        f"fetches used {rebuild.get('broker_cpu_seconds', 0):.0f} s of CPU meanwhile, on the same two cores. "
        f"The rebuild with its reader peaked at {rebuild['peak_rss_mb']:.0f} MB resident (with a 128 MB SQLite "
        f"page cache). Load average (1 minute) before: {results['load_before']}, after: {results['load_after']}.",
    ]
    if "breakdown" in results:
        b = results["breakdown"]
        plumbing = applying - b["cpu_us_per_event"]
        lines += [
            "",
            f"The projections alone, per event type ({b['events']:,} events of the same histories applied in memory "
            "as the projector applies them, a run of events with batch forms by those forms together and its CPU "
            "shared among its types by their counts, without Kafka, offsets or event ids): on average "
            f"{b['cpu_us_per_event']:.0f} µs of CPU per event, so the projector's own work in a batch (event-id "
            f"dedupe, offsets, log context, transactions) is the other {plumbing:.0f} µs or so of the applying.",
            "",
            "| event type | share of the events | SQL statements run per event (each row of an executemany counted) | CPU µs per event | share of the projections' CPU |",
            "|---|---:|---:|---:|---:|",
        ]
        spent = sum(r["cpu_us"] * r["events"] for r in b["by_type"].values())
        for kind, r in sorted(b["by_type"].items(), key=lambda item: -item[1]["cpu_us"] * item[1]["events"]):
            lines.append(
                f"| {kind} | {r['events'] / b['events']:.0%} | {r['statements']:.2f} | {r['cpu_us']:.0f} "
                f"| {r['cpu_us'] * r['events'] / spent:.0%} |"
            )
    return "\n".join(lines)


# -- entry points ---------------------------------------------------------------------------------------


def run(
    bootstrap: str, db_url: str, count: int = EVENTS, profile: bool = False, broker_pid: int | None = None
) -> dict[str, Any]:
    """Fill the topic with ``count`` events, rebuild the data center from it, read it raw; the figures."""
    results: dict[str, Any] = {"load_before": round(os.getloadavg()[0], 2)}
    results["database"] = "PostgreSQL" if db_url.startswith("postgresql") else "SQLite"
    results["topic"] = fill(bootstrap, count)
    total = results["topic"]["events"]
    results["raw_consumer"] = bench_raw_consumer(bootstrap, total)
    results["decode"] = bench_decode(bootstrap, min(total, DECODE_SAMPLE))
    results["rebuild"] = bench_rebuild(bootstrap, db_url, total, profile, broker_pid)
    results["breakdown"] = breakdown()
    results["load_after"] = round(os.getloadavg()[0], 2)
    return results


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Start Tansu, run the rebuild benchmark, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=EVENTS, help=f"events on the topic (default {EVENTS:,})")
    parser.add_argument("--postgres", action="store_true", help="a fresh PostgreSQL gateway database")
    parser.add_argument("--profile", action="store_true", help="run the rebuild under cProfile")
    args = parser.parse_args(argv)
    configure_logging("bench", "WARNING")
    logging.getLogger("kafka.net.selector").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory(prefix="gov-bench-rebuild-") as tmp:
        group = ProcessGroup(Path(tmp), os.environ)
        port = free_port()
        start_tansu(group, port)
        url = f"sqlite:///{Path(tmp) / 'gateway.db'}"
        if args.postgres:
            from tests.support import POSTGRES_SERVER, create_database

            url = create_database(POSTGRES_SERVER)
        try:
            results = run(f"127.0.0.1:{port}", url, args.events, args.profile, broker_pid(group))
        finally:
            group.stop_all(["tansu"])
            if args.postgres:
                from tests.support import drop_database

                drop_database(url)
    print(markdown(results))
    return results


if __name__ == "__main__":
    main()
