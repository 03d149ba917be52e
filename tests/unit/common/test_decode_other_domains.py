"""A projector reads another service's events too (the assets inbox reads procurement's topic): an older stored
version is upcast with that domain's upcasters, loaded on demand, though the process never imported its domain
(``services.common.kernel.events.load_registrations_with``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[3]

SCRIPT = """
import json, types
from services.common.kernel import events
from services.common.read.projector import decode
assert ("procurement", "BudgetCommitted", 1) not in events._UPCASTERS  # procurement's domain not imported yet
envelope = {
    "event_id": "6f1c2b7e-9a4d-4c1e-8b2a-3d5e7f901234", "event_type": "BudgetCommitted", "schema_version": 1, "stream_type": "BudgetLine",
    "stream_id": "BL1", "stream_version": 2, "occurred_at": "2026-11-23T01:00:00.000000+00:00",
    "recorded_at": "2026-11-23T01:00:00.000000+00:00", "district": "320402", "agency_id": "A1",
    "actor": "city_admin:t", "correlation_id": "6f1c2b7e-9a4d-4c1e-8b2a-3d5e7f905678", "causation_id": None, "domain": "procurement",
    "payload": {"budget_line_id": "BL1", "request_id": "PR1", "amount_cents": 12345},
}
env = decode(types.SimpleNamespace(value=json.dumps(envelope).encode()))
print(env.schema_version, env.payload["amount_fen"], env.payload["amount_cents"])
"""


def test_an_older_event_of_a_domain_the_process_never_imported_is_upcast() -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, env={"PYTHONPATH": str(ROOT)}, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["2", "12345", "12345"]
