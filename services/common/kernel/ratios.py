"""The one ratio rule of the reported figures: nothing over nothing is no figure, the rest is rounded."""

from __future__ import annotations


def ratio(numerator: float | None, denominator: float | None, scale: float = 1.0, *, digits: int) -> float | None:
    """``numerator × scale / denominator`` rounded to ``digits`` decimals (Python's ``round``: half to even
    on the binary value), or None when the numerator is unknown or the denominator is unknown or zero.

    ``digits`` is the caller's: intensities keep six decimals, shares and unit costs four."""
    if numerator is None or not denominator:
        return None
    return round(numerator * scale / denominator, digits)
