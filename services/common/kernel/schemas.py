"""Schemas every service shares and how a payload is loaded with one: ``load_command`` validates a command or
query (however it came: HTTP, a district's message, another service) and ``ActorQuerySchema`` is the audit
trail's query every ``DomainService`` answers."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

from services.common.kernel.decoding import check_decoded
from services.common.kernel.errors import ValidationFailed
from services.common.kernel.validators import with_current_money_names


class CommandKeySchema(Schema):
    """A command's key, as the gateway sent it (``idempotency_key`` or ``request_key`` of its context)."""

    key = fields.String(required=True, validate=validate.Length(min=1, max=400))


class ActorQuerySchema(Schema):
    """Who did what: the latest events recorded for one actor (``role:token name`` or ``district:<code>``)."""

    actor = fields.String(required=True, validate=validate.Length(min=1, max=200))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))


def load_command(schema: type[Schema] | None, payload: Any) -> dict[str, Any]:
    """``payload`` loaded by ``schema``; ValidationFailed with field reasons when it does not fit."""
    if schema is None:
        return dict(payload or {})
    if not isinstance(payload, dict):
        raise ValidationFailed("the command body must be a JSON object", fields={"_schema": ["not an object"]})
    check_decoded(payload)  # however the command came: HTTP, a district's message, another service
    instance = _instance_of(schema)
    odd = _numbers_in_odd_digits(instance, payload) or _lists_too_long(instance, payload)
    if odd:
        raise ValidationFailed("invalid input", fields=odd)
    try:
        loaded: dict[str, Any] = instance.load(with_current_money_names(instance, payload))
    except ValidationError as exc:
        raise ValidationFailed("invalid input", fields=exc.normalized_messages()) from None  # type: ignore[no-untyped-call]
    return loaded


PLAIN_NUMBER = "a number in ASCII digits (no other script's digits, no _ or spaces)"


def _numbers_in_odd_digits(schema: Schema, payload: dict[str, Any]) -> dict[str, list[str]]:
    """The number fields given as text (a query's ``limit``, a number sent as a JSON string) that Python would read
    though no person writing a number means it so: another script's digits (``٣``, ``５``), ``_`` between digits,
    spaces around them (``int`` takes all of these). A number field is ASCII digits, a sign, a point or an
    exponent; anything else is refused with the field's reason, as any other value it cannot take."""
    odd: dict[str, list[str]] = {}
    for key in _number_keys(schema):
        value = payload.get(key)
        texts = [v for v in (value if isinstance(value, list) else [value]) if isinstance(v, str)]
        if not all(map(plain_number_text, texts)):
            odd[key] = [PLAIN_NUMBER]
    return odd


def plain_number_text(text: str) -> bool:
    """Whether ``text`` may be read as a number: ASCII, no ``_``, no spaces around it (``PLAIN_NUMBER``); whether
    it is a number at all is the reader's to say."""
    return text.isascii() and "_" not in text and text == text.strip()


def _lists_too_long(schema: Schema, payload: dict[str, Any]) -> dict[str, list[str]]:
    """The list fields whose value is longer than their ``Length`` allows, with its reason: refused before any
    item is judged. marshmallow judges every item first and the length after, so 28,000 bad GPS points in one
    request (5,000 at most) cost the gateway 3 s of CPU to list 84,000 reasons. A list too short (an empty one)
    is left to marshmallow, which names it beside the other fields' reasons."""
    too_long: dict[str, list[str]] = {}
    for key, bounds in _list_lengths(schema):
        value = payload.get(key)
        if isinstance(value, list):
            for bound in bounds:
                if bound.max is None or len(value) <= bound.max:
                    continue
                try:
                    bound(value)
                except ValidationError as refused:
                    too_long[key] = [str(m) for m in refused.messages] if isinstance(refused.messages, list) else []
    return too_long


_LIST_LENGTHS: dict[type[Schema], tuple[tuple[str, tuple[validate.Length, ...]], ...]] = {}


def _list_lengths(schema: Schema) -> tuple[tuple[str, tuple[validate.Length, ...]], ...]:
    """The keys of ``schema``'s list fields with their ``Length`` validators (found once per schema class)."""
    found = _LIST_LENGTHS.get(type(schema))
    if found is None:
        found = _LIST_LENGTHS[type(schema)] = tuple(
            (field.data_key or name, lengths)
            for name, field in schema.fields.items()
            if isinstance(field, fields.List)
            and (lengths := tuple(v for v in field.validators if isinstance(v, validate.Length)))
        )
    return found


_NUMBER_KEYS: dict[type[Schema], tuple[str, ...]] = {}


def _number_keys(schema: Schema) -> tuple[str, ...]:
    """The keys of ``schema``'s number fields and lists of numbers (found once per schema class)."""
    found = _NUMBER_KEYS.get(type(schema))
    if found is None:
        found = _NUMBER_KEYS[type(schema)] = tuple(
            field.data_key or name
            for name, field in schema.fields.items()
            if isinstance(field.inner if isinstance(field, fields.List) else field, fields.Number)
        )
    return found


_SCHEMAS: dict[type[Schema], Schema] = {}


def _instance_of(schema: type[Schema]) -> Schema:
    """One instance per schema class, reused: making one costs twice what loading with it does (a schema keeps
    no state between loads)."""
    instance = _SCHEMAS.get(schema)
    if instance is None:
        instance = _SCHEMAS[schema] = schema()
    return instance
