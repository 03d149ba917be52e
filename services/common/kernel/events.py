"""Domain events and the envelope they travel in.

A domain event is a small frozen dataclass named for the fact in the past tense
(``AgencyRegistered``). Its fields are its payload and must be JSON-native (str, int, float, bool,
None, lists and dicts of those); dates travel as ISO-8601 strings. Each domain declares one base class::

    @dataclass(frozen=True)
    class OfficeSpaceEvent(Event):
        domain: ClassVar[str] = "office_space"

and every event class of that domain (inheriting ``domain`` rather than declaring it) registers itself
under ``(domain, class name)``. The payload of
each ``event_type`` + ``schema_version`` is described by ``contracts/events/<domain>/<Type>.v<N>.json``.

Older stored payloads are brought to the current version by upcasters (``register_upcaster``) before
the class is built, so aggregates and projections only ever see the newest shape.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any, ClassVar, cast

from services.common.kernel.money import with_fen, with_fen_names, yuan_from_fen

Payload = dict[str, Any]
Upcaster = Callable[[Payload], Payload]

_EVENT_TYPES: dict[tuple[str, str], type[Event]] = {}
_UPCASTERS: dict[tuple[str, str, int], Upcaster] = {}


@dataclass(frozen=True)
class Event:
    """Base of every domain event; subclasses are registered by domain and class name."""

    domain: ClassVar[str] = ""
    schema_version: ClassVar[int] = 1
    legacy_yuan: ClassVar[Mapping[str, str]] = {}
    """Float-yuan properties a previous version published, by name, each with the ``_fen`` field it mirrors: the
    payload still carries them (yuan_from_fen) so that version's consumers go on working; reading drops them."""
    legacy_cents: ClassVar[Mapping[str, str]] = {}
    """Integer properties a previous version published under their old name (``*_cents``, the same unit as fen),
    each with the ``_fen`` field it mirrors: the payload still carries them, equal to the fen, for that
    version's consumers; reading drops them."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # A domain's base class declares ``domain`` itself; its events inherit it and are registered.
        if cls.domain and "domain" not in cls.__dict__:
            _EVENT_TYPES[(cls.domain, cls.__name__)] = cls

    @property
    def event_type(self) -> str:
        """The event's type name, which is its class name."""
        return type(self).__name__

    def payload(self) -> Payload:
        """The event's fields as a JSON-native dict (with the legacy float-yuan and ``_cents`` mirrors, if any)."""
        names, values = _field_reader(type(self))
        payload = dict(zip(names, values(self), strict=True))
        if self.legacy_yuan:
            for legacy, fen_field in self.legacy_yuan.items():
                payload[legacy] = yuan_from_fen(payload[fen_field])
        if self.legacy_cents:
            for legacy, fen_field in self.legacy_cents.items():
                payload[legacy] = payload[fen_field]
        return payload


_FIELD_READERS: dict[type[Event], tuple[tuple[str, ...], Callable[[Event], tuple[Any, ...]]]] = {}


def _field_reader(cls: type[Event]) -> tuple[tuple[str, ...], Callable[[Event], tuple[Any, ...]]]:
    """The names of an event class's fields, in order, and the function reading their values in that order (one
    ``attrgetter`` call for them all: two thirds of a comprehension's cost), worked out once per class
    (``dataclasses.fields`` does it again on each call)."""
    found = _FIELD_READERS.get(cls)
    if found is None:
        names = tuple(f.name for f in dataclasses.fields(cls))
        read = attrgetter(*names) if len(names) > 1 else lambda event: tuple(getattr(event, n) for n in names)
        found = _FIELD_READERS[cls] = (names, read)
    return found


_LOADER: list[Callable[[], None]] = []
"""What registers every domain's event classes and upcasters (``services.common.base.contracts.load_domains``,
set by it): run once, the first time a class or an upcaster is asked for and is not registered."""


def load_registrations_with(loader: Callable[[], None]) -> None:
    """Let ``loader`` register the domains' events when one is first missed: a domain package re-exports
    nothing, so a process (a rebuild, a relay, a test) that imported only some domain modules still reads
    every event type and version."""
    _LOADER[:] = [loader]


def _loaded_now() -> bool:
    """Run the loader once (True), or say there is none left to run (False)."""
    if not _LOADER:
        return False
    _LOADER.pop()()
    return True


def event_class(domain: str, event_type: str) -> type[Event]:
    """The registered class for ``event_type`` of ``domain``; KeyError when unknown."""
    if (domain, event_type) not in _EVENT_TYPES and _loaded_now():
        return event_class(domain, event_type)
    return _EVENT_TYPES[(domain, event_type)]


def registered_event_types() -> list[tuple[str, str, int]]:
    """Every registered (domain, event_type, current schema version)."""
    return sorted((d, t, cls.schema_version) for (d, t), cls in _EVENT_TYPES.items())


def register_upcaster(domain: str, event_type: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
    """Decorate a pure function that turns a payload of ``from_version`` into ``from_version + 1``."""

    def decorate(fn: Upcaster) -> Upcaster:
        _UPCASTERS[(domain, event_type, from_version)] = fn
        return fn

    return decorate


def register_fen_upcaster(event: type[Event], from_version: int = 1) -> None:
    """Register the upcast of ``event``'s ``from_version``, whose money was float yuan or integers named
    ``*_cents``, to the next version in ``*_fen``: each amount its ``legacy_yuan`` names gains its ``_fen`` field
    (``money.with_fen``), each its ``legacy_cents`` names gains its ``_fen`` field equal to it
    (``money.with_fen_names``)."""
    yuan, cents = dict(event.legacy_yuan), dict(event.legacy_cents)
    register_upcaster(event.domain, event.__name__, from_version)(
        lambda payload: with_fen_names(with_fen(payload, yuan), cents)
    )


def has_upcaster(domain: str, event_type: str, from_version: int) -> bool:
    """Whether a payload of ``from_version`` can be brought one version forward."""
    if (domain, event_type, from_version) not in _UPCASTERS and _loaded_now():
        return has_upcaster(domain, event_type, from_version)
    return (domain, event_type, from_version) in _UPCASTERS


def upcast(domain: str, event_type: str, version: int, payload: Payload, target: int) -> Payload:
    """Apply upcasters until ``payload`` is of schema version ``target``."""
    while version < target:
        step = _UPCASTERS.get((domain, event_type, version))
        if step is None and _loaded_now():
            continue
        if step is None:
            raise LookupError(f"no upcaster for {domain}.{event_type} v{version} -> v{version + 1}")
        payload = step(dict(payload))
        version += 1
    return payload


def event_from_payload(domain: str, event_type: str, version: int, payload: Mapping[str, Any]) -> Event:
    """Rebuild a domain event from a stored payload, upcasting it to the current version first."""
    cls = event_class(domain, event_type)
    current = cls.schema_version
    data = upcast(domain, event_type, version, dict(payload), current) if version < current else payload
    if cls.legacy_yuan or cls.legacy_cents:
        return cls(**{k: v for k, v in data.items() if k not in cls.legacy_yuan and k not in cls.legacy_cents})
    return cls(**data)


@dataclass(frozen=True)
class Metadata:
    """Who caused an event and in answer to what: carried from the gateway through RPC to the store."""

    actor: str = "system"
    correlation_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    causation_id: str | None = None
    idempotency_key: str | None = None
    """The caller's own key (``Idempotency-Key``, a district message's id): a repeat answers the same."""
    scope_district: str | None = None
    """Set for a district operator or a district's own system: it may write that district's aggregates only."""
    request_key: str | None = None
    """The gateway's key for one HTTP request without a key of the caller's: a redelivered RPC acts once."""
    deadline: float | None = None
    """When the caller stops waiting for the command's answer (seconds since the epoch): not acted on after it."""
    edge_refusal: str | None = None
    """The gateway's refusal of the command (a reference check, as a ``ServiceError`` document): the service
    answers it without running the command and records it under the caller's key, so that key always gets
    the same answer, like a refusal of the service's own."""

    @property
    def command_key(self) -> str | None:
        """The key a command's answer is recorded under: the caller's, else the request's."""
        return self.idempotency_key or self.request_key


@dataclass(frozen=True, slots=True)
class Envelope:
    """The stored and published form of an event (see docs/architecture.md, "Event envelope").

    Its fields are slots: an envelope is one object for the garbage collector, not two (an object and its
    ``__dict__``), which a projector holding a batch of thousands makes collect less often."""

    event_id: str
    event_type: str
    schema_version: int
    stream_type: str
    stream_id: str
    stream_version: int
    occurred_at: str
    recorded_at: str
    district: str | None
    agency_id: str | None
    actor: str
    correlation_id: str
    causation_id: str | None
    payload: Payload
    domain: str = ""
    position: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """The envelope as published on Kafka (without the store-local position); the payload is shared."""
        return {name: getattr(self, name) for name in PUBLISHED_FIELDS}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], position: int | None = None) -> Envelope:
        """Read an envelope from its published form."""
        return cls(**{k: data[k] for k in PUBLISHED_FIELDS if k in data}, position=position)

    @staticmethod
    def from_valid(data: Mapping[str, Any]) -> Envelope:
        """Read an envelope from a published form that passed the envelope contract (every published field is
        there): what ``from_dict`` gives, at a fifth of its cost (a projector reads a million in a rebuild).

        The frozen dataclass's ``__init__`` sets each field with ``object.__setattr__``, a call per field. Here an
        ``_OpenEnvelope`` — the same slots, in the same order, and no guard — takes the fields as plain attribute
        stores, and then becomes an ``Envelope`` (``__class__`` assigned: CPython allows it between classes of the
        same layout, which ``_OpenEnvelope`` is checked to keep at import). The dataclass has no
        ``__post_init__`` to run."""
        env = _OpenEnvelope(data)
        _BECOME(env, "__class__", Envelope)
        return cast(Envelope, env)

    def event(self) -> Event:
        """The domain event inside, upcast to its current version."""
        return event_from_payload(self.domain, self.event_type, self.schema_version, self.payload)


PUBLISHED_FIELDS = tuple(f.name for f in dataclasses.fields(Envelope) if f.name != "position")
"""The envelope fields a published message carries, in their order (not the store-local position)."""


class _OpenEnvelope:
    """An ``Envelope`` being read by ``Envelope.from_valid``: its slots, set as plain attributes."""

    __slots__ = (*PUBLISHED_FIELDS, "position")  # Envelope's, in its order: the layout must be the same

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.event_id = data["event_id"]
        self.event_type = data["event_type"]
        self.schema_version = data["schema_version"]
        self.stream_type = data["stream_type"]
        self.stream_id = data["stream_id"]
        self.stream_version = data["stream_version"]
        self.occurred_at = data["occurred_at"]
        self.recorded_at = data["recorded_at"]
        self.district = data["district"]
        self.agency_id = data["agency_id"]
        self.actor = data["actor"]
        self.correlation_id = data["correlation_id"]
        self.causation_id = data["causation_id"]
        self.payload = data["payload"]
        self.domain = data["domain"]
        self.position = None


if _OpenEnvelope.__slots__ != Envelope.__slots__ or _OpenEnvelope.__basicsize__ != Envelope.__basicsize__:
    raise TypeError("_OpenEnvelope must keep Envelope's slots, in their order, to become one")
_BECOME: Callable[[object, str, type], None] = object.__setattr__
"""``object.__setattr__``: assigns ``__class__`` past the frozen dataclass's guard."""

ENVELOPE_FIELDS = (
    "event_id",
    "event_type",
    "schema_version",
    "stream_type",
    "stream_id",
    "stream_version",
    "occurred_at",
    "recorded_at",
    "district",
    "agency_id",
    "actor",
    "correlation_id",
    "causation_id",
    "payload",
)
