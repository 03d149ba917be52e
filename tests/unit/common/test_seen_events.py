"""The event ids a projector has applied (``services.common.read.seen``): live, inserted into their index with each
batch; during a rebuild, journaled and folded into the index in sorted runs. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

import services.common.read.projector  # noqa: F401  (registers the projector's migrations, the seen tables among them)
from services.common.base.db import create_db_engine, migrate
from services.common.read import seen
from services.common.read.seen import SeenBefore, SeenEvents, seen_journal_table, seen_table


@pytest.fixture
def engine(db_url: str) -> Iterator[sa.Engine]:
    engine = create_db_engine(db_url)
    migrate(engine, "projector")
    yield engine
    engine.dispose()


def _ids(n: int) -> list[str]:
    return [str(uuid.uuid4()) for _ in range(n)]


def _remember(events: SeenEvents, ids: list[str]) -> None:
    """What a batch does: remember in its transaction, then report the commit."""
    with events.engine.begin() as conn:
        events.remember(conn, ids)
    events.committed(ids)


def _among(events: SeenEvents, ids: list[str]) -> set[str]:
    with events.engine.begin() as conn:
        return events.among(conn, ids)


def _rows(engine: sa.Engine, table: sa.Table) -> set[str]:
    """The ids in the index, or in the journal (its batches' arrays)."""
    with engine.connect() as conn:
        if table is seen_journal_table:
            return {i for ids in conn.execute(sa.select(table.c.ids)).scalars() for i in json.loads(ids)}
        return set(conn.execute(sa.select(table.c.event_id)).scalars())


def test_live_ids_go_straight_into_the_index_and_are_found_there(engine: sa.Engine) -> None:
    events, applied, new = SeenEvents(engine, "p"), _ids(3), _ids(2)
    _remember(events, applied)
    assert _among(events, applied[1:] + new) == set(applied[1:])
    assert _rows(engine, seen_table) == set(applied) and _rows(engine, seen_journal_table) == set()


def test_journaled_ids_are_found_before_and_after_they_are_folded(engine: sa.Engine) -> None:
    events, first, second, new = SeenEvents(engine, "p"), _ids(3), _ids(3), _ids(3)
    events.start_journal()
    _remember(events, first)
    assert _rows(engine, seen_table) == set() and _rows(engine, seen_journal_table) == set(first)
    assert _among(events, first + new) == set(first)
    events.fold()
    _remember(events, second)
    assert _rows(engine, seen_table) == set(first) and _rows(engine, seen_journal_table) == set(second)
    assert _among(events, [*first[:2], *second[:2], *new]) == {*first[:2], *second[:2]}


def test_a_finished_journal_is_folded_and_later_ids_go_straight_into_the_index(engine: sa.Engine) -> None:
    events, journaled, live = SeenEvents(engine, "p"), _ids(3), _ids(2)
    events.start_journal()
    _remember(events, journaled)
    events.finish_journal()
    assert not events.journaling
    assert _rows(engine, seen_table) == set(journaled) and _rows(engine, seen_journal_table) == set()
    _remember(events, live)
    assert _rows(engine, seen_table) == {*journaled, *live} and _rows(engine, seen_journal_table) == set()
    assert _among(events, [*journaled[:2], *live[:1], *_ids(2)]) == {*journaled[:2], live[0]}


def test_a_journal_folds_itself_every_so_many_ids(engine: sa.Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(seen, "JOURNAL_FOLD", 4)
    events, applied = SeenEvents(engine, "p"), _ids(10)
    events.start_journal()
    for start in range(0, 10, 2):
        _remember(events, applied[start : start + 2])
    assert _rows(engine, seen_table) == set(applied[:8]) and _rows(engine, seen_journal_table) == set(applied[8:])
    assert _among(events, applied) == set(applied)


def test_a_journal_left_by_a_stopped_rebuild_is_folded_and_its_ids_found(engine: sa.Engine) -> None:
    rebuilding, applied = SeenEvents(engine, "p"), _ids(5)
    rebuilding.start_journal()
    _remember(rebuilding, applied)  # then the process dies: its memory is gone, its journal is not
    restarted = SeenEvents(engine, "p")
    restarted.fold()  # what the projector does when it assigns its partitions
    assert _among(restarted, applied) == set(applied)
    assert _rows(engine, seen_journal_table) == set()


def test_a_fold_keeps_the_ids_already_in_the_index_and_other_projectors_journals(engine: sa.Engine) -> None:
    events, other, applied, theirs = SeenEvents(engine, "p"), SeenEvents(engine, "q"), _ids(3), _ids(2)
    _remember(events, applied[:1])
    other.start_journal()
    _remember(other, theirs)
    events.start_journal()
    with engine.begin() as conn:  # the same id journaled although the index has it: the fold must not fail
        events.remember(conn, applied)
    events.fold()
    assert _rows(engine, seen_table) == set(applied)
    assert _rows(engine, seen_journal_table) == set(theirs)


def test_forgetting_drops_the_index_and_the_journal_of_the_projector_only(engine: sa.Engine) -> None:
    events, other = SeenEvents(engine, "p"), SeenEvents(engine, "q")
    _remember(events, _ids(2))
    _remember(other, kept := _ids(2))
    events.start_journal()
    _remember(events, journaled := _ids(2))
    with engine.begin() as conn:
        events.forget(conn)
    assert _among(events, journaled) == set()
    assert _rows(engine, seen_table) == set(kept) and _rows(engine, seen_journal_table) == set()


def test_the_filter_never_forgets_an_id_it_was_given() -> None:
    sieve, given, others = seen._Sieve(), _ids(20_000), _ids(20_000)
    for event_id in given:
        sieve.add(event_id)
    assert all(event_id in sieve for event_id in given)
    assert sum(event_id in sieve for event_id in others) < 20  # false "perhaps": a lookup, never a loss


def test_a_lookup_runs_statements_compiled_once_per_power_of_two(engine: sa.Engine) -> None:
    from services.common.base import statements

    events, applied = SeenEvents(engine, "p"), _ids(600)
    _remember(events, applied)
    other = SeenEvents(engine, "q")
    _remember(other, theirs := _ids(3))
    # 700 ids: a chunk of 512 and one of 188, padded to 256 with its last id (a new one)
    asked = applied[:100] + _ids(100) + applied[100:] + theirs
    assert _among(events, asked) == set(applied)
    # 3 and 4 ids both run the statement of 4, compiled by then; 5 ids the statement of 8
    assert _among(events, applied[:3]) == set(applied[:3])
    compiled = len(statements._prepared)
    assert _among(events, applied[:4]) == set(applied[:4])
    assert len(statements._prepared) == compiled
    assert _among(events, applied[:5]) == set(applied[:5])
    assert len(statements._prepared) == compiled + 1


def test_a_batch_claims_its_ids_at_once_unless_one_was_applied_already(engine: sa.Engine) -> None:
    events, applied, new = SeenEvents(engine, "p"), _ids(3), _ids(600)  # more than a lookup takes per statement
    _remember(events, applied)
    with engine.begin() as conn:
        assert events.claim(conn, new)
    assert _rows(engine, seen_table) == {*applied, *new}

    others = _ids(2)
    with pytest.raises(SeenBefore), engine.begin() as conn:  # rolled back: the new ids are not kept either
        events.claim(conn, [others[0], applied[1], others[1]])
    assert _rows(engine, seen_table) == {*applied, *new}

    with engine.begin() as conn:
        assert not events.claim(conn, [others[0], others[0]])  # an id twice: looked up instead
        assert not events.claim(conn, [])
    events.start_journal()  # a rebuild journals its ids
    with engine.begin() as conn:
        assert not events.claim(conn, others)
    assert _rows(engine, seen_table) == {*applied, *new}


def test_a_database_of_the_release_before_keeps_its_ids_in_one_tree_on_sqlite(tmp_path: object) -> None:
    """Migration p0005: the ids applied before it are all kept, and on SQLite the table is its key's b-tree alone
    (``WITHOUT ROWID``), as ``seen_table`` declares it for a database made from the metadata."""
    engine = create_db_engine(f"sqlite:///{tmp_path}/older.db")
    migrate(engine, "projector", revision="p0004")
    events, applied = SeenEvents(engine, "p"), _ids(300)
    _remember(events, applied)
    migrate(engine, "projector")
    with engine.connect() as conn:
        made = conn.exec_driver_sql("SELECT sql FROM sqlite_master WHERE name = 'projector_seen_events'").scalar()
    assert made is not None and made.rstrip().endswith("WITHOUT ROWID")
    assert _among(events, applied + _ids(5)) == set(applied)
    with pytest.raises(SeenBefore), engine.begin() as conn:
        events.claim(conn, [applied[0], *_ids(2)])  # the key still refuses an id twice
    declared = sa.schema.CreateTable(seen_table).compile(dialect=engine.dialect)
    assert str(declared).rstrip().endswith("WITHOUT ROWID")
    engine.dispose()


def test_a_rebuild_journals_a_row_per_batch(engine: sa.Engine) -> None:
    events, batches = SeenEvents(engine, "p"), [_ids(500), _ids(3), _ids(1)]
    events.start_journal()
    for ids in batches:
        _remember(events, ids)
    with engine.connect() as conn:
        rows = conn.execute(sa.select(seen_journal_table.c.ids)).scalars().all()
    assert sorted(json.loads(ids) for ids in rows) == sorted(batches)
    events.finish_journal()
    assert _rows(engine, seen_table) == {i for ids in batches for i in ids}


def test_a_journal_of_the_release_before_is_folded_by_the_migration(db_url: str) -> None:
    """Migration p0006: ids journaled a row per id (a rebuild of the release before, stopped half-way) are folded
    into the index, which keeps what it held; the journal is a row per batch after it, and a downgrade folds that
    one in turn."""
    engine = create_db_engine(db_url)
    migrate(engine, "projector", revision="p0005")
    indexed, journaled, theirs = _ids(3), _ids(4), _ids(2)
    with engine.begin() as conn:
        conn.execute(seen_table.insert(), [{"projector": "p", "event_id": i} for i in indexed])
        journal_by_id = sa.table("projector_seen_journal", sa.column("projector"), sa.column("event_id"))
        rows = [("p", i) for i in [*journaled, indexed[0]]] + [("q", i) for i in theirs]
        conn.execute(journal_by_id.insert(), [{"projector": p, "event_id": i} for p, i in rows])
    migrate(engine, "projector")
    assert _rows(engine, seen_table) == {*indexed, *journaled, *theirs}
    assert _rows(engine, seen_journal_table) == set()
    events = SeenEvents(engine, "p")
    assert _among(events, [*journaled, *_ids(2)]) == set(journaled)
    events.start_journal()
    _remember(events, later := _ids(3))
    _downgrade(engine, "p0005")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM projector_seen_journal").scalar() == 0
        kept = set(conn.exec_driver_sql("SELECT event_id FROM projector_seen_events").scalars())
    assert kept == {*indexed, *journaled, *theirs, *later}
    engine.dispose()


def _downgrade(engine: sa.Engine, revision: str) -> None:
    """The projector tree taken back to ``revision`` (Alembic's downgrade; the platform itself only upgrades)."""
    from alembic import command

    from services.common.base import db

    config = db.alembic_config("projector")
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        config.attributes["version_table"] = db._version_table("projector")
        command.downgrade(config, revision)
