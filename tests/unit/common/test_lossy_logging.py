"""A log line that cannot be written (a full disk) is dropped; it never fails the work that logged it."""

from __future__ import annotations

import errno
import io
import sys

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
