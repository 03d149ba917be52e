"""The CloudEvents binary-mode headers mapped from an envelope (``services.common.cloud_events``)."""

from __future__ import annotations

from services.common.cloud_events import cloudevent_headers


def test_every_required_attribute_is_mapped_from_the_envelope() -> None:
    row = {
        "event_id": "0b7e-1",
        "event_type": "AgencyRegistered",
        "schema_version": 2,
        "domain": "office_space",
        "stream_type": "agency",
        "stream_id": "11320402MB0000001A",
        "occurred_at": "2026-03-01T02:00:00+00:00",
        "recorded_at": "2026-03-01T02:00:01+00:00",
    }
    assert dict(cloudevent_headers(row)) == {
        "ce_id": b"0b7e-1",
        "ce_source": b"/office_space/agency",
        "ce_type": b"cn.gov.offices.office_space.AgencyRegistered.v2",
        "ce_specversion": b"1.0",
        "ce_time": b"2026-03-01T02:00:00+00:00",
        "ce_subject": b"11320402MB0000001A",
        "content-type": b"application/json",
    }
