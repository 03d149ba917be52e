"""The data center's answers kept between requests, until the projections apply anything new.

A dashboard asks the same few questions over and over (the city, the agencies, the scorecard, the findings)
while the projections move only when events arrive; computing the figures per request costs a core for
hundreds of milliseconds at city scale. So an answer is kept under its question — the route and everything
the answer depends on besides the projection rows: the scope (year, today, district, agency), the filters,
the scorecard file — together with the **version** of the projection it was computed from: every
``(topic, partition, next_offset, updated_at)`` row of the projector's offsets. The projector stores those
in the same transaction as the rows it changes, so any newly applied event (and a reset or a recreated
topic, which rewrite the offsets) changes the version, and the next read computes the answer again.

The version is read before the figures: an answer kept under a version reflects at least that version,
never less, so a kept answer is never staler than what the projection had applied when the request came
in. Readers of the same question wait for the one computing it (a lock per question) rather than
computing it once each.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from eventlet.semaphore import Semaphore
from sqlalchemy.engine import Engine

from services.common.base.db import fetch
from services.common.kernel.errors import ServiceUnavailable
from services.common.read.projector import offsets_table

T = TypeVar("T")

KEPT_QUESTIONS = 128
"""Distinct questions kept (the least recently asked is dropped first); each keeps its latest answer only."""

KEPT_BYTES = 24 * 2**20
"""What the kept answers may hold, as their encoded bodies and downloads weigh (``weight``): beyond it the least
recently asked are dropped first (the last one asked stays, whatever it weighs). An answer's figures as Python
objects weigh a few times its JSON; the per-agency figures they share are kept by ``figures.KeptFigures``."""

_t = offsets_table.c
_VERSION = sa.select(_t.topic, _t.partition, _t.next_offset, _t.updated_at).where(
    _t.projector == sa.bindparam("projector")
)

Version = tuple[tuple[Any, ...], ...]


def applied_version(engine: Engine, projector: str) -> Version:
    """What ``projector`` has applied: its offset rows, in order (they change with every applied batch)."""
    _, rows = fetch(engine, _VERSION, {"projector": projector})
    return tuple(sorted(tuple(row) for row in rows))


def file_stamp(path: Path | None) -> tuple[str, int, int] | None:
    """A file's identity for a question's key (path, modification time, size): an edited scorecard is read anew."""
    if path is None:
        return None
    try:
        stat = path.stat()
    except OSError:
        return (str(path), -1, -1)  # the read itself will say what is wrong
    return (str(path), stat.st_mtime_ns, stat.st_size)


def weight(value: Any) -> int:
    """The bytes a kept answer holds of its own: its encoded body and the downloads made of it (``bytes`` in it,
    a tuple's and a dict's members, one level down)."""
    if isinstance(value, bytes | bytearray):
        return len(value)
    if isinstance(value, tuple | list):
        return sum(weight(member) for member in value if isinstance(member, bytes | bytearray | tuple | dict))
    if isinstance(value, dict):
        return sum(weight(member) for member in value.values() if isinstance(member, bytes | bytearray | tuple))
    return 0


class AnswerCache:
    """Answers by question, each with the projection version it was computed from, at most ``size`` of them and,
    as far as ``weight`` sees, ``max_bytes``."""

    def __init__(self, size: int = KEPT_QUESTIONS, max_bytes: int = KEPT_BYTES) -> None:
        self.size = size
        self.max_bytes = max_bytes
        self._answers: OrderedDict[Hashable, tuple[Version, Any]] = OrderedDict()
        self._locks: dict[Hashable, threading.Lock] = {}
        self._guard = threading.Lock()
        self.computed = 0
        """Answers computed (not found kept): what the tests and the bench count."""

    def answer(self, question: Hashable, version: Version, compute: Callable[[], T]) -> T:
        """The answer kept for ``question`` at ``version``, else ``compute()`` (once for concurrent askers)."""
        found = self._kept(question, version)
        if found is not None:
            return found[0]  # type: ignore[no-any-return]
        with self._guard:
            lock = self._locks.setdefault(question, threading.Lock())
        with lock:
            found = self._kept(question, version)  # computed by the asker this one waited for
            if found is not None:
                return found[0]  # type: ignore[no-any-return]
            value = compute()
            self._keep(question, version, value)
            return value

    def previous(self, question: Hashable) -> Any | None:
        """The answer kept for ``question`` at whatever version (None: none kept): a recomputed answer equal to it
        reuses its JSON and downloads."""
        with self._guard:
            entry = self._answers.get(question)
            return None if entry is None else entry[1]

    def _kept(self, question: Hashable, version: Version) -> tuple[Any] | None:
        with self._guard:
            entry = self._answers.get(question)
            if entry is None or entry[0] != version:
                return None
            self._answers.move_to_end(question)
            return (entry[1],)

    def _keep(self, question: Hashable, version: Version, value: Any) -> None:
        with self._guard:
            self.computed += 1
            self._answers[question] = (version, value)
            self._answers.move_to_end(question)
            while len(self._answers) > self.size:
                self._drop_oldest()
            while len(self._answers) > 1 and self.kept_bytes() > self.max_bytes:
                self._drop_oldest()

    def _drop_oldest(self) -> None:
        dropped, _ = self._answers.popitem(last=False)
        self._locks.pop(dropped, None)

    def kept_bytes(self) -> int:
        """What the kept answers weigh now (downloads are added to a kept answer when first asked for)."""
        return sum(weight(value) for _, value in self._answers.values())

    def clear(self) -> None:
        """Forget every answer."""
        with self._guard:
            self._answers.clear()
            self._locks.clear()


class SharedRounds:
    """A question whose answer is the present state of other processes (``/api/v1/projections`` asks every
    service's store), answered by one round at a time and shared: every asker waits for the first round that
    begins after it asked, so no answer predates its request, and the askers that came while a round ran share
    the next one (ten dashboards asking together cost two rounds, not ten). A round's error is each of its
    askers' error."""

    def __init__(self) -> None:
        self._running = Semaphore(1)
        """Held by the round running (an eventlet semaphore: the gateway's askers are its green threads)."""
        self.rounds = 0
        """Rounds begun, the one running counted (the tests count them too)."""
        self._done = 0
        self._outcome: tuple[bool, Any] = (False, None)
        """The last finished round's (succeeded, its answer or its exception)."""

    def ask(self, compute: Callable[[], T]) -> T:
        """The answer of the first round of ``compute`` begun after this call (begun by this call, or by another
        asker's that waited with it)."""
        wanted = self.rounds + 1
        with self._running:
            if self._done < wanted:
                self.rounds += 1
                self._outcome = (False, ServiceUnavailable("the answer's round was stopped: ask again"))
                try:
                    self._outcome = (True, compute())
                except Exception as exc:
                    self._outcome = (False, exc)
                finally:
                    self._done = self.rounds
            succeeded, found = self._outcome
        if not succeeded:
            raise found
        return found  # type: ignore[no-any-return]


def answers_of(engine: Engine) -> AnswerCache:
    """The answers kept for the projections in ``engine``'s database (one cache per database, kept on its engine)."""
    made: AnswerCache | None = engine.__dict__.get("_data_center_answers")
    if made is None:
        made = engine.__dict__["_data_center_answers"] = AnswerCache()
    return made


def rounds_of(engine: Engine, question: str) -> SharedRounds:
    """The shared rounds of ``question`` for the gateway of ``engine``'s database (kept on its engine, as its answers)."""
    kept: dict[str, SharedRounds] = engine.__dict__.setdefault("_shared_rounds", {})
    return kept.setdefault(question, SharedRounds())
