"""Warehouse stock (仓储): goods in, out and transferred between the central warehouse and outlying points ("1+N"),
never below zero, reorder points, stock value at moving average cost."""

from __future__ import annotations

import pytest

from services.assets.domain.base import NegativeAmount
from services.assets.domain.stock import (
    CentralSiteRequired,
    GoodsIssued,
    InsufficientStock,
    ReorderPointReached,
    StockItem,
    TransferNotThroughCentral,
    UnknownSite,
)
from services.common.kernel.errors import NotPositive
from tests.unit.assets.builders import TODAY, stock_item


def _reorders(item: StockItem) -> list[tuple[str, int, int]]:
    return [(e.site, e.on_hand, e.reorder_point) for e in item.pending_events if isinstance(e, ReorderPointReached)]


def test_an_item_is_kept_at_the_central_warehouse_and_its_outlying_points() -> None:
    with pytest.raises(CentralSiteRequired):
        StockItem.register(sku="sku", name="纸", unit="box", sites=["east"], reorder_points={}, today=TODAY)
    with pytest.raises(UnknownSite):
        StockItem.register(sku="sku", name="纸", unit="box", sites=["central"], reorder_points={"west": 3}, today=TODAY)
    with pytest.raises(NegativeAmount):
        StockItem.register(
            sku="sku", name="纸", unit="box", sites=["central"], reorder_points={"central": -1}, today=TODAY
        )
    item = StockItem.register(
        sku="sku", name="纸", unit="box", sites=["central", "east"], reorder_points={"central": 5}, today=TODAY
    )
    assert (item.on_hand, item.reorder_points) == ({"central": 0, "east": 0}, {"central": 5, "east": 0})


def test_goods_in_move_the_average_cost_and_the_stock_value() -> None:
    item = stock_item()  # 100 boxes at 20.00
    item.receive("central", 50, 2_600, "in-2", TODAY)
    assert (item.on_hand["central"], item.average_unit_cost_fen) == (150, 2_200)
    assert item.stock_value_fen() == 330_000
    with pytest.raises(NotPositive):
        item.receive("central", 0, 2_600, "in-3", TODAY)
    with pytest.raises(UnknownSite):
        item.receive("west", 1, 2_600, "in-3", TODAY)


def test_goods_out_are_valued_at_average_cost_and_never_take_stock_below_zero() -> None:
    item = stock_item()
    item.issue("central", 30, "ag-1", TODAY)
    issued = item.pending_events[-1]
    assert isinstance(issued, GoodsIssued) and (issued.value_fen, issued.on_hand_after) == (60_000, 70)
    with pytest.raises(InsufficientStock) as refused:
        item.issue("central", 71, "ag-1", TODAY)
    assert refused.value.details == {"site": "central", "on_hand": 70, "requested": 71}


def test_falling_to_the_reorder_point_signals_a_reorder_once() -> None:
    item = stock_item(reorder_central=10)
    item.issue("central", 89, "ag-1", TODAY)  # 11 left: above the point
    assert _reorders(item) == []
    item.issue("central", 1, "ag-1", TODAY)  # 10: at the point
    item.issue("central", 1, "ag-1", TODAY)  # 9: still below, no second signal
    assert _reorders(item) == [("central", 10, 10)]


def test_raising_a_reorder_point_to_the_stock_on_hand_signals_a_reorder() -> None:
    item = stock_item()
    item.set_reorder_point("central", 100, TODAY)
    assert _reorders(item) == [("central", 100, 100)]
    with pytest.raises(NegativeAmount):
        item.set_reorder_point("central", -1, TODAY)


def test_transfers_run_between_the_centre_and_an_outlying_point() -> None:
    item = StockItem.register(
        sku="sku", name="纸", unit="box", sites=["central", "east", "west"], reorder_points={"central": 60}, today=TODAY
    )
    item.receive("central", 100, 2_000, "in-1", TODAY)
    item.transfer("central", "east", 40, TODAY)
    assert item.on_hand == {"central": 60, "east": 40, "west": 0}
    assert _reorders(item) == [("central", 60, 60)]
    with pytest.raises(TransferNotThroughCentral):
        item.transfer("east", "west", 10, TODAY)
    with pytest.raises(TransferNotThroughCentral):
        item.transfer("central", "central", 10, TODAY)
    with pytest.raises(InsufficientStock):
        item.transfer("east", "central", 41, TODAY)
    item.transfer("east", "central", 40, TODAY)
    assert item.stock_value_fen("east") == 0 and item.stock_value_fen() == 200_000
