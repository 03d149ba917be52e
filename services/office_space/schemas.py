"""Marshmallow schemas for the commands and queries the office-space service accepts."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from services.common.kernel.money import MAX_FEN
from services.common.kernel.validators import (
    DISTRICT_CODE,
    IDENTIFIER,
    MONTH,
    Day,
    Number,
    bounded_period,
    fen,
    identifier,
    number,
    quantity,
    text,
)
from services.office_space.domain.agencies import DEPARTURE_REASONS
from services.office_space.domain.base import ADMIN_LEVELS, AGENCY_KINDS, RANKS, ROOM_USES
from services.office_space.domain.inspections import FINDING_KINDS
from services.office_space.domain.leases import LEASE_KINDS
from services.office_space.domain.repairs import REPAIR_CATEGORIES

ALL_RANKS = sorted({rank for ranks in RANKS.values() for rank in ranks})
MAX_AREA = 1_000_000.0


class BuildingIdSchema(Schema):
    """GetBuilding: one building by its id."""

    building_id = identifier()


class RegisterAgencySchema(Schema):
    """RegisterAgency: add an agency (单位) to the master data, under the unified social credit code its
    registration authority issued (the platform checks it, never makes one up)."""

    agency_id = identifier()
    name = text(200)
    district = fields.String(required=True, validate=DISTRICT_CODE)
    kind = fields.String(required=True, validate=validate.OneOf(AGENCY_KINDS))
    admin_level = fields.String(required=True, validate=validate.OneOf(ADMIN_LEVELS))
    authorised_headcount = quantity(100_000, minimum=0)
    parent_agency_id = identifier(required=False)


class ChangeHeadcountSchema(Schema):
    """ChangeHeadcount: a new authorised headcount (编制) with its reason."""

    agency_id = identifier()
    authorised_headcount = quantity(100_000, minimum=0)
    reason = text()


class PostStaffSchema(Schema):
    """PostStaff: a person takes up a post with a rank."""

    agency_id = identifier()
    person_id = identifier()
    name = text(100)
    rank = fields.String(required=True, validate=validate.OneOf(ALL_RANKS))
    posted_on = Day(required=True)


class RecordDepartureSchema(Schema):
    """RecordDeparture: a person retired, transferred or left (their rooms become findings)."""

    agency_id = identifier()
    person_id = identifier()
    reason = fields.String(required=True, validate=validate.OneOf(DEPARTURE_REASONS))
    departed_on = Day(required=True)


class TransferStaffSchema(Schema):
    """TransferStaff: a person on post at ``agency_id`` moves to ``to_agency_id`` in one step (调动), on
    ``transferred_on``; ``rank`` at the new agency, if it changes (needed when the level changes)."""

    agency_id = identifier()
    person_id = identifier()
    to_agency_id = identifier()
    transferred_on = Day(required=True)
    rank = fields.String(load_default=None, validate=validate.OneOf(ALL_RANKS))


class RegisterBuildingSchema(Schema):
    """RegisterBuilding: an office building (办公楼) of an agency."""

    building_id = identifier(required=False)
    agency_id = identifier()
    name = text(200)
    address = text(300)
    gross_floor_area_m2 = number(1, MAX_AREA, required=True)
    longitude = number(-180, 180, load_default=None, allow_none=True)
    latitude = number(-90, 90, load_default=None, allow_none=True)


class AddRoomSchema(Schema):
    """AddRoom: a room of a building with its usable area and use."""

    building_id = identifier()
    room_id = identifier()
    number = text(20)
    usable_area_m2 = Number(required=True, validate=validate.Range(min=1, max=10_000))  # `number` names a field here
    use = fields.String(required=True, validate=validate.OneOf(ROOM_USES))
    agency_id = identifier(required=False)
    planned_occupancy = fields.Integer(load_default=None, strict=True, validate=validate.Range(min=1, max=100))
    vacant_since = Day(load_default=None)


class AllocateRoomSchema(Schema):
    """AllocateRoom: an office room to a person (``person_id``) or to several at once (``person_ids``, a shared
    room judged with all of them in it); ``exception_reason`` asks for a city administrator's exception."""

    building_id = identifier()
    room_id = identifier()
    person_id = identifier(required=False)
    person_ids = fields.List(
        fields.String(validate=IDENTIFIER), load_default=None, validate=validate.Length(min=1, max=100)
    )
    agency_id = identifier()
    exception_reason = fields.String(load_default=None, validate=validate.Length(min=1, max=500))

    @validates_schema
    def _one_way_to_name_persons(self, data: dict[str, Any], **_: Any) -> None:
        if (data.get("person_id") is None) == (data.get("person_ids") is None):
            raise ValidationError("give either person_id or person_ids", "person_ids")


class ReleaseRoomSchema(Schema):
    """ReleaseRoom: a person gives up a room, on ``released_on`` (default today; never in the future)."""

    building_id = identifier()
    room_id = identifier()
    person_id = identifier()
    released_on = Day(load_default=None)


class DetectIdleRoomsSchema(Schema):
    """DetectIdleRooms: record office rooms vacant for ``idle_after_days`` as idle (one building or all)."""

    building_id = identifier(required=False)
    idle_after_days = fields.Integer(load_default=90, strict=True, validate=validate.Range(min=1, max=3650))


class TransferRoomSchema(Schema):
    """TransferRoom: adjust (调剂) an idle room to another agency."""

    building_id = identifier()
    room_id = identifier()
    to_agency_id = identifier()


class RequestLeaseSchema(Schema):
    """RequestLease: rent out (出租) or lend (出借) rooms, with term, rent and counter-party."""

    lease_id = identifier(required=False)
    agency_id = identifier()
    building_id = identifier()
    room_ids = fields.List(fields.String(validate=IDENTIFIER), required=True, validate=validate.Length(min=1, max=200))
    kind = fields.String(required=True, validate=validate.OneOf(LEASE_KINDS))
    counter_party = text(200)
    start_on = Day(required=True)
    end_on = Day(required=True)
    _term = bounded_period("start_on", "end_on", 10_980)  # a lease or tenancy of thirty years (30 × 366) at most
    monthly_rent_fen = fen()  # 0 when lending


class DecideSchema(Schema):
    """Approve or reject a lease or a repair project (city administrators)."""

    approve = fields.Boolean(required=True, truthy={True}, falsy={False})  # JSON true or false only
    reason = fields.String(load_default="", validate=validate.Length(max=500))


class DecideLeaseSchema(DecideSchema):
    """DecideLease: approve or reject a requested lease."""

    lease_id = identifier()


class LeaseIdSchema(Schema):
    """ActivateLease / EndLease."""

    lease_id = identifier()


class RecordUnapprovedLeaseSchema(Schema):
    """RecordUnapprovedLease: an inspection found rooms rented out or lent without approval."""

    lease_id = identifier(required=False)
    agency_id = identifier()
    building_id = identifier()
    room_ids = fields.List(fields.String(validate=IDENTIFIER), required=True, validate=validate.Length(min=1, max=200))
    counter_party = text(200)
    inspection_id = identifier()


class ApplyRepairSchema(Schema):
    """ApplyRepair: a major or medium repair project (大中修) with scope and budget."""

    project_id = identifier(required=False)
    agency_id = identifier()
    building_id = identifier()
    category = fields.String(required=True, validate=validate.OneOf(REPAIR_CATEGORIES))
    scope = text(2000)
    budget_fen = fen(minimum=1)


class ReviewNecessitySchema(Schema):
    """ReviewNecessity: the necessity review (必要性审核) of a repair project."""

    project_id = identifier()
    necessary = fields.Boolean(required=True, truthy={True}, falsy={False})  # JSON true or false only
    opinion = text(2000)


class DecideRepairSchema(DecideSchema):
    """DecideRepair: approve (with a budget) or reject a repair project."""

    project_id = identifier()
    approved_budget_fen = fen(required=False, minimum=1)  # the applied budget when omitted


class RepairIdSchema(Schema):
    """StartRepair."""

    project_id = identifier()


class RecordRepairChangeSchema(Schema):
    """RecordRepairChange: a change during execution, with its reason; outside the plan it is flagged."""

    project_id = identifier()
    description = text(1000)
    reason = text(1000)
    amount_fen = fen(minimum=-MAX_FEN)  # negative: a saving
    outside_plan = fields.Boolean(required=True, truthy={True}, falsy={False})  # JSON true or false only


class CompleteRepairSchema(Schema):
    """CompleteRepair: works finished with their final cost."""

    project_id = identifier()
    final_cost_fen = fen()


class OpenInspectionSchema(Schema):
    """OpenInspection: a special inspection (专项巡检) of an agency."""

    inspection_id = identifier(required=False)
    agency_id = identifier()
    topic = text(200)
    inspected_on = Day(required=True)


class RecordFindingSchema(Schema):
    """RecordFinding: a finding with its rectification deadline."""

    inspection_id = identifier()
    finding_id = identifier(required=False)
    kind = fields.String(required=True, validate=validate.OneOf(FINDING_KINDS))
    description = text(2000)
    deadline = Day(required=True)


class RectifyFindingSchema(Schema):
    """RectifyFinding: a finding was rectified (整改)."""

    inspection_id = identifier()
    finding_id = identifier()
    note = text(2000)


class RegisterPropertySchema(Schema):
    """RegisterOperatingProperty: an operating property (经营性房产) with its 2020 baseline."""

    property_id = identifier(required=False)
    district = fields.String(required=True, validate=DISTRICT_CODE)
    name = text(200)
    baseline_rent_income_fen = fen()
    baseline_vacancy_cost_fen = fen()


class AddUnitSchema(Schema):
    """AddPropertyUnit: a lettable unit with its vacancy-driven fixed monthly cost."""

    property_id = identifier()
    unit_id = identifier()
    area_m2 = number(1, MAX_AREA, required=True)
    monthly_fixed_cost_fen = fen()
    added_on = Day(load_default=None)  # a past day brought in; default today


class LetUnitSchema(Schema):
    """LetUnit: a unit let to a tenant."""

    property_id = identifier()
    unit_id = identifier()
    tenant = text(200)
    monthly_rent_fen = fen(minimum=1)
    start_on = Day(required=True)
    end_on = Day(required=True)
    _term = bounded_period("start_on", "end_on", 10_980)  # a lease or tenancy of thirty years (30 × 366) at most


class UnitSchema(Schema):
    """A unit of a property."""

    property_id = identifier()
    unit_id = identifier()


class VacateUnitSchema(UnitSchema):
    """VacateUnit: the unit is vacant from ``vacated_on`` (a past day brought in; default today)."""

    vacated_on = Day(load_default=None)


class ReceiveRentSchema(UnitSchema):
    """ReceiveRent: rent received for a unit and month."""

    period = fields.String(required=True, validate=MONTH)
    amount_fen = fen(minimum=1)


class SpaceQuerySchema(Schema):
    """Area per person against the standard, over-standard allocations, idle rooms, findings."""

    agency_id = identifier(required=False)
    district = fields.String(load_default=None, validate=DISTRICT_CODE)
    overdue_only = fields.Boolean(load_default=False)


class BuildingLocationsQuerySchema(Schema):
    """Buildings' locations as GeoJSON: every building, or a district's, or an agency's."""

    agency_id = identifier(required=False)
    district = fields.String(load_default=None, validate=DISTRICT_CODE)


class StaffQuerySchema(Schema):
    """The persons on post at an agency, with their ranks and names (personal data: see docs/personal-data.md)."""

    agency_id = identifier()
    district = fields.String(load_default=None, validate=DISTRICT_CODE)


class PropertyPerformanceSchema(Schema):
    """Occupancy, rent income and vacancy costs of a property in a year against 2020."""

    property_id = identifier()
    year = fields.Integer(required=True, strict=False, validate=validate.Range(min=2020, max=2100))
