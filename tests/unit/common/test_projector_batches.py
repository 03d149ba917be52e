"""A projection's batch form (``many_<EventType>``) gets each run of consecutive events of its type in a batch,
in order; a batch that fails is applied again one event at a time, and only the event that fails is refused."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from services.common.base.db import create_db_engine, migrate
from services.common.kernel.events import Envelope
from services.common.read import sql
from services.common.read.broker import envelope_message
from services.common.read.projector import Projection, Projector, offsets_table
from services.common.read.seen import seen_table
from services.common.write.store import EventStore
from services.office_space.domain.agencies import Agency
from tests.support import meta, new_agency

TOPIC = "office_space.events"
ledger = sa.Table(
    "batch_test_ledger",
    sa.MetaData(),
    sa.Column("agency_id", sa.String(40), primary_key=True),
    sa.Column("headcount", sa.Integer(), nullable=False),
)
tally = sa.Table("batch_test_tally", sa.MetaData(), sa.Column("agency_id", sa.String(40), primary_key=True))


class Ledger(Projection):
    """Agencies and their headcounts; registrations have a batch form, headcount changes do not. An agency whose
    id starts with BAD cannot be projected."""

    topics = (TOPIC,)
    tables = (ledger,)

    def __init__(self) -> None:
        self.calls: list[tuple[str, ...]] = []

    def on_AgencyRegistered(self, conn: sa.Connection, env: Envelope) -> None:
        self.calls.append(("on", env.stream_id))
        if env.stream_id.startswith("BAD"):
            raise RuntimeError("cannot project it")
        sql.insert(conn, ledger, {"agency_id": env.stream_id, "headcount": env.payload["authorised_headcount"]})

    def many_AgencyRegistered(self, conn: sa.Connection, envs: list[Envelope]) -> None:
        self.calls.append(("many", *(env.stream_id for env in envs)))
        if any(env.stream_id.startswith("BAD") for env in envs):
            raise RuntimeError("cannot project one of them")
        rows = [{"agency_id": env.stream_id, "headcount": env.payload["authorised_headcount"]} for env in envs]
        sql.insert(conn, ledger, rows)

    def on_AuthorisedHeadcountChanged(self, conn: sa.Connection, env: Envelope) -> None:
        self.calls.append(("on", env.stream_id))
        sql.update(conn, ledger, {"agency_id": env.stream_id}, {"headcount": env.payload["authorised_headcount"]})


@dataclass
class Record:
    """The parts of a Kafka record the projector reads."""

    offset: int
    value: bytes | None
    topic: str = TOPIC
    partition: int = 0
    key: bytes | None = b"k"
    headers: list[tuple[str, bytes]] = field(default_factory=list)


@dataclass
class Sent:
    def get(self, timeout: float | None = None) -> None:
        return None


@dataclass
class DeadLetters:
    """Keeps the dead letters' reasons (the dead-letter path itself is tested with a broker elsewhere)."""

    reasons: list[tuple[int, str]] = field(default_factory=list)

    def send(self, topic: str, key: Any = None, value: Any = None, headers: Any = None) -> Sent:
        found = dict(headers)
        self.reasons.append((int(found["dlq_source"].decode().rsplit(":", 1)[1]), found["dlq_reason"].decode()))
        return Sent()

    def flush(self) -> None:
        return None


class NoLagConsumer:
    def end_offsets(self, partitions: Any) -> dict[Any, int]:
        return {}


def projector_of(tmp_path: Path, projection: Ledger, dead: DeadLetters) -> tuple[Projector, sa.Engine]:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'views.db'}")
    migrate(engine, "projector")
    ledger.create(engine)
    projector = Projector(
        "ledger", engine, [projection], "unused:9092", "test", consumer=NoLagConsumer(), dlq_producer=dead
    )  # type: ignore[arg-type]
    return projector, engine


def rows(engine: sa.Engine) -> list[tuple[str, int]]:
    with engine.connect() as conn:
        return [(r.agency_id, r.headcount) for r in conn.execute(sa.select(ledger).order_by(ledger.c.agency_id))]


def test_consecutive_events_of_a_type_go_to_its_batch_form_in_order(tmp_path: Path) -> None:
    store = EventStore.open(f"sqlite:///{tmp_path / 'office_space.db'}", "office_space")
    store.save_all([new_agency("A1"), new_agency("A2")], meta())
    grown = store.load(Agency, "A2")
    grown.change_headcount(12, "reorganised")
    store.save(grown, meta())
    store.save_all([new_agency("A3"), new_agency("A4")], meta())
    values = [envelope_message(env)[1] for env in store.read_all()]
    registered, changed = "AgencyRegistered", "AuthorisedHeadcountChanged"
    assert [json.loads(v)["event_type"] for v in values] == [registered, registered, changed, registered, registered]
    projection, dead = Ledger(), DeadLetters()
    projector, engine = projector_of(tmp_path, projection, dead)
    # A3's registration delivered twice (a re-published duplicate) is ignored and does not end the run
    records = [Record(0, values[0]), Record(1, values[1]), Record(2, values[2]), Record(3, values[3])]
    records += [Record(4, values[3]), Record(5, values[4])]

    projector._apply_batch(records)  # type: ignore[arg-type]

    assert projection.calls == [("many", "A1", "A2"), ("on", "A2"), ("many", "A3", "A4")]
    assert rows(engine) == [("A1", 10), ("A2", 12), ("A3", 10), ("A4", 10)]
    assert sum(projector.stored_offsets().values()) == 6  # offsets 0..5 applied: next offset 6
    assert dead.reasons == []


def test_a_failed_batch_is_applied_again_event_by_event_and_only_the_failing_event_refused(tmp_path: Path) -> None:
    store = EventStore.open(f"sqlite:///{tmp_path / 'office_space.db'}", "office_space")
    store.save_all([new_agency("G1"), new_agency("BAD1"), new_agency("G2")], meta())
    values = [envelope_message(env)[1] for env in store.read_all()]
    projection, dead = Ledger(), DeadLetters()
    projector, engine = projector_of(tmp_path, projection, dead)

    projector._apply_batch([Record(i, value) for i, value in enumerate(values)])  # type: ignore[arg-type]

    assert projection.calls == [
        ("many", "G1", "BAD1", "G2"),  # rolled back
        ("on", "G1"),  # a dry run, a savepoint per event, finds the one that fails
        ("on", "BAD1"),
        ("on", "G2"),
        ("on", "G1"),  # then the batch without it
        ("on", "G2"),
    ]
    assert rows(engine) == [("G1", 10), ("G2", 10)]
    assert dead.reasons == [(1, "projection_failed")]
    assert sum(projector.stored_offsets().values()) == 3


class Tally(Projection):
    """Counts registrations in a table of its own; a batch form for registrations only when ``batched``."""

    topics = (TOPIC,)
    tables = (tally,)

    def __init__(self, batched: bool) -> None:
        self.calls: list[tuple[str, ...]] = []
        if batched:
            self.many_AgencyRegistered = self._many

    def on_AgencyRegistered(self, conn: sa.Connection, env: Envelope) -> None:
        self.calls.append(("on", env.stream_id))
        sql.insert(conn, tally, {"agency_id": env.stream_id})

    def _many(self, conn: sa.Connection, envs: list[Envelope]) -> None:
        self.calls.append(("many", *(env.stream_id for env in envs)))
        sql.insert(conn, tally, [{"agency_id": env.stream_id} for env in envs])


def test_a_type_several_projections_apply_goes_to_each_ones_batch_form_when_each_has_one(tmp_path: Path) -> None:
    store = EventStore.open(f"sqlite:///{tmp_path / 'office_space.db'}", "office_space")
    store.save_all([new_agency("A1"), new_agency("A2"), new_agency("A3")], meta())
    records = [Record(i, envelope_message(env)[1]) for i, env in enumerate(store.read_all())]
    for batched, expected in [
        (True, [("many", "A1", "A2", "A3")]),
        (False, [("on", "A1"), ("on", "A2"), ("on", "A3")]),
    ]:
        ledger_projection, tally_projection = Ledger(), Tally(batched)
        engine = create_db_engine(f"sqlite:///{tmp_path / f'views-{batched}.db'}")
        migrate(engine, "projector")
        ledger.create(engine)
        tally.create(engine)
        projector = Projector(
            "both", engine, [ledger_projection, tally_projection], "unused:9092", "test", consumer=NoLagConsumer()
        )  # type: ignore[arg-type]

        projector._apply_batch(records)  # type: ignore[arg-type]

        # each projection's batch form applies the whole run, in the projections' order; else one event at a time
        assert ledger_projection.calls == ([("many", "A1", "A2", "A3")] if batched else expected)
        assert tally_projection.calls == expected
        assert [agency for agency, _ in rows(engine)] == ["A1", "A2", "A3"]
        with engine.connect() as conn:
            assert conn.execute(sa.select(sa.func.count()).select_from(tally)).scalar() == 3


def test_an_event_applied_in_an_earlier_batch_is_ignored_when_published_again(tmp_path: Path) -> None:
    store = EventStore.open(f"sqlite:///{tmp_path / 'office_space.db'}", "office_space")
    store.save_all([new_agency("A1"), new_agency("A2"), new_agency("A3")], meta())
    values = [envelope_message(env)[1] for env in store.read_all()]
    projection, dead = Ledger(), DeadLetters()
    projector, engine = projector_of(tmp_path, projection, dead)
    projector._apply_batch([Record(0, values[0]), Record(1, values[1])])  # type: ignore[arg-type]

    # A2 again (a relay that crashed before recording it sent it), then A3: A2's id is claimed anew, found
    # applied, and the batch applied again looking its ids up
    projector._apply_batch([Record(2, values[1]), Record(3, values[2])])  # type: ignore[arg-type]

    assert projection.calls == [("many", "A1", "A2"), ("many", "A3")]
    assert rows(engine) == [("A1", 10), ("A2", 10), ("A3", 10)]
    assert sum(projector.stored_offsets().values()) == 4
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(seen_table)).scalar() == 3


def test_events_published_again_on_a_new_log_move_the_time_the_projections_reflect(tmp_path: Path) -> None:
    """The broker restarted with an empty log: the positions were dropped (``consumer_starts``) and the relays
    published every event again. They are all duplicates, yet the projections reflect them: the time they
    reflect (what freshness compares with the store's newest event) is the newest of them, not nothing (the
    chaos campaign's seed 58 saw a data center with every event applied report a lag that only grew)."""
    store = EventStore.open(f"sqlite:///{tmp_path / 'office_space.db'}", "office_space")
    store.save_all([new_agency("A1"), new_agency("A2"), new_agency("A3")], meta())
    envelopes = list(store.read_all())
    values = [envelope_message(env)[1] for env in envelopes]
    projection, dead = Ledger(), DeadLetters()
    projector, engine = projector_of(tmp_path, projection, dead)
    projector._apply_batch([Record(n, value) for n, value in enumerate(values)])  # type: ignore[misc]
    newest = max(str(env.recorded_at) for env in envelopes)
    assert projector.status()["topics_last_event_at"] == {TOPIC: newest}

    with engine.begin() as conn:  # the log made anew: its positions dropped, as consumer_starts drops them
        conn.execute(offsets_table.delete())
    projector._apply_batch([Record(n, value) for n, value in enumerate(values)])  # type: ignore[misc]

    assert projection.calls == [("many", "A1", "A2", "A3")]  # nothing applied twice
    assert projector.status()["topics_last_event_at"] == {TOPIC: newest}
    assert sum(projector.stored_offsets().values()) == 3
