"""The contracts registry: JSON Schemas (2020-12) for the envelope and every event type and version.

Producers validate a payload before it is appended (``validate_payload``: a violation is refused with
``ContractViolation`` naming the fields); consumers validate the whole envelope and payload of what they
read (``validate_envelope``) and dead-letter what fails. Files live in ``contracts/``:

- ``contracts/envelope.v1.json``
- ``contracts/events/<domain>/<EventType>.v<N>.json``
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema_rs

from services.common.kernel.errors import MAX_FIELD_REASONS, ContractViolation
from services.common.kernel.events import load_registrations_with

CONTRACTS_DIR = Path(__file__).resolve().parents[3] / "contracts"
_FILE = re.compile(r"^(?P<type>[A-Z][A-Za-z0-9]+)\.v(?P<version>\d+)\.json$")


def schema_path(domain: str, event_type: str, version: int) -> Path:
    """Where the schema of ``event_type`` version ``version`` of ``domain`` lives."""
    return CONTRACTS_DIR / "events" / domain / f"{event_type}.v{version}.json"


def available_schemas() -> list[tuple[str, str, int, Path]]:
    """Every (domain, event_type, version, path) under ``contracts/events``."""
    found = []
    for path in sorted((CONTRACTS_DIR / "events").glob("*/*.json")):
        match = _FILE.match(path.name)
        if match:
            found.append((path.parent.name, match["type"], int(match["version"]), path))
    return found


@cache
def latest_version(domain: str, event_type: str) -> int:
    """The highest schema version of ``event_type`` in ``contracts/`` (0 when it has none)."""
    versions = [v for d, t, v, _ in available_schemas() if d == domain and t == event_type]
    return max(versions, default=0)


@cache
def _validator(path: Path) -> jsonschema_rs.Draft202012Validator:
    # Instances are validated by jsonschema-rs, about 150 times faster than the pure-Python jsonschema, because
    # every stored and consumed event goes through here; it refuses a schema that breaks the 2020-12 meta-schema
    # as it compiles it. The stricter check of every contract against the meta-schema (jsonschema's, which also
    # refuses an invalid regular expression) is the contract tests' (tests/contract/test_contracts.py): the
    # contracts ship with the code, and a service need not hold the pure-Python library (3.75 MB) to re-check them.
    schema = json.loads(path.read_text(encoding="utf-8"))
    return jsonschema_rs.Draft202012Validator(schema, validate_formats=True)


@cache
def payload_validator(domain: str, event_type: str, version: int) -> jsonschema_rs.Draft202012Validator:
    """The compiled validator for one event type and version; ContractViolation if there is none."""
    path = schema_path(domain, event_type, version)
    if not path.exists():
        raise ContractViolation(
            f"no contract for {domain}.{event_type} v{version}",
            details={"expected_schema": str(path.relative_to(CONTRACTS_DIR.parent))},
        )
    return _validator(path)


def _violation(
    message: str, validator: jsonschema_rs.Draft202012Validator, instance: Any, prefix: str = ""
) -> ContractViolation:
    """The refusal of ``instance``: its first ``MAX_FIELD_REASONS`` errors by where they are (``prefix`` before
    the path), the rest counted (``details.fields_omitted``); the error cuts each reason to ``MAX_REASON_CHARACTERS``
    (an error quoting a list of a hundred thousand items quotes it whole)."""
    errors = iter(validator.iter_errors(instance))
    fields: dict[str, list[str]] = {}
    for error in itertools.islice(errors, MAX_FIELD_REASONS):
        where = prefix + (".".join(str(p) for p in error.instance_path) or "_schema")
        fields.setdefault(where, []).append(error.message)  # each cut to its length by ContractViolation
    omitted = sum(1 for _ in errors)
    return ContractViolation(message, fields=fields, details={"fields_omitted": omitted} if omitted else None)


def validate_payload(domain: str, event_type: str, version: int, payload: Mapping[str, Any]) -> None:
    """Refuse a payload that does not match its contract."""
    validator = payload_validator(domain, event_type, version)
    if not validator.is_valid(payload):
        raise _violation(f"{domain}.{event_type} v{version} violates its contract", validator, payload)


ENVELOPE_SCHEMA = CONTRACTS_DIR / "envelope.v1.json"


@cache
def _envelope_validator() -> jsonschema_rs.Draft202012Validator:
    return _validator(ENVELOPE_SCHEMA)  # found once: every consumed event is checked


@cache
def _contract_paths() -> dict[tuple[str, str, int], Path]:
    """The schema file of each (domain, event type, version) in ``contracts/events``."""
    return {(domain, event_type, version): path for domain, event_type, version, path in available_schemas()}


_WHOLE: dict[tuple[str, str, int], jsonschema_rs.Draft202012Validator] = {}
"""The validators ``_whole_validator`` made, by (domain, event type, version)."""


def _whole_validator(domain: str, event_type: str, version: int) -> jsonschema_rs.Draft202012Validator | None:
    """One validator of an envelope together with its payload, for one event type and version: the envelope's
    schema with the payload's schema in place of its ``payload`` property (an embedded resource of its own
    ``$id``). Checking an event once rather than twice converts its payload from Python once (a projector
    checks every event it reads: some 7 % less of the checking's cost, measured with callgrind).

    None when no contract on file has these names, so a hostile name (read from a message) makes no validator;
    also for a version that is no integer (``1.0`` or ``true`` would find version 1's, which takes it for the
    integer 1). TypeError for a name that is no key at all (a list)."""
    if type(version) is not int:
        return None
    key = (domain, event_type, version)
    validator = _WHOLE.get(key)
    if validator is None and key in _contract_paths():
        whole = json.loads(ENVELOPE_SCHEMA.read_text(encoding="utf-8"))
        whole.pop("examples", None)
        whole["properties"]["payload"] = json.loads(_contract_paths()[key].read_text(encoding="utf-8"))
        validator = _WHOLE[key] = jsonschema_rs.Draft202012Validator(whole, validate_formats=True)
    return validator


def validate_envelope(envelope: Mapping[str, Any]) -> None:
    """Refuse an envelope (and its payload) that does not match the contracts.

    A valid event is checked once, envelope and payload together (``_whole_validator``); any other, or one this
    cannot tell (a name missing, unknown or no key at all), is checked again envelope first, then payload, so that
    the reasons are those of the part that failed."""
    try:
        whole = _whole_validator(envelope["domain"], envelope["event_type"], envelope["schema_version"])
    except (KeyError, TypeError):  # the checks one by one say which
        whole = None
    if whole is not None and whole.is_valid(envelope):
        return
    validator = _envelope_validator()
    if not validator.is_valid(envelope):
        raise _violation("envelope violates its contract", validator, envelope)
    validate_payload(envelope["domain"], envelope["event_type"], envelope["schema_version"], envelope["payload"])
    # valid part by part but not as a whole (so a contract is on file: ``whole`` was made): the two must agree (a
    # test holds them to it); refuse all the same
    raise _violation("envelope violates its contract", whole or validator, envelope)


def inbound_schema_path(message_type: str, version: int) -> Path:
    """Where the payload schema of a district inbound message type lives."""
    return CONTRACTS_DIR / "inbound" / f"{message_type}.v{version}.json"


def latest_inbound_version(message_type: str) -> int:
    """The newest contract version of an inbound message type (what a sender should write)."""
    versions = [
        int(p.name.rsplit(".v", 1)[1].split(".")[0]) for p in CONTRACTS_DIR.glob(f"inbound/{message_type}.v*.json")
    ]
    if not versions:
        raise LookupError(f"no contract for inbound message type {message_type}")
    return max(versions)


def validate_inbound_envelope(message: Mapping[str, Any]) -> None:
    """Refuse a district message whose envelope or payload does not match the contracts."""
    validator = _validator(CONTRACTS_DIR / "inbound" / "message.v1.json")
    if not validator.is_valid(message):
        raise _violation("the message does not match contracts/inbound/message.v1.json", validator, message)
    path = inbound_schema_path(message["message_type"], message["schema_version"])
    if not path.exists():
        raise ContractViolation(
            f"unknown message type {message['message_type']} v{message['schema_version']}",
            fields={"message_type": ["unknown message type or version"]},
        )
    payload_validator = _validator(path)
    payload = message["payload"]
    if not payload_validator.is_valid(payload):
        refused = f"the payload does not match {path.name}"
        for key, (most, items) in _lists(path).items():
            given = payload.get(key) if isinstance(payload, dict) else None
            if not isinstance(given, list):
                continue
            if most is not None and len(given) > most:  # one reason, not one per item: a list far too long
                raise ContractViolation(
                    refused, fields={f"payload.{key}": [f"at most {most} items, {len(given)} given"]}
                )
            if len(given) > MAX_FIELD_REASONS:
                _refuse_wrong_items(refused, items, given, f"payload.{key}.")
        raise _violation(refused, payload_validator, payload, "payload.")


@cache
def _lists(path: Path) -> dict[str, tuple[int | None, jsonschema_rs.Draft202012Validator]]:
    """The payload's lists, each with its ``maxItems`` (None: unbounded) and a validator of one item.

    The contract's library finds every error of a document before it gives the first, each quoting what it
    refuses: a message of 400,000 wrong meters in its 4 MiB (1.2 million errors) cost the gateway 25 s of CPU,
    100,000 wrong GPS points 5 s. A list longer than its bound is refused for that alone, and a long list's items
    are judged one by one, the reasons of the first wrong ones listed."""
    properties = json.loads(path.read_text(encoding="utf-8")).get("properties", {})
    return {
        key: (p.get("maxItems"), jsonschema_rs.Draft202012Validator(p.get("items", {}), validate_formats=True))
        for key, p in properties.items()
        if isinstance(p, dict) and p.get("type") == "array"
    }


def _refuse_wrong_items(refused: str, items: jsonschema_rs.Draft202012Validator, given: list[Any], prefix: str) -> None:
    """Raise ContractViolation for ``given``'s wrong items, if any: the first ones' reasons (``prefix`` and the
    item's index before each path), and how many items were wrong in all (``details.items_refused``)."""
    wrong = [index for index, item in enumerate(given) if not items.is_valid(item)]
    if not wrong:
        return
    fields: dict[str, list[str]] = {}
    reasons = (
        (f"{prefix}{index}" + "".join(f".{p}" for p in error.instance_path), error.message)
        for index in wrong
        for error in items.iter_errors(given[index])
    )
    for where, reason in itertools.islice(reasons, MAX_FIELD_REASONS):
        fields.setdefault(where, []).append(reason)
    raise ContractViolation(refused, fields=fields, details={"items_refused": len(wrong)})


# -- compatibility gate ------------------------------------------------------------------------------

LOCK_FILE = CONTRACTS_DIR / "published.lock.json"
"""The shape of every published event version; a published version may never change incompatibly."""


def shape(schema: Mapping[str, Any]) -> dict[str, Any]:
    """What consumers rely on in a payload schema: each property's type constraints and what is required."""
    keys = ("type", "enum", "const", "format", "items", "properties", "required", "$ref")
    properties = schema.get("properties", {})
    return {
        "closed": schema.get("additionalProperties") is False,
        "required": sorted(schema.get("required", [])),
        "properties": {name: {k: v for k, v in spec.items() if k in keys} for name, spec in sorted(properties.items())},
    }


def breaking_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """How ``new`` (a shape) breaks consumers or stored events of ``old``: [] when it is compatible.

    Breaking: a property removed or renamed, its type constraints changed, a new required property
    (events stored before it lack it), or any new property of a closed schema (``additionalProperties:
    false``: consumers holding the old schema would refuse it). Adding an optional property to an open
    schema is compatible.
    """
    problems = []
    if old.get("closed"):
        problems += [
            f"property {n!r} added to a closed schema" for n in set(new["properties"]) - set(old["properties"])
        ]
    for name, spec in old["properties"].items():
        if name not in new["properties"]:
            problems.append(f"property {name!r} removed or renamed")
        elif new["properties"][name] != spec:
            problems.append(f"property {name!r} changed type: {spec} -> {new['properties'][name]}")
    for name in set(new["required"]) - set(old["required"]):
        problems.append(f"property {name!r} became required")
    return problems


def unreadable_by_previous(previous: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """How version N+1 (``new``, a shape) would break a consumer written against version N: [] when it
    cannot.

    The promise to subscribers of ``<domain>.events``: a version N+1 payload, less the properties version N
    does not name, is a valid version N payload (``read_as``). So N+1 keeps every property of N with the
    same type constraints, and what N requires stays required; it may add properties. A change that
    cannot keep this promise is a new event type, not a new version.
    """
    problems = []
    for name, spec in previous["properties"].items():
        if name not in new["properties"]:
            problems.append(f"property {name!r} of the previous version removed or renamed")
        elif new["properties"][name] != spec:
            problems.append(f"property {name!r} changed type: {spec} -> {new['properties'][name]}")
    for name in set(previous["required"]) - set(new["required"]):
        problems.append(f"property {name!r} is required by the previous version and optional now")
    return problems


def version_problems() -> list[str]:
    """Every pair of consecutive versions of an event type that breaks the previous version's consumers."""
    problems = []
    for domain, event_type, version, path in available_schemas():
        previous = schema_path(domain, event_type, version - 1)
        if version > 1 and previous.exists():
            old, new = (shape(json.loads(p.read_text(encoding="utf-8"))) for p in (previous, path))
            key = lock_key(domain, event_type, version)
            problems += [f"{key}: {problem}" for problem in unreadable_by_previous(old, new)]
    return problems


def read_as(domain: str, event_type: str, version: int, payload: Mapping[str, Any], wanted: int) -> dict[str, Any]:
    """A payload of ``version`` as a consumer written against ``wanted`` (an older version) reads it: the
    properties that version does not know are dropped, and the result is checked against its contract
    (``ContractViolation`` when it does not fit)."""
    if wanted > version:
        raise ValueError(f"{event_type} v{version} cannot be read as the newer v{wanted}; upcast it instead")
    known = json.loads(schema_path(domain, event_type, wanted).read_text(encoding="utf-8"))["properties"]
    older = {name: value for name, value in payload.items() if name in known}
    validate_payload(domain, event_type, wanted, older)
    return older


def read_lock() -> dict[str, Any]:
    """The published shapes, keyed ``<domain>/<EventType>.v<N>``."""
    return dict(json.loads(LOCK_FILE.read_text(encoding="utf-8"))) if LOCK_FILE.exists() else {}


def lock_key(domain: str, event_type: str, version: int) -> str:
    """The lock-file key of one event version."""
    return f"{domain}/{event_type}.v{version}"


def update_lock() -> list[str]:
    """Add new schemas to the lock; refuse (ValueError) when a published one changed incompatibly or a new
    version would break the consumers of the previous one."""
    lock = read_lock()
    added, problems = [], version_problems()
    for domain, event_type, version, path in available_schemas():
        key = lock_key(domain, event_type, version)
        current = shape(json.loads(path.read_text(encoding="utf-8")))
        if key not in lock:
            lock[key] = current
            added.append(key)
        else:
            problems += [f"{key}: {p}" for p in breaking_changes(lock[key], current)]
            lock[key] = current if not breaking_changes(lock[key], current) else lock[key]
    if problems:
        raise ValueError(
            "contracts changed incompatibly (a published version changed: add a new version and an upcaster; a new "
            "version breaks the previous one's consumers: make it a new event type):\n" + "\n".join(problems)
        )
    LOCK_FILE.write_text(json.dumps(lock, ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return added


def load_domains(services: Iterable[str] | None = None) -> None:
    """Import every module of the services' domains (all services by default) so their event classes and
    upcasters are registered: a domain package re-exports nothing, so importing it alone registers nothing."""
    import importlib
    import importlib.util
    import pkgutil

    from services.common.base.settings import SERVICES

    for service in SERVICES if services is None else services:
        if importlib.util.find_spec(f"services.{service}.domain") is None:
            continue
        package = importlib.import_module(f"services.{service}.domain")
        for module in pkgutil.walk_packages(getattr(package, "__path__", []), f"{package.__name__}."):
            importlib.import_module(module.name)


load_registrations_with(load_domains)


if __name__ == "__main__":
    # python -m services.common.base.contracts lock: publish new schemas into contracts/published.lock.json
    for entry in update_lock():
        print("locked", entry)
