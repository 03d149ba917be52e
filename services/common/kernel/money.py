"""Money, once for the whole platform: integer fen (分, 0.01 yuan) in every event, store and API field.

Why integers: rents, incomes and budgets are summed over years and agencies and compared with baselines and
budget lines to the fen; binary floats cannot hold 0.10 exactly, so float yuan sums drift and two reports of the
same figure disagree in the last digit. The convention (README "Money"):

- every money field is an ``int`` of fen whose name ends ``_fen`` (the assets, procurement and vehicles services
  named theirs ``_cents`` before this rule: the same unit, 1/100 yuan; their events still publish the old name,
  equal to the fen, for older consumers: ``Event.legacy_cents``, ``with_fen_names``);
- yuan appear only as text at the edges people see: ``format_fen`` for a label, ``parse_yuan`` for a figure typed or
  read from a file as "1234.56";
- events written before the rule carried float yuan; their upcasters turn them into fen with ``fen_from_yuan``
  (round half up, the rounding of 《会计基础工作规范》 for amounts to the fen);
- an event still published with a float-yuan property for consumers of its previous version fills it from the fen
  with ``yuan_from_fen`` and never reads it back (``Event.legacy_yuan``).

No function here takes a float except ``fen_from_yuan``, whose only callers are upcasters and the edge where a
client still sends yuan numbers.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Final

from services.common.kernel.errors import NotPositive, ValidationFailed

FEN_PER_YUAN: Final = 100

MAX_FEN: Final = 1_000_000_000_000
"""The largest single amount the platform accepts: 10 000 000 000.00 yuan (ten billion), in fen."""


def fen_from_yuan(yuan: float | int | Decimal) -> int:
    """Yuan as integer fen, rounded half up (0.005 yuan -> 1 fen). A float is read by its shortest decimal form
    (``repr``), so 19.99 is 1 999 fen and not 1 998.99999... truncated."""
    if isinstance(yuan, bool):
        raise TypeError("a boolean is not an amount of money")
    exact = yuan if isinstance(yuan, Decimal) else Decimal(repr(yuan)) if isinstance(yuan, float) else Decimal(yuan)
    if not exact.is_finite():
        raise ValueError(f"not a finite amount: {yuan!r}")
    return int((exact * FEN_PER_YUAN).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def yuan_from_fen(fen: int) -> float:
    """The float yuan of an amount in fen, only for a legacy float-yuan property of an event (two decimals)."""
    return float(Decimal(fen) / FEN_PER_YUAN)


def parse_yuan(text: str) -> int:
    """Fen from yuan written as text ("1234.56", "1,234.5", "-3"); at most two decimals, else ValidationFailed."""
    cleaned = text.strip().replace(",", "")
    try:
        exact = Decimal(cleaned)
    except InvalidOperation:
        raise ValidationFailed(f"{text!r} is not an amount in yuan", fields={"amount": ["not a number"]}) from None
    if not exact.is_finite() or exact.as_tuple().exponent < -2:  # type: ignore[operator]
        raise ValidationFailed(f"{text!r} has more than two decimals", fields={"amount": ["at most 2 decimals"]})
    return int(exact * FEN_PER_YUAN)


def format_fen(fen: int) -> str:
    """An amount in fen as yuan text with thousands separators and two decimals: 123456789 -> "1,234,567.89"."""
    sign, whole = ("-" if fen < 0 else ""), abs(fen)
    return f"{sign}{whole // FEN_PER_YUAN:,}.{whole % FEN_PER_YUAN:02d}"


def require_fen(field: str, value: object, minimum: int = 0, maximum: int = MAX_FEN) -> int:
    """Refuse what is not an integer amount of fen within ``minimum``..``maximum`` (a float, a boolean, a string:
    ValidationFailed; out of range: NotPositive below a positive minimum, ValidationFailed otherwise)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationFailed(f"{field} must be an integer number of fen", fields={field: ["integer fen (分)"]})
    if value < minimum:
        error = NotPositive if minimum > 0 else ValidationFailed
        raise error(f"{field} must be at least {minimum} fen", fields={field: [f"must be >= {minimum}"]})
    if value > maximum:
        raise ValidationFailed(f"{field} must be at most {maximum} fen", fields={field: [f"must be <= {maximum}"]})
    return value


def with_fen(payload: dict[str, object], legacy_yuan: dict[str, str]) -> dict[str, object]:
    """The upcast of a payload that carried float yuan: each ``legacy`` property gains its ``_fen`` field
    (``fen_from_yuan``); the float stays, for the consumers of the old version."""
    added = {}
    for legacy, fen_field in legacy_yuan.items():
        value = payload[legacy]
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TypeError(f"{legacy} is not an amount in yuan: {value!r}")
        added[fen_field] = fen_from_yuan(value)
    return {**payload, **added}


def with_fen_names(payload: dict[str, object], legacy_cents: dict[str, str]) -> dict[str, object]:
    """The upcast of a payload that named its integer fen ``*_cents``: each ``legacy`` property gains its ``_fen``
    field, the same integer (``amount_cents: 12345`` -> ``amount_fen: 12345``); the old name stays, for the
    consumers of the old version."""
    added = {}
    for legacy, fen_field in legacy_cents.items():
        value = payload[legacy]
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise TypeError(f"{legacy} is not an integer amount of fen: {value!r}")
        added[fen_field] = value
    return {**payload, **added}
