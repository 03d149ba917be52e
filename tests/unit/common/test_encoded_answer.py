"""An answer whose bulk was encoded once sends the same JSON as the whole answer encoded now."""

from __future__ import annotations

import json

from services.common.runtime.responses import EncodedAnswer, encoded, json_response


def test_an_answer_encoded_in_part_sends_the_json_of_the_whole() -> None:
    head = {"as_of": "2026-12-06T03:00:00+00:00", "freshness": {"topics": {}}}
    bulk = {"year": 2026, "items": [{"name": "常州市财政局", "area_m2": 12.5}]}
    answer = EncodedAnswer(head, bulk, encoded(bulk))
    assert answer == {**head, **bulk}  # an export reads it as a dict
    assert json_response(answer).get_data() == encoded({**head, **bulk})
    assert json.loads(EncodedAnswer(head, {}, b"{}").json()) == head
    assert json.loads(EncodedAnswer({}, bulk, encoded(bulk)).json()) == bulk
