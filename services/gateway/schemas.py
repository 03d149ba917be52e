"""Marshmallow schemas of the gateway's own queries (listings, filters, paging)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

PAGE_LIMIT = 500
"""Largest page of a listing."""


class PageSchema(Schema):
    """Paging of a listing: ``limit`` (1-500, default 100) and ``offset``."""

    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=PAGE_LIMIT))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0))


class AgencyListSchema(PageSchema):
    """GET /api/v1/agencies: optional district filter."""

    district = fields.String(
        load_default=None, validate=validate.Regexp(r"^\d{6}$", error="must be a six-digit district code")
    )
