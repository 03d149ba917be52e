"""The supervisor of `make run` starts again a process that died, after its delay, and leaves a stopped one."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path

from services.common.base.metrics import PROCESS_RESTARTS
from services.common.runtime.processes import ProcessGroup, Supervisor, wait_until

SLEEPER = [sys.executable, "-c", "import time; time.sleep(600)"]


def _pid(group: ProcessGroup, name: str) -> int:
    return int(json.loads((group.run_dir / f"{name}.pid").read_text())["pid"])


def test_a_killed_process_is_started_again_after_its_delay_and_counted(tmp_path: Path) -> None:
    group = ProcessGroup(tmp_path, dict(os.environ))
    lines: list[str] = []
    restarted: list[str] = []
    supervisor = Supervisor(group, after_restart=restarted.append, say=lines.append)
    try:
        group.spawn("sleeper", SLEEPER)
        first = _pid(group, "sleeper")
        before = PROCESS_RESTARTS.labels("sleeper")._value.get()
        os.kill(first, signal.SIGKILL)
        wait_until(lambda: not group.running("sleeper"), 10, "the kill")
        now = time.monotonic()
        assert supervisor.check(now) == []  # noticed: its first death, started again in 1 s
        assert supervisor.check(now + 0.5) == []
        assert supervisor.check(now + 1.0) == ["sleeper"]
        assert group.running("sleeper") and _pid(group, "sleeper") != first
        assert PROCESS_RESTARTS.labels("sleeper")._value.get() == before + 1
        assert restarted == ["sleeper"]
        assert any(line.startswith("process_died name=sleeper") and "exit=-9" in line for line in lines), lines
        # it dies again at once: the second death in a row waits 2 s
        os.kill(_pid(group, "sleeper"), signal.SIGKILL)
        wait_until(lambda: not group.running("sleeper"), 10, "the second kill")
        assert supervisor.check(now + 1.5) == []
        assert supervisor.check(now + 3.0) == []  # 1.5 + 2 = 3.5
        assert supervisor.check(now + 3.5) == ["sleeper"]
    finally:
        group.stop_all()


def test_a_process_stopped_on_purpose_is_not_started_again(tmp_path: Path) -> None:
    group = ProcessGroup(tmp_path, dict(os.environ))
    supervisor = Supervisor(group, say=lambda _: None)
    try:
        group.spawn("sleeper", SLEEPER)
        group.stop("sleeper")  # as `make stop` does: its pid file goes with it
        assert supervisor.check(time.monotonic() + 100) == []
        assert not group.running("sleeper")
    finally:
        group.stop_all()
