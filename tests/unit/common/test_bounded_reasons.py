"""An error lists at most ``MAX_FIELD_REASONS`` field reasons, each at most ``MAX_REASON_CHARACTERS`` long, and
counts the rest (``details.fields_omitted``): a request or a district's message of a hundred thousand bad items
drew a reason for each, and one reason could quote the whole list. The rejection of such a message (23 MB for
100,000 GPS points) was more than the rejected topic takes: the district consumer's round failed on it, and
met it again, for ever."""

from __future__ import annotations

import json
import uuid
from types import SimpleNamespace

import pytest

from services.common.base import contracts
from services.common.kernel.errors import (
    MAX_FIELD_REASONS,
    MAX_REASON_CHARACTERS,
    ContractViolation,
    ValidationFailed,
    bounded_reasons,
)
from services.common.kernel.schemas import load_command
from services.common.read.inbound import Rejected, read_message
from services.common.runtime.rpc import ServiceError
from services.vehicles.schemas import RecordGpsPointsSchema

BAD_POINT = {"at": "x", "lat": "y", "lon": "z"}


def test_reasons_past_the_bound_are_counted_and_long_ones_cut() -> None:
    nested = {"points": {i: {"at": ["Not a valid datetime."], "lat": ["Not a valid number."]} for i in range(80)}}
    kept, omitted = bounded_reasons({**nested, "trip_id": ["x" * 5000]})
    assert omitted == 80 * 2 + 1 - MAX_FIELD_REASONS  # 161 reasons: 100 listed, 61 counted
    assert list(kept["points"]) == list(range(50))  # 50 points of two reasons each
    assert "trip_id" not in kept
    cut, none = bounded_reasons({"trip_id": ["x" * 5000]})
    assert none == 0 and len(cut["trip_id"][0]) == MAX_REASON_CHARACTERS and cut["trip_id"][0].endswith("…")
    small = {"name": ["Missing data for required field."], "area_m2": ["must be at least 1"]}
    assert bounded_reasons(small) == (small, 0)  # what a client usually gets: as it was


def test_a_request_of_many_bad_items_is_answered_with_the_first_reasons_and_their_count() -> None:
    with pytest.raises(ValidationFailed) as refused:
        load_command(RecordGpsPointsSchema, {"trip_id": "T1", "points": [BAD_POINT] * 5_000})
    error = refused.value
    body = json.dumps(error.to_body(), ensure_ascii=False)
    assert error.details["fields_omitted"] == 5_000 * 3 - MAX_FIELD_REASONS  # at, lat and lon of every point
    assert len(body) < 20_000
    crossed = ServiceError.from_error(error)  # across RPC (as JSON): built again from its arguments, the same
    assert json.dumps([crossed.fields, crossed.details]) == json.dumps([error.fields, error.details])


def test_a_contract_violation_lists_the_first_reasons_and_counts_the_rest() -> None:
    with pytest.raises(ContractViolation) as refused:  # a short list: the library's errors, the first 100 listed
        contracts.validate_inbound_envelope(_message({"trip_id": "T1", "points": [BAD_POINT] * 40}))
    error = refused.value
    assert sum(len(v) for v in error.fields.values()) == MAX_FIELD_REASONS
    assert error.details["fields_omitted"] == 40 * 3 - MAX_FIELD_REASONS  # at, lat and lon of each point
    assert all(key.startswith("payload.points.") for key in error.fields)


def test_a_long_lists_items_are_judged_one_by_one_and_the_first_wrong_ones_listed() -> None:
    """The contract's library finds every error before it gives the first: 400,000 wrong meters (4 MB) cost the
    gateway 25 s of CPU. A long list's items are judged one by one instead, and counted."""
    good = {"meter_id": "M1", "readings": [["2026-11-23T08:00:00+08:00", 1.0]]}
    meters = [good] * 3_000 + [{"meter_id": "bad id", "readings": []}] + [good] * 3_000 + [{"x": 1}] * 2_000
    with pytest.raises(ContractViolation) as refused:
        contracts.validate_inbound_envelope(_message({"meters": meters}, "energy.record_readings"))
    error = refused.value
    assert error.details == {"items_refused": 2_001}  # the bad id, and 2,000 of no shape
    assert sum(len(v) for v in error.fields.values()) == MAX_FIELD_REASONS
    first = error.fields["payload.meters.3000.meter_id"]
    assert first == ['"bad id" does not match "^[A-Za-z0-9_.-]{1,64}$"']
    assert "payload.meters.6001" in error.fields  # the first item of no shape: additional x, missing ids


def test_the_rejection_of_a_message_of_many_bad_items_is_small() -> None:
    raw = json.dumps(_message({"trip_id": "T1", "points": [BAD_POINT] * 2_000})).encode()
    record = SimpleNamespace(topic="district.320402.inbound", partition=0, offset=7, key=b"k", value=raw)
    with pytest.raises(Rejected) as refused:
        read_message(record, "320402")  # type: ignore[arg-type]
    rejection = refused.value
    assert rejection.code == "invalid_message" and rejection.details == {"items_refused": 2_000}
    assert len(json.dumps(rejection.fields, ensure_ascii=False)) < 64 * 1024
    many = Rejected("processing_failed", "y" * 10_000, {f"k{i}": ["Unknown field."] for i in range(10_000)})
    assert len(many.fields) == MAX_FIELD_REASONS and many.details == {"fields_omitted": 10_000 - MAX_FIELD_REASONS}
    assert len(many.message) == MAX_REASON_CHARACTERS


def _message(payload: dict[str, object], message_type: str = "vehicles.record_gps_points") -> dict[str, object]:
    return {
        "message_id": f"m-{uuid.uuid4().hex[:12]}",
        "message_type": message_type,
        "schema_version": 1,
        "district": "320402",
        "sent_at": "2026-11-23T08:00:00+08:00",
        "payload": payload,
    }


def test_a_list_longer_than_its_contract_allows_is_refused_for_that_alone() -> None:
    """One reason, found before the contract's library judges (and describes) every item: 100,000 bad points
    cost the gateway 5 s of CPU to list."""
    with pytest.raises(ContractViolation) as refused:
        contracts.validate_inbound_envelope(_message({"trip_id": "T1", "points": [BAD_POINT] * 5_001}))
    assert refused.value.fields == {"payload.points": ["at most 5000 items, 5001 given"]}
    contracts.validate_inbound_envelope(_message({"trip_id": "T1", "points": [GOOD_POINT] * 5_000}))  # the most


GOOD_POINT = {"at": "2026-11-23T08:00:00+08:00", "lat": 31.8, "lon": 119.9}


def test_a_request_whose_list_is_too_long_is_refused_for_that_alone() -> None:
    """marshmallow judges every item of a list before its length: 28,000 bad points (a 1 MiB body) cost the
    gateway 3 s of CPU to list 84,000 reasons. The length is judged first (``kernel.schemas.load_command``)."""
    for count in (5_001, 28_000):
        with pytest.raises(ValidationFailed) as refused:
            load_command(RecordGpsPointsSchema, {"trip_id": "T1", "points": [BAD_POINT] * count})
        assert refused.value.fields == {"points": ["Length must be between 1 and 5000."]}, count
    with pytest.raises(ValidationFailed) as refused:  # too short: named beside the other fields' reasons
        load_command(RecordGpsPointsSchema, {"trip_id": "", "points": []})
    assert refused.value.fields == {
        "points": ["Length must be between 1 and 5000."],
        "trip_id": ["must be 1-64 letters, digits, '_', '-' or '.'"],
    }
