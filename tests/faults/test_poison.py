"""Poison messages on a topic under load: each lands in the dead-letter topic, with its reason, once per
projector that read it, and the projectors go on applying the real events after it."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from services.common.read.broker import make_producer
from services.common.runtime.dlq import read_dead_letters
from tests.faults.conftest import StartPlatform
from tests.faults.harness import DLQ, TOPIC, FaultPlatform, Load, check_invariants, seed_world, store_events

pytestmark = [pytest.mark.faults, pytest.mark.broker, pytest.mark.slow]

PROJECTORS = ("datacenter", "office_space-views")
"""The projectors of the office-space topic in this platform (the gateway's and the service's own)."""


def _poison(platform: FaultPlatform) -> list[tuple[str, bytes | None]]:
    """(reason the projector must give, message value) for every kind of message it cannot apply."""
    registered = next(e for e in store_events(platform) if e.event_type == "AgencyRegistered")
    real = registered.to_dict()

    def forged(**changes: Any) -> bytes:
        event = {**real, "event_id": str(uuid.uuid4()), **changes}
        return json.dumps(event, ensure_ascii=False).encode()

    return [
        ("malformed_json", b"{not json"),
        ("malformed_json", b"\xff\xfe\xfa garbage"),
        ("malformed_json", None),  # a tombstone
        ("malformed_envelope", b"[1, 2, 3]"),
        ("malformed_envelope", b'"an envelope"'),
        ("contract_violation", b"{}"),
        ("contract_violation", forged(payload={**real["payload"], "authorised_headcount": "many"})),
        ("contract_violation", forged(event_type="AgencyExploded")),
        ("contract_violation", forged(schema_version=99)),
        ("contract_violation", forged(stream_version=0)),
        # valid by contract, but the agency is registered already: the projections refuse a second row
        ("projection_failed", forged()),
    ]


def test_poison_messages_are_dead_lettered_and_never_stop_the_projectors(start_platform: StartPlatform) -> None:
    platform = start_platform()
    token = platform.token()
    seed = seed_world(platform, token)
    producer = make_producer(platform.bootstrap)
    with Load(platform, token, seed) as load:
        load.wait_for(20)
        expected: dict[str, str] = {}
        for reason, value in _poison(platform):
            sent = producer.send(TOPIC, key=b"poison", value=value).get(timeout=30)
            expected[f"{TOPIC}:{sent.partition}:{sent.offset}"] = reason
        load.wait_for(load.accepted_count() + 40)  # commands after the poison, projected below
    report = check_invariants(platform, seed.outcomes + load.outcomes, lambda letter: letter.source in expected)

    letters = {(letter.source, letter.projector): letter for letter in read_dead_letters(platform.bootstrap, DLQ)}
    for source, reason in expected.items():
        for projector in PROJECTORS:
            letter = letters.get((source, projector))
            assert letter is not None, f"{projector} did not dead-letter {source} ({reason})"
            assert (letter.reason, bool(letter.detail)) == (reason, True), letter.describe()
    assert len(report.dead_letters) == len(expected) * len(PROJECTORS)  # each once per projector
    # /projections counts the data center's own: 11 poison messages, by reason 3 + 2 + 5 + 1 (as _poison lists them)
    status, body, _ = platform.request("GET", "/api/v1/projections", token=token)
    assert status == 200
    assert body["projectors"][0]["dead_lettered"] == {
        TOPIC: {"malformed_json": 3, "malformed_envelope": 2, "contract_violation": 5, "projection_failed": 1}
    }
    print(report)
