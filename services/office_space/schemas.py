"""Marshmallow schemas for the commands and queries the office-space service accepts."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from services.office_space.domain import ADMIN_LEVELS, AGENCY_KINDS

IDENTIFIER = validate.Regexp(r"^[A-Za-z0-9_.-]{1,64}$", error="must be 1-64 letters, digits, '_', '-' or '.'")
DISTRICT_CODE = validate.Regexp(r"^\d{6}$", error="must be a six-digit administrative division code")


class RegisterAgencySchema(Schema):
    """RegisterAgency: add an agency (单位) to the master data."""

    agency_id = fields.String(validate=IDENTIFIER, load_default=None)
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    district = fields.String(required=True, validate=DISTRICT_CODE)
    kind = fields.String(required=True, validate=validate.OneOf(AGENCY_KINDS))
    admin_level = fields.String(required=True, validate=validate.OneOf(ADMIN_LEVELS))
    authorised_headcount = fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=100_000))
