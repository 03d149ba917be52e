"""Event replay and snapshots: every aggregate rebuilds the same state from its events or its snapshot,
and every event it emits matches its contract."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from services.common.base import contracts
from services.common.kernel.aggregate import Aggregate
from services.common.kernel.events import event_from_payload, registered_event_types
from services.energy.domain.anomalies import Anomaly, Finding
from services.energy.domain.closing import ClosedYear
from services.energy.domain.coverage import MeterUse, year_use
from services.energy.domain.factor_tables import FactorTables
from services.energy.domain.meters import Meter
from services.energy.domain.quotas import EnergyQuota
from services.energy.domain.reports import AnnualConsumptionReport
from services.energy.domain.rollups import FACTORS_2022
from tests.unit.energy.builders import INFO, INSTALLED_AT, NOW, series


def full_story() -> list[Aggregate]:
    """One life of every aggregate, together emitting every energy event type."""
    m = Meter.install(
        meter_id="m-1",
        serial_no="SN-1",
        kind="electricity",
        agency_id="ag-1",
        district="320402",
        building_id="b-1",
        sub_item="none",
        multiplier=2,
        rollover_limit=100_000,
        initial_reading=99_990,
        installed_at=INSTALLED_AT,
        now=NOW,
    )
    m.record_readings(series(99_995, 4, 10), NOW)
    m.record_readings(series(12, 13, first=40), NOW)
    m.replace("SN-2", 14, 0, INSTALLED_AT + timedelta(hours=1), NOW, multiplier=1)
    m.record_readings(series(1, 2, first=65), NOW)
    m.record_readings(series(11, first=25), NOW)  # late, inside the 15 → 40 minute gap
    quota = EnergyQuota.set(
        agency_id="ag-1", district="320402", year=2024, basis="absolute", limit=100, today=date(2024, 1, 5)
    )
    quota.revise(90, "节能改造", date(2024, 2, 1))
    installed, last = "2023-12-31T16:00:00+00:00", "2024-04-30T16:00:00+00:00"  # 1 January → 1 May, local
    quota.assess(
        year_use([MeterUse("electricity", 400_000, installed, last)], 2024, date(2024, 4, 30)), date(2024, 4, 30)
    )
    last = "2024-08-31T16:00:00+00:00"  # 1 September, local: 244 days covered, the trend comes back (cleared)
    late = [MeterUse("electricity", 400_000, installed, last), MeterUse("water", 9, installed, last)]
    quota.assess(year_use(late, 2024, date(2024, 8, 31)), date(2024, 8, 31))
    finding = Finding(
        "missing_data", "m-1", "2024-03-01T00:15:00+00:00", "2024-03-01T00:40:00+00:00", {"seconds": 1500}
    )
    anomaly = Anomaly.open(finding, INFO, NOW)
    anomaly.acknowledge("op-1", "排查网关", NOW)
    anomaly.resolve("op-1", "采集网关已更换", NOW)
    report = AnnualConsumptionReport.report(
        agency_id="ag-1",
        district="320402",
        year=2020,
        totals={"electricity": 125_000, "water": 900.5},
        source="2020年度能源资源消费统计年报",
        today=date(2024, 3, 1),
    )
    report.correct({"electricity": 126_000, "water": 900.5}, "补报食堂电表", date(2024, 3, 2))
    versions = {"factors_version": "f-1", "sufficiency_version": "s-1", "targets_version": "t-1"}
    closing = ClosedYear.close(2023, {"ag-1": {"energy_tce": 15.36}}, versions, "admin", date(2024, 3, 2))
    closing.restate({"ag-1": {"energy_tce": 15.4}}, versions, "补报", "admin", date(2024, 3, 3))
    tables = FactorTables(FactorTables.STREAM_ID)
    grid_2023 = FACTORS_2022.to_dict() | {"version": "grid2023", "valid_from": 2023, "valid_to": 2023}
    tables.adopt(grid_2023, FACTORS_2022, "admin", date(2024, 3, 4))
    tables.adopt(
        grid_2023 | {"version": "grid2024", "valid_from": 2024, "valid_to": None},
        FACTORS_2022,
        "admin",
        date(2024, 3, 5),
    )
    return [m, quota, anomaly, report, closing, tables]


STORY = full_story()


def test_the_story_emits_every_energy_event_type() -> None:
    emitted = {e.event_type for a in STORY for e in a.pending_events}
    assert emitted == {t for d, t, _ in registered_event_types() if d == "energy"}


@pytest.mark.parametrize("aggregate", STORY, ids=lambda a: f"{a.stream_type}:{a.id}")
def test_every_emitted_event_matches_its_contract(aggregate: Aggregate) -> None:
    for event in aggregate.pending_events:
        contracts.validate_payload(
            "energy", event.event_type, event.schema_version, json.loads(json.dumps(event.payload()))
        )


@pytest.mark.parametrize("aggregate", STORY, ids=lambda a: f"{a.stream_type}:{a.id}")
def test_replaying_the_events_rebuilds_the_same_state(aggregate: Aggregate) -> None:
    events = [
        event_from_payload("energy", e.event_type, 1, json.loads(json.dumps(e.payload())))
        for e in aggregate.pending_events
    ]
    replayed = type(aggregate).rehydrate(aggregate.id, events)
    assert (replayed.version, replayed.snapshot_state()) == (aggregate.version, aggregate.snapshot_state())


@pytest.mark.parametrize("aggregate", STORY, ids=lambda a: f"{a.stream_type}:{a.id}")
def test_a_snapshot_round_trips_through_json(aggregate: Aggregate) -> None:
    state = json.loads(json.dumps(aggregate.snapshot_state()))
    restored = type(aggregate).rehydrate(aggregate.id, [], snapshot=(aggregate.version, state))
    assert (restored.version, restored.snapshot_state()) == (aggregate.version, aggregate.snapshot_state())


def test_a_meter_restored_from_a_snapshot_decides_like_the_original() -> None:
    original = STORY[0]
    state = json.loads(json.dumps(original.snapshot_state()))
    restored = type(original).rehydrate(original.id, [], snapshot=(original.version, state))
    batch = series(2, 3, first=70)
    assert restored.record_readings(batch, NOW) == original.record_readings(batch, NOW)  # type: ignore[attr-defined]


def test_the_story_covers_the_rollover_the_replacement_and_the_gap() -> None:
    recorded = [e for e in STORY[0].pending_events if e.event_type == "MeterReadingsRecorded"]
    assert recorded[0].rollovers and recorded[1].gaps  # type: ignore[attr-defined]
