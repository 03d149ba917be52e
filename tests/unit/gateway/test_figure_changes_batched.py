"""The change stamps' batch form: a run of office-space events (registrations, a building's rooms) is stamped
once per agency concerned, with the last event's id, as stamping them one at a time leaves the table; the
data center's other batch forms keep working beside it. Meter readings, whose stamps read the meters the
energy projection keeps, have no batch form."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa

from services.common.base.db import create_db_engine
from services.common.read.broker import envelope_message
from services.common.read.projector import decode
from services.common.write.store import EventStore
from services.gateway import views
from services.gateway.views import changes
from services.office_space.domain.agencies import Agency
from tests.support import meta, new_agency

TOPIC = "office_space.events"


class Record:
    """The parts of a Kafka record the projector reads."""

    def __init__(self, offset: int, value: bytes) -> None:
        self.topic, self.partition, self.offset, self.key, self.value = TOPIC, 0, offset, b"k", value


class NoLagConsumer:
    def end_offsets(self, partitions: Any) -> dict[Any, int]:
        return {}


def history(tmp_path: Path) -> list[bytes]:
    """Two registrations, a new headcount of the second, a third registration (the relay's messages)."""
    store = EventStore.open(f"sqlite:///{tmp_path / 'office_space.db'}", "office_space")
    store.save_all([new_agency("A1"), new_agency("A2")], meta())
    grown = store.load(Agency, "A2")
    grown.change_headcount(12, "reorganised")
    store.save(grown, meta())
    store.save(new_agency("A3"), meta())
    return [envelope_message(env)[1] for env in store.read_all()]


def state(engine: sa.Engine) -> tuple[dict[str, dict[str, str]], list[tuple[Any, ...]]]:
    agencies = views.agencies.agencies_table
    with engine.connect() as conn:
        directory = [tuple(r) for r in conn.execute(sa.select(agencies).order_by(agencies.c.agency_id))]
        return changes.stamps(conn), directory


def test_a_batched_run_is_stamped_as_one_event_at_a_time(tmp_path: Path) -> None:
    values = history(tmp_path)
    one_by_one = create_db_engine(f"sqlite:///{tmp_path / 'one.db'}")
    views.prepare_database(one_by_one)
    with one_by_one.begin() as conn:
        for value in values:
            env = decode(Record(0, value))
            for projection in views.data_center_projections():
                if TOPIC in projection.topics:
                    projection.apply(conn, env)
    batched = create_db_engine(f"sqlite:///{tmp_path / 'batched.db'}")
    views.prepare_database(batched)
    projector = views.data_center_projector(batched, "unused:9092", "test")
    projector._consumer = NoLagConsumer()  # type: ignore[assignment]

    projector._apply_batch([Record(offset, value) for offset, value in enumerate(values)])  # type: ignore[arg-type]

    stamps, directory = state(batched)
    assert (stamps, directory) == state(one_by_one)
    last_id = decode(Record(3, values[3])).event_id
    headcount_id = decode(Record(2, values[2])).event_id
    assert stamps[TOPIC] == {changes.EVERY_AGENCY: last_id, "A2": headcount_id}
    assert [row[0] for row in directory] == ["A1", "A2", "A3"]
    # registrations go through the directory's batch form and the stamps' together; readings are stamped alone
    assert projector._batchers["office_space", "AgencyRegistered"] == (
        views.agencies.PROJECTIONS[0].many_AgencyRegistered,
        changes.PROJECTIONS[0].many_AgencyRegistered,
    )
    assert ("energy", "MeterReadingsRecorded") not in projector._batchers
