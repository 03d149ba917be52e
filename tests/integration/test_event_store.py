"""The event store on real SQLite and PostgreSQL: concurrency, snapshots, commit order, contracts."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa

from services.common.base.db import create_db_engine, migrate
from services.common.kernel.aggregate import Aggregate
from services.common.kernel.errors import (
    AlreadyExists,
    ContractViolation,
    DeadlineExceeded,
    DuplicateCommand,
    PlatformError,
    VersionConflict,
)
from services.common.kernel.events import Metadata
from services.common.write.deadlines import COMMIT_MARGIN_SECONDS
from services.common.write.store import EventStore, Idempotency, StreamAppend, snapshots_table
from services.office_space.domain.agencies import Agency, AgencyRegistered
from tests.support import Counter, CounterIncremented, meta, new_agency


@pytest.fixture
def store(db_url: str) -> EventStore:
    store = EventStore.open(db_url, "testing", snapshot_every=3)
    store.validate = False  # the testing domain has no contract files
    return store


@pytest.fixture
def agencies(db_url: str) -> EventStore:
    return EventStore.open(db_url, "office_space")


def test_a_saved_aggregate_loads_with_its_state_and_version(agencies: EventStore) -> None:
    envelopes = agencies.save(new_agency("A1", headcount=12), meta("alice"))
    loaded = agencies.load(Agency, "A1")
    assert (loaded.version, loaded.authorised_headcount, loaded.district) == (1, 12, "320402")
    assert envelopes[0].actor == "alice" and envelopes[0].stream_version == 1
    assert agencies.stream_envelopes("Agency", "A1")[0].event_id == envelopes[0].event_id


def test_an_append_whose_caller_stops_waiting_before_it_could_commit_stores_nothing(store: EventStore) -> None:
    # the store itself keeps the deadline, so every path to it does (a command's ``save``, an energy batch with
    # its own key, ...): half the commit margin left is too little, and neither the event nor the key is kept
    late = Metadata(actor="alice", deadline=time.time() + COMMIT_MARGIN_SECONDS / 2)
    with pytest.raises(DeadlineExceeded):
        store.save_all([Counter.open("c")], late, Idempotency("k-late", "open", {"id": "c"}))
    assert store.read_all() == []
    assert store.recorded_answer("k-late") is None
    store.save(Counter.open("c"), Metadata(actor="alice", deadline=time.time() + 10))
    assert len(store.read_all()) == 1


def test_creating_a_stream_that_exists_is_refused(agencies: EventStore) -> None:
    agencies.save(new_agency("A1"), meta())
    with pytest.raises(AlreadyExists):
        agencies.save(new_agency("A1"), meta())
    assert len(agencies.read_all()) == 1


def test_a_stale_expected_version_is_a_conflict(store: EventStore) -> None:
    store.save(Counter.open("c"), meta())
    first, second = store.load(Counter, "c"), store.load(Counter, "c")
    first.increment()
    second.increment(5)
    store.save(first, meta())
    with pytest.raises(VersionConflict) as refused:
        store.save(second, meta())
    assert refused.value.details == {"stream_id": "c", "expected_version": 1, "actual_version": 2}
    assert store.load(Counter, "c").total == 1


def test_an_expected_version_ahead_of_the_stream_is_a_conflict_and_leaves_no_gap(store: EventStore) -> None:
    # the version check is part of the insert: a row goes in only after the version before it, so a writer that
    # claims version 3 of a stream at version 1 stores nothing (version 4 would leave 2 and 3 missing)
    store.save(Counter.open("c"), meta())
    with pytest.raises(VersionConflict) as refused:
        store.append([StreamAppend("Counter", "c", expected_version=3, events=[CounterIncremented(1)])], meta())
    assert refused.value.details == {"stream_id": "c", "expected_version": 3, "actual_version": 1}
    assert [e.stream_version for e in store.stream_envelopes("Counter", "c")] == [1]


def test_an_append_on_a_connection_the_database_closed_is_stored_once(db_url: str) -> None:
    # appends on PostgreSQL take connections without the pool's ping (a round trip each): a connection the
    # server ended while it sat in the pool (a restart, a failover) fails before the commit is sent, and the
    # append runs again on another
    agencies = EventStore.open(db_url, "office_space")
    agencies.save(new_agency("A1"), meta())
    with agencies.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            ended = "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            mine = " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            assert conn.execute(sa.text(ended + mine)).all()  # the writer's idle connection among them
    agencies.save(new_agency("A2"), meta())
    assert [(e.stream_id, e.stream_version) for e in agencies.read_all()] == [("A1", 1), ("A2", 1)]


def test_a_commit_of_a_store_on_sqlite_is_on_disk_before_the_append_returns(tmp_path: Path) -> None:
    # PRAGMA synchronous answers 2 for FULL (the log synced at every commit) and 1 for NORMAL (at checkpoints):
    # the store's connections sync; a read model's engine on the same file keeps the cheaper NORMAL
    url = f"sqlite:///{tmp_path / 'store.db'}"
    store = EventStore.open(url, "office_space")
    store.save(new_agency("A1"), meta())

    def synchronous(engine: sa.Engine) -> int:
        with engine.connect() as conn:
            return int(conn.exec_driver_sql("PRAGMA synchronous").scalar_one())

    assert (synchronous(store.engine), synchronous(store.writer), synchronous(create_db_engine(url))) == (2, 2, 1)
    assert store.kept is not None
    appending = store.kept.take()  # the connection the append ran on, kept out of the pool for the next one
    assert appending.execute("PRAGMA synchronous").fetchone() == (2,)
    assert appending.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_what_a_store_makes_again_when_lost_alone_commits_without_waiting_for_the_disk(db_url: str) -> None:
    """Every commit of a store waits for the disk but the relay's record of its position and the actor index (made
    again when lost): those transactions run unsynced, and the connection they ran on syncs the next one again."""
    store = EventStore.open(db_url, "office_space")
    store.engine.pool.dispose()  # the pool's connections from now on: the migrations' are gone
    seen: list[str] = []

    def durability(conn: sa.Connection) -> None:
        if conn.dialect.name == "postgresql":
            seen.append(str(conn.exec_driver_sql("SHOW synchronous_commit").scalar_one()))
        else:
            seen.append({1: "NORMAL", 2: "FULL"}[int(conn.exec_driver_sql("PRAGMA synchronous").scalar_one())])

    sa.event.listen(store.engine, "commit", durability)
    store.set_relay_position("office_space.events", 7)
    store.record_refusal("k1", "f" * 64, {"error": "refused"})  # on the same pooled connection, after it
    store.set_relay_position("office_space.events", 9)
    assert store.events_by_actor("nobody") == []  # the actor index brought up to date first
    sa.event.remove(store.engine, "commit", durability)
    unsynced, synced = ("off", "on") if store.engine.dialect.name == "postgresql" else ("NORMAL", "FULL")
    assert seen == [unsynced, synced, unsynced, unsynced]
    assert store.relay_position("office_space.events") == 9
    if store.kept is not None:  # SQLite: the connection the relay's position left unsynced, kept for appends
        store.save(new_agency("A1"), meta())
        appending = store.kept.take()
        assert appending.execute("PRAGMA synchronous").fetchone() == (2,)


def test_a_sqlite_connection_that_cannot_be_synced_again_leaves_the_pool(tmp_path: Path) -> None:
    """A connection an unsynced write left in NORMAL is set back to its engine's FULL as it returns to the pool; one
    that refuses is invalidated (the pool opens another) rather than handed out again unsynced."""
    engine = create_db_engine(f"sqlite:///{tmp_path / 'store.db'}", sqlite_synchronous="FULL")

    class Refusing:
        def execute(self, _sql: str) -> None:
            raise sqlite3.OperationalError("disk I/O error")

    class Entry:
        def __init__(self) -> None:
            self.info = {"synchronous": "NORMAL"}
            self.invalidated: list[BaseException] = []

        def invalidate(self, error: BaseException) -> None:
            self.invalidated.append(error)

    entry = Entry()
    engine.pool.dispatch.checkin(Refusing(), entry)
    assert [str(e) for e in entry.invalidated] == ["disk I/O error"]
    assert entry.info == {"synchronous": "NORMAL"}


def test_appends_on_sqlite_run_on_connections_kept_per_engine_out_of_any_transaction(tmp_path: Path) -> None:
    """The stores of one engine keep their appends' connections together; a connection goes back only once its
    transaction ended (a refused append rolls back), and the engine's disposal closes those kept."""
    engine = create_db_engine(f"sqlite:///{tmp_path / 'store.db'}", sqlite_synchronous="FULL")
    migrate(engine, "store")
    first, second = EventStore(engine, "office_space"), EventStore(engine, "office_space")
    assert first.kept is not None and first.kept is second.kept
    first.save(new_agency("A1"), meta())
    with pytest.raises(AlreadyExists):
        second.save(new_agency("A1"), meta())
    appending = first.kept.take()
    assert not appending.in_transaction
    first.kept.give_back(appending)
    second.save(new_agency("A2"), meta())
    assert first.kept.take() is appending  # one connection served every append made one at a time
    first.kept.give_back(appending)
    engine.dispose()
    with pytest.raises(sqlite3.ProgrammingError):
        appending.execute("SELECT 1")
    first.save(new_agency("A3"), meta())  # on a new connection
    assert [e.stream_id for e in first.read_all()] == ["A1", "A2", "A3"]


def _race(store: EventStore, prepare: Callable[[], Aggregate]) -> list[str]:
    """Two writers prepare an aggregate each, then save at the same moment; how each save ended."""
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def write() -> None:
        aggregate = prepare()
        barrier.wait()
        try:
            store.save(aggregate, meta())
            outcomes.append("ok")
        except PlatformError as refused:
            outcomes.append(refused.code)

    threads = [threading.Thread(target=write) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sorted(outcomes)


def test_two_concurrent_writers_of_one_stream_one_wins_and_one_conflicts(store: EventStore) -> None:
    store.save(Counter.open("c"), meta())

    def loaded_and_incremented() -> Aggregate:
        counter = store.load(Counter, "c")
        counter.increment()
        return counter

    for _round in range(5):
        assert _race(store, loaded_and_incremented) == ["ok", "version_conflict"]
    assert [e.stream_version for e in store.stream_envelopes("Counter", "c")] == list(range(1, 7))


def test_two_concurrent_creators_of_one_stream_one_wins(agencies: EventStore) -> None:
    assert _race(agencies, lambda: new_agency("A1")) == ["already_exists", "ok"]


def test_an_event_violating_its_contract_is_refused_and_nothing_is_stored(agencies: EventStore) -> None:
    agency = Agency("A1")
    agency._record(AgencyRegistered("A1", "", "320402", "party_government", "county", -5))
    with pytest.raises(ContractViolation) as refused:
        agencies.save(agency, meta())
    assert set(refused.value.fields) == {"name", "authorised_headcount"}
    assert agencies.read_all() == []


def test_appending_to_several_streams_is_all_or_nothing(agencies: EventStore) -> None:
    agencies.save(new_agency("A1"), meta())
    with pytest.raises(AlreadyExists):
        agencies.save_all([new_agency("A2"), new_agency("A1")], meta())
    assert [e.stream_id for e in agencies.read_all()] == ["A1"]


def test_a_snapshot_is_taken_every_n_events_and_used_when_loading(store: EventStore) -> None:
    counter = Counter.open("c")
    store.save(counter, meta())
    for _ in range(3):
        counter = store.load(Counter, "c")
        counter.increment(10)
        store.save(counter, meta())
    with store.engine.begin() as conn:
        snapshot = conn.execute(sa.select(snapshots_table)).one()
        assert (snapshot.stream_version, snapshot.state) == (
            3,
            '{"district":null,"agency_id":null,"name":"c","total":20}',
        )
        # Prove loading reads the snapshot: doctor it, and the state follows it plus event 4.
        conn.execute(snapshots_table.update().values(state=snapshot.state.replace('"total":20', '"total":500')))
    loaded = store.load(Counter, "c")
    assert (loaded.version, loaded.total) == (4, 510)


class CountingIncrements(Counter):
    """The counter of a later release: it also keeps how many increments it had (a new attribute)."""

    def _init_state(self) -> None:
        super()._init_state()
        self.increments = 0

    def _on_CounterIncremented(self, event: CounterIncremented) -> None:
        super()._on_CounterIncremented(event)
        self.increments += 1


def test_a_snapshot_taken_before_the_aggregate_kept_a_new_attribute_is_ignored(store: EventStore) -> None:
    for name in ("a", "b"):
        counter = Counter.open(name)
        counter.increment(10)
        counter.increment(10)
        counter.increment(10)
        store.save(counter, meta())  # snapshotted, without ``increments``
    with store.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(snapshots_table)).scalar_one() == 2
    loaded = store.load(CountingIncrements, "a")
    assert (loaded.version, loaded.total, loaded.increments) == (4, 30, 3)  # replayed, not 0 increments
    together = store.find_many(CountingIncrements, ["a", "b"])
    assert [(c.version, c.total, c.increments) for c in together.values()] == [(4, 30, 3), (4, 30, 3)]
    assert store.load(Counter, "a").version == 4  # the snapshot still serves the aggregate it fits


def test_read_all_returns_events_in_commit_order_from_a_position(agencies: EventStore) -> None:
    for i in range(5):
        agencies.save(new_agency(f"A{i}"), meta())
    everything = agencies.read_all()
    assert [e.stream_id for e in everything] == [f"A{i}" for i in range(5)]
    positions = [e.position for e in everything]
    assert positions == sorted(positions)
    assert [e.stream_id for e in agencies.read_all(after=positions[1], limit=2)] == ["A2", "A3"]


def test_concurrent_writers_to_different_streams_all_succeed(store: EventStore) -> None:
    def write(prefix: str) -> None:
        for i in range(15):
            store.save(Counter.open(f"{prefix}{i}"), meta())

    threads = [threading.Thread(target=write, args=(p,)) for p in "abcd"]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    everything = store.read_all(limit=100)
    assert len(everything) == 60 and store.last_position() == everything[-1].position


def test_events_by_actor_answer_who_did_what(agencies: EventStore) -> None:
    agencies.save(new_agency("A1"), meta("alice"))
    agencies.save(new_agency("A2"), meta("bob"))
    assert [e.stream_id for e in agencies.events_by_actor("alice")] == ["A1"]


def test_an_append_writes_the_events_table_and_its_stream_index_alone(agencies: EventStore) -> None:
    # each index is one more page an append writes: the events are read by position (the table's key) and by
    # stream and version (the version check, ``load``); never by event id (a random UUID) nor by correlation id
    # (migrations 0005, 0006); by actor through ``actor_positions``, which the audit brings up to date itself
    inspector = sa.inspect(agencies.engine)
    keys = [tuple(c["column_names"]) for c in inspector.get_unique_constraints("events")]
    indexes = [i["name"] for i in inspector.get_indexes("events") if not i.get("duplicates_constraint")]
    assert keys == [("stream_type", "stream_id", "stream_version")] and indexes == []


def test_a_store_made_before_the_actor_lookup_moved_keeps_its_events_and_finds_who_did_what(db_url: str) -> None:
    engine = create_db_engine(db_url)
    migrate(engine, "store", revision="0005")
    before = EventStore(engine, "office_space")
    before.save(new_agency("A1"), meta("alice"))
    before.save(new_agency("A2"), meta("bob"))
    stored = [(e.position, e.event_id, e.actor) for e in before.read_all()]
    migrate(engine, "store")
    after = EventStore(engine, "office_space")
    assert [(e.position, e.event_id, e.actor) for e in after.read_all()] == stored
    after.save(new_agency("A3"), meta("alice"))
    assert [e.stream_id for e in after.events_by_actor("alice")] == ["A3", "A1"]
    assert [e.stream_id for e in after.events_by_actor("bob")] == ["A2"]
    with pytest.raises(AlreadyExists):
        after.save(new_agency("A1"), meta("alice"))
    engine.dispose()


def test_many_aggregates_load_together_from_snapshots_and_later_events(store: EventStore) -> None:
    for name in ("a", "b"):
        counter = Counter.open(name)
        counter.increment(2)
        counter.increment(2)
        store.save(counter, meta())  # version 3: snapshotted
        counter = store.load(Counter, name)
        counter.increment(2)
        counter.increment(2)
        store.save(counter, meta())  # versions 4 and 5 come after the snapshot
    lone = Counter.open("c")
    lone.increment(2)
    store.save(lone, meta())
    with store.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(snapshots_table)).scalar_one() == 2
    loaded = store.find_many(Counter, ["a", "b", "c", "missing"])
    assert {k: (v.total, v.version) for k, v in loaded.items()} == {"a": (8, 5), "b": (8, 5), "c": (2, 2)}
    assert loaded["a"].snapshot_state() == store.load(Counter, "a").snapshot_state()


def test_a_command_with_an_idempotency_key_is_recorded_once_with_its_answer(agencies: EventStore) -> None:
    first = agencies.save_all([new_agency("A1")], meta(), Idempotency("k-1", "register_agency", {"id": "A1"}))
    assert agencies.recorded_answer("k-1") == {"id": "A1", "event_ids": [first[0].event_id]}
    with pytest.raises(DuplicateCommand):
        agencies.save_all([new_agency("A2")], meta(), Idempotency("k-1", "register_agency", {"id": "A2"}))
    assert [e.stream_id for e in agencies.read_all()] == ["A1"]  # the repeat stored nothing
    assert agencies.recorded_answer("unknown") is None


def test_the_streams_of_an_agency_are_found_in_the_store_as_committed(agencies: EventStore) -> None:
    from services.office_space.domain.buildings import Building

    for building_id, owner in (("B1", "A1"), ("B2", "A1"), ("B3", "A2")):
        agencies.save(
            Building.register(
                building_id=building_id,
                agency_id=owner,
                district="320402",
                name="楼",
                address="路1号",
                gross_floor_area_m2=1000.0,
            ),
            meta(),
        )
    assert agencies.stream_ids_of_agency("Building", "A1") == ["B1", "B2"]
    assert agencies.stream_ids_of_agency("Building", "A9") == []


def test_the_first_event_recorded_after_a_moment_is_found_across_gaps_in_positions(agencies: EventStore) -> None:
    """What a projection behind the store has not applied starts there: its age is the end-to-end lag."""
    from services.common.write.store import events_table

    for i in range(1, 8):
        agencies.save(new_agency(f"F{i}"), meta())
    with agencies.engine.begin() as conn:  # times chosen by hand: event n recorded at 01:00:0n
        for position in range(1, 8):
            at = f"2026-12-06T01:00:0{position}.000000+00:00"
            conn.execute(events_table.update().where(events_table.c.position == position).values(recorded_at=at))
        conn.execute(events_table.delete().where(events_table.c.position.in_([4, 5])))  # a gap: 1 2 3 _ _ 6 7
    assert agencies.first_recorded_after("") == "2026-12-06T01:00:01.000000+00:00"  # nothing applied: the first
    assert agencies.first_recorded_after("2026-12-06T01:00:02.000000+00:00") == "2026-12-06T01:00:03.000000+00:00"
    # applied up to event 3: 4 and 5 are gone, so 6 is the oldest not applied
    assert agencies.first_recorded_after("2026-12-06T01:00:03.000000+00:00") == "2026-12-06T01:00:06.000000+00:00"
    assert agencies.first_recorded_after("2026-12-06T01:00:06.500000+00:00") == "2026-12-06T01:00:07.000000+00:00"
    assert agencies.first_recorded_after("2026-12-06T01:00:07.000000+00:00") is None  # caught up


def test_stores_on_one_engine_share_one_append_pool_disposed_with_it(postgres_url: str) -> None:
    """A process holding many stores (a test suite, a rebuild with several) must not hold a connection pool per
    store on top of its engines' (PostgreSQL refuses clients past ``max_connections``): the appends' unpinged
    pool is one per engine and goes with it."""
    engine = create_db_engine(postgres_url)
    first, second = EventStore(engine, "office_space"), EventStore(engine, "office_space")
    assert first.writer is second.writer and first.writer is not engine
    assert not first.writer.pool._pre_ping  # type: ignore[attr-defined]
    with first.writer.connect():
        assert first.writer.pool.checkedout() == 1  # type: ignore[attr-defined]
    engine.dispose()
    assert first.writer.pool.checkedin() == 0  # type: ignore[attr-defined]
