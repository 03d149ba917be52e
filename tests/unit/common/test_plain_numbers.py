"""A number given as text (a query's ``limit``, a number sent as a JSON string) is ASCII digits: Python's ``int``
also reads another script's digits (``٣``, ``５``), ``_`` between digits and spaces around them, which no person
writing a number means, so a request could pass a check in one form and be read as another. Refused with the
field's reason, as any other value a field cannot take (``kernel.schemas.load_command``).

The same holds wherever else digits are read: a date or timestamp (Python's ISO parser reads ``２０２４-01-01`` as
2024-01-01: ``validators.Day``/``Moment``), a meter reading's time (``energy.domain.readings``), and the patterns
of district codes and months (a regex's digit class matches any script's digits: ``３２０４０２`` passed as a
district)."""

from __future__ import annotations

import pytest
from marshmallow import Schema, fields

from services.common.kernel.errors import ValidationFailed
from services.common.kernel.schemas import PLAIN_NUMBER, ActorQuerySchema, load_command
from services.common.kernel.validators import DISTRICT_CODE, MONTH, PLAIN_DATE, Day, Moment
from services.energy.domain.readings import canonical_time
from services.gateway.schemas import AgencyListSchema, DataCenterQuerySchema, StatisticsReportQuerySchema
from services.office_space.schemas import ReceiveRentSchema
from services.vehicles.schemas import PERIOD


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


class Dated(Schema):
    on = Day()
    at = Moment()


FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


@pytest.mark.parametrize("digits", [FULL_WIDTH, ARABIC_INDIC], ids=["full-width", "arabic-indic"])
def test_dates_and_timestamps_in_other_digits_are_refused(digits: dict[int, str]) -> None:
    on, at = "2024-03-01", "2024-03-01T08:00:00+08:00"
    assert load_command(Dated, {"on": on, "at": at})["on"].isoformat() == on  # ASCII: read as before
    with pytest.raises(ValidationFailed) as refused:
        load_command(Dated, {"on": on.translate(digits), "at": at[:11] + at[11:].translate(digits)})
    assert refused.value.fields == {"on": [PLAIN_DATE], "at": [PLAIN_DATE]}
    assert canonical_time(at) == (1709251200, "2024-03-01T00:00:00+00:00")  # 2024-03-01 00:00 UTC
    assert canonical_time(at.translate(digits)) is None  # a reading at it: rejected as malformed_timestamp


@pytest.mark.parametrize("digits", [FULL_WIDTH, ARABIC_INDIC], ids=["full-width", "arabic-indic"])
def test_district_codes_and_months_in_other_digits_are_refused(digits: dict[int, str]) -> None:
    for pattern, plain in ((DISTRICT_CODE, "320402"), (MONTH, "2024-03"), (PERIOD, "2024")):
        assert pattern(plain) == plain
        with pytest.raises(Exception, match=pattern.error[:10]):
            pattern(plain.translate(digits))
    for schema in (AgencyListSchema, DataCenterQuerySchema, StatisticsReportQuerySchema):
        with pytest.raises(ValidationFailed) as refused:
            load_command(schema, {"district": "320402".translate(digits)})
        assert list(refused.value.fields) == ["district"]
    rent = {"property_id": "P1", "unit_id": "U1", "period": "2024-03".translate(digits), "amount_fen": 100}
    with pytest.raises(ValidationFailed) as refused:
        load_command(ReceiveRentSchema, rent)
    assert refused.value.fields["period"] == ["YYYY-MM"]
