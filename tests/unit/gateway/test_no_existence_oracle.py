"""A district operator's read of another district's record answers exactly as a missing record (docs/hostile-input.md)."""

from __future__ import annotations

from services.common.kernel.errors import NotFound, NotInScope, RuleViolation
from services.common.runtime.rpc import ServiceError
from services.gateway.auth import Principal
from services.gateway.inbound import as_missing as inbound_as_missing
from services.gateway.web import _as_missing

OPERATOR = Principal("t1", "op", "district_operator", "320404")
ADMIN = Principal("t2", "admin", "city_admin", None)
PARAMS = {"asset_id": "AS-1"}


def _body(error: Exception) -> dict[str, object]:
    body: dict[str, object] = error.to_body()  # type: ignore[attr-defined]
    return body


def test_another_districts_record_and_a_missing_one_answer_alike() -> None:
    outside = _as_missing(NotInScope("op acts for district 320404 only"), "GET", OPERATOR, PARAMS)
    stored = ServiceError.from_error(NotFound("asset AS-1 not found", details={"stream_id": "AS-1"}))
    missing = _as_missing(stored, "GET", OPERATOR, PARAMS)
    assert isinstance(outside, NotFound) and isinstance(missing, NotFound)
    assert _body(outside) == _body(missing) == {"error": "not_found", "message": "asset AS-1 not found", "fields": {}}
    crossed = _as_missing(ServiceError.from_error(NotInScope("outside")), "GET", OPERATOR, PARAMS)
    assert _body(crossed) == _body(outside)  # the owning service's refusal too


def test_other_answers_and_other_callers_are_left_alone() -> None:
    refused = NotInScope("outside")
    assert _as_missing(refused, "GET", ADMIN, PARAMS) is refused  # the city sees every district anyway
    assert _as_missing(refused, "POST", OPERATOR, PARAMS) is refused  # a command's refusal naming no URL id
    assert _as_missing(refused, "GET", OPERATOR, {}) is refused  # a listing names no record
    rule = RuleViolation("no")
    assert _as_missing(rule, "GET", OPERATOR, PARAMS) is rule


def test_a_command_on_another_districts_record_answers_as_on_a_missing_one() -> None:
    params = {"stocktake_id": "ST-1", "finding_id": "F-2"}
    outside = ServiceError.from_error(NotInScope("outside", details={"scope_district": "320404", "outside": ["ST-1"]}))
    stored = ServiceError.from_error(NotFound("Stocktake ST-1 not found", details={"stream_id": "ST-1"}))
    foreign, missing = _as_missing(outside, "POST", OPERATOR, params), _as_missing(stored, "POST", OPERATOR, params)
    expected = {"error": "not_found", "message": "stocktake ST-1 not found", "fields": {}}
    assert _body(foreign) == _body(missing) == expected
    # refused for another aggregate than the URL's (a trip's vehicle of another district): left as it is
    other = ServiceError.from_error(NotInScope("outside", details={"outside": ["V-9"]}))
    assert _as_missing(other, "POST", OPERATOR, params) is other
    assert _as_missing(outside, "POST", ADMIN, params) is outside


def test_a_district_message_naming_another_districts_record_is_rejected_as_naming_a_missing_one() -> None:
    """The inbound path: the owning service's ``not_in_scope`` and the store's 404 become the reference check's
    refusal of a missing record, alike (the rejected topic is no existence oracle)."""
    payload = {"vehicle_id": "VH-1", "station": "中石化龙城站"}
    outside = ServiceError.from_error(NotInScope("outside", details={"scope_district": "320404", "outside": ["VH-1"]}))
    stored = ServiceError.from_error(NotFound("Vehicle VH-1 not found", details={"stream_id": "VH-1"}))
    foreign, missing = inbound_as_missing(outside, payload, ()), inbound_as_missing(stored, payload, ())
    expected = {
        "error": "validation_failed",
        "message": "vehicle VH-1 not found",
        "fields": {"vehicle_id": ["unknown vehicle"]},
    }
    assert _body(foreign) == _body(missing) == expected
    # the record the message creates, registered for another district, is no oracle: left as it is
    registered = ServiceError.from_error(NotInScope("outside", details={"outside": ["A-9"]}))
    assert inbound_as_missing(registered, {"agency_id": "A-9"}, (), frozenset({"agency_id"})) is registered
    rule = RuleViolation("no")
    assert inbound_as_missing(rule, payload, ()) is rule
