"""The gateway (网关): the public HTTP API in front of every service, and the city data center.

Commands: authenticate, check role and district scope, validate the body, call the owning service over
RPC with actor and correlation id, answer with the new version and event ids.
Queries: read the data center's projections, built here from every service's events.
"""

from __future__ import annotations

from typing import Any

from nameko.rpc import RpcProxy
from sqlalchemy.engine import Engine
from werkzeug.wrappers import Request, Response

from services.common.db import create_db_engine
from services.common.errors import NotFound
from services.common.metrics import UP, render_metrics
from services.common.projector import Projector
from services.common.rpc import ProjectorRunner
from services.common.rpc import load_command as validated
from services.common.settings import settings
from services.gateway import views
from services.gateway.auth import OPERATORS, READERS, WRITERS, Principal
from services.gateway.schemas import AgencyListSchema
from services.gateway.web import GatewayDatabase, RequestContext, api, call, read_json
from services.office_space.schemas import RegisterAgencySchema


def data_center_projector(service: str) -> Projector:
    """The data-center projector of a running gateway (its own engine on the gateway database)."""
    return views.data_center_projector(create_db_engine(settings().database_url("gateway")), service=service)


class GatewayService:
    """Nameko service ``gateway``: HTTP in, RPC out, projections read."""

    name = "gateway"
    db: Engine = GatewayDatabase()
    request_context: dict[str, Any] = RequestContext()
    datacenter: Projector = ProjectorRunner(data_center_projector)
    office_space = RpcProxy("office_space")

    @api("GET", "/health", roles=None)
    def health(self, request: Request, principal: None) -> tuple[int, dict[str, Any]]:
        """Liveness of the gateway and whether its projector runs."""
        running = self.datacenter is not None
        return (200 if running else 503), {"service": "gateway", "status": "ok" if running else "starting"}

    @api("GET", "/metrics", roles=None)
    def metrics(self, request: Request, principal: None) -> Response:
        """Prometheus metrics of the gateway."""
        UP.labels("gateway").set(1)
        body, content_type = render_metrics()
        return Response(body, content_type=content_type)

    @api("POST", "/api/v1/agencies", roles=WRITERS)
    def register_agency(self, request: Request, principal: Principal) -> tuple[int, Any]:
        """RegisterAgency (office space): add an agency to the master data."""
        body = read_json(request)
        principal.require_district(validated(RegisterAgencySchema, body)["district"])
        return 201, call(self.office_space.register_agency, body)

    @api("GET", "/api/v1/agencies/<agency_id>", roles=READERS)
    def get_agency(self, request: Request, principal: Principal, agency_id: str) -> dict[str, Any]:
        """One agency of the data center's directory."""
        with self.db.connect() as conn:
            row = views.agency_row(conn, agency_id)
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
            rows = views.agency_rows(conn, district, query["limit"], query["offset"])
        return {"items": rows, "limit": query["limit"], "offset": query["offset"]}

    @api("GET", "/api/v1/projections", roles=READERS | OPERATORS)
    def projections(self, request: Request, principal: Principal) -> dict[str, Any]:
        """The position each projection reflects and when its newest event was recorded."""
        return {"projectors": [self.datacenter.status()]}
