"""New ids: the one rule every service names its new records by, and the random UUIDs events are known by."""

from __future__ import annotations

import os
import uuid

_VARIANT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}
"""A hex digit's two low bits under the RFC 4122 variant bits (``10``): the UUID's 17th digit."""


def new_id(given: str | None, prefix: str) -> str:
    """``given`` when the caller chose an id, else ``<prefix>-`` and twelve random hex digits."""
    return given or f"{prefix}-{uuid.uuid4().hex[:12]}"


def random_uuid() -> str:
    """A random UUID (version 4) as text, as ``str(uuid.uuid4())`` writes it, from the same 16 bytes of the operating
    system's generator with the same version and variant bits (122 random bits), at under half its cost (no ``UUID``
    object and its integer between the bytes and the text): every appended event draws one."""
    digits = os.urandom(16).hex()
    return f"{digits[:8]}-{digits[8:12]}-4{digits[13:16]}-{_VARIANT[digits[16]]}{digits[17:20]}-{digits[20:]}"
