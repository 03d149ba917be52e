"""Command and query schemas refuse bad input with field reasons before the domain is called."""

from __future__ import annotations

from typing import Any

import pytest
from marshmallow import Schema, ValidationError

from services.energy.schemas import (
    MAX_READINGS_PER_BATCH,
    MAX_READINGS_PER_METER,
    AcknowledgeAnomalySchema,
    ConsumptionQuerySchema,
    CorrectAnnualConsumptionSchema,
    InstallMeterSchema,
    ListAnomaliesQuerySchema,
    RecordReadingsBatchSchema,
    RecordReadingsSchema,
    ReplaceMeterSchema,
    ReportAnnualConsumptionSchema,
    ResolveAnomalySchema,
    SetEnergyQuotaSchema,
    TargetsQuerySchema,
)

METER = {
    "serial_no": "DTSD1352-00418",
    "kind": "electricity",
    "agency_id": "ag-1",
    "district": "320402",
    "building_id": "b-1",
    "initial_reading": 1520.5,
    "installed_at": "2024-03-01T09:00:00+08:00",
}


def reasons(schema: Schema, data: dict[str, Any]) -> dict[str, Any]:
    with pytest.raises(ValidationError) as refused:
        schema.load(data)
    return refused.value.messages_dict


def test_a_valid_meter_loads_with_a_main_meter_multiplier_and_counter_by_default() -> None:
    loaded = InstallMeterSchema().load(METER)
    assert (loaded["meter_id"], loaded["sub_item"], loaded["multiplier"], loaded["rollover_limit"]) == (
        None,
        "none",
        1.0,
        100_000_000.0,
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("kind", "steam"),
        ("sub_item", "elevators"),
        ("district", "3204"),
        ("multiplier", 0),
        ("multiplier", "40"),
        ("initial_reading", -1),
        ("initial_reading", True),
        ("initial_reading", float("nan")),
        ("installed_at", "2024-03-01T09:00:00"),
        ("building_id", "b 1"),
    ],
)
def test_a_meter_with_a_bad_field_is_refused_naming_it(field: str, value: Any) -> None:
    assert field in reasons(InstallMeterSchema(), METER | {field: value})


def test_unknown_and_missing_fields_are_refused() -> None:
    found = reasons(InstallMeterSchema(), {k: v for k, v in METER.items() if k != "kind"} | {"colour": "red"})
    assert set(found) == {"kind", "colour"}


def test_a_replacement_needs_both_readings_and_an_aware_time() -> None:
    found = reasons(ReplaceMeterSchema(), {"meter_id": "m-1", "new_serial_no": "SN-2", "replaced_at": "2024-05-10"})
    assert {"old_final_reading", "new_initial_reading", "replaced_at"} <= set(found)


def test_malformed_readings_pass_the_schema_to_be_refused_one_by_one_by_the_domain() -> None:
    batch = {"meter_id": "m-1", "readings": [["2024-03-01T00:05:00+00:00", 1.0], ["bad"], None]}
    assert RecordReadingsSchema().load(batch)["readings"] == batch["readings"]


@pytest.mark.parametrize(
    "readings", [[], "not a list", [["2024-03-01T00:05:00+00:00", 1]] * (MAX_READINGS_PER_METER + 1)]
)
def test_readings_must_be_a_bounded_non_empty_list(readings: Any) -> None:
    assert "readings" in reasons(RecordReadingsSchema(), {"meter_id": "m-1", "readings": readings})


def test_a_multi_meter_batch_names_each_meter_once() -> None:
    one = {"meter_id": "m-1", "readings": [["2024-03-01T00:05:00+00:00", 1]]}
    assert "meters" in reasons(RecordReadingsBatchSchema(), {"meters": [one, one]})
    assert len(RecordReadingsBatchSchema().load({"meters": [one, one | {"meter_id": "m-2"}]})["meters"]) == 2


def test_a_multi_meter_batch_is_bounded_in_readings() -> None:
    reading = ["2024-03-01T00:05:00+00:00", 1]
    per_meter = [reading] * MAX_READINGS_PER_METER
    meters = [
        {"meter_id": f"m-{n}", "readings": per_meter}
        for n in range(MAX_READINGS_PER_BATCH // MAX_READINGS_PER_METER + 1)
    ]
    assert "meters" in reasons(RecordReadingsBatchSchema(), {"meters": meters})


def test_a_quota_has_a_known_basis_and_a_positive_limit() -> None:
    quota = {"agency_id": "ag-1", "district": "320402", "year": 2024, "basis": "absolute", "limit": 120.5}
    assert SetEnergyQuotaSchema().load(quota)["limit"] == 120.5
    assert {"basis", "limit", "year"} <= set(
        reasons(SetEnergyQuotaSchema(), quota | {"basis": "per_capita", "limit": 0, "year": "2024"})
    )


def test_acknowledging_needs_no_note_but_resolving_needs_a_resolution() -> None:
    assert AcknowledgeAnomalySchema().load({"anomaly_id": "an-1"})["note"] == ""
    assert "resolution" in reasons(ResolveAnomalySchema(), {"anomaly_id": "an-1", "resolution": ""})


def test_a_consumption_query_is_ordered_and_hourly_ones_are_bounded() -> None:
    query = {"period": "day", "by": "building", "from": "2024-03-01", "to": "2024-03-31"}
    assert ConsumptionQuerySchema().load(query)["date_to"].day == 31
    assert "to" in reasons(ConsumptionQuerySchema(), query | {"to": "2024-02-28"})
    assert "to" in reasons(ConsumptionQuerySchema(), query | {"period": "hour", "to": "2024-04-05"})
    assert "by" in reasons(ConsumptionQuerySchema(), query | {"by": "floor"})


def test_anomaly_and_target_queries_refuse_unknown_values() -> None:
    assert "status" in reasons(ListAnomaliesQuerySchema(), {"status": "closed"})
    assert "year" in reasons(TargetsQuerySchema(), {"year": 2020})


def test_an_annual_report_names_known_kinds_with_numbers_and_its_source() -> None:
    report = {"agency_id": "ag-1", "district": "320402", "year": 2020, "source": "2020年度统计年报"}
    loaded = ReportAnnualConsumptionSchema().load(report | {"totals": {"electricity": 1_250_000, "water": 0}})
    assert loaded["totals"] == {"electricity": 1_250_000.0, "water": 0.0}
    refused = reasons(ReportAnnualConsumptionSchema(), report | {"totals": {"steam": 1, "water": -2}, "source": ""})
    assert {"totals", "source"} <= set(refused)
    assert "totals" in reasons(ReportAnnualConsumptionSchema(), report | {"totals": {}})
    assert "totals" in reasons(ReportAnnualConsumptionSchema(), report | {"totals": {"electricity": "12"}})
    correction = {"agency_id": "ag-1", "year": 2020, "totals": {"electricity": 1}}
    assert "reason" in reasons(CorrectAnnualConsumptionSchema(), correction)


@pytest.mark.parametrize(
    "item",
    [
        {"meter_id": "m 1", "readings": [[1, 2]]},
        {"meter_id": 7, "readings": [[1, 2]]},
        {"readings": [[1, 2]]},
        {"meter_id": "m-1"},
        {"meter_id": "m-1", "readings": "[]"},
        {"meter_id": "m-1", "readings": []},
        {"meter_id": "m-1", "readings": [[1, 2]] * (MAX_READINGS_PER_METER + 1)},
        {"meter_id": "m-1", "readings": [[1, 2]], "unit": "kWh"},
        "m-1",
    ],
)
def test_each_meter_of_a_batch_is_checked_like_a_single_meters_readings(item: Any) -> None:
    refused = reasons(RecordReadingsBatchSchema(), {"meters": [{"meter_id": "ok", "readings": [[1, 2]]}, item]})
    assert list(refused["meters"]) == [1]
    if isinstance(item, dict):
        assert set(refused["meters"][1]) == set(reasons(RecordReadingsSchema(), item))
