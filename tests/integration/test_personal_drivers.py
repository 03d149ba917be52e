"""Drivers by the law, on real stores (SQLite and PostgreSQL): a dispatch names its driver by id, the vehicles
store and what it publishes keep the driver's name as a token under that driver's key, the projection keeps
the token, the gateway shows the name to a city administrator and the operators of the trip's two districts
only (each such read recorded), and after the driver's erasure everyone reads 已删除 while the trip's
kilometres stay what they were. A v1 dispatch (a clear name, no id) still reads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from services.common.base import contracts
from services.common.base.db import create_db_engine
from services.common.base.personal import (
    ERASED_TEXT,
    MASKED_TEXT,
    KeyStore,
    PersonalMark,
    Subject,
    sealed_fields,
)
from services.common.kernel.events import upcast
from services.common.kernel.schemas import load_command
from services.common.runtime.rpc import ServiceError
from services.gateway.api import personal_data
from services.gateway.api.personal_data import TRIP_DISTRICTS, ErasureSchema, drivers_shown, reads_table, reveal_rows
from services.gateway.auth import Principal
from tests.integration.conftest import MASTER
from tests.integration.test_vehicles_service import TIANNING, WUJIN, Harness
from tests.support import database_text

OTHER = "320411"
DRIVER_ID, NAME = "D-0007", "王建国"
CITY = Principal("t1", "wang", "city_admin", None)
REQUESTER = Principal("t2", "op-tn", "district_operator", TIANNING)
SERVING = Principal("t3", "op-wj", "district_operator", WUJIN)
ELSEWHERE = Principal("t4", "op-xb", "district_operator", OTHER)
VIEWER = Principal("t5", "v", "viewer", None)
ROUTE = "GET /api/v1/trips"


@pytest.fixture
def fleet(db_url: str, keys: KeyStore) -> Harness:
    """A Tianning trip served city-wide by a Wujin vehicle and its driver, 100 km, projected."""
    harness = Harness(db_url)
    harness.store.personal = lambda: keys
    harness.service.set_vehicle_quota({"agency_id": "AG-WJ", "quota": 3, "reason": "2026年编制核定"})
    harness.register("V-WJ", "苏D77777", agency="AG-WJ")
    harness.service.request_trip(
        {"trip_id": "T1", "agency_id": "AG-TN", "purpose": "调研", "destination": "溧阳"}
        | {"planned_start": "2026-03-05T09:00:00+08:00", "planned_end": "2026-03-05T12:00:00+08:00"}
    )
    harness.service.dispatch_trip({"trip_id": "T1", "vehicle_id": "V-WJ", "driver_id": DRIVER_ID, "driver": NAME})
    harness.service.start_trip({"trip_id": "T1", "odometer_km": 10_000, "started_at": "2026-03-05T09:00:00+08:00"})
    harness.service.finish_trip({"trip_id": "T1", "odometer_km": 10_100, "finished_at": "2026-03-05T12:00:00+08:00"})
    harness.project()
    return harness


def _trips(fleet: Harness) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = fleet.service.trips({"limit": 10})["items"]
    return rows


def test_v2_seals_the_driver_under_the_driver_id_and_v1_stays_unsealed() -> None:
    assert sealed_fields("vehicles", "TripDispatched", 2) == {"driver": PersonalMark("driver", "driver_id")}
    assert sealed_fields("vehicles", "TripDispatched", 1) == {}


def test_the_name_is_a_token_in_the_store_the_published_events_and_the_projection(
    fleet: Harness, keys: KeyStore
) -> None:
    (dispatched,) = [env for env in fleet.store.read_all() if env.event_type == "TripDispatched"]
    assert (dispatched.schema_version, dispatched.payload["driver_id"]) == (2, "D-0007")
    assert dispatched.payload["driver"].startswith("pd:v1:driver:D-0007:driver:")
    # the store and the read models share this database: events, outbox, snapshots, veh_trips
    assert NAME not in database_text(fleet.engine)
    published = json.dumps([env.to_dict() for env in fleet.store.read_all()], ensure_ascii=False)
    assert NAME not in published and "D-0007" in published
    (row,) = _trips(fleet)
    assert (row["driver_id"], row["driver"]) == ("D-0007", dispatched.payload["driver"])  # the token, kept
    assert fleet.service.get_trip({"trip_id": "T1"})["driver"] == dispatched.payload["driver"]
    assert keys.decrypt_field(dispatched.payload["driver"], "driver") == NAME


def test_a_dispatch_without_driver_id_is_refused(fleet: Harness) -> None:
    fleet.service.request_trip(
        {"trip_id": "T2", "agency_id": "AG-TN", "purpose": "调研", "destination": "溧阳"}
        | {"planned_start": "2026-03-06T09:00:00+08:00", "planned_end": "2026-03-06T12:00:00+08:00"}
    )
    with pytest.raises(ServiceError) as refused:
        fleet.service.dispatch_trip({"trip_id": "T2", "vehicle_id": "V-WJ", "driver": NAME})
    assert refused.value.code == "validation_failed"


def test_who_sees_the_driver_and_the_access_record(
    fleet: Harness, keys: KeyStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = _trips(fleet)
    seen = [reveal_rows(keys, p, rows, ("driver",), TRIP_DISTRICTS) for p in (CITY, REQUESTER, SERVING)]
    assert [answer[0]["driver"] for answer, _ in seen] == [NAME, NAME, NAME]
    assert all(shown == {Subject("driver", "D-0007"): {"driver"}} for _, shown in seen)
    for outsider in (ELSEWHERE, VIEWER):
        answer, shown = reveal_rows(keys, outsider, rows, ("driver",), TRIP_DISTRICTS)
        assert (answer[0]["driver"], shown) == (MASKED_TEXT, {})
    gateway = create_db_engine(f"sqlite:///{tmp_path / 'gateway.db'}")
    reads_table.metadata.create_all(gateway)
    monkeypatch.setattr(personal_data, "platform_key_store", lambda: keys)
    assert drivers_shown(gateway, SERVING, ROUTE, rows)[0]["driver"] == NAME
    assert drivers_shown(gateway, ELSEWHERE, ROUTE, rows)[0]["driver"] == MASKED_TEXT  # not recorded
    with gateway.connect() as conn:
        recorded = [tuple(r)[2:] for r in conn.execute(sa.select(reads_table))]
    assert recorded == [("district_operator:op-wj", "district_operator", WUJIN, "driver", "D-0007", "driver", ROUTE)]


def test_after_erasure_everyone_reads_erased_and_the_kilometres_stay(fleet: Harness, keys: KeyStore) -> None:
    assert load_command(ErasureSchema, {"subject": "driver", "id": DRIVER_ID}) == {"subject": "driver", "id": "D-0007"}
    assert keys.erase(Subject("driver", DRIVER_ID)) is True
    rows = _trips(fleet)
    for principal in (CITY, REQUESTER, SERVING, ELSEWHERE, VIEWER):
        answer, shown = reveal_rows(keys, principal, rows, ("driver",), TRIP_DISTRICTS)
        assert (answer[0]["driver"], shown) == (ERASED_TEXT, {})
    (row,) = rows
    assert (row["status"], row["start_km"], row["finish_km"], row["distance_km"]) == ("completed", 10_000, 10_100, 100)
    fleet.service.request_trip(
        {"trip_id": "T3", "agency_id": "AG-TN", "purpose": "调研", "destination": "溧阳"}
        | {"planned_start": "2026-03-07T09:00:00+08:00", "planned_end": "2026-03-07T12:00:00+08:00"}
    )
    with pytest.raises(ServiceError) as refused:  # the erased driver is not recorded again
        fleet.service.dispatch_trip({"trip_id": "T3", "vehicle_id": "V-WJ", "driver_id": DRIVER_ID, "driver": NAME})
    assert refused.value.code == "subject_erased"


def test_a_v1_dispatch_reads_with_its_clear_name_for_entitled_readers_only() -> None:
    v1 = {
        "trip_id": "T0",
        "agency_id": "AG-TN",
        "district": TIANNING,
        "vehicle_id": "V-WJ",
        "plate": "苏D77777",
        "vehicle_agency_id": "AG-WJ",
        "vehicle_district": WUJIN,
        "city_wide": True,
        "driver": "李师傅",
        "dispatched_at": "2026-03-01T08:00:00+08:00",
    }
    assert upcast("vehicles", "TripDispatched", 1, v1, 2) == {**v1, "driver_id": None}
    contracts.validate_payload("vehicles", "TripDispatched", 2, {**v1, "driver_id": None})
    row = {"district": TIANNING, "vehicle_district": WUJIN, "driver_id": None, "driver": "李师傅"}
    keys = KeyStore(create_db_engine("sqlite://"), [MASTER])
    assert reveal_rows(keys, SERVING, [row], ("driver",), TRIP_DISTRICTS) == ([row], {})
    assert reveal_rows(keys, ELSEWHERE, [row], ("driver",), TRIP_DISTRICTS)[0][0]["driver"] == MASKED_TEXT
