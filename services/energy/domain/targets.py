"""The city's conservation targets against the 2020 baseline (seed 001), computed from plain figures.

This service provides the consumption side (tce, water, CO₂ from ``convert``); the gateway supplies floor
area (office space) and headcount (agency master data) and calls ``assess_targets`` for an agency, a
district or the city.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from services.common.errors import RuleViolation

BASELINE_YEAR: Final = 2020
TARGET_YEAR: Final = 2025

TARGETS: Final[dict[str, float]] = {
    "energy_per_m2": -0.06,
    "energy_per_capita": -0.07,
    "water_per_capita": -0.07,
    "carbon_per_m2": -0.07,
}
"""14th Five-Year targets for 2025 against 2020 (seed 001): 单位建筑面积能耗 −6 %, 人均综合能耗 −7 %,
人均用水量 −7 %, 单位建筑面积碳排放 −7 %."""

TARGETS_VERSION: Final = "targets-2025.1"
TARGETS_SOURCE: Final = (
    "常州市机关事务工作“十四五”时期高质量发展实施意见 (常机管〔2021〕52号): 全市公共机构单位建筑面积能耗、人均综合能耗、"
    "人均用水量与2020年相比分别下降6%、7%和7%，单位建筑面积碳排放下降7%"
)


@dataclass(frozen=True)
class TargetFigures:
    """A year's totals of an agency, district or the city: use, area and headcount."""

    energy_tce: float
    water_m3: float
    carbon_tco2: float
    floor_area_m2: float
    headcount: int


@dataclass(frozen=True)
class TargetProgress:
    """One indicator against its baseline: the change so far and the change required by ``year``."""

    indicator: str
    unit: str
    baseline: float
    current: float
    change: float
    required_change: float
    met: bool


class BaselineIncomplete(RuleViolation):
    """Intensities need a floor area and headcount above zero, in the baseline and the current year."""

    code = "baseline_incomplete"


def intensities(figures: TargetFigures) -> dict[str, tuple[float, str]]:
    """The four indicators with their units: kgce/m², kgce per person, m³ per person, kgCO₂/m²."""
    if not (figures.floor_area_m2 > 0 and figures.headcount > 0):
        raise BaselineIncomplete(
            "floor area and headcount must be above zero",
            fields={"floor_area_m2": ["must be > 0"], "headcount": ["must be > 0"]},
            details={"floor_area_m2": figures.floor_area_m2, "headcount": figures.headcount},
        )
    return {
        "energy_per_m2": (figures.energy_tce * 1000 / figures.floor_area_m2, "kgce/m2"),
        "energy_per_capita": (figures.energy_tce * 1000 / figures.headcount, "kgce/person"),
        "water_per_capita": (figures.water_m3 / figures.headcount, "m3/person"),
        "carbon_per_m2": (figures.carbon_tco2 * 1000 / figures.floor_area_m2, "kgCO2/m2"),
    }


def assess_targets(
    baseline: TargetFigures, current: TargetFigures, year: int, targets: dict[str, float] = TARGETS
) -> list[TargetProgress]:
    """Each indicator's change against 2020, and whether it is on the linear path to the 2025 target."""
    share_of_path = min(1.0, max(0.0, (year - BASELINE_YEAR) / (TARGET_YEAR - BASELINE_YEAR)))
    before, now = intensities(baseline), intensities(current)
    progress = []
    for indicator, target in targets.items():
        (base, unit), (value, _) = before[indicator], now[indicator]
        required = round(target * share_of_path, 4)
        # a baseline without use (no water metered in 2020) gives no ratio: only staying at zero meets it
        change = round(value / base - 1, 4) if base else 0.0
        met = change <= required if base else value <= 0
        progress.append(TargetProgress(indicator, unit, round(base, 4), round(value, 4), change, required, met))
    return progress
