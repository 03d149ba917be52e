"""District integration (辖市区): the gateway's handler of ``district.<code>.inbound`` messages.

Each inbound message type is routed to the owning service's command, validated with that command's own
schema, exactly as the HTTP API does; the entrypoint (``services.common.inbound``) supplies the
district's actor, scope and idempotency key. ``ROUTES`` is the table of message types; each has its
payload contract in ``contracts/inbound/<message_type>.v<N>.json`` and appears in ``contracts/asyncapi.yaml``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from marshmallow import Schema

from services.common.inbound import InboundMessage, Rejected, as_rejection, district_inbound
from services.common.rpc import load_command
from services.gateway.web import call
from services.office_space.schemas import RegisterAgencySchema


@dataclass(frozen=True)
class Route:
    """Where a message type goes: the service's RPC proxy attribute, its command, the command's schema."""

    service: str
    command: str
    schema: type[Schema]


ROUTES: dict[str, Route] = {
    "office_space.register_agency": Route("office_space", "register_agency", RegisterAgencySchema),
}


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
            load_command(route.schema, message.payload)
            return call(getattr(getattr(self, route.service), route.command), message.payload)
        except Exception as error:
            raise as_rejection(error) from error
