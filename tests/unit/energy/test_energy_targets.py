"""Targets against the 2020 baseline: energy per m² −6 %, per capita −7 %, water per capita −7 %, carbon per m² −7 %."""

from __future__ import annotations

import pytest

from services.energy.domain import BaselineIncomplete, TargetFigures, assess_targets

BASELINE = TargetFigures(energy_tce=100.0, water_m3=10_000.0, carbon_tco2=200.0, floor_area_m2=10_000, headcount=200)


def progress(current: TargetFigures, year: int = 2025) -> dict[str, tuple[float, float, bool]]:
    return {p.indicator: (p.change, p.required_change, p.met) for p in assess_targets(BASELINE, current, year)}


def test_the_four_indicators_are_measured_against_their_2025_targets() -> None:
    current = TargetFigures(93.0, 9_400.0, 186.0, 10_000, 200)
    assert progress(current) == {
        "energy_per_m2": (-0.07, -0.06, True),
        "energy_per_capita": (-0.07, -0.07, True),
        "water_per_capita": (-0.06, -0.07, False),
        "carbon_per_m2": (-0.07, -0.07, True),
    }


def test_intensities_use_area_and_headcount_so_growth_is_not_penalised() -> None:
    grown = TargetFigures(110.0, 10_000.0, 200.0, 12_000, 250)
    result = progress(grown)
    assert result["energy_per_m2"][0] == pytest.approx(110 / 1.2 / 100 - 1, abs=1e-4)
    assert result["energy_per_capita"][2] and result["water_per_capita"][2]


def test_intermediate_years_are_held_to_the_linear_path_to_2025() -> None:
    current = TargetFigures(97.0, 9_000.0, 190.0, 10_000, 200)
    assert progress(current, 2022)["energy_per_m2"] == (-0.03, -0.024, True)
    assert progress(current, 2021)["energy_per_m2"][1] == -0.012


def test_the_units_of_the_indicators_are_named() -> None:
    units = {p.indicator: (p.unit, p.baseline) for p in assess_targets(BASELINE, BASELINE, 2025)}
    assert units["energy_per_m2"] == ("kgce/m2", 10.0)
    assert units["water_per_capita"] == ("m3/person", 50.0)


def test_a_baseline_without_water_is_met_only_by_staying_without() -> None:
    dry = TargetFigures(100.0, 0.0, 200.0, 10_000, 200)
    met = {p.indicator: p.met for p in assess_targets(dry, dry, 2025)}
    assert met["water_per_capita"] is True
    assert {p.indicator: p.met for p in assess_targets(dry, BASELINE, 2025)}["water_per_capita"] is False


@pytest.mark.parametrize("figures", [TargetFigures(1, 1, 1, 0, 10), TargetFigures(1, 1, 1, 100, 0)])
def test_intensities_need_floor_area_and_headcount(figures: TargetFigures) -> None:
    with pytest.raises(BaselineIncomplete):
        assess_targets(BASELINE, figures, 2025)
