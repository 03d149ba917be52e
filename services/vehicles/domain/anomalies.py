"""Vehicle anomalies (异常), each recorded as an event with its evidence, and the pure checks behind them.

- Fuel per 100 km above the model's norm by a factor: measured from refuel to refuel over at least
  ``min_measure_km``, assuming each refuel fills up (加满) so the fuel bought replaces what was burnt.
- A refuel or charge larger than the tank or battery (with a tolerance; chargers meter losses too).
- Repair cost or frequency far above the fleet: robust z-scores (median and MAD) over the fleet's figures.
- Odometer going backwards: the record it came with stands (the fuel was bought, the trip was driven) but the
  reading never lowers the vehicle's odometer, and the anomaly carries both readings.

Every anomaly has an ``anomaly_id`` (its kind and what it is about) and stays open until resolved with a note.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from statistics import fmean, median
from typing import Final

from services.common.kernel.errors import RuleViolation

from .base import VehiclesEvent

ANOMALY_KINDS: Final = ("consumption_above_norm", "refuel_above_capacity", "odometer_rollback", "repair_outlier")
"""The vehicle anomalies: 油耗（电耗）超定额, 单次加油（充电）超过油箱（电池）容量, 里程表回拨, 维修费用或频次异常."""

REPAIR_METRICS: Final = ("cost", "frequency")
"""What the fleet comparison looks at: repair and maintenance fen, or number of visits, in a period."""


@dataclass(frozen=True)
class AnomalyRules:
    """Thresholds of the vehicle anomaly checks."""

    consumption_factor: float = 1.3
    min_measure_km: float = 300.0
    tank_tolerance: float = 0.05
    charging_loss_allowance: float = 0.15
    robust_z_threshold: float = 3.5
    min_fleet_size: int = 5
    min_outlier_visits: int = 3
    min_outlier_cost_fen: int = 300_000


DEFAULT_ANOMALY_RULES: Final = AnomalyRules()
"""Consumption above 1.3 × the norm over at least 300 km; a refuel above the tank + 5 % (filler neck) or a charge
above the battery + 15 % (charger-side losses); a robust z-score above 3.5 (Iglewicz and Hoaglin's cut-off) in a
fleet of at least 5 vehicles, and never fewer than 3 visits or 3,000 yuan (one repair in a fleet where no other
vehicle broke down in the month is a high z-score but no anomaly)."""


@dataclass(frozen=True)
class FuelConsumptionMeasured(VehiclesEvent):
    """Consumption per 100 km measured between two refuels (the KPI 百公里油耗/电耗)."""

    vehicle_id: str
    agency_id: str
    district: str
    energy_kind: str
    unit: str
    from_km: float
    to_km: float
    quantity: float
    per_100km: float
    norm_per_100km: float
    measured_at: str


@dataclass(frozen=True)
class FuelConsumptionAboveNorm(VehiclesEvent):
    """Anomaly: consumption per 100 km above the model's norm by more than the configured factor."""

    anomaly_id: str
    vehicle_id: str
    agency_id: str
    district: str
    energy_kind: str
    unit: str
    from_km: float
    to_km: float
    quantity: float
    per_100km: float
    norm_per_100km: float
    factor: float
    detected_at: str


@dataclass(frozen=True)
class RefuelExceededCapacity(VehiclesEvent):
    """Anomaly: one refuel or charge larger than the vehicle's tank or battery can take."""

    anomaly_id: str
    vehicle_id: str
    agency_id: str
    district: str
    record_id: str
    energy_kind: str
    quantity: float
    unit: str
    capacity: float
    tolerance: float
    detected_at: str


@dataclass(frozen=True)
class OdometerRollbackDetected(VehiclesEvent):
    """Anomaly: an odometer reading below the vehicle's last one (the reading itself was refused)."""

    anomaly_id: str
    vehicle_id: str
    agency_id: str
    district: str
    last_km: float
    reported_km: float
    source: str
    source_id: str
    detected_at: str


@dataclass(frozen=True)
class RepairOutlierFlagged(VehiclesEvent):
    """Anomaly: the vehicle's repair cost or frequency in a period is far above the fleet's."""

    anomaly_id: str
    vehicle_id: str
    agency_id: str
    district: str
    metric: str
    period: str
    value: float
    fleet_median: float
    fleet_mad: float
    robust_z: float
    threshold: float
    fleet_size: int
    flagged_on: str


@dataclass(frozen=True)
class VehicleAnomalyResolved(VehiclesEvent):
    """An open anomaly of the vehicle was looked into and closed, with what was found."""

    anomaly_id: str
    vehicle_id: str
    agency_id: str
    kind: str
    note: str
    resolved_on: str


class AnomalyNotOpen(RuleViolation):
    """There is no open anomaly with this id on the vehicle."""

    code = "anomaly_not_open"


def anomaly_id(kind: str, vehicle_id: str, about: str) -> str:
    """The id of an anomaly: its kind, the vehicle and what it is about (a record, a period, a trip)."""
    return f"{kind}:{vehicle_id}:{about}"


def exceeds_capacity(quantity: float, capacity: float, tolerance: float) -> bool:
    """Whether one refuel or charge is more than the tank or battery holds, beyond ``tolerance`` (a fraction)."""
    return quantity > capacity * (1 + tolerance)


def per_100km(quantity: float, distance_km: float) -> float:
    """Consumption per 100 km of ``quantity`` over ``distance_km`` (rounded to 0.01)."""
    return round(quantity / distance_km * 100, 2)


def consumption_per_100km(windows: Iterable[tuple[float, float]]) -> float | None:
    """百公里油耗 (or 电耗) over measured windows of ``(quantity, distance_km)``: the quantity bought over the km
    measured, × 100 — weighted by distance, never the average of the windows' own figures (a 50 km window
    at 20 L/100 km weighs a tenth of a 500 km one). None when nothing was measured (docs/kpis/vehicles.md)."""
    quantity = distance = 0.0
    for litres, km in windows:
        quantity += litres
        distance += km
    if distance <= 0:
        return None
    return round(quantity / distance * 100, 2)


def above_norm(measured: float, norm: float, factor: float) -> bool:
    """Whether a measured consumption is above the model's norm by more than ``factor`` (1.3: 30 % over)."""
    return measured > norm * factor


@dataclass(frozen=True)
class RepairHistory:
    """One vehicle's repair and maintenance in a period: fen spent and visits."""

    cost_fen: int
    visits: int


@dataclass(frozen=True)
class RepairOutlier:
    """A vehicle far above its fleet on one metric, with the figures that show it."""

    vehicle_id: str
    metric: str
    value: float
    fleet_median: float
    fleet_mad: float
    robust_z: float
    threshold: float
    fleet_size: int


def robust_z_scores(values: Mapping[str, float]) -> tuple[float, float, dict[str, float]]:
    """Median, MAD and each value's robust z-score (x − median) / (1.4826 · MAD).

    When more than half the values are equal the MAD is 0; the mean absolute deviation from the median
    (scaled by 1.2533) stands in for it, and when that is 0 too every value is equal and every score is 0.
    """
    centre = median(values.values())
    deviations = [abs(v - centre) for v in values.values()]
    mad = median(deviations)
    scale = 1.4826 * mad if mad > 0 else 1.2533 * fmean(deviations)
    scores = {key: (v - centre) / scale if scale > 0 else 0.0 for key, v in values.items()}
    return centre, mad, scores


def repair_outliers(
    fleet: Mapping[str, RepairHistory], rules: AnomalyRules = DEFAULT_ANOMALY_RULES
) -> list[RepairOutlier]:
    """Vehicles whose repair cost or visits are far above the fleet's (high side only).

    ``fleet`` must hold every vehicle of the group compared, those without repairs included (zeros), or the
    median is the median of the vehicles that broke down. Too small a fleet has no meaningful spread: none.
    """
    if len(fleet) < rules.min_fleet_size:
        return []
    found = []
    for metric in REPAIR_METRICS:
        values = {vid: float(h.cost_fen if metric == "cost" else h.visits) for vid, h in fleet.items()}
        floor = rules.min_outlier_cost_fen if metric == "cost" else rules.min_outlier_visits
        centre, mad, scores = robust_z_scores(values)
        found += [
            RepairOutlier(
                vehicle_id=vid,
                metric=metric,
                value=values[vid],
                fleet_median=centre,
                fleet_mad=mad,
                robust_z=round(z, 3),
                threshold=rules.robust_z_threshold,
                fleet_size=len(fleet),
            )
            for vid, z in sorted(scores.items())
            if z > rules.robust_z_threshold and values[vid] >= floor
        ]
    return found
