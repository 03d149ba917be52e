"""The city's conservation targets against the 2020 baseline (seed 001), computed from plain figures.

This service provides the consumption side (tce, water, CO₂ from ``convert``); the targets are judged in ONE
place, the data center (``services.gateway.kpis.against_2020`` with ``coverage.judge``), which joins floor area
(office space), people (agency master data) and the coverage of each kind. This module only holds the table.
"""

from __future__ import annotations

from typing import Final

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
