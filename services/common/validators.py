"""Marshmallow building blocks every service's ``schemas.py`` uses: identifiers, district codes, numbers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from marshmallow import fields, validate

from services.common.errors import ValidationFailed
from services.common.money import MAX_FEN

IDENTIFIER = validate.Regexp(r"^[A-Za-z0-9_.-]{1,64}$", error="must be 1-64 letters, digits, '_', '-' or '.'")
"""Ids of aggregates chosen by clients (agency codes, plates normalised, asset tags, ...)."""

DISTRICT_CODE = validate.Regexp(r"^\d{6}$", error="must be a six-digit administrative division code")
"""A district (辖市区) code: six digits."""


class Number(fields.Float):
    """A finite JSON number (integers allowed); strings, booleans, NaN and infinities are refused."""

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> float | None:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


def fen(required: bool = True, minimum: int = 0, maximum: int = MAX_FEN) -> fields.Integer:
    """A money field: integer fen (分), a JSON integer only (1.5, "150" and true are refused), ``minimum`` ..
    ``maximum``; the one way every API field ending ``_fen`` is declared (services/common/money.py)."""
    limits = validate.Range(min=minimum, max=maximum)
    if required:
        return fields.Integer(required=True, strict=True, validate=limits)
    return fields.Integer(load_default=None, strict=True, validate=limits)


def _nul_paths(value: Any, path: str) -> list[str]:
    if isinstance(value, str):
        return [path or "_body"] if "\x00" in value else []
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _nul_paths(k, path) + _nul_paths(v, f"{path}.{k}".lstrip("."))]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _nul_paths(v, f"{path}.{i}".lstrip("."))]
    return []


def refuse_nul(value: Any, path: str = "") -> None:
    """Refuse (422) text with a NUL character anywhere in ``value``: PostgreSQL cannot store it, so it
    would be accepted into the event store and then fail every projection of it."""
    found = _nul_paths(value, path)
    if found:
        raise ValidationFailed("text must not contain NUL characters", fields={p: ["contains NUL"] for p in found})
