"""A log line that cannot be written (a full disk) is dropped; it never fails the work that logged it, nor does any
other write to a service's stdout or stderr end the process."""

from __future__ import annotations

import errno
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
import structlog

from services.common.base.log import LossyPrintLogger, configure_logging, get_logger


class FullDisk(io.StringIO):
    """A file every write to fails as on a full disk (or past a file-size limit)."""

    def write(self, text: str) -> int:
        raise OSError(errno.EFBIG, "File too large")


def test_a_line_the_disk_cannot_take_is_dropped_instead_of_raised() -> None:
    logger = LossyPrintLogger(FullDisk())
    logger.info('{"event": "relay_round"}')  # raised OSError before: the relay round, or the service, died
    logger.error('{"event": "relay_failed"}')


def test_a_line_the_file_takes_is_written() -> None:
    file = io.StringIO()
    LossyPrintLogger(file).warning('{"event": "x"}')
    assert file.getvalue() == '{"event": "x"}\n'


def test_a_service_whose_log_file_is_full_goes_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stderr", FullDisk())
    configure_logging("office_space")
    try:
        get_logger().info("relay_round", published=3)
    finally:
        structlog.reset_defaults()


# -- the process's standard streams -----------------------------------------------------------------------
# A full disk must not end a service through a write to its stderr (``log.standard_streams_lossy``). The fault
# campaign's ``fill_disk`` (seed 25) saw office space exit with status 1 and no last words: under a file-size
# limit eventlet's hub printed a green thread's traceback to stderr, the write raised, and the hub and the process
# ended. ``CHILD`` is such a process: its stderr a file that may not grow, a green thread that ends with an
# exception, and its stdout a pipe (no file, so no limit) on which it says whether it is still alive.

CHILD = """
import eventlet

eventlet.monkey_patch()
import resource
import sys

from services.common.base.log import standard_streams_lossy

if sys.argv[1] == "lossy":
    standard_streams_lossy()
sys.stderr.write("started\\n")
sys.stderr.flush()
resource.setrlimit(resource.RLIMIT_FSIZE, (0, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))


def fails():
    raise RuntimeError("a green thread that ends with an exception")


eventlet.spawn_n(fails)
eventlet.sleep(0.1)
print("alive", flush=True)
"""


def _run(streams: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"PYTHONPATH": str(Path(__file__).resolve().parents[3]), "PYTHONWARNINGS": "ignore"}
    with (tmp_path / f"stderr-{streams}.log").open("w") as stderr:
        return subprocess.run(
            [sys.executable, "-c", CHILD, streams],
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="file-size limits as Linux has them")
def test_a_green_threads_traceback_on_a_full_disk_leaves_the_process_running(tmp_path: Path) -> None:
    lossy = _run("lossy", tmp_path)
    assert (lossy.returncode, lossy.stdout) == (0, "alive\n")
    # the same process with the streams as Python makes them: the hub's write raises and the process ends
    plain = _run("plain", tmp_path)
    assert plain.returncode != 0 and "alive" not in plain.stdout
    assert (tmp_path / "stderr-lossy.log").read_text() == "started\n"  # nothing written past the limit
