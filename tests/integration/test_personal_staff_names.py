"""Staff names by the law, on real stores (SQLite and PostgreSQL): the office-space store keeps a posted
person's name as a token (events and snapshots), the projection keeps the token, the gateway shows the name
to a city administrator and the own district's operator only, records each such read, and after the person's
erasure everyone reads 已删除 while the staff count stays what it was."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from services.common.base.db import create_db_engine, migrate
from services.common.base.personal import (
    ERASED_TEXT,
    MASKED_TEXT,
    KeyStore,
    PersonalMark,
    Subject,
    SubjectErased,
    is_token,
    sealed_fields,
)
from services.common.kernel.events import Envelope, Metadata
from services.common.write.store import EventStore
from services.gateway.api.personal_data import entitled, reads_table, record_reads, reveal_rows
from services.gateway.auth import Principal
from services.office_space import read_model
from services.office_space.domain.agencies import Agency
from tests.support import agency_code, database_text

DISTRICT, OTHER = "320402", "320411"
DISTRICTS = {DISTRICT: "天宁区", OTHER: "新北区"}
NAME = "张伟"
META = Metadata(actor="city_admin:test", correlation_id="c-1")
CITY = Principal("t1", "wang", "city_admin", None)
OWN = Principal("t2", "op", "district_operator", DISTRICT)
ELSEWHERE = Principal("t3", "op", "district_operator", OTHER)
VIEWER = Principal("t4", "v", "viewer", None)
A1, A2 = agency_code(DISTRICT, "A1"), agency_code(DISTRICT, "A2")


@pytest.fixture
def store(db_url: str, keys: KeyStore) -> EventStore:
    opened = EventStore.open(db_url, "office_space", snapshot_every=2)  # a snapshot with the staff in it
    opened.personal = lambda: keys
    return opened


def _post(store: EventStore, person_id: str, name: str) -> list[Envelope]:
    """What the service's post_staff does: the name sealed before the aggregate sees it, then saved."""
    agency = store.find(Agency, A1) or Agency.register(
        agency_id=A1,
        name="区政府办公室",
        district=DISTRICT,
        kind="party_government",
        admin_level="county",
        authorised_headcount=20,
        known_districts=DISTRICTS,
    )
    sealed = store.sealed("StaffPosted", 1, {"person_id": person_id, "name": name})["name"]
    agency.post_staff(person_id, sealed, "section_principal", "2026-03-01")
    return store.save(agency, META)


def _projected(envelopes: list[Envelope], db_url: str) -> Engine:
    engine = create_db_engine(db_url)
    migrate(engine, "office_space_views")
    views = read_model.OfficeSpaceViews()
    with engine.begin() as conn:
        for env in envelopes:
            views.apply(conn, env)
    return engine


def test_the_sealed_fields_are_those_whose_contract_can_carry_a_token() -> None:
    assert sealed_fields("office_space", "StaffPosted", 1) == {"name": PersonalMark("person", "person_id")}
    # a driver without a driver id, a track that is an array: marked, not sealed until their next versions
    assert sealed_fields("vehicles", "TripDispatched", 1) == {}
    assert sealed_fields("vehicles", "GpsPointsRecorded", 1) == {}
    assert sealed_fields("office_space", "AgencyRegistered", 1) == {}


def test_a_posted_name_is_a_token_in_the_store_its_snapshots_and_the_projection(
    store: EventStore, keys: KeyStore, db_url: str, tmp_path: Path
) -> None:
    envelopes = _post(store, "P-0001", NAME)
    envelopes += _post(store, "P-0002", "李娜")
    posted = [env for env in envelopes if env.event_type == "StaffPosted"]
    assert [env.payload["person_id"] for env in posted] == ["P-0001", "P-0002"]
    assert all(env.payload["name"].startswith(f"pd:v1:person:{env.payload['person_id']}:name:") for env in posted)
    raw = database_text(store.engine)
    assert "snapshots" in sa.inspect(store.engine).get_table_names() and '"staff"' in raw  # a snapshot was taken
    assert NAME not in raw and "李娜" not in raw
    assert store.load(Agency, A1).staff["P-0001"]["name"] == posted[0].payload["name"]
    # the projection keeps the token
    views = _projected(store.read_all(), f"sqlite:///{tmp_path / 'views.db'}")
    with views.connect() as conn:
        rows = read_model.staff_on_post(conn, A1, None)
    assert [(r["person_id"], is_token(r["name"])) for r in rows] == [("P-0001", True), ("P-0002", True)]
    assert NAME not in database_text(views)
    assert keys.decrypt_field(rows[0]["name"], "name") == NAME


def test_the_store_seals_a_clear_name_that_reaches_it(store: EventStore) -> None:
    agency = Agency.register(
        agency_id=A2,
        name="区财政局",
        district=DISTRICT,
        kind="party_government",
        admin_level="county",
        authorised_headcount=5,
        known_districts=DISTRICTS,
    )
    agency.post_staff("P-0009", "王芳", "section_principal", "2026-03-01")  # not sealed by the caller
    (_, posted) = store.save(agency, META)
    assert is_token(posted.payload["name"]) and "王芳" not in database_text(store.engine)


def test_who_sees_the_name_and_the_access_record(store: EventStore, keys: KeyStore, tmp_path: Path) -> None:
    _post(store, "P-0001", NAME)
    views = _projected(store.read_all(), f"sqlite:///{tmp_path / 'views.db'}")
    with views.connect() as conn:
        rows = read_model.staff_on_post(conn, A1, None)
    assert [entitled(p, DISTRICT) for p in (CITY, OWN, ELSEWHERE, VIEWER)] == [True, True, False, False]
    seen = {p.role + (p.district or ""): reveal_rows(keys, p, rows, ("name",)) for p in (CITY, OWN, ELSEWHERE)}
    assert [answer[0][0]["name"] for answer in seen.values()] == [NAME, NAME, MASKED_TEXT]
    assert seen["city_admin"][1] == {Subject("person", "P-0001"): {"name"}}
    assert seen[f"district_operator{OTHER}"][1] == {}  # nothing shown, nothing recorded
    gateway = create_db_engine(f"sqlite:///{tmp_path / 'gateway.db'}")
    reads_table.metadata.create_all(gateway)
    record_reads(gateway, CITY, "GET /api/v1/agencies/<agency_id>/staff", seen["city_admin"][1])
    with gateway.connect() as conn:
        recorded = [tuple(r)[2:] for r in conn.execute(sa.select(reads_table))]
    assert recorded == [
        ("city_admin:wang", "city_admin", None, "person", "P-0001", "name", "GET /api/v1/agencies/<agency_id>/staff")
    ]


def test_after_erasure_everyone_reads_erased_and_the_count_stays(
    store: EventStore, keys: KeyStore, tmp_path: Path
) -> None:
    _post(store, "P-0001", NAME)
    _post(store, "P-0002", "李娜")
    views = _projected(store.read_all(), f"sqlite:///{tmp_path / 'views.db'}")
    assert keys.erase(Subject("person", "P-0001")) is True
    assert keys.erase(Subject("person", "P-0001")) is False  # idempotent
    with views.connect() as conn:
        rows = read_model.staff_on_post(conn, A1, None)
        on_post = conn.execute(sa.select(sa.func.count()).select_from(read_model.staff)).scalar()
    assert on_post == 2
    for principal in (CITY, OWN, ELSEWHERE):
        answered, shown = reveal_rows(keys, principal, rows, ("name",))
        assert answered[0]["name"] == ERASED_TEXT
        assert Subject("person", "P-0001") not in shown
    assert reveal_rows(keys, CITY, rows, ("name",))[0][1]["name"] == "李娜"
    # the erased person is not recorded again
    with pytest.raises(SubjectErased):
        _post(store, "P-0001", NAME)
