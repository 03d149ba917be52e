"""Personal data: which contract fields are personal, and crypto-shredding of their values.

Events are immutable and every district reads the topics, so a personal value (a staff member's name, a
driver's name, a trip's GPS track) is kept there only encrypted, under a data key of its own data subject.
Destroying that key (``KeyStore.erase``) makes every copy of the value, in every store, topic, backup and
projection rebuilt from them, unreadable at once: the log stays immutable, the person is forgotten.

- **Marks.** A contract declares a personal property with the ``x-personal`` keyword:
  ``{"subject": "<kind>", "subject_field": "<property naming the subject>"}`` (``personal_marks``). The
  kinds are ``SUBJECT_KINDS``; ``subject_field`` is ``null`` where the version carries no identifier of the
  subject yet.
- **Keys.** ``subject_keys`` holds one AES-256 data key per (kind, subject id), wrapped (AES-256-GCM) by
  the master key of the environment (``PERSONAL_DATA_MASTER_KEY``); an erased subject keeps its row with
  ``erased_at`` set and no key.
- **Tokens.** ``KeyStore.encrypt_field`` turns a JSON value into ``pd:v1:<kind>:<subject id>:<field>:<data>``
  (``data``: base64url of the 12-byte nonce and the AES-256-GCM ciphertext; the ``pd:v1:...:<field>``
  prefix is the associated data, so a token moved to another subject or field fails to decrypt);
  ``KeyStore.decrypt_field`` gives the value back, or ``ERASED`` once the subject is erased.

Pure Python and SQLAlchemy; the AEAD is the ``cryptography`` library's ``AESGCM``. See
``docs/personal-data.md`` for the threat model.
"""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib
import json
import os
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import sqlalchemy as sa
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from services.common.base import contracts
from services.common.base.db import create_db_engine, fetch, insert_if_absent, migrate, register_migrations
from services.common.base.settings import Settings, settings
from services.common.kernel.clock import utc_now
from services.common.kernel.errors import PlatformError

register_migrations("personal_keys", Path(__file__).parent / "migrations" / "personal_keys")

# -- which fields are personal ----------------------------------------------------------------------

SUBJECT_KINDS: dict[str, str] = {
    "person": "a member of staff of an agency (人员), identified by person_id",
    "driver": "the driver of an official vehicle (驾驶员)",
    "track": "the people travelling on one official trip, through the trip's GPS track (keyed by trip_id)",
}
"""The kinds of data subject a personal field may belong to (``x-personal.subject``)."""

MARK = "x-personal"
"""The JSON Schema keyword that declares a contract property personal."""


@dataclass(frozen=True)
class PersonalMark:
    """A personal property of a contract: whose data it is and which property of the payload names them."""

    subject: str
    subject_field: str | None


def personal_marks(schema: Mapping[str, Any]) -> dict[str, PersonalMark]:
    """The personal properties of a payload schema (its top-level properties carrying ``x-personal``).

    ValueError for a malformed mark: an unknown subject kind, or a ``subject_field`` that is not a
    property of the same schema.
    """
    properties: Mapping[str, Any] = schema.get("properties", {})
    marks = {}
    for name, spec in properties.items():
        if not isinstance(spec, Mapping) or MARK not in spec:
            continue
        mark = spec[MARK]
        if not isinstance(mark, Mapping) or set(mark) != {"subject", "subject_field"}:
            raise ValueError(f"{name}: {MARK} must be an object with exactly 'subject' and 'subject_field'")
        subject, subject_field = mark["subject"], mark["subject_field"]
        if subject not in SUBJECT_KINDS:
            raise ValueError(f"{name}: unknown subject kind {subject!r} (one of {sorted(SUBJECT_KINDS)})")
        if subject_field is not None and (subject_field == name or subject_field not in properties):
            raise ValueError(f"{name}: subject_field {subject_field!r} is not another property of the schema")
        marks[name] = PersonalMark(subject, subject_field)
    return marks


def contract_marks(domain: str, event_type: str, version: int) -> dict[str, PersonalMark]:
    """The personal properties of one event version's contract."""
    path = contracts.schema_path(domain, event_type, version)
    return personal_marks(json.loads(path.read_text(encoding="utf-8")))


# -- the erased marker and errors -------------------------------------------------------------------

ERASED_TEXT = "已删除"
"""What readers show in place of an erased subject's personal value."""


class Erased(enum.Enum):
    """The value of a personal field whose data subject has been erased."""

    ERASED = ERASED_TEXT

    def __str__(self) -> str:
        return self.value


ERASED = Erased.ERASED


class InvalidPersonalToken(PlatformError):
    """A token that is malformed, altered, or not encrypted under its subject's key."""

    code = "invalid_personal_token"
    http_status = 500


class SubjectErased(PlatformError):
    """New personal data of a subject already erased: the platform does not record it again."""

    code = "subject_erased"
    http_status = 409


class MissingKey(PlatformError):
    """A token of a subject this key store never held a key for (a different key store, a lost table)."""

    code = "personal_key_missing"
    http_status = 500


# -- keys -------------------------------------------------------------------------------------------

metadata = sa.MetaData()
subject_keys_table = sa.Table(
    "subject_keys",
    metadata,
    sa.Column("subject_kind", sa.String(20), primary_key=True),
    sa.Column("subject_id", sa.String(200), primary_key=True),
    sa.Column("wrapped_key", sa.LargeBinary()),
    sa.Column("master_key_id", sa.String(16)),
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Column("erased_at", sa.String(40)),
)

KEY_BYTES = 32
NONCE_BYTES = 12
CACHE_LIMIT = 10_000
"""At most this many subjects' keys are kept in a process's memory (the cache starts again beyond it)."""
TOKEN_PREFIX = "pd:v1:"
_TOKEN = re.compile(r"^pd:v1:(?P<kind>[a-z_]+):(?P<subject>[^:]+):(?P<field>[a-z][a-z0-9_]*):(?P<data>[A-Za-z0-9_-]+)$")
_FIELD = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class Subject:
    """A data subject: its kind (``SUBJECT_KINDS``) and its identifier (a person_id, a trip_id ...)."""

    kind: str
    id: str

    def __post_init__(self) -> None:
        if self.kind not in SUBJECT_KINDS:
            raise ValueError(f"unknown subject kind {self.kind!r} (one of {sorted(SUBJECT_KINDS)})")
        if not self.id or len(self.id) > 200:
            raise ValueError("a subject id has 1 to 200 characters")


def _seal(key: bytes, plain: bytes, associated_data: bytes) -> bytes:
    """A fresh nonce and the AES-256-GCM ciphertext (with its tag) of ``plain``."""
    nonce = os.urandom(NONCE_BYTES)
    return nonce + bytes(AESGCM(key).encrypt(nonce, plain, associated_data))


def _open(key: bytes, sealed: bytes, associated_data: bytes) -> bytes | None:
    """The plain text of ``_seal``'s output; None when it fails authentication (altered, another key or
    associated data)."""
    try:
        return bytes(AESGCM(key).decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], associated_data))
    except InvalidTag:
        return None


def master_key(encoded: str) -> bytes:
    """The master key from its setting (base64 of 32 bytes); ValueError when it is not one."""
    try:
        key = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as error:
        raise ValueError("PERSONAL_DATA_MASTER_KEY is not base64") from error
    if len(key) != KEY_BYTES:
        raise ValueError(f"PERSONAL_DATA_MASTER_KEY must be {KEY_BYTES} bytes, not {len(key)}")
    return key


def master_key_id(key: bytes) -> str:
    """A short name of a master key, recorded with every key it wraps (it reveals nothing of the key)."""
    return hashlib.sha256(b"personal-data master key id\x00" + key).hexdigest()[:16]


def _subject_text(subject: Subject) -> str:
    return f"{subject.kind}:{quote(subject.id, safe='')}"


def _key_context(subject: Subject) -> bytes:
    """The associated data of a wrapped key: a key copied to another subject's row does not unwrap."""
    return f"pd-key:v1:{_subject_text(subject)}".encode()


@dataclass(frozen=True)
class _Token:
    subject: Subject
    field: str
    prefix: str
    sealed: bytes  # nonce, ciphertext and tag


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def parse_token(token: str) -> _Token:
    """The parts of a token; InvalidPersonalToken when it is not one."""
    match = _TOKEN.match(token) if isinstance(token, str) else None
    if match is None:
        raise InvalidPersonalToken("not a personal-data token (pd:v1:<kind>:<subject>:<field>:<data>)")
    try:
        subject = Subject(match["kind"], unquote(match["subject"], errors="strict"))
        if quote(subject.id, safe="") != match["subject"]:
            raise ValueError("the subject id is not percent-encoded as the platform writes it")
        data = base64.urlsafe_b64decode(match["data"] + "=" * (-len(match["data"]) % 4))
    except (ValueError, binascii.Error) as error:
        raise InvalidPersonalToken(f"a malformed personal-data token: {error}") from error
    if len(data) < NONCE_BYTES + 16:
        raise InvalidPersonalToken("a personal-data token too short to hold a nonce and a tag")
    prefix = token[: token.rindex(":") + 1]
    return _Token(subject, match["field"], prefix, data)


def is_token(value: Any) -> bool:
    """Whether ``value`` looks like a personal-data token (a string with its prefix)."""
    return isinstance(value, str) and value.startswith(TOKEN_PREFIX)


def _insert_if_absent(conn: sa.Connection, subject: Subject, values: Mapping[str, Any]) -> bool:
    """Insert the subject's row unless one exists (a concurrent writer's); whether this one was inserted."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = (
        dialect.insert(subject_keys_table)
        .values(subject_kind=subject.kind, subject_id=subject.id, created_at=utc_now().isoformat(), **values)
        .on_conflict_do_nothing(index_elements=["subject_kind", "subject_id"])
    )
    return conn.execute(statement).rowcount == 1


_STORED_KEY = sa.select(
    subject_keys_table.c.wrapped_key, subject_keys_table.c.master_key_id, subject_keys_table.c.erased_at
).where(
    subject_keys_table.c.subject_kind == sa.bindparam("kind"), subject_keys_table.c.subject_id == sa.bindparam("id")
)


class KeyStore:
    """The data keys of the data subjects, in ``subject_keys`` of ``engine``.

    ``master_keys``: the current master key first, then earlier ones still accepted while their keys are
    rewrapped (``rotate``). Unwrapped keys are kept in memory for ``cache_seconds``: an erasure made by
    another process reaches this one within that time (one made here, at once).
    """

    def __init__(self, engine: Engine, master_keys: Sequence[bytes], cache_seconds: float = 60.0) -> None:
        if not master_keys or any(len(key) != KEY_BYTES for key in master_keys):
            raise ValueError(f"a key store needs at least one master key of {KEY_BYTES} bytes")
        self.engine = engine
        self.masters = {master_key_id(key): key for key in master_keys}
        self.current = master_key_id(master_keys[0])
        self.cache_seconds = cache_seconds
        self._cache: dict[Subject, tuple[float, bytes | None]] = {}

    @classmethod
    def from_settings(cls, engine: Engine, settings: Settings) -> KeyStore:
        """The key store on ``engine`` under the master key of the settings (``PERSONAL_DATA_MASTER_KEY``)."""
        return cls(engine, [master_key(settings.personal_data_master_key)])

    # keys

    def _row(self, conn: sa.Connection, subject: Subject) -> sa.Row[Any, Any, Any] | None:
        t = subject_keys_table
        query = sa.select(t.c.wrapped_key, t.c.master_key_id, t.c.erased_at).where(
            t.c.subject_kind == subject.kind, t.c.subject_id == subject.id
        )
        row = conn.execute(query).first()
        return row

    def _unwrap(self, subject: Subject, wrapped: bytes, key_id: str) -> bytes:
        master = self.masters.get(key_id)
        if master is None:
            raise MissingKey(f"the key of {subject.kind} {subject.id} is wrapped by master key {key_id}, not given")
        key = _open(master, wrapped, _key_context(subject))
        if key is None:
            raise InvalidPersonalToken(f"the stored key of {subject.kind} {subject.id} does not unwrap")
        return key

    def _wrap(self, subject: Subject, key: bytes) -> bytes:
        return _seal(self.masters[self.current], key, _key_context(subject))

    def _key(self, subject: Subject, create: bool) -> bytes | None:
        """The subject's data key (made on first use when ``create``); None when erased. MissingKey when there is
        none and ``create`` is false.

        Read and made outside any transaction (``fetch``, ``insert_if_absent``): a subject's first sealed field
        makes its key, on a command's path (every staff posting names a new person, usually), where a
        ``Connection``'s transaction cost more than the statements; the insert that loses to a concurrent
        writer's reads theirs."""
        cached = self._cache.get(subject)
        if cached is not None and time.monotonic() - cached[0] < self.cache_seconds:
            return cached[1]
        row = self._stored(subject)
        if row is None and create:
            key = os.urandom(KEY_BYTES)
            made = {
                "subject_kind": subject.kind,
                "subject_id": subject.id,
                "wrapped_key": self._wrap(subject, key),
                "master_key_id": self.current,
                "created_at": utc_now().isoformat(),
            }
            if insert_if_absent(self.engine, subject_keys_table, made):
                self._remember(subject, key)
                return key
            row = self._stored(subject)  # another writer made it between our read and insert: theirs
        if row is None:
            raise MissingKey(f"no key was ever made for {subject.kind} {subject.id} in this key store")
        wrapped, key_id, erased_at = row
        live = None if erased_at is not None else self._unwrap(subject, bytes(wrapped), key_id)
        self._remember(subject, live)
        return live

    def _stored(self, subject: Subject) -> tuple[Any, ...] | None:
        """(wrapped key, master key id, erased at) of the subject's row; None when it has none."""
        _, rows = fetch(self.engine, _STORED_KEY, {"kind": subject.kind, "id": subject.id})
        return rows[0] if rows else None

    def _remember(self, subject: Subject, key: bytes | None) -> None:
        if len(self._cache) >= CACHE_LIMIT:
            self._cache.clear()
        self._cache[subject] = (time.monotonic(), key)

    def erase(self, subject: Subject) -> bool:
        """Destroy the subject's key (the row stays, with ``erased_at``): every token of theirs, wherever it
        was copied, decrypts to ``ERASED`` from now on. False when the subject was already erased."""
        t = subject_keys_table
        now = utc_now().isoformat()
        with self.engine.begin() as conn:
            row = self._row(conn, subject)
            if row is not None and row.erased_at is not None:
                erased = False
            elif row is None and _insert_if_absent(conn, subject, {"erased_at": now}):
                erased = True  # never encrypted for: a tombstone, so nothing of theirs is recorded later
            else:
                conn.execute(
                    sa.update(t)
                    .where(t.c.subject_kind == subject.kind, t.c.subject_id == subject.id)
                    .values(wrapped_key=None, master_key_id=None, erased_at=now)
                )
                erased = True
        self._remember(subject, None)
        return erased

    def is_erased(self, subject: Subject) -> bool:
        """Whether the subject has been erased."""
        with self.engine.connect() as conn:
            row = self._row(conn, subject)
        return row is not None and row.erased_at is not None

    def rotate(self) -> int:
        """Rewrap every live key not wrapped by the current master key with it; how many were rewrapped.

        Run with the new master key first and the old one after it; once it returns, the old one may go."""
        t = subject_keys_table
        with self.engine.begin() as conn:
            rows = conn.execute(
                sa.select(t.c.subject_kind, t.c.subject_id, t.c.wrapped_key, t.c.master_key_id).where(
                    t.c.erased_at.is_(None), t.c.master_key_id != self.current
                )
            ).all()
            for row in rows:
                subject = Subject(row.subject_kind, row.subject_id)
                key = self._unwrap(subject, row.wrapped_key, row.master_key_id)
                conn.execute(
                    sa.update(t)
                    .where(t.c.subject_kind == subject.kind, t.c.subject_id == subject.id)
                    .values(wrapped_key=self._wrap(subject, key), master_key_id=self.current)
                )
        return len(rows)

    # fields

    def encrypt_field(self, subject: Subject, field: str, value: Any) -> str:
        """The token of ``value`` (any JSON value) of the property ``field``, under the subject's key.

        SubjectErased when the subject has been erased."""
        if not _FIELD.match(field):
            raise ValueError(f"not a property name: {field!r}")
        key = self._key(subject, create=True)
        if key is None:
            raise SubjectErased(f"{subject.kind} {subject.id} has been erased: their data is not recorded again")
        prefix = f"{TOKEN_PREFIX}{_subject_text(subject)}:{field}:"
        plain = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
        return prefix + _b64(_seal(key, plain, prefix.encode()))

    def decrypt_field(self, token: str, field: str | None = None) -> Any:
        """The value of a token, or ``ERASED`` when its subject has been erased.

        ``field``: the property the token was read from; a token encrypted for another one is refused.
        InvalidPersonalToken for a malformed or altered token, MissingKey when this store never held the key.
        """
        parsed = parse_token(token)
        if field is not None and parsed.field != field:
            raise InvalidPersonalToken(f"a token of the field {parsed.field!r} found in {field!r}")
        key = self._key(parsed.subject, create=False)
        if key is None:
            return ERASED
        plain = _open(key, parsed.sealed, parsed.prefix.encode())
        if plain is None:
            raise InvalidPersonalToken(
                f"a personal-data token of {parsed.subject.kind} {parsed.subject.id} fails authentication "
                "(altered, or encrypted under another key)"
            )
        return json.loads(plain)


# -- the platform's key store and the two ends of the path: sealing on write, revealing on read ---------

MASKED_TEXT = "***"
"""What a reader not entitled to a personal value sees in its place (the value exists, it is not theirs)."""

KEY_STORE = "keys"
"""The name of the key store's database in the settings (``DATABASE_URL_KEYS``, default ``var/keys.db``)."""


@cache
def platform_key_store() -> KeyStore:
    """The platform's one key store (``DATABASE_URL_KEYS``), opened and migrated once per process: the services
    encrypt under it, the gateway decrypts and erases with it."""
    config = settings()
    engine = create_db_engine(config.database_url(KEY_STORE))
    migrate(engine, "personal_keys")
    return KeyStore.from_settings(engine, config)


def _admits_token(spec: Mapping[str, Any]) -> bool:
    """Whether a property's schema accepts a token in place of its value (a string of any length up to 2000)."""
    kind = spec.get("type")
    allowed = kind == "string" or (isinstance(kind, list) and "string" in kind)
    return allowed and "enum" not in spec and "pattern" not in spec and int(spec.get("maxLength", 2000)) >= 200


@cache
def sealed_fields(domain: str, event_type: str, version: int) -> dict[str, PersonalMark]:
    """The personal properties of an event version that are stored as tokens: marked, naming their subject
    (``subject_field``) and typed so that the token fits (a string). A marked field without a subject id
    (``TripDispatched.v1.driver``) or of another type (``GpsPointsRecorded.v1.points``, an array, succeeded by
    ``GpsBatchRecorded`` whose points are a token) is not sealed."""
    schema = json.loads(contracts.schema_path(domain, event_type, version).read_text(encoding="utf-8"))
    properties = schema.get("properties", {})
    return {
        name: mark
        for name, mark in personal_marks(schema).items()
        if mark.subject_field is not None and _admits_token(properties[name])
    }


def seal_payload(keys: KeyStore, domain: str, event_type: str, version: int, payload: dict[str, Any]) -> dict[str, Any]:
    """The payload with each sealed personal field (``sealed_fields``) encrypted under its subject's key; a
    field that already holds a token is kept as it is. SubjectErased for a value of an erased subject."""
    fields = sealed_fields(domain, event_type, version)
    if not fields:
        return payload
    sealed = dict(payload)
    for name, mark in fields.items():
        value = sealed.get(name)
        if value is None or is_token(value) or mark.subject_field is None:
            continue
        subject = Subject(mark.subject, str(sealed[mark.subject_field]))
        sealed[name] = keys.encrypt_field(subject, name, value)
    return sealed


def token_subject(value: Any) -> Subject | None:
    """The subject of a token (None when ``value`` is not one)."""
    return parse_token(value).subject if is_token(value) else None


def reveal(keys: KeyStore, value: Any, field: str, entitled: bool) -> Any:
    """What a reader sees of a stored personal value: the clear value when ``entitled``, ``MASKED_TEXT`` when
    not, ``ERASED_TEXT`` when its subject is erased (for everyone). A value that is not a token (written before
    the platform encrypted, see docs/personal-data.md) is shown as stored to an entitled reader."""
    if not is_token(value):
        return value if entitled or value is None else MASKED_TEXT
    subject = parse_token(value).subject
    if not entitled:
        return ERASED_TEXT if keys.is_erased(subject) else MASKED_TEXT
    clear = keys.decrypt_field(value, field)
    return ERASED_TEXT if clear is ERASED else clear
