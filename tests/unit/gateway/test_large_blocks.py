"""A service process holds and walks less memory: large freed blocks given back to the system, openpyxl and
cryptography imported when used, startup objects frozen out of the cyclic collector."""

from __future__ import annotations

import ctypes.util
import platform
import subprocess
import sys

import pytest

from services.common.base.memory import large_blocks_given_back


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_the_mmap_threshold_is_fixed_on_glibc() -> None:
    # glibc answers 1 when it took the parameter: the threshold no longer rises as mapped blocks are freed
    assert ctypes.util.find_library("c")
    assert large_blocks_given_back() is True


def test_the_gateway_imports_openpyxl_only_when_a_workbook_is_asked_for() -> None:
    # openpyxl is ~10 MB resident: a gateway nobody asked for an XLSX does not hold it
    code = "import sys, services.gateway.service; print('openpyxl' in sys.modules)"
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert found.stdout.strip() == "False"


def test_the_gateway_imports_cryptography_only_when_a_personal_value_is_sealed_or_opened() -> None:
    # cryptography is ~7 MB resident: a gateway answering reads meets no personal value
    code = (
        "import sys, services.gateway.service\n"
        "print('cryptography' in sys.modules)\n"
        "from services.common.base import personal\n"
        "key = bytes(32)\n"
        "sealed = personal._seal(key, b'plain', b'ad')\n"
        "print('cryptography' in sys.modules, personal._open(key, sealed, b'ad'), personal._open(key, sealed, b'x'))\n"
    )
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert found.stdout.split() == ["False", "True", "b'plain'", "None"]


def test_a_started_process_leaves_its_startup_objects_out_of_the_collectors_passes() -> None:
    # Run in a process of its own: freezing this test session's objects would keep them alive until it ends.
    code = (
        "import gc, weakref\n"
        "import services.gateway.service\n"
        "from services.common.base.memory import startup_objects_frozen\n"
        "frozen = startup_objects_frozen()\n"
        "print(frozen > 10_000, gc.get_freeze_count() == frozen)\n"
        "class Node: pass\n"
        "a, b = Node(), Node(); a.other, b.other = b, a; gone = weakref.ref(a); del a, b\n"
        "gc.collect(); print(gone() is None)\n"  # a cycle made afterwards is still collected
    )
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert found.stdout.split() == ["True", "True", "True"]
