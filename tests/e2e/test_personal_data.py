"""Staff names by the law, end to end: a posted person's name is nowhere in clear (office space's store, the
``office_space.events`` topic, office space's and the data center's projections); the API shows it to the city
administrator and the agency's district operator (each read recorded), masks it for a viewer and refuses
another district's operator; after the person's erasure the API reads 已删除, the staff figures are unchanged,
and the name is still nowhere in clear."""

from __future__ import annotations

import sqlite3
import threading
import time
import uuid
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from services.common.base.db import create_db_engine
from tests.e2e.conftest import Platform
from tests.support import agency_code, eventually, read_topic

_eventually = partial(eventually, timeout=20, interval=0.2)
DISTRICT, OTHER = "320402", "320404"


@pytest.fixture
def posted(platform: Platform) -> dict[str, Any]:
    """A district agency with one person on post under a name made for this test (so a search is exact)."""
    admin = platform.token()
    tag = uuid.uuid4().hex[:8]
    agency = agency_code(DISTRICT, f"PD-{tag}")
    body = {
        "agency_id": agency,
        "name": "天宁区档案馆",
        "district": DISTRICT,
        "kind": "public_institution",
        "admin_level": "county",
        "authorised_headcount": 10,
    }
    assert platform.request("POST", "/api/v1/agencies", body, admin)[0] == 201
    _eventually(lambda: platform.request("GET", f"/api/v1/agencies/{agency}", token=admin)[0], lambda s: s == 200)
    person, name = f"P-{tag}", f"欧阳{tag}"
    staff = {"person_id": person, "name": name, "rank": "section_principal", "posted_on": "2024-05-01"}
    status, answer, _ = platform.request("POST", f"/api/v1/agencies/{agency}/staff", staff, admin)
    assert status == 201, answer
    return {"admin": admin, "agency": agency, "person": person, "name": name}


def _url(platform: Platform, database: str) -> str:
    return platform.database_urls.get(database) or f"sqlite:///{platform.var_dir / (database + '.db')}"


def _stored_text(platform: Platform, database: str) -> str:
    """Every row of every table of a database as text, and for SQLite the bytes of its files too (the
    write-ahead log included): what a copy of that database shows."""
    url = _url(platform, database)
    engine = create_db_engine(url)
    found = []
    try:
        with engine.connect() as conn:
            for table in sa.inspect(engine).get_table_names():
                found += [str(tuple(row)) for row in conn.execute(sa.text(f'SELECT * FROM "{table}"'))]
    finally:
        engine.dispose()
    if url.startswith("sqlite"):
        path = Path(url.removeprefix("sqlite:///"))
        for file in (path, Path(f"{path}-wal")):
            if file.exists():
                found.append(file.read_bytes().decode("utf-8", errors="replace"))
    return "\n".join(found)


def _nowhere_in_clear(platform: Platform, name: str) -> None:
    for database in ("office_space", "gateway", "keys"):  # the store and its views, the data center, the keys
        assert name not in _stored_text(platform, database), database
    records = read_topic(platform.bootstrap, "office_space.events")
    assert records, "office_space.events is empty"
    assert not [r for r in records if name.encode() in r.value], "a clear name on office_space.events"


def _staff(platform: Platform, posted: dict[str, Any], token: str) -> tuple[int, Any]:
    status, body, _ = platform.request("GET", f"/api/v1/agencies/{posted['agency']}/staff", token=token)
    return status, body


def _figures(platform: Platform, posted: dict[str, Any]) -> Any:
    query = f"agency_id={posted['agency']}"
    status, body, _ = platform.request("GET", f"/api/v1/office-space/report?{query}", token=posted["admin"])
    assert status == 200, body
    return body["figures"]


def test_a_name_is_shown_to_whom_it_belongs_recorded_and_erased(platform: Platform, posted: dict[str, Any]) -> None:
    admin, person, name = posted["admin"], posted["person"], posted["name"]
    status, body = _eventually(lambda: _staff(platform, posted, admin), lambda found: len(found[1]["items"]) == 1)
    assert status == 200
    assert body["items"][0] == {
        "person_id": person,
        "agency_id": posted["agency"],
        "district": DISTRICT,
        "name": name,
        "rank": "section_principal",
    }
    own = platform.token("district_operator", district=DISTRICT, name="pd-own")
    assert _staff(platform, posted, own)[1]["items"][0]["name"] == name
    viewer = platform.token("viewer", name="pd-viewer")
    assert _staff(platform, posted, viewer)[1]["items"][0]["name"] == "***"
    elsewhere = platform.token("district_operator", district=OTHER, name="pd-other")
    status, body = _staff(platform, posted, elsewhere)
    assert status == 404 and name not in str(body)  # another district's agency: not there for it

    # the access record: the administrator's and the own operator's reads, not the viewer's
    status, body, _ = platform.request("GET", f"/api/v1/personal-data/reads?subject=person&id={person}", token=admin)
    assert status == 200
    assert [(r["reader"], r["fields"], r["subject_id"]) for r in body["items"]] == [
        ("district_operator:pd-own", ["name"], person),
        ("city_admin:e2e", ["name"], person),
    ]
    assert platform.request("GET", "/api/v1/personal-data/reads", token=own)[0] == 403
    query = f"reader=district_operator:pd-own&subject=person&id={person}"
    status, body, _ = platform.request("GET", f"/api/v1/personal-data/reads?{query}", token=admin)
    assert [(r["reader"], r["subject_id"]) for r in body["items"]] == [("district_operator:pd-own", person)]
    # the audit endpoint shows what an actor was shown, to a city administrator (ops see the events alone)
    status, audit, _ = platform.request("GET", "/api/v1/audit?actor=district_operator:pd-own", token=admin)
    assert status == 200, audit
    shown = [
        (r["subject_kind"], r["fields"], r["route"]) for r in audit["personal_data_reads"] if r["subject_id"] == person
    ]
    assert shown == [("person", ["name"], "GET /api/v1/agencies/<agency_id>/staff")], audit["personal_data_reads"]
    ops = platform.token("ops", name="pd-ops")
    status, seen_by_ops, _ = platform.request("GET", "/api/v1/audit?actor=district_operator:pd-own", token=ops)
    assert status == 200 and seen_by_ops["personal_data_reads"] == []

    _nowhere_in_clear(platform, name)
    figures = _figures(platform, posted)

    # erasure: the city administrator's alone, idempotent, naming the subject by id only
    erasure = {"subject": "person", "id": person}
    assert platform.request("POST", "/api/v1/personal-data/erasures", erasure, own)[0] == 403
    status, first, _ = platform.request("POST", "/api/v1/personal-data/erasures", erasure, admin)
    assert status == 200, first
    assert (first["subject"], first["id"], first["already_erased"]) == ("person", person, False)
    status, again, _ = platform.request("POST", "/api/v1/personal-data/erasures", erasure, admin)
    assert (status, again["erased_at"], again["already_erased"]) == (200, first["erased_at"], True)

    for token in (admin, own, viewer):
        assert _staff(platform, posted, token)[1]["items"][0]["name"] == "已删除"
    assert _figures(platform, posted) == figures
    _nowhere_in_clear(platform, name)
    # an erased subject is not recorded again, even one erased before the platform ever saw them
    newcomer = f"{person}-new"
    erasure = {"subject": "person", "id": newcomer}
    assert platform.request("POST", "/api/v1/personal-data/erasures", erasure, admin)[0] == 200
    staff = {"person_id": newcomer, "name": name, "rank": "section_principal", "posted_on": "2024-06-01"}
    status, refused, _ = platform.request("POST", f"/api/v1/agencies/{posted['agency']}/staff", staff, admin)
    assert (status, refused["error"]) == (409, "subject_erased")
    assert name not in str(refused)


def test_a_key_commit_waiting_for_the_disk_holds_up_its_own_request_only(
    platform: Platform, posted: dict[str, Any]
) -> None:
    """A new person's data key is committed synced to the disk (``KeyStore._key``); on SQLite that commit runs on a
    thread of eventlet's pool (``db.off_the_hub_if``), so a commit kept waiting holds up its own request and no
    other. Here the key store's write lock is held from outside (as a disk slow to sync holds a commit): a posting
    that must make a key waits, and a read through the same gateway is answered meanwhile. Before, the wait ran on
    the gateway's one OS thread, every green thread of it with it: the read waited for the lock too."""
    if platform.database_urls.get("keys"):
        pytest.skip("the key store is on PostgreSQL, whose driver waits green")
    admin, agency = posted["admin"], posted["agency"]
    holder = sqlite3.connect(str(platform.var_dir / "keys.db"), isolation_level=None, timeout=30)
    answers: list[tuple[int, Any, dict[str, str]]] = []
    person = f"P-held-{uuid.uuid4().hex[:8]}"
    staff = {"person_id": person, "name": "林晓", "rank": "section_deputy", "posted_on": "2024-06-01"}
    posting = threading.Thread(
        target=lambda: answers.append(platform.request("POST", f"/api/v1/agencies/{agency}/staff", staff, admin))
    )
    holder.execute("BEGIN IMMEDIATE")  # the key store's write lock: the posting's key cannot be committed
    try:
        posting.start()
        time.sleep(1.0)  # the posting reaches its key's commit and waits there (it cannot finish: the lock is held)
        status, answer, _ = platform.request("GET", f"/api/v1/agencies/{agency}", token=admin)
        assert status == 200, answer  # answered while the posting waits for the lock
        assert posting.is_alive() and not answers, f"the posting did not wait for the key store lock: {answers}"
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    posting.join(30)
    assert answers and answers[0][0] == 201, answers
