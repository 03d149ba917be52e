"""An answer whose bulk was encoded once sends the same JSON as the whole answer encoded now."""

from __future__ import annotations

import json
from datetime import date

from services.common.runtime.responses import EncodedAnswer, KeptMembers, encoded, encoded_reusing, json_response


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


def test_an_answer_encoded_again_copies_its_kept_members_and_equals_one_encoded_whole() -> None:
    kept = KeptMembers()
    a1, a2 = (
        {"name": "常州市财政局", "area_m2": 12.5, "on": date(2026, 12, 6)},
        {"name": "b", "criteria": [{"x": None}]},
    )
    first = {"year": 2026, "items": [a1, a2], "empty": [], "plain": [1, "二"], "nested": {"a": [a1]}}
    assert encoded_reusing(first, kept) == encoded(first)
    # the same first member in its place (the same object: kept), a new second one: only that one is encoded again
    kept.json = kept.json.replace(b"12.5", b"99.9")
    second = {"year": 2026, "items": [a1, {**a2, "x": 7}], "more": [a1], "nested": {"a": [a1]}}
    made = encoded_reusing(second, kept)
    assert made.replace(b"99.9", b"12.5") == encoded(second)
    assert made.count(b"99.9") == 1  # copied from the JSON made before; elsewhere (a new place) encoded again
    assert encoded_reusing(second, kept) == made
    moved = {"year": 2026, "items": [{**a2, "x": 7}, a1]}  # a member in another place is encoded again
    assert encoded_reusing(moved, kept) == encoded(moved)
    for body in ({}, {"items": []}, [a1, a2], {1: [a1]}, {"only": [a1, 3]}):
        assert encoded_reusing(body, KeptMembers()) == encoded(body)
