"""The energy read-model tables and the limits of the queries over them."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

MAX_ROWS = 5_000
"""Rows a roll-up query answers at most (narrow it by district, kind or group for more detail)."""
MAX_RUN_READINGS = 600
"""Readings kept of one flat run (two days of 5-minute readings): enough evidence; the length goes on counting."""
CHUNK = 500
GROUP_COLUMNS = {
    "meter": "meter_id",
    "building": "building_id",
    "agency": "agency_id",
    "district": "district",
    "sub_item": "sub_item",
}
"""The column each roll-up dimension groups by (``kind`` groups by the kind alone)."""

metadata = sa.MetaData()


def _dimensions() -> list[sa.Column[Any]]:
    return [
        sa.Column("kind", sa.String(20)),
        sa.Column("agency_id", sa.String(64)),
        sa.Column("building_id", sa.String(64)),
        sa.Column("district", sa.String(6)),
        sa.Column("sub_item", sa.String(20)),
    ]


meters = sa.Table(
    "en_meters",
    metadata,
    sa.Column("meter_id", sa.String(64), primary_key=True),
    sa.Column("serial_no", sa.String(64)),
    sa.Column("unit", sa.String(10)),
    *_dimensions(),
    sa.Column("multiplier", sa.Float()),
    sa.Column("installed_at", sa.String(40)),
    sa.Column("replaced_at", sa.String(40)),
)
hourly = sa.Table(
    "en_hourly",
    metadata,
    sa.Column("meter_id", sa.String(64), primary_key=True),
    sa.Column("hour", sa.String(13), primary_key=True),
    *_dimensions(),
    sa.Column("consumption", sa.Float()),
)
daily = sa.Table(
    "en_daily",
    metadata,
    sa.Column("meter_id", sa.String(64), primary_key=True),
    sa.Column("day", sa.String(10), primary_key=True),
    *_dimensions(),
    sa.Column("consumption", sa.Float()),
)
gaps = sa.Table(
    "en_gaps",
    metadata,
    sa.Column("meter_id", sa.String(64), primary_key=True),
    sa.Column("gap_from", sa.String(40), primary_key=True),
    sa.Column("gap_to", sa.String(40)),
    sa.Column("seconds", sa.Integer()),
    sa.Column("agency_id", sa.String(64)),
    sa.Column("district", sa.String(6)),
)
flat_runs = sa.Table(
    "en_flat_runs",
    metadata,
    sa.Column("meter_id", sa.String(64), primary_key=True),
    sa.Column("run_start", sa.String(40), primary_key=True),
    sa.Column("run_end", sa.String(40)),
    sa.Column("length", sa.Integer()),
    sa.Column("readings", sa.Text()),
    sa.Column("closed", sa.Boolean()),
)
anomalies = sa.Table(
    "en_anomalies",
    metadata,
    sa.Column("anomaly_id", sa.String(64), primary_key=True),
    sa.Column("kind", sa.String(40)),
    sa.Column("meter_id", sa.String(64)),
    sa.Column("agency_id", sa.String(64)),
    sa.Column("district", sa.String(6)),
    sa.Column("building_id", sa.String(64)),
    sa.Column("period_start", sa.String(40)),
    sa.Column("period_end", sa.String(40)),
    sa.Column("evidence", sa.Text()),
    sa.Column("status", sa.String(20)),
    sa.Column("raised_at", sa.String(40)),
    sa.Column("acknowledged_by", sa.String(200)),
    sa.Column("acknowledged_at", sa.String(40)),
    sa.Column("note", sa.String(1000)),
    sa.Column("resolved_by", sa.String(200)),
    sa.Column("resolved_at", sa.String(40)),
    sa.Column("resolution", sa.String(1000)),
)
quotas = sa.Table(
    "en_quotas",
    metadata,
    sa.Column("quota_id", sa.String(100), primary_key=True),
    sa.Column("agency_id", sa.String(64)),
    sa.Column("district", sa.String(6)),
    sa.Column("year", sa.Integer()),
    sa.Column("basis", sa.String(20)),
    sa.Column("quota_limit", sa.Float()),
    sa.Column("alert_open", sa.Boolean()),
    sa.Column("last_alert", sa.Text()),
)
annual_reports = sa.Table(
    "en_annual_reports",
    metadata,
    sa.Column("agency_id", sa.String(64), primary_key=True),
    sa.Column("year", sa.Integer(), primary_key=True),
    sa.Column("district", sa.String(6)),
    sa.Column("totals", sa.Text()),
    sa.Column("source", sa.String(500)),
)
meter_years = sa.Table(
    "en_meter_years",
    metadata,
    sa.Column("meter_id", sa.String(64), primary_key=True),
    sa.Column("year", sa.Integer(), primary_key=True),
    sa.Column("agency_id", sa.String(64)),
    sa.Column("district", sa.String(6)),
    sa.Column("last_at", sa.String(40)),
)
"""Each meter's last reading per (local) year: where its covered period in the year ends (``covered_days``)."""
last_readings = sa.Table(
    "en_last_readings",
    metadata,
    sa.Column("meter_id", sa.String(64), primary_key=True),
    sa.Column("last_at", sa.String(40)),
)
"""Each meter's latest reading: where the next batch's first interval starts (``split_intervals``)."""
gap_uses = sa.Table(
    "en_gap_uses",
    metadata,
    sa.Column("meter_id", sa.String(64), primary_key=True),
    sa.Column("gap_from", sa.String(40), primary_key=True),
    sa.Column("gap_to", sa.String(40)),
    sa.Column("consumption", sa.Float()),
)
"""Each meter's gaps (and all the parts late readings left of them) with their use (``refill_gap``)."""
floor_areas = sa.Table(
    "en_floor_areas",
    metadata,
    sa.Column("building_id", sa.String(64), primary_key=True),
    sa.Column("agency_id", sa.String(64)),
    sa.Column("gross_floor_area_m2", sa.Float()),
)
