"""A command whose service's own database fails: answered 503 ``service_unavailable`` ("not done, ask again")
only when nothing of it was sent to be committed; once a commit was sent, the failure stays an unknown outcome
(the gateway's 502), since what the commit wrote may be stored (README, "Answers and retries")."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from services.common.base import db
from services.common.runtime.rpc import ServiceError
from services.common.write import store as store_module
from tests.integration.harness import ServiceHarness, office_space, register_agency
from tests.support import agency_code


def _office_space(tmp_path: Path) -> ServiceHarness:
    return office_space(tmp_path, idempotency_key="K-1")


def _disk_full(*_args: Any, **_kwargs: Any) -> None:
    raise sa.exc.OperationalError("INSERT …", {}, sqlite3.OperationalError("database or disk is full"))


def test_a_store_failing_before_the_commit_answers_not_done_and_the_command_is_done_when_asked_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    office = _office_space(tmp_path)
    monkeypatch.setattr(store_module.EventStore, "_insert", _disk_full)
    with pytest.raises(ServiceError) as failed:
        office.service.register_agency(register_agency("AG-FULL"))
    assert (failed.value.code, failed.value.http_status) == ("service_unavailable", 503)
    assert "office_space" in failed.value.message
    assert office.store.last_position() == 0  # nothing stored
    monkeypatch.undo()  # the disk has room again: the same command, under the same key, is done once
    answer = office.service.register_agency(register_agency("AG-FULL"))
    assert answer["id"] == agency_code("320402", "AG-FULL")
    assert office.store.last_position() == 1


def test_a_drivers_own_error_reading_the_stream_answers_not_done(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An aggregate is loaded with statements on the driver's connection (``db.fetch``), whose errors are the
    driver's own, unwrapped: a database that does not answer there is as much a 503 as SQLAlchemy's error is
    (it was an unknown outcome, the gateway's 502, for a command that had sent nothing)."""
    office = _office_space(tmp_path)
    read = store_module.fetch

    def locked(*_args: Any, **_kwargs: Any) -> Any:
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(store_module, "fetch", locked)
    with pytest.raises(ServiceError) as failed:
        office.service.register_agency(register_agency("AG-LOCKED"))
    assert (failed.value.code, failed.value.http_status) == ("service_unavailable", 503)
    monkeypatch.setattr(store_module, "fetch", read)
    assert office.store.last_position() == 0  # nothing stored
    office.service.register_agency(register_agency("AG-LOCKED"))  # asked again under its key: done once
    assert office.store.last_position() == 1


def test_a_store_failing_once_its_commit_was_sent_stays_an_unknown_outcome(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    office = _office_space(tmp_path)

    def commit_lost() -> None:  # the driver's commit sent, its answer lost (a connection dropped meanwhile)
        db.commit_begun()
        raise sa.exc.OperationalError("COMMIT", {}, sqlite3.OperationalError("disk I/O error"))

    monkeypatch.setattr(store_module, "commit_begun", commit_lost)
    with pytest.raises(sa.exc.OperationalError):  # not a 503: the gateway answers 502 upstream_error (unknown)
        office.service.register_agency(register_agency("AG-LOST"))


def test_a_failure_that_is_not_the_database_is_not_answered_as_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    office = _office_space(tmp_path)

    def broken(*_args: Any, **_kwargs: Any) -> None:  # a defect, not a database failing: never "ask again"
        raise sa.exc.ProgrammingError("INSERT …", {}, sqlite3.ProgrammingError("no such column"))

    monkeypatch.setattr(store_module.EventStore, "_insert", broken)
    with pytest.raises(sa.exc.ProgrammingError):
        office.service.register_agency(register_agency("AG-BROKEN"))


def test_every_commit_of_a_platform_engine_is_counted_in_its_own_context(tmp_path: Path) -> None:
    engine = db.create_db_engine(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        before = db.commits_begun()
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1")).all()  # a read that commits nothing
        assert db.commits_begun() == before
        with engine.begin() as conn:
            conn.execute(sa.text("CREATE TABLE t (x INTEGER)"))
        assert db.commits_begun() == before + 1
    finally:
        engine.dispose()
