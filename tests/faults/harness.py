"""The fault suite's harness: a platform of a test's own, a load of real commands, and the invariants.

- ``running_platform``: Tansu, the services named and the gateway as processes (``start_services``, the
  way ``make run`` starts them) in a folder of the test's own, on SQLite or PostgreSQL stores, with a
  ``FaultPlatform`` that can signal, kill and restart any of its processes.
- ``Load``: client threads driving office-space commands through the gateway's HTTP API, every command
  with an ``Idempotency-Key`` and retried with the same key on 5xx, a lost connection or a version
  conflict. A command is *accepted* when a 2xx answer came back.
- ``check_invariants``: after a fault, every accepted command's events are in the office-space store
  exactly once (and nothing of a refused command is), every stored event is on Kafka at least once, and
  every projection built from them (the data center in the gateway, the service's own views, every
  service's ``known_agencies``) holds each exactly once — counts and sums compared with the store,
  polled until they converge or a deadline passes.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import random
import signal
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from kafka import KafkaProducer
from sqlalchemy.engine import Engine

from services.common.base.db import create_db_engine, reader
from services.common.base.settings import SERVICE_PORTS, load_settings
from services.common.kernel.events import Envelope
from services.common.read.broker import make_producer
from services.common.runtime.dlq import DeadLetterRecord, read_dead_letters
from services.common.runtime.processes import (
    ProcessGroup,
    free_port,
    port_open,
    start_services,
    start_tansu,
    wait_until,
)
from services.common.write.store import EventStore
from tests.e2e.conftest import Platform
from tests.support import POSTGRES_SERVER, agency_code, create_database, drop_database, read_topic

DOMAIN = "office_space"
TOPIC = "office_space.events"
DLQ = "office_space.events.dlq"
CONVERGE_SECONDS = 120.0
"""How long the invariants wait for Kafka and the projections to catch up after a fault."""


# -- the platform --------------------------------------------------------------------------------------


@dataclass
class FaultPlatform(Platform):
    """A running platform of one test, and its processes to hurt."""

    group: ProcessGroup | None = None
    services: tuple[str, ...] = ()
    _engines: dict[str, Engine] = field(default_factory=dict)

    @property
    def processes(self) -> ProcessGroup:
        assert self.group is not None
        return self.group

    def pid(self, name: str) -> int:
        """The pid of process ``name`` (as recorded when it was started)."""
        return int(json.loads((self.processes.run_dir / f"{name}.pid").read_text())["pid"])

    def signal(self, name: str, signum: int) -> None:
        """Send ``signum`` to process ``name``."""
        os.kill(self.pid(name), signum)

    def kill(self, name: str) -> None:
        """SIGKILL process ``name`` and wait until it is gone."""
        self.signal(name, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while self.processes.running(name):
            assert time.monotonic() < deadline, f"{name} survived SIGKILL"
            time.sleep(0.05)

    def restart(self, name: str, group: ProcessGroup | None = None) -> None:
        """Start service ``name`` again (with ``group``'s environment if given) and wait until it is healthy."""
        start_services(group or self.processes, self.ports, (name,), timeout=90)

    def database_url(self, name: str) -> str:
        """The database URL of ``name`` (a service's store and views, or the gateway's)."""
        return load_settings(self.env).database_url(name)

    def engine(self, name: str) -> Engine:
        """A read-only engine on the database of ``name`` (on SQLite it never takes the write lock)."""
        if name not in self._engines:
            self._engines[name] = reader(create_db_engine(self.database_url(name)))
        return self._engines[name]

    def store(self, name: str = DOMAIN) -> EventStore:
        """The event store of service ``name``, read directly."""
        return EventStore(self.engine(name), name)

    def dispose(self) -> None:
        for engine in self._engines.values():
            engine.dispose()


@contextmanager
def running_platform(
    base: Path,
    amqp_uri: str,
    services: tuple[str, ...] = (DOMAIN,),
    database: str = "sqlite",
    env: dict[str, str] | None = None,
) -> Iterator[FaultPlatform]:
    """Start Tansu, ``services`` and the gateway in ``base``; stop every process started there afterwards."""
    ports = {name: free_port() for name in SERVICE_PORTS}
    environment = {
        **os.environ,
        "VAR_DIR": str(base),
        "AMQP_URI": amqp_uri,
        "LOG_LEVEL": "INFO",
        **{f"PORT_{name.upper()}": str(port) for name, port in ports.items()},
        **(env or {}),
    }
    urls: dict[str, str] = {}
    if database == "postgres":
        urls = {name: create_database(POSTGRES_SERVER) for name in (*services, "gateway")}
        environment.update({f"DATABASE_URL_{name.upper()}": url for name, url in urls.items()})
    group = ProcessGroup(base, environment)
    broker_port = free_port()
    platform: FaultPlatform | None = None
    try:
        start_tansu(group, broker_port)
        environment["KAFKA_BOOTSTRAP"] = group.env["KAFKA_BOOTSTRAP"] = f"127.0.0.1:{broker_port}"
        start_services(group, ports, (*services, "gateway"), timeout=90)
        platform = FaultPlatform(base, environment, ports, environment["KAFKA_BOOTSTRAP"], urls, group, services)
        yield platform
    finally:
        if platform:
            platform.dispose()
        ProcessGroup(base, environment).stop_all()  # all at once, Tansu last
        for url in urls.values():
            drop_database(url)


class PrivateRabbitMQ:
    """A RabbitMQ node of one test's own (own node name, ports, data and logs, no plugins), to stop and start
    without touching the machine's shared RabbitMQ."""

    def __init__(self, base: Path, server: str) -> None:
        self.base = base
        self.port = free_port()
        base.mkdir(parents=True, exist_ok=True)
        (base / "enabled_plugins").write_text("[].\n")
        (base / "rabbitmq.conf").write_text(f"listeners.tcp.1 = 127.0.0.1:{self.port}\n")
        (base / "rabbitmq-env.conf").write_text("")
        env = {
            **os.environ,
            "HOME": str(base),  # the node's Erlang cookie goes here, not into the shared node's
            "RABBITMQ_NODENAME": f"gov_faults_{uuid.uuid4().hex[:8]}@localhost",
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(free_port()),
            "RABBITMQ_MNESIA_BASE": str(base / "mnesia"),
            "RABBITMQ_LOG_BASE": str(base / "log"),
            "RABBITMQ_PID_FILE": str(base / "rabbitmq.pid"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(base / "enabled_plugins"),
            "RABBITMQ_CONFIG_FILE": str(base / "rabbitmq.conf"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(base / "advanced.config"),
            "RABBITMQ_CONF_ENV_FILE": str(base / "rabbitmq-env.conf"),
        }
        self.group = ProcessGroup(base, env)
        self.argv = ["/bin/sh", server]  # a shell script: recorded as run by sh, stopped by SIGTERM (it traps it)

    @property
    def uri(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/"

    def start(self, timeout: float = 90) -> None:
        """Start the node and wait until it accepts AMQP connections."""
        self.group.spawn("rabbitmq", self.argv)
        wait_until(lambda: port_open("127.0.0.1", self.port), timeout, f"RabbitMQ (see {self.group.log_dir})")

    def stop(self) -> None:
        """Stop the node (gracefully, as an operator's restart does)."""
        self.group.stop("rabbitmq", timeout=60)


@contextmanager
def private_rabbitmq(base: Path, server: str) -> Iterator[PrivateRabbitMQ]:
    """A running ``PrivateRabbitMQ``, stopped afterwards."""
    node = PrivateRabbitMQ(base, server)
    try:
        node.start()
        yield node
    finally:
        node.stop()


# -- the load ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Command:
    """One command sent through the gateway; ``kind`` and ``key`` name what it creates in the store."""

    kind: str
    key: str
    method: str
    path: str
    body: dict[str, Any]
    idempotency_key: str
    service: str = DOMAIN
    retry: bool = True
    """False: sent once, whatever the answer (the campaign checks what a 503 left behind)."""


@dataclass
class Outcome:
    """How a command ended: ``status`` 0 means no answer came before the deadline (in doubt)."""

    command: Command
    status: int
    body: Any
    attempts: int

    @property
    def accepted(self) -> bool:
        return 200 <= self.status < 300


def _retryable(status: int, body: Any) -> bool:
    if status == 0 or status >= 500:
        return True
    return status == 409 and isinstance(body, dict) and body.get("error") == "version_conflict"


def send(
    platform: Platform,
    token: str,
    command: Command,
    deadline: float,
    heard: Callable[[int, Any], None] = lambda status, body: None,
) -> Outcome:
    """Send ``command`` until it gets an answer that is not worth retrying, or ``deadline`` passes (``heard``: told
    each attempt's answer).

    Retries use the same ``Idempotency-Key``: a command that was stored but whose answer got lost answers
    the same again instead of acting twice.
    """
    attempts = 0
    while True:
        attempts += 1
        try:
            status, body, _ = platform.request(
                command.method,
                command.path,
                command.body,
                token,
                headers={"Idempotency-Key": command.idempotency_key},
            )
        except (OSError, http.client.HTTPException) as exc:  # refused, reset, timed out: no answer
            status, body = 0, repr(exc)
        heard(status, body)
        if not command.retry or not _retryable(status, body):
            return Outcome(command, status, body, attempts)
        if time.monotonic() > deadline:
            return Outcome(command, 0, body, attempts)
        time.sleep(min(0.1 * attempts, 1.0))


@dataclass
class Seed:
    """Agencies and buildings the load posts staff to and adds rooms to (registered before the fault)."""

    agencies: list[str]
    buildings: list[str]
    outcomes: list[Outcome]


def agency_body(agency_id: str, headcount: int) -> dict[str, Any]:
    return {
        "agency_id": agency_id,
        "name": f"故障演练单位 {agency_id}",
        "district": "320402",
        "kind": "party_government",
        "admin_level": "county",
        "authorised_headcount": headcount,
    }


def seed_world(platform: Platform, token: str, agencies: int = 6, timeout: float = 60) -> Seed:
    """Register ``agencies`` agencies with a building each, and wait until the data center knows them."""
    tag = uuid.uuid4().hex[:6]
    deadline = time.monotonic() + timeout
    seed = Seed(
        [agency_code("320402", f"SA-{tag}-{i}") for i in range(agencies)],
        [f"SB-{tag}-{i}" for i in range(agencies)],
        [],
    )
    for i, agency in enumerate(seed.agencies):
        body = agency_body(agency, 50 + i)
        seed.outcomes.append(send(platform, token, new_command("agency", agency, "/api/v1/agencies", body), deadline))

    def known(agency: str) -> bool:
        return platform.request("GET", f"/api/v1/agencies/{agency}", token=token)[0] == 200

    for agency in seed.agencies:
        _wait(lambda: known(agency), deadline)  # noqa: B023 - called at once, in this iteration
    for agency, building in zip(seed.agencies, seed.buildings, strict=True):
        body = {
            "building_id": building,
            "agency_id": agency,
            "name": "行政中心",
            "address": "龙城大道1号",
            # room for every room the longest campaign adds: `make chaos-long`'s 20 faults made 4,400-5,500 office-
            # space commands in three seeds, two in seven a room of 8-47 m2 over six buildings (up to ~1,600 rooms,
            # ~265 a building: ~7,300 m2, 12,500 at most); 5,000 m2 ran out there, and the domain rightly refused
            # the rooms beyond it
            "gross_floor_area_m2": 200_000,
        }
        seed.outcomes.append(
            send(platform, token, new_command("building", building, "/api/v1/buildings", body), deadline)
        )
    refused = [o for o in seed.outcomes if not o.accepted]
    assert not refused, f"the seed was refused: {[(o.command.key, o.status, o.body) for o in refused]}"
    return seed


def new_command(
    kind: str, key: str, path: str, body: dict[str, Any], method: str = "POST", service: str = DOMAIN
) -> Command:
    """A command of ``service`` with an Idempotency-Key of its own, retried until it is answered."""
    return Command(kind, key, method, path, body, f"fault-{uuid.uuid4().hex}", service)


def _wait(check: Callable[[], bool], deadline: float, interval: float = 0.2) -> None:
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(interval)


class Load:
    """Office-space commands from ``workers`` client threads until ``stop()``; every outcome is kept.

    The commands register agencies, post staff to the seeded agencies, add rooms to the seeded buildings
    and change seeded agencies' headcounts; each creates something with a key of its own (agency id,
    person id, room id, or the headcount change's reason), so the store can be checked per command.
    """

    KINDS = ("agency", "staff", "room", "agency", "staff", "room", "headcount")

    def __init__(
        self,
        platform: Platform,
        token: str,
        seed: Seed,
        workers: int = 4,
        pause: float = 0.05,
        drain_seconds: float = 90,
    ) -> None:
        self.platform = platform
        self.token = token
        self.seed = seed
        self.workers = workers
        self.pause = pause
        self.drain_seconds = drain_seconds
        self.tag = uuid.uuid4().hex[:6]
        self.outcomes: list[Outcome] = []
        self._counter = 0
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._random = random.Random(11)
        self.heard: Counter[tuple[int, str]] = Counter()

    def __enter__(self) -> Load:
        for i in range(self.workers):
            thread = threading.Thread(target=self._work, name=f"load-{i}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop issuing commands; let the ones in flight finish (retrying until their deadline)."""
        self._stopping.set()
        for thread in self._threads:
            thread.join(self.drain_seconds + 30)
        self._threads = []

    def accepted_count(self) -> int:
        with self._lock:
            return sum(1 for o in self.outcomes if o.accepted)

    def wait_for(self, accepted: int, timeout: float = 60) -> None:
        """Wait until at least ``accepted`` commands were accepted (the load is really running); if they were not,
        the failure says what the attempts meanwhile were answered and what the gateway logged last."""
        with self._lock:
            self.heard.clear()
        try:
            _wait(lambda: self.accepted_count() >= accepted, time.monotonic() + timeout)
        except AssertionError:
            with self._lock:
                heard = self.heard.most_common(8)
            warnings = [line for line in self.platform.log("gateway").splitlines() if '"level": "info"' not in line]
            raise AssertionError(
                f"{self.accepted_count()} of {accepted} commands accepted; answers meanwhile: {heard}; "
                f"the gateway's last warnings: {warnings[-6:]}"
            ) from None

    def _next(self) -> Command:
        with self._lock:
            n = self._counter
            self._counter += 1
            number = self._random.randint(1, 300)
        return self.command(n, number)

    def command(self, n: int, number: int) -> Command:
        """The ``n``-th command of the load (``number``: a random figure for its body)."""
        return self.office_space_command(self.KINDS[n % len(self.KINDS)], n, number)

    def office_space_command(self, kind: str, n: int, number: int) -> Command:
        """An office-space command of ``kind``: an agency, a posting, a room or a headcount change."""
        agency = self.seed.agencies[n % len(self.seed.agencies)]
        if kind == "agency":
            agency_id = agency_code("320402", f"FA-{self.tag}-{n}")
            return new_command(kind, agency_id, "/api/v1/agencies", agency_body(agency_id, number))
        if kind == "staff":
            person = f"FP-{self.tag}-{n}"
            body: dict[str, Any] = {
                "person_id": person,
                "name": "王芳",
                "rank": "below_section",
                "posted_on": "2024-03-01",
            }
            return new_command(kind, person, f"/api/v1/agencies/{agency}/staff", body)
        if kind == "room":
            room = f"FR-{self.tag}-{n}"
            building = self.seed.buildings[n % len(self.seed.buildings)]
            body = {"room_id": room, "number": str(n), "usable_area_m2": 8 + number % 40, "use": "office"}
            return new_command(kind, room, f"/api/v1/buildings/{building}/rooms", body)
        reason = f"fault-load {self.tag} {n}"
        body = {"authorised_headcount": number, "reason": reason}
        return new_command("headcount", reason, f"/api/v1/agencies/{agency}/headcount", body)

    def _heard(self, status: int, body: Any) -> None:
        said = body.get("message", "") if isinstance(body, dict) else str(body)
        with self._lock:
            self.heard[(status, said[:100])] += 1

    def _work(self) -> None:
        while not self._stopping.is_set():
            command = self._next()
            outcome = send(self.platform, self.token, command, time.monotonic() + self.drain_seconds, self._heard)
            with self._lock:
                self.outcomes.append(outcome)
            time.sleep(self.pause)


# -- the invariants ------------------------------------------------------------------------------------


def store_events(platform: FaultPlatform, name: str = DOMAIN) -> list[Envelope]:
    """Every event of ``name``'s store, in commit order."""
    store = platform.store(name)
    events: list[Envelope] = []
    while batch := store.read_all(after=events[-1].position if events else 0, limit=5000):  # type: ignore[arg-type]
        events.extend(batch)
    return events


KEYS = {
    "AgencyRegistered": ("agency", "agency_id"),
    "BuildingRegistered": ("building", "building_id"),
    "StaffPosted": ("staff", "person_id"),
    "RoomAdded": ("room", "room_id"),
    "AuthorisedHeadcountChanged": ("headcount", "reason"),
    "FleetEstablished": ("quota", "reason"),
    "VehicleQuotaRevised": ("quota", "reason"),
    "VehicleRegistered": ("vehicle", "vehicle_id"),
    "AssetRegistered": ("asset", "asset_id"),
    "BudgetLineOpened": ("budget_line", "budget_line_id"),
    "MeterInstalled": ("meter", "meter_id"),
}
"""What an event a load command causes creates: (kind of command, the payload field that is its key)."""


def key_of(env: Envelope) -> tuple[str, str] | None:
    """What an event creates, as the (kind, key) of the load command that caused it (None: no load command's)."""
    if env.event_type not in KEYS:
        return None
    kind, field_name = KEYS[env.event_type]
    return kind, env.payload[field_name]


def expected_figures(events: list[Envelope]) -> dict[str, float]:
    """The figures every projection must show, computed from the store's events in commit order."""
    headcount: dict[str, int] = {}
    staff: set[str] = set()
    rooms: dict[str, float] = {}
    for env in events:
        p = env.payload
        if env.event_type in ("AgencyRegistered", "AuthorisedHeadcountChanged"):
            headcount[p["agency_id"]] = p["authorised_headcount"]
        elif env.event_type == "StaffPosted":
            staff.add(p["person_id"])
        elif env.event_type == "StaffDeparted":
            staff.discard(p["person_id"])
        elif env.event_type == "RoomAdded":
            rooms[p["room_id"]] = p["usable_area_m2"]
    return {
        "agencies": len(headcount),
        "authorised_headcount": sum(headcount.values()),
        "staff": len(staff),
        "rooms": len(rooms),
        "room_area_m2": sum(rooms.values()),
    }


def _figures(engine: Engine, agencies_table: str) -> dict[str, float]:
    with engine.connect() as conn:

        def one(sql: str) -> float:
            return float(conn.execute(sa.text(sql)).scalar() or 0)

        return {
            "agencies": one(f"SELECT count(*) FROM {agencies_table}"),
            "authorised_headcount": one(f"SELECT sum(authorised_headcount) FROM {agencies_table}"),
            "staff": one("SELECT count(*) FROM os_staff"),
            "rooms": one("SELECT count(*) FROM os_rooms"),
            "room_area_m2": one("SELECT sum(usable_area_m2) FROM os_rooms"),
        }


def _agencies_only(engine: Engine) -> dict[str, float]:
    with engine.connect() as conn:
        row = conn.execute(sa.text("SELECT count(*), sum(authorised_headcount) FROM known_agencies")).one()
    return {"agencies": float(row[0] or 0), "authorised_headcount": float(row[1] or 0)}


def projection_figures(platform: FaultPlatform) -> dict[str, dict[str, float]]:
    """The figures of every projection of the office-space events, by projector."""
    found = {
        "datacenter (gateway)": _figures(platform.engine("gateway"), "dc_agencies"),
        "office_space-views": _figures(platform.engine(DOMAIN), "known_agencies"),
    }
    for name in platform.services:
        if name != DOMAIN and sa.inspect(platform.engine(name)).has_table("known_agencies"):
            found[f"{name}-views (known_agencies)"] = _agencies_only(platform.engine(name))
    return found


def check_figures(platform: FaultPlatform, events: list[Envelope], deadline: float) -> dict[str, float]:
    """Assert every projection of the office-space events shows the figures of ``events`` (the store's) by
    ``deadline``; the figures."""
    expected = expected_figures(events)
    while True:
        figures = projection_figures(platform)
        wrong = {name: got for name, got in figures.items() if got != {k: expected[k] for k in got}}
        if not wrong or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert not wrong, f"projections differ from the store {expected}: {wrong}"
    return expected


def event_id_of(value: bytes | None) -> str | None:
    """The event id of a Kafka message, None for one that is no envelope (a poison message)."""
    try:
        data = json.loads(value or b"")
    except (ValueError, UnicodeDecodeError):
        return None
    return data.get("event_id") if isinstance(data, dict) else None


@dataclass
class Report:
    """What the invariants found, for the test's own assertions and the log."""

    accepted: int
    retried: int
    stored_events: int
    kafka_records: int
    figures: dict[str, float]
    dead_letters: list[DeadLetterRecord]
    seconds_to_converge: float

    def __str__(self) -> str:
        return (
            f"{self.accepted} commands accepted ({self.retried} after retries), {self.stored_events} events stored,"
            f" {self.kafka_records} on Kafka, {len(self.dead_letters)} dead letters, projections {self.figures}"
            f" converged in {self.seconds_to_converge:.1f}s"
        )


def check_invariants(
    platform: FaultPlatform,
    outcomes: list[Outcome],
    allow_dead_letter: Callable[[DeadLetterRecord], bool] = lambda _: False,
    district_agencies: Collection[str] = (),
) -> Report:
    """Assert every accepted command's events are stored exactly once, on Kafka at least once, and in
    every projection exactly once; a refused or unanswered command must have stored nothing twice.

    ``district_agencies`` are agencies registered by district messages the broker acknowledged: each must be in
    the store exactly once too (and so in every projection)."""
    started = time.monotonic()
    refused = [o for o in outcomes if not o.accepted]
    assert not refused, "commands not accepted: " + "; ".join(
        f"{o.command.kind} {o.command.key}: {o.status} {str(o.body)[:200]} after {o.attempts} attempts"
        for o in refused[:10]
    )
    events = store_events(platform)
    ids = [e.event_id for e in events]
    assert len(ids) == len(set(ids)), "an event id is stored twice"
    stored = set(ids)
    per_key = Counter(k for k in map(key_of, events) if k)
    issued = {(o.command.kind, o.command.key) for o in outcomes}
    for outcome in outcomes:
        key = (outcome.command.kind, outcome.command.key)
        assert per_key[key] == 1, f"{key} is in the store {per_key[key]} times"
        answered = set(outcome.body["event_ids"])
        assert answered and answered <= stored, f"{key}: answered event ids {answered - stored} are not stored"
    for agency in district_agencies:
        assert per_key["agency", agency] == 1, (
            f"district agency {agency} is in the store {per_key['agency', agency]} times"
        )
    issued |= {("agency", agency) for agency in district_agencies}
    assert set(per_key) <= issued, f"events nobody asked for: {sorted(set(per_key) - issued)[:10]}"

    deadline = time.monotonic() + CONVERGE_SECONDS
    on_kafka: list[str] = []
    while True:
        on_kafka = [event_id for r in read_topic(platform.bootstrap, TOPIC) if (event_id := event_id_of(r.value))]
        missing = stored - set(on_kafka)
        if not missing or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert not missing, f"{len(missing)} stored events never reached Kafka, e.g. {sorted(missing)[:5]}"

    expected = check_figures(platform, events, deadline)

    letters = read_dead_letters(platform.bootstrap, DLQ)
    unexpected = [letter.describe() for letter in letters if not allow_dead_letter(letter)]
    assert not unexpected, f"unexpected dead letters: {unexpected[:5]}"
    retried = sum(1 for o in outcomes if o.attempts > 1)
    return Report(len(outcomes), retried, len(events), len(on_kafka), expected, letters, time.monotonic() - started)


# -- district traffic --------------------------------------------------------------------------------

DISTRICT = "320402"
INBOUND = f"district.{DISTRICT}.inbound"


class DistrictTraffic:
    """A district's system sending agency registrations one after another; a message counts once the broker
    acknowledged it. A send that failed is sent again with the same message id by a new producer (a producer a
    fresh broker does not know never succeeds again), as a district's own client would."""

    def __init__(self, platform: FaultPlatform, pause: float = 0.1) -> None:
        self.platform = platform
        self.pause = pause
        self.tag = uuid.uuid4().hex[:6]
        self.acknowledged: list[str] = []
        self.failures = 0
        self._stop = threading.Event()
        self._held = threading.Event()
        self._thread = threading.Thread(target=self._run, name="district", daemon=True)

    def __enter__(self) -> DistrictTraffic:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(60)

    def hold(self) -> None:
        """Stop sending (the message being sent is finished first)."""
        self._held.set()
        time.sleep(11)  # longer than a send's own wait for its acknowledgement

    def resume(self) -> None:
        self._held.clear()

    def _run(self) -> None:
        producer: KafkaProducer | None = None
        n = 0
        while not self._stop.is_set():
            if self._held.is_set():
                self._stop.wait(0.1)
                continue
            agency = agency_code(DISTRICT, f"DA-{self.tag}-{n}")
            message = {
                "message_id": f"dm-{self.tag}-{n}",
                "message_type": "office_space.register_agency",
                "schema_version": 1,
                "district": DISTRICT,
                "sent_at": "2026-11-23T08:00:00+08:00",
                "payload": agency_body(agency, 30),
            }
            try:
                producer = producer or make_producer(self.platform.bootstrap, max_block_ms=3000)
                producer.send(INBOUND, key=message["message_id"].encode(), value=json.dumps(message).encode()).get(10)
            except Exception:
                self.failures += 1
                _close_quietly(producer)  # its pending sends fail: closing it raises, as a district client expects
                producer = None
                self._stop.wait(0.5)
                continue
            self.acknowledged.append(agency)
            n += 1
            self._stop.wait(self.pause)
        _close_quietly(producer, timeout=1)


def _close_quietly(producer: KafkaProducer | None, timeout: float = 0) -> None:
    """Close ``producer``; a producer whose sends are still pending raises on close (its flush times out): the
    district's client then goes on with a new one, as it must, rather than stopping."""
    if producer is None:
        return
    with contextlib.suppress(Exception):  # whatever the old producer says, the next send uses a new one
        producer.close(timeout=timeout)


def applied(platform: FaultPlatform, agencies: list[str]) -> bool:
    """Whether every one of ``agencies`` (registered by district messages) is in the office-space store."""
    registered = {e.payload["agency_id"] for e in store_events(platform) if e.event_type == "AgencyRegistered"}
    return set(agencies) <= registered
