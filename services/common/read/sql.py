"""Writes that stay fast when a projection applies a million events: statements built once, run by the driver.

A rebuild applies every event of the city's history, so what a projection spends per event decides how
long it takes. Building a SQLAlchemy statement (``table.update().where(...).values(...)``) costs several
times what running it costs, and running a statement through ``Connection.execute`` costs several times
what the database driver itself takes (SQLite: about 40 µs against 5 µs). So projections write with:

- ``insert(conn, table, row)``, or a list of rows with the same keys (one ``executemany``);
- ``update(conn, table, key, values)``: set the columns of ``values`` in the rows whose columns equal
  ``key`` (a ``None`` in ``key`` matches ``IS NULL``, as ``column == None`` does);
- ``add(conn, table, key, deltas)``: ``column = column + delta`` for each of ``deltas``;
- ``delete(conn, table, key)``;
- ``fetch_in(conn, select, column, values)``: the rows of a select built once whose column is one of ``values``
  (a projection's batch form looking up the rows its events change);
- ``run(conn, statement, params)`` for any other write: the statement built ONCE, as a module constant or by a
  ``functools.cache``-d function, with ``sa.bindparam`` for what changes from one event to the next (a range,
  ``IS NULL`` or a column compared with another stays in the statement).

Each returns the row count the driver reports. A statement is built once per (table, key columns, value
columns), compiled once per database dialect, and run on the DBAPI cursor of the connection
(``services.common.base.statements``, which the event store's append runs its statements with too), inside its
transaction and savepoints, with the parameter conversions SQLAlchemy applies (its types' bind processors);
a driver error is raised as SQLAlchemy's (``sa.exc.IntegrityError``, ...), as ``conn.execute`` raises it.

To stay fast, a projection's handler never builds a statement from the event's values, and writes many rows of
one shape with one call (a list) rather than one call per row. Reads are rare in projections: a ``select``
built once with ``sa.bindparam`` and run by ``conn.execute`` costs little next to one built per event.
``run`` is for writes without ``RETURNING``; statements with expanding ``IN`` parameters are refused.
Statements run here are not echoed by ``echo=True`` nor seen by ``before_cursor_execute`` listeners.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

import sqlalchemy as sa

from services.common.base.statements import Params, execute, fetch

_NO_KEY: frozenset[str] = frozenset()


def run(conn: sa.Connection, statement: sa.ClauseElement, params: Params | Sequence[Params]) -> int:
    """Run a statement built once, with one set of named parameters or a list of them (one executemany;
    an empty list runs nothing); the row count. An insert without ``.values(...)`` takes every column."""
    if not conn.in_transaction():
        conn.begin()  # what conn.execute would do: the writes belong to the connection's transaction
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        return execute(cursor, conn.dialect, statement, params)
    finally:
        cursor.close()


IN_CHUNK = 512
"""Values ``fetch_in`` looks up per statement."""


def fetch_in(
    conn: sa.Connection,
    statement: sa.Select[Any],
    column: sa.ColumnElement[Any],
    values: Sequence[Any],
    params: Params | None = None,
) -> list[tuple[Any, ...]]:
    """The rows of ``statement`` (a select built once, ``params`` its parameters) whose ``column`` is one of
    ``values``, as the driver returns them (tuples, no result processing: for columns the driver returns as they
    are, such as strings). Each ``IN (...)`` has a parameter per value, their count rounded up to a power of two
    (padded with the last value) and at most ``IN_CHUNK``: a few statements, each compiled once per dialect, where
    an expanding ``IN`` is rendered by SQLAlchemy on every call (several times what the lookup costs)."""
    if not values:
        return []
    if not conn.in_transaction():
        conn.begin()  # what conn.execute would do
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    found: list[tuple[Any, ...]] = []
    try:
        for start in range(0, len(values), IN_CHUNK):
            chunk = values[start : start + IN_CHUNK]
            size = 1 << (len(chunk) - 1).bit_length()
            bound = {**(params or {}), **{f"in_{i}": value for i, value in enumerate(chunk)}}
            bound.update((f"in_{i}", chunk[-1]) for i in range(len(chunk), size))
            found.extend(fetch(cursor, conn.dialect, _in(statement, column, size), bound))
    finally:
        cursor.close()
    return found


@cache
def _in(statement: sa.Select[Any], column: sa.ColumnElement[Any], count: int) -> sa.Select[Any]:
    return statement.where(column.in_([sa.bindparam(f"in_{i}") for i in range(count)]))


def insert(conn: sa.Connection, table: sa.Table, rows: Params | Sequence[Params]) -> int:
    """Insert a row, or rows with the same keys (one executemany); the row count."""
    first = rows if isinstance(rows, Mapping) else next(iter(rows), None)
    if first is None:
        return 0
    return run(conn, _insert(table, tuple(first)), rows)


def update(conn: sa.Connection, table: sa.Table, key: Params, values: Params) -> int:
    """Set ``values`` (column → value) in the rows whose columns equal ``key``; the row count."""
    statement = _update(table, tuple(key), _nulls(key), tuple(values))
    return run(conn, statement, _keyed(key, values))


def add(conn: sa.Connection, table: sa.Table, key: Params, deltas: Params) -> int:
    """Add ``deltas`` (column → amount) to the columns of the rows whose columns equal ``key``; the row count."""
    statement = _add(table, tuple(key), _nulls(key), tuple(deltas))
    return run(conn, statement, _keyed(key, deltas))


def delete(conn: sa.Connection, table: sa.Table, key: Params) -> int:
    """Delete the rows whose columns equal ``key``; the row count."""
    return run(conn, _delete(table, tuple(key), _nulls(key)), key)


def _keyed(key: Params, values: Params) -> dict[str, Any]:
    """The parameters of a keyed update: each under its column's name, a key column that is also set as
    ``key_<column>``."""
    if key.keys().isdisjoint(values):
        return {**key, **values}
    return {**{f"key_{name}" if name in values else name: value for name, value in key.items()}, **values}


def _nulls(key: Params) -> frozenset[str]:
    """The key columns matched with ``IS NULL``."""
    return frozenset(name for name, value in key.items() if value is None) if None in key.values() else _NO_KEY


def _where(
    table: sa.Table, key: tuple[str, ...], nulls: frozenset[str], also_set: tuple[str, ...] = ()
) -> list[sa.ColumnElement[bool]]:
    def bound(name: str) -> sa.BindParameter[Any]:
        return sa.bindparam(f"key_{name}" if name in also_set else name)

    return [table.c[name].is_(None) if name in nulls else table.c[name] == bound(name) for name in key]


@cache
def _insert(table: sa.Table, columns: tuple[str, ...]) -> sa.Insert:
    return table.insert().values({name: sa.bindparam(name) for name in columns})


@cache
def _update(table: sa.Table, key: tuple[str, ...], nulls: frozenset[str], columns: tuple[str, ...]) -> sa.Update:
    values: dict[str, Any] = {name: sa.bindparam(name) for name in columns}
    return table.update().where(*_where(table, key, nulls, columns)).values(values)


@cache
def _add(table: sa.Table, key: tuple[str, ...], nulls: frozenset[str], columns: tuple[str, ...]) -> sa.Update:
    values: dict[str, Any] = {name: table.c[name] + sa.bindparam(name) for name in columns}
    return table.update().where(*_where(table, key, nulls, columns)).values(values)


@cache
def _delete(table: sa.Table, key: tuple[str, ...], nulls: frozenset[str]) -> sa.Delete:
    return table.delete().where(*_where(table, key, nulls))
