"""District integration (辖市区): the gateway's handler of ``district.<code>.inbound`` messages.

Each inbound message type is routed to the owning service's command, validated with that command's own
schema and its references checked (``services.gateway.references``), exactly as the HTTP API does; another
district's record is refused exactly as a missing one; the entrypoint (``services.common.read.inbound``) supplies the
district's actor, scope and idempotency key. ``ROUTES`` is the table of message types (each
domain's ``services/gateway/api/<domain>.py`` declares its own in ``INBOUND_ROUTES``); each has its
payload contract in ``contracts/inbound/<message_type>.v<N>.json`` and appears in ``contracts/asyncapi.yaml``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from services.common.base.db import unavailable_when_store_fails
from services.common.kernel.errors import NotInScope, PlatformError, ValidationFailed
from services.common.kernel.schemas import load_command
from services.common.read.inbound import InboundMessage, Rejected, as_rejection, district_inbound
from services.common.runtime.rpc import ServiceError
from services.gateway.api import assets, energy, office_space, procurement, vehicles
from services.gateway.auth import Principal
from services.gateway.references import Reference, check_references, created_fields, references_of
from services.gateway.web import InboundRoute, call, owner_lookup

ROUTES: dict[str, InboundRoute] = {
    name: route
    for module in (office_space, vehicles, assets, procurement, energy)
    for name, route in getattr(module, "INBOUND_ROUTES", {}).items()
}
"""Every inbound message type: each domain's routes module names its own in ``INBOUND_ROUTES``."""

UPCASTERS: dict[tuple[str, int], Callable[[dict[str, Any]], dict[str, Any]]] = {
    key: step
    for module in (office_space, vehicles, assets, procurement, energy)
    for key, step in getattr(module, "INBOUND_UPCASTERS", {}).items()
}
"""(message type, version) -> the pure function reading that version's payload as the next version's."""


def current_payload(message_type: str, version: int, payload: dict[str, Any]) -> dict[str, Any]:
    """The payload of a message of ``version`` as the command of its route takes it (the newest version)."""
    while (message_type, version) in UPCASTERS:
        payload = UPCASTERS[(message_type, version)](payload)
        version += 1
    return payload


class DistrictInboundApi:
    """Mixin of the gateway: handles every district's inbound messages."""

    @district_inbound
    def handle_district_message(self, message: InboundMessage) -> Any:
        """Route one district message to its service's command; refusals go back to the district."""
        route = ROUTES.get(message.message_type)
        if route is None:
            raise Rejected(
                "unknown_message_type", f"no route for {message.message_type}", {"message_type": ["unknown"]}
            )
        declared = references_of(route.service, route.command)
        payload: dict[str, Any] = {}
        try:
            payload = current_payload(message.message_type, message.schema_version, dict(message.payload))
            loaded = load_command(route.schema, payload)
            self._check_references(message.district, declared, loaded)
            return call(getattr(getattr(self, route.service), route.command), payload)
        except Exception as error:
            created = created_fields(route.service, route.command)
            raise as_rejection(as_missing(error, payload, declared, created)) from error

    def _check_references(self, district: str, declared: tuple[Reference, ...], loaded: dict[str, Any]) -> None:
        """Every id the message names, checked as the HTTP route checks it (``references``), the district's system
        being an operator of its own district. A refusal is sent on to the owning service as the gateway's
        (``edge_refusal``), which records it under the message's key: the message sent again gets it again,
        even once the record it named exists."""
        try:
            # the directory's database gone for a moment: tried again, not rejected
            with unavailable_when_store_fails("the gateway's database did not answer"):
                check_references(district_system(district), declared, loaded, frozenset(), owner_lookup(self))
        except PlatformError as refused:
            if refused.http_status >= 500:  # that 503, a service that did not answer: passing failures, tried again
                raise
            self.request_context["edge_refusal"] = json.dumps(ServiceError.from_error(refused).document())


def district_system(district: str) -> Principal:
    """A district's own systems, as the reference checks see them: an operator of that district alone."""
    return Principal(f"district:{district}", f"district-{district}", "district_operator", district)


def as_missing(
    error: Exception, payload: dict[str, Any], declared: tuple[Reference, ...], created: frozenset[str] = frozenset()
) -> Exception:
    """The owning service's refusal of a message naming another district's record (``not_in_scope`` listing it
    among ``outside``) or a record that does not exist (the store's 404 naming its ``stream_id``) as one and the
    same answer: the reference check's refusal of a missing record (422, ``unknown <kind>`` on the field), so the
    rejected topic tells no district which ids exist elsewhere. The record the message creates (``created``:
    registered for another district) and every other error stay as they are."""
    fields = {str(v): k for k, v in payload.items() if isinstance(v, str) and v and k not in created}
    code, details = getattr(error, "code", None), getattr(error, "details", None) or {}
    if code == NotInScope.code:
        named = [found for found in details.get("outside", []) if found in fields]
    elif getattr(error, "http_status", None) == 404 and details.get("stream_id") in fields:
        named = [details["stream_id"]]
    else:
        return error
    if not named:
        return error
    field = fields[named[0]]
    kind = next((ref.kind for ref in declared if ref.field == field), field.removesuffix("_id").replace("_", " "))
    return ValidationFailed(f"{kind} {named[0]} not found", fields={field: [f"unknown {kind}"]})
