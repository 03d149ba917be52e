"""A number given as text (a query's ``limit``, a number sent as a JSON string) is ASCII digits: Python's ``int``
also reads another script's digits (``٣``, ``５``), ``_`` between digits and spaces around them, which no person
writing a number means, so a request could pass a check in one form and be read as another. Refused with the
field's reason, as any other value a field cannot take (``kernel.schemas.load_command``)."""

from __future__ import annotations

import pytest
from marshmallow import Schema, fields

from services.common.kernel.errors import ValidationFailed
from services.common.kernel.schemas import PLAIN_NUMBER, ActorQuerySchema, load_command


class Readings(Schema):
    values = fields.List(fields.Integer())
    area_m2 = fields.Float(data_key="area")


@pytest.mark.parametrize("odd", ["٣", "５", "1_0", " 7", "7 ", "\u00a07"])
def test_a_number_in_odd_digits_is_refused_with_the_fields_reason(odd: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        load_command(ActorQuerySchema, {"actor": "city_admin:x", "limit": odd})
    assert refused.value.fields == {"limit": [PLAIN_NUMBER]}
    with pytest.raises(ValidationFailed) as refused:
        load_command(Readings, {"values": [1, odd], "area": odd})
    assert refused.value.fields == {"values": [PLAIN_NUMBER], "area": [PLAIN_NUMBER]}


def test_numbers_in_ascii_text_and_json_numbers_are_read_as_before() -> None:
    assert load_command(ActorQuerySchema, {"actor": "city_admin:x", "limit": "7"})["limit"] == 7
    assert load_command(ActorQuerySchema, {"actor": "city_admin:x", "limit": 7})["limit"] == 7
    assert load_command(Readings, {"values": ["1", 2], "area": "12.5"}) == {"values": [1, 2], "area_m2": 12.5}
