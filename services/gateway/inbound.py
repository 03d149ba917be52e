"""District integration (辖市区): the gateway's handler of ``district.<code>.inbound`` messages.

Each inbound message type is routed to the owning service's command, validated with that command's own
schema, exactly as the HTTP API does; the entrypoint (``services.common.inbound``) supplies the
district's actor, scope and idempotency key. ``ROUTES`` is the table of message types (each
domain's ``services/gateway/api/<domain>.py`` declares its own in ``INBOUND_ROUTES``); each has its
payload contract in ``contracts/inbound/<message_type>.v<N>.json`` and appears in ``contracts/asyncapi.yaml``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from services.common.inbound import InboundMessage, Rejected, as_rejection, district_inbound
from services.common.rpc import load_command
from services.gateway.api import assets, energy, office_space, procurement, vehicles
from services.gateway.web import InboundRoute, call

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
        try:
            payload = current_payload(message.message_type, message.schema_version, dict(message.payload))
            load_command(route.schema, payload)
            return call(getattr(getattr(self, route.service), route.command), payload)
        except Exception as error:
            raise as_rejection(error) from error
