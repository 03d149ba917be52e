"""A service's own view of the agency master data, fed by the office-space topic on real Tansu."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from services.common.base.db import create_db_engine, migrate
from services.common.read.agencies import KnownAgencies, UnknownAgency, known_agency
from services.common.read.broker import ensure_topics, make_producer
from services.common.read.projector import Projector
from services.common.runtime.relay import OutboxRelay
from services.common.write.store import EventStore
from services.office_space.domain.agencies import Agency
from tests.support import meta, new_agency


def test_a_service_learns_agencies_from_events_and_refuses_unknown_ones(tmp_path: Path, fresh_tansu: str) -> None:
    office = EventStore.open(f"sqlite:///{tmp_path / 'office_space.db'}", "office_space")
    ensure_topics(fresh_tansu, ["office_space.events"], 3)
    relay = OutboxRelay(office, make_producer(fresh_tansu), "office_space.events")
    engine = create_db_engine(f"sqlite:///{tmp_path / 'vehicles.db'}")
    migrate(engine, "projector", "known_agencies")
    views = Projector("vehicles-views", engine, [KnownAgencies()], fresh_tansu, "vehicles")

    with pytest.raises(UnknownAgency) as refused:
        known_agency(engine, "A1", field="agency_id", wait=0.2)
    assert refused.value.fields == {"agency_id": ["unknown agency"]}

    def register_later() -> None:
        time.sleep(0.3)
        office.save(new_agency("A1", district="320404", headcount=7), meta())
        relay.publish_once()
        views.catch_up()

    writer = threading.Thread(target=register_later)
    writer.start()
    agency = known_agency(engine, "A1", wait=10)  # waits for an agency registered moments ago
    writer.join()
    assert (agency.district, agency.authorised_headcount) == ("320404", 7)


def test_a_headcount_change_reaches_the_services_view(tmp_path: Path, fresh_tansu: str) -> None:
    office = EventStore.open(f"sqlite:///{tmp_path / 'office_space.db'}", "office_space")
    ensure_topics(fresh_tansu, ["office_space.events"], 3)
    relay = OutboxRelay(office, make_producer(fresh_tansu), "office_space.events")
    engine = create_db_engine(f"sqlite:///{tmp_path / 'energy.db'}")
    migrate(engine, "projector", "known_agencies")
    views = Projector("energy-views", engine, [KnownAgencies()], fresh_tansu, "energy")
    office.save(new_agency("A1", headcount=7), meta())
    agency = office.load(Agency, "A1")
    agency.change_headcount(12, "增编")
    office.save(agency, meta())
    relay.publish_once()
    views.catch_up()
    assert known_agency(engine, "A1", wait=0).authorised_headcount == 12
