"""What failed for a passing reason, put aside for a wait that doubles while it keeps failing.

For a place that must not keep knocking at a door that does not open — the districts' consumer puts a kind of
message aside after its service did not take one (``services.common.read.inbound.Deferrals``) — for ``first``
seconds, twice as long after each failure in a row, at most ``most``. When the wait is over, the next try is made;
its answer (any answer) ends the matter, its failure puts the thing aside again for twice as long.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class PutAside:
    """Keys put aside after a failure, each until a time (monotonic) that doubles its wait with each failure."""

    def __init__(self, first: float, most: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.first, self.most = first, most
        self._clock = clock
        self._aside: dict[str, tuple[float, float]] = {}
        """Each key put aside: until when, and the wait that set it."""

    def until(self, key: str) -> float | None:
        """Until when ``key`` is put aside, or None when it may be tried (never failed, answered, or its wait over)."""
        aside = self._aside.get(key)
        return aside[0] if aside is not None and aside[0] > self._clock() else None

    def failed(self, key: str) -> float:
        """``key`` failed (again): put it aside for twice its last wait (``first`` at first, at most ``most``);
        until when."""
        aside = self._aside.get(key)
        wait = min(max(aside[1] * 2, self.first), self.most) if aside is not None else self.first
        until = self._clock() + wait
        self._aside[key] = (until, wait)
        return until

    def answered(self, key: str) -> None:
        """``key`` answered: tried at once from now on, and a next failure waits ``first`` again."""
        self._aside.pop(key, None)
