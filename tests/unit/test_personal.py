"""The parts of the personal-data kernel that need no key store: the master key setting, subjects, the token
grammar and the erased marker."""

from __future__ import annotations

import base64

import pytest

from services.common.base.personal import (
    ERASED,
    ERASED_TEXT,
    MASKED_TEXT,
    InvalidPersonalToken,
    PersonalMark,
    Subject,
    is_token,
    master_key,
    master_key_id,
    parse_token,
    personal_in_request,
    request_marks,
    seal_request,
)
from services.common.base.settings import DEV_PERSONAL_DATA_MASTER_KEY, load_settings

# a token as KeyStore.encrypt_field writes it: 12-byte nonce and 16-byte tag (and a ciphertext) in base64url
TOKEN = "pd:v1:person:P-0001:name:" + base64.urlsafe_b64encode(bytes(range(40))).decode().rstrip("=")


def test_the_master_key_comes_from_the_environment_with_a_development_default() -> None:
    assert load_settings({}).personal_data_master_key == DEV_PERSONAL_DATA_MASTER_KEY
    assert master_key(DEV_PERSONAL_DATA_MASTER_KEY) == b"development only, not a secret!!"
    mine = base64.b64encode(bytes(range(32))).decode()
    assert master_key(load_settings({"PERSONAL_DATA_MASTER_KEY": mine}).personal_data_master_key) == bytes(range(32))


@pytest.mark.parametrize(
    ("setting", "error"),
    [("c2hvcnQ=", "must be 32 bytes, not 5"), ("not base64!", "is not base64"), ("", "must be 32 bytes, not 0")],
)
def test_a_master_key_that_is_not_32_base64_bytes_is_refused(setting: str, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        master_key(setting)


def test_a_master_key_id_names_the_key_without_revealing_it() -> None:
    key = bytes(range(32))
    assert master_key_id(key) == master_key_id(bytes(range(32))) != master_key_id(bytes(range(1, 33)))
    assert len(master_key_id(key)) == 16 and key.hex()[:16] not in master_key_id(key)


@pytest.mark.parametrize(("kind", "subject_id"), [("citizen", "C1"), ("person", ""), ("person", "P" * 201)])
def test_a_subject_has_a_known_kind_and_an_id_of_1_to_200_characters(kind: str, subject_id: str) -> None:
    with pytest.raises(ValueError):
        Subject(kind, subject_id)


def test_a_token_names_its_subject_and_field() -> None:
    parsed = parse_token(TOKEN)
    assert (parsed.subject, parsed.field) == (Subject("person", "P-0001"), "name")
    assert parsed.sealed == bytes(range(40))
    assert parsed.prefix == "pd:v1:person:P-0001:name:"
    assert parse_token("pd:v1:driver:%E7%8E%8B%3A1:driver:" + TOKEN.rsplit(":", 1)[1]).subject == Subject(
        "driver", "王:1"
    )
    assert is_token(TOKEN) and not is_token("张伟") and not is_token(None)


@pytest.mark.parametrize(
    "token",
    [
        "张伟",
        TOKEN.replace("pd:v1:", "pd:v2:"),
        TOKEN.replace(":person:", ":citizen:"),
        TOKEN.replace(":name:", ":Name:"),
        TOKEN[:-30],
        TOKEN + "==",
        "pd:v1:person:%ZZ:name:" + TOKEN.rsplit(":", 1)[1],
    ],
)
def test_a_malformed_token_is_refused_with_a_clear_error(token: str) -> None:
    with pytest.raises(InvalidPersonalToken) as refused:
        parse_token(token)
    assert refused.value.to_body()["error"] == "invalid_personal_token"


def test_erased_reads_as_已删除_and_is_defined_once() -> None:
    assert ERASED_TEXT == "已删除" and str(ERASED) == "已删除" and f"{ERASED}" == "已删除"


def test_the_personal_fields_of_requests_are_the_contracts_marks_that_name_their_subject() -> None:
    assert request_marks("office_space") == {"name": PersonalMark("person", "person_id")}
    assert request_marks("vehicles") == {
        "driver": PersonalMark("driver", "driver_id"),  # TripDispatched.v2 (v1's mark names no subject field)
        "points": PersonalMark("track", "trip_id"),
    }
    assert [request_marks(d) for d in ("assets", "energy", "procurement")] == [{}, {}, {}]


def test_a_request_field_is_personal_only_beside_its_subject_field() -> None:
    assert personal_in_request("office_space", {"person_id": "P-1", "name": "上官婉儿"}) == {
        "name": PersonalMark("person", "person_id")
    }
    assert personal_in_request("office_space", {"agency_id": "A-1", "name": "区财政局"}) == {}  # an agency's name
    assert personal_in_request("office_space", {"person_id": "P-1", "name": None}) == {}


def test_a_request_copy_is_redacted_without_a_key_store_and_a_token_is_kept_as_it_is() -> None:
    assert seal_request(None, "office_space", {"person_id": "P-1", "name": "上官婉儿"}) == {
        "person_id": "P-1",
        "name": MASKED_TEXT,
    }
    assert seal_request(None, "office_space", {"person_id": "P-1", "name": TOKEN})["name"] == TOKEN
    assert seal_request(None, "office_space", ["not", "an", "object"]) == ["not", "an", "object"]
