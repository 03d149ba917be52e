"""A read of the data center whose database does not answer is answered 503 ``service_unavailable`` (a read
changes nothing, so the client may simply ask again), never 500; and the data center's projector meeting a
database that fails (a deadlock, a lock held too long, a full disk) replays its batch later rather than
dead-lettering good events as projection failures."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa
from nameko.exceptions import RemoteError
from werkzeug.test import EnvironBuilder

from services.common.base.db import local_store_failed, store_failed, unavailable_when_store_fails
from services.common.kernel.errors import ServiceUnavailable
from services.gateway import auth, readcache
from services.gateway.api.datacenter import DataCenterApi
from services.gateway.views.agencies import agencies_table
from tests import city


def _city_read_is_unavailable(town: city.Town) -> None:
    """``GET /api/v1/datacenter/city`` is answered 503 ``service_unavailable``."""
    request = EnvironBuilder(path="/api/v1/datacenter/city", headers={"Authorization": f"Bearer {town.token}"})
    response = DataCenterApi.city(town.gateway, request.get_request())  # type: ignore[attr-defined]
    assert response.status_code == 503, response.get_data(as_text=True)
    assert json.loads(response.get_data())["error"] == "service_unavailable"


def test_a_read_whose_database_cannot_be_opened_is_answered_503(tmp_path: Path) -> None:
    town = city.Town(tmp_path, "city_admin")
    try:
        assert json.loads(town.answer("city", "/api/v1/datacenter/city"))["as_of"]
        unused = auth.create_token(town.engine, "writer", "city_admin")  # not verified yet: not cached
        town.engine.dispose()
        (tmp_path / "gateway.db").rename(tmp_path / "moved.db")
        (tmp_path / "gateway.db").mkdir()  # what sqlite opens now is a folder: "unable to open database file"
        _city_read_is_unavailable(town)
        with pytest.raises(ServiceUnavailable):  # any request, a command's too: nothing was done
            auth.authenticate(town.engine, f"Bearer {unused}")
    finally:
        town.engine.dispose()


def test_a_read_whose_drivers_own_statement_fails_is_answered_503(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The read cache asks the projections' version with a statement on the driver's connection: its
    ``OperationalError`` comes unwrapped, and was a 500 before."""
    town = city.Town(tmp_path, "city_admin")
    try:

        def locked(*_args: object, **_kwargs: object) -> object:
            raise sqlite3.OperationalError("database is locked")

        monkeypatch.setattr(readcache, "fetch", locked)
        _city_read_is_unavailable(town)
    finally:
        town.engine.dispose()


class FailingDatabase(Exception):
    """What the driver raises for a deadlock or a lock that was not granted in time."""


def test_the_projector_replays_a_batch_the_database_failed_and_dead_letters_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    town = city.Town(tmp_path, "city_admin")
    sent: list[str] = []  # the reasons of the dead letters sent
    monkeypatch.setattr(town.projector, "_send_dead_letters", lambda dead: sent.extend(d.reason for _, d in dead))
    monkeypatch.setattr(town.projector, "_report_lag", lambda force=False: None)  # no broker here
    records = town.records(list(city.agency_envelopes(1, "320402")))
    failing = {"on": True}

    def route(conn: sa.Connection, env: object, original=town.projector._route) -> None:  # type: ignore[no-untyped-def]
        if failing["on"]:
            raise sa.exc.OperationalError("UPDATE …", {}, FailingDatabase("deadlock detected"))
        original(conn, env)

    monkeypatch.setattr(town.projector, "_route", route)
    try:
        with pytest.raises(sa.exc.OperationalError):
            town.projector._apply_batch(records)
        assert "projection_failed" not in sent  # no event was taken for a projection's failure
        assert town.projector.stored_offsets() == {}  # nothing committed: the batch is read again
        failing["on"] = False
        town.projector._apply_batch(records)
        assert "projection_failed" not in sent
        assert sum(town.projector.stored_offsets().values()) == len(records)
        with town.engine.connect() as conn:
            agencies = conn.execute(sa.select(agencies_table.c.agency_id)).scalars().all()
        assert agencies == ["BENCH00001"]
    finally:
        town.engine.dispose()


def test_what_counts_as_a_database_failing_and_what_does_not() -> None:
    assert store_failed(sa.exc.OperationalError("SELECT", {}, FailingDatabase("database is locked")))
    assert store_failed(RemoteError("OperationalError", "(sqlite3.OperationalError) disk I/O error"))  # a service's
    lost = sa.exc.DBAPIError("SELECT", {}, FailingDatabase("server closed the connection"), connection_invalidated=True)
    assert store_failed(lost)
    # the work's own fault: tried again it fails again, so it is refused (or dead-lettered) instead
    assert not store_failed(sa.exc.IntegrityError("INSERT", {}, FailingDatabase("UNIQUE constraint failed")))
    assert not store_failed(RemoteError("KeyError", "'agency_id'"))
    assert not store_failed(ValueError("no"))


def test_a_drivers_own_failure_counts_and_only_this_process_s_is_local() -> None:
    """A statement run on the driver's connection (the idempotency key's insert, a lookup) raises the driver's
    errors unwrapped: its ``OperationalError`` is the database failing as SQLAlchemy's is, its other errors are the
    work's. A service called that answers its database failed is a store failure, but not this process's own:
    what that service had sent to be committed is unknown, so it is never answered as "nothing was done"."""
    assert store_failed(sqlite3.OperationalError("database is locked"))
    assert local_store_failed(sqlite3.OperationalError("disk I/O error"))
    assert not store_failed(sqlite3.IntegrityError("UNIQUE constraint failed"))
    assert not local_store_failed(sqlite3.ProgrammingError("Incorrect number of bindings supplied"))
    remote = RemoteError("OperationalError", "(sqlite3.OperationalError) disk I/O error")
    assert store_failed(remote) and not local_store_failed(remote)
    lost = sa.exc.DBAPIError("SELECT", {}, FailingDatabase("server closed the connection"), connection_invalidated=True)
    assert local_store_failed(lost)
    with pytest.raises(ServiceUnavailable), unavailable_when_store_fails("not sent"):
        raise lost
    with pytest.raises(RemoteError), unavailable_when_store_fails("not sent"):  # the service called may have stored
        raise remote


def test_an_erasure_whose_key_store_does_not_answer_is_answered_503(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The one command the gateway does itself (crypto-shredding a subject's key): the key store's database
    failing is 503, to be asked again (an erasure is done once), not the gateway's 500."""
    from services.common.base.personal import KeyStore
    from services.gateway.api.personal_data import PersonalDataApi

    town = city.Town(tmp_path, "city_admin")
    try:

        def locked(*_args: object, **_kwargs: object) -> object:
            raise sqlite3.OperationalError("database is locked")

        monkeypatch.setattr(KeyStore, "erase", locked)
        request = EnvironBuilder(
            path="/api/v1/personal-data/erasures",
            method="POST",
            json={"subject": "person", "id": "P-1"},
            headers={"Authorization": f"Bearer {town.token}"},
        )
        response = PersonalDataApi.erase_subject(town.gateway, request.get_request())  # type: ignore[attr-defined]
        assert response.status_code == 503, response.get_data(as_text=True)
        body = json.loads(response.get_data())
        assert (body["error"], body["message"]) == (
            "service_unavailable",
            "the key store did not answer: ask again (an erasure is done once)",
        )
    finally:
        town.engine.dispose()
