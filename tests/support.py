"""Helpers the tests share: events to append, reading a whole topic back, a process's metrics."""

from __future__ import annotations

import json
import os
import time
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, ClassVar

import sqlalchemy as sa
from kafka import TopicPartition
from prometheus_client.parser import text_string_to_metric_families

from services.common.kernel.aggregate import Aggregate
from services.common.kernel.clock import china_today
from services.common.kernel.events import Event, Metadata
from services.common.read.broker import make_consumer
from services.office_space.domain.agencies import Agency, AgencyRegistered

POSTGRES_SERVER = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
DISTRICTS = {"320402": "天宁区", "320404": "钟楼区"}


def ages_since(first_day: date) -> set[int]:
    """The ages in days something opened on ``first_day`` or later can have today: {0}, unless China's midnight
    passed since (a test running across it)."""
    return set(range((china_today() - first_day).days + 1))


def new_agency(agency_id: str, district: str = "320402", headcount: int = 10) -> Agency:
    """An aggregate with one pending event, for the plumbing's tests (stores, relays, projectors): an agency's
    registration recorded as its event, under ``agency_id`` as given (short names that read well in those
    tests), without the registration's rules (its unified social credit code: ``Agency.register``)."""
    agency = Agency(agency_id)
    event = AgencyRegistered(agency_id, f"单位 {agency_id}", district, "party_government", "county", headcount, None)
    agency._record(event)  # the plumbing needs an event, not the registration's rules
    return agency


def meta(actor: str = "test") -> Metadata:
    """Event metadata for a test."""
    return Metadata(actor=actor)


def read_topic(bootstrap: str, topic: str, idle_polls: int = 3) -> list[Any]:
    """Every record of ``topic`` (all partitions), in partition/offset order."""
    consumer = make_consumer(bootstrap)
    partitions = consumer.partitions_for_topic(topic) or set()
    tps = [TopicPartition(topic, p) for p in sorted(partitions)]
    if not tps:
        return []
    consumer.assign(tps)
    consumer.seek_to_beginning(*tps)
    records: list[Any] = []
    empty = 0
    while empty < idle_polls:
        batch = consumer.poll(timeout_ms=300, max_records=5000)
        empty = 0 if batch else empty + 1
        for tp in sorted(batch, key=lambda t: t.partition):
            records.extend(batch[tp])
    consumer.close()
    return records


def envelopes_of(records: list[Any]) -> list[dict[str, Any]]:
    """The JSON envelopes of Kafka records."""
    return [json.loads(r.value) for r in records]


@dataclass(frozen=True)
class ToyEvent(Event):
    """Events of a test-only domain (no contract files: stores of it run with ``validate=False``)."""

    domain: ClassVar[str] = "testing"


@dataclass(frozen=True)
class CounterOpened(ToyEvent):
    """A counter stream began."""

    name: str


@dataclass(frozen=True)
class CounterIncremented(ToyEvent):
    """A counter went up."""

    by: int


class Counter(Aggregate):
    """A minimal aggregate for exercising the store's mechanics."""

    stream_type: ClassVar[str] = "Counter"

    def _init_state(self) -> None:
        self.name = ""
        self.total = 0

    @classmethod
    def open(cls, stream_id: str) -> Counter:
        """A new counter."""
        counter = cls(stream_id)
        counter._record(CounterOpened(stream_id))
        return counter

    def increment(self, by: int = 1) -> None:
        """Add ``by``."""
        self._record(CounterIncremented(by))

    def _on_CounterOpened(self, event: CounterOpened) -> None:
        self.name = event.name

    def _on_CounterIncremented(self, event: CounterIncremented) -> None:
        self.total += event.by


def eventually(
    read: Callable[[], Any], accept: Callable[[Any], bool], timeout: float = 120, interval: float = 0.3
) -> Any:
    """``read()`` again until ``accept`` takes its value or ``timeout`` seconds pass; the last value either way
    (the caller asserts on it, so a timeout fails with what was last seen)."""
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if accept(value) or time.monotonic() > deadline:
            return value
        time.sleep(interval)


def metric_samples(base_url: str, name: str) -> list[tuple[dict[str, str], float]]:
    """The samples named ``name`` (a counter's with its ``_total``) on ``base_url``'s ``/metrics``, each with its
    labels, as Prometheus reads them."""
    with urllib.request.urlopen(f"{base_url}/metrics", timeout=15) as answer:
        text = answer.read().decode()
    return [
        (sample.labels, sample.value)
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    ]


def metric_value(base_url: str, name: str, **labels: str) -> float | None:
    """The value of the sample ``name`` with these ``labels`` on ``base_url``'s ``/metrics`` (None: not exported)."""
    return next((value for found, value in metric_samples(base_url, name) if found == labels), None)


def server_errors_counted(base_url: str) -> list[dict[str, str]]:
    """The labels of each of a process's request counters with a 5xx status and a count above zero."""
    counted = metric_samples(base_url, "gov_http_requests_total")
    assert counted, "the process counts its requests"
    return [labels for labels, value in counted if labels.get("status", "").startswith("5") and value]


def database_text(engine: sa.Engine) -> str:
    """Every row of every table of a database, as text (what a leaked copy of it shows)."""
    found = []
    with engine.connect() as conn:
        for table in sa.inspect(engine).get_table_names():
            found += [str(tuple(row)) for row in conn.execute(sa.text(f'SELECT * FROM "{table}"'))]
    return "\n".join(found)


def admin_engine() -> sa.Engine:
    """An AUTOCOMMIT engine on the PostgreSQL server (for CREATE and DROP DATABASE)."""
    return sa.create_engine(POSTGRES_SERVER, isolation_level="AUTOCOMMIT")


def create_database(server: str) -> str:
    """Create an empty database on ``server`` and return its URL."""
    name = f"gov_test_{uuid.uuid4().hex[:12]}"
    with admin_engine().connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    return str(sa.engine.make_url(server).set(database=name).render_as_string(hide_password=False))


def drop_database(url: str) -> None:
    """Drop a database made by ``create_database`` (closing its connections)."""
    name = sa.engine.make_url(url).database
    with admin_engine().connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def agency_code(district: str, key: str = "") -> str:
    """A unified social credit code (统一社会信用代码) of a government agency (机构编制, 机关) issued in
    ``district``: the same for the same ``key``, a new one for each call without. Agencies register under
    codes that pass the GB 32100-2015 check (``services.common.kernel.uscc``)."""
    import hashlib
    import uuid

    from services.common.kernel import uscc

    seed = key or uuid.uuid4().hex
    serial = int(hashlib.sha256(seed.encode()).hexdigest(), 16) % 10**9
    return uscc.with_check_character(f"11{district}{serial:09d}")


def owned_vehicle(vehicle_id: str, agency_id: str, plate: str) -> dict[str, Any]:
    """A gasoline car the agency already owned (counted in its quota), as ``POST /api/v1/vehicles`` takes it."""
    return {
        "vehicle_id": vehicle_id,
        "plate": plate,
        "agency_id": agency_id,
        "energy_type": "gasoline",
        "use_category": "general",
        "model": "大众帕萨特 1.4T",
        "acquisition_kind": "existing",
        "acquired_on": "2023-06-01",
        "norm_per_100km": 8,
        "tank_capacity": 55,
        "odometer_km": 20_000,
    }


def county_agency(agency_id: str, name: str, district: str, headcount: int = 20) -> dict[str, Any]:
    """The body of ``POST /api/v1/agencies`` for a county-level party or government agency (机关)."""
    return {
        "agency_id": agency_id,
        "name": name,
        "district": district,
        "kind": "party_government",
        "admin_level": "county",
        "authorised_headcount": headcount,
    }
