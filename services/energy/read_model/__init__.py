"""The energy service's read models (in its own database, from its own topic and office space's) and queries.

- ``en_hourly`` / ``en_daily``: use per meter and local hour / day, each interval shared by time over the hours
  it spans from the meter's previous reading (``split_intervals``; ``en_last_readings``, ``en_gap_uses``),
  with the meter's kind, agency, building, district and sub-item beside it so every roll-up of the issue
  (hour, day, month × meter, building, agency, district, kind, sub-item) is one ``GROUP BY``. A
  replacement's ``final_consumption`` counts in the hour of the replacement.
- ``en_gaps``: intervals without readings; ``en_flat_runs``: runs of readings whose counter did not move
  (the stuck-meter detector's input; only runs, never every reading, are kept).
- ``en_anomalies``, ``en_quotas``: the anomalies' and quotas' current state, for listings.
- ``en_annual_reports``: the annual consumption reports (statistics) per agency and year.
- ``en_floor_areas``: gross floor area per building, learned from office space's ``BuildingRegistered``
  (a per-m² quota is assessed against it).

Handlers are idempotent per event (the projector ignores a repeated ``event_id``) and deterministic.
"""

from __future__ import annotations

from pathlib import Path

from services.common.base.db import register_migrations
from services.energy.domain.anomalies import DEFAULT_ANOMALY_RULES
from services.energy.domain.base import METER_UNITS
from services.energy.domain.coverage import (
    DEFAULT_SUFFICIENCY,
    Coverage,
    MeterUse,
    SufficiencyRules,
    counts_in_year,
    days_in_year,
    elapsed_days,
    judge,
    sum_meters,
)
from services.energy.domain.factor_tables import adopted_from, table_for_year
from services.energy.domain.quotas import FloorAreaRequired, forecast_against_quota, quota_in_tce
from services.energy.domain.readings import READING_INTERVALS_VERSION
from services.energy.domain.reports import annual_totals
from services.energy.domain.rollups import (
    NON_ENERGY_KINDS,
    FactorTable,
    convert,
    epoch_seconds,
    refill_gap,
    split_intervals,
)

# The published surface also carries the domain's definitions the data center computes with (one definition
# each, re-exported here, so the service's and the data center's figures agree): the conversion tables and
# their adoption, interval splitting and gap refilling, annual totals and coverage, quotas, and the 2020
# targets with their sufficiency rules. ``configured_factors`` is this deployment's default table.
from services.energy.domain.targets import BASELINE_YEAR, TARGETS, TARGETS_VERSION

from .factors import configured_factors, load_factor_table
from .projection import EnergyViews
from .queries import (
    consumption,
    find_anomalies,
    floor_area,
    list_annual_reports,
    list_anomalies,
    list_gaps,
    list_meters,
    list_quotas,
    meter_infos,
    open_anomaly_counts,
    prune_flat_runs,
    quotas_of_year,
    totals_for_targets,
    use_by_kind,
    year_uses,
)
from .tables import (
    CHUNK,
    GROUP_COLUMNS,
    MAX_ROWS,
    MAX_RUN_READINGS,
    annual_reports,
    anomalies,
    daily,
    flat_runs,
    floor_areas,
    gap_uses,
    gaps,
    hourly,
    last_readings,
    meter_years,
    meters,
    quotas,
)

register_migrations("energy_views", Path(__file__).parents[1] / "migrations")

__all__ = [
    "BASELINE_YEAR",
    "CHUNK",
    "DEFAULT_ANOMALY_RULES",
    "DEFAULT_SUFFICIENCY",
    "GROUP_COLUMNS",
    "MAX_ROWS",
    "MAX_RUN_READINGS",
    "METER_UNITS",
    "NON_ENERGY_KINDS",
    "READING_INTERVALS_VERSION",
    "TARGETS",
    "TARGETS_VERSION",
    "Coverage",
    "EnergyViews",
    "FactorTable",
    "FloorAreaRequired",
    "MeterUse",
    "SufficiencyRules",
    "adopted_from",
    "annual_reports",
    "annual_totals",
    "anomalies",
    "configured_factors",
    "consumption",
    "convert",
    "counts_in_year",
    "daily",
    "days_in_year",
    "elapsed_days",
    "epoch_seconds",
    "find_anomalies",
    "flat_runs",
    "floor_area",
    "floor_areas",
    "forecast_against_quota",
    "gap_uses",
    "gaps",
    "hourly",
    "judge",
    "last_readings",
    "list_annual_reports",
    "list_anomalies",
    "list_gaps",
    "list_meters",
    "list_quotas",
    "load_factor_table",
    "meter_infos",
    "meter_years",
    "meters",
    "open_anomaly_counts",
    "prune_flat_runs",
    "quota_in_tce",
    "quotas",
    "quotas_of_year",
    "refill_gap",
    "split_intervals",
    "sum_meters",
    "table_for_year",
    "totals_for_targets",
    "use_by_kind",
    "year_uses",
]
