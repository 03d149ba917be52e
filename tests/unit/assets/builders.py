"""Builders shared by the assets domain tests: assets in each status, warehouse stock, stock items."""

from __future__ import annotations

from datetime import date

from services.assets.domain.base import SERVICE_LIFE_2016
from services.assets.domain.ledger import AcceptedDelivery, Asset
from services.assets.domain.stock import StockItem

TODAY = date(2026, 11, 23)
DISTRICT = "320402"


def asset(
    asset_id: str = "as-1",
    category: str = "furniture",
    acquired_on: date = date(2020, 1, 10),
    agency_id: str = "ag-1",
    value_fen: int = 180_000,
    location: str = "R301",
) -> Asset:
    """An asset in use at ``location`` (a desk of 1 800.00 yuan bought in January 2020 by default)."""
    a = Asset.register(
        asset_id=asset_id,
        agency_id=agency_id,
        district=DISTRICT,
        category=category,
        name="办公桌",
        location=location,
        original_value_fen=value_fen,
        acquired_on=acquired_on,
        condition="good",
        table=SERVICE_LIFE_2016,
        today=TODAY,
    )
    a.mark_stored()
    return a


def idle(asset_id: str = "as-1", **kwargs: object) -> Asset:
    """An idle asset."""
    a = asset(asset_id, **kwargs)  # type: ignore[arg-type]
    a.mark_idle("机构调整", TODAY)
    a.mark_stored()
    return a


def in_warehouse(asset_id: str = "as-1", condition: str = "good", category: str = "furniture") -> Asset:
    """An asset handed in to the public goods warehouse ``wh-city``."""
    a = idle(asset_id, category=category)
    a.hand_in("wh-city", DISTRICT, condition, TODAY)
    a.mark_stored()
    return a


def delivery(category: str = "furniture", item_code: str = "A0602-desk-1.6m", quantity: int = 3) -> AcceptedDelivery:
    """An accepted procurement delivery."""
    return AcceptedDelivery("ct-1", "dv-1", "ag-1", DISTRICT, item_code, category, quantity, 158_000, date(2026, 5, 11))


def stock_item(reorder_central: int = 10, reorder_point: int = 5) -> StockItem:
    """A4 paper kept at the central warehouse and the outlying point ``east``, with 100 boxes at the centre."""
    item = StockItem.register(
        sku="sku-paper",
        name="A4 复印纸",
        unit="box",
        sites=["central", "east"],
        reorder_points={"central": reorder_central, "east": reorder_point},
        today=TODAY,
    )
    item.receive("central", 100, 2_000, "in-1", TODAY)
    item.mark_stored()
    return item
