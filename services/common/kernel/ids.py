"""New aggregate ids: the one rule every service names its new records by."""

from __future__ import annotations

import uuid


def new_id(given: str | None, prefix: str) -> str:
    """``given`` when the caller chose an id, else ``<prefix>-`` and twelve random hex digits."""
    return given or f"{prefix}-{uuid.uuid4().hex[:12]}"
