"""The layers of ``services/common`` (docs/architecture.md, Layout; ``tools/split_common.py`` places a new module).

``kernel`` imports no other layer; ``base`` the kernel; ``write`` and ``read`` import the kernel and the base
and not each other; ``runtime`` imports any; nothing in ``services/common`` imports a service; every module sits in a layer; a layer's
``__init__.py`` says what it is and re-exports nothing. Imports inside functions count too.
"""

from __future__ import annotations

import ast
from pathlib import Path

COMMON = Path(__file__).resolve().parents[2] / "services" / "common"
MAY_IMPORT = {
    "kernel": ("kernel",),
    "base": ("kernel", "base"),
    "write": ("kernel", "base", "write"),
    "read": ("kernel", "base", "read"),
    "runtime": ("kernel", "base", "write", "read", "runtime"),
}


def imported(source: str) -> set[str]:
    """Every module path a source imports (``from services.common import x`` names ``services.common.x``)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "services.common":
                found.update(f"services.common.{alias.name}" for alias in node.names)
            else:
                found.add(node.module)
    return found


def violations(layer: str, source: str) -> list[str]:
    """The imports of a module of ``layer`` that its layer may not make."""
    wrong = []
    for module in sorted(imported(source)):
        parts = module.split(".")
        if parts[:2] == ["services", "common"]:
            if len(parts) > 2 and parts[2] not in MAY_IMPORT[layer]:
                wrong.append(module)
        elif parts[0] == "services":
            wrong.append(module)  # a service
    return wrong


def test_layers_import_only_what_they_may() -> None:
    wrong = {
        str(path.relative_to(COMMON)): found
        for layer in MAY_IMPORT
        for path in sorted((COMMON / layer).rglob("*.py"))
        if (found := violations(layer, path.read_text(encoding="utf-8")))
    }
    assert wrong == {}


def test_the_rule_catches_what_breaks_it() -> None:
    lazy_write_import = "def f():\n    from services.common.write.store import EventStore\n"
    assert violations("kernel", lazy_write_import) == ["services.common.write.store"]
    assert violations("read", lazy_write_import) == ["services.common.write.store"]
    assert violations("runtime", lazy_write_import) == []
    assert violations("write", "from services.common import kernel, runtime\n") == ["services.common.runtime"]
    assert violations("runtime", "import services.gateway.web\n") == ["services.gateway.web"]


def test_every_module_sits_in_a_layer() -> None:
    assert sorted(p.name for p in COMMON.iterdir() if p.name != "__pycache__") == sorted(["__init__.py", *MAY_IMPORT])


def test_layer_packages_only_describe() -> None:
    for layer in MAY_IMPORT:
        body = ast.parse((COMMON / layer / "__init__.py").read_text(encoding="utf-8")).body
        assert len(body) == 1 and isinstance(body[0], ast.Expr), layer  # a docstring and nothing else
        assert isinstance(body[0].value, ast.Constant) and "import" in body[0].value.value, layer
