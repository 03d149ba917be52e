"""Database engines and Alembic migrations, the same code for SQLite and PostgreSQL.

SQLite is opened in WAL mode and every transaction begins ``IMMEDIATE``: writers take the write lock
before they read the stream version, so concurrent appends serialize instead of failing late, and
commit order equals position order. On PostgreSQL appends serialize on an advisory lock (see
``services.common.store``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.engine import Engine

_MIGRATION_TREES: dict[str, Path] = {}
MIGRATION_LOCK_KEY = 0x676F765F6D6967
"""PostgreSQL advisory lock id held while migrating, so several processes starting at once do not race."""


def create_db_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url``; SQLite files get their folder, WAL mode and immediate transactions."""
    if url.startswith("sqlite"):
        path = sa.engine.make_url(url).database
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, **kwargs)
        _sqlite_immediate_transactions(engine)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", 5)
    return sa.create_engine(url, **kwargs)


def _sqlite_immediate_transactions(engine: Engine) -> None:
    # pysqlite's own transaction handling begins lazily (DEFERRED); take control so BEGIN IMMEDIATE
    # gets the write lock up front (the SQLAlchemy "serializable isolation / savepoints" recipe).
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        # Readers (engines made by ``reader``) begin DEFERRED so they never wait for the write lock.
        conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get("readonly") else "BEGIN IMMEDIATE")


def reader(engine: Engine) -> Engine:
    """The same engine (same pool) for read-only work: on SQLite its transactions do not take the write lock."""
    return engine.execution_options(readonly=True)


def is_postgres(engine: Engine | sa.Connection) -> bool:
    """Whether the engine or connection talks to PostgreSQL."""
    return engine.dialect.name == "postgresql"


def register_migrations(name: str, directory: Path) -> None:
    """Declare an Alembic tree (``directory`` holds ``versions/``) applied by ``migrate``."""
    _MIGRATION_TREES[name] = directory


def migrate(engine: Engine, *names: str) -> None:
    """Bring the named migration trees (default: all registered) to their head revision."""
    for name in names or tuple(_MIGRATION_TREES):
        directory = _MIGRATION_TREES[name]
        config = Config()
        config.set_main_option("script_location", str(directory))
        config.set_main_option("path_separator", "os")
        config.set_main_option("version_locations", str(directory / "versions"))
        with engine.begin() as connection:
            if is_postgres(connection):  # replicas starting together migrate one after the other
                connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
            config.attributes["connection"] = connection
            config.attributes["version_table"] = f"alembic_version_{name}"
            command.upgrade(config, "head")


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
