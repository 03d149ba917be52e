"""Give every name of a service's ``domain`` package one way in: the module that defines it.

A service's ``services/<svc>/domain/__init__.py`` re-exported every public name of its submodules. This script

1. finds, per service, where each re-exported name is defined: it follows ``from .x import A`` of the package
   ``__init__`` (and of a submodule that itself only imports ``A``) to the module that binds ``A`` by a ``def``,
   a ``class`` or an assignment;
2. rewrites every import of such a name from the package, in ``services``, ``infra``, ``tests`` and ``tools``:
   ``from services.<svc>.domain import A, B`` (or its relative forms, ``from .domain import A`` in the service,
   ``from . import A`` inside the package) becomes ``from services.<svc>.domain.<module> import A``, relative
   where the original was; ``from services.<svc> import domain as d`` with ``d.A`` becomes an import of ``A``
   from its module and ``A``; a prose reference ``services.<svc>.domain.A`` names the module too;
3. reduces each ``domain/__init__.py`` to a docstring: what the package holds and its modules, one line each
   (the first sentence of the module's own docstring), and no imports;
4. sorts the rewritten imports and formats the changed files (``ruff check --fix --select I``, ``ruff format``).

The services' ``read_model/__init__.py`` stay the published surface the gateway imports: only their own imports
from the domain are rewritten.

Re-runnable and idempotent: a second run changes nothing. Run it again after merging a branch written against the
re-exporting packages: once a package ``__init__`` is reduced, names are found in the submodules that define them
(``def``, ``class``, assignment, or an explicit ``import A as A``). A name it cannot place, a star import, or a
package ``__init__`` that defines something itself stops the script before it changes anything.

    python tools/direct_imports.py            # do it
    python tools/direct_imports.py --dry-run  # say what it would do
"""

from __future__ import annotations

import argparse
import ast
import re
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCANNED = ("services", "infra", "tests", "tools")
"""Folders whose Python imports are rewritten (and whose prose references, with ``docs``)."""
PROSE = ("docs",)
EXCLUDED = (Path("tools/direct_imports.py"), Path("tests/unit/test_no_reexports.py"))
"""This script and the rule's test: the examples in their text stay as written."""
MODULES_HEADING = "The package re-exports nothing: import each name from the module that defines it. Its modules:"
"""The line of a reduced ``__init__`` docstring after which the module list follows (rewritten on each run)."""
WIDTH = 116
MENTIONS_DOMAIN = re.compile(r"\.domain\b|\bimport\b[^\n]*\bdomain\b|^\s*domain\b", re.MULTILINE)
"""What every import from a domain package, or of one, has in its text (a quick test before parsing a file)."""
RE_EXPORTED = re.compile(r";\s+everything\s+public\s+is\s+re-exported\s+here\.")


class Stop(Exception):
    """Something the script cannot rewrite safely; nothing has been changed."""


@dataclass
class Domain:
    """One service's ``domain`` package: its submodules and the home of every name it re-exported."""

    service: str
    package: str
    submodules: list[str]
    homes: dict[str, str] = field(default_factory=dict)

    @property
    def init(self) -> Path:
        return Path("services", self.service, "domain", "__init__.py")


def module_file(module: str) -> Path | None:
    """The file of a module of this repository (``None`` for a module outside it)."""
    base = ROOT / Path(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def module_of(path: Path) -> tuple[str, bool]:
    """The dotted module of ``path`` (relative to the root) and whether it is a package ``__init__``."""
    parts = path.with_suffix("").parts
    if parts[-1] == "__init__":
        return ".".join(parts[:-1]), True
    return ".".join(parts), False


def absolute(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    """The absolute module a ``from ... import`` names."""
    if not node.level:
        return node.module or ""
    package = module.split(".") if is_package else module.split(".")[:-1]
    base = package[: len(package) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def parse(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def bindings(tree: ast.Module, module: str, is_package: bool) -> dict[str, tuple[str, str] | None]:
    """Top-level names of a module: ``None`` when the module defines the name itself, (module, name) when it
    imports it from there."""
    found: dict[str, tuple[str, str] | None] = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            found[node.name] = None
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                for name in ast.walk(target):
                    if isinstance(name, ast.Name):
                        found[name.id] = None
        elif isinstance(node, ast.AnnAssign | ast.AugAssign) and isinstance(node.target, ast.Name):
            found[node.target.id] = None
        elif isinstance(node, ast.ImportFrom):
            source = absolute(module, is_package, node)
            for alias in node.names:
                found[alias.asname or alias.name] = (source, alias.name)
    return found


def home(module: str, name: str, seen: frozenset[tuple[str, str]] = frozenset()) -> str:
    """The module that defines ``name`` as reached from ``module``: imports are followed while they stay in this
    repository."""
    path = module_file(module)
    if path is None or (module, name) in seen:
        return module
    names = bindings(parse(path), module, path.name == "__init__.py")
    if name not in names:
        submodule = f"{module}.{name}"
        if module_file(submodule) is not None:
            return module  # ``name`` is a submodule of the package ``module``
        raise Stop(f"{module} does not bind {name}")
    origin = names[name]
    if origin is None:
        return module
    return home(origin[0], origin[1], seen | {(module, name)})


def submodules_of(package: str) -> list[str]:
    folder = ROOT / Path(*package.split("."))
    return sorted(
        p.stem if p.suffix == ".py" else p.name
        for p in folder.iterdir()
        if (p.suffix == ".py" and p.name != "__init__.py") or (p.is_dir() and (p / "__init__.py").is_file())
    )


def domains() -> list[Domain]:
    """Every service's ``domain`` package with the home of each name it re-exports or its modules define."""
    found = []
    for init in sorted(ROOT.glob("services/*/domain/__init__.py")):
        service = init.parent.parent.name
        package = f"services.{service}.domain"
        domain = Domain(service, package, submodules_of(package))
        tree = parse(init)
        for node in tree.body:
            if isinstance(node, ast.ImportFrom) and node.module == "__future__":
                continue
            if isinstance(node, ast.ImportFrom):
                source = absolute(package, True, node)
                for alias in node.names:
                    if alias.name == "*":
                        raise Stop(f"{domain.init}: a star import")
                    exported = alias.asname or alias.name
                    if exported != alias.name:
                        raise Stop(f"{domain.init}: {alias.name} re-exported as {exported}")
                    domain.homes[exported] = home(source, alias.name)
            elif isinstance(node, ast.Import):
                raise Stop(f"{domain.init}: import {', '.join(a.name for a in node.names)}")
            elif not _docstring_or_all(node):
                raise Stop(f"{domain.init}:{node.lineno}: the package defines something itself")
        # Names the submodules define (or re-export explicitly), for a re-run once the __init__ is reduced.
        defined: dict[str, set[str]] = {}
        for sub in domain.submodules:
            module = f"{package}.{sub}"
            path = module_file(module)
            assert path is not None
            sub_tree = parse(path)
            for node in sub_tree.body:
                if isinstance(node, ast.ImportFrom):
                    for alias in node.names:
                        if alias.asname is not None and alias.asname == alias.name:
                            defined.setdefault(alias.name, set()).add(home(module, alias.name))
            for name, origin in bindings(sub_tree, module, path.name == "__init__.py").items():
                if origin is None and not name.startswith("_"):
                    defined.setdefault(name, set()).add(module)
        for name, modules in defined.items():
            if name not in domain.homes and len(modules) == 1 and name not in domain.submodules:
                domain.homes[name] = next(iter(modules))
        found.append(domain)
    return found


def _docstring_or_all(node: ast.stmt) -> bool:
    if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
        return True
    if isinstance(node, ast.Assign | ast.AnnAssign):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        return all(isinstance(t, ast.Name) and t.id == "__all__" for t in targets)
    return False


# --- rewriting one file -----------------------------------------------------------------------------------------


def relative_form(module: str, is_package: bool, target: str) -> str:
    """``target`` as a relative module seen from ``module`` when both are in the same service, else absolute."""
    package = module.split(".") if is_package else module.split(".")[:-1]
    parts = target.split(".")
    common = 0
    while common < min(len(package), len(parts)) and package[common] == parts[common]:
        common += 1
    if common < 2:
        return target
    return "." * (len(package) - common + 1) + ".".join(parts[common:])


def render(imports: dict[str, list[str]]) -> list[str]:
    return [f"from {source} import {', '.join(names)}" for source, names in imports.items()]


def alias_text(alias: ast.alias) -> str:
    return alias.name if alias.asname is None else f"{alias.name} as {alias.asname}"


class Rewrite:
    """The import rewrites of one file, applied as text replacements of the statements' spans."""

    def __init__(self, path: Path, text: str, by_package: dict[str, Domain]) -> None:
        self.path = path
        self.text = text
        self.tree = ast.parse(text, filename=str(path))
        self.module, self.is_package = module_of(path)
        self.by_package = by_package
        self.lines = text.splitlines(keepends=True)
        self.edits: list[tuple[int, int, str]] = []

    def offset(self, line: int, col: int) -> int:
        """The character offset of an AST position (``col`` counts UTF-8 bytes)."""
        start = sum(len(x) for x in self.lines[: line - 1])
        return start + len(self.lines[line - 1].encode("utf-8")[:col].decode("utf-8"))

    def replace(self, node: ast.stmt | ast.expr, lines: list[str]) -> None:
        assert node.end_lineno is not None and node.end_col_offset is not None
        start = self.offset(node.lineno, node.col_offset)
        end = self.offset(node.end_lineno, node.end_col_offset)
        before = self.text[self.text.rfind("\n", 0, start) + 1 : start]
        if isinstance(node, ast.stmt) and before.strip():
            raise Stop(f"{self.path}:{node.lineno}: an import shares its line with another statement")
        self.edits.append((start, end, ("\n" + before).join(lines)))

    def source_for(self, target: str, relative: bool) -> str:
        return relative_form(self.module, self.is_package, target) if relative else target

    def run(self) -> str:
        aliases: dict[str, tuple[Domain, ast.stmt]] = {}
        for node in ast.walk(self.tree):
            if isinstance(node, ast.ImportFrom):
                self.import_from(node, aliases)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name in self.by_package:
                        if alias.asname is None:
                            raise Stop(f"{self.path}:{node.lineno}: import {alias.name} without an alias")
                        aliases[alias.asname] = (self.by_package[alias.name], node)
        for name, (domain, node) in aliases.items():
            self.attribute_uses(name, domain, node)
        text = self.text
        for start, end, new in sorted(self.edits, reverse=True):
            text = text[:start] + new + text[end:]
        return text

    def import_from(self, node: ast.ImportFrom, aliases: dict[str, tuple[Domain, ast.stmt]]) -> None:
        target = absolute(self.module, self.is_package, node)
        relative = node.level > 0
        domain = self.by_package.get(target)
        if domain is not None:
            if self.module == domain.package:
                return  # the package __init__ itself: reduced separately
            kept: list[str] = []
            moved: dict[str, list[str]] = {}
            for alias in node.names:
                if alias.name == "*":
                    raise Stop(f"{self.path}:{node.lineno}: a star import from {target}")
                if alias.name in domain.submodules:
                    kept.append(alias_text(alias))
                elif alias.name in domain.homes:
                    source = self.source_for(domain.homes[alias.name], relative)
                    moved.setdefault(source, []).append(alias_text(alias))
                else:
                    raise Stop(f"{self.path}:{node.lineno}: {target} has no home for {alias.name}")
            if moved:
                own = "." * node.level + (node.module or "") if relative else target
                self.replace(node, render({**({own: kept} if kept else {}), **moved}))
            return
        packages = {f"{target}.{alias.name}": alias for alias in node.names}
        found = [(packages[p], self.by_package[p]) for p in packages if p in self.by_package]
        for alias, found_domain in found:
            aliases[alias.asname or alias.name] = (found_domain, node)

    def attribute_uses(self, name: str, domain: Domain, statement: ast.stmt) -> None:
        """``name.A`` for a name ``A`` of the package becomes ``A``, imported from its module; the package import
        goes when nothing else uses ``name``."""
        uses = [
            node
            for node in ast.walk(self.tree)
            if isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == name
            and node.attr in domain.homes
        ]
        if not uses:
            return
        bound = self.bound_names()
        needed: dict[str, list[str]] = {}
        for use in uses:
            attr = use.attr
            source = domain.homes[attr]
            if attr in bound and bound[attr] != (source, attr):
                raise Stop(f"{self.path}:{use.lineno}: {name}.{attr} would clash with another {attr}")
            if bound.get(attr) != (source, attr) and attr not in needed.setdefault(source, []):
                needed[source].append(attr)
            self.replace(use, [attr])
        needed = {source: names for source, names in needed.items() if names}
        other_uses = sum(isinstance(n, ast.Name) and n.id == name for n in ast.walk(self.tree)) - len(uses)
        lines = render(needed)
        if other_uses:
            self.replace(statement, [ast.get_source_segment(self.text, statement) or "", *lines])
            return
        assert isinstance(statement, ast.ImportFrom | ast.Import)
        rest = [a for a in statement.names if (a.asname or a.name) != name]
        if rest:
            if isinstance(statement, ast.ImportFrom):
                own = "." * statement.level + (statement.module or "")
                lines = [f"from {own} import {', '.join(alias_text(a) for a in rest)}", *lines]
            else:
                lines = [f"import {', '.join(alias_text(a) for a in rest)}", *lines]
        self.replace(statement, lines)

    def bound_names(self) -> dict[str, tuple[str, str] | None]:
        """Every name bound anywhere in the file: (module, name) for an import, ``None`` for anything else."""
        bound: dict[str, tuple[str, str] | None] = {}
        for node in ast.walk(self.tree):
            if isinstance(node, ast.ImportFrom):
                source = absolute(self.module, self.is_package, node)
                for alias in node.names:
                    bound[alias.asname or alias.name] = (source, alias.name)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    bound[alias.asname or alias.name.split(".")[0]] = None
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                bound[node.name] = None
            elif isinstance(node, ast.arg):
                bound[node.arg] = None
            elif isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
                bound[node.id] = None
        return bound


def prose(text: str, domains: Iterable[Domain]) -> str:
    """``services.<svc>.domain.A`` in text names ``A``'s module."""
    for domain in domains:
        pattern = re.compile(rf"\b{re.escape(domain.package)}\.([A-Za-z_][A-Za-z0-9_]*)\b")

        def moved(match: re.Match[str], domain: Domain = domain) -> str:
            name = match.group(1)
            if name in domain.submodules or name not in domain.homes:
                return match.group(0)
            return f"{domain.homes[name]}.{name}"

        text = pattern.sub(moved, text)
    return text


# --- the reduced package docstring ------------------------------------------------------------------------------


def first_sentence(module: str) -> str:
    path = module_file(module)
    assert path is not None
    doc = ast.get_docstring(parse(path)) or ""
    paragraph = " ".join(doc.split("\n\n")[0].split())
    return re.split(r"(?<=[.!?])\s+(?=[A-Z(])", paragraph)[0] if paragraph else "(no docstring)"


def package_docstring(domain: Domain) -> str:
    """What the package holds, then its modules, one line each; the part above the module list is kept."""
    doc = ast.get_docstring(parse(ROOT / domain.init), clean=False) or ""
    intro = doc.split(MODULES_HEADING)[0].strip()
    intro = RE_EXPORTED.sub(".", intro)
    if "re-export" in intro:
        raise Stop(f"{domain.init}: its docstring still speaks of re-exports: reword it by hand")
    entries = [
        textwrap.fill(
            f"- ``{sub}``: {first_sentence(f'{domain.package}.{sub}')}",
            width=WIDTH,
            subsequent_indent="  ",
            break_long_words=False,
            break_on_hyphens=False,
        )
        for sub in domain.submodules
    ]
    return f'"""{intro}\n\n{MODULES_HEADING}\n\n' + "\n".join(entries) + '\n"""\n'


# --- the run ----------------------------------------------------------------------------------------------------


def tracked(folders: Iterable[str], suffixes: tuple[str, ...]) -> Iterator[Path]:
    out = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "--", *folders],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    for line in sorted(set(out.splitlines())):
        path = Path(line)
        if (
            path.suffix in suffixes
            and path not in EXCLUDED
            and (ROOT / path).is_file()
            and "node_modules" not in path.parts
        ):
            yield path


def ruff(paths: Iterable[Path]) -> None:
    """Sort the rewritten imports and format the changed files (as ``make lint`` wants)."""
    python = sorted(str(p) for p in paths if p.suffix == ".py")
    exe = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    if not python:
        return
    if exe is None:
        print("ruff not found: run `ruff check --fix --select I` and `ruff format` on the rewritten files")
        return
    subprocess.run([exe, "check", "--fix", "--select", "I", "--quiet", *python], cwd=ROOT, check=False)
    subprocess.run([exe, "format", "--quiet", *python], cwd=ROOT, check=False)


def plan() -> dict[Path, str]:
    """Every file that changes and its new text; raises ``Stop`` before anything is written."""
    found = domains()
    by_package = {d.package: d for d in found}
    changes: dict[Path, str] = {}
    for path in tracked(SCANNED, (".py",)):
        text = (ROOT / path).read_text(encoding="utf-8")
        if not MENTIONS_DOMAIN.search(text) and "domain" not in path.parts:
            continue  # imports nothing from a domain package, nor names one
        new = prose(Rewrite(path, text, by_package).run(), found)
        if new != text:
            changes[path] = new
    for path in tracked(PROSE, (".md",)):
        text = (ROOT / path).read_text(encoding="utf-8")
        new = prose(text, found)
        if new != text:
            changes[path] = new
    for domain in found:
        text = package_docstring(domain)
        if (ROOT / domain.init).read_text(encoding="utf-8") != text:
            changes[domain.init] = text
    return changes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--dry-run", action="store_true", help="say what would change, change nothing")
    dry_run = parser.parse_args(argv).dry_run
    try:
        changes = plan()
    except Stop as reason:
        print(f"stopped, nothing changed: {reason}")
        return 2
    for path, text in changes.items():
        print(f"rewrote {path}")
        if not dry_run:
            (ROOT / path).write_text(text, encoding="utf-8")
    if not dry_run:
        ruff(changes)
    print(f"{len(changes)} files rewritten" + (" (dry run: nothing changed)" if dry_run else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
