"""A process that imported no domain module (a rebuild, a relay, a script) still reads every event type and
version: the first class or upcaster asked for and not registered makes the contracts load every domain
(``services.common.kernel.events.load_registrations_with``). Each check runs in a fresh interpreter, where
nothing else imported the domains first."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def _fresh(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip()


def test_an_old_version_is_upcast_with_no_domain_imported_first() -> None:
    out = _fresh(
        """
        from services.common.base import contracts  # what the projector and the store import
        from services.common.kernel import events
        assert events._EVENT_TYPES == {}  # nothing registered yet
        # LeaseRequested v1 carried float yuan: 6,500.50 yuan a month is 650,050 fen
        print(events.upcast("office_space", "LeaseRequested", 1, {"monthly_rent": 6500.5}, 2)["monthly_rent_fen"])
        """
    )
    assert out == "650050"


def test_an_event_class_is_found_with_no_domain_imported_first() -> None:
    out = _fresh(
        """
        from services.common.base import contracts
        from services.common.kernel import events
        print(events.event_class("vehicles", "TripDispatched").__module__)
        """
    )
    assert out == "services.vehicles.domain.trips"


def test_an_unknown_event_type_is_still_unknown() -> None:
    out = _fresh(
        """
        from services.common.base import contracts
        from services.common.kernel import events
        try:
            events.event_class("vehicles", "NoSuchEvent")
        except KeyError:
            print("unknown")
        """
    )
    assert out == "unknown"
