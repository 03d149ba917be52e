"""Marshmallow building blocks every service's ``schemas.py`` uses: identifiers, district codes, numbers."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from services.common.kernel.money import MAX_FEN

IDENTIFIER_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
IDENTIFIER = validate.Regexp(IDENTIFIER_PATTERN, error="must be 1-64 letters, digits, '_', '-' or '.'")
"""Ids of aggregates chosen by clients (agency codes, plates normalised, asset tags, ...)."""

DISTRICT_CODE = validate.Regexp(r"^[0-9]{6}$", error="must be a six-digit administrative division code")
"""A district (辖市区) code: six ASCII digits (a regex's digit class takes any script's digits, and ``３２０４０２``
is no district)."""

MONTH = validate.Regexp(r"^[0-9]{4}-(0[1-9]|1[0-2])$", error="YYYY-MM")
"""A calendar month, ``YYYY-MM`` in ASCII digits (a rent's or a report's period)."""


class Number(fields.Float):
    """A finite JSON number (integers allowed); strings, booleans, NaN and infinities are refused."""

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> float | None:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


def identifier(required: bool = True) -> fields.String:
    """An id chosen by the client (``IDENTIFIER``); an optional one reads as None when absent (the service then
    makes one)."""
    if required:
        return fields.String(required=True, validate=IDENTIFIER)
    return fields.String(validate=IDENTIFIER, load_default=None)


def text(max_length: int = 500, required: bool = True, absent: str | None = None) -> fields.String:
    """Free text of at most ``max_length`` characters, not empty when required. An optional one reads as
    ``absent`` when left out; when ``absent`` is ``""`` an empty text is accepted too (it means the same),
    when it is None a given text must not be empty."""
    if required:
        return fields.String(required=True, validate=validate.Length(min=1, max=max_length))
    if absent == "":
        return fields.String(load_default="", validate=validate.Length(max=max_length))
    return fields.String(load_default=absent, validate=validate.Length(min=1, max=max_length))


FORMER_MONEY_SUFFIX = "_cents"
"""The former spelling of a money field's ``_fen`` suffix (the assets, procurement and vehicles APIs used it): a
request may still send it for one deprecation period (``with_current_money_names``)."""

_MONEY_DESCRIPTION = (
    "Integer fen (分, 0.01 yuan). Deprecated: the same name ending `_cents` (its former name) is still accepted in "
    "a request and read as this field; sending both is refused."
)


def fen(required: bool = True, minimum: int = 0, maximum: int = MAX_FEN, default: int | None = None) -> fields.Integer:
    """A money field: integer fen (分), a JSON integer only (1.5, "150" and true are refused), ``minimum`` ..
    ``maximum``; an optional one reads as ``default`` when absent. The one way every API money field (``_fen``)
    is declared (services/common/kernel/money.py); its former ``_cents`` name is read as it
    (``with_current_money_names``)."""
    limits = validate.Range(min=minimum, max=maximum)
    metadata = {"description": _MONEY_DESCRIPTION, "money": True}
    if required:
        return fields.Integer(required=True, strict=True, validate=limits, metadata=metadata)
    return fields.Integer(load_default=default, strict=True, validate=limits, metadata=metadata)


def with_current_money_names(schema: Schema, payload: Mapping[str, Any]) -> dict[str, Any]:
    """``payload`` with each money field (``fen()``) sent under its former name (``amount_cents``) renamed to its
    ``_fen`` name, in nested schemas too; ValidationError naming both when a payload sends both names."""
    renamed = dict(payload)
    both: dict[str, Any] = {}
    for name, field in schema.fields.items():
        key = field.data_key or name
        if field.metadata.get("money") and key.endswith("_fen"):
            former = key.removesuffix("_fen") + FORMER_MONEY_SUFFIX
            if former in renamed:
                if key in renamed:
                    reason = f"send {key} only ({former} is its deprecated former name)"
                    both |= {key: [reason], former: [reason]}
                else:
                    renamed[key] = renamed.pop(former)
        nested = field.inner if isinstance(field, fields.List) else field
        if isinstance(nested, fields.Nested) and isinstance(nested.schema, Schema) and key in renamed:
            value = renamed[key]
            if isinstance(value, Mapping):
                renamed[key] = with_current_money_names(nested.schema, value)
            elif isinstance(value, list):
                renamed[key] = [
                    with_current_money_names(nested.schema, v) if isinstance(v, Mapping) else v for v in value
                ]
    if both:
        raise ValidationError(both)
    return renamed


def quantity(maximum: int, minimum: int = 1) -> fields.Integer:
    """A required count: a JSON integer only, ``minimum`` .. ``maximum``."""
    return fields.Integer(required=True, strict=True, validate=validate.Range(min=minimum, max=maximum))


def number(minimum: float, maximum: float, **kwargs: Any) -> Number:
    """A finite JSON number from ``minimum`` to ``maximum`` (both included); ``kwargs`` as for any field."""
    return Number(validate=validate.Range(min=minimum, max=maximum), **kwargs)


def positive(maximum: float, **kwargs: Any) -> Number:
    """A finite JSON number above zero, at most ``maximum``; ``kwargs`` as for any field."""
    return Number(validate=validate.Range(min=0, min_inclusive=False, max=maximum), **kwargs)


def flag(**kwargs: Any) -> fields.Boolean:
    """A JSON boolean only (no "yes", 1 or "true")."""
    return fields.Boolean(truthy={True}, falsy={False}, **kwargs)


EARLIEST_DAY = date(1900, 1, 1)
"""The first date any field accepts: nothing the platform records (an asset's acquisition, a building's, a
vehicle's) is older; a date before it is a typo or an attack, not a record."""

LATEST_DAY = date(2100, 12, 31)
"""The last date any field accepts (leases and plans run decades ahead at most)."""

MAX_OFFSET = 100_000
"""Largest ``offset`` of a listing page (beyond it the database would scan rows only to skip them)."""

_WINDOW = f"between {EARLIEST_DAY.isoformat()} and {LATEST_DAY.isoformat()}"
_WINDOW_METADATA = {"x-earliest": EARLIEST_DAY.isoformat(), "x-latest": LATEST_DAY.isoformat()}


PLAIN_DATE = "an ISO 8601 date or timestamp in ASCII digits"
"""The reason a date or timestamp in other digits is refused: Python's ISO parser reads ``２０２４-01-01`` (full-width)
or Arabic-Indic digits as 2024-01-01, which no district's system means to send."""


def _ascii_text(value: Any) -> None:
    if isinstance(value, str) and not value.isascii():
        raise ValidationError(PLAIN_DATE)


class Day(fields.Date):
    """A calendar date between ``EARLIEST_DAY`` and ``LATEST_DAY`` (documented in the OpenAPI document as
    ``x-earliest``/``x-latest``), in ASCII digits (``PLAIN_DATE``); every date field of every schema is one."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs["metadata"] = {**_WINDOW_METADATA, **kwargs.get("metadata", {})}
        super().__init__(**kwargs)

    def _deserialize(  # type: ignore[override]
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> date:
        _ascii_text(value)
        day: date = super()._deserialize(value, attr, data, **kwargs)
        if not EARLIEST_DAY <= day <= LATEST_DAY:
            raise ValidationError(f"must be {_WINDOW}")
        return day


class Moment(fields.AwareDateTime):
    """A timestamp with its offset whose date (at that offset) is between ``EARLIEST_DAY`` and ``LATEST_DAY``, in
    ASCII digits (``PLAIN_DATE``); every timestamp field of every schema is one."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs["metadata"] = {**_WINDOW_METADATA, **kwargs.get("metadata", {})}
        super().__init__(**kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> datetime:
        _ascii_text(value)
        moment: datetime = super()._deserialize(value, attr, data, **kwargs)
        if not EARLIEST_DAY <= moment.date() <= LATEST_DAY:
            raise ValidationError(f"must be {_WINDOW}")
        return moment


def bounded_period(start: str, end: str, max_days: int, refused_as: str | None = None) -> Any:
    """A schema check (assign it in the schema's body: ``_period = bounded_period("from", "to", 366)``):
    ``end`` at most ``max_days`` days after ``start``, refused on ``end`` (or on ``refused_as``, the field's
    name in the JSON when it differs) (422) otherwise. Whether ``end`` may come before ``start`` is the
    schema's or the domain's own rule (a period the wrong way round makes no work).

    Every pair of a schema's fields that makes a period has one (a generated test walks every schema), so no
    command or query makes a service work per day of a period without limit. The bound is recorded on the
    schema (``__periods__``) for the OpenAPI document.
    """

    @validates_schema
    def check(self: Schema, data: dict[str, Any], **kwargs: Any) -> None:
        first, last = data.get(start), data.get(end)
        if first is None or last is None:
            return
        first_day = first.date() if isinstance(first, datetime) else first
        last_day = last.date() if isinstance(last, datetime) else last
        if (last_day - first_day).days > max_days:
            raise ValidationError(f"must be at most {max_days} days after {start}", refused_as or end)

    check.period = (start, end, max_days)  # type: ignore[attr-defined]
    return check


def periods_of(schema: type[Schema]) -> list[tuple[str, str, int]]:
    """The ``bounded_period`` checks a schema declares: (start field, end field, maximum days)."""
    return [p for name in dir(schema) if (p := getattr(getattr(schema, name, None), "period", None)) is not None]
