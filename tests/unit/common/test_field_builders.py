"""The shared field builders: an optional text's absence, money and counts as strict JSON integers."""

from __future__ import annotations

import pytest
from marshmallow import Schema, ValidationError

from services.common.kernel.validators import fen, flag, identifier, positive, quantity, text


class _Probe(Schema):
    id = identifier(required=False)
    note_or_none = text(5, required=False)
    note_or_blank = text(5, required=False, absent="")
    repair_fen = fen(required=False, default=0)
    count = quantity(3)
    factor = positive(2.0, load_default=None)
    urgent = flag(load_default=False)


def test_absent_fields_read_as_their_defaults() -> None:
    assert _Probe().load({"count": 1}) == {
        "id": None,
        "note_or_none": None,
        "note_or_blank": "",
        "repair_fen": 0,
        "count": 1,
        "factor": None,
        "urgent": False,
    }


@pytest.mark.parametrize(
    ("given", "refused"),
    [
        ({"note_or_none": ""}, "note_or_none"),  # absent reads as None: an empty text is refused
        ({"note_or_blank": "123456"}, "note_or_blank"),
        ({"repair_fen": 1.5}, "repair_fen"),
        ({"repair_fen": -1}, "repair_fen"),
        ({"count": 0}, "count"),
        ({"count": 4}, "count"),
        ({"factor": 0}, "factor"),
        ({"factor": 2.5}, "factor"),
        ({"urgent": "true"}, "urgent"),
        ({"id": "a b"}, "id"),
    ],
)
def test_each_builder_refuses_what_it_always_refused(given: dict[str, object], refused: str) -> None:
    with pytest.raises(ValidationError) as caught:
        _Probe().load({"count": 1, **given})
    assert set(caught.value.messages) == {refused}


def test_an_empty_text_is_accepted_where_absence_reads_as_blank() -> None:
    assert _Probe().load({"count": 3, "note_or_blank": "", "factor": 2.0})["note_or_blank"] == ""
