"""The read side at city scale: the data center's endpoints, the findings with filters and the exports, at 1, 10
and 50 concurrent readers, each beside the same question written directly in SQL against the projection.

A city's projection is generated straight into a gateway database (``tests/city.py``: every handled event
type's contract examples per agency, applied by the projections' own handlers, and a year and a half of daily
energy use per agency and kind), then only the gateway is started on it (with Tansu and a RabbitMQ virtual
host of its own) and asked over HTTP with keep-alive connections (``bench_gateway.Http``).

Per endpoint:

- ``first read``: the answer right after the projector's offsets moved in the database (as an applied batch moves
  them) without any figure changing: answered again from the kept per-agency figures; the median of three;
- ``p50``/``p99`` at 1, 10 and 50 readers asking it back to back, the projection standing still;
- the baseline: the same question as one hand-written SQL query per answer (``BASELINES``), run by as many
  threads on connections of their own, with its p50/p99 at the same concurrency. The ratio is ours / SQL.

Then the same while events arrive (``arriving``): a ``Writer`` publishes a small batch every second to the
platform's topics — readings of a few agencies' meters and one office-space event — which the gateway's own
projector applies; each endpoint is asked for ``--seconds`` at each concurrency beside its SQL under the same
arrivals, and its first read is the one right after a batch the projector applied.

``python -m tests.load.bench_reads [--agencies 300] [--copies 4] [--sections still,arriving] [--seconds 4]``
runs it alone.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from services.common.base.db import create_db_engine
from services.common.kernel.clock import china_today
from services.common.runtime.processes import ProcessGroup, free_port, start_services, start_tansu
from services.gateway import auth
from tests import city
from tests.load.bench_gateway import Http, log, percentile, status_kb

READERS = (1, 10, 50)
REQUESTS = {1: 20, 10: 50, 50: 100}
"""Requests per concurrency level, in all (shared among the readers)."""
AGENCIES = 300
COPIES = 4
SECTIONS = ("still", "arriving")
ARRIVING_SECONDS = 4.0
"""How long each endpoint is asked at each concurrency while events arrive (a batch a second)."""
"""The demo city's 300 agencies, each with four sets of things (vehicles, assets, rooms, findings...)."""

_AGENCY_FIGURES = """
SELECT a.agency_id, a.name, a.district, a.kind, a.admin_level, a.authorised_headcount,
  (SELECT coalesce(sum(b.gross_floor_area_m2), 0) FROM os_buildings b WHERE b.agency_id = a.agency_id) AS floor_m2,
  (SELECT count(*) FROM os_staff s WHERE s.agency_id = a.agency_id) AS staff,
  (SELECT coalesce(sum(r.usable_area_m2), 0) FROM os_rooms r WHERE r.agency_id = a.agency_id) AS rooms_m2,
  (SELECT coalesce(sum(y.consumption), 0) FROM dc_energy_yearly y
     WHERE y.agency_id = a.agency_id AND y.year = :year AND y.kind = 'electricity') AS electricity,
  (SELECT coalesce(sum(y.consumption), 0) FROM dc_energy_yearly y
     WHERE y.agency_id = a.agency_id AND y.year = :year AND y.kind = 'water') AS water,
  (SELECT coalesce(sum(y.consumption), 0) FROM dc_energy_yearly y
     WHERE y.agency_id = a.agency_id AND y.year = :year AND y.kind = 'natural_gas') AS gas,
  (SELECT count(*) FROM dc_energy_meter_years m WHERE m.agency_id = a.agency_id AND m.year = :year) AS meters,
  (SELECT count(*) FROM veh_vehicles v WHERE v.agency_id = a.agency_id AND v.disposed_on IS NULL) AS vehicles,
  (SELECT coalesce(sum(c.amount_fen), 0) FROM veh_costs c
     WHERE c.agency_id = a.agency_id AND substr(c.occurred_on, 1, 4) = :year_text) AS vehicle_cost,
  (SELECT coalesce(sum(t.distance_km), 0) FROM veh_trips t WHERE t.agency_id = a.agency_id) AS vehicle_km,
  (SELECT count(*) FROM as_assets s WHERE s.agency_id = a.agency_id) AS assets,
  (SELECT coalesce(sum(s.original_value_fen), 0) FROM as_assets s WHERE s.agency_id = a.agency_id) AS book,
  (SELECT coalesce(sum(p.amount_fen), 0) FROM pr_budget_lines p
     WHERE p.agency_id = a.agency_id AND p.year = :year) AS budget,
  (SELECT count(*) FROM os_findings f WHERE f.agency_id = a.agency_id AND f.closed_on IS NULL)
  + (SELECT count(*) FROM veh_findings f WHERE f.agency_id = a.agency_id AND f.closed_on IS NULL)
  + (SELECT count(*) FROM dc_energy_anomalies f WHERE f.agency_id = a.agency_id AND f.status != 'resolved')
    AS open_findings
FROM dc_agencies a
WHERE (:district IS NULL OR a.district = :district) AND (:agency_id IS NULL OR a.agency_id = :agency_id)
ORDER BY a.district, a.name
"""

_CITY = f"""
SELECT district, count(*), sum(authorised_headcount), sum(floor_m2), sum(staff), sum(rooms_m2), sum(electricity),
  sum(water), sum(gas), sum(meters), sum(vehicles), sum(vehicle_cost), sum(vehicle_km), sum(assets), sum(book),
  sum(budget), sum(open_findings)
FROM ({_AGENCY_FIGURES}) GROUP BY district ORDER BY district
"""

_FINDINGS = """
SELECT * FROM (
  SELECT 'office_space' AS system, f.kind, f.finding_key AS id, f.agency_id, f.district, substr(f.opened_on, 1, 10)
    AS opened_on, f.description AS detail FROM os_findings f WHERE f.closed_on IS NULL
  UNION ALL
  SELECT 'vehicles', f.kind, f.item_id, f.agency_id, f.district, f.opened_on, f.detail
    FROM veh_findings f WHERE f.closed_on IS NULL
  UNION ALL
  SELECT 'assets', f.kind, f.finding_id, f.agency_id, f.district, f.recorded_on, f.found_location
    FROM as_findings f WHERE f.reconciled_on IS NULL
  UNION ALL
  SELECT 'energy', f.kind, f.anomaly_id, f.agency_id, f.district, f.opened_on, f.detail
    FROM dc_energy_anomalies f WHERE f.status != 'resolved'
) AS items LEFT JOIN dc_agencies a USING (agency_id)
WHERE (:system IS NULL OR items.system = :system) AND items.opened_on <= :opened_by
  AND (:agency_id IS NULL OR items.agency_id = :agency_id)
ORDER BY items.opened_on, items.system, items.id
"""

_TREND = """
SELECT substr(day, 1, 7) AS month, kind, sum(consumption) FROM dc_energy_daily
WHERE day >= :first AND day <= :today AND (:agency_id IS NULL OR agency_id = :agency_id)
  AND (:district IS NULL OR agency_id IN (SELECT agency_id FROM dc_agencies WHERE district = :district))
GROUP BY month, kind
"""


@dataclass(frozen=True)
class Endpoint:
    """One question: the gateway's path and the same question in SQL (one or more queries per answer)."""

    name: str
    path: str
    sql: tuple[tuple[str, dict[str, Any]], ...]


def endpoints(today: date, agency_id: str) -> list[Endpoint]:
    """The data center's read questions, each with its baseline."""
    year = {"year": today.year, "year_text": str(today.year), "district": None, "agency_id": None}
    district = {**year, "district": "320402"}
    one = {**year, "agency_id": agency_id}
    first = date(today.year - 1 if today.month < 12 else today.year, today.month % 12 + 1, 1).isoformat()
    trend = {"first": first, "today": today.isoformat(), "agency_id": None, "district": None}
    every = {"system": None, "opened_by": today.isoformat(), "agency_id": None}
    old = {"system": "vehicles", "opened_by": (today - timedelta(days=30)).isoformat(), "agency_id": None}
    agencies, findings = ((_AGENCY_FIGURES, year),), ((_FINDINGS, every),)
    return [
        Endpoint("city", "/api/v1/datacenter/city", ((_CITY, year),)),
        Endpoint("agencies", "/api/v1/datacenter/agencies", agencies),
        Endpoint(
            "agencies of a district", "/api/v1/datacenter/agencies?district=320402", ((_AGENCY_FIGURES, district),)
        ),
        Endpoint("scorecard", "/api/v1/datacenter/scorecard", agencies),
        Endpoint(
            "scorecard of a district", "/api/v1/datacenter/scorecard?district=320402", ((_AGENCY_FIGURES, district),)
        ),
        Endpoint(
            "agency profile",
            f"/api/v1/datacenter/agencies/{agency_id}",
            (
                (_AGENCY_FIGURES, one),
                (_FINDINGS, {**every, "agency_id": agency_id}),
                (_TREND, {**trend, "agency_id": agency_id}),
            ),
        ),
        Endpoint("findings", "/api/v1/datacenter/findings", findings),
        Endpoint(
            "findings, vehicles ≥ 30 days",
            "/api/v1/datacenter/findings?system=vehicles&min_age_days=30",
            ((_FINDINGS, old),),
        ),
        Endpoint("energy trend (12 months)", "/api/v1/datacenter/energy-trend", ((_TREND, trend),)),
        Endpoint(
            "energy trend of a district",
            "/api/v1/datacenter/energy-trend?district=320402",
            ((_TREND, {**trend, "district": "320402"}),),
        ),
        Endpoint(
            "energy trend of an agency",
            f"/api/v1/datacenter/energy-trend?agency_id={agency_id}",
            ((_TREND, {**trend, "agency_id": agency_id}),),
        ),
        Endpoint("export: city districts CSV", "/api/v1/datacenter/city?format=csv", ((_CITY, year),)),
        Endpoint("export: agencies CSV", "/api/v1/datacenter/agencies?format=csv", agencies),
        Endpoint("export: findings XLSX", "/api/v1/datacenter/findings?format=xlsx", findings),
        Endpoint("export: scorecard XLSX (with its summary)", "/api/v1/datacenter/scorecard?format=xlsx", agencies),
    ]


# -- the gateway alone, on the generated database ------------------------------------------------------


@contextlib.contextmanager
def gateway(base: Path, database: Path) -> Iterator[tuple[int, int, str]]:
    """Tansu and the gateway on ``database``; its port, its pid and the broker's bootstrap address."""
    from tests.conftest import rabbitmq_vhost

    with rabbitmq_vhost() as amqp_uri:
        port = free_port()
        env = {
            **os.environ,
            "VAR_DIR": str(base),
            "AMQP_URI": amqp_uri,
            "LOG_LEVEL": "WARNING",
            "PORT_GATEWAY": str(port),
            "DATABASE_URL_GATEWAY": f"sqlite:///{database}",
        }
        group = ProcessGroup(base, env)
        broker_port = free_port()
        start_tansu(group, broker_port)
        env["KAFKA_BOOTSTRAP"] = group.env["KAFKA_BOOTSTRAP"] = f"127.0.0.1:{broker_port}"
        try:
            start_services(group, {"gateway": port}, names=("gateway",), timeout=180)
            pid = next(int(str(record["pid"])) for name, record in group.recorded() if name == "gateway")
            _projector_settled(database)
            yield port, pid, env["KAFKA_BOOTSTRAP"]
        finally:
            group.stop_all(["gateway", "tansu"])


def _projector_settled(database: Path, timeout: float = 60.0) -> None:
    """Wait until the gateway's projector has followed the new broker's logs (it records their ids and drops
    the generated offsets, which lie beyond those empty logs): before that, it would move the offsets in the
    middle of a measurement and make one read compute the figures again."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.closing(sqlite3.connect(database)) as conn:
            (logs,) = conn.execute("SELECT count(*) FROM projector_logs WHERE projector = 'datacenter'").fetchone()
        if logs:
            time.sleep(1.0)  # its offsets are written in the same transaction; let the first polls pass
            return
        time.sleep(0.2)
    log("  the gateway's projector did not follow the broker's logs in time; measuring anyway")


def new_events_applied(database: Path) -> None:
    """Move the projector's offsets as an applied batch moves them: the next read answers again (from the kept
    per-agency figures, none of which this changes).

    A partition of its own (the gateway's projector, reading a new and empty Tansu, forgot the generated
    offsets of the real topics at its start)."""
    with sqlite3.connect(database) as conn:
        conn.execute(
            "INSERT INTO projector_offsets (projector, topic, partition, next_offset, updated_at) "
            "VALUES ('datacenter', 'bench.reads', 0, 1, ?) ON CONFLICT (projector, topic, partition) "
            "DO UPDATE SET next_offset = next_offset + 1, updated_at = excluded.updated_at",
            (f"{time.time_ns()}",),
        )


def _going(readers: int, total: int | None = None, seconds: float | None = None) -> Callable[[int], bool]:
    """Whether a reader that has asked ``done`` times asks again: ``total`` asks shared among the ``readers``, or
    back to back until ``seconds`` from now (each finishing the ask it is in)."""
    if seconds is None:
        each = max(1, (total or 1) // readers)
        return lambda done: done < each
    deadline = time.perf_counter() + seconds
    return lambda _done: time.perf_counter() < deadline


def _ours(
    port: int, token: str, path: str, readers: int, total: int | None = None, seconds: float | None = None
) -> list[float]:
    """``readers`` asking ``path`` through the gateway, ``total`` times in all or for ``seconds`` (``_going``)."""

    async def run() -> list[float]:
        http = Http(port, token)
        latencies: list[float] = []
        going = _going(readers, total, seconds)

        async def reader() -> None:
            done = 0
            while going(done):
                started = time.perf_counter()
                status, body = await http.request("GET", path)
                latencies.append(time.perf_counter() - started)
                done += 1
                if status != 200:
                    raise RuntimeError(f"{path}: {status} {body[:300]!r}")

        try:
            await asyncio.gather(*(reader() for _ in range(readers)))
        finally:
            http.close()
        return latencies

    return asyncio.run(run())


def _first_reads(port: int, token: str, database: Path, path: str) -> float:
    """The median of three first reads after new events (the figures computed)."""
    found = []
    for _ in range(3):
        new_events_applied(database)
        found += _ours(port, token, path, 1, 1)
    return statistics.median(found)


def _direct_sql(
    database: Path, endpoint: Endpoint, readers: int, total: int | None = None, seconds: float | None = None
) -> list[float]:
    """The endpoint's SQL asked by ``readers`` threads, each on its own connection, ``total`` times in all or for
    ``seconds`` (``_going``)."""
    latencies: list[float] = []
    lock = threading.Lock()
    going = _going(readers, total, seconds)

    def reader() -> None:
        conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True, check_same_thread=False)
        done = 0
        try:
            while going(done):
                started = time.perf_counter()
                for query, params in endpoint.sql:
                    conn.execute(query, params).fetchall()
                with lock:
                    latencies.append(time.perf_counter() - started)
                done += 1
        finally:
            conn.close()

    threads = [threading.Thread(target=reader) for _ in range(readers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies


class Writer:
    """New events through the gateway's own projector, as a city sends them all day: every ``period`` seconds a
    small batch published to the platform's topics — five minutes more of readings of ``meters`` agencies' main
    meters, and one office-space event (an agency's authorised headcount) — which the gateway's projector reads
    and applies like any other (rows, offsets and energy stamps in one transaction)."""

    def __init__(self, bootstrap: str, database: Path, agencies: int, meters: int = 3, seed: int = 11) -> None:
        from services.common.read.broker import make_producer

        self.producer = make_producer(bootstrap)
        self.database = database
        self.agencies = agencies
        self.meters = meters
        self.rng = random.Random(seed)
        self.at = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(days=2)
        self.value: dict[int, float] = {}
        self.sent: dict[str, int] = {}
        self.batches = 0
        self.pool = self.rng.sample(range(agencies), min(12, agencies))
        """The agencies whose meters report (the first readings of a meter span its whole past: sent once, before)."""
        self.batch(self.pool)
        self.applied()

    def batch(self, agencies: list[int] | None = None) -> None:
        """Publish one batch (and wait for the broker's acknowledgement)."""
        self.at += timedelta(minutes=5)
        envelopes = []
        for seq in agencies or self.rng.sample(self.pool, min(self.meters, len(self.pool))):
            used = round(self.rng.uniform(1, 40), 1)
            self.value[seq] = round(self.value.get(seq, 5000.0) + used / 40, 4)
            envelopes.append(city.readings(seq, [[self.at.isoformat(), self.value[seq], used]]))
        envelopes.append(city.headcount_changed(self.rng.randrange(self.agencies), self.rng.randint(20, 200)))
        futures = []
        for env in envelopes:
            topic = f"{env.domain}.events"
            value = json.dumps(env.to_dict()).encode()
            futures.append(self.producer.send(topic, key=env.stream_id.encode(), value=value))
            self.sent[topic] = self.sent.get(topic, 0) + 1
        self.producer.flush()
        for future in futures:
            future.get(timeout=30)
        self.batches += 1

    def applied(self, timeout: float = 30.0) -> bool:
        """Wait until the gateway's projector applied everything sent (its offsets in the database)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.closing(sqlite3.connect(f"file:{self.database}?mode=ro", uri=True)) as conn:
                rows = conn.execute(
                    "SELECT topic, sum(next_offset) FROM projector_offsets WHERE projector = 'datacenter' GROUP BY topic"
                ).fetchall()
            stored = dict(rows)
            if all(stored.get(topic, 0) >= count for topic, count in self.sent.items()):
                return True
            time.sleep(0.02)
        return False

    @contextlib.contextmanager
    def arriving(self, period: float = 1.0) -> Iterator[None]:
        """A batch every ``period`` seconds while the block runs."""
        stop = threading.Event()

        def run() -> None:
            while not stop.wait(period):
                self.batch()

        thread = threading.Thread(target=run, name="bench-writer", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join(30)

    def close(self) -> None:
        self.producer.close()


def _first_after_batch(port: int, token: str, writer: Writer, path: str) -> float:
    """The median of three first reads after a batch the projector applied (the figures it changed derived)."""
    found = []
    for _ in range(3):
        writer.batch()
        if not writer.applied():
            log("  the projector did not apply the writer's batch in time")
        found += _ours(port, token, path, 1, 1)
    return statistics.median(found)


def measure_arriving(
    port: int, token: str, database: Path, writer: Writer, today: date, readers: tuple[int, ...], seconds: float
) -> list[dict[str, Any]]:
    """Every endpoint at each concurrency while a batch arrives every second, beside its SQL under the same
    arrivals; and the first read right after a batch."""
    measured = []
    for endpoint in endpoints(today, "BENCH00007"):
        found: dict[str, Any] = {"name": endpoint.name, "path": endpoint.path}
        found["first_read_ms"] = round(_first_after_batch(port, token, writer, endpoint.path) * 1000, 1)
        found["sql_one_ms"] = _ms(_direct_sql(database, endpoint, 1, 3), 0.5)
        with writer.arriving():
            for count in readers:
                ours = _ours(port, token, endpoint.path, count, seconds=seconds)
                sql = _direct_sql(database, endpoint, count, seconds=seconds)
                found[str(count)] = _side_by_side(ours, sql)
        log("  arriving: " + _line(found, readers))
        measured.append(found)
    return measured


def _side_by_side(ours: list[float], sql: list[float]) -> dict[str, Any]:
    """One concurrency's figures: our p50 and p99 beside the SQL's, and how many requests each side made."""
    return {
        "ours_p50_ms": _ms(ours, 0.5),
        "ours_p99_ms": _ms(ours, 0.99),
        "sql_p50_ms": _ms(sql, 0.5),
        "sql_p99_ms": _ms(sql, 0.99),
        "requests": len(ours),
        "sql_requests": len(sql),
    }


def _ms(values: list[float], q: float) -> float:
    return round(percentile(values, q) * 1000, 1)


def run(
    agencies: int = AGENCIES,
    copies: int = COPIES,
    readers: tuple[int, ...] = READERS,
    keep: Path | None = None,
    sections: tuple[str, ...] = SECTIONS,
    seconds: float = ARRIVING_SECONDS,
) -> dict[str, Any]:
    """Generate the city, start the gateway on it and measure every endpoint beside its SQL: standing still
    (``still``) and while events arrive (``arriving``); ``keep`` names a file the generated city is copied to,
    and taken from when it exists (the next run of the same size)."""
    today = china_today()
    with tempfile.TemporaryDirectory(prefix="gov-bench-reads-") as tmp:
        base = Path(tmp)
        database = base / "datacenter.db"
        engine = create_db_engine(f"sqlite:///{database}")
        started = time.perf_counter()
        if keep is not None and keep.exists():
            shutil.copy(keep, database)
            made = json.loads(keep.with_suffix(".json").read_text(encoding="utf-8"))
        else:
            made = city.generate(engine, agencies, today, copies)
            made["seconds"] = round(time.perf_counter() - started, 1)
            made["database_mb"] = round(database.stat().st_size / 2**20, 1)
            if keep is not None:
                shutil.copy(database, keep)
                keep.with_suffix(".json").write_text(json.dumps(made), encoding="utf-8")
        token = auth.create_token(engine, "bench-reader", "city_admin")
        engine.dispose()
        log(f"  city generated: {made}")
        results: dict[str, Any] = {"size": made, "endpoints": []}
        with gateway(base, database) as (port, pid, bootstrap):
            for endpoint in endpoints(today, "BENCH00007") if "still" in sections else []:
                found: dict[str, Any] = {"name": endpoint.name, "path": endpoint.path}
                found["first_read_ms"] = round(_first_reads(port, token, database, endpoint.path) * 1000, 1)
                for count in readers:
                    ours = _ours(port, token, endpoint.path, count, REQUESTS.get(count, 5 * count))
                    sql = _direct_sql(database, endpoint, count, REQUESTS.get(count, 5 * count))
                    found[str(count)] = _side_by_side(ours, sql)
                sql_one = _direct_sql(database, endpoint, 1, 5)
                found["sql_one_ms"] = _ms(sql_one, 0.5)
                log(_line(found, readers))
                results["endpoints"].append(found)
            if "still" in sections:
                results["gateway_rss_mb_still"] = round(status_kb(pid).get("VmRSS", 0) / 1024, 1)
            if "arriving" in sections:
                writer = Writer(bootstrap, database, agencies)
                try:
                    results["arriving"] = measure_arriving(port, token, database, writer, today, readers, seconds)
                    results["arriving_batches"] = writer.batches
                finally:
                    writer.close()
            found_kb = status_kb(pid)
            results["gateway_rss_mb"] = round(found_kb.get("VmRSS", 0) / 1024, 1)
            results["gateway_hwm_mb"] = round(found_kb.get("VmHWM", 0) / 1024, 1)
    return results


def _ratio(ours: float, baseline: float) -> str:
    return f"{ours / baseline:.2f}" if baseline else "—"


def _line(found: dict[str, Any], readers: tuple[int, ...]) -> str:
    parts = [f"  {found['name']:32} first {found['first_read_ms']:>8.1f} ms (SQL {found['sql_one_ms']:.1f})"]
    for count in readers:
        f = found[str(count)]
        parts.append(
            f"{count:>2}: p50 {f['ours_p50_ms']:.1f}/{f['sql_p50_ms']:.1f} p99 {f['ours_p99_ms']:.1f}/"
            f"{f['sql_p99_ms']:.1f} ms ({_ratio(f['ours_p99_ms'], f['sql_p99_ms'])}×)"
        )
    return " | ".join(parts)


def _latency_table(endpoints: list[dict[str, Any]], first: str, readers: tuple[int, ...]) -> list[str]:
    """The lines of a latency table (and a blank one after it): per endpoint its first read, then per number of
    readers our p50/p99 beside the SQL's and the p99 ratio."""
    head = f"| endpoint | {first} |"
    rule = "|---|---:|"
    for count in readers:
        head += f" {count} reader{'s' if count > 1 else ''}: p50 / p99 ms (SQL p50 / p99) | p99 ratio |"
        rule += "---:|---:|"
    lines = [head, rule]
    for e in endpoints:
        row = f"| {e['name']} | {e['first_read_ms']:,.0f} (SQL {e['sql_one_ms']:,.0f}) |"
        for count in readers:
            f = e[str(count)]
            row += (
                f" {f['ours_p50_ms']:,.1f} / {f['ours_p99_ms']:,.1f} ({f['sql_p50_ms']:,.1f} / {f['sql_p99_ms']:,.1f})"
                f" | {_ratio(f['ours_p99_ms'], f['sql_p99_ms'])} |"
            )
        lines.append(row)
    return [*lines, ""]


def markdown(results: dict[str, Any], readers: tuple[int, ...] = READERS) -> str:
    """The read side's table: each endpoint's latencies beside its SQL's, and the ratios."""
    size = results["size"]
    lines = _latency_table(results["endpoints"], "first read after new events (ms)", readers)
    lines.append(
        f"City generated straight into the gateway database: {size['agencies']} agencies, {size['events_applied']:,} "
        f"events applied by the projections' handlers ({size['events_refused']} examples refused), "
        f"{size['energy_days']:,} daily energy rows; {size['database_mb']} MB of SQLite. Gateway resident memory "
        f"after the run: {results['gateway_rss_mb']} MB."
    )
    return "\n".join(lines)


def markdown_arriving(results: dict[str, Any], readers: tuple[int, ...] = READERS) -> str:
    """The reads-while-events-arrive table: each endpoint beside its SQL, both while a batch arrives every second."""
    lines = _latency_table(results["arriving"], "first read after a batch (ms)", readers)
    lines.append(
        f"{results['arriving_batches']} batches applied by the gateway's projector while measuring (each: readings of "
        f"3 agencies' meters, one office-space event). Gateway resident memory after the run: "
        f"{results['gateway_rss_mb']} MB."
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the read-side bench alone."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agencies", type=int, default=AGENCIES)
    parser.add_argument("--copies", type=int, default=COPIES)
    parser.add_argument("--readers", default=",".join(map(str, READERS)))
    parser.add_argument("--keep", type=Path, help="keep the generated city in this file (and reuse it when it exists)")
    parser.add_argument("--sections", default=",".join(SECTIONS), help="still, arriving (events every second)")
    parser.add_argument(
        "--seconds", type=float, default=ARRIVING_SECONDS, help="per endpoint and concurrency, arriving"
    )
    args = parser.parse_args(argv)
    readers = tuple(int(n) for n in args.readers.split(","))
    sections = tuple(args.sections.split(","))
    results = run(args.agencies, args.copies, readers, args.keep, sections, args.seconds)
    if "still" in sections:
        print(markdown(results, readers))
    if "arriving" in sections:
        print(markdown_arriving(results, readers))
    print(json.dumps(results, ensure_ascii=False))
    return results


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
