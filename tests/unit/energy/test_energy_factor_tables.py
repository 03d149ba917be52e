"""Adopted factor tables: which table a year's figures use, and what a table must be to be adopted."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from services.energy.domain.factor_tables import AdoptedTable, FactorTableAdopted, FactorTables, table_for_year
from services.energy.domain.rollups import FACTORS_2022, InvalidFactorTable, convert

TODAY = date(2026, 3, 1)


def _table(version: str, electricity_kgco2: float = 0.5366, **validity: Any) -> dict[str, Any]:
    return {
        "version": version,
        "tce_source": "GB/T 2589-2020 (当量值)",
        "co2_source": f"national grid average {electricity_kgco2} tCO₂/MWh",
        "kgce_per_unit": {"electricity": 0.1229, "natural_gas": 1.2143, "heat": 34.12, "fuel": 1.2385},
        "kgco2_per_unit": {"electricity": electricity_kgco2, "natural_gas": 2.1622, "heat": 110.0, "fuel": 2.6315},
        "valid_from": 2023,
        "valid_to": None,
    } | validity


def _adopted(*tables: dict[str, Any]) -> FactorTables:
    catalogue = FactorTables(FactorTables.STREAM_ID)
    for data in tables:
        catalogue.adopt(data, FACTORS_2022, "city-admin", TODAY)
    return catalogue


def test_a_year_uses_the_newest_table_valid_for_it_and_the_default_before_any() -> None:
    catalogue = _adopted(
        _table("grid2023", 0.5366, valid_from=2023),  # open-ended: 2023 on
        _table("grid2025", 0.5500, valid_from=2025, valid_to=2025),  # adopted later, for 2025 only
    )
    versions = {year: catalogue.for_year(year, FACTORS_2022).version for year in range(2021, 2027)}
    assert versions == {
        2021: "GB/T2589-2020+grid2022",  # no adopted table is valid before 2023: the default
        2022: "GB/T2589-2020+grid2022",
        2023: "grid2023",
        2024: "grid2023",
        2025: "grid2025",  # the newer adoption replaces the older one for the year it names
        2026: "grid2023",  # after grid2025's last year, the older open-ended table applies again
    }


def test_a_table_adopted_later_replaces_an_earlier_one_from_its_first_year_on() -> None:
    earlier = AdoptedTable(FACTORS_2022, 2024)
    later_table = _adopted(_table("grid2023", valid_from=2023)).adopted[0]
    assert table_for_year([earlier, later_table], 2025, FACTORS_2022).version == "grid2023"
    assert table_for_year([later_table, earlier], 2025, FACTORS_2022).version == "GB/T2589-2020+grid2022"
    assert table_for_year([later_table, earlier], 2023, FACTORS_2022).version == "grid2023"


def test_the_figures_of_a_year_convert_with_its_table() -> None:
    table = _adopted(_table("grid2023", 0.5366)).for_year(2023, FACTORS_2022)
    # 100,000 kWh × 0.1229 / 1000 = 12.29 tce; × 0.5366 / 1000 = 53.66 tCO₂ (grid2022: 57.03)
    converted = convert({"electricity": 100_000}, table)
    assert (converted.tce, converted.tco2, converted.factors_version) == (12.29, 53.66, "grid2023")


def test_adopting_records_the_table_its_years_who_and_when() -> None:
    catalogue = _adopted(_table("grid2023", valid_to=2023))
    (event,) = catalogue.pending_events
    assert isinstance(event, FactorTableAdopted)
    assert (event.version, event.valid_from, event.valid_to) == ("grid2023", 2023, 2023)
    assert (event.adopted_by, event.adopted_on, event.kgco2_per_unit["electricity"]) == (
        "city-admin",
        "2026-03-01",
        0.5366,
    )


def _refused(data: dict[str, Any], catalogue: FactorTables | None = None) -> dict[str, Any]:
    with pytest.raises(InvalidFactorTable) as refused:
        (catalogue or _adopted()).adopt(data, FACTORS_2022, "city-admin", TODAY)
    assert refused.value.http_status == 422
    return refused.value.fields


def test_a_table_without_every_energy_kind_or_with_a_factor_not_above_zero_is_refused() -> None:
    data = _table("grid2023")
    data["kgce_per_unit"] = {"electricity": 0.1229, "natural_gas": 0, "fuel": 1.2385, "water": 1.0}
    data["kgco2_per_unit"] = {**data["kgco2_per_unit"], "heat": float("inf")}
    assert _refused(data) == {
        "kgce_per_unit": [
            "factors must be numbers above zero: natural_gas",
            "missing kinds: heat",
            "unknown kinds: water",
        ],
        "kgco2_per_unit": ["factors must be numbers above zero: heat"],
    }


def test_a_version_is_adopted_once_and_never_the_default_tables() -> None:
    catalogue = _adopted(_table("grid2023"))
    assert list(_refused(_table("grid2023", 0.55), catalogue)) == ["version"]
    assert list(_refused(_table("GB/T2589-2020+grid2022"))) == ["version"]


@pytest.mark.parametrize(
    ("validity", "fields"),
    [
        ({"valid_from": 2019}, ["valid_from"]),  # before the 2020 baseline year
        ({"valid_from": 2028}, ["valid_from"]),  # beyond next year (2027)
        ({"valid_from": "2023"}, ["valid_from"]),
        ({"valid_from": 2024, "valid_to": 2023}, ["valid_to"]),
        ({"valid_to": 2030}, ["valid_to"]),
    ],
)
def test_the_years_a_table_is_valid_for_are_in_range(validity: dict[str, Any], fields: list[str]) -> None:
    assert list(_refused(_table("grid2023", **validity))) == fields


def test_every_problem_is_named_at_once() -> None:
    data = _table("", valid_from=2000)
    del data["co2_source"]
    assert set(_refused(data)) == {"version", "co2_source", "valid_from"}
