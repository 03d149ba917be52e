"""Office space (办公用房) and agency master data routes."""

from __future__ import annotations

from typing import Any

from nameko.rpc import RpcProxy
from sqlalchemy.engine import Engine
from werkzeug.wrappers import Request

from services.common.errors import NotFound
from services.common.rpc import load_command as validated
from services.gateway.auth import READERS, WRITERS, Principal
from services.gateway.schemas import AgencyListSchema
from services.gateway.views import agencies
from services.gateway.web import api, call, read_json
from services.office_space.schemas import RegisterAgencySchema


class OfficeSpaceApi:
    """Routes of the office-space service and the agency directory."""

    db: Engine
    office_space = RpcProxy("office_space")

    @api("POST", "/api/v1/agencies", roles=WRITERS)
    def register_agency(self, request: Request, principal: Principal) -> tuple[int, Any]:
        """RegisterAgency: add an agency to the master data."""
        body = read_json(request)
        principal.require_district(validated(RegisterAgencySchema, body)["district"])
        return 201, call(self.office_space.register_agency, body)

    @api("GET", "/api/v1/agencies/<agency_id>", roles=READERS)
    def get_agency(self, request: Request, principal: Principal, agency_id: str) -> dict[str, Any]:
        """One agency of the data center's directory."""
        with self.db.connect() as conn:
            row = agencies.agency_row(conn, agency_id)
        if row is None:
            raise NotFound(f"agency {agency_id} not found")
        principal.require_district(row["district"])
        return row

    @api("GET", "/api/v1/agencies", roles=READERS)
    def list_agencies(self, request: Request, principal: Principal) -> dict[str, Any]:
        """Agencies of the directory (a district operator sees its own district)."""
        query = validated(AgencyListSchema, request.args.to_dict())
        district = principal.visible_district() or query["district"]
        with self.db.connect() as conn:
            rows = agencies.agency_rows(conn, district, query["limit"], query["offset"])
        return {"items": rows, "limit": query["limit"], "offset": query["offset"]}
