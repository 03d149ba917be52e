"""Energy quotas (能耗定额) per agency and year, absolute or per m², and the overrun alert on the trend."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from services.common.kernel.errors import WrongStatus
from services.energy.domain.coverage import MeterUse, YearUse, year_use
from services.energy.domain.quotas import (
    EnergyQuota,
    FloorAreaRequired,
    QuotaNotPositive,
    QuotaOverrunAlerted,
    QuotaOverrunCleared,
    QuotaYearClosed,
    ReasonRequired,
    UnknownQuotaBasis,
)

TODAY = date(2024, 1, 5)
APRIL_30 = date(2024, 4, 30)  # day 121 of 366


def quota(basis: str = "absolute", limit: float = 100.0) -> EnergyQuota:
    """A stored 2024 quota of agency ag-1."""
    q = EnergyQuota.set(agency_id="ag-1", district="320402", year=2024, basis=basis, limit=limit, today=TODAY)
    q.mark_stored()
    return q


CST = timezone(timedelta(hours=8))


def midnight(day: date) -> str:
    """The local midnight starting ``day``."""
    return datetime(day.year, day.month, day.day, tzinfo=CST).isoformat()


def kwh_for_tce(tce: float, as_of: date = APRIL_30, last: date | None = None, water: float = 0) -> YearUse:
    """The year's use worth ``tce`` tonnes of standard coal (0.1229 kgce/kWh) on one electricity meter installed on
    1 January, whose last reading is at the local midnight starting ``last`` (default: the day after
    ``as_of``: the data covers every elapsed day); ``water`` m³ on a water meter read likewise."""
    ends = midnight(last or as_of + timedelta(days=1))
    installed = midnight(date(as_of.year, 1, 1))
    meters = [MeterUse("electricity", tce * 1000 / 0.1229, installed, ends)]
    if water:
        meters.append(MeterUse("water", water, installed, ends))
    return year_use(meters, as_of.year, as_of)


def alerts(q: EnergyQuota) -> list[type]:
    return [type(e) for e in q.pending_events]


def test_a_quota_is_one_per_agency_and_year() -> None:
    assert quota().id == "ag-1-2024"


def test_an_unknown_basis_is_refused() -> None:
    with pytest.raises(UnknownQuotaBasis):
        EnergyQuota.set(agency_id="ag-1", district="320402", year=2024, basis="per_capita", limit=100, today=TODAY)


@pytest.mark.parametrize("limit", [0, -5])
def test_a_quota_must_be_above_zero(limit: float) -> None:
    with pytest.raises(QuotaNotPositive):
        EnergyQuota.set(agency_id="ag-1", district="320402", year=2024, basis="absolute", limit=limit, today=TODAY)


def test_a_quota_cannot_be_set_for_a_year_that_is_over() -> None:
    with pytest.raises(QuotaYearClosed):
        EnergyQuota.set(agency_id="ag-1", district="320402", year=2023, basis="absolute", limit=100, today=TODAY)


def test_a_revision_must_say_why_and_stay_above_zero() -> None:
    with pytest.raises(ReasonRequired):
        quota().revise(90, "  ", TODAY)
    with pytest.raises(QuotaNotPositive):
        quota().revise(0, "节能改造", TODAY)


def test_a_revision_changes_the_limit_the_trend_is_compared_with() -> None:
    q = quota(limit=100)
    q.revise(130, "新增办公楼", TODAY)
    q.assess(kwh_for_tce(40), APRIL_30)  # forecast 121 tce
    assert QuotaOverrunAlerted not in alerts(q)


def test_a_quota_of_a_year_that_is_over_cannot_be_revised() -> None:
    with pytest.raises(QuotaYearClosed):
        quota().revise(90, "补录", date(2025, 1, 2))


def test_a_quota_never_set_cannot_be_revised_or_assessed() -> None:
    with pytest.raises(WrongStatus):
        EnergyQuota("ag-1-2024").assess(YearUse({}, {}, {}), APRIL_30)


def test_a_trend_that_will_exceed_the_quota_is_alerted_with_its_figures() -> None:
    q = quota(limit=100)
    forecast = q.assess(kwh_for_tce(40), APRIL_30)
    assert forecast.forecast_tce == pytest.approx(40 * 366 / 121)  # 121 days covered of 121 elapsed
    event = q.pending_events[-1]
    assert isinstance(event, QuotaOverrunAlerted)
    assert (event.quota_tce, event.already_exceeded, event.as_of) == (100, False, "2024-04-30")
    assert event.factors_version.startswith("GB/T2589-2020")


def test_a_trend_within_the_quota_is_not_alerted() -> None:
    q = quota(limit=100)
    assert not q.assess(kwh_for_tce(30), APRIL_30).over
    assert alerts(q) == []


def test_water_does_not_count_towards_the_energy_quota() -> None:
    q = quota(limit=100)
    q.assess(kwh_for_tce(30, water=1_000_000), APRIL_30)
    assert alerts(q) == []


def test_an_open_alert_is_not_raised_again_until_the_trend_came_back() -> None:
    q = quota(limit=100)
    q.assess(kwh_for_tce(40), APRIL_30)
    q.assess(kwh_for_tce(45, date(2024, 5, 10)), date(2024, 5, 10))
    q.assess(kwh_for_tce(46, date(2024, 6, 30)), date(2024, 6, 30))  # forecast 46 × 366 / 182 = 92.5
    q.assess(kwh_for_tce(70, date(2024, 7, 31)), date(2024, 7, 31))
    assert alerts(q) == [QuotaOverrunAlerted, QuotaOverrunCleared, QuotaOverrunAlerted]


def test_early_in_the_year_the_trend_is_not_extrapolated() -> None:
    q = quota(limit=100)
    forecast = q.assess(kwh_for_tce(10, date(2024, 1, 20)), date(2024, 1, 20))  # would extrapolate to 183 tce
    # 20 days covered: below the 90 days of the sufficiency rule
    assert (forecast.verdict, forecast.insufficient_kinds, forecast.over) == (
        "insufficient_data",
        ("electricity",),
        False,
    )
    assert alerts(q) == []


def test_a_quota_already_exceeded_is_alerted_on_any_day() -> None:
    q = quota(limit=100)
    q.assess(kwh_for_tce(101, date(2024, 1, 20)), date(2024, 1, 20))
    assert q.pending_events[-1].already_exceeded is True  # type: ignore[attr-defined]


def test_a_per_m2_quota_is_turned_into_tce_with_the_floor_area() -> None:
    q = quota("per_m2", limit=10)  # kgce per m²
    forecast = q.assess(kwh_for_tce(40), APRIL_30, floor_area_m2=20_000)
    assert (forecast.quota_tce, forecast.over) == (200, False)
    assert q.assess(kwh_for_tce(40), APRIL_30, floor_area_m2=10_000).over


@pytest.mark.parametrize("area", [None, 0])
def test_a_per_m2_quota_needs_the_floor_area(area: float | None) -> None:
    with pytest.raises(FloorAreaRequired):
        quota("per_m2").assess(kwh_for_tce(1), APRIL_30, floor_area_m2=area)


JUNE_30 = date(2024, 6, 30)  # day 182 of 366


def test_a_lagging_meter_is_annualised_by_the_days_its_data_covers_not_the_calendar() -> None:
    q = quota(limit=90)
    # last reading at the midnight starting 1 June: 31 + 29 + 31 + 30 + 31 = 152 days covered of 182 elapsed
    # (0.8352 ≥ 0.8 and ≥ 90 days: sufficient); 40 × 366 / 152 = 96.315789 tce > 90: alerted
    # (the calendar's 40 × 366 / 182 = 80.44 tce would have said within the quota)
    forecast = q.assess(kwh_for_tce(40, JUNE_30, last=date(2024, 6, 1)), JUNE_30)
    assert (forecast.verdict, forecast.over) == ("over_quota", True)
    assert forecast.forecast_tce == pytest.approx(96.315789, abs=1e-5)
    event = q.pending_events[-1]
    assert isinstance(event, QuotaOverrunAlerted) and event.forecast_tce == pytest.approx(96.315789, abs=1e-5)


def test_too_little_coverage_gives_no_verdict_no_alert_and_leaves_an_open_alert_open() -> None:
    q = quota(limit=90)
    # last reading at the midnight starting 1 April: 31 + 29 + 31 = 91 days of 182 elapsed = 0.5 < 0.8
    # 50 tce → 50 × 366 / 91 = 201 tce, and the calendar's 50 × 366 / 182 = 100.5: both above 90, no alert
    thin = kwh_for_tce(50, JUNE_30, last=date(2024, 4, 1))
    assert thin.coverage["electricity"].as_dict() == {
        "days_covered": 91.0,
        "days_elapsed": 182,
        "share": 0.5,
        "sources": 1,
    }
    forecast = q.assess(thin, JUNE_30)
    assert (forecast.verdict, forecast.insufficient_kinds, forecast.over) == (
        "insufficient_data",
        ("electricity",),
        False,
    )
    assert alerts(q) == []
    q.assess(kwh_for_tce(40), APRIL_30)  # 40 × 366 / 121 = 121 tce, fully covered: alerted
    q.mark_stored()
    q.assess(kwh_for_tce(10, JUNE_30, last=date(2024, 4, 1)), JUNE_30)  # would clear, but says nothing
    assert q.alert_open and alerts(q) == []


def test_water_coverage_never_blocks_the_energy_verdict() -> None:
    q = quota(limit=90)
    use = kwh_for_tce(40, JUNE_30, last=date(2024, 6, 1))
    lagging_water = YearUse(use.year_to_date | {"water": 10.0}, use.annualised | {"water": 10.0}, use.coverage)
    lagging_water.coverage["water"] = kwh_for_tce(1, JUNE_30, last=date(2024, 1, 5)).coverage["electricity"]
    assert q.assess(lagging_water, JUNE_30).verdict == "over_quota"  # water's 4 days do not count


def test_a_quota_is_assessed_within_its_own_year_only() -> None:
    with pytest.raises(QuotaYearClosed):
        quota().assess(kwh_for_tce(1), date(2025, 1, 31))


def test_a_leap_year_is_extrapolated_over_366_days_and_others_over_365() -> None:
    q2025 = EnergyQuota.set(agency_id="ag-1", district="320402", year=2025, basis="absolute", limit=1_000, today=TODAY)
    assert q2025.assess(kwh_for_tce(10, date(2025, 12, 31)), date(2025, 12, 31)).forecast_tce == pytest.approx(10)
    assert quota(limit=1_000).assess(
        kwh_for_tce(10, date(2024, 12, 30)), date(2024, 12, 30)
    ).forecast_tce == pytest.approx(10 * 366 / 365)


def test_the_data_centers_forecast_is_the_use_annualised_by_coverage_and_trends_need_sufficient_data() -> None:
    from services.energy.domain.coverage import Coverage
    from services.energy.domain.quotas import forecast_against_quota

    # 30 April 2024 is day 121; 40 tce so far would be 40 × 366 / 121 = 121 tce by the calendar, but the meters
    # lag: annualised by their covered days (110 of 121: 0.9091) the year comes to 130 tce, above 125 tce
    lagging = forecast_against_quota(40.0, 125.0, 130.0, {"electricity": Coverage.of(110.0, 1, 121)})
    assert (lagging.forecast_tce, lagging.over, lagging.verdict) == (130.0, True, "over_quota")
    # three days of data never make a trend, however high: only use already above the quota would
    short = forecast_against_quota(4.0, 125.0, 486.67, {"electricity": Coverage.of(3.0, 1, 121)})
    assert (short.over, short.verdict) == (False, "insufficient_data")
    already = forecast_against_quota(126.0, 125.0, 486.67, {"electricity": Coverage.of(3.0, 1, 121)})
    assert (already.over, already.verdict) == (True, "over_quota")
    assert forecast_against_quota(0.0, 125.0, 0.0, {}).verdict == "no_data"
