"""The CloudEvents binary-mode headers mapped from an envelope (``services.common.write.cloud_events``)."""

from __future__ import annotations

import json

from services.common.runtime.dlq import DeadLetterRecord, _message
from services.common.write.cloud_events import cloudevent_headers, cloudevent_headers_of

ROW = {
    "event_id": "0b7e-1",
    "event_type": "AgencyRegistered",
    "schema_version": 2,
    "domain": "office_space",
    "stream_type": "agency",
    "stream_id": "11320402MB00000012",
    "occurred_at": "2026-03-01T02:00:00+00:00",
    "recorded_at": "2026-03-01T02:00:01+00:00",
}


def test_every_required_attribute_is_mapped_from_the_envelope() -> None:
    assert dict(cloudevent_headers(ROW)) == {
        "ce_id": b"0b7e-1",
        "ce_source": b"/office_space/agency",
        "ce_type": b"cn.gov.offices.office_space.AgencyRegistered.v2",
        "ce_specversion": b"1.0",
        "ce_time": b"2026-03-01T02:00:00+00:00",
        "ce_subject": b"11320402MB00000012",
        "content-type": b"application/json",
    }


def test_a_replayed_dead_letter_carries_them_again_and_a_poison_message_none() -> None:
    value = json.dumps(ROW).encode()
    letter = DeadLetterRecord(0, 7, 0, b"k", value, "poison", "", "office_space.events", "p", "0b7e-1", "X")
    headers = dict(_message("office_space.events.dlq", letter)["headers"])
    assert headers["ce_id"] == b"0b7e-1" and headers["ce_specversion"] == b"1.0"
    assert cloudevent_headers_of({"event_id": "x"}) == []  # not an envelope: no CloudEvent to claim


def test_a_poison_message_whose_fields_are_lists_or_objects_claims_no_cloud_event() -> None:
    # a dead letter replayed may hold anything: an unhashable field must not fail the replay (the kind's source and
    # type are cached by value)
    assert cloudevent_headers_of({**ROW, "stream_type": ["agency"]}) == []
    assert cloudevent_headers_of({**ROW, "schema_version": {"v": 1}}) == []
    assert dict(cloudevent_headers_of(ROW))["ce_source"] == dict(cloudevent_headers(ROW))["ce_source"]
