"""Every reference a command names is declared and checked by ``services.gateway.references`` (docs/hostile-input.md).

Generated over the gateway's route registry: a command route added tomorrow with a ``building_id`` (or any
field of a kind the gateway can look up) fails here until its reference is declared, or listed in
``NOT_CHECKED`` with the reason.
"""

from __future__ import annotations

from typing import Any

import pytest

from services.common.kernel.errors import NotFound, ValidationFailed
from services.gateway.auth import Principal
from services.gateway.references import (
    KIND_OF_FIELD,
    NOT_CHECKED,
    REFERENCES,
    SOURCES,
    Reference,
    check_references,
)
from services.gateway.service import GatewayService
from services.gateway.web import RouteSpec, route_specs

COMMANDS = [spec for _, spec in route_specs(GatewayService) if spec.kind == "command"]


def _fields(spec: RouteSpec) -> set[str]:
    assert spec.body is not None
    return set(spec.body().fields)


@pytest.mark.parametrize("spec", COMMANDS, ids=lambda spec: f"{spec.method} {spec.url}")
def test_every_id_a_command_names_is_declared_as_a_reference_or_said_why_not(spec: RouteSpec) -> None:
    assert spec.service is not None and spec.command is not None
    references = REFERENCES.get((spec.service, spec.command), ())
    # a field another reference's record must agree with (``same``) is checked through that record
    declared = {ref.field for ref in references} | {field for ref in references for _, field in ref.same}
    for field in sorted(_fields(spec) & set(KIND_OF_FIELD)):
        key = (spec.service, spec.command, field)
        assert field in declared or key in NOT_CHECKED, f"{spec.service}.{spec.command} names {field} unchecked"
    if spec.scope == "agency_id":  # the agency the command acts for is one of its references
        assert "agency_id" in declared, f"{spec.service}.{spec.command}: agency_id not declared"


def test_every_declaration_names_a_command_its_field_and_a_kind_with_an_owner() -> None:
    commands = {(spec.service, spec.command): spec for spec in COMMANDS}
    for (service, command), references in REFERENCES.items():
        assert (service, command) in commands, f"no command route {service}.{command}"
        fields = _fields(commands[(service, command)])
        for ref in references:
            assert ref.field in fields, f"{service}.{command} has no field {ref.field}"
            assert ref.kind in SOURCES, ref.kind
            assert {field for _, field in ref.same} <= fields, ref
    for service, command, field in NOT_CHECKED:
        assert field in _fields(commands[(service, command)]), (service, command, field)


OPERATOR_A = Principal("t1", "op-a", "district_operator", "320402")
ADMIN = Principal("t2", "admin", "city_admin", None)
RECORDS: dict[tuple[str, str], dict[str, Any]] = {
    ("building", "B-A"): {"district": "320402", "agency_id": "AG-A"},
    ("building", "B-B"): {"district": "320404", "agency_id": "AG-B"},
    ("trip", "T-B"): {"district": "320404", "vehicle_district": "320402", "vehicle_id": "V-1"},
}
BUILDING = (Reference("building_id", "building", same=(("agency_id", "agency_id"),)),)


def _lookup(kind: str, value: str) -> dict[str, Any] | None:
    return RECORDS.get((kind, value))


def _refusal(principal: Principal, refs: tuple[Reference, ...], command: dict[str, Any], url: frozenset[str]) -> Any:
    with pytest.raises((NotFound, ValidationFailed)) as refused:
        check_references(principal, refs, command, url, _lookup)
    return refused.value.http_status, refused.value.to_body()


def test_another_districts_record_is_refused_exactly_as_a_missing_one() -> None:
    body = frozenset[str]()
    foreign = _refusal(OPERATOR_A, BUILDING, {"building_id": "B-B", "agency_id": "AG-A"}, body)
    missing = _refusal(OPERATOR_A, BUILDING, {"building_id": "B-X", "agency_id": "AG-A"}, body)
    assert foreign[0] == missing[0] == 422
    assert foreign[1] == {**missing[1], "message": missing[1]["message"].replace("B-X", "B-B")}
    assert foreign[1]["fields"] == {"building_id": ["unknown building"]}
    url = frozenset({"building_id"})  # the command's target in its URL: 404 like a missing record
    assert _refusal(OPERATOR_A, BUILDING, {"building_id": "B-B"}, url) == (
        404,
        {"error": "not_found", "message": "building B-B not found", "fields": {}},
    )


def test_a_record_that_disagrees_with_the_command_is_refused_and_a_consistent_one_passes() -> None:
    status, body = _refusal(ADMIN, BUILDING, {"building_id": "B-B", "agency_id": "AG-A"}, frozenset())
    assert (status, list(body["fields"])) == (422, ["building_id"])  # B-B is AG-B's building, not AG-A's
    check_references(ADMIN, BUILDING, {"building_id": "B-B", "agency_id": "AG-B"}, frozenset(), _lookup)
    check_references(OPERATOR_A, BUILDING, {"building_id": "B-A", "agency_id": "AG-A"}, frozenset(), _lookup)
    check_references(OPERATOR_A, BUILDING, {"building_id": None}, frozenset(), _lookup)  # not given: nothing


def test_a_cross_district_act_the_domain_allows_passes() -> None:
    unscoped = (Reference("building_id", "building", scoped=False),)
    check_references(OPERATOR_A, unscoped, {"building_id": "B-B"}, frozenset(), _lookup)
    with pytest.raises(ValidationFailed):  # it must still exist
        check_references(OPERATOR_A, unscoped, {"building_id": "B-X"}, frozenset(), _lookup)
    # a trip of district B served by a vehicle of A is A's to write too
    trip = (Reference("trip_id", "trip", same=(("vehicle_id", "vehicle_id"),)),)
    check_references(OPERATOR_A, trip, {"trip_id": "T-B", "vehicle_id": "V-1"}, frozenset({"trip_id"}), _lookup)
    status, _ = _refusal(OPERATOR_A, trip, {"trip_id": "T-B", "vehicle_id": "V-2"}, frozenset({"trip_id"}))
    assert status == 422  # GPS points of another vehicle than the trip's
