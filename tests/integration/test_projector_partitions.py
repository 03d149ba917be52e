"""Projectors sharing one projection by partition ranges, against real Tansu."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from services.common.base.db import create_db_engine
from services.common.read.broker import ensure_topics, make_producer
from services.common.read.projector import Projector
from services.common.runtime.relay import OutboxRelay
from services.common.write.store import EventStore
from services.gateway import views
from services.gateway.views.agencies import agencies_table
from tests.support import meta, new_agency, read_topic

TOPIC = "office_space.events"


def _agencies(engine: sa.Engine) -> set[str]:
    with engine.connect() as conn:
        return set(conn.execute(sa.select(agencies_table.c.agency_id)).scalars())


def test_two_partition_ranges_together_project_everything_once(tmp_path: Path, fresh_tansu: str) -> None:
    store = EventStore.open(f"sqlite:///{tmp_path / 'office_space.db'}", "office_space")
    ensure_topics(fresh_tansu, [TOPIC], 3)
    for i in range(30):
        store.save(new_agency(f"A{i:02d}"), meta())
    relay = OutboxRelay(store, make_producer(fresh_tansu), TOPIC)
    while relay.publish_once():
        pass
    on_partition_0 = {r.key.decode() for r in read_topic(fresh_tansu, TOPIC) if r.partition == 0}
    assert 0 < len(on_partition_0) < 30

    engine = create_db_engine(f"sqlite:///{tmp_path / 'gateway.db'}")
    views.prepare_database(engine)
    first = views.data_center_projector(engine, bootstrap=fresh_tansu)
    second = Projector(
        "datacenter", engine, views.data_center_projections(), fresh_tansu, "test", partition_filter=[1, 2]
    )
    first.assign(partitions=[0])

    assert first.catch_up() == len(on_partition_0)
    assert _agencies(engine) == on_partition_0
    assert second.catch_up() == 30 - len(on_partition_0)
    assert _agencies(engine) == {f"A{i:02d}" for i in range(30)}
    assert {tp.partition for tp in first.stored_offsets()} == {0, 1, 2}  # one offsets row per partition


def test_a_range_matching_no_partition_is_refused(tmp_path: Path, fresh_tansu: str) -> None:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'gateway.db'}")
    views.prepare_database(engine)
    projector = views.data_center_projector(engine, bootstrap=fresh_tansu)
    with pytest.raises(ValueError, match="match no partition"):
        projector.assign(partitions=[99])
