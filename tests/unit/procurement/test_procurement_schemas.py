"""Command schemas refuse bad input with field reasons before the domain is called."""

from __future__ import annotations

import json
from typing import Any

import pytest
from marshmallow import Schema, ValidationError

from services.common.base import contracts
from services.procurement.schemas import (
    EvaluateBidSchema,
    InspectDeliverySchema,
    ListCatalogItemSchema,
    OpenTenderSchema,
    RecordPurchaseAuthorisationSchema,
    SignContractSchema,
    SubmitBidSchema,
    SubmitPurchaseRequestSchema,
)

REQUEST = {
    "agency_id": "ag-1",
    "item_code": "F-desk",
    "quantity": 4,
    "estimated_unit_price_fen": 120_000,
    "budget_line_id": "bl-1",
}


def reasons(schema: Schema, data: dict[str, Any]) -> dict[str, Any]:
    with pytest.raises(ValidationError) as refused:
        schema.load(data)
    return refused.value.messages_dict


def test_a_valid_request_loads_with_optional_ids_absent() -> None:
    loaded = SubmitPurchaseRequestSchema().load(REQUEST)
    assert (loaded["request_id"], loaded["authorisation_id"]) == (None, None)


@pytest.mark.parametrize(
    ("field", "value"),
    [("quantity", 0), ("quantity", "4"), ("estimated_unit_price_fen", 1.5), ("item_code", "bad code!")],
)
def test_a_request_with_a_bad_field_is_refused_naming_it(field: str, value: Any) -> None:
    assert field in reasons(SubmitPurchaseRequestSchema(), REQUEST | {field: value})


def test_unknown_fields_and_missing_fields_are_refused() -> None:
    found = reasons(
        SubmitPurchaseRequestSchema(), {k: v for k, v in REQUEST.items() if k != "budget_line_id"} | {"x": 1}
    )
    assert set(found) == {"budget_line_id", "x"}


def test_an_unknown_category_is_refused() -> None:
    data = {"item_code": "X-1", "name": "x", "category": "spaceships", "unit": "piece"}
    assert "category" in reasons(ListCatalogItemSchema(), data)


def test_green_clauses_flag_must_be_a_json_boolean() -> None:
    data = {"item_code": "X-1", "name": "x", "category": "printing", "unit": "job", "green_clauses_required": "yes"}
    assert "green_clauses_required" in reasons(ListCatalogItemSchema(), data)


def test_only_idle_first_categories_are_authorised_by_the_assets_service() -> None:
    data = {"authorisation_id": "au-1", "agency_id": "ag-1", "district": "320402", "category": "printing"}
    assert "category" in reasons(
        RecordPurchaseAuthorisationSchema(), data | {"quantity": 1, "authorised_on": "2024-03-01"}
    )


def test_a_tender_names_each_request_once_and_closes_at_an_aware_time() -> None:
    data = {"district": "320400", "request_ids": ["rq-1", "rq-1"], "reference_unit_price_fen": 100}
    assert "request_ids" in reasons(OpenTenderSchema(), data | {"closes_at": "2024-03-21T09:00:00+08:00"})
    assert "closes_at" in reasons(
        OpenTenderSchema(), data | {"request_ids": ["rq-1"], "closes_at": "2024-03-21T09:00:00"}
    )


def test_a_negative_bid_is_refused() -> None:
    assert "unit_price_fen" in reasons(
        SubmitBidSchema(), {"tender_id": "td-1", "supplier_id": "S1", "unit_price_fen": -1}
    )


def test_a_non_compliant_evaluation_needs_reasons() -> None:
    assert "reasons" in reasons(EvaluateBidSchema(), {"tender_id": "td-1", "bid_id": "b-1", "compliant": False})


def test_contract_clauses_must_be_known() -> None:
    data = {
        "tender_id": "td-1",
        "request_id": "rq-1",
        "clauses": ["low_voc", "free_lunch"],
        "delivery_due": "2024-04-01",
    }
    assert "clauses" in reasons(SignContractSchema(), data)


def test_a_lots_contract_id_must_fit_an_identifier() -> None:
    data = {"clauses": ["warranty"], "delivery_due": "2024-04-01"}
    assert SignContractSchema().load(data | {"tender_id": "t" * 31, "request_id": "r" * 32})
    too_long = reasons(SignContractSchema(), data | {"tender_id": "t" * 32, "request_id": "r" * 32})
    assert list(too_long) == ["request_id"]


def test_an_inspection_of_nothing_is_refused() -> None:
    data = {"contract_id": "ct-1", "delivery_id": "dl-1", "accepted_quantity": 0, "defective_quantity": 0}
    assert "accepted_quantity" in reasons(InspectDeliverySchema(), data | {"inspected_on": "2024-03-01"})


def test_the_inbound_purchase_request_contract_is_the_command_schema() -> None:
    contract = json.loads(
        (contracts.CONTRACTS_DIR / "inbound" / "procurement.submit_purchase_request.v2.json").read_text("utf-8")
    )
    schema = SubmitPurchaseRequestSchema()
    # less submitted_on: recording a past request is the city administration's right, never a district's message
    assert set(contract["properties"]) == set(schema.fields) - {"submitted_on"}
    assert set(contract["required"]) == {name for name, f in schema.fields.items() if f.required}
    for example in contract["examples"]:
        assert schema.load(example)["authorisation_id"] == example["authorisation_id"]
