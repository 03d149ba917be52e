"""The inbound reader's fuzz target with a short budget, as part of the suite (``make fuzz`` runs it long)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fuzz.fuzz_inbound import one_input, seeds


def test_the_contract_examples_are_read_as_messages() -> None:
    assert seeds(), "the inbound contracts carry examples to start from"
    for seed in seeds():
        one_input(seed)


def _mutated(seed: bytes, cut: int, insert: bytes) -> bytes:
    at = cut % (len(seed) + 1)
    return seed[:at] + insert + seed[at + len(insert) :]


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    st.binary(max_size=300)
    | st.builds(
        _mutated,
        st.sampled_from(seeds()),
        st.integers(min_value=0, max_value=2000),
        st.binary(min_size=1, max_size=20) | st.sampled_from([b"[" * 2000, b'"\\ud800"', b"1e999", b"NaN", b"\xff"]),
    )
)
def test_any_bytes_are_read_or_rejected_with_a_reason(data: bytes) -> None:
    one_input(data)


def test_atheris_finds_no_crash_in_a_short_run(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for n, seed in enumerate(seeds()):
        (corpus / f"seed-{n}").write_bytes(seed)
    seconds = os.environ.get("FUZZ_CI_SECONDS", "10")
    run = subprocess.run(
        [sys.executable, "-m", "tests.fuzz.fuzz_inbound", f"-max_total_time={seconds}", str(corpus)],
        capture_output=True,
        text=True,
        timeout=int(seconds) + 120,
    )
    assert run.returncode == 0, run.stderr[-3000:]
