"""How a process of the platform holds its memory: large freed blocks given back to the system, and the objects
made at start kept out of the cyclic garbage collector's passes. Each long-lived process calls these once started."""

from __future__ import annotations

import ctypes
import ctypes.util
import gc

LARGE_BLOCK_BYTES = 256 * 1024
"""Blocks at least this large are mapped of their own and given back to the system when freed (``mallopt``)."""

_M_MMAP_THRESHOLD = -3
"""glibc's ``mallopt`` parameter number for the mmap threshold (``malloc.h``)."""


def large_blocks_given_back(threshold: int = LARGE_BLOCK_BYTES) -> bool:
    """Fix glibc's mmap threshold at ``threshold`` (False: not glibc, nothing done). glibc raises the threshold
    each time a mapped block is freed, up to 32 MB, so after the first few, large blocks (the gateway's encoded answers: megabytes
    of JSON, made again after every batch while events arrive; an energy batch's readings) are carved out of the
    heap, whose freed space the process keeps: the gateway's resident memory grew by tens of megabytes over what
    it held alive. A fixed threshold
    maps each such block of its own and unmaps it when freed."""
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
