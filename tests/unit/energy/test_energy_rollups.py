"""Roll-ups per hour, day and month by meter, building, agency, district, kind and sub-item; tce and CO₂."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from services.energy.domain.rollups import (
    FACTORS_2022,
    FactorTable,
    InvalidFactorTable,
    MeterInfo,
    NoConversionFactor,
    UnknownRollup,
    convert,
    local_hour,
    roll_up,
)
from services.energy.read_model import load_factor_table

METERS = {
    "main-1": MeterInfo("ag-1", "b-1", "320402", "electricity"),
    "hvac-1": MeterInfo("ag-1", "b-1", "320402", "electricity", "hvac"),
    "main-2": MeterInfo("ag-2", "b-2", "320402", "electricity"),
    "water-1": MeterInfo("ag-1", "b-1", "320402", "water"),
    "main-3": MeterInfo("ag-3", "b-3", "320411", "electricity"),
}
INTERVALS = [
    ("main-1", "2024-03-01T01:05:00+00:00", 10.0),
    ("main-1", "2024-03-01T02:00:00+00:00", 5.0),
    ("hvac-1", "2024-03-01T01:05:00+00:00", 4.0),
    ("main-2", "2024-03-01T01:30:00+00:00", 2.0),
    ("water-1", "2024-03-01T01:30:00+00:00", 0.5),
    ("main-3", "2024-03-01T16:30:00+00:00", 1.0),
]


def test_an_interval_belongs_to_the_local_hour_in_which_it_ends() -> None:
    assert local_hour("2024-03-01T01:05:00+00:00") == "2024-03-01T09"
    assert local_hour("2024-03-01T02:00:00+00:00") == "2024-03-01T09"
    assert local_hour("2024-03-01T10:00:00+08:00") == "2024-03-01T09"


def test_hourly_use_per_meter() -> None:
    totals = roll_up(INTERVALS, METERS, "hour", "meter")
    assert totals[("main-1", "electricity", "2024-03-01T09")] == 15.0
    assert totals[("hvac-1", "electricity", "2024-03-01T09")] == 4.0


def test_days_are_local_days() -> None:
    totals = roll_up(INTERVALS, METERS, "day", "district")
    assert totals[("320411", "electricity", "2024-03-02")] == 1.0


def test_building_totals_count_main_meters_only_so_sub_meters_are_not_counted_twice() -> None:
    totals = roll_up(INTERVALS, METERS, "day", "building")
    assert totals[("b-1", "electricity", "2024-03-01")] == 15.0


def test_sub_item_totals_sum_the_sub_meters_by_item() -> None:
    assert roll_up(INTERVALS, METERS, "month", "sub_item") == {("hvac", "electricity", "2024-03"): 4.0}


def test_agency_district_and_kind_totals_keep_kinds_apart() -> None:
    assert roll_up(INTERVALS, METERS, "month", "agency") == {
        ("ag-1", "electricity", "2024-03"): 15.0,
        ("ag-1", "water", "2024-03"): 0.5,
        ("ag-2", "electricity", "2024-03"): 2.0,
        ("ag-3", "electricity", "2024-03"): 1.0,
    }
    assert roll_up(INTERVALS, METERS, "month", "kind") == {
        ("all", "electricity", "2024-03"): 18.0,
        ("all", "water", "2024-03"): 0.5,
    }


def test_intervals_of_unknown_meters_are_left_out() -> None:
    assert roll_up([("ghost", "2024-03-01T01:05:00+00:00", 9.0)], METERS, "day", "meter") == {}


@pytest.mark.parametrize(("period", "by"), [("week", "meter"), ("day", "floor")])
def test_an_unknown_period_or_dimension_is_refused(period: str, by: str) -> None:
    with pytest.raises(UnknownRollup):
        roll_up(INTERVALS, METERS, period, by)


def test_electricity_and_gas_convert_to_standard_coal_and_co2_with_the_named_factors() -> None:
    result = convert({"electricity": 10_000, "natural_gas": 1_000})
    assert result.tce == pytest.approx(1.229 + 1.2143)
    assert result.tco2 == pytest.approx(5.703 + 2.1622)
    assert result.factors_version == FACTORS_2022.version
    assert "GB/T 2589-2020" in FACTORS_2022.tce_source and "0.5703" in FACTORS_2022.co2_source


def test_water_is_reported_apart_and_never_converted_to_energy() -> None:
    result = convert({"water": 120.0, "electricity": 1_000})
    assert (result.water_m3, result.tce) == (120.0, pytest.approx(0.1229))


def test_another_factor_table_can_be_passed_and_is_named_in_the_result() -> None:
    equivalent = FactorTable("grid-2023-test", "test", "test", {"electricity": 0.3}, {"electricity": 0.5})
    result = convert({"electricity": 1_000}, equivalent)
    assert (result.tce, result.tco2, result.factors_version) == (0.3, 0.5, "grid-2023-test")


def test_an_energy_kind_without_a_factor_is_refused_rather_than_left_out() -> None:
    partial = FactorTable("partial", "test", "test", {"electricity": 0.1229}, {"electricity": 0.5703})
    with pytest.raises(NoConversionFactor):
        convert({"electricity": 1, "heat": 1}, partial)


def test_a_factor_table_round_trips_through_its_json_form() -> None:
    assert FactorTable.from_dict(json.loads(json.dumps(FACTORS_2022.to_dict()))) == FACTORS_2022


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"version": ""}, "version"),
        ({"co2_source": None}, "co2_source"),
        ({"kgce_per_unit": {"electricity": 0}}, "kgce_per_unit"),
        ({"kgco2_per_unit": {"electricity": "0.57"}}, "kgco2_per_unit"),
        ({"kgco2_per_unit": {}}, "kgco2_per_unit"),
        ({"grid": "east"}, "grid"),
    ],
)
def test_a_factor_table_without_its_version_sources_or_positive_factors_is_refused(
    change: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidFactorTable) as refused:
        FactorTable.from_dict(FACTORS_2022.to_dict() | change)
    assert field in refused.value.fields


def test_the_deployment_converts_with_the_table_of_its_factors_file(tmp_path: Path) -> None:
    newer = FACTORS_2022.to_dict() | {"version": "grid2023", "kgco2_per_unit": {"electricity": 0.5366}}
    path = tmp_path / "factors.json"
    path.write_text(json.dumps(newer), encoding="utf-8")
    table = load_factor_table(path)
    assert convert({"electricity": 1_000}, table).tco2 == 0.5366 and table.version == "grid2023"
    assert load_factor_table(None) is FACTORS_2022
