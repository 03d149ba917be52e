"""Contracts with green clauses, deliveries and acceptance, and supplier performance."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from services.common.kernel.errors import WrongStatus
from services.procurement.domain.budget import BudgetExceeded, BudgetLine
from services.procurement.domain.catalog import CatalogItem
from services.procurement.domain.contracts import (
    ContractFulfilled,
    DeliveryAccepted,
    DeliveryAlreadyInspected,
    DeliveryDueInPast,
    DeliveryExceedsContract,
    DeliveryOutcome,
    DeliveryReceived,
    DeliveryRejected,
    DuplicateDelivery,
    GreenClausesMissing,
    InspectionMismatch,
    ProcurementContract,
    SupplierPerformance,
    UnknownClause,
    supplier_performance,
)
from services.procurement.domain.tenders import RequestNotInTender, Tender
from tests.unit.procurement.builders import (
    AFTER_CLOSE,
    CLOSES_AT,
    LATER,
    NOW,
    TODAY,
    authorisation,
    budget,
    desk,
    evaluate_all,
    paper,
    submit,
)

DUE = TODAY + timedelta(days=30)
GREEN = ["low_voc", "environmental"]


def awarded_tender(item: CatalogItem, price: int = 4_500, line: BudgetLine | None = None) -> tuple[Tender, BudgetLine]:
    """A tender for 10 of the item, estimated at 50.00 yuan each, won by S1 at ``price``."""
    line = line or budget()
    auth = authorisation() if item.idle_first else None
    request = submit(item, quantity=10, price=5_000, line=line, auth=auth)
    tender = Tender.open(
        tender_id="td-1",
        district="320400",
        requests=[request],
        reference_unit_price_fen=5_000,
        closes_at=CLOSES_AT,
        now=NOW,
    )
    tender.submit_bid("b-1", "S1", price, NOW)
    tender.close_bidding(AFTER_CLOSE)
    evaluate_all(tender)
    tender.award(AFTER_CLOSE)
    return tender, line


def sign(item: CatalogItem, clauses: list[str] = GREEN) -> tuple[ProcurementContract, BudgetLine]:
    tender, line = awarded_tender(item)
    return ProcurementContract.sign(
        contract_id="ct-1",
        tender=tender,
        request_id="rq-ag-1",
        clauses=clauses,
        delivery_due=DUE,
        budget=line,
        today=TODAY,
    ), line


def last(contract: ProcurementContract) -> object:
    return contract.pending_events[-1]


@pytest.mark.parametrize("clauses", [[], ["low_voc"], ["environmental", "warranty"]])
def test_a_furniture_contract_without_the_green_clauses_is_refused(clauses: list[str]) -> None:
    with pytest.raises(GreenClausesMissing) as refused:
        sign(desk(), clauses)
    assert refused.value.details == {"category": "furniture", "missing": [c for c in GREEN if c not in clauses]}


def test_a_furniture_contract_with_the_green_clauses_is_signed() -> None:
    contract, _ = sign(desk(), [*GREEN, "warranty"])
    assert contract.status == "active"


def test_an_office_supplies_contract_needs_no_green_clauses() -> None:
    contract, _ = sign(paper(), [])
    assert contract.status == "active"


def test_an_unknown_clause_is_refused() -> None:
    with pytest.raises(UnknownClause):
        sign(paper(), ["free_lunch"])


def test_a_contract_needs_an_awarded_tender() -> None:
    line = budget()
    tender = Tender.open(
        tender_id="td-1",
        district="320400",
        requests=[submit(paper(), line=line)],
        reference_unit_price_fen=5_000,
        closes_at=CLOSES_AT,
        now=NOW,
    )
    with pytest.raises(WrongStatus):
        ProcurementContract.sign(
            contract_id="ct-1",
            tender=tender,
            request_id="rq-ag-1",
            clauses=[],
            delivery_due=DUE,
            budget=line,
            today=TODAY,
        )


def test_a_contract_is_for_a_lot_of_the_tender() -> None:
    tender, line = awarded_tender(paper())
    with pytest.raises(RequestNotInTender):
        ProcurementContract.sign(
            contract_id="ct-1",
            tender=tender,
            request_id="rq-other",
            clauses=[],
            delivery_due=DUE,
            budget=line,
            today=TODAY,
        )


def test_delivery_cannot_be_due_before_signing() -> None:
    tender, line = awarded_tender(paper())
    with pytest.raises(DeliveryDueInPast):
        ProcurementContract.sign(
            contract_id="ct-1",
            tender=tender,
            request_id="rq-ag-1",
            clauses=[],
            delivery_due=TODAY - timedelta(days=1),
            budget=line,
            today=TODAY,
        )


def test_signing_sets_the_reservation_to_the_contract_value() -> None:
    contract, line = sign(paper(), [])
    assert contract.quantity * contract.unit_price_fen == 45_000
    assert line.commitments == {"rq-ag-1": 45_000}


def test_a_contract_above_the_estimate_must_fit_the_budget() -> None:
    tender, line = awarded_tender(paper(), price=5_100, line=budget(amount_fen=50_000))
    with pytest.raises(BudgetExceeded) as refused:
        ProcurementContract.sign(
            contract_id="ct-1",
            tender=tender,
            request_id="rq-ag-1",
            clauses=[],
            delivery_due=DUE,
            budget=line,
            today=TODAY,
        )
    assert refused.value.details["requested_fen"] == 1_000


def test_each_agency_of_a_batch_signs_for_its_own_lot_at_the_awarded_price() -> None:
    item, lines = paper(), {"ag-1": budget("ag-1"), "ag-2": budget("ag-2")}
    requests = [submit(item, quantity=q, agency_id=a, line=lines[a]) for a, q in (("ag-1", 10), ("ag-2", 30))]
    tender = Tender.open(
        tender_id="td-1",
        district="320400",
        requests=requests,
        reference_unit_price_fen=5_000,
        closes_at=CLOSES_AT,
        now=NOW,
    )
    tender.submit_bid("b-1", "S1", 4_000, NOW)
    tender.close_bidding(AFTER_CLOSE)
    evaluate_all(tender)
    tender.award(AFTER_CLOSE)
    contract = ProcurementContract.sign(
        contract_id="ct-2",
        tender=tender,
        request_id="rq-ag-2",
        clauses=[],
        delivery_due=DUE,
        budget=lines["ag-2"],
        today=TODAY,
    )
    assert (contract.agency_id, contract.quantity, contract.unit_price_fen) == ("ag-2", 30, 4_000)
    assert lines["ag-2"].commitments == {"rq-ag-2": 120_000}


def test_a_delivery_beyond_what_the_contract_still_awaits_is_refused() -> None:
    contract, _ = sign(paper(), [])
    contract.record_delivery("dl-1", 6, TODAY, LATER)
    with pytest.raises(DeliveryExceedsContract) as refused:
        contract.record_delivery("dl-2", 5, TODAY, LATER)
    assert refused.value.details == {"contract_quantity": 10, "outstanding": 4}


def test_a_delivery_is_recorded_once() -> None:
    contract, _ = sign(paper(), [])
    contract.record_delivery("dl-1", 5, TODAY, LATER)
    with pytest.raises(DuplicateDelivery):
        contract.record_delivery("dl-1", 5, TODAY, LATER)


def test_a_late_delivery_records_how_late_it_is() -> None:
    contract, _ = sign(paper(), [])
    contract.record_delivery("dl-1", 10, DUE + timedelta(days=3), LATER)
    received = last(contract)
    assert isinstance(received, DeliveryReceived)
    assert (received.days_late, received.due_on) == (3, DUE.isoformat())


def test_accepted_and_defective_items_must_make_the_delivery() -> None:
    contract, line = sign(paper(), [])
    contract.record_delivery("dl-1", 10, TODAY, LATER)
    with pytest.raises(InspectionMismatch):
        contract.inspect_delivery("dl-1", 8, 1, TODAY, line, LATER)


def test_acceptance_carries_what_the_asset_ledger_needs_and_spends_the_budget() -> None:
    contract, line = sign(desk())
    contract.record_delivery("dl-1", 10, TODAY, LATER)
    contract.inspect_delivery("dl-1", 8, 2, TODAY, line, LATER)
    accepted = contract.pending_events[-1]
    assert accepted == DeliveryAccepted(
        contract_id="ct-1",
        delivery_id="dl-1",
        agency_id="ag-1",
        district="320402",
        supplier_id="S1",
        item_code="F-desk",
        category="furniture",
        quantity=8,
        defective_quantity=2,
        unit_value_fen=4_500,
        accepted_on=TODAY.isoformat(),
    )
    assert (line.spent_fen, line.commitments) == (36_000, {"rq-ag-1": 9_000})


def test_defective_items_stay_outstanding_until_redelivered() -> None:
    contract, line = sign(paper(), [])
    contract.record_delivery("dl-1", 10, TODAY, LATER)
    contract.inspect_delivery("dl-1", 8, 2, TODAY, line, LATER)
    assert (contract.outstanding_quantity, contract.status) == (2, "active")


def test_a_contract_keeps_its_terms_and_each_deliverys_inspection() -> None:
    contract, line = sign(paper(), ["warranty"])
    later = TODAY + timedelta(days=33)  # three days after the due date
    contract.record_delivery("dl-1", 10, later, LATER)
    contract.inspect_delivery("dl-1", 8, 2, later, line, LATER)
    contract.record_delivery("dl-2", 2, later, LATER)
    contract.inspect_delivery("dl-2", 0, 2, later, line, LATER)
    assert (contract.tender_id, contract.clauses, contract.amount_fen, contract.signed_on) == (
        "td-1",
        ["warranty"],
        45_000,
        TODAY.isoformat(),
    )
    assert contract.deliveries == {
        "dl-1": {
            "quantity": 10,
            "delivered_on": later.isoformat(),
            "days_late": 3,
            "inspected": True,
            "accepted_quantity": 8,
            "defective_quantity": 2,
            "inspected_on": later.isoformat(),
        },
        "dl-2": {
            "quantity": 2,
            "delivered_on": later.isoformat(),
            "days_late": 3,
            "inspected": True,
            "accepted_quantity": 0,
            "defective_quantity": 2,
            "inspected_on": later.isoformat(),
        },
    }


def test_a_wholly_defective_delivery_is_rejected_and_spends_nothing() -> None:
    contract, line = sign(paper(), [])
    contract.record_delivery("dl-1", 4, TODAY, LATER)
    contract.inspect_delivery("dl-1", 0, 4, TODAY, line, LATER)
    assert isinstance(last(contract), DeliveryRejected)
    assert (line.spent_fen, contract.outstanding_quantity) == (0, 10)


def test_a_delivery_is_inspected_once() -> None:
    contract, line = sign(paper(), [])
    contract.record_delivery("dl-1", 4, TODAY, LATER)
    contract.inspect_delivery("dl-1", 4, 0, TODAY, line, LATER)
    with pytest.raises(DeliveryAlreadyInspected):
        contract.inspect_delivery("dl-1", 4, 0, TODAY, line, LATER)


def test_the_contract_is_fulfilled_when_everything_is_accepted() -> None:
    contract, line = sign(paper(), [])
    contract.record_delivery("dl-1", 6, TODAY, LATER)
    contract.inspect_delivery("dl-1", 6, 0, TODAY, line, LATER)
    contract.record_delivery("dl-2", 4, TODAY, LATER)
    contract.inspect_delivery("dl-2", 4, 0, TODAY, line, LATER)
    assert last(contract) == ContractFulfilled("ct-1", TODAY.isoformat())
    assert (contract.status, line.spent_fen) == ("fulfilled", 45_000)
    with pytest.raises(WrongStatus):
        contract.record_delivery("dl-3", 1, TODAY, LATER)


def test_supplier_performance_counts_late_and_defective_deliveries() -> None:
    outcomes = [
        DeliveryOutcome("S1", quantity=10, defective_quantity=0, days_late=0),
        DeliveryOutcome("S1", quantity=10, defective_quantity=2, days_late=5),
        DeliveryOutcome("S2", quantity=5, defective_quantity=0, days_late=0),
    ]
    assert supplier_performance(outcomes) == [
        SupplierPerformance("S1", 2, 1, 0.5, 20, 2, 0.1),
        SupplierPerformance("S2", 1, 0, 1.0, 5, 0, 0.0),
    ]


def test_a_delivery_on_the_due_date_is_not_late() -> None:
    contract, _ = sign(paper(), [])
    contract.record_delivery("dl-1", 10, date.fromisoformat(contract.delivery_due), LATER)
    received = last(contract)
    assert isinstance(received, DeliveryReceived)
    assert received.days_late == 0
