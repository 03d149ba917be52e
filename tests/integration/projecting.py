"""Office space's store and topic on a Tansu of the test's own, and the data center's projector reading it: what
the projector's integration tests share."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from services.common.base.db import create_db_engine
from services.common.read.broker import ensure_topics, make_producer
from services.common.read.projector import Projector
from services.common.runtime.relay import OutboxRelay
from services.common.write.store import EventStore
from services.gateway import views

TOPIC = "office_space.events"


def office_space_store(folder: Path, bootstrap: str) -> EventStore:
    """A SQLite office_space store in ``folder``, its topic made (3 partitions) on ``bootstrap``."""
    store = EventStore.open(f"sqlite:///{folder / 'office_space.db'}", "office_space")
    ensure_topics(bootstrap, [TOPIC], 3)
    return store


def publish(store: EventStore, bootstrap: str) -> OutboxRelay:
    """Publish everything stored not yet published; the relay that did it."""
    relay = OutboxRelay(store, make_producer(bootstrap), TOPIC)
    while relay.publish_once():
        pass
    return relay


def data_center_projector(db_url: str, bootstrap: str, **options: Any) -> Projector:
    """The data center's projections in a fresh database at ``db_url``, reading ``bootstrap``."""
    engine = create_db_engine(db_url)
    views.prepare_database(engine)
    return Projector("datacenter", engine, views.data_center_projections(), bootstrap, "test", **options)
