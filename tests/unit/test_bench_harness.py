"""The bench's harness (``tests/load/bench.py``): the relay's and the projector's rounds taken in turns with their
baselines', each round's clients closed before the next side starts, and an entry point that prints no warning."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.load import bench

ROOT = Path(__file__).resolve().parents[2]


def _side(name: str, happened: list[str]) -> bench.Round:
    @contextlib.contextmanager
    def side(number: int) -> Iterator[Callable[[], object]]:
        happened.append(f"open {name}{number}")
        try:
            yield lambda: happened.append(f"work {name}{number}")
        finally:
            happened.append(f"close {name}{number}")

    return side


def test_sides_take_turns_and_close_their_clients_before_the_next_turn(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bench, "ROUNDS", 3)
    happened: list[str] = []
    found = bench.in_rounds({"ours": _side("a", happened), "baseline": _side("b", happened)})
    assert happened == [
        f"{step} {side}{number}" for number in range(3) for side in "ab" for step in ("open", "work", "close")
    ]
    for label in ("ours", "baseline"):
        assert found[label]["label"] == label
        assert found[label]["rounds"] == 3
        assert len(found[label]["rates"]) == 3
        assert min(found[label]["rates"]) <= found[label]["rate"] <= max(found[label]["rates"])
        assert {"count", "seconds", "cpu_us_per_message"} <= set(found[label])


def test_the_entry_point_prints_no_warning() -> None:
    """eventlet's deprecation notice (printed when nameko is imported) is silenced by the bench's package."""
    env = {key: value for key, value in os.environ.items() if key != "PYTHONWARNINGS"} | {"PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "tests.load.bench", "--help"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert done.stderr == ""
