"""The catalog (集中采购目录): categories decide the green clauses and the idle-first check."""

from __future__ import annotations

import pytest

from services.common.kernel.errors import WrongStatus
from services.procurement.domain.catalog import CatalogItem, CatalogItemListed, UnknownCategory


def listed(category: str, green: bool = False) -> CatalogItemListed:
    event = CatalogItem.list_item("X-1", "item", category, "piece", green_clauses_required=green).pending_events[0]
    assert isinstance(event, CatalogItemListed)
    return event


@pytest.mark.parametrize("category", ["furniture", "printing", "vehicle_repair", "decoration"])
def test_green_categories_require_green_clauses_even_when_not_asked(category: str) -> None:
    assert listed(category).green_clauses_required is True


def test_other_categories_need_green_clauses_only_when_asked() -> None:
    assert listed("office_supplies").green_clauses_required is False
    assert listed("office_supplies", green=True).green_clauses_required is True


@pytest.mark.parametrize(("category", "idle_first"), [("furniture", True), ("equipment", True), ("printing", False)])
def test_furniture_and_equipment_are_met_from_idle_stock_first(category: str, idle_first: bool) -> None:
    assert listed(category).idle_first is idle_first


@pytest.mark.parametrize(
    ("category", "kind"), [("equipment", "goods"), ("printing", "services"), ("decoration", "works")]
)
def test_the_category_decides_goods_services_or_works(category: str, kind: str) -> None:
    assert listed(category).kind == kind


def test_an_unknown_category_is_refused() -> None:
    with pytest.raises(UnknownCategory) as refused:
        CatalogItem.list_item("X-1", "item", "spaceships", "piece")
    assert refused.value.fields == {"category": ["unknown category code"]}


def test_a_withdrawn_item_cannot_be_withdrawn_again() -> None:
    item = CatalogItem.list_item("X-1", "item", "printing", "job")
    item.withdraw("merged into X-2")
    with pytest.raises(WrongStatus):
        item.withdraw("again")
