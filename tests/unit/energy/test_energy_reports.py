"""Annual consumption reports (能源资源消费统计): the baseline years before the meters, and unmetered use."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from services.common.kernel.errors import WrongStatus
from services.energy.domain.reports import (
    METERED,
    REPORTED,
    AnnualConsumptionReport,
    InvalidTotals,
    SourceRequired,
    YearNotOver,
    annual_totals,
)

TODAY = date(2024, 3, 15)
SOURCE = "2020年度公共机构能源资源消费统计年报"


def report(totals: dict[str, Any] | None = None, year: int = 2020) -> AnnualConsumptionReport:
    return AnnualConsumptionReport.report(
        agency_id="ag-1",
        district="320402",
        year=year,
        totals=totals or {"electricity": 1_250_000, "water": 18_500},
        source=SOURCE,
        today=TODAY,
    )


def test_a_year_that_is_over_is_reported_per_kind_naming_its_statistics() -> None:
    r = report()
    (event,) = r.pending_events
    assert (r.id, r.agency_id, r.district) == ("ag-1-2020", "ag-1", "320402")
    assert event.totals == {"electricity": 1_250_000.0, "water": 18_500.0}  # type: ignore[attr-defined]
    assert event.source == SOURCE  # type: ignore[attr-defined]


@pytest.mark.parametrize("year", [2024, 2025])
def test_a_year_that_is_not_over_cannot_be_reported(year: int) -> None:
    with pytest.raises(YearNotOver):
        report(year=year)


@pytest.mark.parametrize(
    "totals",
    [{}, {"steam": 5}, {"electricity": -1}, {"electricity": float("nan")}, {"electricity": "12"}, {"water": True}],
)
def test_totals_name_known_kinds_with_quantities_of_zero_or_more(totals: dict[str, Any]) -> None:
    with pytest.raises(InvalidTotals):
        AnnualConsumptionReport.report(
            agency_id="ag-1", district="320402", year=2020, totals=totals, source=SOURCE, today=TODAY
        )


def test_a_report_names_its_source() -> None:
    with pytest.raises(SourceRequired):
        AnnualConsumptionReport.report(
            agency_id="ag-1", district="320402", year=2020, totals={"electricity": 1}, source=" ", today=TODAY
        )


def test_a_correction_replaces_the_totals_and_says_why() -> None:
    r = report()
    r.mark_stored()
    with pytest.raises(SourceRequired):
        r.correct({"electricity": 1_260_000}, "", TODAY)
    r.correct({"electricity": 1_260_000}, "补报食堂电表", TODAY)
    (event,) = r.pending_events
    assert event.previous == {"electricity": 1_250_000.0, "water": 18_500.0}  # type: ignore[attr-defined]
    assert r.totals == {"electricity": 1_260_000.0}


def test_a_year_never_reported_cannot_be_corrected() -> None:
    with pytest.raises(WrongStatus):
        AnnualConsumptionReport("ag-1-2020").correct({"electricity": 1}, "why", TODAY)


def test_a_report_is_the_years_figure_for_the_kinds_it_names_and_meters_give_the_others() -> None:
    totals, sources = annual_totals({"electricity": 900_000.0, "natural_gas": 4_000.0}, {"electricity": 1_250_000})
    assert totals == {"electricity": 1_250_000, "natural_gas": 4_000.0}
    assert sources == {"electricity": REPORTED, "natural_gas": METERED}
    assert annual_totals({"water": 3.0}, None) == ({"water": 3.0}, {"water": METERED})


def test_the_2020_report_gives_vehicle_fuel_by_kind_the_floor_area_and_the_people_served() -> None:
    from services.common.kernel.events import upcast

    r = AnnualConsumptionReport.report(
        agency_id="ag-1",
        district="320402",
        year=2020,
        totals={"electricity": 100_000},
        source=SOURCE,
        today=TODAY,
        vehicle_fuel={"vehicle_gasoline": 2_000, "vehicle_charging": 500},
        floor_area_m2=1_000,
        people_served=40,
    )
    (event,) = r.pending_events
    assert event.payload()["vehicle_fuel"] == {"vehicle_charging": 500.0, "vehicle_gasoline": 2_000.0}
    assert (event.payload()["floor_area_m2"], event.payload()["people_served"]) == (1_000.0, 40)
    with pytest.raises(InvalidTotals) as refused:
        AnnualConsumptionReport.report(
            agency_id="ag-1",
            district="320402",
            year=2020,
            totals={"electricity": 1},
            source=SOURCE,
            today=TODAY,
            vehicle_fuel={"jet_fuel": 1},
            people_served=0,
        )
    assert set(refused.value.fields) == {"vehicle_fuel.jet_fuel", "people_served"}
    v1 = {"agency_id": "ag-1", "year": 2020, "totals": {"electricity": 1.0}}
    assert upcast("energy", "AnnualConsumptionReported", 1, v1, 2) | {} == v1 | {
        "vehicle_fuel": {},
        "floor_area_m2": None,
        "people_served": None,
    }
