"""Closed years: figures frozen with the versions of their methods; restated only by explicit decision."""

from __future__ import annotations

from datetime import date

import pytest

from services.energy.domain.closing import (
    ClosedYear,
    EnergyYearClosed,
    EnergyYearRestated,
    MethodVersionsRequired,
    NothingToRestate,
)
from services.energy.domain.reports import SourceRequired, YearNotOver

VERSIONS = {
    "factors_version": "GB/T2589-2020+grid2022",
    "sufficiency_version": "sufficiency-2026.1",
    "targets_version": "targets-2025.1",
}
FIGURES = {"AG-1": {"electricity_kwh": 125_000.0, "energy_tce": 15.3625}}  # 125,000 × 0.1229 / 1000
TODAY = date(2026, 2, 15)


def test_closing_a_year_records_its_figures_and_the_versions_of_its_methods() -> None:
    closing = ClosedYear.close(2025, FIGURES, VERSIONS, "city-admin", TODAY)
    (event,) = closing.pending_events
    assert isinstance(event, EnergyYearClosed)
    assert (event.year, event.figures, event.versions, event.closed_on) == (2025, FIGURES, VERSIONS, "2026-02-15")
    assert closing.id == "energy-2025"
    with pytest.raises(YearNotOver):
        ClosedYear.close(2026, FIGURES, VERSIONS, "city-admin", TODAY)
    with pytest.raises(MethodVersionsRequired) as refused:
        ClosedYear.close(2025, FIGURES, {"factors_version": "x"}, "city-admin", TODAY)
    assert set(refused.value.fields) == {"versions.sufficiency_version", "versions.targets_version"}


def test_a_restatement_needs_a_reason_and_a_change_and_names_the_versions_it_replaces() -> None:
    closing = ClosedYear.close(2025, FIGURES, VERSIONS, "city-admin", TODAY)
    closing.mark_stored()
    with pytest.raises(NothingToRestate):
        closing.restate(FIGURES, VERSIONS, "重算", "city-admin", TODAY)
    newer = {**VERSIONS, "factors_version": "GB/T2589-2020+grid2023"}
    with pytest.raises(SourceRequired):
        closing.restate(FIGURES, newer, " ", "city-admin", TODAY)
    restated = {"AG-1": {"electricity_kwh": 125_000.0, "energy_tce": 15.3625, "carbon_tco2": 67.075}}
    closing.restate(restated, newer, "2023年全国电网排放因子发布", "city-admin", date(2026, 6, 1))
    (event,) = closing.pending_events
    assert isinstance(event, EnergyYearRestated)
    assert (event.previous_versions, event.versions) == (VERSIONS, newer)
    assert closing.figures == restated and closing.versions == newer
