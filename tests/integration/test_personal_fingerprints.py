"""The fingerprint an idempotency key is bound to is kept for ever, by the owning service (``command_log``) and by the
gateway (``idempotency_keys``), beside the event's clear fields. A plain SHA-256 of a command naming a person would
give the name back to anyone trying a list of names; the personal values enter it as keyed digests under their
subjects' keys instead (``personal.digest_request``), so no list finds them and an erasure ends them too. On real
SQLite stores and a real key store."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from services.common.base.db import create_db_engine
from services.common.base.personal import MASKED_TEXT, KeyStore, Subject, digest_request
from services.common.kernel.decoding import scrub_text
from services.common.runtime.rpc import command_fingerprint
from services.common.write.store import EventStore
from services.gateway import keys as bindings
from services.gateway.views import prepare_database
from tests.support import database_text

NAME = "欧阳娜娜"
STAFF = {"agency_id": "A1", "person_id": "P-0042", "name": NAME, "rank": "section_principal", "posted_on": "2026-03-01"}
CANDIDATES = ["张伟", "王芳", NAME, "李娜"]  # what an attacker tries: a list of common names, the right one among them


def _plain_fingerprint(service: str, command: str, payload: object) -> str:
    """The fingerprint as it was taken before: SHA-256 of the canonical JSON, no key (what a dictionary attack
    recomputes from the event's clear fields and a list of names)."""
    text = json.dumps([service, command, payload], sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(scrub_text(text).encode()).hexdigest()


def test_a_fingerprint_recognises_a_repeat_and_no_list_of_names_finds_the_name(keys: KeyStore) -> None:
    taken = command_fingerprint("office_space", "post_staff", STAFF, lambda: keys)
    assert taken == command_fingerprint("office_space", "post_staff", dict(reversed(STAFF.items())), lambda: keys)
    assert taken != command_fingerprint("office_space", "post_staff", {**STAFF, "name": "欧阳菲菲"}, lambda: keys)
    tried = {_plain_fingerprint("office_space", "post_staff", {**STAFF, "name": name}) for name in CANDIDATES}
    assert taken not in tried
    # the digest in place of the name tells nothing of it, and is bound to the person's key
    digested = digest_request(lambda: keys, "office_space", STAFF)
    assert digested["name"].startswith("pd-digest:v1:") and NAME not in json.dumps(digested, ensure_ascii=False)
    assert {k: v for k, v in digested.items() if k != "name"} == {k: v for k, v in STAFF.items() if k != "name"}


def test_an_erased_subject_is_matched_no_more(keys: KeyStore) -> None:
    before = command_fingerprint("vehicles", "dispatch_trip", {"driver_id": "D-7", "driver": "司马光明"}, lambda: keys)
    keys.erase(Subject("driver", "D-7"))
    after = command_fingerprint("vehicles", "dispatch_trip", {"driver_id": "D-7", "driver": "司马光明"}, lambda: keys)
    assert before != after


def test_without_a_key_store_a_personal_value_is_left_out_of_the_fingerprint() -> None:
    assert digest_request(None, "office_space", STAFF) == {**STAFF, "name": MASKED_TEXT}


def test_neither_the_services_command_log_nor_the_gateways_bindings_keep_a_findable_name(
    tmp_path: Path, keys: KeyStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = EventStore.open(f"sqlite:///{tmp_path / 'office_space.db'}", "office_space")
    store.personal = lambda: keys
    taken = command_fingerprint("office_space", "post_staff", STAFF, store.personal)
    store.record_refusal("http:tok1:k1", taken, {"code": "rule_violation", "http_status": 409, "message": "no"})
    gateway = create_db_engine(f"sqlite:///{tmp_path / 'gateway.db'}")
    prepare_database(gateway)
    monkeypatch.setattr(bindings, "platform_key_store", lambda: keys)
    bindings.bind(gateway, "http:tok1:k1", "office_space", "post_staff", STAFF)
    bindings.bind(gateway, "http:tok1:k1", "office_space", "post_staff", STAFF)  # a repeat: the same fingerprint
    kept = database_text(store.engine) + database_text(gateway)
    assert taken in kept  # both kept it: the store with the refusal, the gateway with the key
    assert NAME not in kept
    for name in CANDIDATES:
        assert _plain_fingerprint("office_space", "post_staff", {**STAFF, "name": name}) not in kept
