"""District messages of an older contract version are read as the newest one before the command sees them: the
vehicles cost messages v1 (amount in yuan) become v2 (amount_fen, rounded half up); a v1 purchase request
(estimated_unit_price_cents) becomes v2 (estimated_unit_price_fen, the same integer)."""

from __future__ import annotations

from services.common.kernel.schemas import load_command
from services.gateway.inbound import ROUTES, current_payload


def test_a_v1_fuel_message_in_yuan_reaches_the_command_in_fen() -> None:
    v1 = {
        "vehicle_id": "VH-1",
        "fuel": "gasoline",
        "quantity": 42.5,
        "amount": 331.455,  # yuan: half a fen rounds up
        "station": "中石化龙城站",
        "designated": True,
        "refuelled_at": "2026-11-02T09:00:00+08:00",
    }
    payload = current_payload("vehicles.record_fuel", 1, v1)
    assert "amount" not in payload and payload["amount_fen"] == 33_146
    assert load_command(ROUTES["vehicles.record_fuel"].schema, payload)["amount_fen"] == 33_146


def test_a_v2_message_and_a_type_without_versions_pass_unchanged() -> None:
    v2 = {"vehicle_id": "VH-1", "quantity_kwh": 30, "amount_fen": 3_088, "station": "x", "designated": True}
    assert current_payload("vehicles.record_charging", 2, v2) == v2
    staff = {"agency_id": "A1", "person_id": "P1"}
    assert current_payload("office_space.post_staff", 1, staff) == staff


def test_a_v1_purchase_request_in_cents_reaches_the_command_in_fen() -> None:
    v1 = {
        "agency_id": "11320402MB0000002B",
        "item_code": "A0601-desk-1.6m",
        "quantity": 12,
        "estimated_unit_price_cents": 12345,
        "budget_line_id": "bl-2024-01",
    }
    payload = current_payload("procurement.submit_purchase_request", 1, v1)
    assert "estimated_unit_price_cents" not in payload and payload["estimated_unit_price_fen"] == 12345
    loaded = load_command(ROUTES["procurement.submit_purchase_request"].schema, payload)
    assert loaded["estimated_unit_price_fen"] == 12345
