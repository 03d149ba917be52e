"""Office space (办公用房) and agency master data routes.

Writers (city administrators, district operators in their district) register and change; approvals,
exceptions above the standard and adjustment between agencies are the city administration's.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy.engine import Engine
from werkzeug.wrappers import Request, Response

from services.common.base.db import reader
from services.common.kernel.errors import NotFound
from services.common.kernel.schemas import load_command as validated
from services.common.runtime.rpc import rpc_proxy
from services.gateway.auth import CITY_ADMINS, READERS, WRITERS, Principal
from services.gateway.schemas import AgencyListSchema
from services.gateway.views import agencies
from services.gateway.web import (
    InboundRoute,
    agency_in_scope,
    api,
    call,
    command_route,
    query_route,
    registered_district,
)
from services.office_space import schemas as s

OS = "office_space"

INBOUND_ROUTES = {
    "office_space.register_agency": InboundRoute(OS, "register_agency", s.RegisterAgencySchema),
    "office_space.post_staff": InboundRoute(OS, "post_staff", s.PostStaffSchema),
    "office_space.record_departure": InboundRoute(OS, "record_departure", s.RecordDepartureSchema),
    "office_space.transfer_staff": InboundRoute(OS, "transfer_staff", s.TransferStaffSchema),
}
"""District inbound message types of this service (contracts in ``contracts/inbound/``)."""


class OfficeSpaceApi:
    """Routes of the office-space service and the agency directory."""

    db: Engine
    office_space = rpc_proxy(OS)

    register_agency = command_route(
        "POST",
        "/api/v1/agencies",
        OS,
        "register_agency",
        s.RegisterAgencySchema,
        WRITERS,
        district_scope="district",
        status=201,
    )
    change_headcount = command_route(
        "POST", "/api/v1/agencies/<agency_id>/headcount", OS, "change_headcount", s.ChangeHeadcountSchema, CITY_ADMINS
    )
    post_staff = command_route(
        "POST", "/api/v1/agencies/<agency_id>/staff", OS, "post_staff", s.PostStaffSchema, WRITERS, status=201
    )
    record_departure = command_route(
        "POST",
        "/api/v1/agencies/<agency_id>/staff/<person_id>/departure",
        OS,
        "record_departure",
        s.RecordDepartureSchema,
        WRITERS,
    )
    transfer_staff = command_route(
        "POST",
        "/api/v1/agencies/<agency_id>/staff/<person_id>/transfer",
        OS,
        "transfer_staff",
        s.TransferStaffSchema,
        WRITERS,
    )

    register_building = command_route(
        "POST", "/api/v1/buildings", OS, "register_building", s.RegisterBuildingSchema, WRITERS, status=201
    )
    add_room = command_route(
        "POST",
        "/api/v1/buildings/<building_id>/rooms",
        OS,
        "add_room",
        s.AddRoomSchema,
        WRITERS,
        district_scope="service",
        status=201,
    )
    allocate_room = command_route(
        "POST",
        "/api/v1/buildings/<building_id>/rooms/<room_id>/allocations",
        OS,
        "allocate_room",
        s.AllocateRoomSchema,
        WRITERS,
        status=201,
    )
    release_room = command_route(
        "POST",
        "/api/v1/buildings/<building_id>/rooms/<room_id>/release",
        OS,
        "release_room",
        s.ReleaseRoomSchema,
        WRITERS,
        district_scope="service",
    )
    detect_idle_rooms = command_route(
        "POST",
        "/api/v1/office-space/idle-room-checks",
        OS,
        "detect_idle_rooms",
        s.DetectIdleRoomsSchema,
        CITY_ADMINS,
        district_scope="service",
    )
    transfer_room = command_route(
        "POST",
        "/api/v1/buildings/<building_id>/rooms/<room_id>/transfer",
        OS,
        "transfer_room",
        s.TransferRoomSchema,
        CITY_ADMINS,
        district_scope="service",
    )

    request_lease = command_route(
        "POST", "/api/v1/leases", OS, "request_lease", s.RequestLeaseSchema, WRITERS, status=201
    )
    decide_lease = command_route(
        "POST",
        "/api/v1/leases/<lease_id>/decision",
        OS,
        "decide_lease",
        s.DecideLeaseSchema,
        CITY_ADMINS,
        district_scope="service",
    )
    activate_lease = command_route(
        "POST",
        "/api/v1/leases/<lease_id>/activate",
        OS,
        "activate_lease",
        s.LeaseIdSchema,
        WRITERS,
        district_scope="service",
    )
    end_lease = command_route(
        "POST", "/api/v1/leases/<lease_id>/end", OS, "end_lease", s.LeaseIdSchema, WRITERS, district_scope="service"
    )
    record_unapproved_lease = command_route(
        "POST",
        "/api/v1/leases/unapproved",
        OS,
        "record_unapproved_lease",
        s.RecordUnapprovedLeaseSchema,
        CITY_ADMINS,
        status=201,
    )

    apply_repair = command_route(
        "POST", "/api/v1/repair-projects", OS, "apply_repair", s.ApplyRepairSchema, WRITERS, status=201
    )
    review_repair = command_route(
        "POST",
        "/api/v1/repair-projects/<project_id>/necessity-review",
        OS,
        "review_repair_necessity",
        s.ReviewNecessitySchema,
        CITY_ADMINS,
        district_scope="service",
    )
    decide_repair = command_route(
        "POST",
        "/api/v1/repair-projects/<project_id>/decision",
        OS,
        "decide_repair",
        s.DecideRepairSchema,
        CITY_ADMINS,
        district_scope="service",
    )
    start_repair = command_route(
        "POST",
        "/api/v1/repair-projects/<project_id>/start",
        OS,
        "start_repair",
        s.RepairIdSchema,
        WRITERS,
        district_scope="service",
    )
    record_repair_change = command_route(
        "POST",
        "/api/v1/repair-projects/<project_id>/changes",
        OS,
        "record_repair_change",
        s.RecordRepairChangeSchema,
        WRITERS,
        district_scope="service",
        status=201,
    )
    complete_repair = command_route(
        "POST",
        "/api/v1/repair-projects/<project_id>/complete",
        OS,
        "complete_repair",
        s.CompleteRepairSchema,
        WRITERS,
        district_scope="service",
    )

    open_inspection = command_route(
        "POST", "/api/v1/inspections", OS, "open_inspection", s.OpenInspectionSchema, CITY_ADMINS, status=201
    )
    record_finding = command_route(
        "POST",
        "/api/v1/inspections/<inspection_id>/findings",
        OS,
        "record_finding",
        s.RecordFindingSchema,
        CITY_ADMINS,
        district_scope="service",
        status=201,
    )
    rectify_finding = command_route(
        "POST",
        "/api/v1/inspections/<inspection_id>/findings/<finding_id>/rectification",
        OS,
        "rectify_finding",
        s.RectifyFindingSchema,
        WRITERS,
        district_scope="service",
    )

    register_property = command_route(
        "POST",
        "/api/v1/operating-properties",
        OS,
        "register_property",
        s.RegisterPropertySchema,
        CITY_ADMINS,
        district_scope="district",
        status=201,
    )
    add_property_unit = command_route(
        "POST",
        "/api/v1/operating-properties/<property_id>/units",
        OS,
        "add_property_unit",
        s.AddUnitSchema,
        CITY_ADMINS,
        district_scope="service",
        status=201,
    )
    let_unit = command_route(
        "POST",
        "/api/v1/operating-properties/<property_id>/units/<unit_id>/tenancy",
        OS,
        "let_unit",
        s.LetUnitSchema,
        CITY_ADMINS,
        district_scope="service",
    )
    vacate_unit = command_route(
        "POST",
        "/api/v1/operating-properties/<property_id>/units/<unit_id>/vacate",
        OS,
        "vacate_unit",
        s.VacateUnitSchema,
        CITY_ADMINS,
        district_scope="service",
    )
    receive_rent = command_route(
        "POST",
        "/api/v1/operating-properties/<property_id>/units/<unit_id>/rent",
        OS,
        "receive_rent",
        s.ReceiveRentSchema,
        CITY_ADMINS,
        district_scope="service",
        status=201,
    )

    space_report = query_route(
        "/api/v1/office-space/report",
        OS,
        "space_report",
        s.SpaceQuerySchema,
        READERS,
        table="figures,over_standard,idle_rooms,findings",
    )
    property_performance = query_route(
        "/api/v1/operating-properties/<property_id>/performance",
        OS,
        "property_performance",
        s.PropertyPerformanceSchema,
        READERS,
    )

    @api(
        "GET",
        "/api/v1/buildings.geojson",
        roles=READERS,
        query=s.BuildingLocationsQuerySchema,
        scope="listing",
        content_type="application/geo+json",
    )
    def building_locations(self, request: Request, principal: Principal) -> Response:
        """Buildings' locations as GeoJSON (RFC 7946: a FeatureCollection of Points in WGS-84, longitude first;
        a building whose location was never given has ``geometry: null``); a district operator gets its own."""
        args = request.args.to_dict()
        loaded = validated(s.BuildingLocationsQuerySchema, args)
        visible = principal.visible_district()
        if visible:
            if loaded["agency_id"]:
                agency_in_scope(self.db, principal, loaded["agency_id"], registered=registered_district(self))
            args["district"] = visible
        collection = call(self.office_space.building_locations, args)
        body = json.dumps(collection, ensure_ascii=False)
        return Response(body, content_type="application/geo+json; charset=utf-8")

    @api("GET", "/api/v1/agencies/<agency_id>", roles=READERS, scope="resource")
    def get_agency(self, request: Request, principal: Principal, agency_id: str) -> dict[str, Any]:
        """One agency of the data center's directory."""
        with reader(self.db).connect() as conn:
            row = agencies.agency_row(conn, agency_id)
        if row is None:
            raise NotFound(f"agency {agency_id} not found")
        principal.require_district(row["district"])
        return row

    @api("GET", "/api/v1/agencies", roles=READERS, query=AgencyListSchema, scope="listing", table="items")
    def list_agencies(self, request: Request, principal: Principal) -> dict[str, Any]:
        """Agencies of the directory (a district operator sees its own district)."""
        query = validated(AgencyListSchema, request.args.to_dict())
        district = principal.visible_district() or query["district"]
        with reader(self.db).connect() as conn:
            rows = agencies.agency_rows(conn, district, query["limit"], query["offset"])
        return {"items": rows, "limit": query["limit"], "offset": query["offset"]}
