"""The data center's KPI arithmetic and the conservation-agency scorecard (pure: no I/O)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from services.energy.domain.coverage import Coverage
from services.gateway.kpis import TARGETS_2025, against_2020
from services.gateway.scorecard import SCORECARD_2025, Scorecard, coverage, eligible, load_scorecard

CARD = Scorecard.from_config(SCORECARD_2025)


def test_the_targets_are_the_citys_2025_targets_against_2020() -> None:
    assert TARGETS_2025 == {
        "energy_per_m2_kgce": -0.06,
        "energy_per_capita_kgce": -0.07,
        "water_per_capita_m3": -0.07,
        "carbon_per_m2_kg": -0.07,
    }


FULL_2025, FULL_2020 = Coverage.of(365.0, 1, 365), Coverage.of(366.0, 1, 366)
ELECTRICITY = ({"electricity": FULL_2025, "water": FULL_2025}, {"electricity": FULL_2020, "water": FULL_2020})


def test_intensities_against_2020_use_floor_area_and_people() -> None:
    figures = {
        "energy_tce": 93.0,
        "carbon_t": 230.0,
        "building_energy_tce": 93.0,
        "building_carbon_t": 230.0,
        "water_m3": 4_650.0,
        "floor_area_m2": 10_000.0,
        "staff_on_post": 100,
        "baseline": {"energy_tce": 100.0, "carbon_t": 250.0, "water_m3": 5_000.0},
    }
    kpis = against_2020(figures, *ELECTRICITY)
    assert kpis["energy_per_m2_kgce"] == 9.3 and kpis["baseline_2020"]["energy_per_m2_kgce"] == 10.0
    assert kpis["change_vs_2020"] == {
        "energy_per_m2_kgce": -0.07,  # 9.3 / 10 − 1
        "energy_per_capita_kgce": -0.07,  # 930 / 1000 − 1
        "water_per_capita_m3": -0.07,  # 46.5 / 50 − 1
        "carbon_per_m2_kg": -0.08,  # 23 / 25 − 1
    }
    assert kpis["on_target"] == dict.fromkeys(TARGETS_2025, True)
    assert kpis["verdicts"]["energy_per_m2_kgce"] == {"verdict": "on_target", "kinds": []}
    assert kpis["denominators"] == {"floor_area_m2": "current", "people": "current"}
    missed = against_2020({**figures, "water_m3": 4_700.0}, *ELECTRICITY)  # only 6 % less water: the target is 7 %
    assert missed["on_target"]["water_per_capita_m3"] is False
    assert missed["verdicts"]["water_per_capita_m3"]["verdict"] == "off_target"


def test_the_2020_intensity_uses_the_2020_area_and_people_when_reported() -> None:
    figures = {
        "energy_tce": 90.0,
        "building_energy_tce": 90.0,
        "floor_area_m2": 12_000.0,
        "staff_on_post": 120,
        "baseline": {"energy_tce": 90.0, "building_energy_tce": 90.0, "floor_area_m2": 10_000.0, "people": 100},
    }
    kpis = against_2020(figures, *ELECTRICITY)
    # now 90,000 kgce / 12,000 m² = 7.5; then 90,000 / 10,000 = 9.0; 7.5 / 9 − 1 = −0.1667
    assert kpis["change_vs_2020"]["energy_per_m2_kgce"] == -0.1667
    assert kpis["change_vs_2020"]["energy_per_capita_kgce"] == -0.1667  # 750 / 900 − 1
    assert kpis["denominators"] == {"floor_area_m2": "2020", "people": "2020"}


def test_without_area_people_or_baseline_the_kpis_are_null_with_a_reason() -> None:
    kpis = against_2020({"energy_tce": 10.0, "building_energy_tce": 10.0}, {"electricity": FULL_2025}, {})
    assert kpis["energy_per_m2_kgce"] is None and kpis["null_reasons"]["energy_per_m2_kgce"] == "no_floor_area"
    assert kpis["change_vs_2020"]["energy_per_m2_kgce"] is None
    assert kpis["change_vs_2020_null_reasons"]["energy_per_m2_kgce"] == "no_baseline"
    assert kpis["on_target"]["energy_per_m2_kgce"] is None
    # the authorised headcount never stands in for nobody on post
    alone = against_2020({"energy_tce": 10.0, "authorised_headcount": 10}, {"electricity": FULL_2025}, {})
    assert alone["energy_per_capita_kgce"] is None
    assert alone["null_reasons"]["energy_per_capita_kgce"] == "nobody_on_post"
    assert alone["null_reasons"]["water_per_capita_m3"] == "no_water_data"


def test_a_verdict_needs_sufficient_coverage_and_the_same_kinds() -> None:
    figures = {
        "energy_tce": 2.5,
        "carbon_t": 6.0,
        "building_energy_tce": 2.5,
        "building_carbon_t": 6.0,
        "floor_area_m2": 1_000.0,
        "staff_on_post": 10,
        "baseline": {"energy_tce": 100.0, "carbon_t": 250.0, "building_energy_tce": 100.0, "building_carbon_t": 250.0},
    }
    three_days = {"electricity": Coverage.of(3.0, 1, 3)}
    kpis = against_2020(figures, three_days, {"electricity": FULL_2020})
    assert kpis["verdicts"]["energy_per_m2_kgce"] == {"verdict": "insufficient_data", "kinds": ["electricity"]}
    assert kpis["on_target"]["energy_per_m2_kgce"] is None  # never 达标 on three days of data
    assert kpis["change_vs_2020"]["energy_per_m2_kgce"] is None
    assert kpis["change_vs_2020_null_reasons"]["energy_per_m2_kgce"] == "insufficient_data"
    # the baseline had natural gas, this year has none: incomplete, naming it
    gas_2020 = {"electricity": FULL_2020, "natural_gas": FULL_2020}
    kpis = against_2020(figures, {"electricity": FULL_2025}, gas_2020)
    assert kpis["verdicts"]["carbon_per_m2_kg"]["verdict"] == "incomplete"
    assert kpis["verdicts"]["carbon_per_m2_kg"]["missing_this_year"] == ["natural_gas"]
    # vehicles this year and none in 2020: incomplete with vehicles, judged on buildings only
    with_car = {"electricity": FULL_2025, "vehicle_gasoline": FULL_2025}
    kpis = against_2020(figures, with_car, {"electricity": FULL_2020})
    assert kpis["verdicts"]["energy_per_m2_kgce"]["missing_in_baseline"] == ["vehicle_gasoline"]
    assert kpis["buildings_only"]["verdicts"]["energy_per_m2_kgce"]["verdict"] == "on_target"  # 2.5 vs 100 kgce/m²


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


def test_a_factor_change_after_closing_is_a_proposed_restatement_naming_the_new_factors() -> None:
    from datetime import date

    from services.energy.domain.rollups import FACTORS_2022, FactorTable
    from services.gateway import datacenter as dc

    grid_2023 = FactorTable.from_dict({**FACTORS_2022.to_dict(), "version": "GB/T2589-2020+grid2023"})
    raw = dict.fromkeys(dc.RAW, 0) | {
        "agencies": 1,
        "floor_area_m2": 1_000,
        "electricity_kwh": 100_000.0,
        "building_energy_tce": 12.29,  # 100,000 kWh × 0.1229
        "electricity_kwh_annualised": 100_000.0,
        "electricity_kwh_source_days": 365.0,
        "electricity_kwh_sources": 1,
        "energy_tce_annualised": 12.29,
        "baseline_electricity_kwh_annualised": 110_000.0,
        "baseline_electricity_kwh_source_days": 366.0,
        "baseline_electricity_kwh_sources": 1,
        "baseline_energy_tce_annualised": 13.519,  # 110,000 × 0.1229
    }
    closed = {
        "versions": dc.method_versions(FACTORS_2022),
        "closed_on": "2026-02-15",
        "restated_on": None,
        "reason": None,
    }
    frozen = dc.derive(raw, 2025, date(2026, 3, 1), FACTORS_2022, closed)
    assert frozen["closed_year"]["versions"]["factors_version"] == "GB/T2589-2020+grid2022"
    assert frozen["energy_per_m2_kgce"] == 12.29  # 12,290 kgce / 1,000 m²
    assert dc._proposed(frozen, dc.derive(raw, 2025, date(2026, 3, 1), FACTORS_2022)) is None
    live = dc.derive(raw, 2025, date(2026, 3, 1), grid_2023)
    proposed = dc._proposed(frozen, live)
    assert proposed is not None and proposed["methods"]["factors_version"] == "GB/T2589-2020+grid2023"
