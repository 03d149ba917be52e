"""The one ratio rule: no figure over nothing, the rest rounded half to even at the caller's decimals."""

from __future__ import annotations

from services.common.kernel.ratios import ratio


def test_nothing_over_nothing_is_no_figure() -> None:
    assert ratio(5, 0, digits=4) is None
    assert ratio(5, None, digits=4) is None
    assert ratio(None, 10, digits=4) is None
    assert ratio(0, 10, digits=4) == 0.0


def test_a_half_rounds_to_even_on_the_exact_binary_value() -> None:
    assert ratio(1, 8, digits=2) == 0.12  # 0.125 is exact in binary: half to even
    assert ratio(3, 8, digits=2) == 0.38  # 0.375 likewise
    assert ratio(1, 3, digits=4) == 0.3333
    assert ratio(2, 3, digits=4) == 0.6667


def test_scale_applies_before_rounding() -> None:
    assert ratio(12.060407, 1000, 1000.0, digits=6) == 12.060407  # tce over m², as kgce per m²
    assert ratio(1, 3, 1000.0, digits=6) == 333.333333
    assert ratio(45_000, 300 * 100, digits=4) == 1.5  # 450 yuan (in fen) over 300 km, in yuan per km
