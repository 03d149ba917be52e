"""The write helpers of ``services.common.read.sql``: statements built once and cached, run by the driver, on SQLite
and PostgreSQL. A cached statement must take its values from each call, never from the call that built it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from services.common.base import statements
from services.common.base.db import create_db_engine
from services.common.read import sql

metadata = sa.MetaData()
rooms = sa.Table(
    "sql_test_rooms",
    metadata,
    sa.Column("building_id", sa.String(20), primary_key=True),
    sa.Column("room_id", sa.String(20), primary_key=True),
    sa.Column("agency_id", sa.String(20)),
    sa.Column("area_m2", sa.Float()),
    sa.Column("people", sa.Integer()),
    sa.Column("idle", sa.Boolean()),
    sa.Column("status", sa.String(20)),
)

CLOSE_SMALL_ROOMS = (
    rooms.update()
    .where(rooms.c.area_m2 < sa.bindparam("below"), rooms.c.agency_id.is_(None))
    .values(status="closed", people=sa.bindparam("people"))
)


@pytest.fixture
def engine(db_url: str) -> Iterator[sa.Engine]:
    engine = create_db_engine(db_url)
    metadata.create_all(engine)
    with engine.begin() as conn:
        sql.insert(
            conn,
            rooms,
            [
                _room("B1", "101", "AG1", 20.0),
                _room("B1", "102", "AG1", 12.0),
                _room("B2", "101", "AG2", 9.0),
                _room("B2", "102", None, 6.0),
            ],
        )
    yield engine
    engine.dispose()


def _room(building: str, room: str, agency: str | None, area: float) -> dict[str, Any]:
    return {
        "building_id": building,
        "room_id": room,
        "agency_id": agency,
        "area_m2": area,
        "people": 0,
        "idle": False,
        "status": "open",
    }


def _rows(engine: sa.Engine) -> dict[tuple[str, str], dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(rooms)).all()
    return {(r.building_id, r.room_id): r._asdict() for r in rows}


def test_an_update_changes_only_the_rows_of_its_key_each_time_it_is_reused(engine: sa.Engine) -> None:
    before = _rows(engine)
    with engine.begin() as conn:
        first = sql.update(conn, rooms, {"building_id": "B1", "room_id": "101"}, {"people": 2, "idle": True})
        second = sql.update(conn, rooms, {"building_id": "B2", "room_id": "102"}, {"people": 5, "idle": False})
    after = _rows(engine)
    assert (first, second) == (1, 1)
    assert (after["B1", "101"]["people"], after["B1", "101"]["idle"]) == (2, True)
    assert (after["B2", "102"]["people"], after["B2", "102"]["idle"]) == (5, False)
    assert after["B1", "102"] == before["B1", "102"]
    assert after["B2", "101"] == before["B2", "101"]


def test_an_update_with_a_partial_key_changes_every_row_it_matches_and_no_other(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        changed = sql.update(conn, rooms, {"room_id": "101"}, {"status": "audited"})
    statuses = {key: row["status"] for key, row in _rows(engine).items()}
    assert changed == 2
    assert statuses == {
        ("B1", "101"): "audited",
        ("B1", "102"): "open",
        ("B2", "101"): "audited",
        ("B2", "102"): "open",
    }


def test_a_none_in_the_key_matches_null_as_column_equals_none_does(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        unowned = sql.update(conn, rooms, {"building_id": "B2", "agency_id": None}, {"status": "unowned"})
        owned = sql.update(conn, rooms, {"building_id": "B2", "agency_id": "AG2"}, {"status": "owned"})
    rows = _rows(engine)
    assert (unowned, owned) == (1, 1)
    assert (rows["B2", "102"]["status"], rows["B2", "101"]["status"]) == ("unowned", "owned")
    assert rows["B1", "101"]["status"] == "open"


def test_a_column_of_the_key_can_be_set_too(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        changed = sql.update(conn, rooms, {"agency_id": "AG1"}, {"agency_id": "AG9"})
    owners = {key: row["agency_id"] for key, row in _rows(engine).items()}
    assert changed == 2
    assert owners == {("B1", "101"): "AG9", ("B1", "102"): "AG9", ("B2", "101"): "AG2", ("B2", "102"): None}


def test_a_key_column_set_beside_another_key_column_matches_on_both(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        changed = sql.update(conn, rooms, {"building_id": "B1", "status": "open"}, {"status": "closed"})
        again = sql.update(conn, rooms, {"building_id": "B1", "status": "open"}, {"status": "closed"})
    statuses = {key: row["status"] for key, row in _rows(engine).items()}
    assert (changed, again) == (2, 0)
    assert statuses == {("B1", "101"): "closed", ("B1", "102"): "closed", ("B2", "101"): "open", ("B2", "102"): "open"}


def test_add_adds_each_delta_to_the_matching_rows_only(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        sql.add(conn, rooms, {"building_id": "B1", "room_id": "102"}, {"people": 3, "area_m2": 1.5})
        sql.add(conn, rooms, {"building_id": "B1", "room_id": "102"}, {"people": -1, "area_m2": -0.5})
        sql.add(conn, rooms, {"building_id": "B2", "room_id": "101"}, {"people": 4, "area_m2": 0.0})
    rows = _rows(engine)
    assert (rows["B1", "102"]["people"], rows["B1", "102"]["area_m2"]) == (2, 13.0)
    assert (rows["B2", "101"]["people"], rows["B2", "101"]["area_m2"]) == (4, 9.0)
    assert (rows["B1", "101"]["people"], rows["B1", "101"]["area_m2"]) == (0, 20.0)


def test_delete_removes_the_rows_of_its_key_only(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        removed = sql.delete(conn, rooms, {"building_id": "B1", "room_id": "102"})
        again = sql.delete(conn, rooms, {"building_id": "B1", "room_id": "102"})
        other = sql.delete(conn, rooms, {"building_id": "B2", "room_id": "101"})
    assert (removed, again, other) == (1, 0, 1)
    assert sorted(_rows(engine)) == [("B1", "101"), ("B2", "102")]


def test_insert_writes_one_row_many_rows_or_none(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        one = sql.insert(conn, rooms, _room("B3", "301", "AG3", 30.0) | {"idle": True})
        many = sql.insert(conn, rooms, [_room("B3", "302", "AG3", 10.0), _room("B3", "303", "AG3", 11.0)])
        none = sql.insert(conn, rooms, [])
    rows = _rows(engine)
    assert (one, many, none) == (1, 2, 0)
    assert rows["B3", "301"] == _room("B3", "301", "AG3", 30.0) | {"idle": True}
    assert rows["B3", "303"]["area_m2"] == 11.0
    assert len(rows) == 7


def test_insert_with_only_some_columns_leaves_the_others_null(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        sql.insert(conn, rooms, {"building_id": "B4", "room_id": "401"})
    assert _rows(engine)["B4", "401"]["status"] is None


def test_run_takes_a_statement_built_once_with_its_fixed_values(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        closed = sql.run(conn, CLOSE_SMALL_ROOMS, {"below": 10.0, "people": 1})
        none_left = sql.run(conn, CLOSE_SMALL_ROOMS, {"below": 5.0, "people": 7})
    rows = _rows(engine)
    assert (closed, none_left) == (1, 0)
    assert (rows["B2", "102"]["status"], rows["B2", "102"]["people"]) == ("closed", 1)
    assert all(row["status"] == "open" for key, row in rows.items() if key != ("B2", "102"))


def test_run_with_a_list_runs_the_statement_once_per_set_of_parameters(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        changed = sql.run(conn, CLOSE_SMALL_ROOMS, [{"below": 1.0, "people": 1}, {"below": 7.0, "people": 2}])
    assert changed == 1
    assert _rows(engine)["B2", "102"]["people"] == 2


def test_writes_belong_to_the_connections_transaction_and_savepoints(engine: sa.Engine) -> None:
    with engine.connect() as conn:
        sql.update(conn, rooms, {"room_id": "101"}, {"status": "lost"})
        conn.rollback()
    with engine.begin() as conn:
        sql.update(conn, rooms, {"building_id": "B1", "room_id": "101"}, {"status": "kept"})
        with pytest.raises(RuntimeError), conn.begin_nested():
            sql.update(conn, rooms, {"building_id": "B1", "room_id": "102"}, {"status": "undone"})
            raise RuntimeError("the projection failed")
    statuses = {key: row["status"] for key, row in _rows(engine).items()}
    assert statuses == {("B1", "101"): "kept", ("B1", "102"): "open", ("B2", "101"): "open", ("B2", "102"): "open"}


def test_a_driver_error_is_raised_as_sqlalchemys(engine: sa.Engine) -> None:
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
        sql.insert(conn, rooms, _room("B1", "101", "AG1", 20.0))


def test_statements_rendered_per_call_are_refused(engine: sa.Engine) -> None:
    expanding = rooms.delete().where(rooms.c.room_id.in_(sa.bindparam("rooms", expanding=True)))
    with pytest.raises(ValueError, match="expanding"), engine.begin() as conn:
        sql.run(conn, expanding, {"rooms": ["101"]})


def test_a_shape_of_write_is_built_and_compiled_once(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        sql.update(conn, rooms, {"room_id": "101"}, {"people": 1})
        compiled = len(statements._prepared)
        sql.update(conn, rooms, {"room_id": "102"}, {"people": 2})
        sql.update(conn, rooms, {"room_id": "101"}, {"people": 3})
        assert len(statements._prepared) == compiled
        sql.update(conn, rooms, {"room_id": "101"}, {"people": 3, "idle": True})
        assert len(statements._prepared) == compiled + 1
