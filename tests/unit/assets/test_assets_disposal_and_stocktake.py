"""Disposal (处置) through approval, and stock-takes (盘点) whose differences become findings until reconciled."""

from __future__ import annotations

from datetime import date

import pytest

from services.assets.domain.asset_events import AssetAlreadyDisposed, AssetNotHeld
from services.assets.domain.base import DistinctAssetsRequired, NotOneOf
from services.assets.domain.disposal import (
    AssetsDifferFromApplication,
    AuctionOutsideTradingCentre,
    Disposal,
    DisposalApplied,
    DisposalCompleted,
    DisposalNotApproved,
    ProceedsMismatch,
    RecipientMismatch,
)
from services.assets.domain.ledger import Asset
from services.assets.domain.stocktake import CountingClosed, StockTake, StockTakeFindingRecorded, compare_counts
from services.common.kernel.errors import AlreadyExists, InvalidState, NotFound, WrongStatus
from tests.unit.assets.builders import DISTRICT, TODAY, asset, in_warehouse

# -- disposal ------------------------------------------------------------------------------------------


def _old_pc(asset_id: str = "pc-1") -> Asset:
    return asset(asset_id, category="computers", acquired_on=date(2023, 11, 23), value_fen=720_000)


def _applied(method: str = "auction", *assets: Asset, recipient: str | None = None) -> Disposal:
    return Disposal.apply(
        disposal_id="dp-1",
        agency_id="ag-1",
        district=DISTRICT,
        assets=list(assets),
        method=method,
        reason="超过使用年限",
        today=TODAY,
        recipient=recipient,
    )


def test_a_disposal_application_records_the_book_value_of_its_assets() -> None:
    disposal = _applied("auction", _old_pc("pc-1"), _old_pc("pc-2"))
    applied = disposal.pending_events[0]
    assert isinstance(applied, DisposalApplied)
    # each 720 000 fen over 72 months, charged November 2023 .. November 2026 = 37 months (the month of
    # acquisition counts): 720 000 - 720 000 * 37 // 72 = 720 000 - 370 000 = 350 000; two of them 700 000
    assert (applied.book_value_fen, applied.asset_ids) == (700_000, ["pc-1", "pc-2"])


def test_nothing_is_disposed_without_approval() -> None:
    pc = _old_pc()
    disposal = _applied("scrap", pc)
    with pytest.raises(DisposalNotApproved):
        disposal.complete([pc], 0, TODAY)
    disposal.reject("city_admin:wang", "仍可使用", TODAY)
    with pytest.raises(DisposalNotApproved):
        disposal.complete([pc], 0, TODAY)
    assert pc.status == "in_use"


def test_an_approved_auction_through_the_trading_centre_disposes_of_the_assets_and_records_proceeds() -> None:
    pc = _old_pc()
    disposal = _applied("auction", pc)
    disposal.approve("city_admin:wang", TODAY)
    disposal.complete([pc], 52_000, TODAY, "GGZY-2026-0815")
    done = disposal.pending_events[-1]
    assert isinstance(done, DisposalCompleted)
    assert (done.proceeds_fen, done.trading_centre_ref, disposal.status) == (52_000, "GGZY-2026-0815", "completed")
    assert pc.status == "disposed"


def test_an_auction_goes_through_the_public_resource_trading_centre_and_earns_something() -> None:
    pc = _old_pc()
    disposal = _applied("auction", pc)
    disposal.approve("city_admin:wang", TODAY)
    with pytest.raises(AuctionOutsideTradingCentre):
        disposal.complete([pc], 52_000, TODAY)
    with pytest.raises(ProceedsMismatch):
        disposal.complete([pc], 0, TODAY, "GGZY-1")


def test_a_transfer_names_its_recipient_and_earns_nothing_and_scrap_may_earn_salvage() -> None:
    with pytest.raises(RecipientMismatch):
        _applied("transfer", _old_pc())
    with pytest.raises(RecipientMismatch):
        _applied("scrap", _old_pc(), recipient="某小学")
    pc = _old_pc()
    transfer = _applied("transfer", pc, recipient="某小学")
    transfer.approve("city_admin:wang", TODAY)
    with pytest.raises(ProceedsMismatch):
        transfer.complete([pc], 100, TODAY)
    transfer.complete([pc], 0, TODAY)
    scrap_pc = _old_pc("pc-2")
    scrap = _applied("scrap", scrap_pc)
    scrap.approve("city_admin:wang", TODAY)
    scrap.complete([scrap_pc], 1_500, TODAY)
    with pytest.raises(NotOneOf):
        _applied("burn", _old_pc("pc-3"))


def test_a_disposed_asset_cannot_be_disposed_again() -> None:
    pc = _old_pc()
    first = _applied("scrap", pc)
    first.approve("a", TODAY)
    first.complete([pc], 0, TODAY)
    with pytest.raises(AssetAlreadyDisposed):
        _applied("scrap", pc)
    second = Disposal.apply(
        disposal_id="dp-2",
        agency_id="ag-1",
        district=DISTRICT,
        assets=[_old_pc()],
        method="scrap",
        reason="x",
        today=TODAY,
    )
    second.approve("a", TODAY)
    with pytest.raises(AssetAlreadyDisposed):
        second.complete([pc], 0, TODAY)


def test_an_agency_disposes_only_of_assets_it_holds_at_application_and_at_completion() -> None:
    with pytest.raises(AssetNotHeld):
        _applied("scrap", asset("x", agency_id="ag-9"))
    desk = asset("desk")
    disposal = _applied("scrap", desk)
    disposal.approve("a", TODAY)
    desk.mark_idle("x", TODAY)
    desk.hand_in("wh-city", DISTRICT, "good", TODAY)  # handed in to the warehouse meanwhile
    with pytest.raises(AssetNotHeld):
        disposal.complete([desk], 0, TODAY)


def test_a_disposal_completes_exactly_the_assets_applied_for_none_on_loan_none_repeated() -> None:
    pc1, pc2 = _old_pc("pc-1"), _old_pc("pc-2")
    disposal = _applied("scrap", pc1, pc2)
    disposal.approve("a", TODAY)
    with pytest.raises(AssetsDifferFromApplication):
        disposal.complete([pc1], 0, TODAY)
    with pytest.raises(DistinctAssetsRequired):
        _applied("scrap", pc1, pc1)
    lent = in_warehouse("c1")
    lent.lend("ln-1", "ag-2", date(2026, 12, 1), TODAY)
    with pytest.raises(WrongStatus):
        Disposal.apply(
            disposal_id="dp-3",
            agency_id="wh-city",
            district=DISTRICT,
            assets=[lent],
            method="scrap",
            reason="x",
            today=TODAY,
        )


# -- stock-takes ---------------------------------------------------------------------------------------

EXPECTED = {"a1": "R301", "a2": "R301", "a3": "R302"}


def _counted(**locations: list[str]) -> StockTake:
    stocktake = StockTake.open("st-1", "ag-1", DISTRICT, EXPECTED, TODAY)
    for location, ids in locations.items():
        stocktake.count(location, ids, TODAY)
    return stocktake


def test_counts_are_compared_with_the_ledger_missing_surplus_and_wrong_place() -> None:
    found = compare_counts(EXPECTED, {"a1": "R301", "a3": "R301", "x9": "R302"})
    assert [(f["kind"], f["asset_id"], f["ledger_location"], f["found_location"]) for f in found] == [
        ("missing", "a2", "R301", None),
        ("wrong_place", "a3", "R302", "R301"),
        ("surplus", "x9", None, "R302"),
    ]


def test_a_stocktake_that_finds_everything_in_place_closes_reconciled() -> None:
    stocktake = _counted(R301=["a1", "a2"], R302=["a3"])
    assert stocktake.close_counting(TODAY) == []
    closed = stocktake.pending_events[-1]
    assert isinstance(closed, CountingClosed) and (closed.expected_items, closed.findings) == (3, 0)
    assert stocktake.status == "reconciled"


def test_differences_become_findings_when_counting_closes() -> None:
    stocktake = _counted(R301=["a1", "a3"], R302=["x9"])
    ids = stocktake.close_counting(TODAY)
    assert ids == ["st-1-F1", "st-1-F2", "st-1-F3"]
    recorded = [e for e in stocktake.pending_events if isinstance(e, StockTakeFindingRecorded)]
    assert [(f.kind, f.asset_id) for f in recorded] == [("missing", "a2"), ("wrong_place", "a3"), ("surplus", "x9")]
    assert (stocktake.status, stocktake.open_findings) == ("reconciling", ids)


def test_an_item_is_counted_once_and_counting_stops_when_closed() -> None:
    stocktake = _counted(R301=["a1"])
    with pytest.raises(AlreadyExists):
        stocktake.count("R302", ["a1"], TODAY)
    with pytest.raises(AlreadyExists):
        stocktake.count("R302", ["a2", "a2"], TODAY)
    stocktake.close_counting(TODAY)
    with pytest.raises(WrongStatus):
        stocktake.count("R302", ["a3"], TODAY)


def test_reconciliation_closes_each_finding_with_a_resolution_of_its_kind() -> None:
    stocktake = _counted(R301=["a1", "a2"], R302=["a3", "x9"])
    (surplus,) = stocktake.close_counting(TODAY)
    with pytest.raises(NotOneOf):
        stocktake.reconcile(surplus, "found", "x", TODAY)
    with pytest.raises(NotFound):
        stocktake.reconcile("st-1-F9", "registered", "x", TODAY)
    stocktake.reconcile(surplus, "returned_to_holder", "属市财政局资产", TODAY)
    assert (stocktake.status, stocktake.open_findings) == ("reconciled", [])
    with pytest.raises(WrongStatus):
        stocktake.reconcile(surplus, "registered", "again", TODAY)


def test_correcting_the_ledger_for_an_item_in_the_wrong_place_relocates_it() -> None:
    a3 = asset("a3", location="R302")
    stocktake = StockTake.open("st-1", "ag-1", DISTRICT, {"a3": "R302"}, TODAY)
    stocktake.count("R305", ["a3"], TODAY)
    (wrong_place,) = stocktake.close_counting(TODAY)
    with pytest.raises(InvalidState):
        stocktake.reconcile(wrong_place, "ledger_corrected", "x", TODAY)  # the asset is needed
    stocktake.reconcile(wrong_place, "ledger_corrected", "已调整台账", TODAY, a3)
    assert a3.location == "R305" and a3.pending_events[-1].event_type == "AssetRelocated"


def test_a_finding_is_reconciled_once() -> None:
    stocktake = _counted(R301=["a1", "a2"])
    (missing,) = stocktake.close_counting(TODAY)
    stocktake.reconcile(missing, "found", "在会议室找到", TODAY)
    assert stocktake.status == "reconciled"
    with pytest.raises(WrongStatus):
        stocktake.reconcile(missing, "loss_reported", "x", TODAY)
