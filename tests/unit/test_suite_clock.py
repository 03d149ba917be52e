"""The suite reads the clock as each test starts, not as a module is imported.

A module that reads today once, at import, and a test that runs after Beijing midnight disagree with the services
about the day: a delivery dated "tomorrow" is then today's and accepted, a quota for "this year" is last year's.
``tests/conftest.py`` calls a module's ``read_the_clock()`` as each of its tests starts (the module calls it once
as it is imported, too: its clock is read in that one place); these tests check that the hook runs and that no
module gives a name a value from the clock at import without defining it.
"""

from __future__ import annotations

import ast
import time
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
CLOCK_CALLS = {"china_today", "now", "utcnow", "today", "utc_now"}

IMPORTED = time.monotonic()
STARTED: float | None = None


def read_the_clock() -> None:
    global STARTED
    STARTED = time.monotonic()


def test_the_clock_is_read_again_as_each_test_starts() -> None:
    assert STARTED is not None and STARTED >= IMPORTED


def _reads_the_clock_at_import(tree: ast.Module) -> list[str]:
    """Names given, at module level, a value computed from a call of the clock."""
    names = []
    for node in tree.body:
        if not isinstance(node, ast.Assign | ast.AnnAssign) or node.value is None:
            continue
        calls = [c for c in ast.walk(node.value) if isinstance(c, ast.Call)]
        called = {c.func.attr if isinstance(c.func, ast.Attribute) else getattr(c.func, "id", "") for c in calls}
        if called & CLOCK_CALLS:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names += [t.id for t in targets if isinstance(t, ast.Name)]
    return names


def test_every_module_reading_the_clock_at_import_reads_it_again_for_each_test() -> None:
    missing = {}
    for path in sorted(TESTS.rglob("test_*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = _reads_the_clock_at_import(tree)
        defined = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
        if names and "read_the_clock" not in defined:
            missing[str(path.relative_to(TESTS))] = names
    assert missing == {}, "define read_the_clock() (tests/conftest.py) in these modules"


def test_the_scan_sees_a_module_level_today() -> None:
    tree = ast.parse("from x import china_today\nTODAY = china_today()\nYEAR = TODAY.year\nN = 3\n")
    assert _reads_the_clock_at_import(tree) == ["TODAY"]
