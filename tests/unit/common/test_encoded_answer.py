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


def test_an_answer_encoded_in_part_is_sent_without_a_copy_of_its_bulk_and_with_its_length() -> None:
    bulk = {"year": 2026, "items": [{"name": "常州市财政局", "area_m2": 12.5}]}
    answer = EncodedAnswer({"as_of": "2026-12-06T03:00:00+00:00"}, bulk, encoded(bulk))
    response = json_response(answer)
    sent = list(response.response)
    assert isinstance(sent[-1], memoryview) and sent[-1].obj is answer.bulk_json  # the kept bytes, not a copy
    whole = encoded({"as_of": "2026-12-06T03:00:00+00:00", **bulk})
    assert response.get_data() == whole
    assert response.headers["Content-Length"] == str(len(whole))
