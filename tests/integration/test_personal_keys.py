"""Crypto-shredding of personal fields on a real key store (SQLite and PostgreSQL): a value goes into a token
and comes back, a token moved to another subject or field or altered is refused cleanly, and erasing a
subject makes every token of theirs read as 已删除."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from services.common.base.db import create_db_engine, migrate
from services.common.base.personal import (
    ERASED,
    InvalidPersonalToken,
    KeyStore,
    MissingKey,
    Subject,
    SubjectErased,
    _insert_if_absent,
    erasures_table,
    subject_keys_table,
)
from services.common.base.settings import load_settings
from tests.integration.conftest import MASTER
from tests.support import eventually

NEW_MASTER = bytes(range(100, 132))
ZHANG = Subject("person", "P-0001")
LI = Subject("person", "P-0002")
TRACK = [["2026-03-07T09:05:00+08:00", 31.8112, 119.9741], ["2026-03-07T09:06:00+08:00", 31.8123, 119.9760]]


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    made = create_db_engine(db_url)
    migrate(made, "personal_keys")
    yield made
    made.dispose()


@pytest.fixture
def keys(engine: Engine) -> KeyStore:
    return KeyStore(engine, [MASTER])


def _rows(engine: Engine) -> list[Any]:
    t = subject_keys_table
    with engine.connect() as conn:
        return list(conn.execute(sa.select(t).order_by(t.c.subject_kind, t.c.subject_id)).all())


def test_a_name_and_a_track_go_into_tokens_and_come_back(keys: KeyStore, engine: Engine) -> None:
    name = keys.encrypt_field(ZHANG, "name", "张伟")
    track = keys.encrypt_field(Subject("track", "T1"), "points", TRACK)
    assert name.startswith("pd:v1:person:P-0001:name:") and "张伟" not in name
    assert track.startswith("pd:v1:track:T1:points:") and "31.81" not in track
    assert keys.decrypt_field(name) == "张伟"
    assert keys.decrypt_field(track, field="points") == TRACK
    # a fresh nonce each time: the same name twice gives two tokens (a topic does not show who recurs)
    assert keys.encrypt_field(ZHANG, "name", "张伟") != name
    # one key per subject, stored wrapped under the master key, with no clear key in the row
    rows = _rows(engine)
    assert [(r.subject_kind, r.subject_id, r.erased_at) for r in rows] == [
        ("person", "P-0001", None),
        ("track", "T1", None),
    ]
    assert all(len(r.wrapped_key) == 12 + 32 + 16 for r in rows)  # nonce, key, tag


def test_a_subject_id_with_colons_and_chinese_survives_the_token(keys: KeyStore) -> None:
    odd = Subject("driver", "常州:王/01")
    token = keys.encrypt_field(odd, "driver", "王")
    assert token.count(":") == 5
    assert keys.decrypt_field(token) == "王"


def test_a_token_moved_to_another_subject_or_field_does_not_decrypt(keys: KeyStore) -> None:
    zhang = keys.encrypt_field(ZHANG, "name", "张伟")
    keys.encrypt_field(LI, "name", "李娜")  # LI has a key of their own
    data = zhang.rsplit(":", 1)[1]
    with pytest.raises(InvalidPersonalToken) as moved:
        keys.decrypt_field(f"pd:v1:person:P-0002:name:{data}")
    assert moved.value.code == "invalid_personal_token"
    assert "fails authentication" in str(moved.value)
    with pytest.raises(InvalidPersonalToken):
        keys.decrypt_field(f"pd:v1:person:P-0001:driver:{data}")  # same subject, another field
    with pytest.raises(InvalidPersonalToken, match="a token of the field 'name' found in 'driver'"):
        keys.decrypt_field(zhang, field="driver")


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-2] + ("AA" if t[-2:] != "AA" else "BB"),  # ciphertext or tag altered
        lambda t: t[: len(t) - 20],  # cut short
        lambda t: t.replace("pd:v1:", "pd:v9:"),  # unknown version
        lambda t: t.rsplit(":", 1)[0] + ":" + "A" * 10,  # too short for a nonce and a tag
        lambda t: t.rsplit(":", 1)[0] + ":@@@",  # not base64url
        lambda t: "张伟",  # not a token at all
    ],
)
def test_a_tampered_or_malformed_token_is_refused_with_a_clear_error(keys: KeyStore, mangle: Any) -> None:
    token = keys.encrypt_field(ZHANG, "name", "张伟")
    with pytest.raises(InvalidPersonalToken) as refused:
        keys.decrypt_field(mangle(token))
    assert refused.value.to_body()["error"] == "invalid_personal_token"


def test_erasing_a_subject_makes_every_earlier_token_read_as_erased(keys: KeyStore, engine: Engine) -> None:
    tokens = [keys.encrypt_field(ZHANG, "name", "张伟"), keys.encrypt_field(ZHANG, "name", "张伟")]
    tokens.append(keys.encrypt_field(ZHANG, "note", {"phone": "13800000000"}))
    li = keys.encrypt_field(LI, "name", "李娜")
    other_process = KeyStore(engine, [MASTER], cache_seconds=0)  # e.g. a projector: sees the erasure at once
    assert other_process.decrypt_field(tokens[0]) == "张伟"

    assert keys.erase(ZHANG) is True
    assert [keys.decrypt_field(t) for t in tokens] == [ERASED, ERASED, ERASED]
    assert [other_process.decrypt_field(t) for t in tokens] == [ERASED, ERASED, ERASED]
    assert KeyStore(engine, [MASTER]).decrypt_field(tokens[0]) is ERASED  # a process started afterwards
    assert str(ERASED) == "已删除"
    assert keys.decrypt_field(li) == "李娜"  # another subject is untouched
    # the row stays, without its key: the erasure itself is on record
    zhang = next(r for r in _rows(engine) if r.subject_id == "P-0001")
    assert zhang.wrapped_key is None and zhang.master_key_id is None and zhang.erased_at is not None
    assert keys.is_erased(ZHANG) and not keys.is_erased(LI)
    assert keys.erased_at(ZHANG) == zhang.erased_at and keys.erased_at(LI) is None
    assert keys.erased_ids(ZHANG.kind) == {ZHANG.id}  # LI, of the same kind, is not erased
    # erasure is idempotent (its time stays the first one's), and nothing of the erased subject is recorded again
    assert keys.erase(ZHANG) is False
    assert keys.erased_at(ZHANG) == zhang.erased_at
    with pytest.raises(SubjectErased):
        keys.encrypt_field(ZHANG, "name", "张伟")


def test_erasing_a_subject_never_seen_leaves_a_tombstone(keys: KeyStore, engine: Engine) -> None:
    assert keys.erase(Subject("driver", "D-9")) is True
    assert [(r.subject_id, r.wrapped_key) for r in _rows(engine)] == [("D-9", None)]
    with pytest.raises(SubjectErased):
        KeyStore(engine, [MASTER]).encrypt_field(Subject("driver", "D-9"), "driver", "赵")


def test_a_token_whose_key_this_store_never_held_is_refused(keys: KeyStore, tmp_path: Any) -> None:
    token = keys.encrypt_field(ZHANG, "name", "张伟")
    elsewhere = create_db_engine(f"sqlite:///{tmp_path / 'other-keys.db'}")
    migrate(elsewhere, "personal_keys")
    with pytest.raises(MissingKey):
        KeyStore(elsewhere, [MASTER]).decrypt_field(token)


def test_a_wrapped_key_copied_to_another_subjects_row_does_not_unwrap(keys: KeyStore, engine: Engine) -> None:
    token = keys.encrypt_field(ZHANG, "name", "张伟")
    keys.encrypt_field(LI, "name", "李娜")
    t = subject_keys_table
    with engine.begin() as conn:
        li_key = conn.execute(sa.select(t.c.wrapped_key).where(t.c.subject_id == "P-0002")).scalar_one()
        conn.execute(sa.update(t).where(t.c.subject_id == "P-0001").values(wrapped_key=li_key))
    with pytest.raises(InvalidPersonalToken, match="does not unwrap"):
        KeyStore(engine, [MASTER]).decrypt_field(token)


def test_the_master_key_is_rotated_by_rewrapping_every_live_key(keys: KeyStore, engine: Engine) -> None:
    zhang = keys.encrypt_field(ZHANG, "name", "张伟")
    li = keys.encrypt_field(LI, "name", "李娜")
    keys.erase(LI)
    rotating = KeyStore(engine, [NEW_MASTER, MASTER], cache_seconds=0)
    assert rotating.decrypt_field(zhang) == "张伟"  # the old master still unwraps during the rotation
    assert rotating.rotate() == 1  # ZHANG's key; LI's is gone
    assert rotating.rotate() == 0
    rotated = KeyStore(engine, [NEW_MASTER])
    assert rotated.decrypt_field(zhang) == "张伟" and rotated.decrypt_field(li) is ERASED
    with pytest.raises(MissingKey, match="wrapped by master key"):
        KeyStore(engine, [MASTER]).decrypt_field(zhang)  # the retired master key opens nothing any more


def test_two_stores_share_one_key_per_subject_and_a_late_insert_gives_way(engine: Engine) -> None:
    first, second = KeyStore(engine, [MASTER]), KeyStore(engine, [MASTER])
    token = first.encrypt_field(ZHANG, "name", "张伟")
    assert second.encrypt_field(ZHANG, "name", "张伟") != token
    assert second.decrypt_field(token) == "张伟"
    # a writer that read "no key" just before another made one does not overwrite it (it reads theirs)
    with engine.begin() as conn:
        assert _insert_if_absent(conn, ZHANG, {"wrapped_key": b"x" * 60, "master_key_id": "0" * 16}) is False
    assert len(_rows(engine)) == 1 and first.decrypt_field(token) == "张伟"


def test_the_key_store_of_a_process_uses_the_master_key_of_its_settings(engine: Engine) -> None:
    mine = base64.b64encode(MASTER).decode()
    token = KeyStore.from_settings(engine, load_settings({"PERSONAL_DATA_MASTER_KEY": mine})).encrypt_field(
        ZHANG, "name", "张伟"
    )
    assert KeyStore(engine, [MASTER]).decrypt_field(token) == "张伟"
    with pytest.raises(MissingKey):  # the development key is another key
        KeyStore.from_settings(engine, load_settings({})).decrypt_field(token)


def test_an_erasure_made_by_another_process_reaches_a_cached_key_within_the_check_interval(db_url: str) -> None:
    """Two processes' key stores (two engines on one database), each with the key cached for 60 s: once the
    gateway's erases the subject, the service's refuses to encrypt for them and the other reader decrypts to
    已删除 within ``ERASURE_CHECK_SECONDS`` (1 s), not after the 60 s of the cache."""
    engines = [create_db_engine(db_url) for _ in range(3)]
    migrate(engines[0], "personal_keys")
    gateway, service, other_reader = (KeyStore(e, [MASTER], cache_seconds=60) for e in engines)
    try:
        token = service.encrypt_field(ZHANG, "name", "张伟")
        assert other_reader.decrypt_field(token) == "张伟"  # both hold the key in their caches now
        assert gateway.erase(ZHANG) is True

        def refused() -> bool:
            try:
                service.encrypt_field(ZHANG, "name", "张伟")
            except SubjectErased:
                return True
            return False

        assert eventually(refused, bool, timeout=5, interval=0.1) is True
        assert eventually(lambda: other_reader.decrypt_field(token), lambda v: v is ERASED, timeout=5) is ERASED
        # another subject's cached key was dropped with the rest and is read again, unchanged
        li = service.encrypt_field(LI, "name", "李娜")
        assert other_reader.decrypt_field(li) == "李娜"
    finally:
        for engine in engines:
            engine.dispose()


def test_without_a_generation_check_a_cached_key_outlives_an_erasure_elsewhere(engine: Engine) -> None:
    """The cache is what the generation check guards: a store told to check once an hour keeps using its cached
    key after another store erased the subject (so the test above measures the check, not a cache miss)."""
    gateway, lazy = KeyStore(engine, [MASTER]), KeyStore(engine, [MASTER], erasure_check_seconds=3600)
    token = lazy.encrypt_field(ZHANG, "name", "张伟")
    gateway.erase(ZHANG)
    assert lazy.decrypt_field(token) == "张伟"
    assert KeyStore(engine, [MASTER]).decrypt_field(token) is ERASED  # a fresh process reads the erasure


def test_the_erasure_generation_counts_each_erasure_once(keys: KeyStore, engine: Engine) -> None:
    def generation() -> int:
        with engine.connect() as conn:
            return int(conn.execute(sa.select(erasures_table.c.generation)).scalar_one())

    before = generation()
    keys.encrypt_field(ZHANG, "name", "张伟")
    keys.erase(ZHANG)
    keys.erase(ZHANG)  # again: already erased, nothing moves
    keys.erase(Subject("track", "T-never-seen"))  # a tombstone is an erasure too
    assert generation() == before + 2  # 1 (Zhang) + 1 (the tombstone); the repeated erasure adds 0
