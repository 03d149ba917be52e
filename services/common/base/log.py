"""Structured JSON logs (structlog): one line per event of interest, always with ``service`` and
``correlation_id`` and, where known, ``event_id``, ``stream_id`` and ``district``.

The correlation id travels gateway → RPC context → event metadata → Kafka headers → projector; each hop
binds it with ``bind_context`` so every line logged while handling that work carries it.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from typing import Any, TextIO

import structlog


def configure_logging(service: str, level: str = "INFO") -> None:
    """Send JSON lines to stderr, each with ``service`` and the bound context."""
    logging.basicConfig(stream=sys.stderr, level=level, format="%(message)s")
    for noisy in ("kafka", "kombu", "amqp", "nameko", "alembic"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))
    structlog.configure(
        processors=[
            _add_service(service),
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(ensure_ascii=False),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=LossyPrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=True,
    )


class LossyPrintLogger(structlog.PrintLogger):
    """A ``PrintLogger`` that drops a line it cannot write instead of raising.

    On a full disk (or a file-size limit) writing the log fails with ``OSError``; raised from ``log.info`` it
    would fail the work being logged — a relay round, a projector batch, the service's own main loop, which then
    exited (found by the fault campaign's ``fill_disk``). Losing a log line is the lesser harm; the lines still
    buffered are written once the disk has room again.
    """

    def msg(self, message: str) -> None:
        """Print ``message``, or drop it if the file cannot take it."""
        with suppress(OSError):
            super().msg(message)

    log = debug = info = warn = warning = msg
    fatal = failure = err = error = critical = exception = msg


class LossyStream:
    """A standard stream (stdout, stderr) that drops what it cannot write instead of raising ``OSError``.

    The structured log is lossy on its own (``LossyPrintLogger``), but others write to these streams too: eventlet's
    hub prints the traceback of a green thread that ended with an exception, ``threading`` and ``warnings`` print,
    stdlib ``logging`` reports its own failures. On a full disk or under a file-size limit such a write raises, and
    raised inside eventlet's hub it ends the hub and with it the whole process (exit 1, its last words unwritten).
    What is still buffered is written once the file can grow again.
    """

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        """Write ``text``, or drop it if the file cannot take it (its length is answered either way)."""
        try:
            return self._stream.write(text)
        except OSError:
            return len(text)

    def writelines(self, lines: Iterable[str]) -> None:
        """Write each of ``lines`` as ``write`` does."""
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        """Flush, or leave the buffer as it is if the file cannot take it."""
        with suppress(OSError):
            self._stream.flush()

    def __getattr__(self, name: str) -> Any:  # fileno, isatty, encoding, buffer...: the stream's own
        return getattr(self._stream, name)


def standard_streams_lossy() -> None:
    """Make this process's stdout and stderr ``LossyStream``s: for a long-running process (a service, a relay),
    whose work must go on through a full disk. A command-line tool keeps streams that fail loudly."""
    if not isinstance(sys.stdout, LossyStream):
        sys.stdout = LossyStream(sys.stdout)
    if not isinstance(sys.stderr, LossyStream):
        sys.stderr = LossyStream(sys.stderr)


class LossyPrintLoggerFactory:
    """Makes ``LossyPrintLogger``s on one file (structlog's logger factory protocol)."""

    def __init__(self, file: TextIO) -> None:
        self._file = file

    def __call__(self, *args: Any) -> LossyPrintLogger:
        return LossyPrintLogger(self._file)


def _add_service(service: str) -> Any:
    # A processor, not a context variable: green threads and OS threads start with an empty context.
    def add(_logger: Any, _name: str, event_dict: dict[str, Any]) -> dict[str, Any]:
        event_dict.setdefault("service", service)
        return event_dict

    return add


def get_logger(**initial: Any) -> Any:
    """A structlog logger carrying ``initial`` values."""
    return structlog.get_logger(**initial)  # lazy: resolved after configure_logging, not at import


@contextmanager
def bind_context(**values: Any) -> Iterator[None]:
    """Bind values (correlation_id, event_id, ...) to every log line inside the block."""
    tokens = structlog.contextvars.bind_contextvars(**{k: v for k, v in values.items() if v is not None})
    try:
        yield
    finally:
        structlog.contextvars.reset_contextvars(**tokens)
