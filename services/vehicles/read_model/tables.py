"""The vehicles read-model tables: vehicles, seals, quotas, costs, consumption, trips and findings."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()
vehicles = sa.Table(
    "veh_vehicles",
    metadata,
    sa.Column("vehicle_id", sa.String(64), primary_key=True),
    sa.Column("plate", sa.String(12)),
    sa.Column("agency_id", sa.String(64)),
    sa.Column("district", sa.String(6)),
    sa.Column("energy_type", sa.String(20)),
    sa.Column("new_energy", sa.Boolean()),
    sa.Column("use_category", sa.String(40)),
    sa.Column("model", sa.String(100)),
    sa.Column("acquisition_kind", sa.String(20)),
    sa.Column("acquired_on", sa.String(10)),
    sa.Column("replaces_vehicle_id", sa.String(64)),
    sa.Column("norm_per_100km", sa.Float()),
    sa.Column("norm_unit", sa.String(5)),
    sa.Column("status", sa.String(20)),
    sa.Column("odometer_km", sa.Float()),
    sa.Column("disposed_on", sa.String(10)),
    sa.Column("disposal_method", sa.String(20)),
    sa.Column("proceeds_fen", sa.BigInteger()),
)
seals = sa.Table(
    "veh_seals",
    metadata,
    sa.Column("vehicle_id", sa.String(64), primary_key=True),
    sa.Column("seal_id", sa.String(64), primary_key=True),
    sa.Column("sealed_from", sa.String(10)),
    sa.Column("sealed_until", sa.String(10)),
    sa.Column("reason", sa.String(500)),
)
quotas = sa.Table(
    "veh_quotas",
    metadata,
    sa.Column("agency_id", sa.String(64), primary_key=True),
    sa.Column("district", sa.String(6)),
    sa.Column("quota", sa.Integer()),
    sa.Column("vehicles", sa.Integer()),
)
costs = sa.Table(
    "veh_costs",
    metadata,
    sa.Column("vehicle_id", sa.String(64), primary_key=True),
    sa.Column("record_id", sa.String(64), primary_key=True),
    sa.Column("agency_id", sa.String(64)),
    sa.Column("district", sa.String(6)),
    sa.Column("kind", sa.String(20)),
    sa.Column("amount_fen", sa.BigInteger()),
    sa.Column("occurred_on", sa.String(10)),
    sa.Column("covers_from", sa.String(10)),
    sa.Column("covers_to", sa.String(10)),
    sa.Column("energy_kind", sa.String(20)),
    sa.Column("quantity", sa.Float()),
    sa.Column("unit", sa.String(5)),
    sa.Column("designated", sa.Boolean()),
    sa.Column("vendor", sa.String(200)),
)
consumption = sa.Table(
    "veh_consumption",
    metadata,
    sa.Column("vehicle_id", sa.String(64), primary_key=True),
    sa.Column("to_km", sa.Float(), primary_key=True),
    sa.Column("from_km", sa.Float()),
    sa.Column("energy_kind", sa.String(20)),
    sa.Column("quantity", sa.Float()),
    sa.Column("per_100km", sa.Float()),
    sa.Column("norm_per_100km", sa.Float()),
    sa.Column("measured_on", sa.String(10)),
)
trips = sa.Table(
    "veh_trips",
    metadata,
    sa.Column("trip_id", sa.String(64), primary_key=True),
    sa.Column("agency_id", sa.String(64)),
    sa.Column("district", sa.String(6)),
    sa.Column("purpose", sa.String(500)),
    sa.Column("destination", sa.String(200)),
    sa.Column("planned_start", sa.String(40)),
    sa.Column("planned_end", sa.String(40)),
    sa.Column("status", sa.String(20)),
    sa.Column("vehicle_id", sa.String(64)),
    sa.Column("plate", sa.String(12)),
    sa.Column("vehicle_agency_id", sa.String(64)),
    sa.Column("vehicle_district", sa.String(6)),
    sa.Column("city_wide", sa.Boolean()),
    sa.Column("driver_id", sa.String(64)),
    sa.Column("driver", sa.String(2000)),  # a personal-data token (a clear name for a trip dispatched before)
    sa.Column("approved", sa.Boolean()),
    sa.Column("started_at", sa.String(40)),
    sa.Column("finished_at", sa.String(40)),
    sa.Column("finished_utc", sa.String(40)),
    sa.Column("finished_on", sa.String(10)),
    sa.Column("start_km", sa.Float()),
    sa.Column("finish_km", sa.Float()),
    sa.Column("distance_km", sa.Float()),
    sa.Column("gps_points", sa.Integer()),
    sa.Column("gps_km", sa.Float()),
)
findings = sa.Table(
    "veh_findings",
    metadata,
    sa.Column("item_id", sa.String(300), primary_key=True),
    sa.Column("kind", sa.String(40)),
    sa.Column("agency_id", sa.String(64)),
    sa.Column("district", sa.String(6)),
    sa.Column("vehicle_id", sa.String(64)),
    sa.Column("trip_id", sa.String(64)),
    sa.Column("opened_on", sa.String(10)),
    sa.Column("detail", sa.String(1000)),
    sa.Column("evidence", sa.Text()),
    sa.Column("closed_on", sa.String(10)),
    sa.Column("note", sa.String(1000)),
)

TABLES = (vehicles, seals, quotas, costs, consumption, trips, findings)
