"""Every reference a command names is checked, in one place, before the command runs (docs/hostile-input.md).

Each command declares, as data, the ids it names that point at another record (``REFERENCES``): the field,
the kind of record, whether the record must lie in the caller's district (``scoped``) and which of the
record's attributes must agree with the rest of the command (``same``: a meter's building is the meter's
agency's). ``check_references`` asks the record's owning service (its event store: the source of truth,
never a projection that may lag; agencies through the data center's directory first, falling back to
office space) and refuses:

- an id no record has, and an id of another district's record, with one and the same answer (no existence
  oracle): 404 ``not_found`` ``"<kind> <id> not found"`` for an id in the URL, 422 ``validation_failed``
  with the field's reason ``unknown <kind>`` for an id in the body;
- a record that disagrees with the command (``same``): 422 naming the field.

Fields of the kinds in ``KIND_OF_FIELD`` that a command names but does not check are listed with the
reason in ``NOT_CHECKED`` (the id the command creates, a list the owning service checks item by item, a
reference another engineer's work covers); ``tests/unit/gateway/test_references_declared.py`` walks every
command route and fails on a field in neither.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from services.common.kernel.errors import NotFound, ValidationFailed
from services.common.kernel.scope import in_scope
from services.gateway.auth import Principal

Lookup = Callable[[str, str], Mapping[str, Any] | None]
"""``(kind, id)`` → the record as its owning service has it (``district``, ``agency_id``, ...), None: no such
record."""


@dataclass(frozen=True)
class Reference:
    """One id a command names.

    ``scoped``: the record must be in the caller's district (False where the domain allows a cross-district
    act: a city-wide dispatch's vehicle, a room held by another district's agency). ``same``: pairs of (the
    record's attribute, the command's field) that must be equal when the command gives the field.
    """

    field: str
    kind: str
    scoped: bool = True
    same: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Source:
    """Where a kind of record is looked up: the gateway's RPC proxy attribute, its query, the id's key."""

    service: str
    query: str
    key: str


SOURCES: dict[str, Source] = {
    "agency": Source("office_space", "get_agency", "agency_id"),
    "building": Source("office_space", "get_building", "building_id"),
    "meter": Source("energy", "get_meter", "meter_id"),
    "vehicle": Source("vehicles", "get_vehicle", "vehicle_id"),
    "trip": Source("vehicles", "get_trip", "trip_id"),
    "asset": Source("assets", "get_asset", "asset_id"),
    "tender": Source("procurement", "get_tender", "tender_id"),
    "contract": Source("procurement", "get_contract", "contract_id"),
}
"""The owning service of each kind of record a reference may name."""

SETTLED: dict[str, tuple[str, ...]] = {"building": ("agency_id", "district")}
"""Kinds of record whose attributes the checks read never change once the record exists, and those attributes:
a building's agency and district are set when it is registered and no later event changes them. The gateway
keeps them (``settled_record``) instead of asking the owning service before every command naming the record
(two in five of the office-space commands name a building)."""

_settled: dict[tuple[str, str], dict[str, Any]] = {}


def settled_record(kind: str, value: str, ask: Callable[[], Mapping[str, Any] | None]) -> Mapping[str, Any] | None:
    """The record ``(kind, value)`` as ``ask()`` answers it, kept for the kinds in ``SETTLED`` (their settled
    attributes) once it exists; a record not found yet is asked again (it may be registered a moment later)."""
    kept = SETTLED.get(kind)
    if kept is None:
        return ask()
    found = _settled.get((kind, value))
    if found is None:
        record = ask()
        if record is None:
            return None
        if len(_settled) >= 20_000:  # bounded: start over rather than grow
            _settled.clear()
        found = _settled[(kind, value)] = {name: record.get(name) for name in kept}
    return found


KIND_OF_FIELD: dict[str, str] = {
    "agency_id": "agency",
    "parent_agency_id": "agency",
    "to_agency_id": "agency",
    "building_id": "building",
    "meter_id": "meter",
    "vehicle_id": "vehicle",
    "replaces_vehicle_id": "vehicle",
    "trip_id": "trip",
    "asset_id": "asset",
    "replaces_asset_id": "asset",
    "tender_id": "tender",
    "contract_id": "contract",
}
"""Command fields that name a record of a kind in ``SOURCES`` (the generated test's list)."""

SAME_AGENCY = (("agency_id", "agency_id"),)

_AGENCY = Reference("agency_id", "agency")
_ASSET = (Reference("asset_id", "asset"),)
_VEHICLE = (Reference("vehicle_id", "vehicle"),)
_TRIP = (Reference("trip_id", "trip"),)
_TENDER = (Reference("tender_id", "tender"),)
_CONTRACT = (Reference("contract_id", "contract"),)
_METER = (Reference("meter_id", "meter"),)
_BUILDING = (Reference("building_id", "building"),)

REFERENCES: dict[tuple[str, str], tuple[Reference, ...]] = {
    # office space
    ("office_space", "register_agency"): (Reference("parent_agency_id", "agency", scoped=False),),
    ("office_space", "change_headcount"): (_AGENCY,),
    ("office_space", "post_staff"): (_AGENCY,),
    ("office_space", "record_departure"): (_AGENCY,),
    # a person may move to another district's agency: the target must exist; office space judges the move
    ("office_space", "transfer_staff"): (_AGENCY, Reference("to_agency_id", "agency", scoped=False)),
    ("office_space", "register_building"): (_AGENCY,),
    # a room of the building may be held by another district's agency (docs/domain.md): it must exist
    ("office_space", "add_room"): (*_BUILDING, Reference("agency_id", "agency", scoped=False)),
    # the allocating agency's district allocates, in a building that may lie in another district
    ("office_space", "allocate_room"): (_AGENCY, Reference("building_id", "building", scoped=False)),
    ("office_space", "release_room"): _BUILDING,
    ("office_space", "transfer_room"): (*_BUILDING, Reference("to_agency_id", "agency", scoped=False)),
    ("office_space", "detect_idle_rooms"): _BUILDING,
    ("office_space", "request_lease"): (_AGENCY,),
    ("office_space", "record_unapproved_lease"): (_AGENCY,),
    ("office_space", "open_inspection"): (_AGENCY,),
    ("office_space", "apply_repair"): (_AGENCY, Reference("building_id", "building", same=SAME_AGENCY)),
    # energy
    ("energy", "install_meter"): (_AGENCY, Reference("building_id", "building", same=SAME_AGENCY)),
    ("energy", "replace_meter"): _METER,
    ("energy", "record_meter_readings"): _METER,
    ("energy", "set_quota"): (_AGENCY,),
    ("energy", "revise_quota"): (_AGENCY,),
    ("energy", "assess_quota"): (_AGENCY,),
    ("energy", "report_annual_consumption"): (_AGENCY,),
    ("energy", "correct_annual_consumption"): (_AGENCY,),
    # vehicles
    ("vehicles", "set_vehicle_quota"): (_AGENCY,),
    ("vehicles", "seal_fleet"): (_AGENCY,),
    ("vehicles", "register_vehicle"): (
        _AGENCY,
        Reference("replaces_vehicle_id", "vehicle", same=SAME_AGENCY),
    ),
    **{
        ("vehicles", command): _VEHICLE
        for command in (
            "dispose_vehicle",
            "seal_vehicle",
            "unseal_vehicle",
            "record_fuel",
            "record_charging",
            "record_repair",
            "replace_odometer",
            "record_expense",
            "resolve_anomaly",
        )
    },
    ("vehicles", "request_trip"): (_AGENCY,),
    **{
        ("vehicles", command): _TRIP
        for command in ("approve_trip_outside_hours", "cancel_trip", "start_trip", "finish_trip", "resolve_trip_flag")
    },
    # city-wide dispatch (市域一体化保障): the vehicle's district dispatches another district's trip, so
    # both must exist and the vehicles service judges who may dispatch (the trip's scope before and after)
    ("vehicles", "dispatch_trip"): (
        Reference("trip_id", "trip", scoped=False),
        Reference("vehicle_id", "vehicle", scoped=False),
    ),
    ("vehicles", "record_gps_points"): (Reference("trip_id", "trip", same=(("vehicle_id", "vehicle_id"),)),),
    # assets
    ("assets", "register_asset"): (_AGENCY,),
    **{
        ("assets", command): _ASSET
        for command in (
            "put_asset_back_in_use",
            "hand_in_asset",
            "mark_asset_idle",
            "relocate_asset",
            "record_repair",
            "apply_for_replacement",
            "approve_replacement",
            "assess_repair",
        )
    },
    ("assets", "apply_disposal"): (_AGENCY,),
    ("assets", "issue_goods"): (_AGENCY,),
    ("assets", "open_stocktake"): (_AGENCY,),
    ("assets", "lend_assets"): (_AGENCY,),
    ("assets", "request_assets"): (_AGENCY, Reference("replaces_asset_id", "asset", same=SAME_AGENCY)),
    # procurement
    ("procurement", "open_budget_line"): (_AGENCY,),
    ("procurement", "submit_purchase_request"): (_AGENCY,),
    ("procurement", "sign_contract"): _TENDER,
    **{
        ("procurement", command): _TENDER
        for command in (
            "submit_bid",
            "close_bidding",
            "evaluate_bid",
            "clear_abnormal_quote",
            "award_tender",
            "declare_tender_failed",
        )
    },
    ("procurement", "record_delivery"): _CONTRACT,
    ("procurement", "inspect_delivery"): _CONTRACT,
}
"""The references each command (``(service, command)``) names, checked before it runs."""

_CREATED = "the id of the record the command creates"
NOT_CHECKED: dict[tuple[str, str, str], str] = {
    ("office_space", "register_agency", "agency_id"): _CREATED,
    ("office_space", "register_building", "building_id"): _CREATED,
    ("energy", "install_meter", "meter_id"): _CREATED,
    ("vehicles", "register_vehicle", "vehicle_id"): _CREATED,
    ("vehicles", "request_trip", "trip_id"): _CREATED,
    ("assets", "register_asset", "asset_id"): _CREATED,
    ("procurement", "open_tender", "tender_id"): _CREATED,
    ("office_space", "request_lease", "building_id"): "leases' rooms: checked by the city's-history work on leases",
    ("office_space", "record_unapproved_lease", "building_id"): "leases' rooms: the city's-history work on leases",
}
"""Fields of a reference kind a command names without ``check_references`` checking them, and why."""


def created_fields(service: str, command: str) -> frozenset[str]:
    """The fields naming the record a command creates (no reference: it does not exist before the command)."""
    return frozenset(f for (s, c, f), why in NOT_CHECKED.items() if (s, c) == (service, command) and why == _CREATED)


def references_of(service: str, command: str) -> tuple[Reference, ...]:
    """The declared references of a command (none declared: none)."""
    return REFERENCES.get((service, command), ())


def check_references(
    principal: Principal,
    references: tuple[Reference, ...],
    command: Mapping[str, Any],
    url_fields: frozenset[str],
    lookup: Lookup,
) -> None:
    """Refuse the command unless every reference it gives names a record that exists, lies in the caller's
    district (where ``scoped``) and agrees with the command (``same``).

    A missing record and another district's answer alike, so a district cannot tell which ids exist
    elsewhere; an id in the URL (``url_fields``) is the command's target, answered 404, an id in the body a
    field of the command, answered 422.
    """
    visible = principal.visible_district()
    for ref in references:
        value = command.get(ref.field)
        if value is None or value == "":
            continue
        record = lookup(ref.kind, str(value))
        if record is None or (ref.scoped and not _in_district(record, visible)):
            if ref.field in url_fields:
                raise NotFound(f"{ref.kind} {value} not found")
            raise ValidationFailed(f"{ref.kind} {value} not found", fields={ref.field: [f"unknown {ref.kind}"]})
        for attribute, field in ref.same:
            given = command.get(field)
            if given is not None and given != "" and record.get(attribute) != given:
                raise ValidationFailed(
                    f"{ref.kind} {value} does not belong to {field} {given}",
                    fields={ref.field: [f"the {ref.kind}'s {attribute} is not the command's {field}"]},
                )


def _in_district(record: Mapping[str, Any], visible: str | None) -> bool:
    """Whether a record is within the caller's scope (``services.common.kernel.scope``): its own district, or one it
    shares itself with (a trip served city-wide by another district's vehicle is both districts',
    ``vehicle_district``)."""
    return in_scope(visible, record.get("district"), (record.get("vehicle_district"),))
