"""Every assets aggregate replays from its events (through JSON), round-trips its snapshot, and every event it
records fits its contract in ``contracts/events/assets/``."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date

import pytest

from services.assets.domain.base import SERVICE_LIFE_2016
from services.assets.domain.disposal import Disposal
from services.assets.domain.ledger import Asset
from services.assets.domain.stock import StockItem
from services.assets.domain.stocktake import StockTake
from services.assets.domain.warehouse import WarehouseLoan, WarehouseRequest
from services.common.base import contracts
from services.common.kernel.aggregate import Aggregate
from services.common.kernel.events import event_from_payload, registered_event_types
from tests.unit.assets.builders import DISTRICT, TODAY

LATER = date(2026, 12, 4)


def asset(
    asset_id: str,
    category: str = "furniture",
    acquired_on: date = date(2020, 1, 10),
    agency_id: str = "ag-1",
    location: str = "R1",
) -> Asset:
    """An asset in use with every event still pending (the whole history replays)."""
    return Asset.register(
        asset_id=asset_id,
        agency_id=agency_id,
        district=DISTRICT,
        category=category,
        name="办公桌",
        location=location,
        original_value_fen=100_000,
        acquired_on=acquired_on,
        condition="good",
        table=SERVICE_LIFE_2016,
        today=TODAY,
    )


def in_warehouse(asset_id: str, condition: str = "good") -> Asset:
    """An asset handed in to the warehouse, every event pending."""
    a = asset(asset_id)
    a.mark_idle("闲置", TODAY)
    a.hand_in("wh-city", DISTRICT, condition, TODAY)
    return a


def _asset() -> list[Aggregate]:
    desk = Asset.register(
        asset_id="AS-1",
        agency_id="ag-1",
        district=DISTRICT,
        category="furniture",
        name="办公桌",
        location="R301",
        original_value_fen=180_000,
        acquired_on=date(2000, 1, 1),
        condition="good",
        table=SERVICE_LIFE_2016,
        today=TODAY,
    )
    desk.relocate("R302", TODAY)
    desk.mark_idle("机构调整", TODAY)
    desk.put_back_in_use("R303", TODAY)
    desk.apply_for_replacement("桌面断裂", TODAY)
    desk.assess_repair(False, False, 0, "tech", TODAY)
    desk.approve_replacement("city_admin:wang", TODAY)
    return [desk]


def _request() -> list[Aggregate]:
    old = asset("old", acquired_on=date(2000, 1, 1), agency_id="ag-2")
    old.apply_for_replacement("x", TODAY)
    old.assess_repair(False, False, 0, "tech", TODAY)
    old.approve_replacement("a", TODAY)
    stock = [in_warehouse("w1", "good")]
    request = WarehouseRequest.open(
        request_id="wr-1",
        agency_id="ag-2",
        district=DISTRICT,
        category="furniture",
        quantity=2,
        min_condition="fair",
        location="R5",
        table=SERVICE_LIFE_2016,
        today=TODAY,
        replaces=old,
    )
    request.fulfil_from_idle_stock(stock, TODAY)
    return [request, old, *stock]


def _loan() -> list[Aggregate]:
    chairs = [in_warehouse("c1"), in_warehouse("c2")]
    loan = WarehouseLoan.lend(
        loan_id="ln-1",
        borrower_agency_id="ag-2",
        district=DISTRICT,
        purpose="conference",
        occasion="大会",
        assets=chairs,
        due_on=date(2026, 12, 1),
        today=TODAY,
    )
    loan.flag_if_overdue(date(2026, 12, 3))
    loan.return_items(chairs[:1], LATER, {"c1": "fair"})
    chairs[0].record_repair(2_000, "good", LATER)
    return [loan, *chairs]


def _disposal() -> list[Aggregate]:
    pc = asset("pc", category="computers", acquired_on=date(2019, 1, 1))
    disposal = Disposal.apply(
        disposal_id="dp-1",
        agency_id="ag-1",
        district=DISTRICT,
        assets=[pc],
        method="auction",
        reason="报废",
        today=TODAY,
    )
    disposal.approve("a", TODAY)
    disposal.complete([pc], 5_000, TODAY, "GGZY-1")
    refused = Disposal.apply(
        disposal_id="dp-2",
        agency_id="ag-1",
        district=DISTRICT,
        assets=[asset("x")],
        method="transfer",
        reason="援助",
        today=TODAY,
        recipient="某小学",
    )
    refused.reject("a", "仍可使用", TODAY)
    return [disposal, pc, refused]


def _stocktake() -> list[Aggregate]:
    a1 = asset("a1", location="R1")
    stocktake = StockTake.open("st-1", "ag-1", DISTRICT, {"a1": "R1", "a2": "R1"}, TODAY)
    stocktake.count("R2", ["a1", "x9"], TODAY)
    stocktake.count("R3", [], TODAY)
    stocktake.close_counting(TODAY)
    stocktake.reconcile("st-1-F1", "ledger_corrected", "台账已改", TODAY, a1)
    stocktake.reconcile("st-1-F2", "loss_reported", "", TODAY)
    return [stocktake, a1]


def _stock() -> list[Aggregate]:
    item = StockItem.register(
        sku="sku",
        name="A4 纸",
        unit="box",
        sites=["central", "east"],
        reorder_points={"central": 10, "east": 5},
        today=TODAY,
    )
    item.receive("central", 100, 2_000, "in-1", TODAY)
    item.transfer("central", "east", 20, TODAY)
    item.issue("east", 16, "ag-1", TODAY)
    item.set_reorder_point("central", 90, TODAY)
    return [item]


BUILDERS: list[Callable[[], list[Aggregate]]] = [_asset, _request, _loan, _disposal, _stocktake, _stock]


@pytest.mark.parametrize("build", BUILDERS)
def test_an_aggregate_replays_from_its_events_and_its_snapshot(build: Callable[[], list[Aggregate]]) -> None:
    for original in build():
        stored = [json.loads(json.dumps(e.payload())) for e in original.pending_events]
        events = [
            event_from_payload("assets", e.event_type, e.schema_version, p)
            for e, p in zip(original.pending_events, stored, strict=True)
        ]
        replayed = type(original).rehydrate(original.id, events)
        assert replayed.snapshot_state() == original.snapshot_state()
        assert replayed.version == original.version
        snapshot = json.loads(json.dumps(original.snapshot_state()))
        restored = type(original).rehydrate(original.id, [], (original.version, snapshot))
        assert restored.snapshot_state() == original.snapshot_state()


@pytest.mark.parametrize("build", BUILDERS)
def test_every_recorded_event_fits_its_contract(build: Callable[[], list[Aggregate]]) -> None:
    for aggregate in build():
        for event in aggregate.pending_events:
            contracts.validate_payload("assets", event.event_type, event.schema_version, event.payload())


def test_the_scenarios_record_every_event_type_of_the_domain() -> None:
    recorded = {e.event_type for build in BUILDERS for a in build() for e in a.pending_events}
    assert recorded == {t for domain, t, _ in registered_event_types() if domain == "assets"}
