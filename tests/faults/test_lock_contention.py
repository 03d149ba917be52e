"""Database lock contention on PostgreSQL under load: appends, the relay and the projectors all wait on
locks held by another session for longer than the gateway waits for a service, then go on.

The office-space service runs as two replicas (the second without relay and projector, as replicas run
in production), so a command and its retry by the client, after the gateway stopped waiting, can both be
waiting for the store at once.
"""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from services.common.runtime.processes import ProcessGroup, free_port, healthy, service_argv, wait_until
from services.common.write.store import APPEND_LOCK_KEY
from tests.faults.conftest import StartPlatform
from tests.faults.harness import Load, check_invariants, seed_world

pytestmark = [pytest.mark.faults, pytest.mark.broker, pytest.mark.postgres, pytest.mark.slow]

LOCK_SECONDS = 6
RPC_TIMEOUT = 2
"""The gateway gives up on a waiting command before the locks go: clients retry while it still waits."""


def test_lock_contention_on_postgresql_under_load_loses_and_doubles_nothing(
    postgres_server: str, start_platform: StartPlatform
) -> None:
    platform = start_platform(database="postgres", env={"RPC_TIMEOUT": str(RPC_TIMEOUT)})
    port = free_port()
    replica_env = {"PORT_OFFICE_SPACE": str(port), "RELAY_IN_PROCESS": "false", "PROJECTORS_IN_PROCESS": "false"}
    ProcessGroup(platform.var_dir, {**platform.env, **replica_env}).spawn(
        "office_space-2", service_argv("office_space")
    )
    wait_until(lambda: healthy(port), 90, "the second office-space replica")
    token = platform.token()
    seed = seed_world(platform, token)
    store = sa.create_engine(platform.database_url("office_space"))
    gateway = sa.create_engine(platform.database_url("gateway"))
    try:
        with Load(platform, token, seed) as load:
            load.wait_for(30)
            with store.connect() as appends, store.connect() as relay:
                appends.execute(sa.text("SELECT pg_advisory_lock(:key)"), {"key": APPEND_LOCK_KEY})
                appends.commit()
                relay.execute(sa.text("SELECT * FROM relay_progress FOR UPDATE"))
                time.sleep(LOCK_SECONDS)  # the contention itself: every append and the relay wait
                relay.rollback()
                appends.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": APPEND_LOCK_KEY})
                appends.commit()
            load.wait_for(load.accepted_count() + 10)
            with gateway.connect() as projector:
                lock_tables(projector, "os_staff, os_rooms")
                time.sleep(LOCK_SECONDS / 2)  # the data-center projector waits
                projector.rollback()
            load.wait_for(load.accepted_count() + 30)
        report = check_invariants(platform, seed.outcomes + load.outcomes)
        print(report)
    finally:
        store.dispose()
        gateway.dispose()


def lock_tables(conn: sa.Connection, tables: str) -> None:
    """Take ``tables`` in ACCESS EXCLUSIVE mode. They are locked one after the other: a reader of the gateway
    holding the second and asking for the first is a deadlock, which PostgreSQL ends by failing one of the two.
    When it is this session, it asks again; when it is the gateway's, the gateway answers 503 to that read, or
    its projector replays the batch (tests/unit/gateway/test_database_down.py)."""
    for _ in range(20):
        try:
            conn.execute(sa.text(f"LOCK TABLE {tables} IN ACCESS EXCLUSIVE MODE"))
            return
        except sa.exc.OperationalError as exc:
            if getattr(exc.orig, "sqlstate", None) != "40P01":  # deadlock_detected
                raise
            conn.rollback()
    raise AssertionError(f"could not lock {tables}")
