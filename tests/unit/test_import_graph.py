"""The import rules between the packages of ``services/`` (docs/architecture.md, Layout), read from the source.

- The gateway imports from a service only its published surface: ``services.<svc>.schemas`` and the
  ``services.<svc>.read_model`` package (its public names, not its submodules).
- A service never imports another service (the gateway included).
- A service's ``domain`` imports no infrastructure (nameko, SQLAlchemy, Kafka) and neither the service's
  ``service.py`` nor its read model.
- A service's ``domain`` and ``schemas`` import of ``services.common`` its kernel alone (the vocabulary: events,
  aggregates, errors, money, clock, field rules), never the base, the write or the read side or the runtime.
- ``services.common`` imports no service.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("office_space", "vehicles", "assets", "procurement", "energy")
"""The domain services; the gateway and ``common`` are the other two packages of ``services/``."""
INFRASTRUCTURE = ("nameko", "sqlalchemy", "kafka", "aiokafka", "confluent_kafka")

GATEWAY_ALLOWED: dict[tuple[str, str], str] = {}
"""Exceptions to rule (a): (gateway module, imported module) → why. Empty: the gateway keeps the rule."""


def _module_of(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(source: str, module: str, is_package: bool) -> Iterator[str]:
    """Every module ``source`` (the text of ``module``) imports, absolute; ``from m import n`` yields ``m.n``
    when ``n`` may be a submodule, so ``from services.x import domain`` counts as importing ``services.x.domain``."""
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            yield target
            yield from (f"{target}.{alias.name}" for alias in node.names if alias.name != "*")


def _sources(*patterns: str) -> Iterator[tuple[str, str, list[str]]]:
    """(file, module, imported modules) for every Python file under ``services/`` matching a pattern."""
    for pattern in patterns:
        for path in sorted(ROOT.glob(pattern)):
            module = _module_of(path)
            found = imports_of(path.read_text(encoding="utf-8"), module, path.name == "__init__.py")
            yield str(path.relative_to(ROOT)), module, sorted(set(found))


def _service_of(imported: str) -> str | None:
    parts = imported.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "services" and parts[1] in (*SERVICES, "gateway") else None


def test_the_resolver_reads_absolute_relative_and_from_imports() -> None:
    source = "import json\nfrom services.energy import read_model\nfrom .tables import meters\nfrom .. import domain\n"
    found = set(imports_of(source, "services.energy.read_model.queries", is_package=False))
    assert found == {
        "json",
        "services.energy",
        "services.energy.read_model",
        "services.energy.read_model.tables",
        "services.energy.read_model.tables.meters",
        "services.energy.domain",
    }
    in_package = set(imports_of("from .queries import consumption\n", "services.energy.read_model", is_package=True))
    assert in_package == {"services.energy.read_model.queries", "services.energy.read_model.queries.consumption"}


def test_the_gateway_imports_only_the_services_published_surfaces() -> None:
    wrong: list[str] = []
    seen: set[str] = set()
    for path, module, found in _sources("services/gateway/**/*.py"):
        for imported in found:
            service = _service_of(imported)
            if service is None or service == "gateway":
                continue
            parts = imported.split(".")
            if len(parts) == 2:  # ``from services.<svc> import …``: its names are checked one by one
                continue
            surface = ".".join(parts[:3])
            if parts[2] in ("schemas", "read_model") and (len(parts) == 3 or parts[2] == "schemas"):
                seen.add(surface)
                continue
            if parts[2] == "read_model" and _is_public_name(imported):
                seen.add(surface)
                continue
            if (module, imported) not in GATEWAY_ALLOWED:
                wrong.append(f"{path}: {imported}")
    assert wrong == []
    assert {f"services.{s}.schemas" for s in SERVICES} <= seen  # the scan sees the gateway's API modules


def _is_public_name(imported: str) -> bool:
    """``services.<svc>.read_model.<name>`` where the package's ``__all__`` names ``name``."""
    package, _, name = imported.rpartition(".")
    init = ROOT / package.replace(".", "/") / "__init__.py"
    if package.count(".") != 2 or not init.exists():
        return False
    for node in ast.parse(init.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
            return name in ast.literal_eval(node.value)
    return False


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_never_imports_another_service(service: str) -> None:
    wrong = [
        f"{path}: {imported}"
        for path, _, found in _sources(f"services/{service}/**/*.py")
        for imported in found
        if _service_of(imported) not in (None, service)
    ]
    assert wrong == []


@pytest.mark.parametrize("service", SERVICES)
def test_a_domain_imports_no_infrastructure_nor_its_service_or_read_model(service: str) -> None:
    own = (f"services.{service}.service", f"services.{service}.read_model", f"services.{service}.views")
    wrong = [
        f"{path}: {imported}"
        for path, _, found in _sources(f"services/{service}/domain/**/*.py", f"services/{service}/domain.py")
        for imported in found
        if imported.split(".")[0] in INFRASTRUCTURE or any(imported == o or imported.startswith(f"{o}.") for o in own)
    ]
    assert wrong == []


@pytest.mark.parametrize("service", SERVICES)
def test_a_domain_and_its_schemas_import_of_common_the_kernel_alone(service: str) -> None:
    patterns = (f"services/{service}/domain/**/*.py", f"services/{service}/domain.py", f"services/{service}/schemas.py")
    wrong = [
        f"{path}: {imported}"
        for path, _, found in _sources(*patterns)
        for imported in found
        if imported.startswith("services.common") and not imported.startswith("services.common.kernel")
    ]
    assert wrong == []


def test_common_imports_no_service() -> None:
    wrong = [
        f"{path}: {imported}"
        for path, _, found in _sources("services/common/**/*.py")
        for imported in found
        if _service_of(imported) is not None
    ]
    assert wrong == []


@pytest.mark.parametrize("service", SERVICES)
def test_every_service_has_the_same_shape(service: str) -> None:
    home = ROOT / "services" / service
    expected = [
        "domain/__init__.py",
        "schemas.py",
        "service.py",
        "read_model/__init__.py",
        "read_model/tables.py",
        "read_model/projection.py",
        "read_model/queries.py",
        "migrations/versions",
    ]
    assert [p for p in expected if not (home / p).exists()] == []
    assert not (home / "views.py").exists() and not (home / "views").exists()
