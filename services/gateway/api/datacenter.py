"""The data center (机关事务大数据中心): city, district and agency figures and the open findings list,
read from the gateway's projections; and the dashboard page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from werkzeug.wrappers import Request, Response

from services.common.errors import NotFound
from services.common.events import utc_now
from services.common.rpc import load_command as validated
from services.gateway.auth import READERS, Principal
from services.gateway.schemas import DataCenterQuerySchema, FindingsQuerySchema
from services.gateway.views import office_space as space
from services.gateway.web import api

DASHBOARD = Path(__file__).resolve().parents[1] / "dashboard" / "index.html"


class DataCenterApi:
    """Read-only routes over the data center's projections."""

    db: Engine

    @api("GET", "/", roles=None)
    def dashboard(self, request: Request, principal: None) -> Response:
        """The dashboard (Chinese first, English available); it asks for a token and reads the API."""
        return Response(DASHBOARD.read_bytes(), content_type="text/html; charset=utf-8")

    @api("GET", "/api/v1/datacenter/city", roles=READERS)
    def city(self, request: Request, principal: Principal) -> dict[str, Any]:
        """City-wide figures and every district's, from all agencies."""
        with self.db.connect() as conn:
            rows = space.space_by_agency(conn)
        city = space.roll_up(rows, None)
        return {"city": city[0] if city else None, "districts": space.roll_up(rows, "district")}

    @api("GET", "/api/v1/datacenter/agencies", roles=READERS)
    def agencies(self, request: Request, principal: Principal) -> dict[str, Any]:
        """Per agency figures (a district operator sees its own district's)."""
        query = validated(DataCenterQuerySchema, request.args.to_dict())
        with self.db.connect() as conn:
            rows = space.space_by_agency(conn, principal.visible_district() or query["district"], query["agency_id"])
        return {"items": rows}

    @api("GET", "/api/v1/datacenter/agencies/<agency_id>", roles=READERS)
    def agency_profile(self, request: Request, principal: Principal, agency_id: str) -> dict[str, Any]:
        """One agency's profile: master data, space against the standard, idle rooms, open findings."""
        with self.db.connect() as conn:
            rows = space.space_by_agency(conn, agency_id=agency_id)
            if not rows:
                raise NotFound(f"agency {agency_id} not found")
            principal.require_district(rows[0]["district"])
            found = space.open_findings_list(conn, None, agency_id, None, 0, utc_now().date().isoformat())
        return {**rows[0], "findings": found}

    @api("GET", "/api/v1/datacenter/findings", roles=READERS)
    def findings(self, request: Request, principal: Principal) -> dict[str, Any]:
        """Open findings of every system, filterable by district, agency, kind and age."""
        q = validated(FindingsQuerySchema, request.args.to_dict())
        district = principal.visible_district() or q["district"]
        with self.db.connect() as conn:
            items = space.open_findings_list(
                conn, district, q["agency_id"], q["kind"], q["min_age_days"], utc_now().date().isoformat()
            )
        return {"items": items}
