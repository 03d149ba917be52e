"""Database engines and Alembic migrations, the same code for SQLite and PostgreSQL.

SQLite is opened in WAL mode and every transaction begins ``IMMEDIATE``: writers take the write lock
before they read the stream version, so concurrent appends serialize instead of failing late, and
commit order equals position order. On PostgreSQL appends serialize on an advisory lock (see
``services.common.write.store``).

How durable a SQLite commit is: ``synchronous=NORMAL`` by default (in WAL mode the log is synced at
checkpoints only: a power cut or an OS crash may lose the last commits, never corrupt the file) — enough for
read models, which a rebuild makes again from Kafka; the event stores ask for ``FULL`` (the log synced at
every commit, SQLite's own default), since an event the relay published must not vanish from its store. A
transaction that may be lost that way without harm, on any engine, asks for it with ``unsynced(engine)``: what is
made again when lost — the relay's record of how far it published, which a power cut only takes back to an earlier
position (the relay then sends those events again, and every consumer drops an event id it applied), and the
store's actor index (filled again from the events).
"""

from __future__ import annotations

import ast
import contextlib
import sqlite3
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from pathlib import Path
from typing import Any, TypeVar, cast

import sqlalchemy as sa
from eventlet import patcher, tpool
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.pool import QueuePool

from services.common.kernel.errors import ServiceUnavailable

T = TypeVar("T")

_MIGRATION_TREES: dict[str, Path] = {}
MIGRATION_LOCK_KEY = 0x676F765F6D6967
"""PostgreSQL advisory lock id held while migrating, so several processes starting at once do not race."""


def create_db_engine(
    url: str, sqlite_cache_mb: int | None = None, sqlite_synchronous: str = "NORMAL", **kwargs: Any
) -> Engine:
    """An engine for ``url``; SQLite files get their folder, WAL mode, immediate transactions and
    ``sqlite_synchronous`` (``NORMAL`` or ``FULL``, see above) (and, with ``sqlite_cache_mb``, a page cache of that
    size per connection instead of SQLite's 2 MB)."""
    if sqlite_synchronous not in ("NORMAL", "FULL"):
        raise ValueError(f"sqlite_synchronous is NORMAL or FULL, not {sqlite_synchronous!r}")
    if url.startswith("sqlite"):
        path = sa.engine.make_url(url).database
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, **kwargs)
        _sqlite_immediate_transactions(engine, sqlite_cache_mb, sqlite_synchronous)
    else:
        kwargs.setdefault("pool_pre_ping", True)
        kwargs.setdefault("pool_size", 5)
        engine = sa.create_engine(url, **kwargs)
        event.listen(engine, "begin", _postgres_commit_unsynced_if_asked)
    event.listen(engine, "commit", _commit_of_connection)
    return engine


def unsynced(engine: Engine) -> Engine:
    """The same engine (same pool) for transactions whose commit need not wait for the disk: a power cut or an OS
    crash may take back the last of them, never corrupt anything (SQLite's ``synchronous=NORMAL`` on an engine made
    ``FULL``, PostgreSQL's ``synchronous_commit = off``). Only for records that are made again when lost (the
    relay's progress, the actor index); a commit waiting for its fsync also holds up every green thread of the
    process meanwhile.
    Made once per engine and kept on it."""
    made: Engine | None = engine.__dict__.get("_unsynced_engine")
    if made is None:
        made = engine.__dict__["_unsynced_engine"] = engine.execution_options(unsynced=True)
    return made


def _postgres_commit_unsynced_if_asked(conn: sa.Connection) -> None:
    if conn.get_execution_options().get("unsynced"):
        conn.exec_driver_sql("SET LOCAL synchronous_commit = off")  # this transaction's alone


def _sqlite_immediate_transactions(engine: Engine, cache_mb: int | None, synchronous: str) -> None:
    # pysqlite's own transaction handling begins lazily (DEFERRED); take control so BEGIN IMMEDIATE
    # gets the write lock up front (the SQLAlchemy "serializable isolation / savepoints" recipe).
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA busy_timeout=30000")
        if cache_mb:
            cursor.execute(f"PRAGMA cache_size=-{int(cache_mb) * 1024}")  # negative: KiB rather than pages
        cursor.close()
        record.info["synchronous"] = synchronous

    @event.listens_for(engine, "checkin")
    def _on_checkin(dbapi_connection: Any, record: Any) -> None:
        # back in the pool at the engine's own setting (after an ``unsynced`` checkout), so that every later checkout
        # — a transaction, or work on the driver's connection without a ``begin`` (``insert_if_absent``, the appends'
        # ``KeptConnections``) — syncs as the engine does
        if dbapi_connection is not None and record.info.get("synchronous") != synchronous:
            try:
                dbapi_connection.execute(f"PRAGMA synchronous={synchronous}")
            except sqlite3.Error as error:  # not to be handed out again at another setting: the pool opens a new one
                record.invalidate(error)
                return
            record.info["synchronous"] = synchronous

    @event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        options = conn.get_execution_options()
        if options.get("readonly"):  # engines made by ``reader``: DEFERRED, never waiting for the write lock
            conn.exec_driver_sql("BEGIN")
            return
        if options.get("unsynced"):  # a connection's setting, changed outside any transaction: for this checkout's
            # transactions alone (it goes back to the pool at the engine's own, ``_on_checkin``)
            conn.exec_driver_sql("PRAGMA synchronous=NORMAL")
            conn.connection.info["synchronous"] = "NORMAL"
        conn.exec_driver_sql("BEGIN IMMEDIATE")


_COMMITS_BEGUN: ContextVar[int] = ContextVar("commits_begun", default=0)


def commit_begun() -> None:
    """Note that a commit is about to be sent in the current context (a worker's green thread): from then on
    what it wrote may be stored, whatever the database answers. Called by every commit of an engine made by
    ``create_db_engine`` and by the writes that commit on the driver's connection themselves (an append)."""
    _COMMITS_BEGUN.set(_COMMITS_BEGUN.get() + 1)


def commits_begun() -> int:
    """How many commits the current context has begun (compare two readings: equal means nothing written by
    it since the first can be stored)."""
    return _COMMITS_BEGUN.get()


def _commit_of_connection(_conn: sa.Connection) -> None:
    commit_begun()


REMOTE_STORE_FAILURES = frozenset({"OperationalError"})
"""The exception types a service's store failing reaches its caller as (nameko's ``RemoteError.exc_type``)."""


def store_failed(error: BaseException) -> bool:
    """Whether ``error`` is a database failing rather than the work given it: SQLAlchemy's ``OperationalError``
    (a deadlock, a lock or statement timeout, a full disk, an I/O error, a server shutting down, a connection
    refused), any driver error that lost its connection, a driver's own ``OperationalError`` raised unwrapped (a
    statement run on the driver's connection: ``insert_if_absent``, ``fetch``), here or in the service a call went
    to (``REMOTE_STORE_FAILURES``). Done again later, the same work succeeds; it says nothing about the event or
    request, which must not be refused or dead-lettered for it."""
    if isinstance(error, sa.exc.DBAPIError):
        return isinstance(error, sa.exc.OperationalError) or error.connection_invalidated
    if isinstance(error, _driver_errors()):
        return isinstance(error, _driver_errors("OperationalError"))
    return getattr(error, "exc_type", None) in REMOTE_STORE_FAILURES  # nameko's RemoteError, without nameko


def local_store_failed(error: BaseException) -> bool:
    """``store_failed`` for an error this process's own database raised (SQLAlchemy's or a driver's), not one a
    service called sent back: only then is it known that the failure was met before anything was sent elsewhere."""
    return isinstance(error, (sa.exc.DBAPIError, *_driver_errors())) and store_failed(error)


def _driver_errors(name: str = "Error") -> tuple[type[BaseException], ...]:
    """The PEP 249 exception class ``name`` of each database driver this process has imported (sqlite3, psycopg):
    a driver not imported raised nothing, so it is never imported here for this."""
    found = []
    for module in ("sqlite3", "psycopg"):
        driver = sys.modules.get(module)
        kind = getattr(driver, name, None) if driver is not None else None
        if isinstance(kind, type) and issubclass(kind, BaseException):
            found.append(kind)
    return tuple(found)


@contextlib.contextmanager
def unavailable_when_store_fails(message: str) -> Iterator[None]:
    """Run the block; this process's database failing in it (``local_store_failed``) is raised as
    ``ServiceUnavailable(message)``, a 503 for work that sent nothing yet and may simply be asked again (a token
    lookup, a command's reference check, an idempotency key's binding, a key store's answer). Any other error
    (a service called answering that its own database failed included) stays as it is."""
    try:
        yield
    except Exception as error:
        if not local_store_failed(error):
            raise
        raise ServiceUnavailable(message) from None


def reader(engine: Engine) -> Engine:
    """The same engine (same pool) for read-only work: on SQLite its transactions do not take the write lock.

    Made once per engine and kept on it (making one costs more than a small query).
    """
    if engine.get_execution_options().get("readonly"):
        return engine
    made: Engine | None = engine.__dict__.get("_readonly_engine")
    if made is None:
        made = engine.__dict__["_readonly_engine"] = engine.execution_options(readonly=True)
    return made


def unpinged(engine: Engine) -> Engine:
    """On PostgreSQL, an engine of ``engine``'s database whose pool does not ping a connection before each
    checkout (a round trip each time): for work that finds a lost connection itself (the event store's
    appends). Made once per engine, kept on it, with a small pool, and disposed with it, so that a process
    holding many engines (a test suite) does not hold twice their connections. ``engine`` itself elsewhere."""
    if not is_postgres(engine):
        return engine
    made: Engine | None = engine.__dict__.get("_unpinged_engine")
    if made is None:
        url = engine.url.render_as_string(hide_password=False)
        # appends queue under the store's append lock anyway: more connections would only wait on the server
        made = engine.__dict__["_unpinged_engine"] = create_db_engine(
            url, pool_pre_ping=False, pool_size=2, max_overflow=2
        )
        event.listen(engine, "engine_disposed", lambda _engine: made.dispose())
    return made


class KeptConnections:
    """Driver connections of a SQLite engine kept for work done on the driver alone (the event store's appends),
    each used by one caller at a time: taken from and given back to a list, without the pool's checkout and
    checkin (its bookkeeping, and the rollback it resets every returned connection with, cost several µs: more
    than an append's Python around its statement). Each is opened by the engine's pool (its ``connect`` listeners
    ran: WAL, ``synchronous``) and detached from it; those kept are closed when the engine is disposed. A connection
    is given back only after its transaction ended (committed or rolled back). One per engine: ``kept_connections``."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._idle: list[Any] = []
        event.listen(engine, "engine_disposed", lambda _engine: self.close())

    def take(self) -> Any:
        """An idle driver connection, or a new one."""
        try:
            return self._idle.pop()  # atomic: threads and green threads never get the same one
        except IndexError:
            connection = self._engine.raw_connection()
            driver = connection.driver_connection
            connection.detach()
            return driver

    def give_back(self, driver: Any) -> None:
        """Keep ``driver`` (out of any transaction) for the next ``take``."""
        self._idle.append(driver)

    def close(self) -> None:
        """Close the connections kept."""
        while self._idle:
            self._idle.pop().close()


def kept_connections(engine: Engine) -> KeptConnections | None:
    """The connections of SQLite ``engine`` kept for appends (``KeptConnections``), made once and kept on it, so
    that the stores on one engine keep their connections together; None on PostgreSQL, and for a SQLite database in
    memory (each of its connections is a database of its own: the pool keeps the one per thread)."""
    if is_postgres(engine) or not isinstance(engine.pool, QueuePool):
        return None
    made: KeptConnections | None = engine.__dict__.get("_kept_connections")
    if made is None:
        made = engine.__dict__["_kept_connections"] = KeptConnections(engine)
    return made


_COMPILED: dict[tuple[str, sa.Select[Any]], tuple[str, list[str] | None, dict[str, Any]]] = {}


def fetch(engine: Engine, query: sa.Select[Any], params: dict[str, Any]) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Run a SELECT built once at import (``sa.bindparam`` for its values) straight on a pooled DBAPI connection;
    the column names and the rows as tuples.

    For the few reads every command or relay round makes: no transaction is begun (on SQLite each statement
    sees a committed state of its own) and nothing is converted, which costs a tenth of a ``Connection``'s
    execution. Only for plain columns (text, numbers) and single-statement reads that need no snapshot shared
    with another statement.
    """
    compiled = _COMPILED.get((engine.dialect.name, query))
    if compiled is None:
        statement = query.compile(dialect=engine.dialect)
        order = list(statement.positiontup) if statement.positiontup is not None else None
        compiled = _COMPILED[(engine.dialect.name, query)] = (str(statement), order, dict(statement.params))
    sql, order, defaults = compiled
    params = {**defaults, **params}  # literals in the query are bound parameters with their values
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        cursor.execute(sql, tuple(params[name] for name in order) if order is not None else params)
        names = [column[0] for column in cursor.description]
        rows: list[tuple[Any, ...]] = list(cursor.fetchall())
        cursor.close()
    finally:
        connection.close()
    return names, rows


_INSERTS: dict[tuple[str, sa.Table, tuple[str, ...]], tuple[str, list[str] | None]] = {}


def insert_if_absent(engine: Engine, table: sa.Table, row: dict[str, Any], off_the_hub: bool = False) -> bool:
    """Insert ``row`` into ``table`` unless a row with its primary key is there already (``ON CONFLICT DO
    NOTHING``), as one statement committed at once on a pooled DBAPI connection, as ``fetch`` reads; whether it
    was inserted.

    For a write every request makes (the gateway binding an idempotency key): a ``Connection``'s transaction,
    its ``BEGIN IMMEDIATE``, the statement's compilation and its result cost several times the insert itself.
    Raises the driver's own errors (``engine.dialect.dbapi.OperationalError`` for a database that does not
    answer), not SQLAlchemy's.

    ``off_the_hub``: on SQLite in a green-threaded process, the statement and its commit run on a thread of
    eventlet's pool (``off_the_hub_if``), for an engine whose commits sync the disk (``sqlite_synchronous="FULL"``)
    and a table no other green thread of the process writes meanwhile (the key store's keys)."""
    columns = tuple(row)
    compiled = _INSERTS.get((engine.dialect.name, table, columns))
    if compiled is None:
        dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
        values: dict[str, Any] = {c: sa.bindparam(c) for c in columns}
        statement = dialect.insert(table).values(values).on_conflict_do_nothing()
        done = statement.compile(dialect=engine.dialect)
        order = list(done.positiontup) if done.positiontup is not None else None
        compiled = _INSERTS[(engine.dialect.name, table, columns)] = (str(done), order)
    sql, order = compiled
    parameters = tuple(row[name] for name in order) if order is not None else row
    connection = engine.raw_connection()
    try:
        driver: Any = connection.driver_connection  # sqlite3's or psycopg's connection

        def insert() -> bool:  # the driver's calls alone: no SQLAlchemy (and its pool's green locks) on a thread
            cursor = driver.cursor()
            cursor.execute(sql, parameters)
            inserted = cursor.rowcount == 1
            cursor.close()
            driver.commit()  # SQLite's connections (``create_db_engine``) commit each statement anyway
            return bool(inserted)

        commit_begun()
        return off_the_hub_if(off_the_hub and engine.dialect.name == "sqlite", insert)
    finally:
        connection.close()  # back to the pool, rolled back there after a failure


def off_the_hub_if(wanted: bool, work: Callable[[], T]) -> T:
    """``work()``, on a thread of eventlet's pool (``eventlet.tpool``) when ``wanted`` and the process runs green
    threads (a service or the gateway), else here.

    For a SQLite statement whose commit syncs the disk: every green thread of a process runs on one OS thread,
    so a commit waiting for the disk (0.2 ms on an idle machine, 1 ms and more while the platform's other
    processes sync theirs) froze the process's every other request meanwhile; on a thread of the pool only its
    caller waits (the driver lets the other threads run while SQLite works). ``work`` makes the driver's calls
    alone: SQLAlchemy's pool and its green locks stay on the hub. PostgreSQL's driver waits green already.

    Not for a database the process's other green threads write too: one of them beginning a write meanwhile waits
    for the lock in SQLite's busy handler, which sleeps 1, 2, 5 ms ... on the hub, longer than the commit it waits
    for (tried for an event store's appends, beside its relay's and projector's writes: p99 at 200 commands/s
    went from 0.1-0.2 s to 0.7-1.7 s)."""
    if wanted and patcher.is_monkey_patched("thread"):
        return cast(T, tpool.execute(work))
    return work()


def is_postgres(engine: Engine | sa.Connection) -> bool:
    """Whether the engine or connection talks to PostgreSQL."""
    return engine.dialect.name == "postgresql"


def register_migrations(name: str, directory: Path) -> None:
    """Declare an Alembic tree (``directory`` holds ``versions/``) applied by ``migrate``."""
    _MIGRATION_TREES[name] = directory


def migrate(engine: Engine, *names: str, revision: str = "head") -> None:
    """Bring the named migration trees (default: all registered) to their head revision (or to ``revision``: a test
    making a database as an older release left it).

    Alembic (and Mako with it: some 7 MB resident at import, 3 more once it ran) is imported only when a tree is not
    certainly at its head already (``at_head``): a service starting on its own database, as it does every time but
    the first after a release with a new migration, never loads it."""
    trees = names or tuple(_MIGRATION_TREES)
    if revision == "head":
        trees = tuple(name for name in trees if not at_head(engine, name))
    if not trees:
        return
    from alembic import command  # here: see above

    for name in trees:
        config = alembic_config(name)
        with engine.begin() as connection:
            if is_postgres(connection):  # replicas starting together migrate one after the other
                connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
            config.attributes["connection"] = connection
            config.attributes["version_table"] = _version_table(name)
            command.upgrade(config, revision)


def alembic_config(name: str) -> Any:
    """Alembic's configuration of migration tree ``name`` (its scripts; the caller sets the connection and the
    version table in its ``attributes``). Imports Alembic."""
    from alembic.config import Config

    directory = _MIGRATION_TREES[name]
    config = Config()
    config.set_main_option("script_location", str(directory))
    config.set_main_option("path_separator", "os")
    config.set_main_option("version_locations", str(directory / "versions"))
    return config


def _version_table(name: str) -> str:
    return f"alembic_version_{name}"


def at_head(engine: Engine, name: str) -> bool:
    """Whether the database of ``engine`` holds tree ``name`` at its one head revision (``tree_head``): its version
    table has that one row. False whenever that is not certain (no such table, no single head found), and Alembic
    then decides. A database at its head stays there (nothing downgrades it), so replicas may check it unlocked."""
    head = tree_head(_MIGRATION_TREES[name] / "versions")
    if head is None:
        return False
    table = _version_table(name)
    with reader(engine).connect() as connection:
        if not sa.inspect(connection).has_table(table):
            return False
        stored = list(connection.execute(sa.text(f"SELECT version_num FROM {table}")).scalars())
    return stored == [head]


_REVISION_NAMES = ("revision", "down_revision", "branch_labels", "depends_on")


def tree_head(versions: Path) -> str | None:
    """The head revision of the Alembic scripts in folder ``versions``, read from their source (``ast``) without
    importing Alembic: the one revision no other names as its ``down_revision``. None unless that is certain: a
    script whose four names are not plain literals, one with branch labels or dependencies, a ``down_revision``
    naming no script, several heads or none (Alembic itself refuses to upgrade to ``head`` then). The test of every
    registered tree checks it against Alembic's own ``ScriptDirectory.get_heads``."""
    revisions: set[str] = set()
    below: set[str] = set()
    for path in sorted(versions.iterdir()):
        if path.suffix != ".py" or path.name.startswith((".#", "__init__")) or not path.is_file():  # as Alembic
            continue
        found = _literal_names(path)
        if found is None:
            return None
        revision, down = found.get("revision"), found.get("down_revision")
        if not isinstance(revision, str) or found.get("branch_labels") or found.get("depends_on"):
            return None
        downs = (down,) if isinstance(down, str) else tuple(down) if isinstance(down, (tuple, list)) else ()
        if down is not None and (not downs or not all(isinstance(d, str) for d in downs)):
            return None
        if revision in revisions:
            return None
        revisions.add(revision)
        below.update(downs)
    heads = revisions - below
    return heads.pop() if len(heads) == 1 and below <= revisions else None


def _literal_names(path: Path) -> dict[str, Any] | None:
    """The values of ``_REVISION_NAMES`` in the script at ``path``, each bound once, at the top, to a literal; a name
    bound in any other way (or more than once, or imported) is given as ``...``, which no caller takes for a
    revision. None for a script that is not Python (Alembic says what is wrong with it)."""
    try:
        module = ast.parse(path.read_bytes(), str(path))
    except (SyntaxError, ValueError):
        return None
    bound = Counter(
        node.id for node in ast.walk(module) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)
    )
    for node in ast.walk(module):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            bound.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
    found: dict[str, Any] = {name: ... for name in _REVISION_NAMES if bound[name]}
    for node in module.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
        else:
            continue
        if isinstance(target, ast.Name) and target.id in _REVISION_NAMES and bound[target.id] == 1:
            with contextlib.suppress(ValueError, TypeError, SyntaxError, RecursionError):
                found[target.id] = ast.literal_eval(value)
    return found


def run_migrations_online(context: Any) -> None:
    """The body of every tree's ``env.py``: run on the connection ``migrate`` passes in."""
    config = context.config
    connection = config.attributes["connection"]
    context.configure(
        connection=connection,
        version_table=config.attributes["version_table"],
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()
