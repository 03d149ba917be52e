"""Commands through the gateway at fixed rates, projection freshness under load, memory per service.

A real platform is started as ``tests/e2e/conftest.py`` starts it (``services.common.runtime.processes``): Tansu,
every service and the gateway as processes of their own over a RabbitMQ virtual host of its own, SQLite
stores under a temporary directory, relays and projectors in process (the ``make run`` defaults).

- ``commands``: an open-loop load of office-space commands over HTTP with an ``Idempotency-Key`` each
  — one in five registers an agency, two post staff, two add a room (to agencies and buildings made
  before the clock starts) — at fixed rates (50, 100, 200, 400 commands/s by default). A command is sent
  at its scheduled moment whatever the answers before it did, and its latency runs from that moment to
  its answer, so a gateway (or a client) falling behind shows as latency, not as a lower rate.
- ``freshness``: during the 200/s step, from a registration's 201 answer until ``GET /api/v1/agencies/<id>``
  (read from the data center's projection) finds it; at most two probes at a time, polling every 25 ms.
- ``memory``: resident set size (VmRSS, and the peak VmHWM) of every service process and the gateway
  after the load, beside each one's modules imported in a bare interpreter (the code's own floor).

Baselines, in the same run and at the same rates (open loop, same latency definition):

- a raw kafka-python producer sending one AgencyRegistered envelope per command with the relay's settings
  (``acks=all``, idempotent): the cost of a durable write on the broker alone;
- the ``eventsourcing`` library's ``Application`` deciding and saving the same commands in process on
  SQLite (register an agency, post staff): an event-sourced command without HTTP, RPC or our checks.

``python -m tests.load.bench_gateway [--rates 50,100] [--seconds 10]`` runs it alone.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

from services.common.base.settings import SERVICE_PORTS, SERVICES, settings
from services.common.kernel.clock import iso, utc_now
from services.common.kernel.districts import CITY_CODE, DEFAULT_DISTRICTS
from services.common.kernel.events import Envelope
from services.common.read.broker import ensure_topics, envelope_message, make_producer
from services.common.runtime.processes import ProcessGroup, free_port, start_services, start_tansu
from services.office_space.domain.base import RANKS
from tests.support import agency_code

RATES = (50, 100, 200, 400)
STEP_SECONDS = 25.0
BASELINE_SECONDS = 10.0
FRESHNESS_RATE = 200
POOL = 150
"""Agencies and buildings made before the clock starts, which staff and rooms are added to in turn."""
TIMEOUT = 30.0
MIX = ("register_agency", "post_staff", "add_room", "post_staff", "add_room")
LOAD_GENERATOR = "load generator"
"""The bench's own process (it sends the commands, and polls for freshness at one rate): its CPU is shown beside
the platform's and the floor's, and counted in neither total, so that the two totals count the same kinds of
process — those that serve a command."""


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# -- the platform ---------------------------------------------------------------------------------------


@dataclass
class Running:
    """A running platform: its processes, ports and environment."""

    group: ProcessGroup
    env: dict[str, str]
    ports: dict[str, int]
    bootstrap: str

    def token(self) -> str:
        argv = [sys.executable, "-m", "services.gateway.tokens", "create", "--name", "bench", "--role", "city_admin"]
        return subprocess.run(argv, env=self.env, check=True, capture_output=True, text=True).stdout.strip()

    def pids(self) -> dict[str, int]:
        return {name: int(str(record["pid"])) for name, record in self.group.recorded()}


@contextlib.contextmanager
def platform(base: Path) -> Iterator[Running]:
    """Tansu, every service and the gateway, on a RabbitMQ virtual host of their own (as the e2e tests)."""
    from tests.conftest import rabbitmq_vhost

    with rabbitmq_vhost() as amqp_uri:
        ports = {name: free_port() for name in SERVICE_PORTS}
        env = {
            **os.environ,
            "VAR_DIR": str(base),
            "AMQP_URI": amqp_uri,
            "LOG_LEVEL": "INFO",
            # the load generator is one token standing for a city's many callers: one caller's limit would cut
            # its open-loop load short (web.InFlight); each step measures the platform, not that limit
            "GATEWAY_IN_FLIGHT_PER_TOKEN": "100000",
            **{f"PORT_{name.upper()}": str(port) for name, port in ports.items()},
        }
        group = ProcessGroup(base, env)
        broker_port = free_port()
        start_tansu(group, broker_port)
        env["KAFKA_BOOTSTRAP"] = group.env["KAFKA_BOOTSTRAP"] = f"127.0.0.1:{broker_port}"
        try:
            started = time.perf_counter()
            start_services(group, ports, timeout=180)
            log(f"  platform up in {time.perf_counter() - started:.0f}s")
            yield Running(group, env, ports, env["KAFKA_BOOTSTRAP"])
        finally:
            group.stop_all(["gateway", *SERVICES, "tansu"])


# -- a small HTTP/1.1 client (keep-alive connections, asyncio) -------------------------------------------


class Http:
    """Keep-alive HTTP/1.1 connections to the gateway; at most ``limit`` requests in flight."""

    def __init__(self, port: int, token: str, limit: int = 256) -> None:
        self.port = port
        self.base = f"Host: 127.0.0.1:{port}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\n"
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self.limit = asyncio.Semaphore(limit)

    async def request(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        data = json.dumps(body).encode() if body is not None else b""
        extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        head = f"{method} {path} HTTP/1.1\r\n{self.base}{extra}Content-Length: {len(data)}\r\n\r\n".encode()
        async with self.limit:
            for attempt in range(2):
                # a retry opens a new connection: the next idle one may have been closed by the server as well
                # (it closes a connection idle for ``HTTP_IDLE_SECONDS``, and a burst reaches the oldest ones)
                reused = bool(self.idle) and attempt == 0
                conn = self.idle.pop() if reused else await asyncio.open_connection("127.0.0.1", self.port)
                try:
                    status, answer, keep = await self._exchange(conn, head + data)
                except (ConnectionError, asyncio.IncompleteReadError):
                    conn[1].close()
                    if reused:  # the server closed an idle connection: once more, anew
                        continue
                    raise
                except BaseException:
                    conn[1].close()
                    raise
                if keep:
                    self.idle.append(conn)
                else:
                    conn[1].close()
                return status, answer
        raise ConnectionError("unreachable")

    @staticmethod
    async def _exchange(conn: tuple[asyncio.StreamReader, asyncio.StreamWriter], raw: bytes) -> tuple[int, bytes, bool]:
        reader, writer = conn
        writer.write(raw)
        await writer.drain()
        lines = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
        keep = headers.get("connection", "").lower() != "close"
        if "content-length" in headers:
            body = await reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            parts = []
            while size := int((await reader.readuntil(b"\r\n")).strip(), 16):
                parts.append(await reader.readexactly(size))
                await reader.readexactly(2)
            await reader.readuntil(b"\r\n")
            body = b"".join(parts)
        else:
            body, keep = await reader.read(), False
        return status, body, keep

    def close(self) -> None:
        for _, writer in self.idle:
            writer.close()
        self.idle.clear()


# -- the commands ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Command:
    kind: str
    path: str
    body: dict[str, Any]
    key: str
    agency_id: str | None = None


def _district(n: int) -> tuple[str, str]:
    code = list(DEFAULT_DISTRICTS)[n % len(DEFAULT_DISTRICTS)]
    return code, "city" if code == CITY_CODE else "county"


def registration(key: str, n: int) -> Command:
    district, level = _district(n)
    agency_id = pool_agency(key, n)
    body = {
        "agency_id": agency_id,
        "name": f"压测单位 {agency_id}",
        "district": district,
        "kind": "party_government",
        "admin_level": level,
        "authorised_headcount": 5000,
    }
    return Command("register_agency", "/api/v1/agencies", body, f"k-{uuid.uuid4().hex}", agency_id)


def pool_agency(key: str, n: int) -> str:
    """The unified social credit code of the ``n``-th agency named ``key``, issued in its district."""
    return agency_code(_district(n)[0], key)


def pool_commands(run: str) -> list[Command]:
    """The agencies and their buildings that staff and rooms go to (made before the clock starts)."""
    commands = [registration(f"PA-{run}-{n}", n) for n in range(POOL)]
    for n in range(POOL):
        body = {
            "building_id": f"PB-{run}-{n}",
            "agency_id": pool_agency(f"PA-{run}-{n}", n),
            "name": f"办公楼 {n}",
            "address": "龙城大道1280号",
            "gross_floor_area_m2": 1_000_000,
        }
        commands.append(Command("register_building", "/api/v1/buildings", body, f"k-{uuid.uuid4().hex}"))
    return commands


def load_commands(run: str, step: str, count: int) -> list[Command]:
    """``count`` commands of the mix, each with ids of its own; staff and rooms go round the pool."""
    commands = []
    for i in range(count):
        kind, target = MIX[i % len(MIX)], (i // len(MIX)) % POOL
        key = f"k-{uuid.uuid4().hex}"
        body: dict[str, Any]
        if kind == "register_agency":
            commands.append(registration(f"LA-{run}-{step}-{i}", i))
        elif kind == "post_staff":
            rank = RANKS[_district(target)[1]][-1]
            body = {"person_id": f"P-{step}-{i}", "name": "张伟", "rank": rank, "posted_on": "2021-03-01"}
            commands.append(
                Command(kind, f"/api/v1/agencies/{pool_agency(f'PA-{run}-{target}', target)}/staff", body, key)
            )
        else:
            body = {"room_id": f"R-{step}-{i}", "number": f"{i % 900 + 100}", "usable_area_m2": 18, "use": "office"}
            commands.append(Command(kind, f"/api/v1/buildings/PB-{run}-{target}/rooms", body, key))
    return commands


# -- measuring ------------------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (nearest rank) of ``values`` (sorted here)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered), max(1, math.ceil(q * len(ordered)))) - 1]


def summary(rate: float, seconds: float, latencies: list[float], errors: dict[str, int], span: float) -> dict[str, Any]:
    """Offered and achieved rate, latency percentiles in milliseconds, errors by kind."""
    ms = [x * 1000 for x in latencies]
    return {
        "rate": rate,
        "seconds": seconds,
        "sent": len(latencies) + sum(errors.values()),
        "ok": len(latencies),
        "achieved": round(len(latencies) / span, 1) if span else 0.0,
        "p50": round(percentile(ms, 0.50), 1),
        "p95": round(percentile(ms, 0.95), 1),
        "p99": round(percentile(ms, 0.99), 1),
        "max": round(max(ms, default=float("nan")), 1),
        "errors": dict(errors),
    }


@dataclass
class Freshness:
    """Samples how long the data center takes to show a newly registered agency, through the API
    (``GET /api/v1/agencies/<id>``, answered from the projection) or in the gateway's database itself."""

    shown: Callable[[str], Awaitable[bool]]
    slots: int
    interval: float
    samples: list[float] = field(default_factory=list)
    polls: int = 0
    timeouts: int = 0
    tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def offer(self, agency_id: str, answered_at: float) -> None:
        if len(self.tasks) < self.slots:
            task = asyncio.create_task(self._probe(agency_id, answered_at))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    async def _probe(self, agency_id: str, answered_at: float) -> None:
        loop = asyncio.get_running_loop()
        while loop.time() - answered_at < 60:
            found = await self.shown(agency_id)
            self.polls += 1
            if found:
                self.samples.append(loop.time() - answered_at)
                return
            await asyncio.sleep(self.interval)
        self.timeouts += 1

    async def drain(self) -> None:
        while self.tasks:
            await asyncio.gather(*list(self.tasks), return_exceptions=True)

    def figures(self, rate: int) -> dict[str, Any]:
        ms = [x * 1000 for x in self.samples]
        return {
            "rate": rate,
            "samples": len(ms),
            "p50": round(percentile(ms, 0.5), 1),
            "p99": round(percentile(ms, 0.99), 1),
            "max": round(max(ms, default=float("nan")), 1),
            "polls": self.polls,
            "timeouts": self.timeouts,
            "interval_ms": self.interval * 1000,
            "slots": self.slots,
        }


def api_probe(http: Http) -> Freshness:
    """Freshness as a client sees it: the agency through the gateway's API (2 probes at a time, every 25 ms)."""

    async def shown(agency_id: str) -> bool:
        return (await http.request("GET", f"/api/v1/agencies/{agency_id}"))[0] == 200

    return Freshness(shown, slots=2, interval=0.025)


def database_probe(path: Path) -> tuple[Freshness, sqlite3.Connection]:
    """Freshness of the projection itself: its row in the gateway's SQLite database (read-only; 8 probes at a
    time, every 10 ms), without the API's queue in front of it."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)

    async def shown(agency_id: str) -> bool:
        query = "SELECT 1 FROM dc_agencies WHERE agency_id = ?"
        return conn.execute(query, (agency_id,)).fetchone() is not None

    return Freshness(shown, slots=8, interval=0.01), conn


async def open_loop(http: Http, rate: float, commands: list[Command], probes: list[Freshness]) -> dict[str, Any]:
    """Send ``commands`` at ``rate`` per second, each at its moment; latency from that moment to the answer."""
    loop = asyncio.get_running_loop()
    latencies: list[float] = []
    errors: dict[str, int] = {}
    lags: list[float] = []
    last = [0.0]

    async def one(at: float, command: Command) -> None:
        lags.append(loop.time() - at)
        try:
            status, body = await asyncio.wait_for(
                http.request("POST", command.path, command.body, {"Idempotency-Key": command.key}), TIMEOUT
            )
        except (TimeoutError, OSError, asyncio.IncompleteReadError) as exc:
            errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
            return
        done = loop.time()
        last[0] = max(last[0], done)
        if 200 <= status < 300:
            latencies.append(done - at)
            if command.kind == "register_agency" and command.agency_id:
                for probe in probes:
                    probe.offer(command.agency_id, done)
        else:
            reason = f"{status} {json.loads(body).get('error', '') if body.startswith(b'{') else ''}".strip()
            errors[reason] = errors.get(reason, 0) + 1

    start = loop.time() + 0.05
    tasks = []
    for i, command in enumerate(commands):
        at = start + i / rate
        delay = at - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(at, command)))
    await asyncio.gather(*tasks)
    result = summary(rate, len(commands) / rate, latencies, errors, last[0] - start)
    result["client_send_lag_p99_ms"] = round(percentile(lags, 0.99) * 1000, 1)
    return result


def kept_up(step: dict[str, Any]) -> bool:
    """Whether a step answered at the offered rate: 95 % of it achieved, nothing timed out."""
    return bool(step["achieved"] >= 0.95 * step["rate"] and not step["errors"].get("TimeoutError"))


def rabbitmq_pid() -> dict[str, int]:
    """``{"rabbitmq": pid}`` of the machine's RabbitMQ node (its Erlang VM), or nothing when none is found: the
    RPC hop's broker, whose CPU is a command's too."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() == "beam.smp" and b"rabbit" in (entry / "cmdline").read_bytes():
                return {"rabbitmq": int(entry.name)}
        except OSError:
            continue
    return {}


def cpu_seconds(pid: int) -> float:
    """User and system CPU time ``pid`` has used so far (from /proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def scheduled_seconds(pid: int) -> tuple[float, float]:
    """(seconds on a core, seconds runnable but waiting for one) of every thread of ``pid`` so far
    (/proc/<pid>/task/*/schedstat; threads that ended are not counted)."""
    ran = waited = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            on_cpu, waiting, _ = (int(x) for x in (task / "schedstat").read_text().split())
        except (OSError, ValueError):
            continue
        ran, waited = ran + on_cpu, waited + waiting
    return ran / 1e9, waited / 1e9


async def _gateway_load(
    running: Running, token: str, run: str, rates: tuple[int, ...], seconds: float
) -> tuple[dict[str, Any], dict[str, Any]]:
    port = running.ports["gateway"]
    http = Http(port, token)
    setup = Http(port, token, limit=8)
    reads = Http(port, token, limit=4)
    started = time.perf_counter()
    pool = pool_commands(run)
    for chunk in (pool[:POOL], pool[POOL:]):  # agencies first, then their buildings
        answers = await asyncio.gather(
            *(setup.request("POST", c.path, c.body, {"Idempotency-Key": c.key}) for c in chunk)
        )
        bad = [a for a in answers if a[0] >= 300]
        if bad:
            raise RuntimeError(f"setting up the pool failed: {bad[:3]}")
    log(f"  pool of {POOL} agencies and buildings made in {time.perf_counter() - started:.0f}s")
    pids = running.pids() | rabbitmq_pid() | {LOAD_GENERATOR: os.getpid()}
    steps: dict[str, Any] = {}
    freshness: dict[str, Any] = {}
    sampled = FRESHNESS_RATE if FRESHNESS_RATE in rates else rates[-1]
    for rate in rates:
        if rate > FRESHNESS_RATE and not all(kept_up(s) for s in steps.values()):
            log(f"  gateway {rate:>4}/s: skipped (a lower rate did not keep up)")
            steps[str(rate)] = {"rate": rate, "skipped": True}
            continue
        probes: list[Freshness] = []
        conn = None
        if rate == sampled:
            db_probe, conn = database_probe(Path(running.env["VAR_DIR"]) / "gateway.db")
            probes = [api_probe(reads), db_probe]
        commands = load_commands(run, f"s{rate}", int(rate * seconds))
        cpu_before = {name: cpu_seconds(pid) for name, pid in pids.items()}
        sched_before = [scheduled_seconds(pid) for pid in pids.values()]
        result = await open_loop(http, rate, commands, probes)
        cpu = {name: cpu_seconds(pid) - cpu_before[name] for name, pid in pids.items()}
        sched = [scheduled_seconds(pid) for pid in pids.values()]
        ran = sum(after[0] - before[0] for after, before in zip(sched, sched_before, strict=True))
        waited = sum(after[1] - before[1] for after, before in zip(sched, sched_before, strict=True))
        result["cpu_ms_per_command"] = {name: round(used * 1000 / len(commands), 2) for name, used in cpu.items()}
        result["waited_per_cpu_second"] = round(waited / ran, 2) if ran else None
        result["load_average"] = round(os.getloadavg()[0], 2)
        steps[str(rate)] = result
        log(
            f"  gateway {rate:>4}/s: achieved {result['achieved']:>6.1f}/s  p50 {result['p50']:>7.1f} ms  "
            f"p95 {result['p95']:>7.1f}  p99 {result['p99']:>7.1f}  max {result['max']:>7.1f}  errors {result['errors']}"
        )
        if probes:
            for probe in probes:
                await probe.drain()
            freshness = {"api": probes[0].figures(rate), "database": probes[1].figures(rate)}
            for kind, f in freshness.items():
                log(f"  freshness ({kind}) at {rate}/s: p50 {f['p50']} ms, p99 {f['p99']} ms ({f['samples']} samples)")
        if conn is not None:
            conn.close()
        await asyncio.sleep(2)  # let the relays and projectors catch up before the next step
    for client in (http, setup, reads):
        client.close()
    return steps, freshness


# -- baselines ------------------------------------------------------------------------------------------


def _sample_message() -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    from tests.support import new_agency

    agency = new_agency("AG-BASELINE")
    event = agency.pending_events[0]
    now = iso(utc_now())
    env = Envelope(
        str(uuid.uuid4()), event.event_type, event.schema_version, "Agency", agency.id, 1, now, now,
        agency.district, agency.id, "bench", str(uuid.uuid4()), None, event.payload(), "office_space",
    )  # fmt: skip
    return envelope_message(env)


def _paced(rate: float, count: int, work: Any) -> float:
    """Call ``work(i, scheduled)`` at ``rate`` per second from now; the start moment."""
    start = time.perf_counter() + 0.05
    for i in range(count):
        at = start + i / rate
        delay = at - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        work(i, at)
    return start


def baseline_producer(bootstrap: str, rate: float, seconds: float) -> dict[str, Any]:
    """A raw kafka-python producer (acks=all, idempotent: the relay's settings), one message per command."""
    topic = "bench.baseline"
    ensure_topics(bootstrap, [topic], settings().topic_partitions)
    producer = make_producer(bootstrap)
    key, value, headers = _sample_message()
    producer.send(topic, key=key, value=value, headers=headers).get(timeout=30)  # connected and warm
    latencies: list[float] = []
    errors: dict[str, int] = {}
    last = [0.0]

    def done(at: float, _metadata: Any) -> None:  # kafka-python calls fn(*args, value)
        now = time.perf_counter()
        latencies.append(now - at)
        last[0] = max(last[0], now)

    def failed(exc: Exception) -> None:
        errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1

    def send(_: int, at: float) -> None:
        future = producer.send(topic, key=key, value=value, headers=headers)
        future.add_callback(done, at)
        future.add_errback(failed)

    count = int(rate * seconds)
    start = _paced(rate, count, send)
    producer.flush()
    producer.close()
    return summary(rate, seconds, latencies, errors, last[0] - start)


class EsAgency(Aggregate):
    """The baseline's agency: registered, staff posted (the eventsourcing library's aggregate)."""

    @event("Registered")
    def __init__(self, name: str, district: str, headcount: int) -> None:
        self.name, self.district, self.headcount = name, district, headcount
        self.staff: dict[str, str] = {}

    @event("StaffPosted")
    def post_staff(self, person_id: str, rank: str) -> None:
        self.staff[person_id] = rank


class Office(Application[UUID]):
    """The baseline's application: the same two commands, decided and saved in process."""

    def register(self, name: str, district: str) -> Any:
        agency = EsAgency(name, district, 5000)
        self.save(agency)
        return agency.id

    def post_staff(self, agency_id: Any, person_id: str) -> None:
        agency: EsAgency = self.repository.get(agency_id)
        if person_id in agency.staff:
            raise ValueError("already on post")
        agency.post_staff(person_id, "below_section")
        self.save(agency)


def baseline_eventsourcing(path: Path, rate: float, seconds: float) -> dict[str, Any]:
    """The eventsourcing library's Application on SQLite deciding and saving the commands in process."""
    app = Office(env={"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(path)})
    pool = [app.register(f"单位 {n}", "320402") for n in range(POOL)]
    latencies: list[float] = []
    errors: dict[str, int] = {}

    def work(i: int, at: float) -> None:
        try:
            if i % len(MIX) == 0:
                app.register(f"单位 L{i}", "320402")
            else:
                app.post_staff(pool[(i // len(MIX)) % POOL], f"P-{i}")
        except Exception as exc:  # counted, as the gateway's errors are
            errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
            return
        latencies.append(time.perf_counter() - at)

    count = int(rate * seconds)
    start = _paced(rate, count, work)
    return summary(rate, seconds, latencies, errors, time.perf_counter() - start)


@contextlib.contextmanager
def nameko_floor(env: dict[str, str]) -> Iterator[tuple[int, dict[str, int]]]:
    """The stack's floor (``tests/load/nameko_floor.py``) as two processes on a RabbitMQ virtual host of their
    own: the HTTP port and the pids."""
    from tests.conftest import rabbitmq_vhost

    with rabbitmq_vhost() as amqp_uri:
        port = free_port()
        quiet = env | {"PYTHONWARNINGS": "ignore"}
        processes = {
            side: subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "tests.load.nameko_floor",
                    side,
                    amqp_uri,
                    str(port if side == "gateway" else free_port()),
                ],
                env=quiet,
                stdout=subprocess.PIPE,
                text=True,
            )
            for side in ("service", "gateway")
        }
        try:
            for side, process in processes.items():
                assert process.stdout is not None
                if process.stdout.readline().strip() != "ready":
                    raise RuntimeError(f"the nameko floor's {side} did not start")
            yield port, {f"floor {side}": process.pid for side, process in processes.items()} | rabbitmq_pid()
        finally:
            for process in processes.values():
                process.terminate()
            for process in processes.values():
                process.wait(timeout=30)


async def baseline_floor(port: int, pids: dict[str, int], run: str, rate: float, seconds: float) -> dict[str, Any]:
    """The same commands, open loop at the same rate, through the bare nameko HTTP → RPC → answer path."""
    http = Http(port, "floor")
    await open_loop(http, 50, load_commands(run, f"floor-warm-{rate}", 50), [])
    commands = load_commands(run, f"floor-{rate}", int(rate * seconds))
    pids = pids | {"load generator": os.getpid()}  # measured as beside the platform, counted in neither total
    before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    result = await open_loop(http, rate, commands, [])
    result["cpu_ms_per_command"] = {
        name: round((cpu_seconds(pid) - before[name]) * 1000 / len(commands), 2) for name, pid in pids.items()
    }
    http.close()
    return result


# -- memory ---------------------------------------------------------------------------------------------


def status_kb(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of ``pid`` in kB (from /proc)."""
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(("VmRSS:", "VmHWM:")):
            found[line.split(":")[0]] = int(line.split()[1])
    return found


_FLOOR = (
    "import eventlet; eventlet.monkey_patch(); import importlib, sys, time; "
    "importlib.import_module(sys.argv[1]); print('ready', flush=True); time.sleep(120)"
)


def floor_rss_mb(module: str, env: dict[str, str]) -> float:
    """Resident memory of a bare interpreter that imported ``module`` (and so every library it uses)."""
    quiet = env | {"PYTHONWARNINGS": "ignore"}
    process = subprocess.Popen([sys.executable, "-c", _FLOOR, module], env=quiet, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        if process.stdout.readline().strip() != "ready":
            raise RuntimeError(f"importing {module} failed")
        return round(status_kb(process.pid)["VmRSS"] / 1024, 1)
    finally:
        process.terminate()
        process.wait(timeout=10)


def memory(running: Running) -> dict[str, Any]:
    """RSS and peak RSS of every service process and the gateway, with each one's import floor."""
    pids = running.pids()
    result = {}
    for name in (*SERVICES, "gateway"):
        kb = status_kb(pids[name])
        result[name] = {
            "rss_mb": round(kb["VmRSS"] / 1024, 1),
            "peak_mb": round(kb["VmHWM"] / 1024, 1),
            "floor_mb": floor_rss_mb(f"services.{name}.service", running.env),
        }
        log(
            f"  memory {name:13} {result[name]['rss_mb']:6.1f} MB resident (peak {result[name]['peak_mb']:.1f}), "
            f"modules alone {result[name]['floor_mb']:.1f} MB"
        )
    kb = status_kb(pids["tansu"])
    result["tansu"] = {"rss_mb": round(kb["VmRSS"] / 1024, 1), "peak_mb": round(kb["VmHWM"] / 1024, 1)}
    return result


# -- report ---------------------------------------------------------------------------------------------


def served_ms(cpu_ms_per_command: dict[str, float]) -> float:
    """CPU ms per command of the processes that serve it (every one measured but the load generator)."""
    return sum(ms for name, ms in cpu_ms_per_command.items() if name != LOAD_GENERATOR)


def _cpu_table(steps: dict[str, Any], floor: dict[str, Any]) -> list[str]:
    """CPU milliseconds per command by process at each rate (where a command's work goes), beside the floor's."""
    ran = {rate: s for rate, s in steps.items() if "cpu_ms_per_command" in s}
    if not ran:
        return []
    first = next(iter(ran.values()))["cpu_ms_per_command"]
    names = [n for n in first if n not in ("tansu", LOAD_GENERATOR)] + ["tansu"]
    lines = [
        "",
        "CPU per command by process, in ms (user + system CPU time each process used during the step, divided by "
        "the commands sent; RabbitMQ is the machine's node, which any other work on it shares), and how long these "
        "processes' threads were ready to run but waited for a core, per second they ran (from "
        "`/proc/<pid>/task/*/schedstat`; 0 on an idle machine). *Serving* counts every process that serves a "
        "command — each service, the gateway, RabbitMQ and Tansu here; the floor's service, gateway and RabbitMQ "
        "there — and not the load generator, whose CPU is shown on both sides but counted in neither:",
        "",
        "| commands/s | " + " | ".join(names) + " | serving | load generator | floor serving | ratio to the floor "
        "| waited for a core per CPU second |",
        "|---:|" + "---:|" * (len(names) + 5),
    ]
    for rate, s in ran.items():
        cpu = s["cpu_ms_per_command"]
        cells = " | ".join(f"{cpu[n]:.2f}" for n in names)
        waited = s.get("waited_per_cpu_second")
        f = floor.get(rate, {}).get("cpu_ms_per_command")
        ours = served_ms(cpu)
        floor_cells = f"{served_ms(f):.2f} | {ours / served_ms(f):.2f}" if f else " | "
        lines.append(
            f"| {rate} | {cells} | {ours:.2f} | {cpu.get(LOAD_GENERATOR, 0):.2f} | {floor_cells} "
            f"| {'' if waited is None else f'{waited:.2f} s'} |"
        )
    return lines


def _freshness(f: dict[str, Any], producer: dict[str, Any]) -> list[str]:
    api, db = f["api"], f["database"]
    base = producer[str(api["rate"])]
    return [
        "",
        f"Projection freshness at {api['rate']} commands/s — from a registration's 201 answer until the data center "
        "shows the agency (the service's commit, its outbox relay, Kafka, the gateway's projector and its commit):",
        "",
        "| seen | p50 s | p99 s | max s | samples | polling | raw producer p99 s (the broker's share) "
        "| ratio p99 to raw producer p99 |",
        "|---|---:|---:|---:|---:|---|---:|---:|",
        f"| in the gateway's database (`dc_agencies`, read-only) | {db['p50'] / 1000:.2f} | {db['p99'] / 1000:.2f} "
        f"| {db['max'] / 1000:.2f} | {db['samples']} | every {db['interval_ms']:.0f} ms, {db['slots']} at a time "
        f"| {base['p99'] / 1000:.3f} | {db['p99'] / base['p99']:,.0f} |",
        f"| through the API (`GET /api/v1/agencies/<id>`) | {api['p50'] / 1000:.2f} | {api['p99'] / 1000:.2f} "
        f"| {api['max'] / 1000:.2f} | {api['samples']} | every {api['interval_ms']:.0f} ms, {api['slots']} at a "
        f"time ({api['polls']:,} GETs) | {base['p99'] / 1000:.3f} | {api['p99'] / base['p99']:,.0f} |",
    ]


def markdown(results: dict[str, Any]) -> str:
    """The gateway, freshness and memory sections of BENCHMARKS.md."""
    steps, producer, es = results["steps"], results["baseline_producer"], results["baseline_eventsourcing"]
    floor = results.get("baseline_floor", {})
    goal_rate = str(FRESHNESS_RATE)
    p99 = steps.get(goal_rate, {}).get("p99")
    goal = "—" if p99 is None else f"**{'met' if p99 < 50 else 'not met'}** (p99 {p99:,.0f} ms)"
    lines = [
        "Commands through the gateway (`tests/load/bench_gateway.py`): an open-loop load of office-space commands "
        "over HTTP (one in five registers an agency, two post staff, two add a room; each with an "
        f"`Idempotency-Key`) at fixed rates for {results['seconds']:.0f} s each, against the whole platform as "
        "processes (Tansu, RabbitMQ, every service and the gateway; SQLite stores; relays and projectors in "
        "process). Latency runs from a command's scheduled moment to its answer (a client or gateway falling "
        "behind shows as latency). Baselines at the same rates, open loop too, for "
        f"{results['baseline_seconds']:.0f} s each: a raw kafka-python producer (`acks=all`, idempotent, the relay's "
        "settings) sending one envelope per command — the durable write on the broker alone — and the "
        "`eventsourcing` library's `Application` deciding and saving the same kind of commands (register an agency, "
        "post staff) in process on SQLite — an event-sourced command without HTTP, RPC, contracts or idempotency; "
        "and the stack's floor (`tests/load/nameko_floor.py`): the same requests through a bare nameko HTTP service "
        "calling a bare nameko RPC service that answers at once, two processes on RabbitMQ as the gateway and a "
        "service are — eventlet, werkzeug, kombu and RabbitMQ without any of the platform's work. "
        f"Goal: p99 under 50 ms at {goal_rate} commands/s — {goal}.",
        "",
        "| commands/s offered | achieved | p50 ms | p95 ms | p99 ms | max ms | errors | raw producer p50 / p99 ms "
        "| eventsourcing p50 / p99 ms | nameko floor achieved, p50 / p99 ms | p99 ratio to raw producer "
        "| p99 ratio to eventsourcing | p99 ratio to nameko floor |",
        "|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for rate, s in steps.items():
        b, e = producer[rate], es[rate]
        f = floor.get(rate)
        floor_cell = f"{f['achieved']:,.1f}, {f['p50']:,.1f} / {f['p99']:,.1f}" if f else ""
        if s.get("skipped"):
            lines.append(
                f"| {rate} | skipped: a lower rate did not keep up | | | | | | {b['p50']:,.1f} / {b['p99']:,.1f} "
                f"| {e['p50']:,.1f} / {e['p99']:,.1f} | {floor_cell} | | | |"
            )
            continue
        errors = ", ".join(f"{k}: {v}" for k, v in s["errors"].items()) or "0"
        lines.append(
            f"| {rate} | {s['achieved']:,.1f} | {s['p50']:,.1f} | {s['p95']:,.1f} | {s['p99']:,.1f} | {s['max']:,.1f} "
            f"| {errors} | {b['p50']:,.1f} / {b['p99']:,.1f} | {e['p50']:,.1f} / {e['p99']:,.1f} "
            f"| {floor_cell} | {s['p99'] / b['p99']:,.1f} | {s['p99'] / e['p99']:,.1f} "
            f"| {s['p99'] / f['p99'] if f else float('nan'):,.1f} |"
        )
    ran = {rate: s for rate, s in steps.items() if not s.get("skipped")}
    lines += [
        "",
        "The load generator's own lag (p99 of how late it sent a command, on the same cores): "
        + ", ".join(f"{rate}/s: {s['client_send_lag_p99_ms']:,.1f} ms" for rate, s in ran.items())
        + ". Load average (1 minute) at the end of each step: "
        + ", ".join(f"{rate}/s: {s['load_average']}" for rate, s in ran.items())
        + ".",
    ]
    lines += _cpu_table(steps, floor)
    if floor:
        lines += [
            "",
            "The nameko floor's CPU per request, in ms: "
            + ", ".join(
                f"{rate}/s: "
                + ", ".join(f"{name.removeprefix('floor ')} {cpu:.2f}" for name, cpu in f["cpu_ms_per_command"].items())
                + f" (serving {served_ms(f['cpu_ms_per_command']):.2f})"
                for rate, f in floor.items()
            )
            + ".",
        ]
    if results.get("freshness"):
        lines += _freshness(results["freshness"], producer)
    mem = results["memory"]
    over = [n for n in (*SERVICES, "gateway") if mem[n]["rss_mb"] >= 150]
    lines += [
        "",
        "Memory after the load (resident set size, VmRSS, and its peak, VmHWM, from `/proc/<pid>/status`); goal "
        "under 150 MB per service — "
        + ("**met** by every process" if not over else f"**not met** by {', '.join(over)}")
        + ". Baseline: the same process's modules imported in a bare interpreter (eventlet patched, nothing "
        "started) — what the code and its libraries cost before any work.",
        "",
        "| process | resident MB | peak MB | modules alone MB | ratio to modules alone |",
        "|---|---:|---:|---:|---:|",
    ]
    for name in (*SERVICES, "gateway"):
        m = mem[name]
        lines.append(
            f"| {name} | {m['rss_mb']:.1f} | {m['peak_mb']:.1f} | {m['floor_mb']:.1f} | {m['rss_mb'] / m['floor_mb']:.2f} |"
        )
    lines.append(
        f"| Tansu (the broker, not a service) | {mem['tansu']['rss_mb']:.1f} | {mem['tansu']['peak_mb']:.1f} | | |"
    )
    return "\n".join(lines)


# -- entry points ---------------------------------------------------------------------------------------


def run(
    rates: tuple[int, ...] = RATES, seconds: float = STEP_SECONDS, baseline_seconds: float = BASELINE_SECONDS
) -> dict[str, Any]:
    """Start a platform, load it at each rate, measure freshness and memory; the baselines beside."""
    results: dict[str, Any] = {"seconds": seconds, "baseline_seconds": baseline_seconds}
    results["load_before"] = round(os.getloadavg()[0], 2)
    run_id = uuid.uuid4().hex[:6]
    with tempfile.TemporaryDirectory(prefix="gov-bench-gateway-") as tmp, platform(Path(tmp)) as running:
        token = running.token()
        results["baseline_producer"], results["baseline_eventsourcing"] = {}, {}
        for rate in rates:  # first, on the idle platform: the load leaves work behind in the processes
            b = baseline_producer(running.bootstrap, rate, baseline_seconds)
            results["baseline_producer"][str(rate)] = b
            e = baseline_eventsourcing(Path(tmp) / f"es-{rate}.db", rate, baseline_seconds)
            results["baseline_eventsourcing"][str(rate)] = e
            log(
                f"  baselines {rate:>4}/s: raw producer p50 {b['p50']} ms p99 {b['p99']} ms; "
                f"eventsourcing p50 {e['p50']} ms p99 {e['p99']} ms"
            )
        results["baseline_floor"] = {}
        with nameko_floor(running.env) as (floor_port, floor_pids):
            for rate in rates:
                f = asyncio.run(baseline_floor(floor_port, floor_pids, run_id, rate, baseline_seconds))
                results["baseline_floor"][str(rate)] = f
                log(
                    f"  baseline nameko floor {rate:>4}/s: p50 {f['p50']} ms p99 {f['p99']} ms, CPU {f['cpu_ms_per_command']}"
                )
        steps, freshness = asyncio.run(_gateway_load(running, token, run_id, rates, seconds))
        results["steps"], results["freshness"] = steps, freshness
        results["memory"] = memory(running)
    results["load_after"] = round(os.getloadavg()[0], 2)
    return results


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the gateway benchmark alone and print its section."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", default=",".join(map(str, RATES)), help="commands per second, comma-separated")
    parser.add_argument("--seconds", type=float, default=STEP_SECONDS, help="seconds per rate")
    parser.add_argument("--baseline-seconds", type=float, default=BASELINE_SECONDS, help="seconds per baseline rate")
    args = parser.parse_args(argv)
    from services.common.base.log import configure_logging

    configure_logging("bench", "WARNING")
    rates = tuple(int(r) for r in args.rates.split(","))
    results = run(rates, args.seconds, args.baseline_seconds)
    print(markdown(results))
    return results


if __name__ == "__main__":
    main()
