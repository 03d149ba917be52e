"""The acceptance test of crypto-shredding (docs/personal-data.md): a person, a trip's driver and its GPS track
are written through the API, erased through ``POST /api/v1/personal-data/erasures``, the data center is rebuilt
from the topics (``python -m services.gateway.rebuild``), and then every byte the platform keeps is searched:
every database of every service, the gateway's, the key store's and the rebuilt data center (rows as text, and
for SQLite the files themselves, write-ahead log included), every topic of the broker from offset 0 (keys, values
and headers; the dead-letter and rejected topics with the rest), every process's log, and the API's answers
(staff, trip, trips list and export, track). None holds the name, the driver's name or the coordinates in
clear; the API reads 已删除; the figures are the literals they were before the erasure.

A search that finds nothing proves nothing unless it can find something: the same search finds each needle in
the API's clear answers before the erasure, and finds the non-personal ids written with them (person, trip and
driver ids) in every store and topic it searched."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import uuid
from functools import partial
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from services.common.base.db import create_db_engine
from services.common.read.broker import make_admin
from services.gateway.views import vehicles as dc
from tests.e2e.conftest import Platform
from tests.support import agency_code, eventually, owned_vehicle, read_topic

_eventually = partial(eventually, timeout=30, interval=0.2)
DISTRICT = "320402"


def _database_bytes(url: str) -> bytes:
    """Everything a copy of the database shows: every row of every table as text and, for SQLite, the bytes of
    its files (the main file, its write-ahead log and shared memory; free pages included)."""
    engine = create_db_engine(url)
    found: list[bytes] = []
    try:
        with engine.connect() as conn:
            for table in sa.inspect(engine).get_table_names():
                if engine.dialect.name == "postgresql":
                    rows = conn.execute(sa.text(f'SELECT CAST(t AS text) FROM "{table}" AS t')).scalars()
                    found += [row.encode() for row in rows]
                else:
                    rows = conn.execute(sa.text(f'SELECT * FROM "{table}"')).all()
                    found += [str(tuple(row)).encode("utf-8", "replace") for row in rows]
    finally:
        engine.dispose()
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        found += [file.read_bytes() for file in (path, Path(f"{path}-wal"), Path(f"{path}-shm")) if file.exists()]
    return b"\n".join(found)


def _databases(platform: Platform) -> dict[str, str]:
    """Every database of the platform: each service's store and views, the gateway's data center and access
    record, the key store (PostgreSQL: the ones made for the run; SQLite: every file of the var directory)."""
    if platform.database_urls:
        return dict(platform.database_urls)
    return {path.stem: f"sqlite:///{path}" for path in sorted(platform.var_dir.glob("*.db"))}


def _topic_bytes(platform: Platform) -> dict[str, bytes]:
    """Every record of every topic of the broker, read from offset 0: key, value and headers, as bytes."""
    admin = make_admin(platform.bootstrap)
    try:
        topics = sorted(admin.list_topics())
    finally:
        admin.close()
    found = {}
    for topic in topics:
        parts = []
        for record in read_topic(platform.bootstrap, topic):
            parts += [record.key or b"", record.value or b""]
            parts += [value or b"" for _, value in record.headers or []]
        found[topic] = b"\n".join(parts)
    return found


def _in_clear(blob: bytes, needles: dict[str, bytes]) -> list[str]:
    """The needles (by name) found in ``blob``."""
    return [name for name, needle in needles.items() if needle in blob]


def _answer_bytes(answer: Any) -> bytes:
    return answer.encode() if isinstance(answer, str) else json.dumps(answer, ensure_ascii=False).encode()


def test_an_erased_person_driver_and_track_are_nowhere_in_clear_after_a_rebuild(
    platform: Platform, tmp_path: Path
) -> None:
    admin = platform.token()
    tag = uuid.uuid4().hex[:8]
    agency = agency_code(DISTRICT, f"ER-{tag}")
    body = {
        "agency_id": agency,
        "name": "天宁区机关事务管理中心",
        "district": DISTRICT,
        "kind": "party_government",
        "admin_level": "county",
        "authorised_headcount": 10,
    }
    assert platform.request("POST", "/api/v1/agencies", body, admin)[0] == 201
    _eventually(lambda: platform.request("GET", f"/api/v1/agencies/{agency}", token=admin)[0], lambda s: s == 200)

    # the person: a distinctive name, unique to this run (an exact search cannot meet another test's)
    person, name = f"P-ER-{tag}", f"测试姓名{tag}"
    staff = {"person_id": person, "name": name, "rank": "section_principal", "posted_on": "2024-05-01"}
    status, answer, _ = platform.request("POST", f"/api/v1/agencies/{agency}/staff", staff, admin)
    assert status == 201, answer

    # the trip: a vehicle of the agency, a driver with a distinctive name and id, five GPS fixes whose
    # coordinates' text (31.<six digits><m>, 119.<six digits>7) appears nowhere else
    quota = {"quota": 1, "reason": "2026年公务用车编制"}
    status, answer, _ = _eventually(
        lambda: platform.request("POST", f"/api/v1/agencies/{agency}/vehicle-quota", quota, admin),
        lambda r: r[0] != 422,  # the vehicles service learns the agency from office-space events
    )
    assert status == 200, answer
    car = owned_vehicle(f"VH-ER-{tag}", agency, "苏D" + uuid.uuid4().hex[:5].upper())
    assert platform.request("POST", "/api/v1/vehicles", car, admin)[0] == 201
    trip_id, driver_id, driver = f"TRIP-ER-{tag}", f"D-ER-{tag}", f"测试司机{tag}"
    trip = {"trip_id": trip_id, "agency_id": agency, "purpose": "防汛检查", "destination": "天宁区青龙街道"}
    trip |= {"planned_start": "2026-03-02T09:00:00+08:00", "planned_end": "2026-03-02T12:00:00+08:00"}
    assert platform.request("POST", "/api/v1/trips", trip, admin)[0] == 201
    dispatch = {"vehicle_id": car["vehicle_id"], "driver_id": driver_id, "driver": driver}
    status, answer, _ = platform.request("POST", f"/api/v1/trips/{trip_id}/dispatch", dispatch, admin)
    assert status == 200, answer
    start = {"odometer_km": 20_000, "started_at": "2026-03-02T09:00:00+08:00"}
    assert platform.request("POST", f"/api/v1/trips/{trip_id}/start", start, admin)[0] == 200
    digits = f"{random.randrange(100_000, 1_000_000)}"
    points = [
        {"at": f"2026-03-02T09:0{m}:00+08:00", "lat": float(f"31.{digits}{m}"), "lon": float(f"119.{digits}7")}
        for m in range(1, 6)
    ]
    status, answer, _ = platform.request("POST", f"/api/v1/trips/{trip_id}/gps", {"points": points}, admin)
    assert status == 201, answer
    finish = {"odometer_km": 20_064.5, "finished_at": "2026-03-02T12:00:00+08:00"}
    status, answer, _ = platform.request("POST", f"/api/v1/trips/{trip_id}/finish", finish, admin)
    assert (status, answer["distance_km"]) == (200, 64.5), answer  # 20 064.5 − 20 000 km on the odometer

    needles = {"name": name.encode(), "driver": driver.encode(), "latitude": f"31.{digits}".encode()}
    needles["longitude"] = f"119.{digits}".encode()
    controls = {"person_id": person.encode(), "trip_id": trip_id.encode(), "driver_id": driver_id.encode()}

    def staff_of_agency() -> Any:
        return platform.request("GET", f"/api/v1/agencies/{agency}/staff", token=admin)[1]

    def read_trip() -> Any:
        return platform.request("GET", f"/api/v1/trips/{trip_id}", token=admin)[1]

    def track() -> Any:
        return platform.request("GET", f"/api/v1/trips/{trip_id}/track", token=admin)[1]

    def export() -> Any:
        return platform.request("GET", f"/api/v1/trips?agency_id={agency}&format=csv", token=admin)[1]

    def listed() -> Any:
        """The trip as the trips list (the vehicles read model) has it."""
        found = platform.request("GET", f"/api/v1/trips?agency_id={agency}", token=admin)[1]
        return next((t for t in found.get("items", []) if t["trip_id"] == trip_id), {})

    def report() -> Any:
        status, answer, _ = platform.request("GET", f"/api/v1/office-space/report?agency_id={agency}", token=admin)
        assert status == 200, answer
        return answer["figures"]

    def km_in_data_center(url: str) -> Any:
        engine = create_db_engine(url)
        try:
            with engine.connect() as conn:
                return dc.vehicles_by_agency(conn, agency_id=agency, year=2026).get(agency, {}).get("km")
        finally:
            engine.dispose()

    # before the erasure: the entitled reader sees every value in clear, so the search finds each needle there
    staff_before = _eventually(staff_of_agency, lambda a: len(a.get("items", [])) == 1)
    trip_before = _eventually(read_trip, lambda t: t.get("status") == "completed" and t.get("gps_points") == 5)
    track_before = track()
    listed_before = _eventually(listed, lambda t: t.get("gps_points") == 5 and t.get("distance_km") == 64.5)
    assert (listed_before["distance_km"], listed_before["gps_points"]) == (64.5, 5)
    export_before = _eventually(export, lambda text: isinstance(text, str) and trip_id in text)
    assert staff_before["items"][0]["name"] == name and trip_before["driver"] == driver
    assert _in_clear(_answer_bytes(staff_before), needles) == ["name"]
    assert _in_clear(_answer_bytes(trip_before), needles) == ["driver"]
    assert _in_clear(_answer_bytes(listed_before), needles) == ["driver"]
    assert _in_clear(_answer_bytes(export_before), needles) == ["driver"]
    assert _in_clear(_answer_bytes(track_before), needles) == ["latitude", "longitude"]
    figures_before = report()
    live_gateway = _databases(platform)["gateway"]
    assert _eventually(lambda: km_in_data_center(live_gateway), lambda km: km == 64.5) == 64.5

    for subject, subject_id in (("person", person), ("driver", driver_id), ("track", trip_id)):
        erasure = {"subject": subject, "id": subject_id}
        status, answer, _ = platform.request("POST", "/api/v1/personal-data/erasures", erasure, admin)
        assert (status, answer["already_erased"]) == (200, False), answer

    # the data center rebuilt from the topics, with the documented command, into a database of its own (the
    # shared platform's gateway keeps running: --force)
    rebuilt = f"sqlite:///{tmp_path / 'rebuilt-gateway.db'}"
    env = {**platform.env, "DATABASE_URL_GATEWAY": rebuilt, "LOG_LEVEL": "WARNING"}
    done = subprocess.run(
        [sys.executable, "-m", "services.gateway.rebuild", "--force"], env=env, capture_output=True, timeout=600
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-2000:]

    # the API: 已删除 everywhere, and the figures are what they were
    staff_after, trip_after, track_after = staff_of_agency(), read_trip(), track()
    export_after = export()
    assert [(s["person_id"], s["name"], s["rank"]) for s in staff_after["items"]] == [
        (person, "已删除", "section_principal")
    ]
    assert (trip_after["driver"], trip_after["driver_id"]) == ("已删除", driver_id)
    assert trip_after["gps_points"] == 5  # the five fixes posted
    listed_after = listed()
    assert (listed_after["driver"], listed_after["distance_km"], listed_after["gps_points"]) == ("已删除", 64.5, 5)
    properties = track_after["properties"]
    assert (properties["erased"], properties["track"], properties["points"]) == (True, "已删除", 5)
    assert properties["distance_km"] == track_before["properties"]["distance_km"]
    assert track_after["geometry"] != track_before["geometry"]
    assert "已删除" in export_after and trip_id in export_after
    assert report() == figures_before
    assert km_in_data_center(rebuilt) == 64.5  # the rebuilt data center's kilometres: the same 64.5
    for answer in (staff_after, trip_after, listed_after, track_after, export_after):
        assert _in_clear(_answer_bytes(answer), needles) == [], answer

    # every database, the rebuilt data center with them: no needle, and the ids that were written with them
    databases = {**_databases(platform), "rebuilt data center": rebuilt}
    seen_controls: dict[str, list[str]] = {}
    for database, url in databases.items():
        blob = _database_bytes(url)
        assert _in_clear(blob, needles) == [], f"personal data in clear in the {database} database"
        seen_controls[database] = _in_clear(blob, controls)
    every_id = ["person_id", "trip_id", "driver_id"]
    assert "person_id" in seen_controls["office_space"]
    assert {"trip_id", "driver_id"} <= set(seen_controls["vehicles"])
    assert seen_controls["keys"] == every_id  # the erased subjects' rows, by id alone
    assert seen_controls["gateway"] == seen_controls["rebuilt data center"] == every_id

    # every topic from offset 0, the dead-letter and rejected topics with the rest
    topics = _topic_bytes(platform)
    assert {"office_space.events.dlq", f"district.{DISTRICT}.inbound", f"district.{DISTRICT}.rejected"} <= set(topics)
    for topic, blob in topics.items():
        assert _in_clear(blob, needles) == [], f"personal data in clear on {topic}"
    assert "person_id" in _in_clear(topics["office_space.events"], controls)
    assert {"trip_id", "driver_id"} <= set(_in_clear(topics["vehicles.events"], controls))

    # and every process's log (at DEBUG, as the platform runs here): the ids are there, the values are not
    logs = {path.name: path.read_bytes() for path in sorted((platform.var_dir / "log").glob("*.log"))}
    assert {"gateway.log", "office_space.log", "vehicles.log"} <= set(logs)
    for log, blob in logs.items():
        assert _in_clear(blob, needles) == [], f"personal data in clear in {log}"
    assert _in_clear(b"".join(logs.values()), controls) == ["person_id", "trip_id", "driver_id"]
