"""Purchase requests: catalog items only, within budget, and idle stock first for furniture and equipment."""

from __future__ import annotations

import pytest

from services.common.kernel.errors import NotPositive, WrongStatus
from services.procurement.domain.budget import BudgetExceeded, BudgetLine, BudgetLineMismatch, NoBudgetLine
from services.procurement.domain.catalog import CatalogItem, CatalogItemNotFound, CatalogItemWithdrawnError
from services.procurement.domain.requests import (
    IdleStockCheckRequired,
    PurchaseAuthorisationAlreadyUsed,
    PurchaseAuthorisationMismatch,
    PurchaseRequestSubmitted,
)
from services.procurement.domain.tenders import Tender
from tests.unit.procurement.builders import CLOSES_AT, NOW, authorisation, budget, desk, paper, submit


def test_a_request_without_a_budget_line_is_refused_with_the_figures() -> None:
    with pytest.raises(NoBudgetLine) as refused:
        submit(paper(), quantity=10, price=5_000, line=None)
    assert refused.value.details == {
        "budget_fen": 0,
        "committed_fen": 0,
        "spent_fen": 0,
        "remaining_fen": 0,
        "requested_fen": 50_000,
        "agency_id": "ag-1",
        "year": 2024,
    }


def test_a_budget_line_that_was_never_opened_counts_as_none() -> None:
    with pytest.raises(NoBudgetLine):
        submit(paper(), line=BudgetLine("bl-unknown"))


def test_a_request_above_what_remains_is_refused_with_the_figures() -> None:
    line = budget(amount_fen=49_999)
    with pytest.raises(BudgetExceeded) as refused:
        submit(paper(), quantity=10, price=5_000, line=line)
    assert refused.value.details["remaining_fen"] == 49_999
    assert refused.value.details["requested_fen"] == 50_000


def test_a_request_reserves_its_estimated_amount_on_the_budget_line() -> None:
    line = budget(amount_fen=100_000)
    submit(paper(), quantity=10, price=5_000, line=line)
    assert line.commitments == {"rq-ag-1": 50_000}


@pytest.mark.parametrize(("agency_id", "year"), [("ag-2", 2024), ("ag-1", 2023)])
def test_a_budget_line_of_another_agency_or_year_is_refused(agency_id: str, year: int) -> None:
    with pytest.raises(BudgetLineMismatch):
        submit(paper(), line=budget(agency_id=agency_id, year=year))


def test_a_request_for_an_item_not_in_the_catalog_is_refused() -> None:
    with pytest.raises(CatalogItemNotFound):
        submit(CatalogItem("A-unknown"))


def test_a_request_for_a_withdrawn_item_is_refused() -> None:
    item = paper()
    item.withdraw("no longer bought centrally")
    with pytest.raises(CatalogItemWithdrawnError):
        submit(item)


@pytest.mark.parametrize(("quantity", "price"), [(0, 5_000), (10, 0)])
def test_a_request_for_nothing_or_for_free_is_refused(quantity: int, price: int) -> None:
    with pytest.raises(NotPositive):
        submit(paper(), quantity=quantity, price=price)


@pytest.mark.parametrize("category", ["furniture", "equipment"])
def test_furniture_and_equipment_without_the_assets_authorisation_are_refused(category: str) -> None:
    item = CatalogItem.list_item("X-1", "item", category, "piece")
    line = budget()
    with pytest.raises(IdleStockCheckRequired):
        submit(item, line=line)
    assert line.committed_fen == 0


def test_furniture_with_a_matching_authorisation_is_accepted_and_uses_it() -> None:
    auth = authorisation(quantity=10)
    request = submit(desk(), quantity=10, auth=auth)
    submitted = request.pending_events[0]
    assert isinstance(submitted, PurchaseRequestSubmitted)
    assert submitted.authorisation_id == "au-1"
    assert auth.used_by == request.id


def test_office_supplies_need_no_authorisation() -> None:
    submitted = submit(paper()).pending_events[0]
    assert isinstance(submitted, PurchaseRequestSubmitted)
    assert submitted.authorisation_id is None


@pytest.mark.parametrize(
    ("agency_id", "category", "quantity"),
    [("ag-2", "furniture", 10), ("ag-1", "equipment", 10), ("ag-1", "furniture", 9)],
    ids=["other agency", "other category", "fewer items"],
)
def test_an_authorisation_that_does_not_cover_the_request_is_refused(
    agency_id: str, category: str, quantity: int
) -> None:
    with pytest.raises(PurchaseAuthorisationMismatch) as refused:
        submit(desk(), quantity=10, auth=authorisation(agency_id, category, quantity))
    assert refused.value.details["requested"] == {"agency_id": "ag-1", "category": "furniture", "quantity": 10}


def test_an_authorisation_serves_one_request_only() -> None:
    auth = authorisation(quantity=10)
    submit(desk(), quantity=4, auth=auth, request_id="rq-1")
    with pytest.raises(PurchaseAuthorisationAlreadyUsed):
        submit(desk(), quantity=4, auth=auth, request_id="rq-2")


def test_cancelling_a_request_releases_its_reservation() -> None:
    line = budget(amount_fen=100_000)
    request = submit(paper(), line=line)
    request.cancel("需求取消", line)
    assert (request.status, line.remaining_fen) == ("cancelled", 100_000)


def test_a_tendered_request_cannot_be_cancelled() -> None:
    line = budget()
    request = submit(paper(), line=line)
    Tender.open(
        tender_id="td-1",
        district="320400",
        requests=[request],
        reference_unit_price_fen=5_000,
        closes_at=CLOSES_AT,
        now=NOW,
    )
    with pytest.raises(WrongStatus):
        request.cancel("too late", line)


def test_only_a_tendered_request_can_come_back_from_a_failed_tender() -> None:
    with pytest.raises(WrongStatus):
        submit(paper()).return_from_failed_tender()
