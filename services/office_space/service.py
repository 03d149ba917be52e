"""The office-space service (办公用房): agencies (master data), buildings and rooms against the per-person
standard, idle rooms and adjustment, leases, repair projects, inspections and operating properties.

Every RPC method is the whole public surface of the service: validate (``@command`` with the schema),
load the aggregate, call the domain, append the events, answer with the new version and event ids.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from nameko.timer import timer

from services.common.base.settings import settings
from services.common.kernel.clock import china_today
from services.common.kernel.errors import Forbidden, NotFound
from services.common.kernel.ids import new_id
from services.common.kernel.scope import require_changes_in_scope
from services.common.runtime.dependencies import service_views
from services.common.runtime.rpc import DomainService, command
from services.office_space import read_model
from services.office_space import schemas as s
from services.office_space.domain.agencies import Agency
from services.office_space.domain.base import AREA_STANDARD_2014
from services.office_space.domain.buildings import ApprovedException, Building, Newcomer
from services.office_space.domain.inspections import Inspection
from services.office_space.domain.leases import Lease, require_citing_inspection, require_lease_references
from services.office_space.domain.locations import buildings_collection
from services.office_space.domain.people import Person, require_another_agency
from services.office_space.domain.properties import OperatingProperty
from services.office_space.domain.repairs import RepairProject

IDLE_CHECK_SECONDS = 24 * 3600
"""How often the service looks for offices that became idle (闲置) on its own."""


class OfficeSpaceService(DomainService):
    """Nameko service ``office_space``."""

    name = "office_space"
    read_models = service_views(read_model.OfficeSpaceViews(), migrations=("office_space_views",))

    # -- agencies ------------------------------------------------------------------------------------

    @command(s.RegisterAgencySchema)
    def register_agency(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """RegisterAgency: add an agency to the city's master data (under its supervising agency, if named)."""
        parent_id = cmd.get("parent_agency_id")
        parent = (self.store.find(Agency, parent_id) or Agency(parent_id)) if parent_id else None
        agency = Agency.register(
            agency_id=cmd["agency_id"],
            name=cmd["name"],
            district=cmd["district"],
            kind=cmd["kind"],
            admin_level=cmd["admin_level"],
            authorised_headcount=cmd["authorised_headcount"],
            known_districts=settings().districts,
            parent=parent,
        )
        return self.save(agency)

    @command()
    def get_agency(self, query: dict[str, Any]) -> dict[str, Any]:
        """The current state of one agency, from its stream."""
        agency = self.store.load(Agency, str(query.get("agency_id")))
        return {"id": agency.id, "version": agency.version, **agency.snapshot_state()}

    @command(s.ChangeHeadcountSchema)
    def change_headcount(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """ChangeHeadcount: a new authorised headcount (编制)."""
        agency = self.store.load(Agency, cmd["agency_id"])
        agency.change_headcount(cmd["authorised_headcount"], cmd["reason"])
        return self.save(agency)

    @command(s.PostStaffSchema)
    def post_staff(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """PostStaff: a person takes up a post with a rank of the agency's level; refused (409, naming the
        agency) while they are on post at another agency: a transfer moves them."""
        agency = self.store.load(Agency, cmd["agency_id"])
        posted_on = cmd["posted_on"].isoformat()
        # the name is personal (StaffPosted's x-personal mark): the aggregate keeps its token, never the clear name
        name = self.store.sealed("StaffPosted", 1, {"person_id": cmd["person_id"], "name": cmd["name"]})["name"]
        agency.post_staff(cmd["person_id"], name, cmd["rank"], posted_on)
        # a caller outside the agency's district learns nothing of where the person is on post
        require_changes_in_scope(self.context().scope_district, (agency,))
        person = self._person(cmd["person_id"])
        person.take_post(agency.id, str(agency.district), cmd["rank"], posted_on)
        return self.save(agency, person)

    @command(s.RecordDepartureSchema)
    def record_departure(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """RecordDeparture: a person left; every room they still hold becomes a finding dated the departure."""
        agency = self.store.load(Agency, cmd["agency_id"])
        departed_on = cmd["departed_on"].isoformat()
        agency.record_departure(cmd["person_id"], cmd["reason"], departed_on, china_today())
        person = self._person(cmd["person_id"])
        if person.on_post_at == agency.id:
            person.leave_post(agency.id, cmd["reason"], departed_on)
        buildings, rooms = self._rooms_left_behind(agency.id, cmd["person_id"], cmd["reason"], departed_on)
        # the findings follow from the departure: a room the agency holds in another district's building
        # gets its finding too, and never blocks the agency's own record (scope: the agency and the person)
        return self.save(agency, person, answer={"rooms_still_held": rooms}, following=tuple(buildings))

    @command(s.TransferStaffSchema)
    def transfer_staff(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """TransferStaff: a person moves from one agency to another in one step: they leave the first (rooms
        they still hold there become findings dated the transfer) and take a post at the second."""
        require_another_agency(cmd["agency_id"], cmd["to_agency_id"])
        source = self.store.load(Agency, cmd["agency_id"])
        target = self.store.load(Agency, cmd["to_agency_id"])
        on = cmd["transferred_on"].isoformat()
        held = str(source.staff.get(cmd["person_id"], {}).get("name", ""))
        name = self.store.sealed("StaffPosted", 1, {"person_id": cmd["person_id"], "name": held})["name"]
        rank = cmd["rank"] or source.rank_of(cmd["person_id"])
        source.record_departure(cmd["person_id"], "transferred", on, china_today())
        target.post_staff(cmd["person_id"], name, rank, on)
        require_changes_in_scope(self.context().scope_district, (source, target))
        person = self._person(cmd["person_id"])
        person.require_transferable(source.id, target.id)
        if person.on_post_at == source.id:
            person.leave_post(source.id, "transferred", on)
        person.take_post(target.id, str(target.district), rank, on, from_agency_id=source.id)
        buildings, rooms = self._rooms_left_behind(source.id, cmd["person_id"], "transferred", on)
        # as for a departure: findings in another district's building follow, they never block the transfer
        return self.save(source, target, person, answer={"rooms_still_held": rooms}, following=tuple(buildings))

    def _person(self, person_id: str) -> Person:
        """The person's own stream. A person posted before the stream existed has none: the read model (which
        may lag, but only for those legacy posts) tells where they are on post, and the stream starts there."""
        person = self.store.find(Person, person_id)
        if person is not None:
            return person
        person = Person(person_id)
        holder = read_model.agency_of_person(self.read_models.engine, person_id)
        if holder is not None:
            person.on_post_at, person.district = holder
            person.agency_id = holder[0]
        return person

    def _rooms_left_behind(
        self, agency_id: str, person_id: str, reason: str, departed_on: str
    ) -> tuple[list[Building], list[str]]:
        """The buildings where the person still holds rooms, each with a finding recorded; the rooms."""
        with self.read_models.engine.connect() as conn:
            seen = read_model.buildings_where(conn, person_id)
        # the agency's own buildings come from the store: an allocation made a moment ago may not have reached the
        # read models yet; the read models add rooms of other agencies' buildings adjusted to this one
        owned = self.store.stream_ids_of_agency(Building.stream_type, agency_id)
        buildings = [self.store.load(Building, building_id) for building_id in sorted(set(seen) | set(owned))]
        rooms = [r for b in buildings for r in b.flag_departed(person_id, reason, departed_on, china_today())]
        return buildings, rooms

    # -- buildings and rooms -------------------------------------------------------------------------

    @command(s.RegisterBuildingSchema)
    def register_building(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """RegisterBuilding: an office building of an agency."""
        agency = self.store.load(Agency, cmd["agency_id"])
        building = Building.register(
            building_id=new_id(cmd["building_id"], "BLD"),
            agency_id=agency.id,
            district=str(agency.district),
            name=cmd["name"],
            address=cmd["address"],
            gross_floor_area_m2=cmd["gross_floor_area_m2"],
            longitude=cmd["longitude"],
            latitude=cmd["latitude"],
        )
        return self.save(building)

    @command(s.BuildingIdSchema)
    def get_building(self, query: dict[str, Any]) -> dict[str, Any]:
        """Whose a building is, from its stream (not a projection that may lag): the gateway's reference check
        (``services.gateway.references``) asks it before a command naming the building runs."""
        building = self.store.load(Building, query["building_id"])
        return {
            "id": building.id,
            "version": building.version,
            "agency_id": building.agency_id,
            "district": building.district,
        }

    @command(s.AddRoomSchema)
    def add_room(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """AddRoom: a room with its usable area and use (held by the building's agency unless named)."""
        building = self.load_in_scope(Building, cmd["building_id"])
        holder = cmd["agency_id"] or building.agency_id
        if holder != building.agency_id:
            self.store.load(Agency, holder)
        building.add_room(
            room_id=cmd["room_id"],
            number=cmd["number"],
            usable_area_m2=cmd["usable_area_m2"],
            use=cmd["use"],
            agency_id=str(holder),
            today=china_today(),
            planned_occupancy=cmd["planned_occupancy"],
            vacant_since=cmd["vacant_since"],
        )
        return self.save(building)

    @command(s.AllocateRoomSchema)
    def allocate_room(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """AllocateRoom: one person or several in one step; every occupant is re-judged; above the per-person
        standard only with a city administrator's recorded exception."""
        building = self.store.load(Building, cmd["building_id"])
        agency = self.store.load(Agency, cmd["agency_id"])
        persons = cmd["person_ids"] or [cmd["person_id"]]
        building.allocate_many(
            room_id=cmd["room_id"],
            newcomers=[Newcomer(person_id, agency.rank_of(person_id)) for person_id in persons],
            agency_id=agency.id,
            admin_level=agency.admin_level,
            standard=AREA_STANDARD_2014,
            today=china_today(),
            exception=self._exception(cmd["exception_reason"]),
        )
        return self.save(building)

    def _exception(self, reason: str | None) -> ApprovedException | None:
        if reason is None:
            return None
        actor = self.context().actor
        if not actor.startswith("city_admin:"):
            raise Forbidden("only a city administrator approves an allocation above the standard")
        return ApprovedException(actor, reason)

    @command(s.ReleaseRoomSchema)
    def release_room(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """ReleaseRoom: a person gives up a room (on ``released_on``); those who stay are re-judged."""
        building = self.load_in_scope(Building, cmd["building_id"])
        building.release(cmd["room_id"], cmd["person_id"], china_today(), cmd["released_on"])
        return self.save(building)

    @command(s.DetectIdleRoomsSchema)
    def detect_idle_rooms(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """DetectIdleRooms: offices vacant for the configured number of days become idle."""
        if cmd["building_id"]:
            ids = [cmd["building_id"]]
        else:
            with self.read_models.engine.connect() as conn:
                ids = read_model.buildings_of(conn)
        buildings = list(self.store.find_many(Building, ids).values())
        found = {b.id: b.detect_idle_rooms(china_today(), cmd["idle_after_days"]) for b in buildings}
        changed = [b for b in buildings if b.pending_events]
        if not changed:
            return {"idle_rooms": {}, "event_ids": []}
        return self.save(*changed, answer={"idle_rooms": {k: v for k, v in found.items() if v}})

    @timer(interval=IDLE_CHECK_SECONDS)  # type: ignore[untyped-decorator]
    def detect_idle_rooms_daily(self) -> None:
        """Once a day, record offices vacant for the standard number of days as idle."""
        with self.read_models.engine.connect() as conn:
            ids = read_model.buildings_of(conn)
        buildings = list(self.store.find_many(Building, ids).values())
        changed = [b for b in buildings if b.detect_idle_rooms(china_today())]
        if changed:
            self.save(*changed)

    @command(s.TransferRoomSchema)
    def transfer_room(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """TransferRoom: adjust (调剂) an idle room to another agency."""
        building = self.store.load(Building, cmd["building_id"])
        receiver = self.store.load(Agency, cmd["to_agency_id"])
        building.transfer_idle_room(cmd["room_id"], receiver.id, self.context().actor, china_today())
        return self.save(building)

    # -- leases --------------------------------------------------------------------------------------

    @command(s.RequestLeaseSchema)
    def request_lease(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """RequestLease: rent out or lend rooms; approval comes first."""
        building = self._building_of(cmd["agency_id"], cmd["building_id"], cmd["room_ids"])
        lease = Lease.request(
            lease_id=new_id(cmd["lease_id"], "LS"),
            agency_id=cmd["agency_id"],
            district=str(building.district),
            building_id=building.id,
            room_ids=cmd["room_ids"],
            kind=cmd["kind"],
            counter_party=cmd["counter_party"],
            start_on=cmd["start_on"],
            end_on=cmd["end_on"],
            monthly_rent_fen=cmd["monthly_rent_fen"],
        )
        return self.save(lease)

    @command(s.DecideLeaseSchema)
    def decide_lease(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """DecideLease: approve or reject a requested lease."""
        lease = self.store.load(Lease, cmd["lease_id"])
        actor = self.context().actor
        lease.approve(actor) if cmd["approve"] else lease.reject(actor, cmd["reason"])
        return self.save(lease)

    @command(s.LeaseIdSchema)
    def activate_lease(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """ActivateLease: an approved lease begins."""
        lease = self.load_in_scope(Lease, cmd["lease_id"])
        lease.activate(china_today())
        return self.save(lease)

    @command(s.LeaseIdSchema)
    def end_lease(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """EndLease: an active lease (or an unapproved one found by inspection) ends."""
        lease = self.load_in_scope(Lease, cmd["lease_id"])
        lease.end(china_today())
        return self.save(lease)

    @command(s.RecordUnapprovedLeaseSchema)
    def record_unapproved_lease(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """RecordUnapprovedLease: an inspection found rooms let without approval (a finding), dated the day of
        the inspection it cites (its age counts from then, not from the day it was typed in)."""
        building = self._building_of(cmd["agency_id"], cmd["building_id"], cmd["room_ids"])
        inspection = self.store.find(Inspection, cmd["inspection_id"])
        require_citing_inspection(cmd["inspection_id"], inspection.agency_id if inspection else None, cmd["agency_id"])
        lease = Lease.found_unapproved(
            lease_id=new_id(cmd["lease_id"], "LS"),
            agency_id=cmd["agency_id"],
            district=str(building.district),
            building_id=building.id,
            room_ids=cmd["room_ids"],
            counter_party=cmd["counter_party"],
            inspection_id=cmd["inspection_id"],
            today=date.fromisoformat(inspection.inspected_on) if inspection else china_today(),
        )
        return self.save(lease)

    def _building_of(self, agency_id: str, building_id: str, room_ids: list[str] | None = None) -> Building:
        """The building a lease or a repair names, checked: of the agency's district, holding the rooms named."""
        agency = self.store.load(Agency, agency_id)
        building: Building = self.store.load(Building, building_id)
        require_lease_references(
            str(agency.district), building.id, str(building.district), building.rooms, room_ids or []
        )
        return building

    # -- repair projects -----------------------------------------------------------------------------

    @command(s.ApplyRepairSchema)
    def apply_repair(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """ApplyRepair: a major or medium repair project with scope and budget."""
        building = self._building_of(cmd["agency_id"], cmd["building_id"])
        project = RepairProject.apply(
            project_id=new_id(cmd["project_id"], "RP"),
            agency_id=cmd["agency_id"],
            district=str(building.district),
            building_id=building.id,
            category=cmd["category"],
            scope=cmd["scope"],
            budget_fen=cmd["budget_fen"],
            today=china_today(),
        )
        return self.save(project)

    @command(s.ReviewNecessitySchema)
    def review_repair_necessity(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """ReviewNecessity: the necessity review (必要性审核)."""
        project = self.store.load(RepairProject, cmd["project_id"])
        project.review_necessity(cmd["necessary"], cmd["opinion"], self.context().actor)
        return self.save(project)

    @command(s.DecideRepairSchema)
    def decide_repair(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """DecideRepair: approve with a budget, or reject."""
        project = self.store.load(RepairProject, cmd["project_id"])
        actor = self.context().actor
        if cmd["approve"]:
            project.approve(cmd["approved_budget_fen"] or project.budget_fen, actor)
        else:
            project.reject(cmd["reason"], actor)
        return self.save(project)

    @command(s.RepairIdSchema)
    def start_repair(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """StartRepair: works begin (approved projects only)."""
        project = self.load_in_scope(RepairProject, cmd["project_id"])
        project.start_execution(china_today())
        return self.save(project)

    @command(s.RecordRepairChangeSchema)
    def record_repair_change(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """RecordRepairChange: a change with its reason; outside the approved plan it is flagged."""
        project = self.load_in_scope(RepairProject, cmd["project_id"])
        project.record_change(cmd["description"], cmd["reason"], cmd["amount_fen"], cmd["outside_plan"])
        return self.save(project, answer={"flagged": cmd["outside_plan"]})

    @command(s.CompleteRepairSchema)
    def complete_repair(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """CompleteRepair: works finished."""
        project = self.load_in_scope(RepairProject, cmd["project_id"])
        project.complete(cmd["final_cost_fen"], china_today())
        return self.save(project)

    # -- inspections ---------------------------------------------------------------------------------

    @command(s.OpenInspectionSchema)
    def open_inspection(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """OpenInspection: a special inspection (专项巡检) of an agency."""
        agency = self.store.load(Agency, cmd["agency_id"])
        inspection = Inspection.open(
            inspection_id=new_id(cmd["inspection_id"], "INS"),
            agency_id=agency.id,
            district=str(agency.district),
            topic=cmd["topic"],
            inspected_on=cmd["inspected_on"],
            today=china_today(),
        )
        return self.save(inspection)

    @command(s.RecordFindingSchema)
    def record_finding(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """RecordFinding: a finding with its rectification deadline."""
        inspection = self.store.load(Inspection, cmd["inspection_id"])
        finding_id = new_id(cmd["finding_id"], "F")
        inspection.record_finding(finding_id, cmd["kind"], cmd["description"], cmd["deadline"])
        return self.save(inspection, answer={"finding_id": finding_id})

    @command(s.RectifyFindingSchema)
    def rectify_finding(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """RectifyFinding: a finding was rectified."""
        inspection = self.load_in_scope(Inspection, cmd["inspection_id"])
        inspection.rectify(cmd["finding_id"], cmd["note"], china_today())
        return self.save(inspection)

    # -- operating properties ------------------------------------------------------------------------

    @command(s.RegisterPropertySchema)
    def register_property(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """RegisterOperatingProperty: a property the city rents out, with its 2020 baseline."""
        prop = OperatingProperty.register(
            new_id(cmd["property_id"], "OP"),
            cmd["district"],
            cmd["name"],
            cmd["baseline_rent_income_fen"],
            cmd["baseline_vacancy_cost_fen"],
        )
        return self.save(prop)

    @command(s.AddUnitSchema)
    def add_property_unit(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """AddPropertyUnit: a lettable unit, added today or on a past ``added_on``."""
        prop = self.store.load(OperatingProperty, cmd["property_id"])
        prop.add_unit(cmd["unit_id"], cmd["area_m2"], cmd["monthly_fixed_cost_fen"], china_today(), cmd["added_on"])
        return self.save(prop)

    @command(s.LetUnitSchema)
    def let_unit(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """LetUnit: a vacant unit let to a tenant."""
        prop = self.store.load(OperatingProperty, cmd["property_id"])
        prop.let(cmd["unit_id"], cmd["tenant"], cmd["monthly_rent_fen"], cmd["start_on"], cmd["end_on"])
        return self.save(prop)

    @command(s.VacateUnitSchema)
    def vacate_unit(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """VacateUnit: a let unit becomes vacant, today or on a past ``vacated_on``."""
        prop = self.store.load(OperatingProperty, cmd["property_id"])
        prop.vacate(cmd["unit_id"], china_today(), cmd["vacated_on"])
        return self.save(prop)

    @command(s.ReceiveRentSchema)
    def receive_rent(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """ReceiveRent: rent received for a unit and month."""
        prop = self.store.load(OperatingProperty, cmd["property_id"])
        prop.receive_rent(cmd["unit_id"], cmd["period"], cmd["amount_fen"], china_today())
        return self.save(prop)

    # -- queries -------------------------------------------------------------------------------------

    @command(s.SpaceQuerySchema)
    def space_report(self, query: dict[str, Any]) -> dict[str, Any]:
        """The space figures per agency (docs/kpis/office_space.md), the over-standard persons, idle rooms and
        open findings."""
        agency_id, district = query["agency_id"], query["district"]
        with self.read_models.engine.connect() as conn:
            return {
                "figures": read_model.space_report(conn, agency_id, district),
                "over_standard": read_model.over_standard(conn, agency_id, district),
                "idle_rooms": read_model.idle_rooms(conn, agency_id, district),
                "findings": read_model.open_findings(conn, agency_id, district, china_today(), query["overdue_only"]),
            }

    @command(s.StaffQuerySchema)
    def staff_on_post(self, query: dict[str, Any]) -> dict[str, Any]:
        """The persons on post at an agency; their names as the read model keeps them, as tokens (the gateway
        decides who sees them in clear)."""
        with self.read_models.engine.connect() as conn:
            return {"items": read_model.staff_on_post(conn, query["agency_id"], query["district"])}

    @command(s.BuildingLocationsQuerySchema)
    def building_locations(self, query: dict[str, Any]) -> dict[str, Any]:
        """Buildings' locations as one GeoJSON FeatureCollection (WGS-84), of a district or an agency."""
        with self.read_models.engine.connect() as conn:
            return buildings_collection(read_model.buildings_located(conn, query["agency_id"], query["district"]))

    @command(s.PropertyPerformanceSchema)
    def property_performance(self, query: dict[str, Any]) -> dict[str, Any]:
        """Occupancy, rent income and vacancy costs of a property against its 2020 baseline."""
        prop = self.store.find(OperatingProperty, query["property_id"])
        if prop is None:
            raise NotFound(f"property {query['property_id']} not found")
        return {
            "property_id": prop.id,
            "district": prop.district,
            **prop.year_performance(query["year"], china_today()),
        }
