"""When a supervisor starts a dead process again (pure: the loop is ``services.common.runtime.processes.Supervisor``).

A process that died is started again after a delay that doubles with each death in a row (1 s, 2 s, 4 s, ...
up to ``MAX_DELAY_SECONDS``), so a process that dies at once on every start (a bad configuration, a poison
request) does not spin the machine; one that then stayed up ``STABLE_SECONDS`` counts as healthy again and
its next death is restarted after the first delay.
"""

from __future__ import annotations

from dataclasses import dataclass

FIRST_DELAY_SECONDS = 1.0
MAX_DELAY_SECONDS = 60.0
STABLE_SECONDS = 60.0
"""How long a restarted process must run before its deaths in a row are forgotten."""


@dataclass(frozen=True)
class Restarts:
    """One process's deaths in a row and when it was last started (monotonic seconds)."""

    in_a_row: int = 0
    started_at: float = 0.0


def restart_delay(in_a_row: int) -> float:
    """The wait before starting a process that died ``in_a_row`` times in a row (counting this death)."""
    return float(min(FIRST_DELAY_SECONDS * 2.0 ** max(in_a_row - 1, 0), MAX_DELAY_SECONDS))


def after_death(previous: Restarts, died_at: float) -> tuple[Restarts, float]:
    """The count after a death at ``died_at``, and how long to wait before starting the process again."""
    in_a_row = 1 if died_at - previous.started_at >= STABLE_SECONDS else previous.in_a_row + 1
    return Restarts(in_a_row, previous.started_at), restart_delay(in_a_row)
