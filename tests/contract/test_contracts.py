"""Contracts: every event type has its schema, schemas match the events, published versions never break."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from services.common.base import contracts
from services.common.kernel.events import event_class, has_upcaster, registered_event_types

contracts.load_domains()
EVENT_TYPES = [
    (d, t, v) for d, t, v in registered_event_types() if event_class(d, t).__module__.startswith("services.")
]
SCHEMAS = contracts.available_schemas()


def _schema(domain: str, event_type: str, version: int) -> dict[str, Any]:
    return dict(json.loads(contracts.schema_path(domain, event_type, version).read_text(encoding="utf-8")))


def test_there_are_event_types_to_check() -> None:
    assert len(EVENT_TYPES) >= 1 and len(SCHEMAS) >= len(EVENT_TYPES)


@pytest.mark.parametrize(("domain", "event_type", "version"), EVENT_TYPES)
def test_every_event_type_has_a_schema_matching_its_fields(domain: str, event_type: str, version: int) -> None:
    path = contracts.schema_path(domain, event_type, version)
    assert path.exists(), f"{event_type} has no contract at {path}"
    schema = _schema(domain, event_type, version)
    cls = event_class(domain, event_type)
    fields = dataclasses.fields(cls)
    # the float-yuan and ``_cents`` properties a previous version published are still in the payload
    # (Event.legacy_yuan, Event.legacy_cents)
    legacy = set(cls.legacy_yuan) | set(cls.legacy_cents)
    assert set(schema["properties"]) == {f.name for f in fields} | legacy
    no_default = {
        f.name for f in fields if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    }
    assert set(schema.get("required", [])) == no_default | legacy
    assert schema["additionalProperties"] is False
    assert schema["$id"] == f"urn:gov-affairs:events:{domain}:{event_type}:v{version}"


@pytest.mark.parametrize(("domain", "event_type", "version", "path"), SCHEMAS, ids=lambda v: str(v))
def test_every_schema_is_valid_and_its_examples_validate(domain: str, event_type: str, version: int, path: Any) -> None:
    schema = json.loads(path.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    assert schema.get("examples"), f"{path.name} has no example"
    for example in schema["examples"]:
        contracts.validate_payload(domain, event_type, version, example)


@pytest.mark.parametrize("name", ["envelope.v1.json", "inbound/message.v1.json"])
def test_the_envelopes_are_valid_schemas(name: str) -> None:
    # the services compile the contracts with jsonschema-rs alone; the meta-schema's stricter check is here
    Draft202012Validator.check_schema(json.loads((contracts.CONTRACTS_DIR / name).read_text(encoding="utf-8")))


def test_the_envelope_example_validates() -> None:
    envelope = json.loads((contracts.CONTRACTS_DIR / "envelope.v1.json").read_text(encoding="utf-8"))
    for example in envelope["examples"]:
        contracts.validate_envelope(example)


@pytest.mark.parametrize(("domain", "event_type", "version", "path"), SCHEMAS, ids=lambda v: str(v))
def test_every_schema_is_published_and_unchanged_in_a_breaking_way(
    domain: str, event_type: str, version: int, path: Any
) -> None:
    lock = contracts.read_lock()
    key = contracts.lock_key(domain, event_type, version)
    assert key in lock, f"{key} is not published: run `python -m services.common.base.contracts` to lock it"
    problems = contracts.breaking_changes(lock[key], contracts.shape(json.loads(path.read_text(encoding="utf-8"))))
    assert problems == [], f"{key} changed incompatibly; add v{version + 1} and an upcaster instead: {problems}"


@pytest.mark.parametrize(
    ("domain", "event_type", "version", "path"), [s for s in SCHEMAS if s[2] > 1], ids=lambda v: str(v)
)
def test_every_new_version_has_an_upcaster_from_the_previous_one(
    domain: str, event_type: str, version: int, path: Any
) -> None:
    assert contracts.schema_path(domain, event_type, version - 1).exists()
    assert has_upcaster(domain, event_type, version - 1), f"{event_type} v{version - 1} -> v{version} has no upcaster"


BASE = contracts.shape(
    {
        "additionalProperties": False,
        "required": ["a", "b"],
        "properties": {"a": {"type": "string"}, "b": {"type": "integer"}, "c": {"type": "string"}},
    }
)


def _changed(**changes: Any) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "additionalProperties": False,
        "required": ["a", "b"],
        "properties": {"a": {"type": "string"}, "b": {"type": "integer"}, "c": {"type": "string"}},
    }
    schema.update(changes)
    return contracts.shape(schema)


def test_the_gate_refuses_a_removed_required_field() -> None:
    assert contracts.breaking_changes(
        BASE, _changed(required=["a"], properties={"a": {"type": "string"}, "c": {"type": "string"}})
    )


def test_the_gate_refuses_a_renamed_field() -> None:
    renamed = {"a": {"type": "string"}, "bb": {"type": "integer"}, "c": {"type": "string"}}
    assert contracts.breaking_changes(BASE, _changed(required=["a", "bb"], properties=renamed))


def test_the_gate_refuses_a_changed_type() -> None:
    retyped = {"a": {"type": "string"}, "b": {"type": "string"}, "c": {"type": "string"}}
    assert contracts.breaking_changes(BASE, _changed(properties=retyped))


def test_the_gate_refuses_a_new_required_field() -> None:
    assert contracts.breaking_changes(BASE, _changed(required=["a", "b", "c"]))


def test_the_gate_accepts_an_unchanged_schema_with_new_descriptions() -> None:
    described = {"a": {"type": "string", "description": "x"}, "b": {"type": "integer"}, "c": {"type": "string"}}
    assert contracts.breaking_changes(BASE, _changed(properties=described)) == []


def test_the_gate_accepts_an_optional_field_added_to_an_open_schema() -> None:
    open_base = {**BASE, "closed": False}
    added = {**BASE["properties"], "d": {"type": "string"}}
    assert contracts.breaking_changes(open_base, {**open_base, "properties": added}) == []
    assert contracts.breaking_changes(BASE, {**BASE, "properties": added})  # but not to a closed one


def test_the_committed_asyncapi_document_is_the_generated_one() -> None:
    from tools.asyncapi import render

    committed = (contracts.CONTRACTS_DIR / "asyncapi.yaml").read_text(encoding="utf-8")
    assert committed == render(), "regenerate it: python -m tools.asyncapi > contracts/asyncapi.yaml"


def test_every_asyncapi_example_validates_against_its_contracts() -> None:
    from tools.asyncapi import document

    messages = document()["components"]["messages"]
    checked = 0
    for key, message in messages.items():
        for example in message.get("examples", []):
            if key.startswith("inbound."):
                contracts.validate_inbound_envelope(example["payload"])
            elif key not in ("Rejection", "DeadLetter"):
                contracts.validate_envelope(example["payload"])
            checked += 1
    assert checked >= len(SCHEMAS)


INBOUND_CONTRACTS = sorted((contracts.CONTRACTS_DIR / "inbound").glob("*.v*.json"))


def test_every_inbound_message_type_has_a_route_and_every_route_a_contract() -> None:
    from services.gateway.inbound import ROUTES

    described = {p.name.rsplit(".v", 1)[0] for p in INBOUND_CONTRACTS if p.name != "message.v1.json"}
    assert described == set(ROUTES)


@pytest.mark.parametrize("path", [p for p in INBOUND_CONTRACTS if p.name != "message.v1.json"], ids=lambda p: p.name)
def test_every_inbound_example_is_valid_for_its_contract_and_for_the_command_it_reaches(path: Any) -> None:
    from services.common.kernel.schemas import load_command
    from services.gateway.inbound import ROUTES, current_payload

    schema = json.loads(path.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    assert schema.get("examples"), f"{path.name} has no example"
    message_type, version = path.name.rsplit(".v", 1)[0], int(path.name.rsplit(".v", 1)[1].split(".")[0])
    route = ROUTES[message_type]
    for example in schema["examples"]:
        assert not list(Draft202012Validator(schema).iter_errors(example))
        # the marshmallow schema of the command accepts it too, read as the newest version (current_payload)
        load_command(route.schema, current_payload(message_type, version, example))


def _enveloped(domain: str, event_type: str, version: int, payload: Any) -> dict[str, Any]:
    envelope = json.loads((contracts.CONTRACTS_DIR / "envelope.v1.json").read_text(encoding="utf-8"))["examples"][0]
    return {**envelope, "domain": domain, "event_type": event_type, "schema_version": version, "payload": payload}


def _reasons(envelope: dict[str, Any]) -> dict[str, list[str]] | None:
    try:
        contracts.validate_envelope(envelope)
    except contracts.ContractViolation as exc:
        return dict(exc.fields or {"_message": [exc.message]})  # "no contract for ...": a refusal without fields
    return None


@pytest.mark.parametrize(("domain", "event_type", "version", "path"), SCHEMAS, ids=lambda v: str(v))
def test_an_event_checked_as_a_whole_is_judged_as_its_parts_are(
    domain: str, event_type: str, version: int, path: Any
) -> None:
    # A consumer checks an envelope and its payload with one validator (contracts._whole_validator) and, only
    # when that refuses, part by part for the reasons. The two must agree on every event: valid examples, and
    # each example spoiled in the envelope and in the payload.
    schema = json.loads(path.read_text(encoding="utf-8"))
    whole = contracts._whole_validator(domain, event_type, version)
    assert whole is not None
    for example in schema["examples"]:
        valid = _enveloped(domain, event_type, version, example)
        assert whole.is_valid(valid) and _reasons(valid) is None
        first = schema["required"][0]
        spoiled = {
            "payload property missing": ({k: v for k, v in example.items() if k != first}, None),
            "payload property unknown": ({**example, "not_in_the_contract": 1}, None),
            "payload property of another type": ({**example, first: {"a": [1]}}, None),
            "envelope field malformed": (example, {"event_id": "not-a-uuid"}),
            "envelope field unknown": (example, {"extra": True}),
        }
        for what, (payload, envelope_change) in spoiled.items():
            event = {**_enveloped(domain, event_type, version, payload), **(envelope_change or {})}
            assert not whole.is_valid(event), what
            reasons = _reasons(event)
            assert reasons, what
            if envelope_change:  # the envelope's reasons name its fields
                assert set(reasons) <= {"event_id", "_schema"}, (what, reasons)
            else:  # the payload's name its properties, as a producer's refusal does
                assert not any(k in reasons for k in ("payload", "event_id")), (what, reasons)


def test_a_hostile_event_name_makes_no_validator() -> None:
    # the whole-event validators are made only for the contracts on file: a name read from a message (a path, a
    # list, a version as a float or a boolean) is judged by the checks one by one, and no validator is cached
    before = len(contracts._WHOLE)
    example = json.loads(contracts.schema_path("office_space", "AgencyRegistered", 1).read_text(encoding="utf-8"))
    payload = example["examples"][0]
    for domain, event_type, version in [
        ("../../contracts", "envelope", 1),
        ("office_space", ["AgencyRegistered"], 1),
        ("office_space", "AgencyRegistered", 1.0),
        ("office_space", "AgencyRegistered", True),
        ("office_space", "AgencyRegistered", 99),
    ]:
        assert _reasons(_enveloped(domain, event_type, version, payload)), (domain, event_type, version)  # type: ignore[arg-type]
    assert len(contracts._WHOLE) == before


_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3),
    max_leaves=6,
)


def _parts_valid(envelope: dict[str, Any]) -> bool:
    """The verdict of the checks one by one: the envelope's validator, then its payload's contract."""
    if not contracts._envelope_validator().is_valid(envelope):
        return False
    try:
        validator = contracts.payload_validator(envelope["domain"], envelope["event_type"], envelope["schema_version"])
    except contracts.ContractViolation:  # no contract for the event named
        return False
    return bool(validator.is_valid(envelope["payload"]))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    schema=st.sampled_from(SCHEMAS),
    where=st.sampled_from(["envelope", "payload"]),
    field=st.integers(min_value=0, max_value=40),
    value=_JSON_VALUES,
)
def test_any_event_is_refused_as_a_whole_exactly_when_a_part_is(
    schema: tuple[str, str, int, Any], where: str, field: int, value: Any
) -> None:
    # one field of a valid event (an envelope's or a payload's, or one it does not have) given any JSON value: the
    # check as a whole refuses it exactly when the checks one by one do (whose reasons it then gives)
    domain, event_type, version, path = schema
    example = json.loads(path.read_text(encoding="utf-8"))["examples"][0]
    event = _enveloped(domain, event_type, version, dict(example))
    target = event if where == "envelope" else event["payload"]
    names = sorted(target)
    target[names[field] if field < len(names) else f"extra_{field}"] = value
    refused = _reasons(event)
    assert (refused is None) == _parts_valid(event), (where, field, value, refused)
