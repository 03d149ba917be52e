"""Marshmallow schemas of the gateway's own queries (listings, filters, paging)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from services.common.kernel.validators import DISTRICT_CODE, IDENTIFIER, MAX_OFFSET, text

PAGE_LIMIT = 500
"""Largest page of a listing."""


class PageSchema(Schema):
    """Paging of a listing: ``limit`` (1-500, default 100) and ``offset``."""

    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=PAGE_LIMIT))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=MAX_OFFSET))


class AgencyListSchema(PageSchema):
    """GET /api/v1/agencies: optional district filter."""

    district = fields.String(load_default=None, validate=DISTRICT_CODE)


SYSTEMS = ("office_space", "vehicles", "assets", "procurement", "energy")


class YearQuerySchema(Schema):
    """A data-center figure's year (default: this year, annualised while it runs)."""

    year = fields.Integer(load_default=None, validate=validate.Range(min=2000, max=2100))


class DataCenterQuerySchema(YearQuerySchema):
    """Data-center listings: optional district and agency filters, and the year."""

    district = fields.String(load_default=None, validate=DISTRICT_CODE)
    agency_id = fields.String(load_default=None, validate=IDENTIFIER)


class FindingsQuerySchema(DataCenterQuerySchema):
    """The open findings of every system: filter by district, agency, system, kind and minimum age in days."""

    kind = fields.String(load_default=None, validate=validate.Regexp(r"^[a-z_]{1,40}$"))
    system = fields.String(load_default=None, validate=validate.OneOf(SYSTEMS))
    min_age_days = fields.Integer(load_default=0, validate=validate.Range(min=0, max=3650))


class EnergyTrendQuerySchema(DataCenterQuerySchema):
    """The monthly energy trend of the city, a district or an agency over the last ``months`` (1-36)."""

    months = fields.Integer(load_default=12, validate=validate.Range(min=1, max=36))


class EnergyYearSchema(Schema):
    """A year to close or restate (in the URL)."""

    year = fields.Integer(required=True, validate=validate.Range(min=2000, max=2100))


class StatisticsReportQuerySchema(Schema):
    """The annual energy statistics report of a closed year: one district's agencies (a district operator's
    own) or the city's, headers in Chinese (default) or English."""

    district = fields.String(load_default=None, validate=DISTRICT_CODE)
    lang = fields.String(load_default="zh", validate=validate.OneOf(("zh", "en")))


class RestatementSchema(EnergyYearSchema):
    """Apply a closed year's proposed restatement: why (a new factor table, late data, a corrected report)."""

    reason = text(500)
