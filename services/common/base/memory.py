"""How a process of the platform holds its memory: the development install's optional extras left unimported,
large freed blocks given back to the system, and the objects made at start kept out of the cyclic garbage
collector's passes (each long-lived process calls these once started); and the collector held while a batch whose
objects all live until it is stored is worked on, or a large JSON document is read."""

from __future__ import annotations

import gc
import sys
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext

DEVELOPMENT_EXTRAS = ("rich", "pygments", "lxml")
"""Libraries only the development install has (pulled in by hypothesis, schemathesis, pytest and mypy), which the
platform's own libraries use when they find them: structlog imports rich (and with it pygments) for a console
renderer the services never use (they write JSON lines), openpyxl writes an XLSX through lxml instead of the
standard library's XML writer. In production they are absent; in a development install they cost a service some
3 MB resident at start and the gateway 4 MB more once it wrote a workbook."""


def development_extras_refused(names: tuple[str, ...] = DEVELOPMENT_EXTRAS) -> list[str]:
    """Make ``import`` of each of ``names`` not yet imported fail as when it is not installed (``None`` in
    ``sys.modules``, Python's own way), so a service process runs as it does in production; the names refused.
    Called by the service runner before anything else is imported: a library that already imported one keeps
    it."""
    refused = [name for name in names if name not in sys.modules]
    for name in refused:
        sys.modules[name] = None  # type: ignore[assignment]
    return refused


LARGE_BLOCK_BYTES = 256 * 1024
"""Blocks at least this large are mapped of their own and given back to the system when freed (``mallopt``)."""

_M_MMAP_THRESHOLD = -3
"""glibc's ``mallopt`` parameter number for the mmap threshold (``malloc.h``)."""


def large_blocks_given_back(threshold: int = LARGE_BLOCK_BYTES) -> bool:
    """Fix glibc's mmap threshold at ``threshold`` (False: not glibc, nothing done). glibc raises the threshold each
    time a mapped block is freed, up to 32 MB, so after the first few, large blocks (the gateway's encoded answers:
    megabytes of JSON, made again after every batch while events arrive; an energy batch's readings) are carved out
    of the heap, whose freed space the process keeps: the gateway's resident memory grew by tens of megabytes over
    what it held alive. A fixed threshold maps each such block of its own and unmaps it when freed."""
    import ctypes.util  # here: the service runner imports this module before eventlet patches threading

    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
        mallopt = getattr(libc, "mallopt", None)
    except OSError:
        return False
    return bool(mallopt is not None and mallopt(_M_MMAP_THRESHOLD, threshold) == 1)


def startup_objects_frozen() -> int:
    """Move every object the process holds now (its modules, classes, schemas, compiled statements: made once at
    start and kept until exit) out of the cyclic garbage collector's reach (``gc.freeze``), and return how many.
    A full collection otherwise walks them all again and again — some 200,000 objects in a service, a tenth of an
    energy batch's CPU — to find garbage that is never among them. What is made afterwards is collected as
    before. Called once started by every service process (``runtime.runner``), relay process (``runtime.relay``), the
    rebuild and its reader process."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


_deferring = 0
_collector_was_enabled = True


@contextmanager
def collection_deferred() -> Iterator[None]:
    """Hold the cyclic garbage collector while a batch is worked on and stored (a batch of energy readings; a
    projector's batch of records and their envelopes).

    A batch is tens of thousands of small objects that all live until it is stored; the collector, woken by
    every 700 allocations, would walk them again and again to free nothing (three times the cost of judging
    them, measured on a city hour's batch of readings; a third of a projector's CPU in a process holding much).
    Reference counting still frees everything as usual; cycles wait for the batch's end. Nested and concurrent
    batches (greenthreads) re-enable it when the last one ends.
    """
    global _deferring, _collector_was_enabled
    if _deferring == 0:
        _collector_was_enabled = gc.isenabled()
        gc.disable()
    _deferring += 1
    try:
        yield
    finally:
        _deferring -= 1
        if _deferring == 0 and _collector_was_enabled:
            gc.enable()


LARGE_DOCUMENT_BYTES = 64 * 1024
"""From this size a JSON document (an HTTP body, a district's message, an RPC body) is read with the collector held
(``reading``)."""


def reading(size: int) -> AbstractContextManager[None]:
    """The collector held (``collection_deferred``) while a JSON document of ``size`` bytes is read and checked, if
    it is large. The containers a document is read into are new and acyclic, and the collector, woken every 700 of
    them, walked them again and again for nothing: two thirds of the time to read a district's batch of 100,000
    readings (an HTTP body through ``kernel.decoding``: 156 → 69 ms; an RPC body, by orjson: 87 → 17 ms)."""
    return collection_deferred() if size >= LARGE_DOCUMENT_BYTES else nullcontext()
