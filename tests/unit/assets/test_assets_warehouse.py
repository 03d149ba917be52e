"""The public goods warehouse (公物仓): idle stock first, purchases only when nothing fits, replacements, loans."""

from __future__ import annotations

from datetime import date

import pytest

from services.assets.domain.asset_events import AssetAllocated, ReplacementNotApproved
from services.assets.domain.base import SERVICE_LIFE_2016, DistinctAssetsRequired, NotOneOf, UnknownCategory
from services.assets.domain.ledger import Asset
from services.assets.domain.warehouse import (
    InvalidDueDate,
    LoanOverdueFlagged,
    PurchaseAuthorised,
    RequestFulfilledFromIdleStock,
    WarehouseLoan,
    WarehouseRequest,
    overdue_loans,
)
from services.common.kernel.errors import DateInFuture, NotFound, NotPositive, ValidationFailed, WrongStatus
from tests.unit.assets.builders import DISTRICT, TODAY, asset, in_warehouse

DUE = date(2026, 12, 1)


def _request(
    quantity: int = 2, category: str = "furniture", min_condition: str = "fair", replaces: Asset | None = None
) -> WarehouseRequest:
    return WarehouseRequest.open(
        request_id="wr-1",
        agency_id="ag-2",
        district=DISTRICT,
        category=category,
        quantity=quantity,
        min_condition=min_condition,
        location="R501",
        table=SERVICE_LIFE_2016,
        today=TODAY,
        replaces=replaces,
    )


def _types(request: WarehouseRequest) -> list[str]:
    return [e.event_type for e in request.pending_events]


def test_a_request_is_met_from_idle_stock_first_best_condition_first() -> None:
    stock = [in_warehouse("a1", "fair"), in_warehouse("a2", "new"), in_warehouse("a3", "good")]
    request = _request(quantity=2)
    assert request.fulfil_from_idle_stock(stock, TODAY) == ["a2", "a3"]
    assert _types(request) == ["WarehouseRequestOpened", "RequestFulfilledFromIdleStock"]
    assert [(a.status, a.agency_id, a.location) for a in stock[1:]] == [("in_use", "ag-2", "R501")] * 2
    assert stock[0].status == "in_warehouse"
    allocated = stock[1].pending_events[-1]
    assert isinstance(allocated, AssetAllocated) and allocated.request_id == "wr-1"


def test_a_purchase_is_authorised_only_for_what_idle_stock_cannot_cover() -> None:
    request = _request(quantity=3)
    request.fulfil_from_idle_stock([in_warehouse("a1")], TODAY)
    fulfilled, authorised = request.pending_events[1:]
    assert isinstance(fulfilled, RequestFulfilledFromIdleStock) and fulfilled.asset_ids == ["a1"]
    assert isinstance(authorised, PurchaseAuthorised)
    assert (authorised.quantity, authorised.idle_items_checked, authorised.idle_items_fitting) == (2, 1, 1)
    assert (authorised.request_id, authorised.category, authorised.asset_category) == ("wr-1", "furniture", "furniture")
    assert request.status == "purchase_authorised"


def test_nothing_idle_of_the_category_or_in_good_enough_condition_authorises_the_whole_purchase() -> None:
    stock = [in_warehouse("a1", "poor"), in_warehouse("pc", "new", category="computers")]
    request = _request(quantity=2, min_condition="good")
    assert request.fulfil_from_idle_stock(stock, TODAY) == []
    assert _types(request) == ["WarehouseRequestOpened", "PurchaseAuthorised"]
    authorised = request.pending_events[-1]
    assert isinstance(authorised, PurchaseAuthorised)
    assert (authorised.quantity, authorised.idle_items_checked, authorised.idle_items_fitting) == (2, 2, 0)


def test_a_computer_request_authorises_an_equipment_purchase() -> None:
    request = _request(quantity=1, category="computers")
    request.fulfil_from_idle_stock([], TODAY)
    authorised = request.pending_events[-1]
    assert isinstance(authorised, PurchaseAuthorised)
    assert (authorised.category, authorised.asset_category) == ("equipment", "computers")


def test_an_item_taken_meanwhile_no_longer_fits_and_is_skipped() -> None:
    taken = in_warehouse("a1")
    _request(quantity=1).fulfil_from_idle_stock([taken], TODAY)
    other = WarehouseRequest.open(
        request_id="wr-2",
        agency_id="ag-3",
        district=DISTRICT,
        category="furniture",
        quantity=1,
        min_condition="fair",
        location="R1",
        table=SERVICE_LIFE_2016,
        today=TODAY,
    )
    assert other.fulfil_from_idle_stock([taken], TODAY) == []
    assert other.status == "purchase_authorised"


def test_a_request_is_fulfilled_once() -> None:
    request = _request(quantity=1)
    request.fulfil_from_idle_stock([in_warehouse("a1")], TODAY)
    with pytest.raises(WrongStatus):
        request.fulfil_from_idle_stock([in_warehouse("a2")], TODAY)


def test_a_request_needs_a_known_category_a_positive_quantity_and_a_usable_minimum_condition() -> None:
    with pytest.raises(UnknownCategory):
        _request(category="yachts")
    with pytest.raises(NotPositive):
        _request(quantity=0)
    with pytest.raises(NotOneOf):
        _request(min_condition="unusable")


def _approved(asset_id: str = "old", agency_id: str = "ag-2") -> Asset:
    desk = asset(asset_id, acquired_on=date(2000, 1, 1), agency_id=agency_id)
    desk.apply_for_replacement("桌面断裂", TODAY)
    desk.assess_repair(False, False, 0, "tech", TODAY)
    desk.approve_replacement("city_admin:wang", TODAY)
    desk.mark_stored()
    return desk


def test_a_replacement_request_needs_the_approved_replacement_of_the_asset() -> None:
    young = asset("young", acquired_on=date(2020, 1, 1), agency_id="ag-2")
    with pytest.raises(ReplacementNotApproved):
        _request(replaces=young)
    desk = _approved()
    request = _request(quantity=1, replaces=desk)
    assert request.pending_events[0].replaces_asset_id == "old"  # type: ignore[attr-defined]
    assert desk.replacement is not None and desk.replacement["status"] == "ordered"


def test_an_approved_replacement_is_used_once() -> None:
    desk = _approved()
    _request(quantity=1, replaces=desk)
    with pytest.raises(ReplacementNotApproved):
        WarehouseRequest.open(
            request_id="wr-2",
            agency_id="ag-2",
            district=DISTRICT,
            category="furniture",
            quantity=1,
            min_condition="fair",
            location="R1",
            table=SERVICE_LIFE_2016,
            today=TODAY,
            replaces=desk,
        )


def test_a_replacement_is_for_the_same_agency_and_category() -> None:
    with pytest.raises(ReplacementNotApproved):
        _request(replaces=_approved(agency_id="ag-9"))
    with pytest.raises(ReplacementNotApproved):
        _request(category="computers", replaces=_approved())


# -- loans ---------------------------------------------------------------------------------------------


def _loan(*assets: Asset, due_on: date = DUE) -> WarehouseLoan:
    return WarehouseLoan.lend(
        loan_id="ln-1",
        borrower_agency_id="ag-2",
        district=DISTRICT,
        purpose="conference",
        occasion="2026 招商大会",
        assets=list(assets),
        due_on=due_on,
        today=TODAY,
    )


def test_warehouse_assets_are_lent_for_a_conference_until_a_due_date() -> None:
    chairs = [in_warehouse("c1"), in_warehouse("c2")]
    loan = _loan(*chairs)
    assert [(a.status, a.loan_id) for a in chairs] == [("on_loan", "ln-1")] * 2
    assert (loan.status, loan.outstanding, loan.due_on) == ("out", ["c1", "c2"], "2026-12-01")


def test_only_assets_in_the_warehouse_are_lent() -> None:
    with pytest.raises(WrongStatus):
        _loan(asset("in-use"))


def test_a_loan_is_due_after_it_is_issued_and_lends_distinct_assets() -> None:
    with pytest.raises(InvalidDueDate):
        _loan(in_warehouse("c1"), due_on=TODAY)
    c2 = in_warehouse("c2")
    with pytest.raises(DistinctAssetsRequired):
        _loan(c2, c2)
    with pytest.raises(NotOneOf):
        WarehouseLoan.lend(
            loan_id="ln-2",
            borrower_agency_id="ag-2",
            district=DISTRICT,
            purpose="party",
            occasion="x",
            assets=[in_warehouse("c3")],
            due_on=DUE,
            today=TODAY,
        )


def test_lent_assets_come_back_in_parts_with_their_condition_and_lateness() -> None:
    c1, c2 = in_warehouse("c1"), in_warehouse("c2")
    loan = _loan(c1, c2)
    loan.return_items([c1], date(2026, 11, 30), {"c1": "fair"})
    assert (c1.status, c1.condition, loan.outstanding, loan.status) == ("in_warehouse", "fair", ["c2"], "out")
    loan.return_items([c2], date(2026, 12, 4))
    assert loan.pending_events[-1].days_late == 3  # type: ignore[attr-defined]
    assert (loan.status, c2.condition) == ("returned", "good")


def test_an_asset_not_outstanding_on_the_loan_is_not_taken_back() -> None:
    c1 = in_warehouse("c1")
    loan = _loan(c1)
    with pytest.raises(NotFound):
        loan.return_items([in_warehouse("c9")], TODAY)
    loan.return_items([c1], TODAY)
    with pytest.raises(WrongStatus):
        loan.return_items([c1], TODAY)


def test_an_overdue_loan_is_flagged_once_and_a_returned_or_current_one_never() -> None:
    c1 = in_warehouse("c1")
    loan = _loan(c1)
    assert loan.flag_if_overdue(DUE) is False  # due today is not late
    assert loan.flag_if_overdue(date(2026, 12, 3)) is True
    flagged = loan.pending_events[-1]
    assert isinstance(flagged, LoanOverdueFlagged)
    assert (flagged.days_overdue, flagged.outstanding_asset_ids) == (2, ["c1"])
    assert loan.flag_if_overdue(date(2026, 12, 9)) is False
    c2 = in_warehouse("c2")
    back = WarehouseLoan.lend(
        loan_id="ln-2",
        borrower_agency_id="ag-2",
        district=DISTRICT,
        purpose="temporary_body",
        occasion="专班",
        assets=[c2],
        due_on=DUE,
        today=TODAY,
    )
    back.return_items([c2], TODAY)
    assert back.flag_if_overdue(date(2027, 1, 1)) is False


def test_a_loan_brought_in_from_the_past_may_be_overdue_already_and_its_return_dated() -> None:
    c1, c2 = in_warehouse("c1"), in_warehouse("c2")
    lent_on, due_on = date(2026, 10, 8), date(2026, 11, 1)  # issued last month, due before today (TODAY - 22 d)
    loan = WarehouseLoan.lend(
        loan_id="ln-9",
        borrower_agency_id="ag-2",
        district=DISTRICT,
        purpose="conference",
        occasion="大会",
        assets=[c1, c2],
        due_on=due_on,
        today=TODAY,
        lent_on=lent_on,
    )
    assert loan.pending_events[-1].lent_on == "2026-10-08"  # type: ignore[attr-defined]
    assert loan.flag_if_overdue(TODAY) is True  # 2026-11-01 → 2026-11-23: 22 days, counted from the due date
    assert loan.pending_events[-1].days_overdue == 22  # type: ignore[attr-defined]
    with pytest.raises(ValidationFailed) as early:
        loan.return_items([c1], TODAY, returned_on=date(2026, 10, 7))
    assert early.value.fields == {"returned_on": ["must not be before 2026-10-08"]}
    loan.return_items([c1], TODAY, returned_on=date(2026, 11, 4))  # came back 3 days late, typed in today
    assert loan.pending_events[-1].days_late == 3  # type: ignore[attr-defined]
    with pytest.raises(InvalidDueDate):  # due before the day issued
        WarehouseLoan.lend(
            loan_id="ln-8",
            borrower_agency_id="ag-2",
            district=DISTRICT,
            purpose="conference",
            occasion="x",
            assets=[in_warehouse("c3")],
            due_on=lent_on,
            today=TODAY,
            lent_on=lent_on,
        )
    with pytest.raises(DateInFuture) as future:  # issued tomorrow is no history
        WarehouseLoan.lend(
            loan_id="ln-7",
            borrower_agency_id="ag-2",
            district=DISTRICT,
            purpose="conference",
            occasion="x",
            assets=[in_warehouse("c4")],
            due_on=DUE,
            today=TODAY,
            lent_on=DUE,
        )
    assert future.value.fields == {"lent_on": ["must not be in the future"]}


def test_overdue_loans_are_those_with_items_out_after_the_due_date_most_overdue_first() -> None:
    rows = [
        {"loan_id": "a", "due_on": "2026-11-20", "outstanding_asset_ids": ["x"]},
        {"loan_id": "b", "due_on": "2026-11-01", "outstanding_asset_ids": ["y"]},
        {"loan_id": "c", "due_on": "2026-11-01", "outstanding_asset_ids": []},
        {"loan_id": "d", "due_on": "2026-12-01", "outstanding_asset_ids": ["z"]},
    ]
    assert [(r["loan_id"], r["days_overdue"]) for r in overdue_loans(rows, TODAY)] == [("b", 22), ("a", 3)]
