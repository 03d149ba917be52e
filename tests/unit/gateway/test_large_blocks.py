"""The gateway gives large freed blocks back to the system (``service.large_blocks_given_back``)."""

from __future__ import annotations

import ctypes.util
import platform

import pytest

from services.gateway.service import large_blocks_given_back


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_the_mmap_threshold_is_fixed_on_glibc() -> None:
    # glibc answers 1 when it took the parameter: the threshold no longer rises as mapped blocks are freed
    assert ctypes.util.find_library("c")
    assert large_blocks_given_back() is True
