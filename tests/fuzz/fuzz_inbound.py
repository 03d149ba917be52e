"""Coverage-guided fuzz target (atheris) for the district inbound message reader.

``one_input`` is what every run checks: whatever bytes arrive on ``district.<code>.inbound``, reading them
answers an ``InboundMessage`` or raises ``Rejected`` with a reason; any other exception is a crash, the class
of defect that used to stop the district consumer for every district (docs/hostile-input.md).

Run it long with ``make fuzz`` (``FUZZ_SECONDS``, default 300), or directly:
``python -m tests.fuzz.fuzz_inbound -max_total_time=60 [corpus_dir]``. The suite runs the same target with a short budget (``tests/fuzz/test_fuzz_inbound.py``): over hypothesis-made inputs
always, and under atheris for a few seconds.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from kafka.consumer.fetcher import ConsumerRecord

if __name__ == "__main__":  # a fuzzing run: instrument the platform's own code only, as it is imported
    import atheris

    with atheris.instrument_imports(include=["services.common"]):
        from services.common.read.inbound import InboundMessage, Rejected, read_message
else:
    from services.common.read.inbound import InboundMessage, Rejected, read_message

TOPIC = "district.320402.inbound"

REASONS = frozenset({"malformed_json", "too_large", "invalid_text", "invalid_message", "wrong_district"})
"""The reasons the reader may give."""


def record(value: bytes) -> ConsumerRecord:
    """``value`` as a record of the district's topic."""
    return ConsumerRecord(TOPIC, 0, None, 0, 0, 0, b"k", value, [], None, 1, len(value), 0)


def one_input(data: bytes) -> None:
    """Read ``data`` as a district message; only a message or a rejection with a known reason may come out."""
    try:
        message = read_message(record(data), "320402")
    except Rejected as refused:
        if refused.code not in REASONS:
            raise AssertionError(f"unknown reason {refused.code}") from None
        json.dumps(refused.about, ensure_ascii=False)
        return
    if not isinstance(message, InboundMessage) or message.district != "320402":
        raise AssertionError(f"read {message!r}")


def seeds() -> list[bytes]:
    """Well-formed messages to start from: the examples of the inbound contracts."""
    found = []
    for path in sorted((Path(__file__).parents[2] / "contracts" / "inbound").glob("*.json")):
        for example in json.loads(path.read_text(encoding="utf-8")).get("examples", []):
            if isinstance(example, dict) and "message_id" in example:
                found.append(json.dumps(example, ensure_ascii=False).encode())
    return found


def main() -> None:
    """Fuzz ``one_input`` with atheris (libFuzzer's arguments pass through)."""
    import atheris

    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
