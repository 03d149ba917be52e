"""What a dead letter or a district's rejection keeps of a personal value: nothing in clear. The contract marks
say which fields are personal (``services.common.base.personal.redact_dead_letter``, ``redact_text``); a token
is kept as it is (an erasure reaches it), a clear value is withheld, and so is its text in the reasons."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from services.common.base.contracts import validate_inbound_envelope
from services.common.base.personal import (
    REDACTED_TEXT,
    clear_personal_values,
    redact_dead_letter,
    redact_text,
)
from services.common.kernel.errors import ContractViolation

# a token as KeyStore.encrypt_field writes it (12-byte nonce, ciphertext and 16-byte tag in base64url)
TOKEN_EXAMPLE = "pd:v1:person:P-0001:name:" + base64.urlsafe_b64encode(bytes(range(40))).decode().rstrip("=")
POINTS = [
    ["2026-03-02T09:01:00+08:00", 31.7654321, 119.9876543],
    ["2026-03-02T09:02:00+08:00", 31.7654322, 119.9876543],
]


def _event(event_type: str, payload: dict[str, Any], domain: str = "office_space") -> dict[str, Any]:
    return {"event_id": "e-1", "domain": domain, "event_type": event_type, "schema_version": 1, "payload": payload}


def _staff(name: str) -> dict[str, Any]:
    return {
        "agency_id": "A-1",
        "person_id": "P-0001",
        "name": name,
        "rank": "section_principal",
        "posted_on": "2024-05-01",
    }


def test_a_dead_letter_stored_before_sealing_keeps_no_clear_name_nor_its_text_in_the_reason() -> None:
    value = json.dumps(_event("StaffPosted", _staff("欧阳测试")), ensure_ascii=False).encode()
    kept, detail, fields = redact_dead_letter(value, 'projection_failed: "欧阳测试" is not unique')
    assert fields == ["name"]
    assert "欧阳测试".encode() not in kept and detail == f'projection_failed: "{REDACTED_TEXT}" is not unique'
    data = json.loads(kept)
    assert data["payload"] == _staff(REDACTED_TEXT)  # every other field as it came
    assert {k: v for k, v in data.items() if k != "payload"} == {
        k: v for k, v in json.loads(value).items() if k != "payload"
    }


def test_a_legacy_gps_batch_keeps_no_point_and_no_coordinate_in_the_reason() -> None:
    payload = {"trip_id": "T-1", "vehicle_id": "V-1", "points": POINTS, "count": 2}
    value = json.dumps(_event("GpsPointsRecorded", payload, domain="vehicles")).encode()
    kept, detail, fields = redact_dead_letter(value, "points.1.1: 31.7654322 is not less than 31.7654321")
    assert fields == ["points"] and json.loads(kept)["payload"]["points"] == REDACTED_TEXT
    assert b"31.765432" not in kept and b"119.987654" not in kept
    assert detail == f"points.1.1: {REDACTED_TEXT} is not less than {REDACTED_TEXT}"


def test_a_sealed_event_or_one_without_personal_fields_is_kept_byte_for_byte() -> None:
    sealed = json.dumps(_event("StaffPosted", _staff(TOKEN_EXAMPLE))).encode()
    assert redact_dead_letter(sealed, "why") == (sealed, "why", [])
    agency = json.dumps(_event("AgencyRegistered", {"agency_id": "A-1", "name": "天宁区档案馆"}), ensure_ascii=False)
    assert redact_dead_letter(agency.encode(), "why") == (agency.encode(), "why", [])  # an agency's name: not personal


def test_a_message_that_names_no_known_contract_is_kept_as_it_came() -> None:
    for value in (b"not json", b"[1, 2]", None, json.dumps(_event("NoSuchEvent", _staff("王芳"))).encode()):
        assert redact_dead_letter(value, "malformed") == (value, "malformed", [])
    traversal = _event("StaffPosted", _staff("王芳")) | {"domain": "../office_space"}
    assert clear_personal_values(traversal) == {}  # a domain that is not a name reads no file


def test_a_districts_rejected_message_keeps_the_reasons_without_the_clear_values() -> None:
    name = "测试" + "名" * 100  # 102 characters: longer than the contract's 100
    message = {
        "message_id": "m-1",
        "message_type": "office_space.post_staff",
        "schema_version": 1,
        "district": "320402",
        "sent_at": "2026-11-23T08:00:00+08:00",
        "payload": _staff(name) | {"agency_id": "11320402MB0000002B"},
    }
    with pytest.raises(ContractViolation) as violation:
        validate_inbound_envelope(message)
    fields = violation.value.fields
    assert name in str(fields)  # the validator quotes the value: what the rejected topic would have kept
    assert redact_text({"fields": fields}, clear_personal_values(message)) == {
        "fields": {"payload.name": [f'"{REDACTED_TEXT}" is longer than 100 characters']}
    }
