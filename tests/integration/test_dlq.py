"""The dead-letter tool against a Tansu of the test's own: list with reasons, replay after a fix, once."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from services.common.base.db import create_db_engine, migrate
from services.common.base.settings import load_settings
from services.common.kernel.events import Envelope
from services.common.read.broker import ensure_topics, make_producer
from services.common.read.projector import Projection, Projector
from services.common.runtime import dlq
from services.common.runtime.relay import OutboxRelay
from services.common.write.store import EventStore
from tests.support import meta, new_agency, read_topic

TOPIC = "office_space.events"
DLQ = "office_space.events.dlq"


directory_table = sa.Table("dlq_test_directory", sa.MetaData(), sa.Column("agency_id", sa.String(40), primary_key=True))


class FlakyDirectory(Projection):
    """Lists registered agencies; broken (raises) until ``fixed`` — a projection bug and its fix."""

    topics = (TOPIC,)
    tables = (directory_table,)
    fixed = False

    def on_AgencyRegistered(self, conn: sa.Connection, env: Envelope) -> None:
        if not self.fixed and env.stream_id.startswith("BAD"):
            raise RuntimeError(f"cannot project {env.stream_id}")
        conn.execute(directory_table.insert(), {"agency_id": env.stream_id})


def _applied(projector: Projector) -> list[str]:
    with projector.engine.connect() as conn:
        return sorted(conn.execute(sa.select(directory_table.c.agency_id)).scalars())


@pytest.fixture
def world(tmp_path: Path, fresh_tansu: str) -> tuple[EventStore, Projector, FlakyDirectory]:
    store = EventStore.open(f"sqlite:///{tmp_path / 'office_space.db'}", "office_space")
    ensure_topics(fresh_tansu, [TOPIC, DLQ], 3)
    engine = create_db_engine(f"sqlite:///{tmp_path / 'views.db'}")
    migrate(engine, "projector")
    directory_table.create(engine)
    directory = FlakyDirectory()
    return store, Projector("directory", engine, [directory], fresh_tansu, "test"), directory


def _publish(store: EventStore, bootstrap: str) -> None:
    relay = OutboxRelay(store, make_producer(bootstrap), TOPIC)
    while relay.publish_once():
        pass


def _run(monkeypatch: pytest.MonkeyPatch, bootstrap: str, *argv: str) -> tuple[int, str]:
    monkeypatch.setattr(dlq, "settings", lambda: load_settings({"KAFKA_BOOTSTRAP": bootstrap}))
    out = io.StringIO()
    count = dlq.main(list(argv), out=out)
    return count, out.getvalue()


def test_dead_letters_are_listed_with_their_reasons(
    world: tuple[EventStore, Projector, FlakyDirectory], fresh_tansu: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, projector, _ = world
    store.save(new_agency("GOOD1"), meta())
    store.save(new_agency("BAD1"), meta())
    _publish(store, fresh_tansu)
    make_producer(fresh_tansu).send(TOPIC, key=b"junk", value=b"{not json").get(timeout=10)
    projector.catch_up()

    count, listing = _run(monkeypatch, fresh_tansu, TOPIC, "--list")

    assert count == 2
    assert "projection_failed" in listing and "RuntimeError: cannot project BAD1" in listing
    assert "AgencyRegistered" in listing and "malformed_json" in listing
    assert listing.count("pending ") == 2 and "2 dead letters in office_space.events.dlq" in listing


def test_replay_after_a_fix_projects_the_dead_letter_once(
    world: tuple[EventStore, Projector, FlakyDirectory], fresh_tansu: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, projector, directory = world
    store.save(new_agency("GOOD1"), meta())
    store.save(new_agency("BAD1"), meta())
    _publish(store, fresh_tansu)
    projector.catch_up()
    assert _applied(projector) == ["GOOD1"]

    directory.fixed = True  # the fix is deployed
    count, output = _run(monkeypatch, fresh_tansu, DLQ, "--replay")
    projector.catch_up()

    assert count == 1 and "BAD1" in output
    assert _applied(projector) == ["BAD1", "GOOD1"]
    replayed = [r for r in read_topic(fresh_tansu, TOPIC) if dict(r.headers).get("dlq_replayed_from")]
    assert len(replayed) == 1 and json.loads(replayed[0].value)["stream_id"] == "BAD1"
    assert dict(replayed[0].headers)["event_type"] == b"AgencyRegistered"

    again, _ = _run(monkeypatch, fresh_tansu, DLQ, "--replay")  # nothing new: nothing sent twice
    _, listing = _run(monkeypatch, fresh_tansu, DLQ)
    assert again == 0 and listing.startswith("replayed ")


def test_replay_from_the_beginning_and_by_reason(
    world: tuple[EventStore, Projector, FlakyDirectory], fresh_tansu: str
) -> None:
    store, projector, _ = world
    store.save(new_agency("BAD1"), meta())
    _publish(store, fresh_tansu)
    make_producer(fresh_tansu).send(TOPIC, key=b"junk", value=b"[]").get(timeout=10)
    projector.catch_up()

    sent = dlq.replay(fresh_tansu, DLQ, reason="projection_failed")
    assert [letter.reason for letter in sent] == ["projection_failed"]
    assert dlq.replay(fresh_tansu, DLQ) == []
    assert len(dlq.replay(fresh_tansu, DLQ, from_beginning=True)) == 2
