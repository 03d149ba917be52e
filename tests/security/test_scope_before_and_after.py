"""A cross-district act the domain allows never blocks the owning district's own records (docs/hostile-input.md).

A room of one district's agency may lie in another district's building (docs/domain.md). When a person of that
agency leaves, the room they still hold becomes a finding in the other district's building; the departure is
the agency's district's record and must be recorded, the finding following from it.
"""

from __future__ import annotations

import time
import uuid

from services.office_space import read_model
from tests.security.support import DISTRICT_A, DISTRICT_B, World, agency_of


def test_a_departure_is_recorded_even_when_the_room_left_lies_in_another_district(world: World) -> None:
    admin, operator_a = world.tokens["city_admin"], world.tokens["operator_a"]
    n = uuid.uuid4().hex[:8]
    agency_a, agency_b = agency_of(DISTRICT_A), agency_of(DISTRICT_B)
    building = {"building_id": f"XB-{n}", "agency_id": agency_b, "name": "钟楼区综合楼", "address": "延陵西路1号"}
    building |= {"gross_floor_area_m2": 900}
    calls = [
        ("/api/v1/buildings", building),  # district B's building ...
        (
            f"/api/v1/buildings/XB-{n}/rooms",  # ... with a room held by district A's agency
            {"room_id": f"XR-{n}", "number": "301", "usable_area_m2": 9, "use": "office", "agency_id": agency_a},
        ),
        (
            f"/api/v1/agencies/{agency_a}/staff",
            {"person_id": f"XP-{n}", "name": "张伟", "rank": "below_bureau", "posted_on": "2024-03-01"},
        ),
        (f"/api/v1/buildings/XB-{n}/rooms/XR-{n}/allocations", {"person_id": f"XP-{n}", "agency_id": agency_a}),
    ]
    for path, body in calls:
        status, answer, _ = world.platform.request("POST", path, body, admin)
        assert status == 201, (path, answer)
    store = world.store("office_space")
    deadline = time.monotonic() + 30
    while True:  # office space finds rooms held in other agencies' buildings in its read models: wait for them
        with store.engine.connect() as conn:
            if f"XB-{n}" in read_model.buildings_where(conn, f"XP-{n}"):
                break
        assert time.monotonic() < deadline, "the allocation never reached office space's read models"
        time.sleep(0.2)
    departure = {"reason": "retired", "departed_on": "2026-03-02"}
    path = f"/api/v1/agencies/{agency_a}/staff/XP-{n}/departure"
    status, answer, _ = world.platform.request("POST", path, departure, operator_a)
    assert status == 200, answer  # it used to be refused 403: the building is district B's
    assert answer["rooms_still_held"] == [f"XR-{n}"]
    events = store.stream_envelopes("Building", f"XB-{n}")
    assert events[-1].event_type == "RoomHeldByDepartedStaff"  # the finding, in district B's building
    assert events[-1].payload["room_id"] == f"XR-{n}"
