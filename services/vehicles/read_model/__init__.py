"""The vehicles service's read models (in its own database, from its own topic) and the queries over them.

The same projection runs in the gateway for the data center (``services/gateway/views/vehicles.py``). Tables:
vehicles with their seals, agency quotas, cost records (fuel and charging with quantity and carrier), measured
consumption, trips (visible to the requesting district and the vehicle's), and findings — vehicle anomalies,
trip flags and the districts' new-energy shortfalls — open until closed.
"""

from __future__ import annotations

from pathlib import Path

from services.common.base.db import register_migrations

# The published surface also carries the domain's definitions the data center computes with (one definition
# each, re-exported here): the cost year (``year_window``, ``costs_by_kind`` over ``CostItem``) and the
# new-energy share of acquisitions against its target; and a trip's GeoJSON track, which the gateway assembles
# once it has decrypted the points.
from services.vehicles.domain.base import SHARE_ACQUISITION_KINDS
from services.vehicles.domain.costs import CostItem, costs_by_kind, year_window
from services.vehicles.domain.new_energy import meets_target
from services.vehicles.domain.track import track_feature, track_summary

from .projection import VehiclesViews, local_date
from .queries import (
    DESIGNABLE_KINDS,
    acquisitions,
    cost_item,
    cost_items,
    finding_rows,
    fleet,
    fleet_report,
    km_by_month,
    repair_histories,
    seals_of,
    tracks_finished,
    trip_rows,
    trips_awaiting_gps,
    vehicle_row,
    vehicles_to_seal,
    year_cost_rows,
)
from .tables import TABLES, consumption, costs, findings, quotas, seals, trips, vehicles

register_migrations("vehicles_views", Path(__file__).parents[1] / "migrations")

__all__ = [
    "DESIGNABLE_KINDS",
    "SHARE_ACQUISITION_KINDS",
    "TABLES",
    "CostItem",
    "VehiclesViews",
    "acquisitions",
    "consumption",
    "cost_item",
    "cost_items",
    "costs",
    "costs_by_kind",
    "finding_rows",
    "findings",
    "fleet",
    "fleet_report",
    "km_by_month",
    "local_date",
    "meets_target",
    "quotas",
    "repair_histories",
    "seals",
    "seals_of",
    "track_feature",
    "track_summary",
    "tracks_finished",
    "trip_rows",
    "trips",
    "trips_awaiting_gps",
    "vehicle_row",
    "vehicles",
    "vehicles_to_seal",
    "year_cost_rows",
    "year_window",
]
