"""Money is named ``*_fen`` everywhere: events first published with ``*_cents`` read as fen, their new versions
still publish the old name (the same integer) for older consumers, and a request may still send the old name for
one deprecation period, never together with the new one."""

from __future__ import annotations

import pytest
from marshmallow import Schema, fields

from services.assets.domain.disposal import DisposalCompleted
from services.assets.domain.ledger import AcceptedDelivery
from services.assets.schemas import RecordRepairSchema
from services.common.kernel.errors import ValidationFailed
from services.common.kernel.events import event_from_payload
from services.common.kernel.money import with_fen_names
from services.common.kernel.schemas import load_command
from services.common.kernel.validators import fen
from services.procurement.domain.budget import BudgetCommitted, BudgetLineOpened
from services.vehicles.domain.vehicles import VehicleDisposed


def test_a_stored_v1_event_with_amount_cents_reads_as_amount_fen() -> None:
    v1 = {"budget_line_id": "BL1", "request_id": "PR1", "amount_cents": 12345}
    event = event_from_payload("procurement", "BudgetCommitted", 1, v1)
    assert event == BudgetCommitted(budget_line_id="BL1", request_id="PR1", amount_fen=12345)


def test_an_event_two_versions_old_is_upcast_through_both() -> None:
    v1 = {
        "budget_line_id": "BL1",
        "agency_id": "A1",
        "district": "320402",
        "year": 2026,
        "purpose": "办公家具购置",
        "amount_cents": 12345,
    }
    event = event_from_payload("procurement", "BudgetLineOpened", 1, v1)
    assert isinstance(event, BudgetLineOpened)
    assert (event.amount_fen, event.opened_on) == (12345, None)


def test_the_new_version_publishes_both_names_with_equal_values_and_reads_back_the_fen() -> None:
    disposed = VehicleDisposed(
        vehicle_id="V1",
        agency_id="A1",
        district="320402",
        plate="苏D12345",
        method="auction",
        proceeds_fen=52_000,
        disposed_on="2026-11-23",
        reference="CZGGZY-2026-0815",
    )
    payload = disposed.payload()
    assert (payload["proceeds_fen"], payload["proceeds_cents"]) == (52_000, 52_000)
    assert VehicleDisposed.schema_version == 2
    assert event_from_payload("vehicles", "VehicleDisposed", 2, payload) == disposed
    completed = DisposalCompleted("DP1", "auction", ["AS1"], 12345, "CZ-1", None, "2026-11-23")
    assert {k: v for k, v in completed.payload().items() if k.startswith("proceeds")} == {
        "proceeds_fen": 12345,
        "proceeds_cents": 12345,
    }


def test_the_upcast_keeps_the_old_name_and_refuses_what_is_not_an_integer() -> None:
    assert with_fen_names({"amount_cents": 12345}, {"amount_cents": "amount_fen"}) == {
        "amount_cents": 12345,
        "amount_fen": 12345,
    }
    assert with_fen_names({"proceeds_cents": None}, {"proceeds_cents": "proceeds_fen"})["proceeds_fen"] is None
    with pytest.raises(TypeError):
        with_fen_names({"amount_cents": 123.45}, {"amount_cents": "amount_fen"})


def test_a_request_with_the_former_cents_name_is_read_as_fen() -> None:
    loaded = load_command(RecordRepairSchema, {"asset_id": "AS1", "cost_cents": 12345, "condition": "good"})
    assert loaded["cost_fen"] == 12345
    assert "cost_cents" not in loaded


def test_a_request_with_both_names_is_refused_naming_both() -> None:
    with pytest.raises(ValidationFailed) as refused:
        load_command(RecordRepairSchema, {"asset_id": "AS1", "cost_cents": 1, "cost_fen": 1, "condition": "good"})
    assert set(refused.value.fields) == {"cost_fen", "cost_cents"}


def test_the_former_name_is_read_in_nested_schemas_too() -> None:
    class Line(Schema):
        price_fen = fen()

    class Order(Schema):
        lines = fields.List(fields.Nested(Line), required=True)

    loaded = load_command(Order, {"lines": [{"price_cents": 100}, {"price_fen": 250}]})
    assert loaded == {"lines": [{"price_fen": 100}, {"price_fen": 250}]}


def test_a_former_name_still_meets_the_money_rules() -> None:
    with pytest.raises(ValidationFailed) as refused:
        load_command(RecordRepairSchema, {"asset_id": "AS1", "cost_cents": 123.4, "condition": "good"})
    assert set(refused.value.fields) == {"cost_fen"}


def test_a_delivery_kept_in_the_assets_inbox_before_v2_reads_its_cents_as_fen() -> None:
    v1 = {
        "contract_id": "CT1",
        "delivery_id": "DL1",
        "agency_id": "A1",
        "district": "320402",
        "item_code": "A0601-desk",
        "category": "furniture",
        "quantity": 2,
        "unit_value_cents": 12345,
        "accepted_on": "2026-11-23",
    }
    assert AcceptedDelivery.from_payload(v1).unit_value_fen == 12345
    v2 = {k: v for k, v in v1.items() if k != "unit_value_cents"} | {"unit_value_fen": 12345, "unit_value_cents": 12345}
    assert AcceptedDelivery.from_payload(v2) == AcceptedDelivery.from_payload(v1)
