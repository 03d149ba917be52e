"""Coverage, annualisation by covered days, sufficiency and like-for-like verdicts (pure; expected values by hand)."""

from __future__ import annotations

from datetime import date

import pytest

from services.energy.domain.coverage import (
    Coverage,
    SufficiencyRules,
    annualised,
    covered_days,
    days_in_year,
    elapsed_days,
    judge,
)

# local midnight of 2025-01-01 is 2024-12-31T16:00Z; of 2025-10-01 is 2025-09-30T16:00Z
JAN_1_2025 = "2024-12-31T16:00:00+00:00"
OCT_1_2025 = "2025-09-30T16:00:00+00:00"


def test_days_elapsed_count_local_days_up_to_and_including_today() -> None:
    assert days_in_year(2024) == 366 and days_in_year(2025) == 365
    assert elapsed_days(2025, date(2026, 3, 1)) == 365  # a year that is over counts whole
    assert elapsed_days(2026, date(2026, 3, 1)) == 60  # 31 (Jan) + 28 (Feb) + 1
    assert elapsed_days(2027, date(2026, 3, 1)) == 0


def test_a_meter_covers_from_the_years_start_or_its_installation_to_its_last_reading() -> None:
    # installed in 2024, last reading at local midnight starting 1 October: Jan..Sep = 273 days
    assert covered_days("2024-05-01T00:00:00+00:00", OCT_1_2025, 2025, date(2026, 1, 5)) == 273.0
    # installed at local midnight starting 1 July 2025 (30 June 16:00Z): July..September = 92 days
    assert covered_days("2025-06-30T16:00:00+00:00", OCT_1_2025, 2025, date(2026, 1, 5)) == 92.0
    # readings after the year's end are cut at its end: 365 days
    assert covered_days(JAN_1_2025, "2026-02-01T00:00:00+00:00", 2025, date(2026, 3, 1)) == 365.0
    # half a day: a last reading at local noon of 1 January (04:00Z)
    assert covered_days(None, "2025-01-01T04:00:00+00:00", 2025, date(2025, 6, 1)) == 0.5
    assert covered_days(JAN_1_2025, None, 2025, date(2026, 1, 5)) == 0.0


def test_a_running_year_is_annualised_by_the_days_the_data_covers_not_the_days_elapsed() -> None:
    # a meter lagging a week: 83 days covered of 90 elapsed; 8,300 kWh over 83 days is 100 kWh a day
    assert annualised(8_300.0, 83.0, 2025) == pytest.approx(36_500.0)  # 8,300 × 365 / 83
    # the calendar would have said 8,300 × 365 / 90 = 33,661.1: too low by the lag
    assert annualised(10.0, 0.0, 2025) is None


def test_a_kinds_coverage_is_the_mean_of_its_sources() -> None:
    # two meters: 273 and 365 days of 365 elapsed → (273 + 365) / 2 = 319 days, 319 / 365 = 0.874
    coverage = Coverage.of(638.0, 2, 365)
    assert (coverage.days_covered, coverage.days_elapsed, coverage.share, coverage.sources) == (319.0, 365, 0.874, 2)
    assert Coverage.of(0.0, 0, 365).days_covered == 0.0


FULL = Coverage.of(365.0, 1, 365)


def test_the_verdict_needs_90_days_and_80_percent_of_the_elapsed_days() -> None:
    rules = SufficiencyRules()
    assert (rules.min_days, rules.min_share) == (90, 0.8)
    three_days = Coverage.of(3.0, 1, 3)  # 3 of 3 elapsed days: 100 %, but under 90 days
    verdict = judge(-0.975, -0.06, {"electricity": three_days}, {"electricity": FULL}, ["electricity"])
    assert (verdict.verdict, verdict.kinds) == ("insufficient_data", ("electricity",))
    lagging = Coverage.of(280.0, 1, 365)  # 280 / 365 = 0.7671 < 0.8
    assert judge(-0.1, -0.06, {"electricity": lagging}, {"electricity": FULL}, ["electricity"]).verdict == (
        "insufficient_data"
    )
    enough = Coverage.of(292.0, 1, 365)  # 292 / 365 = 0.8 exactly
    assert judge(-0.1, -0.06, {"electricity": enough}, {"electricity": FULL}, ["electricity"]).verdict == "on_target"
    assert judge(-0.05, -0.06, {"electricity": enough}, {"electricity": FULL}, ["electricity"]).verdict == (
        "off_target"
    )
    # configurable: 60 days and 50 % accept 3 months of a year
    loose = SufficiencyRules(min_days=60, min_share=0.5)
    quarter = Coverage.of(90.0, 1, 120)
    assert judge(-0.1, -0.06, {"electricity": quarter}, {"electricity": FULL}, ["electricity"], loose).judged


def test_a_kind_on_one_side_only_makes_the_comparison_incomplete_naming_it() -> None:
    now = {"electricity": FULL}
    then = {"electricity": FULL, "natural_gas": FULL}
    verdict = judge(-0.3, -0.06, now, then, ["electricity", "natural_gas", "heat"])
    assert verdict.verdict == "incomplete" and verdict.kinds == ("natural_gas",)
    assert verdict.as_dict() == {
        "verdict": "incomplete",
        "kinds": ["natural_gas"],
        "missing_this_year": ["natural_gas"],
        "missing_in_baseline": [],
    }
    reverse = judge(0.2, -0.06, then, now, ["electricity", "natural_gas"])
    assert reverse.as_dict()["missing_in_baseline"] == ["natural_gas"]
    # water is not part of an energy indicator: a water meter on one side changes nothing
    assert judge(-0.1, -0.06, now | {"water": FULL}, now, ["electricity"]).verdict == "on_target"


def test_no_data_and_no_baseline_are_verdicts_of_their_own() -> None:
    assert judge(None, -0.06, {}, {"electricity": FULL}, ["electricity"]).verdict == "no_data"
    assert judge(None, -0.06, {"electricity": FULL}, {}, ["electricity"]).verdict == "no_baseline"
    # an insufficient baseline (a 2020 meter read for two months) blocks the verdict as well
    short_2020 = Coverage.of(60.0, 1, 366)
    verdict = judge(-0.1, -0.06, {"electricity": FULL}, {"electricity": short_2020}, ["electricity"])
    assert verdict.verdict == "insufficient_data"


def test_every_factor_and_rule_table_names_its_version_and_source() -> None:
    from services.energy.domain.anomalies import DEFAULT_ANOMALY_RULES
    from services.energy.domain.coverage import DEFAULT_SUFFICIENCY
    from services.energy.domain.readings import READING_INTERVALS_SOURCE, READING_INTERVALS_VERSION
    from services.energy.domain.rollups import FACTORS_2022
    from services.energy.domain.targets import TARGETS_SOURCE, TARGETS_VERSION

    tables = {
        "factors": (FACTORS_2022.version, FACTORS_2022.tce_source + FACTORS_2022.co2_source),
        "sufficiency": (DEFAULT_SUFFICIENCY.version, DEFAULT_SUFFICIENCY.source),
        "targets": (TARGETS_VERSION, TARGETS_SOURCE),
        "reading intervals": (READING_INTERVALS_VERSION, READING_INTERVALS_SOURCE),
        "anomaly rules": (DEFAULT_ANOMALY_RULES.version, DEFAULT_ANOMALY_RULES.source),
    }
    assert all(version.strip() and source.strip() for version, source in tables.values()), tables
    assert TARGETS_VERSION == "targets-2025.1" and "常机管〔2021〕52号" in TARGETS_SOURCE
