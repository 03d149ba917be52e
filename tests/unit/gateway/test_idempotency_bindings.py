"""An idempotency key means one command across every service (docs/hostile-input.md): the gateway binds a key to the first
command it sends with it (service, command, payload) and refuses it for any other, another service's included,
which that service's own command log could not tell. On the gateway's real database, SQLite and PostgreSQL."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa

from services.common.base.db import create_db_engine
from services.common.kernel.errors import IdempotencyKeyReused, ServiceUnavailable
from services.gateway import keys
from services.gateway.views import prepare_database

AGENCY = {"agency_id": "A1", "name": "天宁区教育局"}


def test_a_key_is_bound_to_its_first_command_and_refused_for_any_other(db_url: str) -> None:
    engine = create_db_engine(db_url)
    prepare_database(engine)
    keys.bind(engine, "http:tok1:k1", "office_space", "register_agency", AGENCY)
    keys.bind(engine, "http:tok1:k1", "office_space", "register_agency", dict(reversed(AGENCY.items())))  # a repeat
    for service, command, payload in (
        ("vehicles", "register_agency", AGENCY),  # another service's command of the same name
        ("vehicles", "request_trip", {"trip_id": "T-1"}),  # another service
        ("office_space", "register_building", AGENCY),  # another route of the same service
        ("office_space", "register_agency", {**AGENCY, "name": "其他"}),  # another body
    ):
        with pytest.raises(IdempotencyKeyReused) as reused:
            keys.bind(engine, "http:tok1:k1", service, command, payload)
        assert (reused.value.http_status, reused.value.code) == (422, "idempotency_key_reused")
    keys.bind(engine, "http:tok2:k1", "vehicles", "request_trip", {"trip_id": "T-1"})  # another token's key
    with engine.connect() as conn:  # each key bound once, to its first command: the refusals bound nothing
        bound = conn.execute(sa.select(keys.keys_table.c.idempotency_key, keys.keys_table.c.command)).all()
    assert sorted(bound) == [
        ("http:tok1:k1", "office_space.register_agency"),
        ("http:tok2:k1", "vehicles.request_trip"),
    ]
    engine.dispose()


def test_a_database_that_does_not_answer_is_a_passing_failure_and_nothing_is_sent(tmp_path: Path) -> None:
    """503 (tried again: a district's message is deferred, not rejected), never an unhandled 500."""
    engine = create_db_engine(f"sqlite:///{tmp_path / 'unmigrated.db'}")  # no table: the insert fails
    with pytest.raises(ServiceUnavailable):
        keys.bind(engine, "http:tok1:k1", "office_space", "register_agency", AGENCY)


def test_a_connection_lost_while_binding_is_a_passing_failure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The key's insert runs on the driver's own connection: a server gone away there raises the driver's
    ``OperationalError`` unwrapped, which is the database failing (503) as much as SQLAlchemy's is."""
    engine = create_db_engine(f"sqlite:///{tmp_path / 'gateway.db'}")
    prepare_database(engine)

    def gone(*_: object) -> bool:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(keys, "insert_if_absent", gone)
    with pytest.raises(ServiceUnavailable):
        keys.bind(engine, "http:tok1:k2", "office_space", "register_agency", AGENCY)

    def broken(*_: object) -> bool:  # the work's own fault is not a passing failure: it stays what it is
        raise sqlite3.IntegrityError("NOT NULL constraint failed: idempotency_keys.command")

    monkeypatch.setattr(keys, "insert_if_absent", broken)
    with pytest.raises(sqlite3.IntegrityError):
        keys.bind(engine, "http:tok1:k3", "office_space", "register_agency", AGENCY)
    engine.dispose()
