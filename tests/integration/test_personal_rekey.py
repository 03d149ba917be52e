"""Re-keying a store that ran before sealing, on real stores (SQLite and PostgreSQL) and the real key store.

The legacy events are written as the code before sealing wrote them: the store without a key store (clear staff
names), and for trips the rows of that time (``TripDispatched.v1`` with a clear name and no driver id,
``GpsPointsRecorded.v1`` with a clear list of fixes), snapshots with the clear values included. After the
re-keying no clear name or fix is left anywhere in the store's tables, the aggregates load with the same figures,
an erasure reads 已删除, a second run changes nothing and a run killed half-way is finished by the next."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from services.common.base import contracts
from services.common.base.db import create_db_engine, migrate
from services.common.base.personal import ERASED, ERASED_TEXT, KeyStore, Subject, is_token, reveal
from services.common.kernel.clock import CHINA_STANDARD_TIME
from services.common.kernel.events import Metadata, upcast
from services.common.read.broker import ensure_topics, make_admin, make_producer
from services.common.runtime.relay import OutboxRelay
from services.common.write.rekeying import DriverIds, Rekeying
from services.common.write.store import EventStore, events_table
from services.office_space.domain.agencies import Agency
from services.vehicles import read_model
from services.vehicles.domain.trips import Trip, VehicleOnDuty
from tests.integration.conftest import MASTER, key_store_engine
from tests.support import agency_code, database_text, envelopes_of, read_topic

DISTRICT = "320402"
META = Metadata(actor="city_admin:test", correlation_id="c-1")
STAFF = {"P-0001": "张伟", "P-0002": "李娜"}
LONGITUDE = "119.9741"
"""The longitude of every fix: a store still holding a track in clear shows it."""
A1 = agency_code(DISTRICT, "A1")
ROOT = Path(__file__).resolve().parents[2]


class Killed(Exception):
    """The run stopped from outside (a kill), after some batches were committed."""


def _events(engine: Engine) -> list[tuple[Any, ...]]:
    """Every stored event as a row: position, id, stream, version, type, schema version, payload."""
    t = events_table.c
    columns = (t.position, t.event_id, t.stream_id, t.stream_version, t.event_type, t.schema_version, t.payload)
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(sa.select(*columns).order_by(t.position))]


def _snapshot_count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.text("SELECT count(*) FROM snapshots")).scalar_one())


# -- office space: staff names ------------------------------------------------------------------------


@pytest.fixture
def office(db_url: str) -> EventStore:
    """An office-space store as it was before sealing: two persons on post with clear names, and a snapshot."""
    store = EventStore.open(db_url, "office_space", snapshot_every=2)  # no key store: nothing sealed
    agency = Agency.register(
        agency_id=A1,
        name="区政府办公室",
        district=DISTRICT,
        kind="party_government",
        admin_level="county",
        authorised_headcount=20,
        known_districts={DISTRICT: "天宁区"},
    )
    for person_id, name in STAFF.items():
        agency.post_staff(person_id, name, "section_principal", "2026-03-01")
    store.save(agency, META)
    raw = database_text(store.engine)
    assert "张伟" in raw and "李娜" in raw and _snapshot_count(store.engine) == 1  # the legacy state, clear
    return store


def test_staff_names_are_sealed_in_place_and_erasable(office: EventStore, keys: KeyStore) -> None:
    before = _events(office.engine)
    report = Rekeying(office, keys).run()
    assert report.rewritten == {"StaffPosted.v1": 2} and report.snapshots_dropped == 1
    raw = database_text(office.engine)
    assert "张伟" not in raw and "李娜" not in raw
    after = _events(office.engine)
    # ids, streams, versions, positions and types unchanged; only the two names' payloads differ
    assert [row[:6] for row in after] == [row[:6] for row in before]
    assert sum(a[6] != b[6] for a, b in zip(after, before, strict=True)) == 2
    staff = office.load(Agency, A1).staff
    assert len(staff) == 2  # the staff count: P-0001 and P-0002
    assert all(is_token(person["name"]) for person in staff.values())
    assert keys.decrypt_field(staff["P-0001"]["name"], "name") == "张伟"
    keys.erase(Subject("person", "P-0001"))
    staff = office.load(Agency, A1).staff
    assert reveal(keys, staff["P-0001"]["name"], "name", True) == ERASED_TEXT
    assert reveal(keys, staff["P-0002"]["name"], "name", True) == "李娜"
    assert len(staff) == 2


def test_a_second_run_changes_nothing(office: EventStore, keys: KeyStore) -> None:
    Rekeying(office, keys).run()
    sealed = _events(office.engine)
    again = Rekeying(office, keys).run()
    assert again.total == 0 and again.examined == 2 and again.snapshots_dropped == 0
    assert _events(office.engine) == sealed  # no token was sealed again


def test_a_dry_run_writes_nothing_and_makes_no_key(office: EventStore, keys: KeyStore) -> None:
    before = _events(office.engine)
    report = Rekeying(office, keys).run(dry_run=True)
    assert report.rewritten == {"StaffPosted.v1": 2}
    assert _events(office.engine) == before and _snapshot_count(office.engine) == 1
    with keys.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM subject_keys")).scalar_one() == 0


def test_a_name_of_a_person_erased_before_the_rekeying_becomes_erased(office: EventStore, keys: KeyStore) -> None:
    keys.erase(Subject("person", "P-0002"))  # erased by id while the name was still in clear: a tombstone
    report = Rekeying(office, keys).run()
    assert report.total == 2 and report.erased == 1
    staff = office.load(Agency, A1).staff
    assert staff["P-0002"]["name"] == ERASED_TEXT and "李娜" not in database_text(office.engine)
    assert keys.decrypt_field(staff["P-0001"]["name"], "name") == "张伟"
    assert Rekeying(office, keys).run().total == 0


# -- vehicles: drivers of v1 dispatches and clear GPS batches -------------------------------------------


def at(day: str, clock: str) -> datetime:
    """A Beijing-time moment."""
    return datetime.combine(date.fromisoformat(day), time.fromisoformat(clock), CHINA_STANDARD_TIME)


def _legacy_trip(store: EventStore, trip_id: str, driver: str, day: str) -> None:
    """A trip as the code before sealing stored it: a v1 dispatch (clear name, no driver id), 42 km on the
    odometer, three clear fixes in a ``GpsPointsRecorded`` batch, and a snapshot holding the clear name."""
    trip = Trip.request(
        trip_id=trip_id,
        agency_id="A1",
        district=DISTRICT,
        purpose="调研",
        destination="武进区政府",
        passengers=2,
        planned_start=at(day, "09:00"),
        planned_end=at(day, "11:00"),
    )
    trip.dispatch(VehicleOnDuty("V1", "苏D12345", "A1", DISTRICT), None, driver, at(day, "08:00"))  # type: ignore[arg-type]
    trip.start(10_000, at(day, "09:00"))
    trip.record_gps(
        [[at(day, f"09:0{n}").isoformat(), round(31.81 + n * 0.01, 2), float(LONGITUDE)] for n in (0, 1, 2)]
    )
    trip.finish(10_042, at(day, "11:00"))
    store.save(trip, META)
    t = events_table
    with store.engine.begin() as conn:
        for row in conn.execute(sa.select(t.c.position, t.c.event_type, t.c.payload).where(t.c.stream_id == trip_id)):
            payload = json.loads(row.payload)
            if row.event_type == "TripDispatched":
                del payload["driver_id"]
                legacy = {"schema_version": 1, "payload": json.dumps(payload, ensure_ascii=False)}
            elif row.event_type == "GpsBatchRecorded":
                legacy = {"event_type": "GpsPointsRecorded"}
            else:
                continue
            conn.execute(t.update().where(t.c.position == row.position).values(**legacy))


@pytest.fixture
def fleet(db_url: str) -> EventStore:
    """A vehicles store before sealing: T-1 and T-2 driven by 李师傅, T-3 by 赵师傅."""
    store = EventStore.open(db_url, "vehicles", snapshot_every=2)
    store.validate = False  # a GpsBatchRecorded with a clear list is then rewritten into GpsPointsRecorded
    _legacy_trip(store, "T-1", "李师傅", "2026-03-05")
    _legacy_trip(store, "T-2", "李师傅", "2026-03-06")
    _legacy_trip(store, "T-3", "赵师傅", "2026-03-07")
    store.validate = True
    raw = database_text(store.engine)
    assert "李师傅" in raw and LONGITUDE in raw and _snapshot_count(store.engine) == 3
    assert [row[4:6] for row in _events(store.engine)][:6] == [
        ("TripRequested", 1),
        ("TripDispatched", 1),
        ("TripStarted", 1),
        ("GpsPointsRecorded", 1),
        ("TripFinished", 1),
        ("TripRequested", 1),
    ]
    return store


def _project(store: EventStore, engine: Engine) -> None:
    """Apply the store's events to the vehicles views in ``engine``, upcast as the projector reads them."""
    migrate(engine, "vehicles_views")
    views = read_model.VehiclesViews()
    with engine.begin() as conn:
        for env in store.read_all():
            latest = contracts.latest_version("vehicles", env.event_type)
            payload = upcast("vehicles", env.event_type, env.schema_version, env.payload, latest)
            views.apply(conn, replace(env, schema_version=latest, payload=payload))


def _trip_figures(store: EventStore, tmp_path: Path) -> list[tuple[Any, ...]]:
    """The trips projected from the store: id, driver id, kilometres, GPS points and GPS kilometres."""
    engine = create_db_engine(f"sqlite:///{tmp_path / 'views.db'}")
    _project(store, engine)
    columns = "trip_id, driver_id, distance_km, gps_points, round(gps_km, 2)"
    with engine.connect() as conn:
        figures = [tuple(r) for r in conn.execute(sa.text(f"SELECT {columns} FROM veh_trips ORDER BY trip_id"))]
    engine.dispose()
    (tmp_path / "views.db").unlink()
    return figures


def test_drivers_get_ids_tracks_become_sealed_batches_and_the_figures_stay(
    fleet: EventStore, keys: KeyStore, tmp_path: Path
) -> None:
    before = _events(fleet.engine)
    figures = _trip_figures(fleet, tmp_path)
    # 10,042 - 10,000 = 42 km each; 3 fixes 0.01° of latitude apart: 2 × 1.11 km = 2.22 km
    assert figures == [("T-1", None, 42.0, 3, 2.22), ("T-2", None, 42.0, 3, 2.22), ("T-3", None, 42.0, 3, 2.22)]
    drivers = DriverIds()
    report = Rekeying(fleet, keys, drivers).run()
    assert report.rewritten == {
        "TripDispatched.v1 -> TripDispatched.v2": 3,
        "GpsPointsRecorded.v1 -> GpsBatchRecorded.v1": 3,
    }
    assert report.snapshots_dropped == 3
    raw = database_text(fleet.engine)
    assert "李师傅" not in raw and "赵师傅" not in raw and LONGITUDE not in raw
    after = _events(fleet.engine)
    assert [row[:4] for row in after] == [row[:4] for row in before]  # positions, ids, streams, versions
    assert {row[4:6] for row in after if row[4] in ("TripDispatched", "GpsBatchRecorded", "GpsPointsRecorded")} == {
        ("TripDispatched", 2),
        ("GpsBatchRecorded", 1),
    }
    # one id per (district, name), in the order the names first appear; the mapping for the district to keep
    assert (
        drivers.mapping_csv() == "district,name,driver_id\n320402,李师傅,D-320402-L0001\n320402,赵师傅,D-320402-L0002\n"
    )
    assert _trip_figures(fleet, tmp_path) == [
        ("T-1", "D-320402-L0001", 42.0, 3, 2.22),
        ("T-2", "D-320402-L0001", 42.0, 3, 2.22),
        ("T-3", "D-320402-L0002", 42.0, 3, 2.22),
    ]
    trip = fleet.load(Trip, "T-1")
    assert (trip.driver_id, trip.gps_points) == ("D-320402-L0001", 3)
    assert keys.decrypt_field(str(trip.driver), "driver") == "李师傅"
    batch = next(e for e in fleet.stream_envelopes("Trip", "T-1") if e.event_type == "GpsBatchRecorded")
    assert keys.decrypt_field(batch.payload["points"], "points")[0] == ["2026-03-05T09:00:00+08:00", 31.81, 119.9741]
    # erasing the driver and the track of T-1: 已删除, the figures as they were
    keys.erase(Subject("driver", "D-320402-L0001"))
    keys.erase(Subject("track", "T-1"))
    trip = fleet.load(Trip, "T-1")
    assert reveal(keys, trip.driver, "driver", True) == ERASED_TEXT
    assert reveal(keys, fleet.load(Trip, "T-2").driver, "driver", True) == ERASED_TEXT  # the same driver
    assert reveal(keys, fleet.load(Trip, "T-3").driver, "driver", True) == "赵师傅"
    assert keys.decrypt_field(batch.payload["points"], "points") is ERASED
    assert _trip_figures(fleet, tmp_path)[0] == ("T-1", "D-320402-L0001", 42.0, 3, 2.22)
    # a second run: nothing left to do, nothing changed
    sealed = _events(fleet.engine)
    again = Rekeying(fleet, keys).run()
    assert again.total == 0 and again.examined == 6
    assert _events(fleet.engine) == sealed


def test_a_run_killed_half_way_is_finished_by_the_next_with_the_same_driver_ids(
    fleet: EventStore, keys: KeyStore
) -> None:
    def kill_after_two(batch: int) -> None:
        if batch == 2:
            raise Killed

    # one event a batch: T-1's dispatch and T-1's batch are committed, then the run is killed
    with pytest.raises(Killed):
        Rekeying(fleet, keys, batch=1, after_batch=kill_after_two).run()
    kinds = [row[4:6] for row in _events(fleet.engine) if row[2] == "T-2" and row[4] == "TripDispatched"]
    assert kinds == [("TripDispatched", 1)]  # T-2 not reached yet
    drivers = DriverIds()
    report = Rekeying(fleet, keys, drivers, batch=1).run()
    # 6 legacy events, 2 re-keyed before the kill: 4 left; T-2's 李师傅 gets T-1's id back (read from its token)
    assert report.total == 4 and report.batches == 6
    assert [fleet.load(Trip, t).driver_id for t in ("T-1", "T-2", "T-3")] == [
        "D-320402-L0001",
        "D-320402-L0001",
        "D-320402-L0002",
    ]
    assert drivers.mapping_csv().splitlines()[1:] == ["320402,李师傅,D-320402-L0001", "320402,赵师傅,D-320402-L0002"]
    raw = database_text(fleet.engine)
    assert "李师傅" not in raw and LONGITUDE not in raw
    assert Rekeying(fleet, keys).run().total == 0


def test_the_districts_own_driver_ids_from_its_mapping_file(fleet: EventStore, keys: KeyStore) -> None:
    drivers = DriverIds.from_csv(["name,driver_id", "李师傅,D-0007"])
    Rekeying(fleet, keys, drivers).run()
    assert [fleet.load(Trip, t).driver_id for t in ("T-1", "T-2", "T-3")] == ["D-0007", "D-0007", "D-320402-L0001"]
    keys.erase(Subject("driver", "D-0007"))
    assert reveal(keys, fleet.load(Trip, "T-2").driver, "driver", True) == ERASED_TEXT
    assert reveal(keys, fleet.load(Trip, "T-3").driver, "driver", True) == "赵师傅"


def test_the_command_rekeys_prints_the_mapping_and_resets_the_relay_and_the_views(tmp_path: Path) -> None:
    """``python -m services.common.runtime.rekey vehicles --republish``, as a process on a vehicles database that
    also holds the service's views (projected before, with the clear names) and a relay position."""
    url = f"sqlite:///{tmp_path / 'vehicles.db'}"
    store = EventStore.open(url, "vehicles", snapshot_every=2)
    store.validate = False
    _legacy_trip(store, "T-1", "李师傅", "2026-03-05")
    _project(store, store.engine)
    store.set_relay_position("vehicles.events", 5)
    assert "李师傅" in database_text(store.engine)
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL_VEHICLES": url,
        "DATABASE_URL_KEYS": f"sqlite:///{tmp_path / 'keys.db'}",
    }
    command = [sys.executable, "-m", "services.common.runtime.rekey", "vehicles", "--republish"]
    done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "district,name,driver_id\n320402,李师傅,D-320402-L0001\n"
    logged = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    finished = next(line for line in logged if line["event"] == "rekey_finished")
    assert (finished["examined"], finished["rewritten"]) == (2, 2)  # T-1's dispatch and its GPS batch
    assert {line["event"] for line in logged} >= {"rekey_batch", "rekey_relay_reset", "rekey_views_reset"}
    raw = database_text(store.engine)
    assert "李师傅" not in raw and LONGITUDE not in raw  # the events re-keyed, the views emptied
    assert store.relay_position("vehicles.events") == 0 and store.relay_log("vehicles.events") is None
    with store.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM veh_trips")).scalar_one() == 0


def test_the_topic_made_anew_gets_the_rekeyed_history_from_the_relay(tmp_path: Path, fresh_tansu: str) -> None:
    """The procedure's topic step: the topic held the clear copies; deleted and made anew, with the relay's position
    reset, it holds the re-keyed history, every event once under its own id."""
    topic = "vehicles.events"
    store = EventStore.open(f"sqlite:///{tmp_path / 'vehicles.db'}", "vehicles", snapshot_every=2)
    store.validate = False
    _legacy_trip(store, "T-1", "李师傅", "2026-03-05")
    ensure_topics(fresh_tansu, [topic], 3)
    relay = OutboxRelay(store, make_producer(fresh_tansu), topic)
    while relay.publish_once():
        pass
    published = b"".join(record.value for record in read_topic(fresh_tansu, topic))
    assert "李师傅".encode() in published and LONGITUDE.encode() in published  # the clear copies on the topic
    Rekeying(store, KeyStore(key_store_engine(tmp_path), [MASTER])).run()
    make_admin(fresh_tansu).delete_topics([topic])
    assert store.reset_relay(topic) == 5  # T-1's five events had been published
    relay = OutboxRelay(store, make_producer(fresh_tansu), topic)
    relay.check_broker()  # makes the topic again, as a relay starting does
    while relay.publish_once():
        pass
    records = read_topic(fresh_tansu, topic)
    published = b"".join(record.value for record in records)
    assert "李师傅".encode() not in published and LONGITUDE.encode() not in published
    envelopes = envelopes_of(records)
    assert sorted(e["event_id"] for e in envelopes) == sorted(e.event_id for e in store.read_all())
    dispatch = next(e for e in envelopes if e["event_type"] == "TripDispatched")
    assert (dispatch["schema_version"], dispatch["payload"]["driver_id"]) == (2, "D-320402-L0001")
