"""A service process holds and walks less memory: the development install's extras left unimported, large freed
blocks given back to the system, openpyxl and cryptography imported when used, startup objects frozen out of the
cyclic collector."""

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


def test_a_service_process_runs_without_the_development_installs_extras() -> None:
    # The runner as a program (its argument parser stops it before it starts a service): structlog finds no rich
    # for a console it never renders to, openpyxl writes with the standard library's XML, as in production
    code = (
        "import runpy, sys\n"
        "sys.argv = ['runner', '--help']\n"
        "try:\n"
        "    runpy.run_module('services.common.runtime.runner', run_name='__main__')\n"
        "except SystemExit:\n"
        "    pass\n"
        "import structlog.dev, openpyxl.xml\n"
        "print(structlog.dev.rich is None, openpyxl.xml.LXML, [m for m in ('rich', 'pygments', 'lxml') if sys.modules[m]])\n"
    )
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert found.stdout.strip().splitlines()[-1] == "True False []"


def test_an_extra_refused_is_not_importable_and_one_imported_already_is_kept() -> None:
    code = (
        "import sys, json\n"
        "from services.common.base.memory import development_extras_refused\n"
        "print(development_extras_refused(('json', 'rich')))\n"
        "try:\n"
        "    import rich\n"
        "except ImportError:\n"
        "    print('refused')\n"
        "print(sys.modules['json'] is json)\n"
    )
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert found.stdout.split() == ["['rich']", "refused", "True"]


def test_a_workbook_written_without_lxml_holds_the_same_cells() -> None:
    # The gateway's XLSX exports with lxml refused (a service process) read back cell for cell as with it
    code = (
        "import io, sys\n"
        "if sys.argv[1] == 'refused':\n"
        "    from services.common.base.memory import development_extras_refused\n"
        "    development_extras_refused()\n"
        "from openpyxl import load_workbook\n"
        "from services.gateway.tabular import xlsx_bytes\n"
        "rows = [{'agency_id': 'A1', 'name': '市机关事务局', 'score': 87.5, 'open': 3, 'note': '=1+1', 'ok': True}]\n"
        "book = load_workbook(io.BytesIO(xlsx_bytes([('items', list(rows[0]), rows)], 'en')))\n"
        "print(repr([[c.value for c in row] for row in book['items'].iter_rows()]))\n"
    )
    written = {
        how: subprocess.run([sys.executable, "-c", code, how], capture_output=True, text=True, check=True).stdout
        for how in ("refused", "found")
    }
    assert "'=1+1'" in written["refused"] and "87.5" in written["refused"]
    assert written["refused"] == written["found"]


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
