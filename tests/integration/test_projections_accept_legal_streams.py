"""Every projection applies what its service accepted: a legal office-space history — people posted, leaving
and posted again, transferred, shared rooms filled and emptied twice over, the same findings raised, closed
and raised again, leases and inspections — is stored through the real event store (which checks every event
against its contract), then applied to the data center's projections in two legal orders: the order of the
commits, and stream by stream in reverse (what partitions keyed by stream may deliver). Not one event may be
refused (a refused event is dead-lettered: the platform's defect, never the user's), and both orders must
end in the same read model.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from services.common.base.db import create_db_engine
from services.common.kernel.aggregate import Aggregate
from services.common.kernel.events import Envelope, Metadata, registered_event_types
from services.common.write.store import EventStore
from services.gateway import views
from services.office_space.domain.agencies import Agency
from services.office_space.domain.base import AREA_STANDARD_2014
from services.office_space.domain.buildings import ApprovedException, Building, Newcomer
from services.office_space.domain.inspections import Inspection
from services.office_space.domain.leases import Lease
from services.office_space.domain.people import Person
from services.office_space.read_model import allocations, findings, rooms, space_sums, staff
from tests.support import agency_code

TODAY = date(2026, 11, 23)
DISTRICTS = {"320402": "天宁区"}
A1, A2 = agency_code("320402", "A1"), agency_code("320402", "A2")
APPROVED = ApprovedException("city_admin:wang", "档案存放需要")


class History:
    """Commands as the service runs them, each saved in one transaction; the envelopes in commit order."""

    def __init__(self, store: EventStore) -> None:
        self.store = store
        self.envelopes: list[Envelope] = []

    def save(self, *aggregates: Aggregate) -> None:
        self.envelopes += self.store.save_all(aggregates, Metadata(actor="city_admin:wang"))

    def agency(self, agency_id: str) -> Agency:
        return self.store.load(Agency, agency_id)

    def building(self) -> Building:
        return self.store.load(Building, "B1")

    def person(self, person_id: str) -> Person:
        return self.store.find(Person, person_id) or Person(person_id)

    def post(self, agency_id: str, person_id: str, rank: str = "below_section") -> None:
        agency, person = self.agency(agency_id), self.person(person_id)
        agency.post_staff(person_id, "张伟", rank, "2021-03-01")
        person.take_post(agency_id, "320402", rank, "2021-03-01")
        self.save(agency, person)

    def depart(self, agency_id: str, person_id: str, on: date) -> None:
        agency, person, building = self.agency(agency_id), self.person(person_id), self.building()
        agency.record_departure(person_id, "retired", on.isoformat(), TODAY)
        person.leave_post(agency_id, "retired", on.isoformat())
        building.flag_departed(person_id, "retired", on.isoformat(), TODAY)
        self.save(agency, person, building)

    def transfer(self, person_id: str, source_id: str, target_id: str, on: date) -> None:
        source, target, person, building = (
            self.agency(source_id),
            self.agency(target_id),
            self.person(person_id),
            self.building(),
        )
        person.require_transferable(source_id, target_id)
        rank = source.rank_of(person_id)
        source.record_departure(person_id, "transferred", on.isoformat(), TODAY)
        target.post_staff(person_id, "张伟", rank, on.isoformat())
        person.leave_post(source_id, "transferred", on.isoformat())
        person.take_post(target_id, "320402", rank, on.isoformat(), from_agency_id=source_id)
        building.flag_departed(person_id, "transferred", on.isoformat(), TODAY)
        self.save(source, target, person, building)

    def allocate(self, room: str, *persons: str, exception: ApprovedException | None = None) -> None:
        building = self.building()
        newcomers = [Newcomer(p, "below_section") for p in persons]
        building.allocate_many(room, newcomers, A1, "county", AREA_STANDARD_2014, TODAY, exception)
        self.save(building)

    def release(self, room: str, person: str, on: date = TODAY) -> None:
        building = self.building()
        building.release(room, person, TODAY, on)
        self.save(building)


def legal_history(store: EventStore) -> list[Envelope]:
    h = History(store)
    for agency_id in (A1, A2):
        h.save(
            Agency.register(
                agency_id=agency_id,
                name=f"单位{agency_id}",
                district="320402",
                kind="party_government",
                admin_level="county",
                authorised_headcount=20,
                known_districts=DISTRICTS,
            )
        )
    a1 = h.agency(A1)
    a1.change_headcount(25, "机构改革")
    h.save(a1)
    h.post(A1, "P1")
    h.post(A1, "P2")
    building = Building.register(
        building_id="B1",
        agency_id=A1,
        district="320402",
        name="区行政中心",
        address="和平路1号",
        gross_floor_area_m2=1000.0,
    )
    building.add_room("R1", "101", 18.0, "office", A1, TODAY)
    building.add_room("R2", "102", 20.0, "office", A1, TODAY)
    building.add_room("R3", "103", 60.0, "meeting", A1, TODAY)
    h.save(building)
    h.allocate("R1", "P1", "P2")  # 18 / 2 = 9 each
    h.release("R1", "P2")  # P1 holds 18 > 9: a share finding
    h.allocate("R1", "P2")  # back to 9 each: the finding closes
    h.release("R1", "P2")  # and is raised again, under the same key
    h.depart(A1, "P2", TODAY - timedelta(days=30))  # P2 holds no room now
    h.post(A1, "P2")  # posted again
    h.allocate("R2", "P2", exception=APPROVED)  # 20 > 9, approved
    h.depart(A1, "P2", TODAY - timedelta(days=20))  # R2 still held: a departed-staff finding
    h.release("R2", "P2", TODAY - timedelta(days=10))  # closes it
    h.post(A1, "P2")
    h.allocate("R2", "P2", exception=APPROVED)
    h.depart(A1, "P2", TODAY - timedelta(days=5))  # the same finding key, raised again
    h.transfer("P1", A1, A2, TODAY - timedelta(days=120))  # P1 still holds R1 at A1: a finding
    h.release("R1", "P1", TODAY - timedelta(days=100))
    building = h.building()
    assert building.detect_idle_rooms(TODAY) == ["R1"]  # vacant 100 days ≥ 90
    building.transfer_idle_room("R1", A2, "city_admin:wang", TODAY)
    h.save(building)
    lease = Lease.found_unapproved(
        lease_id="L1",
        agency_id=A1,
        district="320402",
        building_id="B1",
        room_ids=["R3"],
        counter_party="某公司",
        inspection_id="I1",
        today=TODAY,
    )
    h.save(lease)
    lease.end(TODAY)
    h.save(lease)
    inspection = Inspection.open(
        inspection_id="I1",
        agency_id=A1,
        district="320402",
        topic="专项巡检",
        inspected_on=date(2026, 11, 1),
        today=date(2026, 11, 23),
    )
    inspection.record_finding("F1", "safety", "消防通道堆放杂物", date(2026, 12, 1))
    inspection.rectify("F1", "已清理", TODAY)
    h.save(inspection)
    return h.envelopes


def _project(folder: Path, name: str, envelopes: list[Envelope]) -> dict[str, Any]:
    engine = create_db_engine(f"sqlite:///{folder / name}")
    views.prepare_database(engine)
    projections = views.data_center_projections()
    refused = []
    with engine.begin() as conn:
        for env in envelopes:
            for projection in projections:
                if "office_space.events" not in projection.topics:
                    continue
                try:
                    with conn.begin_nested():
                        projection.apply(conn, env)
                except Exception as exc:  # what the projector would dead-letter
                    refused.append((env.event_type, env.stream_id, type(projection).__name__, str(exc)[:200]))
        tables = {
            table.name: sorted(tuple(str(v) for v in row) for row in conn.execute(sa.select(table)))
            for table in (staff, rooms, allocations, findings)
        }
        sums = space_sums(conn, None, None)
    return {"refused": refused, "tables": tables, "sums": sums}


def test_no_event_the_service_accepted_is_refused_by_a_projection_in_any_legal_order(tmp_path: Path) -> None:
    store = EventStore.open(f"sqlite:///{tmp_path / 'office_space.db'}", "office_space")
    envelopes = legal_history(store)
    office_space_types = {t for d, t, _ in registered_event_types() if d == "office_space"}
    handled = {
        event_type
        for projection in views.data_center_projections()
        if "office_space.events" in projection.topics
        for event_type in projection.handles() & office_space_types
    }
    exercised = {env.event_type for env in envelopes}
    assert handled - exercised == set(), "the history must exercise every office-space event a projection handles"
    in_order = _project(tmp_path, "in_order.db", envelopes)
    streams: dict[str, list[Envelope]] = {}
    for env in envelopes:
        streams.setdefault(f"{env.stream_type}:{env.stream_id}", []).append(env)
    by_stream = [env for key in reversed(list(streams)) for env in streams[key]]
    reversed_streams = _project(tmp_path, "by_stream.db", by_stream)
    assert in_order["refused"] == [] and reversed_streams["refused"] == []
    assert in_order["tables"] == reversed_streams["tables"]
    on_post = [(row[0], row[1]) for row in in_order["tables"]["os_staff"]]
    assert on_post == [("P1", A2)]  # P2 retired; P1 transferred to A2
    open_keys = sorted(row[0] for row in in_order["tables"]["os_findings"] if row[7] == "None")
    # R1's share finding closed when P1 was released; P2's second departure leaves R2 held
    assert open_keys == ["departed:R2:P2"]

    # the figures of the history's end (docs/kpis/office_space.md): A1 has nobody on post; R2 (20 m²) is held only
    # by the retired P2 — over-standard with approval, but P2 is not on post, so not counted; R1 (18 m²) was
    # adjusted to A2, where P1 is on post without a room
    a1, a2 = in_order["sums"][A1], in_order["sums"][A2]
    assert (a1["staff_on_post"], a1["office_area_m2"], a1["departed_held_area_m2"]) == (0, 20.0, 20.0)
    assert (a1["over_standard_persons"], a1["standard_area_m2"]) == (0, 0)
    assert (a2["staff_on_post"], a2["idle_office_area_m2"], a2["occupied_office_area_m2"]) == (1, 18.0, 0)
    assert a2["standard_area_m2"] == 9.0  # P1 科级以下
