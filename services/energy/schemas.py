"""Marshmallow schemas for the commands and queries the energy service accepts.

Numbers are JSON numbers (no strings, no booleans, no NaN); times are ISO date-times with an offset.
Unknown fields are refused (marshmallow's default ``RAISE``). Readings are checked here only as a
bounded list: each reading is judged by the domain, so one bad reading refuses itself, not its batch.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from services.common.kernel.validators import (
    DISTRICT_CODE,
    IDENTIFIER_PATTERN,
    Day,
    Moment,
    Number,
    bounded_period,
    identifier,
    number,
    positive,
    text,
)
from services.energy.domain.anomalies import ANOMALY_KINDS
from services.energy.domain.base import METER_KINDS, SUB_ITEMS
from services.energy.domain.quotas import QUOTA_BASES
from services.energy.domain.readings import READING_INTERVALS
from services.energy.domain.reports import VEHICLE_FUEL_UNITS
from services.energy.domain.rollups import DIMENSIONS, PERIODS

MAX_READINGS_PER_METER = 10_000
"""About a month of 5-minute readings of one meter in one request."""
MAX_READINGS_PER_BATCH = 100_000
"""Readings in one multi-meter request (a district back-fills a day of ~350 meters per request)."""
MAX_COUNTER = 1e12
ANOMALY_STATUSES = ("open", "acknowledged", "resolved")


class ReadingList(fields.Field):
    """A list of readings, bounded in length; its items are left for the domain to judge one by one."""

    default_error_messages = {"invalid": "must be a list of [timestamp, value] readings"}

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> list[Any]:
        if not isinstance(value, list):
            raise self.make_error("invalid")
        return value


def _year(**kwargs: Any) -> fields.Integer:
    return fields.Integer(strict=True, validate=validate.Range(min=2000, max=2100), **kwargs)


class InstallMeterSchema(Schema):
    """InstallMeter: a meter is installed at a building of an agency."""

    meter_id = identifier(required=False)
    serial_no = text(64)
    kind = fields.String(required=True, validate=validate.OneOf(METER_KINDS))
    agency_id = identifier()
    district = fields.String(required=True, validate=DISTRICT_CODE)
    building_id = identifier()
    sub_item = fields.String(load_default="none", validate=validate.OneOf(SUB_ITEMS))
    multiplier = positive(100_000, load_default=1.0)
    rollover_limit = positive(MAX_COUNTER, load_default=100_000_000.0)
    initial_reading = number(0, MAX_COUNTER, required=True)
    installed_at = Moment(required=True)
    reading_interval = fields.String(load_default="5min", validate=validate.OneOf(READING_INTERVALS))


class ReplaceMeterSchema(Schema):
    """ReplaceMeter: the meter's device is replaced; counting goes on from the new device."""

    meter_id = identifier()
    new_serial_no = text(64)
    old_final_reading = number(0, MAX_COUNTER, required=True)
    new_initial_reading = number(0, MAX_COUNTER, required=True)
    replaced_at = Moment(required=True)
    multiplier = positive(100_000, load_default=None)
    rollover_limit = positive(MAX_COUNTER, load_default=None)


class RecordReadingsSchema(Schema):
    """RecordReadings: cumulative readings ``[timestamp, value]`` of one meter."""

    meter_id = identifier()
    readings = ReadingList(required=True, validate=validate.Length(min=1, max=MAX_READINGS_PER_METER))


_METER_FIELDS = frozenset({"meter_id", "readings"})


def _meter_problems(item: Any) -> dict[str, list[str]]:
    """What is wrong with one ``{"meter_id", "readings"}`` item of a batch (the reasons ``RecordReadingsSchema``
    gives), or nothing."""
    if not isinstance(item, dict):
        return {"_schema": ["Invalid input type."]}
    problems = {key: ["Unknown field."] for key in item if key not in _METER_FIELDS}
    meter_id, readings = item.get("meter_id"), item.get("readings")
    if meter_id is None:
        problems["meter_id"] = ["Missing data for required field."]
    elif not isinstance(meter_id, str) or not IDENTIFIER_PATTERN.match(meter_id):
        problems["meter_id"] = ["must be 1-64 letters, digits, '_', '-' or '.'"]
    if readings is None:
        problems["readings"] = ["Missing data for required field."]
    elif not isinstance(readings, list):
        problems["readings"] = ["must be a list of [timestamp, value] readings"]
    elif not 1 <= len(readings) <= MAX_READINGS_PER_METER:
        problems["readings"] = [f"Length must be between 1 and {MAX_READINGS_PER_METER}."]
    return problems


class MeterBatchList(fields.Field):
    """The meters of a batch, each ``{"meter_id", "readings"}`` as ``RecordReadingsSchema`` loads it — checked
    directly rather than by a nested schema per meter: a city's batch names thousands of meters."""

    default_error_messages = {"invalid": "must be a list of meters", "empty": "Shorter than minimum length 1."}

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> list[Any]:
        if not isinstance(value, list):
            raise self.make_error("invalid")
        if not value:
            raise self.make_error("empty")
        errors = {index: problems for index, item in enumerate(value) if (problems := _meter_problems(item))}
        if errors:
            raise ValidationError(errors)
        return value


class RecordReadingsBatchSchema(Schema):
    """RecordReadingsBatch: readings of many meters (a district's upload); the service splits it by meter.

    ``message_id`` (optional) names the batch: a batch sent again with the same id (by the same sender)
    is answered as the first time and recorded once.
    """

    message_id = fields.String(load_default=None, validate=validate.Regexp(r"^[A-Za-z0-9_.:-]{1,100}$"))
    meters = MeterBatchList(required=True)

    @validates_schema
    def _bounded_and_each_meter_once(self, data: dict[str, Any], **kwargs: Any) -> None:
        ids = [m["meter_id"] for m in data["meters"]]
        if len(set(ids)) != len(ids):
            raise ValidationError("each meter appears once per batch", "meters")
        if sum(len(m["readings"]) for m in data["meters"]) > MAX_READINGS_PER_BATCH:
            raise ValidationError(f"at most {MAX_READINGS_PER_BATCH} readings per batch", "meters")


class SetEnergyQuotaSchema(Schema):
    """SetEnergyQuota: an agency's energy quota for a year, in tce or kgce per m²."""

    agency_id = identifier()
    district = fields.String(required=True, validate=DISTRICT_CODE)
    year = _year(required=True)
    basis = fields.String(required=True, validate=validate.OneOf(QUOTA_BASES))
    limit = positive(10_000_000, required=True)


class ReviseEnergyQuotaSchema(Schema):
    """ReviseEnergyQuota: change an agency's quota for a year, saying why."""

    agency_id = identifier()
    year = _year(required=True)
    limit = positive(10_000_000, required=True)
    reason = text()


class AssessEnergyQuotaSchema(Schema):
    """AssessEnergyQuota: compare an agency's year-to-date trend with its quota (floor area for per-m² quotas)."""

    agency_id = identifier()
    year = _year(required=True)
    as_of = Day(required=True)
    floor_area_m2 = positive(10_000_000, load_default=None)


def _totals(**kwargs: Any) -> fields.Dict:
    """Use per kind, each kind once, in the kind's unit (kWh, m³, m³, GJ, L)."""
    return fields.Dict(
        keys=fields.String(validate=validate.OneOf(METER_KINDS)),
        values=number(0, MAX_COUNTER),
        validate=validate.Length(min=1),
        **kwargs,
    )


class ReportAnnualConsumptionSchema(Schema):
    """ReportAnnualConsumption: an agency's use of a year that is over, per kind, from its energy statistics
    (能源资源消费统计报表) — the 2020 baseline, and use no meter sees."""

    agency_id = identifier()
    district = fields.String(required=True, validate=DISTRICT_CODE)
    year = _year(required=True)
    totals = _totals(required=True)
    source = text()
    vehicle_fuel = fields.Dict(
        keys=fields.String(validate=validate.OneOf(VEHICLE_FUEL_UNITS)),
        values=number(0, MAX_COUNTER),
        load_default=dict,
        metadata={
            "description": "Official vehicles' use by kind: vehicle_gasoline, vehicle_diesel (L), vehicle_charging (kWh)."
        },
    )
    floor_area_m2 = positive(10_000_000, load_default=None)
    people_served = fields.Integer(load_default=None, validate=validate.Range(min=1, max=10_000_000))


class CorrectAnnualConsumptionSchema(Schema):
    """CorrectAnnualConsumption: replace a year's reported totals, saying why."""

    agency_id = identifier()
    year = _year(required=True)
    totals = _totals(required=True)
    reason = text()


class AcknowledgeAnomalySchema(Schema):
    """AcknowledgeAnomaly: the agency has seen an anomaly and takes it on."""

    anomaly_id = identifier()
    note = text(1_000, required=False, absent="")


class ResolveAnomalySchema(Schema):
    """ResolveAnomaly: the agency rectified an acknowledged anomaly and says how."""

    anomaly_id = identifier()
    resolution = text(1_000)


class ConsumptionQuerySchema(Schema):
    """Consumption roll-up: sums per hour, day or month, by meter, building, agency, district, kind or sub-item."""

    period = fields.String(required=True, validate=validate.OneOf(list(PERIODS)))
    by = fields.String(required=True, validate=validate.OneOf(DIMENSIONS))
    date_from = Day(required=True, data_key="from")
    date_to = Day(required=True, data_key="to")
    _period = bounded_period("date_from", "date_to", 3660, refused_as="to")  # ten years of days or months at most
    kind = fields.String(load_default=None, validate=validate.OneOf(METER_KINDS))
    district = fields.String(load_default=None, validate=DISTRICT_CODE)
    group = identifier(required=False)

    @validates_schema
    def _ordered_and_bounded(self, data: dict[str, Any], **kwargs: Any) -> None:
        span = (data["date_to"] - data["date_from"]).days
        if span < 0:
            raise ValidationError("must not be before 'from'", "to")
        if data["period"] == "hour" and span > 31:
            raise ValidationError("hourly roll-ups cover at most 31 days", "to")


class ListAnomaliesQuerySchema(Schema):
    """Anomalies of an agency, a district or the city, newest first."""

    status = fields.String(load_default=None, validate=validate.OneOf(ANOMALY_STATUSES))
    kind = fields.String(load_default=None, validate=validate.OneOf(ANOMALY_KINDS))
    agency_id = identifier(required=False)
    district = fields.String(load_default=None, validate=DISTRICT_CODE)
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))


class TargetsQuerySchema(Schema):
    """Progress against the 2020 baseline for an agency, a district or the city in a year."""

    year = fields.Integer(required=True, validate=validate.Range(min=2021, max=2100))
    agency_id = identifier(required=False)
    district = fields.String(load_default=None, validate=DISTRICT_CODE)


class DetectAnomaliesSchema(Schema):
    """DetectAnomalies: run the spike, base-load and stuck-meter detectors now (the timer runs them hourly).

    Without ``day``: yesterday and today (local). ``holidays`` and ``extra_workdays`` add to the
    service's table of public holidays (法定节假日) and make-up working days (调休).
    """

    day = Day(load_default=None)
    holidays = fields.List(Day(), load_default=list, validate=validate.Length(max=60))
    extra_workdays = fields.List(Day(), load_default=list, validate=validate.Length(max=30))


class MeterIdSchema(Schema):
    """One meter."""

    meter_id = identifier()


class MetersQuerySchema(Schema):
    """Meters of an agency, a building or a district."""

    agency_id = identifier(required=False)
    building_id = identifier(required=False)
    district = fields.String(load_default=None, validate=DISTRICT_CODE)
    limit = fields.Integer(load_default=500, validate=validate.Range(min=1, max=5_000))


class GapsQuerySchema(Schema):
    """Intervals without readings (missing data), newest first."""

    agency_id = identifier(required=False)
    meter_id = identifier(required=False)
    district = fields.String(load_default=None, validate=DISTRICT_CODE)
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1_000))


class AnnualReportsQuerySchema(Schema):
    """Annual consumption reports of a year, an agency or a district."""

    year = fields.Integer(load_default=None, validate=validate.Range(min=2000, max=2100))
    agency_id = identifier(required=False)
    district = fields.String(load_default=None, validate=DISTRICT_CODE)


class QuotasQuerySchema(Schema):
    """Quotas of a year, an agency or a district, with their open overrun alerts."""

    year = fields.Integer(load_default=None, validate=validate.Range(min=2000, max=2100))
    agency_id = identifier(required=False)
    district = fields.String(load_default=None, validate=DISTRICT_CODE)


class CloseEnergyYearSchema(Schema):
    """CloseEnergyYear: freeze a year that is over — every agency's energy figures as the data center summed
    them, with the versions of the factors, sufficiency rules and targets used (the gateway computes them)."""

    year = _year(required=True)
    figures = fields.Dict(
        keys=fields.String(validate=validate.Regexp(r"^[A-Za-z0-9_.-]{1,64}$")),
        values=fields.Dict(
            keys=fields.String(validate=validate.Length(max=64)), values=number(-MAX_COUNTER, MAX_COUNTER)
        ),
        required=True,
    )
    versions = fields.Dict(keys=fields.String(validate=validate.Length(max=64)), values=text(), required=True)


def _factors() -> fields.Dict:
    """Factors per energy kind (the domain checks every kind is there and each is above zero)."""
    return fields.Dict(
        keys=fields.String(validate=validate.Length(max=40)), values=Number(allow_nan=False), required=True
    )


class AdoptFactorTableSchema(Schema):
    """AdoptFactorTable: a conversion factor table (折标准煤系数, CO₂ 排放因子) with its version and sources, for the
    years ``valid_from`` to ``valid_to`` (null: every year from ``valid_from`` on). A year's figures use the
    newest table adopted for it; a closed year keeps its figures until restated."""

    version = text(64)
    tce_source = text(1000)
    co2_source = text(1000)
    kgce_per_unit = _factors()
    kgco2_per_unit = _factors()
    valid_from = _year(required=True)
    valid_to = _year(load_default=None, allow_none=True)


class FactorTablesQuerySchema(Schema):
    """The default factor table and every adopted one, in adoption order, with the years each is valid for."""

    district = fields.String(load_default=None, validate=DISTRICT_CODE)
    """A district operator's district, which the gateway adds to every listing: the tables are the city's."""


class RestateEnergyYearSchema(CloseEnergyYearSchema):
    """RestateEnergyYear: replace a closed year's figures and versions by explicit decision, saying why."""

    reason = text()
