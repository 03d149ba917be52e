"""Statements built once, compiled once per database dialect, run on the driver's cursor.

Building a SQLAlchemy statement costs several times what running it costs, and running one through
``Connection.execute`` costs several times what the database driver itself takes (SQLite: about 40 µs against
5 µs). The paths that run a statement per event — the event store's append (``services.common.write.store``),
every projection's writes (``services.common.read.sql``) — build theirs once (a module constant, or a
``functools.cache``-d function, with ``sa.bindparam`` for what changes) and run them with ``execute`` on a DBAPI
cursor: the SQL compiled once per (statement, dialect), the parameters converted as SQLAlchemy's types would
(their bind processors), a driver's error raised as SQLAlchemy's (``sa.exc.IntegrityError``, ...). Statements with
expanding ``IN`` parameters (rendered per call) are refused. Statements run here are not echoed by ``echo=True``
nor seen by ``before_cursor_execute`` listeners.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from operator import itemgetter
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.compiler import SQLCompiler

Params = Mapping[str, Any]


class Prepared:
    """A statement compiled for one dialect: its SQL and how its parameters are handed to the driver."""

    def __init__(self, statement: sa.ClauseElement, dialect: Dialect) -> None:
        compiled = cast(SQLCompiler, statement.compile(dialect=dialect))
        if compiled.post_compile_params:
            raise ValueError("statements with expanding IN parameters are rendered per call: use conn.execute")
        self.statement, self.dialect = statement, dialect  # kept alive: the cache is keyed by their ids
        self.sql = compiled.string
        binds = {name: bind for bind, name in compiled.bind_names.items()}
        positions = compiled.positiontup
        self.positional = positions is not None
        names = list(positions if positions is not None else binds)
        self.fixed = {name: bind.value for name, bind in binds.items() if not bind.required}
        """Values written in the statement itself (``.values(status="closed")``)."""
        # the values in the driver's order (``itemgetter`` of a single name would return the value alone)
        self._values = itemgetter(*names) if len(names) > 1 else lambda params: tuple(params[n] for n in names)
        processors = [_processor(binds[name], dialect) for name in names]
        self._conversions = [(i, process) for i, process in enumerate(processors) if process is not None]
        """SQLAlchemy's conversions of the values for the driver (on SQLite: booleans to integers, ...)."""
        escaped = compiled.escaped_bind_names
        self.driver_names = [escaped.get(name, name) for name in names]
        self._as_they_are = self.positional and not self.fixed and not self._conversions
        """Whether the driver takes the values picked as they are (SQLite's, mostly): one ``itemgetter`` call."""

    def parameters(self, params: Params) -> Any:
        """The driver's parameters for these named values: a sequence or a dict, as its paramstyle wants."""
        if self._as_they_are:
            return self._values(params)
        return self.many([params])[0]

    def many(self, rows: Sequence[Params]) -> list[Any]:
        """``parameters`` of each of ``rows``, taken a list at a time (an executemany of a batch's rows: the values
        picked by one ``itemgetter`` mapped over the rows, the conversions applied column by column)."""
        if self.fixed:
            rows = [{**self.fixed, **params} for params in rows]
        values: list[Any] = list(map(self._values, rows))
        if self._conversions:
            values = [list(row) for row in values]
            for i, process in self._conversions:
                for row in values:
                    row[i] = process(row[i])
        if self.positional:
            return values
        names = self.driver_names
        return [dict(zip(names, row, strict=True)) for row in values]


def _processor(bind: sa.BindParameter[Any], dialect: Dialect) -> Callable[[Any], Any] | None:
    processor: Callable[[Any], Any] | None = bind.type.dialect_impl(dialect).bind_processor(dialect)
    return processor


_prepared: dict[tuple[int, int], Prepared] = {}


def prepared(statement: sa.ClauseElement, dialect: Dialect) -> Prepared:
    """The statement compiled for ``dialect`` (and its driver), compiled on first use and kept."""
    key = (id(statement), id(dialect))  # both kept alive by the Prepared: their ids stay theirs
    found = _prepared.get(key)
    if found is None:
        found = _prepared[key] = Prepared(statement, dialect)
    return found


def fetch(cursor: Any, dialect: Dialect, statement: sa.ClauseElement, params: Params) -> list[Any]:
    """Run a select built once on a DBAPI cursor of ``dialect``'s driver; its rows, as the driver returns them
    (tuples, without SQLAlchemy's result processing: for columns whose values the driver returns as they are)."""
    ready = prepared(statement, dialect)
    try:
        cursor.execute(ready.sql, ready.parameters(params))
        return list(cursor.fetchall())
    except dialect.loaded_dbapi.Error as exc:
        error = dialect.loaded_dbapi.Error
        raise sa.exc.DBAPIError.instance(ready.sql, params, exc, error, dialect=dialect) from exc


def execute(cursor: Any, dialect: Dialect, statement: sa.ClauseElement, params: Params | Sequence[Params]) -> int:
    """Run a statement built once on a DBAPI cursor of ``dialect``'s driver, in whatever transaction its
    connection is in, with one set of named parameters or a list of them (one executemany); the row count the
    driver reports (with a list, the rows of every execution together)."""
    ready = prepared(statement, dialect)
    try:
        if type(params) is dict or isinstance(params, Mapping):
            cursor.execute(ready.sql, ready.parameters(params))
        else:
            cursor.executemany(ready.sql, ready.many(params))
        return int(cursor.rowcount)
    except dialect.loaded_dbapi.Error as exc:
        error = dialect.loaded_dbapi.Error
        raise sa.exc.DBAPIError.instance(ready.sql, params, exc, error, dialect=dialect) from exc
