"""SIGKILL of the data center's projector in the middle of a batch, several times, while commands go on.

The gateway serves HTTP without a projector (``PROJECTORS_IN_PROCESS=false``) and the data-center
projector runs as a process of its own (the production layout). It is killed while a transaction of
applied events is open: its log shows events applied (``event_projected``, DEBUG) that its committed
offsets do not hold yet.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from services.common.runtime.processes import ProcessGroup, free_port, healthy, service_argv, wait_until
from tests.faults.conftest import StartPlatform
from tests.faults.harness import FaultPlatform, Load, check_invariants, seed_world

pytestmark = [pytest.mark.faults, pytest.mark.broker, pytest.mark.slow]

PROJECTOR = "datacenter-projector"
OPEN_BATCH = 50
"""Kill once at least this many events were applied in a transaction that has not committed yet."""


def _committed(platform: FaultPlatform) -> int:
    query = "SELECT coalesce(sum(next_offset), 0) FROM projector_offsets WHERE projector = 'datacenter'"
    with platform.engine("gateway").connect() as conn:
        return int(conn.execute(sa.text(query)).scalar_one())


class LogTail:
    """Counts the ``event_projected`` lines a log gets from now on."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = path.stat().st_size if path.exists() else 0
        self.count = 0

    def projected(self) -> int:
        if self.path.exists():
            with self.path.open("rb") as log:
                log.seek(self.offset)
                chunk = log.read()
            complete = chunk.rfind(b"\n") + 1
            self.offset += complete
            self.count += chunk[:complete].count(b'"event": "event_projected"')
        return self.count


def _kill_mid_batch(platform: FaultPlatform, projecting: ProcessGroup, port: int) -> bool:
    """Start the projector, SIGKILL it with a batch open; whether the kill rolled applied events back."""
    tail = LogTail(projecting.log_dir / f"{PROJECTOR}.log")
    before = _committed(platform)
    projecting.spawn(PROJECTOR, service_argv("gateway"))
    deadline = time.monotonic() + 60
    while tail.projected() - (_committed(platform) - before) < OPEN_BATCH:
        assert time.monotonic() < deadline, "the projector never had a batch open"
        time.sleep(0.005)
    platform.kill(PROJECTOR)
    return _committed(platform) - before < tail.projected()


def test_sigkill_of_the_projector_mid_batch_applies_every_event_once(start_platform: StartPlatform) -> None:
    platform = start_platform()
    token = platform.token()
    seed = seed_world(platform, token)
    serving = ProcessGroup(platform.var_dir, {**platform.env, "PROJECTORS_IN_PROCESS": "false"})
    platform.processes.stop("gateway")
    platform.restart("gateway", serving)
    port = free_port()
    projecting = ProcessGroup(platform.var_dir, {**platform.env, "PORT_GATEWAY": str(port), "LOG_LEVEL": "DEBUG"})
    with Load(platform, token, seed) as load:
        load.wait_for(300)  # a backlog: the projector takes it in big batches
        rolled_back = [_kill_mid_batch(platform, projecting, port) for _ in range(3)]
        projecting.spawn(PROJECTOR, service_argv("gateway"))
        wait_until(lambda: healthy(port), 60, "the data-center projector")
        load.wait_for(load.accepted_count() + 20)
    assert any(rolled_back), "no kill landed inside an open batch"
    report = check_invariants(platform, seed.outcomes + load.outcomes)
    print(f"kills rolling an open batch back: {rolled_back}; {report}")
