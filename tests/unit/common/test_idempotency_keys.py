"""An idempotency key means one command (docs/hostile-input.md): the same key with the same command and body answers
what was recorded (a success, or a refusal, replayed like a success); with anything else it is refused
(422 ``idempotency_key_reused``) and nothing runs. On a real SQLite event store."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.common.kernel.errors import (
    AlreadyExists,
    DuplicateCommand,
    IdempotencyKeyReused,
    NotFound,
    RuleViolation,
    ValidationFailed,
    VersionConflict,
)
from services.common.kernel.events import Metadata
from services.common.read.agencies import UnknownAgency
from services.common.runtime.rpc import ServiceError, _recorded_as_refusal, command_fingerprint, replayed
from services.common.write.store import EventStore, Idempotency
from services.vehicles.domain.vehicles import VehicleDoubleBooked
from tests.support import Counter

BODY = {"agency_id": "A1", "name": "天宁区教育局"}


def _store(tmp_path: Path) -> EventStore:
    """A real store (the toy ``Counter``'s events have no contract: not validated here)."""
    opened = EventStore.open(f"sqlite:///{tmp_path / 'office_space.db'}", "office_space")
    return EventStore(opened.engine, "office_space", validate=False)


def test_a_fingerprint_binds_the_service_the_command_and_the_body() -> None:
    same = command_fingerprint("office_space", "register_agency", BODY)
    assert same == command_fingerprint("office_space", "register_agency", dict(reversed(BODY.items())))
    others = {
        command_fingerprint("office_space", "register_agency", {**BODY, "name": "other"}),
        command_fingerprint("office_space", "rename_agency", BODY),
        command_fingerprint("vehicles", "register_agency", BODY),
        command_fingerprint("office_space", "register_agency", None),
    }
    assert same not in others and len(others) == 4


def test_a_key_replays_its_answer_for_the_same_command_and_refuses_any_other(tmp_path: Path) -> None:
    store = _store(tmp_path)
    fingerprint = command_fingerprint("office_space", "register_agency", BODY)
    counter = Counter.open("c-1")
    answer = {"id": "c-1", "version": 1}
    store.save_all(
        [counter], Metadata(idempotency_key="http:tok1:k1"), Idempotency("http:tok1:k1", "x", answer, fingerprint)
    )
    recorded = replayed(store, "http:tok1:k1", fingerprint)
    assert recorded is not None and (recorded["id"], recorded["version"], len(recorded["event_ids"])) == ("c-1", 1, 1)
    assert replayed(store, "http:tok1:unused", fingerprint) is None
    other = command_fingerprint("office_space", "register_agency", {**BODY, "name": "other"})
    with pytest.raises(IdempotencyKeyReused) as reused:
        replayed(store, "http:tok1:k1", other)
    assert (reused.value.http_status, reused.value.code) == (422, "idempotency_key_reused")


def test_a_refusal_is_recorded_and_answered_again_to_its_key(tmp_path: Path) -> None:
    store = _store(tmp_path)
    fingerprint = command_fingerprint("office_space", "move_staff", BODY)
    refusal = ServiceError.from_error(RuleViolation("the room is full", fields={"room_id": ["full"]}))
    store.record_refusal("district:320402:m-9", fingerprint, refusal.document())
    store.record_refusal("district:320402:m-9", fingerprint, {"code": "later", "http_status": 422})  # kept as first
    with pytest.raises(ServiceError) as again:
        replayed(store, "district:320402:m-9", fingerprint)
    assert (again.value.code, again.value.http_status, again.value.fields) == (
        "rule_violation",
        422,
        {"room_id": ["full"]},
    )
    assert store.recorded_answer("district:320402:m-9") is None  # a refusal is no stored command's answer
    with pytest.raises(IdempotencyKeyReused):
        replayed(store, "district:320402:m-9", command_fingerprint("office_space", "move_staff", {}))


def test_only_final_client_errors_are_recorded_as_refusals() -> None:
    assert _recorded_as_refusal(RuleViolation("no")) and _recorded_as_refusal(NotFound("no"))
    assert _recorded_as_refusal(ValidationFailed("no"))
    # a domain rule's conflict (409) stands for its key too, though it may go away (the other trip cancelled)
    assert _recorded_as_refusal(VehicleDoubleBooked("held for T-1")) and _recorded_as_refusal(AlreadyExists("R-1"))
    # a concurrent attempt of the same key, or a later one, may succeed after these
    assert not _recorded_as_refusal(VersionConflict("moved on"))
    assert not _recorded_as_refusal(DuplicateCommand("the same key's other attempt was stored"))
    assert not _recorded_as_refusal(IdempotencyKeyReused("reused"))
    assert not _recorded_as_refusal(UnknownAgency("agency A9 is not registered"))  # a lagging view, not final
