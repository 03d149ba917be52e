"""Split ``services/common`` by role into four subpackages, and rewrite every reference to a moved module.

- ``kernel``: the vocabulary every package may import (events, aggregates, errors, money, calendar, field rules);
  the only layer a service's ``domain`` may import.
- ``base``: the plumbing both sides stand on (settings, logs, metrics, database engines, event contracts, the
  personal-data key store).
- ``write``: the command side's store (streams, snapshots, outbox, idempotency) and what publishing needs.
- ``read``: projections: the projector, its reader process, positions, seen event ids, freshness.
- ``runtime``: processes: the nameko service base, runner, supervisor, health, relay process, dead letters.

Layers (checked by ``tests/unit/test_common_layers.py``, which holds the rule): ``kernel`` imports no other
layer; ``base`` imports the kernel; ``write`` and ``read`` import ``kernel`` and ``base`` and not each other;
``runtime`` imports any; nothing in ``services/common`` imports a service.

Re-runnable and idempotent: modules already moved stay; every reference still naming an old path is rewritten
(run it again after merging a branch written against the flat layout). A module or migration tree of
``services/common`` that ``MAPPING`` / ``MIGRATIONS`` does not name stops the script before it changes anything:
add it to the mapping (the layering test then says whether its layer fits its imports).

    python tools/split_common.py            # do it
    python tools/split_common.py --dry-run  # say what it would do
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COMMON = Path("services/common")
PACKAGE = "services.common"

# module of services/common -> its layer. Where a module's role (by the issue) and its imports disagree, the
# module goes where the import graph stays acyclic, and the comment says why (``!`` marks such a case).
MAPPING: dict[str, str] = {
    # kernel: the vocabulary
    "errors": "kernel",
    "events": "kernel",
    "aggregate": "kernel",
    "money": "kernel",
    "holidays": "kernel",
    "districts": "kernel",
    "uscc": "kernel",
    "validators": "kernel",
    "facts": "kernel",
    "decoding": "kernel",
    "clock": "kernel",  # the one home of "now" and of the city's date
    "ids": "kernel",  # new aggregate ids
    "scope": "kernel",  # the district scope rule
    "schemas": "kernel",  # shared marshmallow schemas and loading a command
    "ratios": "kernel",  # the one rounding rule of a ratio
    # base: the plumbing that the write and the read side both stand on
    "settings": "base",
    "log": "base",
    "metrics": "base",
    "db": "base",  # engines and migrations: the store, the projector and seen all open databases
    "statements": "base",  # statements built once, run on the driver: the store's append and projections
    "contracts": "base",  # the store validates what it writes with it, the projector and inbound what they read
    "personal": "base",  # the key store: the write side encrypts, the read side decrypts
    "jsontext": "base",  # the store writes payloads with it, the projector reads messages with it
    "memory": "base",  # a process's memory: services, relays, the rebuild and its reader process
    "backoff": "base",  # what failed put aside for a doubling wait (the districts' consumer)
    # write: the command side
    "store": "write",
    "deadlines": "write",
    "cloud_events": "write",  # the form of a published event (the relay's and the dead-letter replay's)
    "rekeying": "write",  # a store's history of clear personal values rewritten as tokens (with the store's sealing)
    # read: projections
    "projector": "read",
    "prefetch": "read",
    "positions": "read",
    "seen": "read",
    "freshness": "read",
    "sql": "read",  # statements built once, for projections (the projector, seen, every service's views)
    "progress": "read",  # a rebuild's progress bar (runtime's relay and tools use it too)
    "agencies": "read",  # every service's projection of the agency master data
    "broker": "read",  # ! runtime by role; in a circle with inbound and the projector (platform_topics)
    "inbound": "read",  # ! runtime by role; broker.platform_topics imports it, it imports the projector
    # runtime: processes
    "rpc": "runtime",
    "runner": "runtime",
    "processes": "runtime",
    "supervision": "runtime",
    "health": "runtime",
    "dlq": "runtime",
    "relay": "runtime",  # ! write by role, but its standalone process serves /health (imports health)
    "responses": "runtime",  # JSON answers over HTTP
    "dependencies": "runtime",  # the nameko dependency providers of store, relay and read models
    "rekey": "runtime",  # the re-keying command: the store, the relay's position and the service's views
}

# Alembic tree under services/common/migrations -> the layer of the module that registers it (each registers
# ``Path(__file__).parent / "migrations" / <tree>``, so a tree moves with its module).
MIGRATIONS: dict[str, str] = {
    "store": "write",  # store.py
    "projector": "read",  # projector.py
    "known_agencies": "read",  # agencies.py
    "personal_keys": "base",  # personal.py
}

LAYERS: dict[str, str] = {
    "kernel": (
        "The kernel: the vocabulary every package may import (events, aggregates, errors, money, the clock,\n"
        "ids, ratios, the district scope rule, field rules).\n\n"
        "It imports no other layer of ``services.common``. A service's ``domain`` imports from here alone."
    ),
    "base": (
        "The base: the plumbing the write and the read side both stand on (settings, logs, metrics, database\n"
        "engines and migrations, statements run on the driver, event contracts, the personal-data key store).\n\n"
        "It imports the kernel only."
    ),
    "write": (
        "The write side: the event store (streams, snapshots, outbox, idempotency), command deadlines, the\n"
        "form of a published event and the re-keying of clear personal values stored before sealing.\n\n"
        "It imports the kernel and the base. A service's commands and the runtime import it; the read side does not."
    ),
    "read": (
        "The read side: projections (the projector, its reader process, positions, seen event ids, freshness),\n"
        "the Kafka plumbing they follow and the district inbound consumer.\n\n"
        "It imports the kernel and the base. A service's read models and the runtime import it; the write side\n"
        "does not."
    ),
    "runtime": (
        "The runtime: processes and their plumbing (the nameko service base, runner, supervisor, health, the\n"
        "outbox relay's process, dead letters, the re-keying command).\n\n"
        "It may import every other layer; only services, tools and tests import it."
    ),
}

COMMON_DOC = (
    "Code every service shares, by role: ``kernel`` (the vocabulary), ``base`` (settings, logs, metrics,\n"
    "databases, contracts), ``write`` (the event store), ``read`` (projections) and ``runtime`` (processes).\n"
    "Each subpackage's docstring says what may import it."
)

SELF = Path("tools/split_common.py")
SKIP_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".ico", ".pdf", ".gz", ".zip", ".whl", ".pyc", ".db", ".sqlite"}


def git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, check=True, capture_output=True, text=True).stdout


def move(source: Path, target: Path) -> None:
    """``git mv`` a tracked file or folder; rename one git does not know yet."""
    (ROOT / target).parent.mkdir(parents=True, exist_ok=True)
    if git("ls-files", "--", str(source)).strip():
        git("mv", str(source), str(target))
    else:
        (ROOT / source).rename(ROOT / target)


def inventory() -> tuple[dict[str, str], dict[str, str], list[str]]:
    """Flat modules and migration trees still to move (name -> layer), and what the mapping does not name."""
    modules: dict[str, str] = {}
    trees: dict[str, str] = {}
    unknown: list[str] = []
    for entry in sorted((ROOT / COMMON).iterdir()):
        rel = entry.relative_to(ROOT)
        if entry.name in {"__init__.py", "__pycache__"} or entry.name in LAYERS:
            continue
        if entry.is_file() and entry.suffix == ".py":
            if entry.stem not in MAPPING:
                unknown.append(f"{rel} (module: add it to MAPPING)")
            elif (ROOT / COMMON / MAPPING[entry.stem] / entry.name).exists():
                unknown.append(f"{rel} (also in {MAPPING[entry.stem]}/: merge the two by hand)")
            else:
                modules[entry.stem] = MAPPING[entry.stem]
        elif entry.is_dir() and entry.name == "migrations":
            for tree in sorted(entry.iterdir()):
                if tree.name == "__pycache__":
                    continue
                if tree.name not in MIGRATIONS:
                    unknown.append(f"{tree.relative_to(ROOT)} (migration tree: add it to MIGRATIONS)")
                elif (ROOT / COMMON / MIGRATIONS[tree.name] / "migrations" / tree.name).exists():
                    unknown.append(f"{tree.relative_to(ROOT)} (also in {MIGRATIONS[tree.name]}/migrations/)")
                else:
                    trees[tree.name] = MIGRATIONS[tree.name]
        else:
            unknown.append(f"{rel} (not a module of the mapping)")
    for layer in LAYERS:
        for placed in sorted((ROOT / COMMON / layer).glob("*.py")):
            if placed.stem != "__init__" and MAPPING.get(placed.stem, layer) != layer:
                unknown.append(f"{placed.relative_to(ROOT)} (MAPPING says {MAPPING[placed.stem]})")
    return modules, trees, unknown


def text_files() -> list[Path]:
    """Every tracked or new (not ignored) text file of the repository but this script."""
    listed = git("ls-files", "-z", "--cached", "--others", "--exclude-standard").split("\0")
    files = []
    for name in sorted(set(listed)):
        path = Path(name)
        full = ROOT / path
        if not name or path == SELF or "node_modules" in path.parts or path.suffix in SKIP_SUFFIXES:
            continue
        if full.is_symlink() or not full.is_file():
            continue
        files.append(path)
    return files


DOTTED = re.compile(r"(?<![\w.])services\.common\.(" + "|".join(sorted(MAPPING, key=len, reverse=True)) + r")\b")
SLASHED = re.compile(r"(?<![\w/])services/common/(" + "|".join(sorted(MAPPING, key=len, reverse=True)) + r")\b")
SLASHED_TREE = re.compile(
    r"(?<![\w/])services/common/migrations/(" + "|".join(sorted(MIGRATIONS, key=len, reverse=True)) + r")\b"
)
FROM_PACKAGE = re.compile(
    r"^(?P<indent>[ \t]*)from services\.common import "
    r"(?:\((?P<group>[^)]*)\)|(?P<names>[^\n#(]+?))(?P<comment>[ \t]*#[^\n]*)?$",
    re.MULTILINE,
)


def split_from_package(match: re.Match[str]) -> str:
    """``from services.common import a, b`` -> one import per layer (names not in the mapping stay)."""
    raw = match["group"] if match["group"] is not None else match["names"]
    names = [n.strip() for n in raw.replace("\n", " ").split(",") if n.strip()]
    by_layer: dict[str, list[str]] = {}
    for name in names:
        module = name.split()[0]
        layer = MAPPING.get(module) if module not in LAYERS else None
        by_layer.setdefault(f"{PACKAGE}.{layer}" if layer else PACKAGE, []).append(name)
    if list(by_layer) == [PACKAGE]:
        return match[0]
    comment = match["comment"] or ""
    lines = []
    for package, imported in by_layer.items():
        lines.append(f"{match['indent']}from {package} import {', '.join(imported)}{comment}")
        comment = ""
    return "\n".join(lines)


def rewrite(text: str) -> str:
    text = FROM_PACKAGE.sub(split_from_package, text)
    text = DOTTED.sub(lambda m: f"{PACKAGE}.{MAPPING[m[1]]}.{m[1]}", text)
    text = SLASHED_TREE.sub(lambda m: f"services/common/{MIGRATIONS[m[1]]}/migrations/{m[1]}", text)
    return SLASHED.sub(lambda m: f"services/common/{MAPPING[m[1]]}/{m[1]}", text)


PARENTS = re.compile(r"(Path\(__file__\)(?:\.resolve\(\))?\.parents\[)(\d+)\]")


def deepen(text: str) -> str:
    """A moved module is one folder deeper: ``Path(__file__).parents[n]`` for n >= 1 climbs one more."""
    return PARENTS.sub(lambda m: f"{m[1]}{int(m[2]) + (int(m[2]) >= 1)}]", text)


def ruff(paths: Iterable[Path]) -> None:
    """Sort the rewritten imports and wrap lines the longer paths made too long (as ``make lint`` wants)."""
    python = sorted(str(p) for p in paths if p.suffix == ".py")
    exe = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    if not python:
        return
    if exe is None:
        print("ruff not found: run `ruff check --fix --select I` and `ruff format` on the rewritten files")
        return
    subprocess.run([exe, "check", "--fix", "--select", "I", "--quiet", *python], cwd=ROOT, check=False)
    subprocess.run([exe, "format", "--quiet", *python], cwd=ROOT, check=False)


def write_if_changed(path: Path, text: str, dry_run: bool, changed: list[Path], what: str) -> None:
    full = ROOT / path
    if full.exists() and full.read_text(encoding="utf-8") == text:
        return
    print(f"{what} {path}")
    changed.append(path)
    if not dry_run:
        full.parent.mkdir(parents=True, exist_ok=True)
        full.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dry-run", action="store_true", help="say what would change, change nothing")
    dry_run = parser.parse_args(argv).dry_run

    modules, trees, unknown = inventory()
    if unknown:
        print("stopped, nothing changed: services/common holds what the mapping does not place:")
        for entry in unknown:
            print(f"  {entry}")
        return 2

    changed: list[Path] = []
    for layer, doc in LAYERS.items():
        init = COMMON / layer / "__init__.py"
        if not (ROOT / init).exists():
            write_if_changed(init, f'"""{doc}"""\n', dry_run, changed, "wrote")
    init = COMMON / "__init__.py"
    if not (ROOT / init).read_text(encoding="utf-8").strip():
        write_if_changed(init, f'"""{COMMON_DOC}"""\n', dry_run, changed, "wrote")

    for module, layer in modules.items():
        source, target = COMMON / f"{module}.py", COMMON / layer / f"{module}.py"
        print(f"moved {source} -> {target}")
        if not dry_run:
            move(source, target)
            text = (ROOT / target).read_text(encoding="utf-8")
            if deepen(text) != text:
                print(f"  {target}: Path(__file__).parents[n] climbs one folder more")
                (ROOT / target).write_text(deepen(text), encoding="utf-8")
    for tree, layer in trees.items():
        source, target = COMMON / "migrations" / tree, COMMON / layer / "migrations" / tree
        print(f"moved {source}/ -> {target}/")
        if not dry_run:
            move(source, target)
    old_migrations = ROOT / COMMON / "migrations"
    if not dry_run and old_migrations.is_dir() and not any(old_migrations.rglob("*.py*")):
        shutil.rmtree(old_migrations)  # what is left is bytecode caches and empty folders

    rewritten = 0
    for path in text_files():
        try:
            text = (ROOT / path).read_text(encoding="utf-8")
        except (UnicodeDecodeError, FileNotFoundError):
            continue
        new = rewrite(text)
        if new != text:
            rewritten += 1
            write_if_changed(path, new, dry_run, changed, "rewrote references in")

    if not dry_run:
        ruff(changed)
    moved = len(modules) + len(trees)
    print(f"{moved} moved, {rewritten} files rewritten" + (" (dry run: nothing changed)" if dry_run else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
