"""The office-space service (办公用房): agencies (master data), buildings, rooms and standards.

Every RPC method is the whole public surface of the service: validate (``@command`` with the schema),
load the aggregate, call the domain, append the events, answer with the new version and event ids.
"""

from __future__ import annotations

import uuid
from typing import Any

from services.common.rpc import DomainService, command
from services.common.settings import settings
from services.office_space.domain import Agency
from services.office_space.schemas import RegisterAgencySchema


class OfficeSpaceService(DomainService):
    """Nameko service ``office_space``."""

    name = "office_space"

    @command(RegisterAgencySchema)
    def register_agency(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """RegisterAgency: add an agency to the city's master data."""
        agency = Agency.register(
            agency_id=cmd["agency_id"] or str(uuid.uuid4()),
            name=cmd["name"],
            district=cmd["district"],
            kind=cmd["kind"],
            admin_level=cmd["admin_level"],
            authorised_headcount=cmd["authorised_headcount"],
            known_districts=settings().districts,
        )
        return self.save(agency)

    @command()
    def get_agency(self, query: dict[str, Any]) -> dict[str, Any]:
        """The current state of one agency, from its stream."""
        agency = self.store.load(Agency, str(query.get("agency_id")))
        return {"id": agency.id, "version": agency.version, **agency.snapshot_state()}
