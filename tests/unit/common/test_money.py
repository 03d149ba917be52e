"""Money is integer fen everywhere (services/common/kernel/money.py): parsing, formatting, validation, legacy yuan."""

from __future__ import annotations

from decimal import Decimal

import pytest
from marshmallow import ValidationError

from services.common.kernel.errors import NotPositive, ValidationFailed
from services.common.kernel.events import event_from_payload
from services.common.kernel.money import (
    MAX_FEN,
    fen_from_yuan,
    format_fen,
    parse_yuan,
    require_fen,
    with_fen,
    yuan_from_fen,
)
from services.common.kernel.validators import fen
from services.office_space.domain.properties import RentReceived, UnitLet
from services.office_space.domain.repairs import RepairChangeRecorded


@pytest.mark.parametrize(
    ("yuan", "expected"),
    [
        (19.99, 1_999),  # read as "19.99", not 19.989999...
        (0.1 + 0.2, 30),  # 0.30000000000000004 yuan
        (1.005, 101),  # half a fen rounds up
        (1.004, 100),
        (-1.005, -101),  # half up means away from zero, as for positive amounts
        (6500, 650_000),
        (Decimal("12.345"), 1_235),
    ],
)
def test_yuan_become_fen_rounded_half_up(yuan: float | int | Decimal, expected: int) -> None:
    assert fen_from_yuan(yuan) == expected


def test_fen_from_yuan_refuses_what_is_not_an_amount() -> None:
    with pytest.raises(TypeError):
        fen_from_yuan(True)
    with pytest.raises(ValueError):
        fen_from_yuan(float("nan"))


def test_yuan_text_is_parsed_exactly_with_at_most_two_decimals() -> None:
    assert (parse_yuan("1,234.56"), parse_yuan(" 0.1 "), parse_yuan("-3")) == (123_456, 10, -300)
    with pytest.raises(ValidationFailed):
        parse_yuan("1.234")
    with pytest.raises(ValidationFailed):
        parse_yuan("十元")


def test_fen_are_shown_as_yuan_with_two_decimals() -> None:
    assert (format_fen(123_456_789), format_fen(5), format_fen(-150)) == ("1,234,567.89", "0.05", "-1.50")
    assert yuan_from_fen(1_999) == 19.99


def test_only_integer_fen_in_range_are_money() -> None:
    assert require_fen("x_fen", 0) == 0
    for wrong in (1.5, "150", True, None):
        with pytest.raises(ValidationFailed):
            require_fen("x_fen", wrong)
    with pytest.raises(NotPositive):
        require_fen("x_fen", 0, minimum=1)
    with pytest.raises(ValidationFailed):
        require_fen("x_fen", MAX_FEN + 1)


def test_an_api_money_field_takes_only_json_integers() -> None:
    field = fen(minimum=1)
    assert field.deserialize(650_000) == 650_000
    for wrong in (6500.5, "650000", 0):
        with pytest.raises(ValidationError):
            field.deserialize(wrong)


def test_a_v1_float_yuan_event_reads_as_fen_rounded_half_up() -> None:
    v1 = {"property_id": "OP1", "unit_id": "U1", "period": "2026-11", "amount": 8600.005, "received_on": "2026-11-23"}
    event = event_from_payload("office_space", "RentReceived", 1, v1)
    assert isinstance(event, RentReceived) and event.amount_fen == 860_001
    change = {
        "project_id": "RP1",
        "description": "x",
        "reason": "y",
        "amount": -0.1,
        "outside_plan": False,
        "flagged": False,
        "changes_total": 52_000.1,
    }
    read = event_from_payload("office_space", "RepairChangeRecorded", 1, change)
    assert isinstance(read, RepairChangeRecorded) and (read.amount_fen, read.changes_total_fen) == (-10, 5_200_010)
    with pytest.raises(TypeError):
        with_fen({"amount": "9000"}, {"amount": "amount_fen"})


def test_a_v2_event_still_publishes_its_v1_yuan_and_reads_back_from_the_fen() -> None:
    let = UnitLet(
        property_id="OP1",
        unit_id="U1",
        tenant="书店",
        monthly_rent_fen=900_050,
        start_on="2026-01-01",
        end_on="2027-01-01",
    )
    payload = let.payload()
    assert (payload["monthly_rent_fen"], payload["monthly_rent"]) == (900_050, 9000.5)
    assert event_from_payload("office_space", "UnitLet", 2, payload) == let
