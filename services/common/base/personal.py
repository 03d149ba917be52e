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
import hmac
import json
import os
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from services.common.base import contracts
from services.common.base.db import create_db_engine, fetch, insert_if_absent, migrate, reader, register_migrations
from services.common.base.jsontext import dumps_stored
from services.common.base.settings import Settings, settings
from services.common.kernel.clock import utc_now
from services.common.kernel.errors import PlatformError, ValidationFailed

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


@cache
def contract_at(path: Path) -> Mapping[str, Any]:
    """A contract file's schema, read once per process (the one reader of contracts for the marks; not to be
    changed by callers). OSError when the file is missing."""
    schema: Mapping[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return schema


def contract_marks(domain: str, event_type: str, version: int) -> dict[str, PersonalMark]:
    """The personal properties of one event version's contract."""
    return personal_marks(contract_at(contracts.schema_path(domain, event_type, version)))


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
erasures_table = sa.Table(
    "subject_key_erasures",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
    sa.Column("generation", sa.BigInteger(), nullable=False),
)
"""One row (``id`` 1): the erasure generation, raised by every erasure in the same transaction (``KeyStore.erase``)."""

KEY_BYTES = 32
NONCE_BYTES = 12
CACHE_LIMIT = 10_000
ERASURE_CHECK_SECONDS = 1.0
"""How often a process reads the erasure generation before it trusts its cached keys: an erasure made by another
process reaches this one's cache within this time (and one query of one row is all it costs)."""
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
    """A fresh nonce and the AES-256-GCM ciphertext (with its tag) of ``plain``. ``cryptography`` is imported
    at the first seal or opening (then found in ``sys.modules``): some 7 MB resident that a process which never
    meets a personal value (the gateway answering the data center's reads) does not hold."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    nonce = os.urandom(NONCE_BYTES)
    return nonce + bytes(AESGCM(key).encrypt(nonce, plain, associated_data))


def _open(key: bytes, sealed: bytes, associated_data: bytes) -> bytes | None:
    """The plain text of ``_seal``'s output; None when it fails authentication (altered, another key or
    associated data); ``cryptography`` imported at first use, as ``_seal`` says."""
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

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
    rewrapped (``rotate``). Unwrapped keys are kept in memory for ``cache_seconds`` at most, and trusted only
    while the erasure generation (``subject_key_erasures``, raised by every erasure) is the one this process last
    read: it is read again at most every ``erasure_check_seconds``, and a new one empties the cache. So an
    erasure made by another process (the gateway's, the retention job's) stops this one encrypting or decrypting
    with the erased key within ``erasure_check_seconds`` (one made here, at once), for the price of one
    one-row query a second while keys are in use. Erasures are rare: emptying the whole cache on any of them
    is simpler than telling which subject went, and costs one key read per subject afterwards.
    """

    def __init__(
        self,
        engine: Engine,
        master_keys: Sequence[bytes],
        cache_seconds: float = 60.0,
        erasure_check_seconds: float = ERASURE_CHECK_SECONDS,
    ) -> None:
        if not master_keys or any(len(key) != KEY_BYTES for key in master_keys):
            raise ValueError(f"a key store needs at least one master key of {KEY_BYTES} bytes")
        self.engine = engine
        self.masters = {master_key_id(key): key for key in master_keys}
        self.current = master_key_id(master_keys[0])
        self.cache_seconds = cache_seconds
        self.erasure_check_seconds = erasure_check_seconds
        self._cache: dict[Subject, tuple[float, bytes | None]] = {}
        self._generation: int | None = None
        self._generation_read_at = -float("inf")

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
        self._forget_after_erasures()
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
            if insert_if_absent(self.engine, subject_keys_table, made, off_the_hub=True):  # a FULL commit
                self._remember(subject, key)
                return key
            row = self._stored(subject)  # another writer made it between our read and insert: theirs
        if row is None:
            raise MissingKey(f"no key was ever made for {subject.kind} {subject.id} in this key store")
        wrapped, key_id, erased_at = row
        live = None if erased_at is not None else self._unwrap(subject, bytes(wrapped), key_id)
        self._remember(subject, live)
        return live

    def _forget_after_erasures(self) -> None:
        """Empty the cache when the erasure generation moved since it was last read (read at most every
        ``erasure_check_seconds``). The generation and the keys are read from the same database, the generation
        first: a key read after it is at least as new as it, and an erasure committed after it moves it for the
        next read."""
        now = time.monotonic()
        if now - self._generation_read_at < self.erasure_check_seconds:
            return
        with reader(self.engine).connect() as conn:
            generation = conn.execute(sa.select(erasures_table.c.generation).where(erasures_table.c.id == 1)).scalar()
        self._generation_read_at = now
        if generation != self._generation:
            self._cache.clear()
            self._generation = generation

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
            if erased:  # every process's cached keys are trusted no longer (``_forget_after_erasures``)
                conn.execute(
                    sa.update(erasures_table)
                    .where(erasures_table.c.id == 1)
                    .values(generation=erasures_table.c.generation + 1)
                )
        self._remember(subject, None)
        return erased

    def erased_at(self, subject: Subject) -> str | None:
        """When the subject was erased; None when it has not been."""
        with self.engine.connect() as conn:
            row = self._row(conn, subject)
        return None if row is None else row.erased_at

    def is_erased(self, subject: Subject) -> bool:
        """Whether the subject has been erased."""
        return self.erased_at(subject) is not None

    def erased_ids(self, kind: str) -> set[str]:
        """The ids of the subjects of ``kind`` that have been erased (on request, or expired)."""
        t = subject_keys_table
        with self.engine.connect() as conn:
            query = sa.select(t.c.subject_id).where(t.c.subject_kind == kind, t.c.erased_at.is_not(None))
            return set(conn.execute(query).scalars())

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
        plain = dumps_stored(value).encode()
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

    def digest_field(self, subject: Subject, field: str, value: Any) -> str | None:
        """A keyed digest of ``value`` (any JSON value) of the property ``field``, under a key derived from the
        subject's: equal for equal values, so a command can be recognised again without keeping its value, and
        no dictionary of names finds the value without the key. None once the subject is erased (nothing of
        theirs is matched again)."""
        key = self._key(subject, create=True)
        if key is None:
            return None
        derived = hmac.new(key, b"pd-digest:v1", hashlib.sha256).digest()  # never the sealing key itself
        plain = f"{_subject_text(subject)}:{field}:".encode() + json.dumps(value, sort_keys=True).encode()
        return DIGEST_PREFIX + hmac.new(derived, plain, hashlib.sha256).hexdigest()


DIGEST_PREFIX = "pd-digest:v1:"
"""What a personal value's keyed digest (``KeyStore.digest_field``) starts with."""


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
    # a key is made in the same command as the event sealed under it: synced like the event stores' commits, so
    # that a power cut cannot keep the event and lose its key
    # a small pool: one key store serves a whole process, its statements are short, and on PostgreSQL every
    # process of the platform holds one (the connections a server allows are shared by all of them)
    engine = create_db_engine(config.database_url(KEY_STORE), sqlite_synchronous="FULL", pool_size=2, max_overflow=3)
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
    schema = contract_at(contracts.schema_path(domain, event_type, version))
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


# -- what a dead letter or a rejection may keep: no clear personal value ---------------------------------

REDACTED_TEXT = "[personal data withheld]"
"""What a dead letter or a rejection holds in place of a clear personal value (and of its text in a reason)."""

_DOMAIN = re.compile(r"^[a-z][a-z_]*$")
_EVENT_TYPE = re.compile(r"^[A-Z][A-Za-z0-9]+$")
_MESSAGE_TYPE = re.compile(r"^[a-z][a-z_]*\.[a-z][a-z_]*$")
_MIN_REDACTED_TEXT = 2
"""A value's text shorter than this (a one-digit number, one character) is too common to be taken out of a reason."""


@cache
def _marks_at(path: Path) -> dict[str, PersonalMark]:
    return personal_marks(contract_at(path)) if path.is_file() else {}


def message_marks(data: Any) -> dict[str, PersonalMark]:
    """The personal properties of the payload of a message as it was read, trusted or not: an event envelope
    (``domain``, ``event_type``, ``schema_version``) or a district's inbound message (``message_type``,
    ``schema_version``); none when it names no contract this repository has."""
    if not isinstance(data, dict) or not isinstance(data.get("schema_version"), int):
        return {}
    domain, event_type, message_type = data.get("domain"), data.get("event_type"), data.get("message_type")
    if isinstance(domain, str) and isinstance(event_type, str):
        if _DOMAIN.match(domain) and _EVENT_TYPE.match(event_type):
            return _marks_at(contracts.schema_path(domain, event_type, data["schema_version"]))
    elif isinstance(message_type, str) and _MESSAGE_TYPE.match(message_type):
        return _marks_at(contracts.inbound_schema_path(message_type, data["schema_version"]))
    return {}


def clear_personal_values(data: Any) -> dict[str, Any]:
    """The personal properties (``message_marks``) of a message's payload that hold a clear value: neither
    absent nor null nor a token."""
    payload = data.get("payload") if isinstance(data, dict) else None
    if not isinstance(payload, dict):
        return {}
    return {
        name: payload[name]
        for name in message_marks(data)
        if payload.get(name) is not None and not is_token(payload[name])
    }


def _texts(value: Any) -> set[str]:
    """The texts a value shows in a reason: every string and number it holds, at any depth."""
    if isinstance(value, Mapping):
        return set().union(*(_texts(v) for v in value.values())) if value else set()
    if isinstance(value, list | tuple):
        return set().union(*(_texts(v) for v in value)) if value else set()
    if isinstance(value, bool) or value is None:
        return set()
    text = value if isinstance(value, str) else json.dumps(value)
    return {text} if len(text) >= _MIN_REDACTED_TEXT else set()


def redact_text(value: Any, clear: Mapping[str, Any]) -> Any:
    """``value`` (a reason: a string, or lists and objects of them) with the text of every clear personal value
    in ``clear`` (``clear_personal_values``) replaced by ``REDACTED_TEXT``, longest first (a name that holds
    another is taken whole)."""
    texts = sorted(_texts(list(clear.values())), key=len, reverse=True)
    if not texts:
        return value

    def redact(item: Any) -> Any:
        if isinstance(item, str):
            for text in texts:
                item = item.replace(text, REDACTED_TEXT)
            return item
        if isinstance(item, Mapping):
            return {redact(k): redact(v) for k, v in item.items()}
        if isinstance(item, list | tuple):
            return [redact(v) for v in item]
        return item

    return redact(value)


def redact_dead_letter(value: bytes | None, detail: str) -> tuple[bytes | None, str, list[str]]:
    """A message the platform keeps apart (a projector's dead letter) as it may be kept: the marked personal
    fields of its payload that hold a clear value (an event stored before sealing, a field that cannot be
    sealed) replaced by ``REDACTED_TEXT``, their text taken out of ``detail`` too; and the fields so replaced.
    A message that is not JSON, or names no known contract, is kept as it came; one without a clear personal
    value is kept byte for byte. The original stays on its source topic (replays read it there)."""
    try:
        data = json.loads(value) if value is not None else None
    except (ValueError, UnicodeDecodeError):
        return value, detail, []
    clear = clear_personal_values(data)
    if not clear:
        return value, detail, []
    assert isinstance(data, dict)  # clear_personal_values found a payload
    data["payload"] = {**data["payload"], **dict.fromkeys(clear, REDACTED_TEXT)}
    redacted = dumps_stored(data).encode()
    return redacted, str(redact_text(detail, clear)), sorted(clear)


# -- the commands' requests: the same personal values on their way to the store -----------------------


@cache
def request_marks(domain: str) -> dict[str, PersonalMark]:
    """The personal properties a command's request to ``domain`` may carry, by name: every property marked with a
    ``subject_field`` in the domain's event contracts and its district inbound contracts (the one declaration of
    what is personal stays the contracts' marks). A request is read as a payload is: a property of one of these
    names is personal when the request also holds its ``subject_field`` (``post_staff``'s ``name`` beside
    ``person_id``, ``dispatch_trip``'s ``driver`` beside ``driver_id``, ``record_gps_points``' ``points`` beside
    ``trip_id``; ``register_agency``'s ``name`` has no ``person_id`` beside it and is an agency's).

    ValueError when two contracts of the domain mark one property name for different subjects: a request could
    not tell whose value it holds."""
    paths = [path for found, _, _, path in contracts.available_schemas() if found == domain]
    paths += sorted((contracts.CONTRACTS_DIR / "inbound").glob(f"{domain}.*.v*.json"))
    marks: dict[str, PersonalMark] = {}
    for path in paths:
        for name, mark in personal_marks(contract_at(path)).items():
            if mark.subject_field is None:
                continue
            if marks.setdefault(name, mark) != mark:
                raise ValueError(f"{domain}: {name!r} is marked {marks[name]} and {mark} ({path.name})")
    return marks


def personal_in_request(domain: str, payload: Mapping[str, Any]) -> dict[str, PersonalMark]:
    """The personal properties present in one request's payload (``request_marks``), with their marks."""
    return {
        name: mark
        for name, mark in request_marks(domain).items()
        if payload.get(name) is not None and mark.subject_field is not None and mark.subject_field in payload
    }


def seal_request(keys: Callable[[], KeyStore] | None, domain: str, payload: Any) -> Any:
    """A copy of a request's payload fit to be kept: each personal property (``personal_in_request``) as a token
    under its subject's key, so that the copy is recoverable until the subject is erased and noise after; a value
    that cannot be sealed is redacted instead: ``ERASED_TEXT`` when its subject is erased, ``MASKED_TEXT`` when
    there is no key store (``keys`` None) or it fails. A payload that is not an object is kept as it is (it
    names no subject, so it holds nothing the contracts call personal)."""
    return _each_personal(keys, domain, payload, KeyStore.encrypt_field, redact_failures=True)


def digest_request(keys: Callable[[], KeyStore] | None, domain: str, payload: Any) -> Any:
    """A request's payload with each personal property replaced by its keyed digest (``KeyStore.digest_field``):
    what a command's fingerprint is taken of, so that the fingerprint kept with an idempotency key is no
    unkeyed hash of a name (a dictionary of names beside the event's clear fields would find it) and matches
    nothing once the subject is erased (``ERASED_TEXT`` in its place). Unlike a copy, a fingerprint must come out
    the same on the next attempt: a key store that fails raises (the command fails as its sealing would), and
    only without a key store at all (``keys`` None) is the value redacted."""
    return _each_personal(keys, domain, payload, KeyStore.digest_field, redact_failures=False)


def _each_personal(
    keys: Callable[[], KeyStore] | None,
    domain: str,
    payload: Any,
    how: Callable[[KeyStore, Subject, str, Any], str | None],
    redact_failures: bool,
) -> Any:
    """``payload`` with ``how`` (sealing, digesting) done to each of its clear personal values: what cannot be is
    redacted (``MASKED_TEXT``; ``ERASED_TEXT`` for an erased subject), or, unless ``redact_failures``, raises."""
    if not isinstance(payload, Mapping):
        return payload
    found = personal_in_request(domain, payload)
    if not found:
        return payload
    kept = dict(payload)
    for name, mark in found.items():
        value = kept[name]
        if is_token(value):
            continue
        try:
            subject = Subject(mark.subject, str(kept[mark.subject_field or ""]))
        except ValueError:  # an id no key is made for (the command's schema refuses it): nothing to seal under
            subject = None
        if keys is None or subject is None:
            kept[name] = MASKED_TEXT
            continue
        try:
            done = how(keys(), subject, name, value)
        except SubjectErased:
            done = None
        except Exception:  # the key store down: a copy keeps no clear value
            if not redact_failures:
                raise
            done = MASKED_TEXT
        kept[name] = ERASED_TEXT if done is None else done
    return kept


def seal_for_transit(keys: KeyStore, domain: str, payload: Any) -> Any:
    """A request's payload as the gateway sends it: each personal property (``personal_in_request``) as a token
    under its subject's key, so that no clear personal value crosses RabbitMQ; the owning service opens it again
    (``open_request``). SubjectErased (409) for a value of an erased subject, as the service would answer; a key
    store that fails raises. A value already a token, or beside an id no key is made for (the command's schema
    refuses it), is sent as it is."""
    if not isinstance(payload, Mapping):
        return payload
    kept = dict(payload)
    for name, mark in personal_in_request(domain, payload).items():
        try:
            subject = Subject(mark.subject, str(kept[mark.subject_field or ""]))
        except ValueError:
            continue
        if not is_token(kept[name]):
            kept[name] = keys.encrypt_field(subject, name, kept[name])
    return kept


def open_request(keys: Callable[[], KeyStore] | None, domain: str, payload: Any) -> Any:
    """A request's payload with each personal property that came as a token (``seal_for_transit``) as its clear
    value again, for the command to handle as sent (its store seals it anew: a token is never sealed twice).
    A clear value is taken as it is. ``ValidationFailed`` (422) for a token of another subject or another property
    than the one it was sent in, ``SubjectErased`` (409) once the subject is erased."""
    if not isinstance(payload, Mapping):
        return payload
    found = {name: mark for name, mark in personal_in_request(domain, payload).items() if is_token(payload[name])}
    if not found:
        return payload
    kept = dict(payload)
    for name, mark in found.items():
        try:
            token = parse_token(kept[name])
        except InvalidPersonalToken as malformed:
            raise ValidationFailed(f"{name}: {malformed.message}", fields={name: ["not a token"]}) from None
        sent_for = (mark.subject, str(kept[mark.subject_field or ""]), name)
        if (token.subject.kind, token.subject.id, token.field) != sent_for:
            raise ValidationFailed(
                f"{name}: a personal-data token of another subject or field", fields={name: ["not this subject's"]}
            )
        if keys is None:
            raise MissingKey("a personal-data token reached a service without a key store")
        clear = keys().decrypt_field(kept[name], name)
        if clear is ERASED:
            raise SubjectErased(f"{token.subject.kind} {token.subject.id} has been erased: their data is not recorded")
        kept[name] = clear
    return kept
