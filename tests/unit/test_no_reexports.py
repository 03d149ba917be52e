"""One home per name, one way in: a service's ``domain`` package re-exports nothing.

- Every ``services/<svc>/domain/__init__.py`` holds a docstring and nothing else (no imports, no names).
- No module imports from a ``domain`` package anything but its submodules: ``from services.<svc>.domain import X``
  (or ``from .domain import X``, ``from . import X`` inside the package) names a module of the package, and a
  name is imported from the module that defines it (``tools/direct_imports.py`` rewrites the imports).

The services' ``read_model/__init__.py`` are the published surface the gateway imports and keep their names.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from tools import direct_imports

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("services", "infra", "tests", "tools")
INITS = sorted(ROOT.glob("services/*/domain/__init__.py"))


def submodules(package: str) -> set[str]:
    """The modules (and subpackages) of a package of this repository."""
    folder = ROOT / Path(*package.split("."))
    return {p.stem for p in folder.glob("*.py") if p.name != "__init__.py"} | {
        p.name for p in folder.iterdir() if (p / "__init__.py").is_file()
    }


def imported_from_domains(source: str, module: str, is_package: bool) -> Iterator[tuple[str, str]]:
    """(domain package, name) for every name ``source`` (the text of ``module``) imports from a package
    ``services.<svc>.domain``, relative imports resolved."""
    package = module.split(".") if is_package else module.split(".")[:-1]
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.ImportFrom):
            continue
        if node.level:
            base = package[: len(package) - (node.level - 1)]
            target = ".".join([*base, *([node.module] if node.module else [])])
        else:
            target = node.module or ""
        parts = target.split(".")
        if len(parts) == 3 and parts[0] == "services" and parts[2] == "domain":
            yield from ((target, alias.name) for alias in node.names)


def re_exported_imports(source: str, module: str, is_package: bool) -> list[str]:
    """``package.name`` for every imported name that is not a module of its domain package."""
    return [
        f"{package}.{name}"
        for package, name in imported_from_domains(source, module, is_package)
        if name not in submodules(package)
    ]


def python_files() -> Iterator[tuple[str, str, bool, str]]:
    """(file, module, is a package, text) for every Python file of the scanned folders."""
    for folder in SCANNED:
        for path in sorted((ROOT / folder).rglob("*.py")):
            relative = path.relative_to(ROOT)
            if "node_modules" in relative.parts:
                continue
            parts = relative.with_suffix("").parts
            is_package = parts[-1] == "__init__"
            module = ".".join(parts[:-1] if is_package else parts)
            yield str(relative), module, is_package, path.read_text(encoding="utf-8")


def test_the_five_domain_packages_are_checked() -> None:
    assert [p.parent.parent.name for p in INITS] == ["assets", "energy", "office_space", "procurement", "vehicles"]


@pytest.mark.parametrize("init", INITS, ids=lambda p: p.parent.parent.name)
def test_a_domain_package_holds_a_docstring_only(init: Path) -> None:
    body = ast.parse(init.read_text(encoding="utf-8")).body
    assert len(body) == 1
    assert isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
    doc = body[0].value.value
    assert isinstance(doc, str)
    # the docstring names every module of the package
    package = f"services.{init.parent.parent.name}.domain"
    assert {m for m in submodules(package) if f"``{m}``" not in doc} == set()


def test_no_module_imports_a_name_a_domain_package_would_re_export() -> None:
    found = {
        file: wrong
        for file, module, is_package, text in python_files()
        if (wrong := re_exported_imports(text, module, is_package))
    }
    assert found == {}


def test_the_check_reads_absolute_and_relative_imports() -> None:
    source = (
        "from services.vehicles.domain import trips\n"
        "from services.vehicles.domain import Trip\n"
        "from services.vehicles.domain.trips import TripRequested\n"
        "from .domain import Vehicle, costs\n"
        "def f():\n"
        "    from . import domain\n"
    )
    assert re_exported_imports(source, "services.vehicles.service", False) == [
        "services.vehicles.domain.Trip",
        "services.vehicles.domain.Vehicle",
    ]
    # inside the package, ``from . import X`` imports from the package itself
    inside = "from . import base\nfrom . import VehiclesEvent\nfrom .base import VehiclesEvent\n"
    assert re_exported_imports(inside, "services.vehicles.domain.trips", False) == [
        "services.vehicles.domain.VehiclesEvent"
    ]
    # the read model's published names are not a domain package's
    assert re_exported_imports("from services.vehicles.read_model import CostItem\n", "services.gateway.x", False) == []


def test_the_rewriting_script_has_nothing_left_to_do() -> None:
    """Re-run ``python tools/direct_imports.py`` when this fails (after a merge, or a new domain module)."""
    assert sorted(str(p) for p in direct_imports.plan()) == []
