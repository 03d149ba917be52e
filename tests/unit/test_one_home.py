"""One home per small idea: new ids (services.common.kernel.ids), the clock (services.common.kernel.clock), ratios
(services.common.kernel.ratios) and the tests' ``eventually`` and ``database_text`` (tests.support) are defined once, not again per module."""

from __future__ import annotations

import ast
from pathlib import Path

from services.common.kernel import ids

ROOT = Path(__file__).resolve().parents[2]

HOMED_IN_SERVICES = {
    "_new_id": "services.common.kernel.ids.new_id",
    "_today": "services.common.kernel.clock.china_today",
    "_local_today": "services.common.kernel.clock.china_today",
    "utc_iso": "services.common.kernel.clock.iso_seconds / iso_seconds_of",
    "_ratio": "services.common.kernel.ratios.ratio",
    "_iso": "services.common.kernel.clock.iso / iso_seconds / iso_as_given",
}


def _defined(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}


def _offences(paths: list[Path], names: dict[str, str], home: Path | None = None) -> list[str]:
    return [
        f"{path.relative_to(ROOT)} defines {name} (use {names[name]})"
        for path in paths
        if path != home
        for name in sorted(_defined(path) & names.keys())
    ]


def test_no_service_module_defines_a_homed_helper_again() -> None:
    assert _offences(sorted((ROOT / "services").rglob("*.py")), HOMED_IN_SERVICES) == []


def test_no_test_module_defines_its_own_eventually() -> None:
    names = {
        "eventually": "tests.support.eventually",
        "_eventually": "tests.support.eventually",
        "_raw_text": "tests.support.database_text",
        "database_text": "tests.support.database_text",
    }
    assert _offences(sorted((ROOT / "tests").rglob("*.py")), names, home=ROOT / "tests" / "support.py") == []


def test_the_rule_sees_a_copy() -> None:
    probe = Path(ids.__file__)
    assert _defined(probe) == {"new_id", "random_uuid"}
    assert _offences([probe], {"new_id": "itself"}) == [f"{probe.relative_to(ROOT)} defines new_id (use itself)"]
