"""The dead-letter tool against a Tansu of the test's own: list with reasons, replay after a fix, once."""

from __future__ import annotations

import io
import json
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from services.common.base.db import create_db_engine, migrate
from services.common.base.personal import REDACTED_TEXT
from services.common.base.settings import load_settings
from services.common.kernel.events import Envelope
from services.common.read.broker import ensure_topics, envelope_message, make_producer
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


names_table = sa.Table(
    "dlq_test_names",
    sa.MetaData(),
    sa.Column("person_id", sa.String(40), primary_key=True),
    sa.Column("name", sa.String(2000)),
)


class FlakyNames(Projection):
    """Keeps each posted person's name as the event has it; broken until ``fixed``."""

    topics = (TOPIC,)
    tables = (names_table,)
    fixed = False

    def on_StaffPosted(self, conn: sa.Connection, env: Envelope) -> None:
        if not self.fixed:
            raise RuntimeError(f"cannot project {env.payload['person_id']}")
        conn.execute(names_table.insert(), {"person_id": env.payload["person_id"], "name": env.payload["name"]})


def test_a_dead_letter_withholds_a_clear_name_and_its_replay_publishes_the_original(
    tmp_path: Path, fresh_tansu: str
) -> None:
    """A ``StaffPosted`` stored before sealing (its name in clear, as a deployment older than sealing has them on
    its topic) fails a projection: the dead-letter topic keeps the event with the name withheld, in its value and
    in its reason, and says so (``dlq_redacted``); after the fix the replay reads the original at ``dlq_source``,
    so the projection gets the event as it was, not the withheld text."""
    name = "欧阳死信测试"
    ensure_topics(fresh_tansu, [TOPIC, DLQ], 3)
    engine = create_db_engine(f"sqlite:///{tmp_path / 'views.db'}")
    migrate(engine, "projector")
    names_table.create(engine)
    projection = FlakyNames()
    projector = Projector("names", engine, [projection], fresh_tansu, "test")
    payload = {"agency_id": "A-1", "person_id": "P-0001", "name": name, "rank": "section_principal"}
    env = Envelope(
        event_id=str(uuid.uuid4()),
        event_type="StaffPosted",
        schema_version=1,
        stream_type="Agency",
        stream_id="A-1",
        stream_version=2,
        occurred_at="2024-05-01T00:00:00+00:00",
        recorded_at="2024-05-01T00:00:00+00:00",
        district="320402",
        agency_id="A-1",
        actor="test",
        correlation_id=str(uuid.uuid4()),
        causation_id=None,
        payload=payload | {"posted_on": "2024-05-01"},
        domain="office_space",
    )
    key, value, headers = envelope_message(env)
    make_producer(fresh_tansu).send(TOPIC, key=key, value=value, headers=headers).get(timeout=10)
    projector.catch_up()

    (letter,) = read_topic(fresh_tansu, DLQ)
    raw = letter.value + b"".join(v for _, v in letter.headers)
    assert name.encode() not in raw  # neither the value nor the reason (which names the person id only)
    assert dict(letter.headers)["dlq_redacted"] == b"name"
    assert dict(letter.headers)["dlq_reason"] == b"projection_failed"
    assert json.loads(letter.value)["payload"]["name"] == REDACTED_TEXT
    (listed,) = dlq.read_dead_letters(fresh_tansu, DLQ)
    assert listed.redacted == ("name",) and listed.source.startswith(f"{TOPIC}:")

    projection.fixed = True
    (sent,) = dlq.replay(fresh_tansu, DLQ)
    assert sent.value == value and sent.redacted == ()  # the original, read at dlq_source
    projector.catch_up()
    with engine.connect() as conn:
        assert conn.execute(sa.select(names_table)).all() == [("P-0001", name)]
    engine.dispose()
