"""Loading office space: agencies (city ones through the API, the districts' own through their topics),
buildings, rooms, staff posted and offices allocated."""

from __future__ import annotations

import functools
import itertools
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from infra.local.demo.base import Base
from infra.local.demo.city import Agency
from infra.local.demo.client import Phase
from services.common.kernel.districts import CITY_CODE


def _agency_body(a: Agency) -> dict[str, Any]:
    return {
        "agency_id": a.agency_id,
        "name": a.name,
        "district": a.district,
        "kind": a.kind,
        "admin_level": a.level,
        "authorised_headcount": a.headcount,
    }


class OfficeSpaceLoader(Base):
    """The office-space phases of ``Loader``."""

    def load_agencies(self) -> None:
        """City agencies through the API, the districts' own through their inbound topics; then wait until the
        data center's directory has them all."""
        city = [a for a in self.agencies if a.district == CITY_CODE or a.keeper]
        county = [a for a in self.agencies if a not in city]
        phase = Phase("agencies", len(self.agencies))

        def register(a: Agency) -> None:
            self.api.post("office_space.register_agency", "/agencies", _agency_body(a), a.agency_id)

        with ThreadPoolExecutor(self.o.workers) as pool:
            list(pool.map(register, city))
        if county:
            topics = self.topic()
            for a in county:
                topics.send(
                    a.district,
                    "office_space.register_agency",
                    f"demo-agency-{a.agency_id}",
                    _agency_body(a),
                    a.agency_id,
                )
            topics.flush()
        expected: dict[str, set[str]] = {}
        for a in self.agencies:
            expected.setdefault(a.district, set()).add(a.agency_id)
        seen: set[str] = set()
        deadline = time.monotonic() + self.o.timeout
        while time.monotonic() < deadline:
            for district, ids in expected.items():
                if ids <= seen:
                    continue
                for offset in itertools.count(0, 500):
                    page = self.api.get("/agencies", district=district, limit=500, offset=offset) or {}
                    items = page.get("items", [])
                    seen |= {row.get("agency_id") for row in items} & ids
                    if len(items) < 500:
                        break
            phase.advance(len(seen) - phase.progress.done)
            if all(ids <= seen for ids in expected.values()):
                break
            time.sleep(1.0)
        else:
            self.warnings.append(f"only {len(seen)} of {len(self.agencies)} agencies reached the directory in time")
        self.counts["agencies"] = len(self.agencies)
        self.phases.append(phase.finish())

    def load_office_space(self) -> None:
        """Per agency: buildings, rooms, staff posted, offices allocated (a few above the standard with the city
        administration's exception), a few retirements whose rooms were not handed back."""
        total = sum(
            len(a.buildings)
            + sum(len(b.rooms) for b in a.buildings)
            + 2 * len(a.staff)
            + sum(bool(p.departed_on) for p in a.staff)
            for a in self.agencies
        )
        self.run("office space", total, [functools.partial(self._office_space, a) for a in self.agencies])
        self.counts["buildings"] = sum(len(a.buildings) for a in self.agencies)
        self.counts["rooms"] = sum(len(b.rooms) for a in self.agencies for b in a.buildings)
        self.counts["staff"] = sum(len(a.staff) for a in self.agencies)

    def _office_space(self, a: Agency) -> None:
        api = self.api
        for b in a.buildings:
            api.post(
                "office_space.register_building",
                "/buildings",
                {
                    "building_id": b.building_id,
                    "agency_id": a.agency_id,
                    "name": b.name,
                    "address": b.address,
                    "gross_floor_area_m2": b.gross_area,
                },
                b.building_id,
            )
            for r in b.rooms:
                api.post(
                    "office_space.add_room",
                    f"/buildings/{b.building_id}/rooms",
                    {"room_id": r.room_id, "number": r.number, "usable_area_m2": r.area, "use": r.use},
                    f"{b.building_id}.{r.room_id}",
                )
        for p in a.staff:
            api.post(
                "office_space.post_staff",
                f"/agencies/{a.agency_id}/staff",
                {"person_id": p.person_id, "name": p.name, "rank": p.rank, "posted_on": p.posted_on.isoformat()},
                p.person_id,
            )
        for p in a.staff:
            if p.room is None:
                continue
            building = next(b for b in a.buildings if p.room in b.rooms)
            body: dict[str, Any] = {"person_id": p.person_id, "agency_id": a.agency_id}
            if p.room.over_standard:
                body["exception_reason"] = "历史遗留，位于老办公楼内无法分隔，已列入调整计划"
            api.post(
                "office_space.allocate_room",
                f"/buildings/{building.building_id}/rooms/{p.room.room_id}/allocations",
                body,
                f"{building.building_id}.{p.room.room_id}.{p.person_id}",
            )
        for p in a.staff:
            if p.departed_on:
                api.post(
                    "office_space.record_departure",
                    f"/agencies/{a.agency_id}/staff/{p.person_id}/departure",
                    {"reason": "retired", "departed_on": p.departed_on.isoformat()},
                    p.person_id,
                )
