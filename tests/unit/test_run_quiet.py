"""``make run`` prints what a newcomer needs (where the gateway listens, the token), not eventlet's notice that it is
deprecated, which it prints when first imported."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_platformctl_imports_eventlet_without_its_deprecation_notice() -> None:
    # platformctl loaded as ``make run`` runs it, then a module that imports eventlet (as starting the platform does)
    code = (
        "import runpy, sys; sys.argv = ['platformctl.py', '--help']\n"
        "try:\n"
        "    runpy.run_path('infra/local/platformctl.py', run_name='__main__')\n"
        "except SystemExit:\n"
        "    pass\n"
        "import eventlet.event\n"
    )
    env = {key: value for key, value in os.environ.items() if key != "PYTHONWARNINGS"} | {"PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True, timeout=120
    )
    assert "Eventlet is deprecated" not in done.stderr
    assert "usage: platformctl.py" in done.stdout  # the control ran
