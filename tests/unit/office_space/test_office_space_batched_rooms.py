"""A projector applying a building's history with the rooms' batch form (rooms added and allocated in turn, in one
run) leaves the read model's tables as the same events applied one at a time leave them: allocations of two at
once, releases, findings raised and closed, reallocations of the same person and of others."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from services.common.base.db import create_db_engine, migrate
from services.common.kernel.events import Envelope
from services.common.read.broker import envelope_message
from services.common.read.projector import Projector, decode
from services.common.write.store import EventStore
from services.office_space.domain.base import AREA_STANDARD_2014
from services.office_space.domain.buildings import Building, Newcomer
from services.office_space.read_model.projection import OfficeSpaceViews
from services.office_space.read_model.tables import allocations, buildings, findings, metadata, rooms, staff
from tests.support import meta

TOPIC = "office_space.events"
RANK = "section_principal"  # 12 m² in a county agency (AREA_STANDARD_2014)


class Record:
    """The parts of a Kafka record the projector reads."""

    def __init__(self, offset: int, value: bytes) -> None:
        self.topic, self.partition, self.offset, self.key, self.value = TOPIC, 0, offset, b"B1", value


class NoLagConsumer:
    def end_offsets(self, partitions: Any) -> dict[Any, int]:
        return {}


class CountedViews(OfficeSpaceViews):
    """The read model, noting the event types of every run its rooms' batch form applies."""

    def __init__(self) -> None:
        self.runs: list[list[str]] = []

    def many_rooms(self, conn: sa.Connection, envs: list[Envelope]) -> None:
        self.runs.append([env.event_type for env in envs])
        super().many_rooms(conn, envs)

    many_RoomAdded = many_RoomAllocated = many_rooms  # noqa: N815 (the projector looks up many_<EventType>)


def history() -> list[bytes]:
    """A building's events in the relay's message form, made by the real aggregate."""
    day = date(2026, 1, 5)
    b = Building.register(
        building_id="B1",
        agency_id="A1",
        district="320402",
        name="办公楼",
        address="龙城大道1号",
        gross_floor_area_m2=1000.0,
    )

    def allocate(room_id: str, *people: str) -> None:
        newcomers = [Newcomer(person, RANK) for person in people]
        b.allocate_many(room_id, newcomers, "A1", "county", AREA_STANDARD_2014, day)

    # rooms added and allocated in turn, as a building is entered (one run of the batch form): two of 24 m² for
    # two persons (12 m² each), three of 12 m², one left empty
    for k, area in enumerate((24.0, 24.0, 12.0, 12.0, 12.0, 12.0), start=1):
        b.add_room(f"R{k}", f"{100 + k}", area, "office", "A1", day)
        if k in (1, 2):
            allocate(f"R{k}", f"P{2 * k - 1}", f"P{2 * k}")  # R1: P1, P2; R2: P3, P4
        elif k != 5:
            allocate(f"R{k}", f"P{k + 2}")  # R3: P5, R4: P6, R6: P8
    b.release("R1", "P1", day)  # P2 alone holds 24 m²: a share finding opens
    allocate("R1", "P9")  # 12 m² each again: P2's finding closes
    b.release("R3", "P5", day)
    allocate("R3", "P5")  # the same person again
    b.release("R2", "P3", day)
    b.release("R2", "P4", day)
    allocate("R2", "P3", "P10")
    b.release("R6", "P8", day)
    allocate("R6", "P11")
    store = EventStore.open("sqlite://", "office_space")
    store.save(b, meta())
    return [envelope_message(env)[1] for env in store.read_all()]


def tables(engine: sa.Engine) -> list[list[tuple[Any, ...]]]:
    with engine.connect() as conn:
        return [
            [tuple(row) for row in conn.execute(sa.select(t).order_by(*t.primary_key.columns))]
            for t in (buildings, staff, rooms, allocations, findings)
        ]


def test_a_batched_history_of_rooms_ends_as_applied_one_event_at_a_time(tmp_path: Path) -> None:
    values = history()
    one_by_one = create_db_engine(f"sqlite:///{tmp_path / 'one.db'}")
    metadata.create_all(one_by_one)
    views = OfficeSpaceViews()
    with one_by_one.begin() as conn:
        for value in values:
            views.apply(conn, decode(Record(0, value)))
    batched = create_db_engine(f"sqlite:///{tmp_path / 'batched.db'}")
    migrate(batched, "projector")
    metadata.create_all(batched)
    counted = CountedViews()
    projector = Projector("rooms", batched, [counted], "unused:9092", "test", consumer=NoLagConsumer())  # type: ignore[arg-type]

    projector._apply_batch([Record(offset, value) for offset, value in enumerate(values)])  # type: ignore[arg-type]

    expected = tables(one_by_one)
    # the one-by-one tables are the history's: 6 rooms; R1 P2+P9, R2 P3+P10, R3 P5, R4 P6, R6 P11 (7 rows);
    # P2's share finding (R1) opened, closed by P9's allocation; P4's (R2) opened, closed by P4's release
    assert len(expected[2]) == 6
    assert [r[:2] for r in expected[3]] == [
        ("R1", "P2"),
        ("R1", "P9"),
        ("R2", "P10"),
        ("R2", "P3"),
        ("R3", "P5"),
        ("R4", "P6"),
        ("R6", "P11"),
    ]
    assert [(r[0], r[-1]) for r in expected[4]] == [
        ("share:R1:P2", "2026-01-05"),
        ("share:R2:P4", "2026-01-05"),
    ]
    assert tables(batched) == expected
    # the building's rooms and first allocations went through the batch form in one run: 6 rooms, 2 + 2 + 1 + 1
    # + 1 allocations (R5 stays empty)
    assert counted.runs[0].count("RoomAdded") == 6
    assert counted.runs[0].count("RoomAllocated") == 7


def test_a_run_with_a_v1_allocation_is_applied_one_event_at_a_time() -> None:
    def event(event_type: str, payload: dict[str, Any]) -> Envelope:
        return Envelope(
            event_id=f"e-{event_type}-{payload.get('person_id', '')}",
            event_type=event_type,
            schema_version=1,
            stream_type="Building",
            stream_id="B1",
            stream_version=1,
            occurred_at="2026-01-05T08:00:00+00:00",
            recorded_at="2026-01-05T08:00:00+00:00",
            district="320402",
            agency_id="A1",
            actor="test",
            correlation_id="c1",
            causation_id=None,
            payload=payload,
            domain="office_space",
        )

    def allocated(person: str, area: float) -> Envelope:
        # a v1 allocation: no re-judgement of the room's occupants, only the newcomer's area (the room's area
        # divided by the occupants), which every occupant then has
        return event(
            "RoomAllocated",
            {"room_id": "R1", "person_id": person, "building_id": "B1", "agency_id": "A1", "rank": RANK}
            | {"area_per_person_m2": area, "standard_m2": 12.0, "over_standard": False}
            | {"exception_approved_by": None, "allocated_on": "2026-01-05"},
        )

    added = event(
        "RoomAdded",
        {"room_id": "R1", "building_id": "B1", "agency_id": "A1", "number": "101", "usable_area_m2": 24.0}
        | {"use": "office"},
    )
    run = [added, allocated("P1", 24.0), allocated("P2", 12.0)]
    results = []
    for batched in (False, True):
        engine = sa.create_engine("sqlite://")
        metadata.create_all(engine)
        views = OfficeSpaceViews()
        with engine.begin() as conn:
            if batched:
                views.many_rooms(conn, run)
            else:
                for env in run:
                    views.apply(conn, env)
        results.append(tables(engine))

    # P2's v1 allocation set P1's area to 12 m² too (24 m² ÷ 2)
    assert [(r[1], r[6]) for r in results[0][3]] == [("P1", 12.0), ("P2", 12.0)]  # person_id, area_per_person_m2
    assert results[1] == results[0]
