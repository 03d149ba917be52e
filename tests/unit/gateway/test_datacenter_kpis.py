"""The data center's KPI arithmetic and the conservation-agency scorecard (pure: no I/O)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from services.gateway.kpis import TARGETS_2025, against_2020, annualisation
from services.gateway.scorecard import SCORECARD_2025, Scorecard, coverage, eligible, load_scorecard

CARD = Scorecard.from_config(SCORECARD_2025)


def test_the_targets_are_the_citys_2025_targets_against_2020() -> None:
    assert TARGETS_2025 == {
        "energy_per_m2_kgce": -0.06,
        "energy_per_capita_kgce": -0.07,
        "water_per_capita_m3": -0.07,
        "carbon_per_m2_kg": -0.07,
    }


def test_a_finished_year_is_taken_whole_and_a_running_one_is_annualised() -> None:
    assert annualisation(2025, date(2026, 11, 23)) == 1.0
    assert annualisation(2026, date(2026, 12, 31)) == 1.0
    assert annualisation(2026, date(2026, 1, 1)) == 365.0
    assert annualisation(2027, date(2026, 11, 23)) == 0.0


def test_intensities_against_2020_use_floor_area_and_people() -> None:
    figures = {
        "energy_tce": 93.0,
        "carbon_t": 230.0,
        "water_m3": 4_650.0,
        "floor_area_m2": 10_000.0,
        "staff_on_post": 100,
        "baseline": {"energy_tce": 100.0, "carbon_t": 250.0, "water_m3": 5_000.0},
    }
    kpis = against_2020(figures, factor=1.0)
    assert kpis["energy_per_m2_kgce"] == 9.3 and kpis["baseline_2020"]["energy_per_m2_kgce"] == 10.0
    assert kpis["change_vs_2020"] == {
        "energy_per_m2_kgce": -0.07,
        "energy_per_capita_kgce": -0.07,
        "water_per_capita_m3": -0.07,
        "carbon_per_m2_kg": -0.08,
    }
    assert kpis["on_target"] == dict.fromkeys(TARGETS_2025, True)
    missed = against_2020({**figures, "water_m3": 4_700.0}, factor=1.0)  # only 6 % less water: the target is 7 %
    assert missed["on_target"]["water_per_capita_m3"] is False


def test_the_2020_intensity_uses_the_2020_area_and_people_when_reported() -> None:
    figures = {
        "energy_tce": 90.0,
        "floor_area_m2": 12_000.0,
        "staff_on_post": 120,
        "baseline": {"energy_tce": 90.0, "floor_area_m2": 10_000.0, "people": 100},
    }
    kpis = against_2020(figures, factor=1.0)
    assert kpis["change_vs_2020"]["energy_per_m2_kgce"] == pytest.approx(-1 / 6, abs=1e-4)
    assert kpis["change_vs_2020"]["energy_per_capita_kgce"] == pytest.approx(-1 / 6, abs=1e-4)


def test_without_area_people_or_baseline_the_kpis_are_unknown_not_zero() -> None:
    kpis = against_2020({"energy_tce": 10.0}, factor=1.0)
    assert kpis["energy_per_m2_kgce"] is None
    assert kpis["change_vs_2020"]["energy_per_m2_kgce"] is None
    assert kpis["on_target"]["energy_per_m2_kgce"] is None
    assert against_2020({"energy_tce": 10.0, "authorised_headcount": 10}, 1.0)["energy_per_capita_kgce"] == 1000.0


GOOD = {
    "change_vs_2020": {"energy_per_m2_kgce": -0.08, "energy_per_capita_kgce": -0.09, "water_per_capita_m3": -0.1},
    "quota_exceeded_forecast": False,
    "over_standard_persons": 0,
    "new_energy_share": 0.5,
    "open_items_over_30_days": 0,
}


def test_an_agency_meeting_every_criterion_scores_100_and_counts() -> None:
    result = CARD.score(GOOD)
    assert result["score"] == 100.0 and result["conservation_agency"] is True
    assert all(c["passed"] for c in result["criteria"].values())


def test_a_failed_criterion_costs_its_weight() -> None:
    result = CARD.score({**GOOD, "over_standard_persons": 2, "new_energy_share": 0.2})  # 10 + 10 of 100
    assert result["score"] == 80.0 and result["conservation_agency"] is True
    result = CARD.score({**GOOD, "over_standard_persons": 2, "new_energy_share": 0.2, "open_items_over_30_days": 1})
    assert result["score"] == 65.0 and result["conservation_agency"] is False
    assert result["criteria"]["no_overdue_findings"] == {"value": 1, "passed": False}


def test_a_criterion_without_data_does_not_apply() -> None:
    no_vehicles = {k: v for k, v in GOOD.items() if k != "new_energy_share"}
    result = CARD.score({**no_vehicles, "over_standard_persons": 1})  # 10 failed of the 90 that apply
    assert result["criteria"]["new_energy_share"] == {"value": None, "passed": None}
    assert result["score"] == pytest.approx(88.9)


def test_no_score_without_data_for_half_the_weight() -> None:
    result = CARD.score({"over_standard_persons": 0, "new_energy_share": 0.4})
    assert result["score"] is None and result["conservation_agency"] is None


def test_coverage_counts_county_level_and_above_party_and_government_agencies() -> None:
    agencies = [
        {"kind": "party_government", "admin_level": "city", "conservation_agency": True},
        {"kind": "party_government", "admin_level": "county", "conservation_agency": True},
        {"kind": "party_government", "admin_level": "county", "conservation_agency": False},
        {"kind": "party_government", "admin_level": "county", "conservation_agency": None},
        {"kind": "school", "admin_level": "county", "conservation_agency": True},  # not eligible
    ]
    assert not eligible(agencies[4])
    result = coverage(agencies)
    assert result["eligible"] == 4 and result["conservation"] == 2 and result["coverage"] == 0.5
    assert result["goal_2020"] == 0.70 and result["goal_2025"] == 0.85 and result["meets_goal_2025"] is False
    assert coverage([])["coverage"] is None


def test_the_criteria_are_configuration_data(tmp_path: Path) -> None:
    config = {**SCORECARD_2025, "version": "2026-local", "pass_score": 60}
    config["criteria"] = [{**c, "weight": 1} for c in SCORECARD_2025["criteria"]]
    path = tmp_path / "scorecard.json"
    path.write_text(json.dumps(config, ensure_ascii=False), encoding="utf-8")
    card = load_scorecard(path)
    assert card.version == "2026-local" and card.pass_score == 60
    assert card.describe()["criteria"][0]["rule"] == "change_vs_2020.energy_per_m2_kgce <= -0.06"
    with pytest.raises(ValueError, match="operator"):
        Scorecard.from_config({**config, "criteria": [{**config["criteria"][0], "op": "~"}]})
    with pytest.raises(ValueError, match="incomplete"):
        Scorecard.from_config({"version": "x"})
