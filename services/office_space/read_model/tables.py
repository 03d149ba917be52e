"""The office-space read-model tables: buildings, staff, rooms, allocations and findings."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()
buildings = sa.Table(
    "os_buildings",
    metadata,
    sa.Column("building_id", sa.String(64), primary_key=True),
    sa.Column("agency_id", sa.String(64)),
    sa.Column("district", sa.String(6)),
    sa.Column("name", sa.String(200)),
    sa.Column("gross_floor_area_m2", sa.Float()),
    sa.Column("address", sa.Text()),
    sa.Column("longitude", sa.Float()),
    sa.Column("latitude", sa.Float()),
)
staff = sa.Table(
    "os_staff",
    metadata,
    sa.Column("person_id", sa.String(64), primary_key=True),
    sa.Column("agency_id", sa.String(64)),
    sa.Column("name", sa.String(2000)),  # a personal-data token (docs/personal-data.md)
    sa.Column("rank", sa.String(40)),
    sa.Column("district", sa.String(6)),
    sa.Column("recorded_at", sa.String(40)),
)
rooms = sa.Table(
    "os_rooms",
    metadata,
    sa.Column("room_id", sa.String(64), primary_key=True),
    sa.Column("building_id", sa.String(64)),
    sa.Column("agency_id", sa.String(64)),
    sa.Column("district", sa.String(6)),
    sa.Column("number", sa.String(20)),
    sa.Column("usable_area_m2", sa.Float()),
    sa.Column("use", sa.String(20)),
    sa.Column("idle", sa.Boolean()),
    sa.Column("idle_since", sa.String(40)),
)
allocations = sa.Table(
    "os_allocations",
    metadata,
    sa.Column("room_id", sa.String(64), primary_key=True),
    sa.Column("person_id", sa.String(64), primary_key=True),
    sa.Column("building_id", sa.String(64)),
    sa.Column("agency_id", sa.String(64)),
    sa.Column("district", sa.String(6)),
    sa.Column("rank", sa.String(40)),
    sa.Column("area_per_person_m2", sa.Float()),
    sa.Column("standard_m2", sa.Float()),
    sa.Column("over_standard", sa.Boolean()),
    sa.Column("exception_approved_by", sa.String(200)),
)
findings = sa.Table(
    "os_findings",
    metadata,
    sa.Column("finding_key", sa.String(200), primary_key=True),
    sa.Column("kind", sa.String(40)),
    sa.Column("agency_id", sa.String(64)),
    sa.Column("district", sa.String(6)),
    sa.Column("description", sa.String(2000)),
    sa.Column("opened_on", sa.String(40)),
    sa.Column("deadline", sa.String(40)),
    sa.Column("closed_on", sa.String(40)),
)
