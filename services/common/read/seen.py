"""The event ids a projector has applied, kept so that a re-published duplicate is ignored.

Live, a batch inserts the ids it applied into ``projector_seen_events`` (indexed by projector and event id) in
the batch's own transaction, and looks up the ids of the next batch there. A batch that applies all its events
or fails (not isolating events) *claims* its ids instead: one insert skipping the ids the table holds, before
applying; a row count short of the ids means one was applied already, and the batch is rolled back and looked up.

A rebuild applies a million events in a row, and a table indexed by a random id (a UUID) costs a page write
per inserted row once it outgrows the database's cache: on SQLite, about 40 µs per event at a million, more
than applying the event itself. So a rebuild *journals* the ids instead: each batch appends them to
``projector_seen_journal`` (no index; one row per batch, its ids as a JSON array) in its transaction and keeps
them in memory, and every ``JOURNAL_FOLD`` ids (and at the end) the journal is folded, sorted, into the indexed
table. A duplicate is found in memory, or, if a Bloom filter of the folded ids says it may have been folded, in
the table. A rebuild that stops half-way leaves its journal behind; the projector folds it before it applies
anything the next time it assigns its partitions.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import cache

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from services.common.base.db import is_postgres
from services.common.read import sql

seen_metadata = sa.MetaData()
seen_table = sa.Table(
    "projector_seen_events",
    seen_metadata,
    sa.Column("projector", sa.String(100), primary_key=True),
    sa.Column("event_id", sa.String(36), primary_key=True),
    sqlite_with_rowid=False,  # its key is all it holds: one b-tree, each id written once (migration p0005)
)
seen_journal_table = sa.Table(
    "projector_seen_journal",
    seen_metadata,
    sa.Column("projector", sa.String(100), nullable=False),
    # the ids of one batch, a JSON array: a row per batch rather than per id (migration p0006) costs a rebuild
    # about 0.7 µs an id to journal rather than 3.5, and its fold's emptying of the journal a few rows to delete
    sa.Column("ids", sa.Text(), nullable=False),
)

JOURNAL_FOLD = 250_000
"""Event ids a rebuild journals (and keeps in memory, some 30 MB) before it folds them into the indexed table."""

_SEEN = sa.select(seen_table.c.event_id).where(seen_table.c.projector == sa.bindparam("projector"))
_DROP_JOURNAL = seen_journal_table.delete().where(seen_journal_table.c.projector == sa.bindparam("projector"))


def _insert(dialect: str) -> postgresql.Insert | sqlite.Insert:
    """An insert into the indexed table in ``dialect``, which may skip the rows it holds already."""
    return postgresql.insert(seen_table) if dialect == "postgresql" else sqlite.insert(seen_table)


_FOLD = {
    "sqlite": "INSERT INTO projector_seen_events (projector, event_id) "
    "SELECT j.projector, e.value FROM projector_seen_journal AS j, json_each(j.ids) AS e "
    "WHERE j.projector = :projector ORDER BY e.value ON CONFLICT DO NOTHING",
    "postgresql": "INSERT INTO projector_seen_events (projector, event_id) "
    "SELECT j.projector, e.value FROM projector_seen_journal AS j "
    "CROSS JOIN LATERAL jsonb_array_elements_text(CAST(j.ids AS jsonb)) AS e(value) "
    "WHERE j.projector = :projector ORDER BY e.value ON CONFLICT DO NOTHING",
}
"""Copy a projector's journal, its ids taken out of each batch's array and sorted (each leaf page of the index is
written once), into the indexed table, skipping the ids it holds. Written for each store's JSON functions: the
ids never pass through Python."""


def _fold_statement(dialect: str) -> sa.TextClause:
    """The fold (``_FOLD``) in ``dialect``."""
    return sa.text(_FOLD[dialect])


@cache
def _claim_statement(dialect: str) -> sa.Insert:
    """Insert ids, skipping those the table holds (its row count says how many it inserted)."""
    return _insert(dialect).on_conflict_do_nothing()


class SeenBefore(Exception):
    """``claim`` found an id applied already: its transaction must be rolled back, and the batch looked up."""


class SeenEvents:
    """The event ids one projector has applied: looked up and remembered with each batch."""

    def __init__(self, engine: Engine, projector: str) -> None:
        self.engine = engine
        self.projector = projector
        self._unfolded: set[str] | None = None
        """Journaling (a rebuild): the ids journaled and not folded yet; None when live."""
        self._folded: _Sieve | None = None
        """Journaling: the ids folded since the journal started (None before the first fold)."""

    @property
    def journaling(self) -> bool:
        """Whether applied ids go to the journal (a rebuild) rather than straight into the indexed table."""
        return self._unfolded is not None

    def among(self, conn: sa.Connection, ids: list[str]) -> set[str]:
        """The ids in ``ids`` applied already."""
        found: set[str] = set()
        if self._unfolded is not None:
            found = self._unfolded.intersection(ids)
            # the table was emptied when the journal started: it holds the folded ids alone
            folded = self._folded
            ids = [i for i in ids if i not in found and i in folded] if folded is not None else []
        rows = sql.fetch_in(conn, _SEEN, seen_table.c.event_id, ids, {"projector": self.projector})
        found.update(row[0] for row in rows)
        return found

    def claim(self, conn: sa.Connection, ids: list[str]) -> bool:
        """Live, for a batch that applies every one of ``ids`` or fails: remember them all at once in its
        transaction, when none was applied already, instead of looking them up first (``among``, a select per
        512 ids) and remembering them after. One insert that skips the ids the table holds says by its row count
        whether it skipped any: then ``SeenBefore`` is raised, and the transaction, which holds the others, must
        be rolled back (the batch is applied again with ``among``). False, having done nothing, when journaling
        or when an id repeats in ``ids`` (the batch looks them up)."""
        if self._unfolded is not None or not ids or len(set(ids)) < len(ids):
            return False
        rows = [{"projector": self.projector, "event_id": i} for i in ids]
        if sql.run(conn, _claim_statement(conn.dialect.name), rows) != len(ids):
            raise SeenBefore(f"{len(ids)} event ids claimed, some applied already")
        return True

    def remember(self, conn: sa.Connection, ids: list[str]) -> None:
        """Keep the ids a batch applied, in the batch's transaction."""
        if not ids:
            return
        if self.journaling:
            sql.insert(conn, seen_journal_table, {"projector": self.projector, "ids": json.dumps(ids)})
        else:
            sql.insert(conn, seen_table, [{"projector": self.projector, "event_id": i} for i in ids])

    def committed(self, ids: Iterable[str]) -> None:
        """The batch that remembered ``ids`` committed (journaling: they are held in memory until folded)."""
        if self._unfolded is None:
            return
        self._unfolded.update(ids)
        if len(self._unfolded) >= JOURNAL_FOLD:
            self.fold()

    def start_journal(self) -> None:
        """Journal the ids from now on (a rebuild, which has emptied the table)."""
        self._unfolded, self._folded = set(), None

    def stop_journal(self) -> None:
        """Insert the ids straight into the indexed table again (what is journaled stays until folded)."""
        self._unfolded = self._folded = None

    def fold(self) -> None:
        """Move the journal into the indexed table, in one transaction."""
        with self.engine.begin() as conn:
            if is_postgres(conn):  # appends to the journal wait: what is copied is exactly what is dropped
                conn.execute(sa.text(f"LOCK TABLE {seen_journal_table.name} IN SHARE ROW EXCLUSIVE MODE"))
            conn.execute(_fold_statement(conn.dialect.name), {"projector": self.projector})
            conn.execute(_DROP_JOURNAL, {"projector": self.projector})
        if self._unfolded is not None:
            if self._folded is None:
                self._folded = _Sieve()
            self._folded.add_all(self._unfolded)
            self._unfolded = set()

    def finish_journal(self) -> None:
        """Fold the journal and insert the ids straight into the indexed table from now on (a rebuild's end). The
        ids folded last are not added to the Bloom filter (some 2 µs each), which goes with the journal."""
        self.stop_journal()
        self.fold()

    def forget(self, conn: sa.Connection) -> None:
        """Forget every id (a reset), journaled or not."""
        sql.delete(conn, seen_table, {"projector": self.projector})
        sql.delete(conn, seen_journal_table, {"projector": self.projector})
        if self._unfolded is not None:
            self.start_journal()


class _Sieve:
    """A Bloom filter of strings: ``in`` answers "perhaps added" or "surely not" (16 MiB: fewer than 1 % false
    "perhaps" up to 10 million strings; ``hash`` varies between processes, so it lives in one)."""

    _BITS = 1 << 27
    _MASK = _BITS - 1

    def __init__(self) -> None:
        self._bits = bytearray(self._BITS // 8)

    def _positions(self, key: str) -> tuple[int, int, int, int]:
        h = hash(key)
        a, b = h & self._MASK, ((h >> 27) & self._MASK) | 1
        return a, (a + b) & self._MASK, (a + 2 * b) & self._MASK, (a + 3 * b) & self._MASK

    def add(self, key: str) -> None:
        """Add ``key``."""
        self.add_all((key,))

    def add_all(self, keys: Iterable[str]) -> None:
        """Add each of ``keys``: the positions of ``_positions``, computed and set inline (a rebuild folds a
        quarter of a million ids at a time; two calls and a loop per id were half of the cost)."""
        bits, mask = self._bits, self._MASK
        for key in keys:
            h = hash(key)
            a, b = h & mask, ((h >> 27) & mask) | 1
            bits[a >> 3] |= 1 << (a & 7)
            p = (a + b) & mask
            bits[p >> 3] |= 1 << (p & 7)
            p = (a + 2 * b) & mask
            bits[p >> 3] |= 1 << (p & 7)
            p = (a + 3 * b) & mask
            bits[p >> 3] |= 1 << (p & 7)

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            return False
        bits, (p, q, r, s) = self._bits, self._positions(key)
        # most often false at the first position (an id never added): no generator to set up
        return bool(
            bits[p >> 3] & (1 << (p & 7))
            and bits[q >> 3] & (1 << (q & 7))
            and bits[r >> 3] & (1 << (r & 7))
            and bits[s >> 3] & (1 << (s & 7))
        )
