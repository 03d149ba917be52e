"""A progress bar for long work (replay, rebuild, demo load): a bar on a terminal, JSON lines otherwise."""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO


class Progress:
    """Counts work done against an (optional) total and reports it at most every ``every`` seconds."""

    def __init__(self, label: str, total: int | None = None, stream: TextIO | None = None, every: float = 0.5) -> None:
        self.label = label
        self.total = total
        self.done = 0
        self.stream = stream or sys.stderr
        self.every = every
        self.started = time.monotonic()
        self._last = 0.0
        self._tty = self.stream.isatty()

    def advance(self, count: int = 1) -> None:
        """Record ``count`` more items done."""
        self.done += count
        now = time.monotonic()
        if now - self._last >= self.every:
            self._last = now
            self._render(final=False)

    def finish(self) -> dict[str, Any]:
        """Print the final line and return the summary."""
        self._render(final=True)
        return {"label": self.label, "done": self.done, "seconds": round(time.monotonic() - self.started, 3)}

    def _render(self, final: bool) -> None:
        elapsed = max(time.monotonic() - self.started, 1e-9)
        rate = self.done / elapsed
        if self._tty:
            if self.total:
                filled = int(30 * min(self.done / self.total, 1.0))
                bar = "#" * filled + "-" * (30 - filled)
                text = f"\r{self.label} [{bar}] {self.done}/{self.total} {rate:,.0f}/s"
            else:
                text = f"\r{self.label} {self.done} {rate:,.0f}/s"
            self.stream.write(text + ("\n" if final else ""))
        else:
            total = f', "total": {self.total}' if self.total else ""
            self.stream.write(
                f'{{"progress": "{self.label}", "done": {self.done}{total}, "rate": {rate:.0f}, "final": {str(final).lower()}}}\n'
            )
        self.stream.flush()
