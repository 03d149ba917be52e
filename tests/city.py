"""A city's data-center projection generated straight into a gateway database, for the read-side bench and the
read-side tests: no services, no broker. ``Town`` is such a database with its projector and the data center's
routes called in process, for tests that apply batches and read the answers.

Every event type some data-center projection handles is applied per agency from its contract's own examples
(the payloads the stores accept), with the example's agency made the generated one, its district the agency's
and every other id made the agency's own; the projections' own handlers write the rows, and the projector's
offsets are written as a projector would (one row per topic). A year and a half of daily energy use per agency
and kind is then added in bulk (``dc_energy_daily`` and ``dc_energy_yearly``), the volume the meters' readings
leave there at city scale.
"""

from __future__ import annotations

import functools
import json
import random
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from werkzeug.test import EnvironBuilder

from services.common.base import contracts
from services.common.base.db import create_db_engine
from services.common.kernel.clock import iso, utc_now
from services.common.kernel.districts import DEFAULT_DISTRICTS
from services.common.kernel.events import Envelope, registered_event_types
from services.common.read.prefetch import Record
from services.common.read.projector import Projection, Projector, offsets_table
from services.gateway import auth, views
from services.gateway.api.datacenter import DataCenterApi
from services.gateway.views import energy as energy_view

ENERGY_KINDS = ("electricity", "water", "natural_gas")

FIRST_EVENT_TYPES = ("AgencyRegistered", "BuildingRegistered", "RoomAdded", "StaffPosted")
"""Applied first for each agency (what the other events refer to); the rest follow in name order."""


@functools.cache
def _examples() -> tuple[tuple[str, str, int, dict[str, Any]], ...]:
    """Every (domain, event type, version, example payload) a data-center projection handles."""
    contracts.load_domains()
    handled = {(t, d) for p in views.data_center_projections() for d in _domains(p) for t in p.handles()}
    found = []
    for domain, event_type, version in registered_event_types():
        if (event_type, domain) not in handled:
            continue
        schema = json.loads(contracts.schema_path(domain, event_type, version).read_text(encoding="utf-8"))
        found += [(domain, event_type, version, dict(example)) for example in schema.get("examples", [])]
    found.sort(key=lambda e: (FIRST_EVENT_TYPES.index(e[1]) if e[1] in FIRST_EVENT_TYPES else 99, e[1]))
    return tuple(found)


def _domains(projection: Projection) -> set[str]:
    return {topic.split(".")[0] for topic in projection.topics}


@functools.cache
def _example_agencies() -> frozenset[str]:
    found: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                if key.endswith("agency_id") and isinstance(inner, str):
                    found.add(inner)
                walk(inner)
        elif isinstance(value, list):
            for inner in value:
                walk(inner)

    for *_, payload in _examples():
        walk(payload)
    return frozenset(found)


def _made_own(value: Any, key: str, agency: str, owner: str, district: str, agencies: frozenset[str]) -> Any:
    """The example's value made the generated agency's own (other ids made ``owner``'s)."""
    if isinstance(value, dict):
        return {k: _made_own(v, k, agency, owner, district, agencies) for k, v in value.items()}
    if isinstance(value, list):
        return [_made_own(v, key, agency, owner, district, agencies) for v in value]
    if not isinstance(value, str):
        return value
    if value in agencies:
        return agency
    if key == "district":
        return district
    if key.endswith("_id") or key in ("id", "plate", "asset_code"):
        return f"{value}-{owner}"
    return value


def agency_envelopes(seq: int, district: str, copy: int = 0) -> Iterator[Envelope]:
    """Every handled event type's examples, made agency number ``seq`` of ``district``'s own; ``copy`` > 0 makes
    another set of its things (vehicles, assets, rooms, findings...) with ids of their own, under the same agency."""
    examples = _examples()
    agencies = _example_agencies()
    agency = f"BENCH{seq:05d}"
    owner = agency if copy == 0 else f"{agency}.{copy}"
    now = iso(utc_now())
    registered = False
    for domain, event_type, version, example in examples:
        payload = _made_own(example, "", agency, owner, district, agencies)
        if event_type == "AgencyRegistered":
            if registered or copy:  # the examples' second agency would be this one again
                continue
            registered = True
            payload |= (
                {"name": f"机关{seq:05d}", "parent_agency_id": None} if version > 1 else {"name": f"机关{seq:05d}"}
            )
        yield Envelope(
            event_id=str(uuid.uuid4()),
            event_type=event_type,
            schema_version=version,
            stream_type=event_type,
            stream_id=str(uuid.uuid4()),
            stream_version=1,
            occurred_at=now,
            recorded_at=now,
            district=district,
            agency_id=agency,
            actor="city_admin:bench",
            correlation_id=str(uuid.uuid4()),
            causation_id=None,
            payload=payload,
            domain=domain,
        )


def generate(engine: Engine, agencies: int, today: date, copies: int = 1, seed: int = 7) -> dict[str, int]:
    """Fill the gateway database ``engine`` with ``agencies`` agencies' projection rows, ``copies`` sets of
    things each; what was applied."""
    views.prepare_database(engine)
    projections = views.data_center_projections()
    handlers = {(d, t): [p for p in projections if t in p.handles() and d in _domains(p)] for d, t, _ in _all_types()}
    districts = sorted(code for code in DEFAULT_DISTRICTS if code != "320400") or ["320402"]
    applied = refused = 0
    per_topic: dict[str, int] = {}
    for seq in range(agencies):
        with engine.begin() as conn:
            made = (agency_envelopes(seq, districts[seq % len(districts)], copy) for copy in range(copies))
            for env in (env for envelopes in made for env in envelopes):
                try:
                    with conn.begin_nested():
                        for projection in handlers.get((env.domain, env.event_type), []):
                            projection.apply(conn, env)
                    applied += 1
                    topic = f"{env.domain}.events"
                    per_topic[topic] = per_topic.get(topic, 0) + 1
                except Exception:  # an example whose precondition another example does not meet: left out
                    refused += 1
    days = _energy_days(engine, agencies, today, random.Random(seed))
    _offsets(engine, per_topic)
    return {"agencies": agencies, "events_applied": applied, "events_refused": refused, "energy_days": days}


def _all_types() -> list[tuple[str, str, int]]:
    contracts.load_domains()  # every domain's event types, not only those imported so far
    return registered_event_types()


def _energy_days(engine: Engine, agencies: int, today: date, rng: random.Random) -> int:
    """Daily use per agency and kind from 1 January of last year to ``today``, and each year's sum."""
    first = date(today.year - 1, 1, 1)
    days = [first + timedelta(days=n) for n in range((today - first).days + 1)]
    with engine.begin() as conn:
        agency_rows = conn.execute(sa.text("SELECT agency_id, district FROM dc_agencies")).all()
        count = 0
        for agency_id, district in agency_rows[:agencies]:
            rows, years = [], {}
            for kind in ENERGY_KINDS:
                base = rng.uniform(50, 2000)
                for day in days:
                    use = round(base * rng.uniform(0.7, 1.3), 3)
                    rows.append({"agency_id": agency_id, "kind": kind, "day": day.isoformat(), "district": district})
                    rows[-1]["consumption"] = use
                    years[(kind, day.year)] = years.get((kind, day.year), 0.0) + use
            conn.execute(sa.delete(energy_view.daily).where(energy_view.daily.c.agency_id == agency_id))
            conn.execute(sa.insert(energy_view.daily), rows)
            conn.execute(sa.delete(energy_view.yearly).where(energy_view.yearly.c.agency_id == agency_id))
            conn.execute(
                sa.insert(energy_view.yearly),
                [
                    {"agency_id": agency_id, "kind": k, "year": y, "district": district, "consumption": v}
                    for (k, y), v in years.items()
                ],
            )
            count += len(rows)
    return count


def _offsets(engine: Engine, per_topic: dict[str, int]) -> None:
    """The projector's offsets, as if each topic's events had been read from one partition."""
    now = iso(utc_now())
    with engine.begin() as conn:
        conn.execute(sa.delete(offsets_table).where(offsets_table.c.projector == "datacenter"))
        for topic, count in sorted(per_topic.items()):
            conn.execute(
                sa.insert(offsets_table),
                {
                    "projector": "datacenter",
                    "topic": topic,
                    "partition": 0,
                    "next_offset": count,
                    "last_event_at": now,
                    "updated_at": now,
                },
            )


def district_of(seq: int) -> str:
    """The district ``generate`` puts agency number ``seq`` in."""
    districts = sorted(code for code in DEFAULT_DISTRICTS if code != "320400") or ["320402"]
    return districts[seq % len(districts)]


def _envelope(
    domain: str, event_type: str, version: int, seq: int, stream_id: str, payload: dict[str, Any]
) -> Envelope:
    now = iso(utc_now())
    return Envelope(
        event_id=str(uuid.uuid4()),
        event_type=event_type,
        schema_version=version,
        stream_type=event_type,
        stream_id=stream_id,
        stream_version=1,
        occurred_at=now,
        recorded_at=now,
        district=district_of(seq),
        agency_id=f"BENCH{seq:05d}",
        actor="city_admin:bench",
        correlation_id=str(uuid.uuid4()),
        causation_id=None,
        payload=payload,
        domain=domain,
    )


def readings(seq: int, readings: list[list[Any]], district: str | None = None) -> Envelope:
    """A batch of ``readings`` (``[UTC time, register, use]``) of agency ``seq``'s main electricity meter (the
    one its examples install, ``m-320402-0001-<agency>``), in ``district`` (its generated one unless given)."""
    agency = f"BENCH{seq:05d}"
    meter = f"m-320402-0001-{agency}"
    payload = {
        "meter_id": meter,
        "kind": "electricity",
        "building_id": f"b-tianning-1-{agency}",
        "sub_item": "none",
        "readings": readings,
        "gaps": [],
        "rollovers": [],
    }
    made = _envelope("energy", "MeterReadingsRecorded", 1, seq, meter, payload)
    return made if district is None else Envelope(**{**made.to_dict(), "district": district, "domain": "energy"})


def headcount_changed(seq: int, headcount: int) -> Envelope:
    """Agency ``seq``'s authorised headcount changed (an office-space event)."""
    agency = f"BENCH{seq:05d}"
    return _envelope(
        "office_space",
        "AuthorisedHeadcountChanged",
        1,
        seq,
        agency,
        {"agency_id": agency, "authorised_headcount": headcount, "reason": "机构改革增编"},
    )


class Gateway(DataCenterApi):
    """The data center's routes over one database, without nameko."""

    def __init__(self, db: Engine, projector: Projector) -> None:
        self.db = db
        self.datacenter = projector
        self.request_context: dict[str, Any] = {}


class Town:
    """A gateway database in ``folder``, its data-center projector, and a token of ``role`` to read its routes."""

    def __init__(self, folder: Path, role: str) -> None:
        self.engine = create_db_engine(f"sqlite:///{folder / 'gateway.db'}")
        views.prepare_database(self.engine)
        self.projector = Projector("datacenter", self.engine, views.data_center_projections(), "unused:9092", "test")
        self.gateway = Gateway(self.engine, self.projector)
        self.token = auth.create_token(self.engine, "reader", role)
        self.offsets: dict[str, int] = {}
        """Each topic's next offset: the records made so far follow each other on partition 0."""

    def records(self, envelopes: list[Envelope]) -> list[Record]:
        """``envelopes`` as the records the projector reads, each at its topic's next offset."""
        made = []
        for env in envelopes:
            topic = f"{env.domain}.events"
            offset = self.offsets.get(topic, 0)
            self.offsets[topic] = offset + 1
            made.append(Record(topic, 0, offset, None, json.dumps(env.to_dict()).encode()))
        return made

    def answer(self, route: str, path: str, agency_id: str | None = None, **query: str) -> bytes:
        """What route ``route`` of ``DataCenterApi`` answers at ``path`` with ``query`` (asserted 200)."""
        request = EnvironBuilder(
            path=path, query_string=query, headers={"Authorization": f"Bearer {self.token}"}
        ).get_request()
        in_path = {"agency_id": agency_id} if agency_id else {}
        response = getattr(DataCenterApi, route)(self.gateway, request, **in_path)
        assert response.status_code == 200, response.get_data(as_text=True)
        return bytes(response.get_data())
