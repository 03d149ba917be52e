"""The personal-data gate: every property of an event contract or a district inbound contract whose name (or
description) looks personal carries the ``x-personal`` mark, or is on the allow-list below with the reason it
is not personal data.

A property looks personal when its name matches one of ``PERSONAL_NAMES`` (a person's name, a phone, an
identity document, a driver, a track or GPS position, a person's address, an actor of a decision ...) or its
description speaks of a GPS position; nested properties (in ``properties`` or array ``items``) count, and a
mark on the top-level property covers what it holds. Marks sit on top-level properties only: the
compatibility gate fingerprints ``items`` and ``properties`` whole (``contracts.shape``), so a mark there
would read as a change of a published version, while a top-level mark is an annotation it ignores.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from services.common.base import contracts
from services.common.base.personal import MARK, SUBJECT_KINDS, PersonalMark, contract_marks, personal_marks

PERSONAL_NAMES = {
    r"(^|_)(full_|given_|family_|sur|nick)?names?($|_)": "the name of a person (姓名)",
    r"phone|mobile|(^|_)tel($|_)|fax": "a telephone number",
    r"id_?card|id_?number|identity|passport|licen[cs]e_no|(^|_)ssn($|_)": "an identity document number (身份证号)",
    r"e_?mail": "an e-mail address",
    r"driver|chauffeur": "a driver (驾驶员)",
    r"person|staff|employee|official|passenger|occupant|resident|applicant": "a natural person",
    r"track|gps|(^|_)(lat|lng|lon|latitude|longitude|coords?|coordinates|position)($|_)": "a GPS point or track",
    r"address|(^|_)home($|_)|domicile": "the address of a person",
    r"birth|(^|_)age($|_)|gender|(^|_)sex($|_)|ethnic|nationality": "a personal characteristic",
    r"_by$": "the actor of a decision",
}
"""Name patterns of personal properties (matched against each property name)."""

PERSONAL_DESCRIPTION = re.compile(r"latitude|longitude|\bGPS\b|姓名|手机|身份证", re.IGNORECASE)
"""What in a property's description shows it holds personal data whatever its name (e.g. ``points``)."""

NOT_PERSONAL_ANYWHERE = {
    "person_id": "the pseudonymous identifier of a staff member (P-0001), the subject_field of their marks: it "
    "stays in clear so the key store can find their key, and once they are erased it leads to nothing",
    "occupants": "the per-person shares of a room, keyed by the pseudonymous person_id (no name)",
    "area_per_person_m2": "a room's usable area divided by its occupants, a figure of the room",
    "passengers": "a number of passengers, not who they are",
    "gps_points": "a count of GPS points received for a trip, not the points",
    "driver_id": "the pseudonymous identifier of a driver (the district's id, D-0001), the subject_field of the "
    "driver's name: it stays in clear so the key store can find their key, and once they are erased it leads to "
    "nothing",
    # the actors of decisions: the platform account of the official acting for an agency (``city_admin:wang``,
    # ``op-tianning-02``), the accountability record of an administrative decision that the platform keeps as
    # long as the decision (PIPL art. 13(3): a statutory duty), like the ``actor`` of every envelope
    "approved_by": "the actor of a decision (account of an official acting in office)",
    "exception_approved_by": "the actor of a decision (account of an official acting in office)",
    "rejected_by": "the actor of a decision (account of an official acting in office)",
    "assessed_by": "the actor of a decision (account of an official acting in office)",
    "acknowledged_by": "the actor of a decision (account of an official acting in office)",
    "resolved_by": "the actor of a decision (account of an official acting in office)",
    "reviewed_by": "the actor of a decision (account of an official acting in office)",
    "closed_by": "the actor of a decision (account of an official acting in office)",
    "restated_by": "the actor of a decision (account of an official acting in office)",
    "adopted_by": "the actor of a decision (account of an official acting in office)",
}
"""Property names that match a pattern but are not personal data in any contract, with the reason."""

NOT_PERSONAL_IN = {
    ("office_space/AgencyRegistered", "name"): "an agency's name (单位, a legal person)",
    ("inbound/office_space.register_agency", "name"): "an agency's name (单位, a legal person)",
    ("office_space/BuildingRegistered", "name"): "a building's name",
    ("office_space/BuildingRegistered", "address"): "a public building's address, not where a person lives",
    ("office_space/BuildingRegistered", "latitude"): "a public building's position",
    ("office_space/BuildingRegistered", "longitude"): "a public building's position",
    ("office_space/OperatingPropertyRegistered", "name"): "the name of a state-owned commercial property",
    ("assets/AssetRegistered", "name"): "the name of an asset (办公桌 1.6m)",
    ("assets/StockItemRegistered", "name"): "the name of a stock item (A4 复印纸)",
    ("procurement/CatalogItemListed", "name"): "the name of a catalogue item",
    ("procurement/PriceWatchStarted", "name"): "the name of a watched commodity (猪肉)",
}
"""(``<domain>/<EventType>`` or ``inbound/<message type>`` of every version, property) pairs that match a
pattern but are not personal."""

UNIDENTIFIED_SUBJECTS = {("vehicles/TripDispatched.v1", "driver")}
"""Marked fields whose version names no identifier of the subject (``subject_field: null``): drivers are
recorded by name only in v1; v2 carries ``driver_id`` and the name is shredded per driver."""

SCHEMAS = contracts.available_schemas()
INBOUND = [
    ("inbound", path.name.rsplit(".v", 1)[0], int(path.name.rsplit(".v", 1)[1].split(".")[0]), path)
    for path in sorted((contracts.CONTRACTS_DIR / "inbound").glob("*.v*.json"))
    if path.name != "message.v1.json"
]
"""The district inbound contracts as (``inbound``, message type, version, path): districts send what they
record in clear, so the marks there say which inbound fields the platform encrypts on receipt."""


def _schema(path: Any) -> dict[str, Any]:
    return dict(json.loads(path.read_text(encoding="utf-8")))


def _properties(spec: Mapping[str, Any], at: str = "") -> Iterator[tuple[str, str, Mapping[str, Any]]]:
    """(path, name, spec) of every property, nested ones included (``occupants[].person_id``)."""
    for name, child in spec.get("properties", {}).items():
        where = f"{at}{name}"
        yield where, name, child
        yield from _nested(child, where)


def _nested(spec: Mapping[str, Any], at: str) -> Iterator[tuple[str, str, Mapping[str, Any]]]:
    yield from _properties(spec, f"{at}.")
    items = spec.get("items")
    if isinstance(items, Mapping):
        yield from _properties(items, f"{at}[].")


def looks_personal(name: str, spec: Mapping[str, Any]) -> list[str]:
    """Why a property looks personal: the patterns its name matches (and its description), [] if none."""
    why = [reason for pattern, reason in PERSONAL_NAMES.items() if re.search(pattern, name.lower())]
    if PERSONAL_DESCRIPTION.search(str(spec.get("description", ""))):
        why.append("its description speaks of a GPS position or personal data")
    return why


def unmarked_personal(domain: str, event_type: str, schema: Mapping[str, Any]) -> list[str]:
    """The properties of a schema that look personal and are neither marked nor allow-listed."""
    marked = set(personal_marks(schema))
    found = []
    for where, name, spec in _properties(schema):
        if where.split(".")[0].split("[]")[0] in marked:
            continue
        if name in NOT_PERSONAL_ANYWHERE or (f"{domain}/{event_type}", name) in NOT_PERSONAL_IN:
            continue
        why = looks_personal(name, spec)
        if why:
            found.append(f"{where} ({'; '.join(why)})")
    return found


@pytest.mark.parametrize(("domain", "event_type", "version", "path"), SCHEMAS + INBOUND, ids=lambda v: str(v))
def test_every_personal_looking_property_is_marked_or_allowed(
    domain: str, event_type: str, version: int, path: Any
) -> None:
    unmarked = unmarked_personal(domain, event_type, _schema(path))
    assert unmarked == [], (
        f"{domain}/{event_type}.v{version}: mark these properties "
        f'"{MARK}": {{"subject": <one of {sorted(SUBJECT_KINDS)}>, "subject_field": <the property naming the '
        f"subject>}} (docs/personal-data.md), or allow-list them in {__name__} with the reason: {unmarked}"
    )


@pytest.mark.parametrize(("domain", "event_type", "version", "path"), SCHEMAS + INBOUND, ids=lambda v: str(v))
def test_every_mark_is_well_formed_and_on_a_top_level_property(
    domain: str, event_type: str, version: int, path: Any
) -> None:
    schema = _schema(path)
    marks = personal_marks(schema)  # raises on an unknown kind or a subject_field that is not a property
    for where, _name, spec in _properties(schema):
        assert "." not in where or MARK not in spec, f"{where}: {MARK} belongs on the top-level property"
    for name, mark in marks.items():
        if mark.subject_field is None:
            assert (f"{domain}/{event_type}.v{version}", name) in UNIDENTIFIED_SUBJECTS
        else:
            assert mark.subject_field in schema["required"], f"{name}: its subject_field must always be present"
    # the mark is an annotation: the compatibility gate's fingerprint of the schema is the same without it
    properties = schema["properties"]
    bare = {
        **schema,
        "properties": {k: {key: v for key, v in spec.items() if key != MARK} for k, spec in properties.items()},
    }
    assert contracts.shape(bare) == contracts.shape(schema)


def test_the_personal_fields_of_the_contracts_are_these() -> None:
    marked = {
        f"{domain}/{event_type}.v{version}.{name}": mark
        for domain, event_type, version, _ in SCHEMAS
        for name, mark in contract_marks(domain, event_type, version).items()
    }
    assert marked == {
        "office_space/StaffPosted.v1.name": PersonalMark("person", "person_id"),
        "vehicles/TripDispatched.v1.driver": PersonalMark("driver", None),
        "vehicles/TripDispatched.v2.driver": PersonalMark("driver", "driver_id"),
        "vehicles/GpsPointsRecorded.v1.points": PersonalMark("track", "trip_id"),
        "vehicles/GpsBatchRecorded.v1.points": PersonalMark("track", "trip_id"),
    }
    inbound = {
        f"{message_type}.v{version}.{name}": mark
        for _, message_type, version, path in INBOUND
        for name, mark in personal_marks(_schema(path)).items()
    }
    assert inbound == {
        "office_space.post_staff.v1.name": PersonalMark("person", "person_id"),
        "vehicles.record_gps_points.v1.points": PersonalMark("track", "trip_id"),
    }


def test_every_allow_list_entry_is_still_needed() -> None:
    names = {name for _, _, _, path in SCHEMAS + INBOUND for _, name, _ in _properties(_schema(path))}
    assert [n for n in NOT_PERSONAL_ANYWHERE if n not in names] == []
    assert [n for n in NOT_PERSONAL_ANYWHERE if not looks_personal(n, {})] == []
    pairs = {(f"{d}/{t}", name) for d, t, _, path in SCHEMAS + INBOUND for _, name, _ in _properties(_schema(path))}
    assert [p for p in NOT_PERSONAL_IN if p not in pairs] == []
    assert [p for p in NOT_PERSONAL_IN if not looks_personal(p[1], {})] == []


@pytest.mark.parametrize(
    ("name", "description", "personal"),
    [
        ("name", "", True),
        ("driver_name", "", True),
        ("mobile", "", True),
        ("contact_phone", "", True),
        ("id_card_no", "", True),
        ("id_number", "", True),
        ("home_address", "", True),
        ("lat", "", True),
        ("lng", "", True),
        ("gps_track", "", True),
        ("staff_id", "", True),
        ("points", "[at, latitude, longitude] in time order", True),
        ("signed_by", "", True),
        ("plate", "", False),
        ("location", "", False),
        ("district", "", False),
        ("relocated_on", "", False),
        ("usage", "", False),
        ("stage", "", False),
    ],
)
def test_the_name_patterns(name: str, description: str, personal: bool) -> None:
    assert bool(looks_personal(name, {"description": description})) is personal


def test_the_gate_names_a_new_personal_field_without_its_mark() -> None:
    schema = {
        "required": ["trip_id"],
        "properties": {
            "trip_id": {"type": "string"},
            "driver_phone": {"type": "string"},
            "stops": {"type": "array", "items": {"properties": {"lat": {"type": "number"}}}},
            "name": {"type": "string"},  # allow-listed for agencies, not for a new event type
        },
    }
    assert unmarked_personal("vehicles", "TripStopped", schema) == [
        "driver_phone (a telephone number; a driver (驾驶员))",
        "stops[].lat (a GPS point or track)",
        "name (the name of a person (姓名))",
    ]
    marked = {
        **schema["properties"],
        "driver_phone": {"type": "string", MARK: {"subject": "driver", "subject_field": None}},
    }
    marked["stops"] = {**marked["stops"], MARK: {"subject": "track", "subject_field": "trip_id"}}
    assert unmarked_personal("vehicles", "TripStopped", {**schema, "properties": marked}) == [
        "name (the name of a person (姓名))"
    ]
    # the allow-listed agency name is not a person's; the other fields still are
    assert unmarked_personal("office_space", "AgencyRegistered", schema) == [
        "driver_phone (a telephone number; a driver (驾驶员))",
        "stops[].lat (a GPS point or track)",
    ]


@pytest.mark.parametrize(
    ("mark", "error"),
    [
        ({"subject": "citizen", "subject_field": "trip_id"}, "unknown subject kind 'citizen'"),
        ({"subject": "person", "subject_field": "person_id"}, "subject_field 'person_id' is not another property"),
        ({"subject": "person", "subject_field": "name"}, "subject_field 'name' is not another property"),
        ({"subject": "person"}, "exactly 'subject' and 'subject_field'"),
        ("person", "exactly 'subject' and 'subject_field'"),
    ],
)
def test_a_malformed_mark_is_refused(mark: Any, error: str) -> None:
    schema = {"properties": {"trip_id": {"type": "string"}, "name": {"type": "string", MARK: mark}}}
    with pytest.raises(ValueError, match=error):
        personal_marks(schema)
