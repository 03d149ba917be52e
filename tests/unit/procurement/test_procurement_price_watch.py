"""Price watch for canteen ingredients: alerts on large moves week on week and against the reference price."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from services.common.kernel.errors import WrongStatus
from services.procurement.domain.catalog import CatalogItem
from services.procurement.domain.price_watch import (
    IngredientPriceWatch,
    NotACanteenIngredient,
    ObservationInFuture,
    PriceMoveAlerted,
    PriceMoveRules,
)
from tests.unit.procurement.builders import TODAY, paper


def watch(reference: int = 1_000, last_week: tuple[int, ...] = (1_000, 1_000)) -> IngredientPriceWatch:
    """A pork watch with prices observed 8 and 10 days ago."""
    pork = CatalogItem.list_item("I-pork", "猪肉(精瘦)", "canteen_ingredients", "kg")
    price_watch = IngredientPriceWatch.start(pork, reference, TODAY - timedelta(days=30))
    for days_ago, price in zip((10, 8), last_week, strict=True):
        price_watch.observe(TODAY - timedelta(days=days_ago), price, "湖塘农贸市场", TODAY)
    price_watch.mark_stored()
    return price_watch


def alerts(price_watch: IngredientPriceWatch) -> list[tuple[str, float, float]]:
    return [(e.kind, e.basis_fen, e.change) for e in price_watch.pending_events if isinstance(e, PriceMoveAlerted)]


def test_only_canteen_ingredients_are_watched() -> None:
    with pytest.raises(NotACanteenIngredient):
        IngredientPriceWatch.start(paper(), 1_000, TODAY)


def test_a_rise_of_more_than_15_percent_week_on_week_is_alerted() -> None:
    price_watch = watch(last_week=(1_000, 1_000))
    price_watch.observe(TODAY, 1_160, "湖塘农贸市场", TODAY)
    assert alerts(price_watch) == [("week_on_week", 1_000.0, 0.16)]


def test_a_move_of_exactly_15_percent_is_not_alerted() -> None:
    price_watch = watch()
    price_watch.observe(TODAY, 1_150, "湖塘农贸市场", TODAY)
    assert alerts(price_watch) == []


def test_a_fall_is_alerted_too() -> None:
    price_watch = watch(last_week=(900, 1_100))
    price_watch.observe(TODAY, 840, "湖塘农贸市场", TODAY)
    assert alerts(price_watch) == [("week_on_week", 1_000.0, -0.16)]


def test_prices_of_this_week_are_not_last_weeks_basis() -> None:
    price_watch = watch()
    price_watch.observe(TODAY - timedelta(days=3), 700, "湖塘农贸市场", TODAY)
    price_watch.mark_stored()
    price_watch.observe(TODAY, 1_100, "湖塘农贸市场", TODAY)
    assert alerts(price_watch) == []


def test_without_last_weeks_prices_the_reference_price_is_the_only_basis() -> None:
    price_watch = watch(last_week=(1_000, 1_000))
    price_watch.observe(TODAY + timedelta(days=20), 1_300, "湖塘农贸市场", TODAY + timedelta(days=20))
    assert alerts(price_watch) == [("against_reference", 1_000.0, 0.3)]


def test_the_thresholds_are_configurable() -> None:
    price_watch = watch()
    strict = PriceMoveRules(week_on_week_fraction=0.05, against_reference_fraction=0.05)
    price_watch.observe(TODAY, 1_060, "湖塘农贸市场", TODAY, strict)
    assert [kind for kind, _, _ in alerts(price_watch)] == ["week_on_week", "against_reference"]


def test_a_new_reference_price_is_the_new_basis() -> None:
    price_watch = watch(reference=1_000, last_week=(1_300, 1_300))
    price_watch.set_reference_price(1_300, TODAY)
    price_watch.observe(TODAY, 1_300, "湖塘农贸市场", TODAY)
    assert alerts(price_watch) == []


def test_a_price_observed_after_today_is_refused() -> None:
    with pytest.raises(ObservationInFuture):
        watch().observe(TODAY + timedelta(days=1), 1_000, "湖塘农贸市场", TODAY)


def test_the_watch_keeps_two_weeks_of_prices() -> None:
    price_watch = watch()
    later = TODAY + timedelta(days=5)
    price_watch.observe(later, 1_000, "湖塘农贸市场", later)
    assert [o["observed_on"] for o in price_watch.observations] == [
        date(2024, 2, 22).isoformat(),
        later.isoformat(),
    ]


def test_prices_are_observed_only_for_a_started_watch() -> None:
    with pytest.raises(WrongStatus):
        IngredientPriceWatch("I-unknown").observe(TODAY, 1_000, "湖塘农贸市场", TODAY)
