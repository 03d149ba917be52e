"""Marshmallow schemas for the commands and queries the vehicles service accepts.

Money is integer fen (分, ``amount_fen``, ``proceeds_fen``; services/common/kernel/money.py); distances in km; fuel
in litres (kg for hydrogen), charging in kWh; times as ISO-8601 with their offset (``2026-03-02T09:00:00+08:00``).
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from services.common.kernel.validators import (
    DISTRICT_CODE,
    MAX_OFFSET,
    MONTH,
    Day,
    Moment,
    Number,
    bounded_period,
    fen,
    identifier,
    number,
    positive,
    quantity,
    text,
)
from services.vehicles.domain.anomalies import ANOMALY_KINDS
from services.vehicles.domain.base import ACQUISITION_KINDS, ENERGY_TYPES, FUELS, USE_CATEGORIES
from services.vehicles.domain.costs import EXPENSE_KINDS, REPAIR_KINDS
from services.vehicles.domain.trips import MAX_GPS_POINTS, TRIP_FLAGS, TRIP_STATUSES
from services.vehicles.domain.vehicles import DISPOSAL_METHODS

MAX_FEN = 10_000_000_000
"""The largest single amount: 100 000 000.00 yuan, in fen."""

MAX_KM = 10_000_000.0
PERIOD = validate.Regexp(r"^[0-9]{4}(-(0[1-9]|1[0-2]))?$", error="YYYY or YYYY-MM")

DEFAULT_SEAL_EXEMPT: tuple[str, ...] = ("confidential_communication", "emergency", "law_enforcement")
"""Use categories that stay on duty when an agency's or district's fleet is sealed for a holiday."""


def _km(required: bool = True) -> Number:
    return number(0, MAX_KM, required=True) if required else number(0, MAX_KM, load_default=None)


# -- fleet and vehicles ------------------------------------------------------------------------------


class SetVehicleQuotaSchema(Schema):
    """SetVehicleQuota: the administration sets (or revises) an agency's vehicle quota (公务用车编制)."""

    agency_id = identifier()
    quota = quantity(10_000, minimum=0)
    reason = text(500)


class RegisterVehicleSchema(Schema):
    """RegisterVehicle: a vehicle enters an agency's fleet within its quota; new and replacement acquisitions
    count in the district's new-energy share."""

    vehicle_id = identifier(required=False)
    plate = fields.String(required=True, validate=validate.Length(min=7, max=12))
    agency_id = identifier()
    energy_type = fields.String(required=True, validate=validate.OneOf(ENERGY_TYPES))
    use_category = fields.String(required=True, validate=validate.OneOf(USE_CATEGORIES))
    model = text(100)
    acquisition_kind = fields.String(required=True, validate=validate.OneOf(ACQUISITION_KINDS))
    acquired_on = Day(required=True)
    replaces_vehicle_id = identifier(required=False)
    norm_per_100km = positive(200.0, required=True)
    tank_capacity = positive(1000, load_default=None)
    battery_capacity_kwh = positive(1000, load_default=None)
    odometer_km = number(0, MAX_KM, load_default=0.0)


class VehicleIdSchema(Schema):
    """One vehicle."""

    vehicle_id = identifier()


class RecordFuelSchema(Schema):
    """RecordFuel: a refuel (加油, 加氢) with litres (kg of hydrogen), amount, station and whether it is a
    designated one (定点)."""

    vehicle_id = identifier()
    record_id = identifier(required=False)
    fuel = fields.String(required=True, validate=validate.OneOf(FUELS))
    quantity = positive(1000.0, required=True)
    amount_fen = fen(maximum=MAX_FEN)
    station = text(200)
    designated = fields.Boolean(required=True)
    odometer_km = _km(required=False)
    refuelled_at = Moment(required=True)


class RecordChargingSchema(Schema):
    """RecordCharging: a charge (充电) with kWh, amount, charging point and whether it is a designated one."""

    vehicle_id = identifier()
    record_id = identifier(required=False)
    quantity_kwh = positive(1000.0, required=True)
    amount_fen = fen(maximum=MAX_FEN)
    station = text(200)
    designated = fields.Boolean(required=True)
    odometer_km = _km(required=False)
    charged_at = Moment(required=True)


class RecordRepairSchema(Schema):
    """RecordRepair: repair (维修) or maintenance (保养) paid for, with the vendor and whether it is designated."""

    vehicle_id = identifier()
    record_id = identifier(required=False)
    kind = fields.String(required=True, validate=validate.OneOf(REPAIR_KINDS))
    vendor = text(200)
    designated = fields.Boolean(required=True)
    amount_fen = fen(minimum=1, maximum=MAX_FEN)
    description = text(1000, required=False, absent="")
    odometer_km = _km(required=False)
    occurred_on = Day(required=True)


class ReplaceOdometerSchema(Schema):
    """ReplaceOdometer: the odometer (its instrument) was replaced (仪表更换); readings go on from the new one's."""

    vehicle_id = identifier()
    replacement_id = identifier(required=False)
    old_reading_km = _km()
    new_reading_km = _km()
    replaced_on = Day(required=True)
    reason = text(1000)


class RecordExpenseSchema(Schema):
    """RecordExpense: insurance (保险), rental (租赁) or tolls (通行费); a premium or rent may cover a period."""

    vehicle_id = identifier()
    record_id = identifier(required=False)
    kind = fields.String(required=True, validate=validate.OneOf(EXPENSE_KINDS))
    payee = text(200)
    designated = fields.Boolean(load_default=None)
    amount_fen = fen(minimum=1, maximum=MAX_FEN)
    occurred_on = Day(required=True)
    covers_from = Day(load_default=None)
    covers_to = Day(load_default=None)
    _covers = bounded_period("covers_from", "covers_to", 1830)  # a premium or a rent of five years at most


class SealVehicleSchema(Schema):
    """SealVehicle: seal a vehicle (封存) for days, e.g. a public holiday; it is neither dispatched nor driven."""

    vehicle_id = identifier()
    seal_id = identifier(required=False)
    sealed_from = Day(required=True)
    sealed_until = Day(required=True)
    reason = text(500)
    _sealed = bounded_period("sealed_from", "sealed_until", 366)  # a seal of a year at most


class SealFleetSchema(Schema):
    """SealFleet: seal every vehicle in service of an agency or a district for a holiday, but those of the
    exempt use categories (on duty)."""

    agency_id = identifier(required=False)
    district = fields.String(load_default=None, validate=DISTRICT_CODE)
    sealed_from = Day(required=True)
    sealed_until = Day(required=True)
    reason = text(500)
    _sealed = bounded_period("sealed_from", "sealed_until", 366)  # a seal of a year at most
    exempt_use_categories = fields.List(
        fields.String(validate=validate.OneOf(USE_CATEGORIES)),
        load_default=lambda: list(DEFAULT_SEAL_EXEMPT),
        validate=validate.Length(max=len(USE_CATEGORIES)),
    )

    @validates_schema
    def _one_scope(self, data: dict[str, Any], **kwargs: Any) -> None:
        if not data.get("agency_id") and not data.get("district"):
            raise ValidationError("name the agency or the district whose fleet is sealed", "agency_id")


class UnsealVehicleSchema(Schema):
    """UnsealVehicle: end a seal early; the vehicle may be used from ``unsealed_on``."""

    vehicle_id = identifier()
    seal_id = identifier()
    unsealed_on = Day(required=True)


class DisposeVehicleSchema(Schema):
    """DisposeVehicle: auction (拍卖, with its proceeds), scrap or transfer a vehicle; it leaves the quota."""

    vehicle_id = identifier()
    method = fields.String(required=True, validate=validate.OneOf(DISPOSAL_METHODS))
    proceeds_fen = fen(required=False, maximum=MAX_FEN)  # auction proceeds; none for scrap or transfer
    disposed_on = Day(required=True)
    reference = text(200)


class ResolveAnomalySchema(Schema):
    """ResolveAnomaly: close an open anomaly of a vehicle with what was found."""

    vehicle_id = identifier()
    anomaly_id = text(300)
    note = text(1000)


class CheckRepairOutliersSchema(Schema):
    """CheckRepairOutliers: compare every vehicle's repair cost and visits of a year or month with the fleet's."""

    period = fields.String(required=True, validate=PERIOD)
    district = fields.String(load_default=None, validate=DISTRICT_CODE)


# -- trips -------------------------------------------------------------------------------------------


class RequestTripSchema(Schema):
    """RequestTrip: an agency asks for a vehicle for an official trip."""

    trip_id = identifier(required=False)
    agency_id = identifier()
    purpose = text(500)
    destination = text(200)
    passengers = fields.Integer(load_default=1, strict=True, validate=validate.Range(min=0, max=60))
    planned_start = Moment(required=True)
    planned_end = Moment(required=True)
    _planned = bounded_period("planned_start", "planned_end", 31)  # an official trip of a month at most


class TripIdSchema(Schema):
    """One trip."""

    trip_id = identifier()


class DispatchTripSchema(Schema):
    """DispatchTrip: assign a vehicle (of any district: city-wide dispatch) and a driver to a requested trip. The
    driver is a data subject (``driver_id``, the district's id of the driver, e.g. a staff or licence number
    kept by the district); the name is personal and stored encrypted under that driver's key."""

    trip_id = identifier()
    vehicle_id = identifier()
    driver_id = identifier()
    driver = text(50)


class CancelTripSchema(Schema):
    """CancelTrip: call a trip off before it starts."""

    trip_id = identifier()
    reason = text(500)


class ApproveTripSchema(Schema):
    """ApproveTripOutsideHours: approve use on a holiday, a weekend or outside working hours (审批)."""

    trip_id = identifier()
    reason = text(500)


class StartTripSchema(Schema):
    """StartTrip: the vehicle leaves, with its odometer reading (now, unless ``started_at`` says when)."""

    trip_id = identifier()
    odometer_km = _km()
    started_at = Moment(load_default=None)


class FinishTripSchema(Schema):
    """FinishTrip: the vehicle is back, with its odometer reading."""

    trip_id = identifier()
    odometer_km = _km()
    finished_at = Moment(load_default=None)


class GpsPointSchema(Schema):
    """One GPS fix (WGS-84)."""

    at = Moment(required=True)
    lat = number(-90, 90, required=True)
    lon = number(-180, 180, required=True)


class RecordGpsPointsSchema(Schema):
    """RecordGpsPoints: a batch of a trip's GPS track from the vehicle's terminal."""

    trip_id = identifier()
    vehicle_id = identifier(required=False)
    points = fields.List(
        fields.Nested(GpsPointSchema), required=True, validate=validate.Length(min=1, max=MAX_GPS_POINTS)
    )


class ResolveTripFlagSchema(Schema):
    """ResolveTripFlag: close a trip's flag with its explanation."""

    trip_id = identifier()
    flag = fields.String(required=True, validate=validate.OneOf(TRIP_FLAGS))
    note = text(1000)


class CheckTripsWithoutGpsSchema(Schema):
    """CheckTripsWithoutGps: flag finished trips still without GPS after the grace period."""

    grace_hours = number(0, 24 * 30, load_default=None)


# -- queries -----------------------------------------------------------------------------------------


class FleetQuerySchema(Schema):
    """Vehicles with their status, and each agency's quota."""

    agency_id = identifier(required=False)
    district = fields.String(load_default=None, validate=DISTRICT_CODE)
    status = fields.String(load_default=None, validate=validate.OneOf(("in_service", "sealed", "disposed")))
    limit = fields.Integer(load_default=200, validate=validate.Range(min=1, max=1000))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=MAX_OFFSET))


class VehicleCostsQuerySchema(Schema):
    """One vehicle's costs by month and kind, distance, cost per km and per month."""

    vehicle_id = identifier()
    district = fields.String(load_default=None, validate=DISTRICT_CODE)
    from_month = fields.String(load_default=None, validate=MONTH)
    to_month = fields.String(load_default=None, validate=MONTH)


class FleetReportQuerySchema(Schema):
    """Per vehicle of a year: costs, km, cost per km, fuel and charging, designated shares."""

    agency_id = identifier(required=False)
    district = fields.String(load_default=None, validate=DISTRICT_CODE)
    year = fields.Integer(load_default=None, validate=validate.Range(min=2000, max=2100))


class NewEnergyShareQuerySchema(Schema):
    """The new-energy share of the year's new and replacement acquisitions per agency, district and city."""

    agency_id = identifier(required=False)
    district = fields.String(load_default=None, validate=DISTRICT_CODE)
    year = fields.Integer(load_default=None, validate=validate.Range(min=2000, max=2100))


class TripsQuerySchema(Schema):
    """Trips of a district (its own and those its vehicles serve), an agency or a vehicle."""

    agency_id = identifier(required=False)
    district = fields.String(load_default=None, validate=DISTRICT_CODE)
    vehicle_id = identifier(required=False)
    status = fields.String(load_default=None, validate=validate.OneOf(TRIP_STATUSES))
    limit = fields.Integer(load_default=200, validate=validate.Range(min=1, max=1000))


class AnomaliesQuerySchema(Schema):
    """Anomalies and flags (open ones unless ``include_closed``)."""

    agency_id = identifier(required=False)
    district = fields.String(load_default=None, validate=DISTRICT_CODE)
    vehicle_id = identifier(required=False)
    kind = fields.String(
        load_default=None,
        validate=validate.OneOf((*ANOMALY_KINDS, "outside_hours", "without_gps", "new_energy_below_target")),
    )
    include_closed = fields.Boolean(load_default=False)
