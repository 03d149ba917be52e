"""Contract evolution: a consumer written against v1 of an event keeps working when v2 is introduced, and
the gate refuses a v2 that would break it.

``AgencyRegistered`` is the live example: v2 added ``parent_agency_id`` (主管部门). Events stored as v1 stay
v1 on the topic; new ones are published as v2.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from services.common.base import contracts
from services.common.kernel.errors import ContractViolation
from services.common.kernel.events import event_from_payload

contracts.load_domains()


def _example(version: int, index: int = 0) -> dict[str, Any]:
    path = contracts.schema_path("office_space", "AgencyRegistered", version)
    return dict(json.loads(path.read_text(encoding="utf-8"))["examples"][index])


class V1AgencyDirectory:
    """A district's consumer written when only ``AgencyRegistered`` v1 existed: it holds the v1 schema and
    reads every envelope of the topic through ``contracts.read_as`` (the tolerant reading the AsyncAPI
    document asks of subscribers)."""

    V1 = Draft202012Validator(
        json.loads(contracts.schema_path("office_space", "AgencyRegistered", 1).read_text(encoding="utf-8"))
    )

    def __init__(self) -> None:
        self.headcount_by_district: dict[str, int] = {}

    def handle(self, envelope: dict[str, Any]) -> None:
        payload = contracts.read_as(
            "office_space", "AgencyRegistered", envelope["schema_version"], envelope["payload"], wanted=1
        )
        assert not list(self.V1.iter_errors(payload)), "the consumer's own v1 schema accepts what it reads"
        district = payload["district"]
        self.headcount_by_district[district] = (
            self.headcount_by_district.get(district, 0) + payload["authorised_headcount"]
        )


def test_agency_registered_has_a_v2_and_the_platform_writes_it() -> None:
    assert contracts.latest_version("office_space", "AgencyRegistered") == 2
    assert (contracts.CONTRACTS_DIR / "events/office_space/AgencyRegistered.v1.json").exists()


def test_a_v1_consumer_reads_stored_v1_and_new_v2_events_alike() -> None:
    consumer = V1AgencyDirectory()
    old = {"schema_version": 1, "payload": _example(1)}
    new = {"schema_version": 2, "payload": _example(2)}
    assert new["payload"]["parent_agency_id"] is not None
    for envelope in (old, new):
        consumer.handle(envelope)
    assert consumer.headcount_by_district == {"320400": 86 + 12}


def test_a_strict_v1_reader_would_refuse_v2_which_is_why_subscribers_read_tolerantly() -> None:
    assert list(V1AgencyDirectory.V1.iter_errors(_example(2)))  # parent_agency_id is unknown to v1


def test_the_platform_upcasts_stored_v1_events_to_v2() -> None:
    event = event_from_payload("office_space", "AgencyRegistered", 1, _example(1))
    assert event.parent_agency_id is None  # type: ignore[attr-defined]
    assert event.name == _example(1)["name"]  # type: ignore[attr-defined]


def test_a_v2_payload_that_does_not_fit_v1_is_refused_by_read_as() -> None:
    broken = {**_example(2), "authorised_headcount": "many"}
    with pytest.raises(ContractViolation):
        contracts.read_as("office_space", "AgencyRegistered", 2, broken, wanted=1)


def test_every_published_version_is_readable_by_the_previous_versions_consumers() -> None:
    assert contracts.version_problems() == []


V1 = contracts.shape(
    {
        "additionalProperties": False,
        "required": ["a", "b"],
        "properties": {"a": {"type": "string"}, "b": {"type": "integer"}},
    }
)


def _v2(required: list[str], properties: dict[str, Any]) -> dict[str, Any]:
    return contracts.shape({"additionalProperties": False, "required": required, "properties": properties})


def test_the_gate_accepts_a_v2_that_adds_a_property() -> None:
    added = {"a": {"type": "string"}, "b": {"type": "integer"}, "c": {"type": ["string", "null"]}}
    assert contracts.unreadable_by_previous(V1, _v2(["a", "b"], added)) == []


@pytest.mark.parametrize(
    ("why", "required", "properties"),
    [
        ("removed", ["a"], {"a": {"type": "string"}}),
        ("renamed", ["a", "bb"], {"a": {"type": "string"}, "bb": {"type": "integer"}}),
        ("retyped", ["a", "b"], {"a": {"type": "string"}, "b": {"type": "string"}}),
        ("no longer required", ["a"], {"a": {"type": "string"}, "b": {"type": "integer"}}),
    ],
)
def test_the_gate_refuses_a_v2_that_breaks_v1_consumers(why: str, required: list[str], properties: Any) -> None:
    assert contracts.unreadable_by_previous(V1, _v2(required, properties)), why


def test_publishing_a_breaking_v2_is_refused(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The lock command (the gate developers run) refuses a new version that breaks the previous one."""
    events = tmp_path / "events" / "office_space"
    events.mkdir(parents=True)
    v1 = json.loads(contracts.schema_path("office_space", "AgencyRegistered", 1).read_text(encoding="utf-8"))
    v2 = {**v1, "properties": {k: v for k, v in v1["properties"].items() if k != "authorised_headcount"}}
    v2["required"] = [r for r in v1["required"] if r != "authorised_headcount"]
    (events / "AgencyRegistered.v1.json").write_text(json.dumps(v1), encoding="utf-8")
    (events / "AgencyRegistered.v2.json").write_text(json.dumps(v2), encoding="utf-8")
    monkeypatch.setattr(contracts, "CONTRACTS_DIR", tmp_path)
    monkeypatch.setattr(contracts, "LOCK_FILE", tmp_path / "published.lock.json")
    with pytest.raises(ValueError, match="authorised_headcount"):
        contracts.update_lock()
    assert not (tmp_path / "published.lock.json").exists()
