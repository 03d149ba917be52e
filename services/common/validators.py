"""Marshmallow building blocks every service's ``schemas.py`` uses: identifiers, district codes, numbers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from marshmallow import fields, validate

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
