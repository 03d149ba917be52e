"""The repository stands alone: every document a tracked file points to is in the repository.

Checked in every tracked text file: markdown links (``[text](target)``, relative to the linking file), mentions
of a path under ``docs/`` (relative to the repository root), mentions of a ``.md`` file (a path relative to
the root or to the mentioning file, or a bare name that some tracked file has) and of a ``shared/`` or
``seeds/`` folder.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

TEXT_SUFFIXES = {".py", ".md", ".txt", ".toml", ".yml", ".yaml", ".cfg", ".ini", ".sh", ".mjs", ".js", ".html", ".sql"}
TEXT_NAMES = {"Makefile", "run", "Dockerfile"}
SKIPPED = ("contracts/ocds/",)
"""Third-party material kept as published (the OCDS schema and extensions); their links are theirs."""

LINK = re.compile(r"\[[^\]\n]*\]\(([^)\s]+)\)")
DOCS_PATH = re.compile(r"(?<![\w/.-])docs/[\w./-]*[\w/]")
MD_FILE = re.compile(r"(?<![\w/.-])((?:\.\./|\./)*[\w.-]+(?:/[\w.-]+)*\.md)\b")
ANOTHER_REPOSITORY = re.compile(r"[\w.-]+/[\w.-]+, `*$")
"""What comes before a path of another repository: ``(open-contracting/cardinal-rs, docs/cli/)``."""
DESIGN_DIR = re.compile(r"(?<![\w.-])(?:\.\./)*(?:shared|seeds)/[\w./-]*[\w/]")
"""A folder of design material kept beside a repository rather than in it."""


def _tracked() -> list[Path]:
    """The repository's files: git's list when it is a checkout, else every file outside generated folders."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True, timeout=60
        ).stdout.decode()
        names = [name for name in listed.split("\0") if name]
    except (OSError, subprocess.SubprocessError):
        ignored = {".git", ".venv", "var", "node_modules", ".mypy_cache", ".ruff_cache", ".pytest_cache"}
        names = [
            str(p.relative_to(ROOT))
            for p in ROOT.rglob("*")
            if p.is_file() and not ignored & set(p.relative_to(ROOT).parts)
        ]
    return [ROOT / name for name in names if (ROOT / name).is_file()]


FILES = _tracked()
BASENAMES = {p.name for p in FILES}


def _texts() -> list[tuple[Path, str]]:
    texts = []
    for path in FILES:
        relative = path.relative_to(ROOT).as_posix()
        if relative.startswith(SKIPPED) or (path.suffix not in TEXT_SUFFIXES and path.name not in TEXT_NAMES):
            continue
        if path == Path(__file__).resolve():
            continue  # this test's own examples of broken references
        try:
            texts.append((path, path.read_text(encoding="utf-8")))
        except UnicodeDecodeError:
            continue
    return texts


def _inside(target: Path) -> bool:
    """``target`` exists and is inside the repository."""
    resolved = target.resolve()
    return resolved.exists() and (resolved == ROOT or ROOT in resolved.parents)


def _missing_link(source: Path, target: str) -> bool:
    if re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith(("#", "/", "<", "{")):
        return False  # a URL, an anchor, a route or a template
    path = target.split("#", 1)[0].split("?", 1)[0]
    return bool(path) and not _inside(source.parent / path)


def _missing_mention(source: Path, mention: str) -> bool:
    mention = mention.rstrip(".")
    if "/" not in mention:
        return mention not in BASENAMES
    return not (_inside(ROOT / mention) or _inside(source.parent / mention))


def broken_references(texts: list[tuple[Path, str]]) -> list[str]:
    """``file:line: reference`` for every reference to a document the repository does not have."""
    broken = []
    for path, text in texts:
        relative = path.relative_to(ROOT).as_posix()
        for number, line in enumerate(text.splitlines(), 1):
            found = []
            if path.suffix == ".md":
                found += [t for t in LINK.findall(line) if _missing_link(path, t)]
            found += [
                m.group()
                for m in DOCS_PATH.finditer(line)
                if not _inside(ROOT / m.group()) and not ANOTHER_REPOSITORY.search(line[: m.start()])
            ]
            found += [m for m in MD_FILE.findall(line) if _missing_mention(path, m)]
            found += [m for m in DESIGN_DIR.findall(line) if _missing_mention(path, m)]
            broken += [f"{relative}:{number}: {reference}" for reference in dict.fromkeys(found)]
    return broken


def test_every_document_a_file_points_to_is_in_the_repository() -> None:
    assert FILES, "no file found to check"
    assert broken_references(_texts()) == []


@pytest.mark.parametrize(
    ("name", "text", "broken"),
    [
        ("README.md", "see [the domain](docs/domain.md#vehicles) and docs/kpis/", []),
        ("README.md", "see [the rules](../shared/DOMAIN.md)", ["../shared/DOMAIN.md"]),
        ("README.md", "as CONVENTIONS.md says", ["CONVENTIONS.md"]),
        ("docs/x.md", "its definitions (open-contracting/cardinal-rs, `docs/cli/indicators/`)", []),
        ("services/x.py", "# the rule: docs/money.md, then docs/nowhere.md", ["docs/nowhere.md"]),
        ("services/x.py", '"""Seeds: shared/seeds/ and ARCHITECTURE.md."""', ["ARCHITECTURE.md", "shared/seeds/"]),
        ("docs/kpis/x.md", "[energy](../energy-periods.md), [money](money.md)", ["money.md"]),
    ],
)
def test_a_reference_is_broken_exactly_when_its_document_is_missing(name: str, text: str, broken: list[str]) -> None:
    found = broken_references([(ROOT / name, text)])
    assert [line.split(": ", 1)[1] for line in found] == broken


ISSUE = re.compile(r"\b[Ii]ssue #?\d+|\(#\d+\)")
"""A pointer into an issue tracker, which a clone does not carry: the docs page the work is written up in says it."""


def test_no_file_sends_a_reader_to_an_issue_tracker() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{number}"
        for path, text in _texts()
        for number, line in enumerate(text.splitlines(), 1)
        if ISSUE.search(line) and path.suffix not in (".json", ".yaml")
    ]
    assert found == []
    assert ISSUE.search("the rule (issue #20)") and ISSUE.search("as issue 7 asks") and ISSUE.search("missing (#20)")
    assert not ISSUE.search("seed 000 #19, the new-energy share")
