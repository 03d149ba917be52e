"""Every office-space aggregate replays from its events (through JSON) and round-trips its snapshot."""

from __future__ import annotations

import json
from datetime import date

import pytest

from services.common.kernel.aggregate import Aggregate
from services.common.kernel.events import event_from_payload
from services.office_space.domain.agencies import Agency
from services.office_space.domain.base import AREA_STANDARD_2014
from services.office_space.domain.buildings import Building
from services.office_space.domain.inspections import Inspection
from services.office_space.domain.leases import Lease
from services.office_space.domain.properties import OperatingProperty
from services.office_space.domain.repairs import RepairProject
from tests.support import agency_code

T = date(2026, 11, 23)


def _agency() -> Agency:
    a = Agency.register(
        agency_id=agency_code("320400", "A1"),
        name="市财政局",
        district="320400",
        kind="party_government",
        admin_level="city",
        authorised_headcount=86,
        known_districts={"320400": "x"},
    )
    a.post_staff("P1", "张伟", "bureau_deputy", "2021-03-01")
    a.post_staff("P2", "王芳", "below_bureau", "2021-03-01")
    a.record_departure("P1", "retired", "2026-10-31", date(2026, 11, 23))
    return a


def _building() -> Building:
    b = Building.register(
        building_id="B1",
        agency_id="A1",
        district="320400",
        name="1号楼",
        address="龙城大道1280号",
        gross_floor_area_m2=5000.0,
    )
    b.add_room("R1", "301", 18.0, "office", "A1", date(2026, 1, 1))
    b.add_room("R2", "302", 9.0, "office", "A1", date(2026, 1, 1))
    b.allocate("R1", "P1", "A1", "city", "bureau_deputy", AREA_STANDARD_2014, T)
    b.detect_idle_rooms(date(2026, 5, 1), 90)
    b.transfer_idle_room("R2", "A2", "city_admin:wang", T)
    b.flag_departed("P1", "retired", "2026-10-31", T)
    return b


def _property() -> OperatingProperty:
    p = OperatingProperty.register("OP1", "320402", "商铺", 100_000, 10_000)
    p.add_unit("U1", 50.0, 1_000, T, added_on=date(2025, 12, 1))
    p.let("U1", "书店", 90_000, date(2026, 1, 1), date(2027, 1, 1))
    p.receive_rent("U1", "2026-11", 90_000, T)
    return p


def _repair() -> RepairProject:
    p = RepairProject.apply(
        project_id="RP1",
        agency_id="A1",
        district="320400",
        building_id="B1",
        category="major",
        scope="屋面",
        budget_fen=10_000,
        today=T,
    )
    p.review_necessity(True, "确需", "r")
    p.approve(9_000, "a")
    p.start_execution(T)
    p.record_change("x", "y", 500, True)
    return p


def _inspection() -> Inspection:
    i = Inspection.open(
        inspection_id="I1", agency_id="A1", district="320400", topic="专项巡检", inspected_on=date(2026, 10, 1), today=T
    )
    i.record_finding("F1", "idle", "闲置", date(2026, 11, 1))
    return i


def _lease() -> Lease:
    lease = Lease.request(
        lease_id="L1",
        agency_id="A1",
        district="320400",
        building_id="B1",
        room_ids=["R1"],
        kind="rent",
        counter_party="某公司",
        start_on=date(2027, 1, 1),
        end_on=date(2028, 1, 1),
        monthly_rent_fen=1_000,
    )
    lease.approve("a")
    return lease


@pytest.mark.parametrize("build", [_agency, _building, _property, _repair, _inspection, _lease])
def test_an_aggregate_replays_from_its_events_and_its_snapshot(build: object) -> None:
    original: Aggregate = build()  # type: ignore[operator]
    stored = [json.loads(json.dumps(e.payload())) for e in original.pending_events]
    events = [
        event_from_payload("office_space", type(e).__name__, 1, p)
        for e, p in zip(original.pending_events, stored, strict=True)
    ]
    replayed = type(original).rehydrate(original.id, events)
    assert replayed.snapshot_state() == original.snapshot_state()
    assert replayed.version == original.version
    snapshot = json.loads(json.dumps(original.snapshot_state()))
    restored = type(original).rehydrate(original.id, [], (original.version, snapshot))
    assert restored.snapshot_state() == original.snapshot_state()
