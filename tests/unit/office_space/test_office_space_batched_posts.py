"""The read model's batch forms (a building's rooms, an agency's staff) leave the tables as the events applied one
by one leave them, transfers arriving out of order included."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa

from services.common.kernel.events import Envelope
from services.office_space.read_model.projection import OfficeSpaceViews
from services.office_space.read_model.tables import metadata, rooms, staff


def envelope(event_type: str, payload: dict[str, Any], recorded_at: str) -> Envelope:
    return Envelope(
        event_id=str(uuid.uuid4()),
        event_type=event_type,
        schema_version=1,
        stream_type="Agency",
        stream_id=str(payload["agency_id"]),
        stream_version=1,
        occurred_at=recorded_at,
        recorded_at=recorded_at,
        district="320402",
        agency_id=str(payload["agency_id"]),
        actor="test",
        correlation_id=str(uuid.uuid4()),
        causation_id=None,
        payload=payload,
        domain="office_space",
    )


def posted(person: str, agency: str, minute: int) -> Envelope:
    payload = {"person_id": person, "agency_id": agency, "name": f"name of {person}", "rank": "科员"}
    return envelope("StaffPosted", payload, f"2026-01-01T08:{minute:02d}:00+00:00")


def room(number: int) -> Envelope:
    payload = {"room_id": f"R{number}", "building_id": "B1", "agency_id": "A1", "number": str(number)}
    payload |= {"usable_area_m2": 12.5, "use": "office"}
    return envelope("RoomAdded", payload, "2026-01-01T08:00:00+00:00")


def tables_after(batched: bool, before: list[Envelope], run: list[Envelope]) -> list[list[tuple[Any, ...]]]:
    engine = sa.create_engine("sqlite://")
    metadata.create_all(engine)
    views = OfficeSpaceViews()
    with engine.begin() as conn:
        for env in before:
            views.apply(conn, env)
        if batched:
            getattr(views, f"many_{run[0].event_type}")(conn, run)
        else:
            for env in run:
                views.apply(conn, env)
        return [list(conn.execute(sa.select(t).order_by(*t.primary_key.columns))) for t in (staff, rooms)]


def test_staff_posted_together_are_kept_as_posted_one_by_one() -> None:
    # P1 holds a post at A9 recorded at 08:30, later than its post at A1 (08:10) in the run: that transfer
    # arrived first, so A9's post stands. P2 held an older post at A9 (08:05): A1's later one (08:11) replaces it.
    # P3 is posted at A1 again (same agency): the new row replaces the old whatever the times.
    before = [posted("P1", "A9", 30), posted("P2", "A9", 5), posted("P3", "A1", 50)]
    run = [posted("P1", "A1", 10), posted("P2", "A1", 11), posted("P3", "A1", 12), posted("P4", "A1", 13)]

    one_by_one = tables_after(False, before, run)

    assert [(r.person_id, r.agency_id) for r in one_by_one[0]] == [
        ("P1", "A9"),
        ("P2", "A1"),
        ("P3", "A1"),
        ("P4", "A1"),
    ]
    assert tables_after(True, before, run) == one_by_one


def test_a_run_posting_someone_twice_is_applied_as_one_by_one() -> None:
    # P1 posted at A1 (08:10), then at A2 (08:20, later): the second stands, as it would one event at a time
    run = [posted("P1", "A1", 10), posted("P1", "A2", 20), posted("P1", "A3", 5)]

    one_by_one = tables_after(False, [], run)

    # the third post (08:05) is older than A2's (08:20) and at another agency: A2's stands
    assert [(r.person_id, r.agency_id) for r in one_by_one[0]] == [("P1", "A2")]
    assert tables_after(True, [], run) == one_by_one


def test_rooms_added_together_are_the_rooms_added_one_by_one() -> None:
    run = [room(n) for n in range(1, 15)]

    one_by_one = tables_after(False, [], run)

    assert len(one_by_one[1]) == 14
    assert tables_after(True, [], run) == one_by_one
