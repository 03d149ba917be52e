"""GPS tracks by the law, on real stores (SQLite and PostgreSQL): a trip's points are a token in the vehicles
store, in the messages of its topic and nowhere in the projection; the gateway gives the track to a city
administrator and the trip's district (recording the read), withholds it from a viewer; the retention job
erases the key of a track whose trip finished more than GPS_RETENTION_DAYS ago and keeps a younger one; an
expired track reads 已删除 while the trip's figures stay what they were."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from services.common.base.db import create_db_engine, migrate
from services.common.base.personal import ERASED_TEXT, KeyStore, PersonalMark, Subject, sealed_fields
from services.common.kernel.clock import CHINA_STANDARD_TIME
from services.common.kernel.events import Envelope, Metadata
from services.common.read.broker import stored_message
from services.common.write.store import EventStore
from services.gateway.api.personal_data import reads_table, record_reads, reveal_track
from services.gateway.auth import Principal
from services.vehicles import read_model
from services.vehicles.domain.trips import GPS_BATCH_EVENTS, Trip, VehicleOnDuty
from services.vehicles.retention import expire_tracks
from tests.support import database_text

DISTRICT, OTHER = "320402", "320411"
META = Metadata(actor="city_admin:test", correlation_id="c-1")
CITY = Principal("t1", "wang", "city_admin", None)
OWN = Principal("t2", "op", "district_operator", DISTRICT)
VIEWER = Principal("t4", "v", "viewer", None)
LONGITUDE = "119.9741"
"""The longitude of every fix: a leaked copy holding the track in clear would show it."""


def at(day: str, clock: str) -> datetime:
    """A Beijing-time moment."""
    return datetime.combine(date.fromisoformat(day), time.fromisoformat(clock), CHINA_STANDARD_TIME)


@pytest.fixture
def store(db_url: str, keys: KeyStore) -> EventStore:
    opened = EventStore.open(db_url, "vehicles", snapshot_every=2)
    opened.personal = lambda: keys
    return opened


def _trip(store: EventStore, trip_id: str, day: str) -> list[Envelope]:
    """A trip on ``day``, 09:00 to 11:00 Beijing time, with three fixes a minute apart going north by 0.01°."""
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
    trip.dispatch(VehicleOnDuty("V1", "苏D12345", "A1", DISTRICT), "D-0001", "李师傅", at(day, "08:00"))
    trip.start(10_000, at(day, "09:00"))
    trip.record_gps(
        [[at(day, f"09:0{n}").isoformat(), round(31.81 + n * 0.01, 2), float(LONGITUDE)] for n in (0, 1, 2)]
    )
    trip.finish(10_042, at(day, "11:00"))
    return store.save(trip, META)


def _views(store: EventStore, tmp_path: Path) -> Engine:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'views.db'}")
    migrate(engine, "projector", "known_agencies", "vehicles_views")
    views = read_model.VehiclesViews()
    with engine.begin() as conn:
        for env in store.read_all():
            views.apply(conn, env)
    return engine


def _answer(store: EventStore, trip_id: str) -> dict[str, object]:
    """What ``vehicles.trip_track`` answers: the trip and its batches as stored."""
    batches = [
        {k: env.payload[k] for k in ("points", "count", "first_at", "last_at", "distance_km")}
        for env in store.stream_envelopes(Trip.stream_type, trip_id)
        if env.event_type in GPS_BATCH_EVENTS
    ]
    state = store.load(Trip, trip_id).snapshot_state()
    trip = {"trip_id": trip_id, **{k: state[k] for k in ("district", "vehicle_district", "started_at", "finished_at")}}
    return {"trip": trip, "batches": batches}


def test_the_points_are_sealed_under_the_tracks_key() -> None:
    assert sealed_fields("vehicles", "GpsBatchRecorded", 1) == {"points": PersonalMark("track", "trip_id")}


def test_the_points_are_a_token_in_the_store_the_topic_and_nowhere_in_the_projection(
    store: EventStore, keys: KeyStore, tmp_path: Path
) -> None:
    envelopes = _trip(store, "T-1", "2026-03-02")
    (batch,) = [env for env in envelopes if env.event_type == "GpsBatchRecorded"]
    assert batch.payload["points"].startswith("pd:v1:track:T-1:points:")
    # the figures are clear: three fixes, 0.02° of latitude = 0.02 × 111.195 km = 2.224 km
    assert (batch.payload["count"], batch.payload["distance_km"]) == (3, 2.224)
    assert LONGITUDE not in database_text(store.engine)
    published = b"".join(b"".join((key, value)) for key, value, _ in map(stored_message, store.read_stored(0, 100)))
    assert b"pd:v1:track:T-1:points:" in published and LONGITUDE.encode() not in published
    views = _views(store, tmp_path)
    assert LONGITUDE not in database_text(views)
    with views.connect() as conn:
        row = conn.execute(sa.select(read_model.trips).where(read_model.trips.c.trip_id == "T-1")).one()
    assert (row.gps_points, row.gps_km) == (3, 2.224)
    assert keys.decrypt_field(batch.payload["points"], "points")[0][2] == 119.9741


def test_the_city_admin_and_the_district_get_the_track_a_viewer_the_figures(
    store: EventStore, keys: KeyStore, tmp_path: Path
) -> None:
    _trip(store, "T-1", "2026-03-02")
    feature, shown = reveal_track(keys, CITY, _answer(store, "T-1"))
    assert feature["geometry"] == {
        "type": "LineString",
        "coordinates": [[119.9741, 31.81], [119.9741, 31.82], [119.9741, 31.83]],
    }
    assert feature["properties"]["times"] == [
        "2026-03-02T09:00:00+08:00",
        "2026-03-02T09:01:00+08:00",
        "2026-03-02T09:02:00+08:00",
    ]
    assert (feature["properties"]["points"], feature["properties"]["distance_km"]) == (3, 2.224)
    assert shown == {Subject("track", "T-1"): {"points"}}
    assert reveal_track(keys, OWN, _answer(store, "T-1"))[0]["geometry"]["type"] == "LineString"
    withheld, nothing = reveal_track(keys, VIEWER, _answer(store, "T-1"))
    assert withheld["geometry"] is None and withheld["properties"]["masked"] is True and nothing == {}
    assert (withheld["properties"]["points"], withheld["properties"]["distance_km"]) == (3, 2.224)
    gateway = create_db_engine(f"sqlite:///{tmp_path / 'gateway.db'}")
    reads_table.metadata.create_all(gateway)
    record_reads(gateway, CITY, "GET /api/v1/trips/<trip_id>/track", shown)
    with gateway.connect() as conn:
        recorded = [tuple(r)[2:] for r in conn.execute(sa.select(reads_table))]
    assert recorded == [
        ("city_admin:wang", "city_admin", None, "track", "T-1", "points", "GET /api/v1/trips/<trip_id>/track")
    ]


def test_retention_expires_the_track_of_a_trip_finished_366_days_ago_and_keeps_one_of_364(
    store: EventStore, keys: KeyStore, tmp_path: Path
) -> None:
    # finished at 11:00 Beijing time = 03:00 UTC; now 2026-03-03 03:00 UTC; cut-off 365 days before: 2025-03-03
    _trip(store, "T-OLD", "2025-03-02")  # 366 days before now
    _trip(store, "T-NEW", "2025-03-04")  # 364 days before now
    views = _views(store, tmp_path)
    now = datetime(2026, 3, 3, 3, 0, tzinfo=UTC)
    before = reveal_track(keys, CITY, _answer(store, "T-OLD"))[0]["properties"]

    dry = expire_tracks(views, keys, now, 365, dry_run=True)
    assert (dry.cutoff, dry.expired) == ("2025-03-03T03:00:00+00:00", ["T-OLD"])
    assert keys.is_erased(Subject("track", "T-OLD")) is False

    run = expire_tracks(views, keys, now, 365)
    assert run.expired == ["T-OLD"] and run.oldest_kept_finished == "2025-03-04T03:00:00+00:00"
    assert keys.is_erased(Subject("track", "T-OLD")) and not keys.is_erased(Subject("track", "T-NEW"))
    assert expire_tracks(views, keys, now, 365).expired == []  # once

    expired, shown = reveal_track(keys, CITY, _answer(store, "T-OLD"))
    assert expired["geometry"] is None and shown == {}
    after = expired["properties"]
    assert (after["erased"], after["track"], after["times"]) == (True, ERASED_TEXT, [])
    for figure in ("points", "distance_km", "first_at", "last_at", "started_at", "finished_at"):
        assert after[figure] == before[figure]
    assert (after["points"], after["distance_km"]) == (3, 2.224)
    assert (after["first_at"], after["last_at"]) == ("2025-03-02T09:00:00+08:00", "2025-03-02T09:02:00+08:00")
    assert (after["started_at"], after["finished_at"]) == ("2025-03-02T09:00:00+08:00", "2025-03-02T11:00:00+08:00")
    assert reveal_track(keys, CITY, _answer(store, "T-NEW"))[0]["geometry"]["type"] == "LineString"
