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
    try:
        loaded: dict[str, Any] = instance.load(with_current_money_names(instance, payload))
    except ValidationError as exc:
        raise ValidationFailed("invalid input", fields=exc.normalized_messages()) from None  # type: ignore[no-untyped-call]
    return loaded


_SCHEMAS: dict[type[Schema], Schema] = {}


def _instance_of(schema: type[Schema]) -> Schema:
    """One instance per schema class, reused: making one costs twice what loading with it does (a schema keeps
    no state between loads)."""
    instance = _SCHEMAS.get(schema)
    if instance is None:
        instance = _SCHEMAS[schema] = schema()
    return instance
