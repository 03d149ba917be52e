"""The energy service's commands and read models on a real store (SQLite and PostgreSQL), without brokers:
the service runs in-process (``worker_factory``) and its projection is fed the stored events directly."""

from __future__ import annotations

import gc
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from services.common.base.memory import collection_deferred
from services.common.kernel.clock import CHINA_STANDARD_TIME
from services.common.runtime.rpc import ServiceError
from services.energy import read_model
from services.energy.domain.rollups import FACTORS_2022
from services.energy.service import EnergyService
from services.gateway import datacenter as dc
from services.gateway.views import energy as datacenter
from services.gateway.views import prepare_database
from tests.integration.harness import ServiceHarness

NOW: datetime
TODAY: date
MIDNIGHT: datetime
THIS_YEAR: datetime
"""Where readings counted in this year's totals begin: two weeks ago, or on New Year's day in early January."""


def read_the_clock() -> None:
    """The clock, read as the module is imported and again as each test starts (``tests/conftest.py``)."""
    global NOW, TODAY, MIDNIGHT, THIS_YEAR
    NOW = datetime.now(UTC)
    TODAY = NOW.astimezone(CHINA_STANDARD_TIME).date()
    MIDNIGHT = datetime(TODAY.year, TODAY.month, TODAY.day, tzinfo=CHINA_STANDARD_TIME).astimezone(UTC)
    THIS_YEAR = max(MIDNIGHT - timedelta(days=15), datetime(TODAY.year, 1, 1, tzinfo=CHINA_STANDARD_TIME))


read_the_clock()


class Harness(ServiceHarness):
    """The energy service with a real store and read models; ``project()`` applies what was stored."""

    def __init__(self, url: str) -> None:
        agencies = (("AG-1", "320402"), ("AG-2", "320404"))
        super().__init__(
            url, "energy", EnergyService, read_model.EnergyViews(), ["energy_views"], agencies, factors=FACTORS_2022
        )

    def install(self, meter_id: str, agency: str = "AG-1", district: str = "320402", **extra: Any) -> None:
        body = {
            "meter_id": meter_id,
            "serial_no": f"SN-{meter_id}",
            "kind": "electricity",
            "agency_id": agency,
            "district": district,
            "building_id": "B-1",
            "initial_reading": 1000,
            "installed_at": (MIDNIGHT - timedelta(days=16)).isoformat(),
        }
        self.service.install_meter(body | extra)

    def query(self, sql: Any) -> list[Any]:
        with self.engine.connect() as conn:
            return list(conn.execute(sql))


@pytest.fixture
def energy(db_url: str) -> Harness:
    return Harness(db_url)


def at(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def five_minutes(first: datetime, count: int, start: float, step: float | list[float]) -> list[list[Any]]:
    """``count`` readings every 5 minutes from ``first``, the counter moving by ``step`` (or steps)."""
    steps = step if isinstance(step, list) else [step] * count
    readings, value = [], start
    for n in range(count):
        value += steps[n]
        readings.append([at(first + timedelta(minutes=5 * n)), round(value, 3)])
    return readings


def test_a_batch_refuses_bad_readings_and_unknown_meters_one_by_one_and_records_one_event_per_meter(
    energy: Harness,
) -> None:
    energy.install("M-1")
    energy.install("M-2")
    start = MIDNIGHT - timedelta(days=16) + timedelta(minutes=5)
    good = five_minutes(start, 3, 1000, 1.5)
    batch = {
        "meters": [
            {"meter_id": "M-1", "readings": [*good, ["yesterday", 5], [at(NOW + timedelta(hours=1)), 2000]]},
            {"meter_id": "M-2", "readings": good},
            {"meter_id": "NOPE", "readings": good[:2]},
        ]
    }
    answer = energy.service.record_readings(batch)
    assert (answer["accepted"], answer["rejected"], answer["meters"]) == (6, 4, 3)
    assert answer["rejected_by_reason"] == {"malformed_timestamp": 1, "in_future": 1, "unknown_meter": 2}
    assert answer["per_meter"]["M-1"] == {"accepted": 3, "duplicates": 0, "gaps": 0, "rejected": 2}
    assert {(r["meter_id"], r["position"], r["reason"]) for r in answer["rejections"]} == {
        ("M-1", 3, "malformed_timestamp"),
        ("M-1", 4, "in_future"),
        ("NOPE", 0, "unknown_meter"),
        ("NOPE", 1, "unknown_meter"),
    }
    assert len(answer["event_ids"]) == 2
    again = energy.service.record_readings(batch)
    assert (again["accepted"], again["duplicates"], again["event_ids"]) == (0, 6, [])


def test_a_bad_reading_deep_in_a_100000_reading_batch_is_named_by_its_meter_and_index(energy: Harness) -> None:
    """The largest batch the service takes (10 meters x 10,000 readings = 100,000): the domain refuses a bad
    reading deep inside it by meter and position and records the rest; a reading the command cannot take at
    all (a control character) or a meter item of the wrong shape refuses the batch, naming the reading's path
    or the meter's index."""
    first = NOW - timedelta(days=40)
    for m in range(10):
        energy.install(f"M-{m}", installed_at=at(first))
    meters = [
        {"meter_id": f"M-{m}", "readings": five_minutes(first + timedelta(minutes=5), 10_000, 1000, 0.5)}
        for m in range(10)
    ]
    meters[5]["readings"][5_000][0] = "not a time"
    meters[9]["readings"][9_999][1] = "12.5"
    answer = energy.service.record_readings({"meters": meters})
    # 100,000 readings - 2 refused = 99,998; M-5's reading 5,000 missing leaves a 10-minute interval: one gap
    assert (answer["accepted"], answer["rejected"], answer["gaps"]) == (99_998, 2, 1)
    assert [(r["meter_id"], r["position"], r["reason"]) for r in answer["rejections"]] == [
        ("M-5", 5_000, "malformed_timestamp"),
        ("M-9", 9_999, "malformed_value"),
    ]
    assert answer["per_meter"]["M-9"] == {"accepted": 9_999, "duplicates": 0, "gaps": 0, "rejected": 1}

    later = first + timedelta(days=35) + timedelta(minutes=5)  # after every reading above (10,000 x 5 min ~ 34.7 days)
    meters = [
        {"meter_id": f"M-{m}", "readings": five_minutes(later, 10_000 if m < 9 else 1, 6000, 0.5)} for m in range(10)
    ]
    meters[8]["readings"][9_998][0] += "\x00"
    with pytest.raises(ServiceError) as refused:
        energy.service.record_readings({"meters": meters})
    assert (refused.value.http_status, refused.value.fields) == (
        422,
        {"meters.8.readings.9998.0": ["contains NUL"]},
    )
    meters[8]["readings"][9_998][0] = at(later)
    meters[9]["readings"] = "not a list"
    with pytest.raises(ServiceError) as refused:
        energy.service.record_readings({"meters": meters})
    assert refused.value.fields == {"meters": {"9": {"readings": ["must be a list of [timestamp, value] readings"]}}}


def test_a_batch_sent_again_with_its_message_id_is_answered_the_same_and_recorded_once(energy: Harness) -> None:
    energy.install("M-1")
    readings = five_minutes(MIDNIGHT - timedelta(days=15), 2, 1000, 1)
    batch = {"message_id": "district-320402-0001", "meters": [{"meter_id": "M-1", "readings": readings}]}
    first = energy.service.record_readings(batch)
    before = energy.store.last_position()
    assert energy.service.record_readings(batch) == first
    assert energy.store.last_position() == before


def test_a_batch_id_sent_again_with_other_readings_is_refused_and_records_nothing(energy: Harness) -> None:
    """A batch's id is its key, bound to its content as every key is: the same id with other readings used to
    answer the first batch's success for readings never recorded."""
    energy.install("M-1")
    readings = five_minutes(MIDNIGHT - timedelta(days=15), 2, 1000, 1)
    batch = {"message_id": "district-320402-0002", "meters": [{"meter_id": "M-1", "readings": readings}]}
    energy.service.record_readings(batch)
    before = energy.store.last_position()
    later = five_minutes(MIDNIGHT - timedelta(days=14), 2, 1100, 1)
    with pytest.raises(ServiceError) as reused:
        energy.service.record_readings({**batch, "meters": [{"meter_id": "M-1", "readings": later}]})
    assert (reused.value.http_status, reused.value.code) == (422, "idempotency_key_reused")
    assert energy.store.last_position() == before


def test_readings_of_a_meter_outside_the_callers_district_are_refused_one_by_one_as_a_missing_meters(
    energy: Harness,
) -> None:
    energy.install("M-1")
    energy.install("M-2", agency="AG-2", district="320404")
    readings = five_minutes(MIDNIGHT - timedelta(days=15), 2, 1000, 1)
    energy.scope = "320402"
    answer = energy.service.record_readings(
        {"meters": [{"meter_id": "M-1", "readings": readings}, {"meter_id": "M-2", "readings": readings}]}
    )
    # M-1's 2 readings accepted; M-2 (320404's) refused 2 times exactly as the never installed M-X below
    assert (answer["accepted"], answer["rejected_by_reason"]) == (2, {"unknown_meter": 2})
    missing = energy.service.record_readings({"meters": [{"meter_id": "M-X", "readings": readings}]})
    as_missing = [{**r, "meter_id": "M-2", "message": "no meter M-2"} for r in missing["rejections"]]
    assert answer["rejections"] == as_missing
    assert answer["rejections"][0]["message"] == "no meter M-2"


def test_gaps_and_a_counter_going_backwards_raise_anomalies_once(energy: Harness) -> None:
    first = MIDNIGHT - timedelta(days=15)
    energy.install("M-1", installed_at=at(first - timedelta(minutes=5)))
    readings = [
        [at(first), 1001],
        [at(first + timedelta(hours=2)), 1010],  # two hours without readings: missing data
        [at(first + timedelta(hours=2, minutes=5)), 900],  # backwards without a replacement
    ]
    answer = energy.service.record_readings({"meters": [{"meter_id": "M-1", "readings": readings}]})
    assert answer["rejected_by_reason"] == {"counter_went_backwards": 1}
    energy.project()
    kinds = sorted(r.kind for r in energy.query(sa.select(read_model.anomalies)))
    assert kinds == ["missing_data", "negative_consumption"]
    assert [g.seconds for g in energy.query(sa.select(read_model.gaps))] == [7200]
    energy.service.record_readings({"meters": [{"meter_id": "M-1", "readings": readings}]})  # sent again
    energy.project()
    assert len(energy.query(sa.select(read_model.anomalies))) == 2


def test_use_rolls_up_by_hour_day_agency_and_kind_with_tce_and_co2(energy: Harness) -> None:
    energy.install("M-1")
    energy.install("M-2", sub_item="hvac")
    day = TODAY - timedelta(days=3)
    first = datetime(day.year, day.month, day.day, 9, 5, tzinfo=CHINA_STANDARD_TIME)
    for meter in ("M-1", "M-2"):
        readings = five_minutes(first - timedelta(minutes=5), 1, 1000, 0)  # catch up after installation, 0 kWh
        readings += five_minutes(first, 12, 1000, 2.5)
        energy.service.record_readings({"meters": [{"meter_id": meter, "readings": readings}]})
    energy.service.replace_meter(
        {
            "meter_id": "M-1",
            "new_serial_no": "SN-NEW",
            "old_final_reading": 1040,
            "new_initial_reading": 0,
            "replaced_at": at(first + timedelta(minutes=57)),
        }
    )
    energy.project()
    query = {"period": "day", "by": "agency", "from": day.isoformat(), "to": day.isoformat()}
    rows = energy.service.consumption(query)["rows"]
    assert [(r["group"], r["kind"], r["period"], r["consumption"]) for r in rows] == [
        ("AG-1", "electricity", day.isoformat(), 40.0)  # 30 from readings + 10 up to the replacement; not M-2
    ]
    assert rows[0]["tce"] == pytest.approx(40 * 0.1229 / 1000) and rows[0]["tco2"] == pytest.approx(40 * 0.5703 / 1000)
    hours = energy.service.consumption(query | {"period": "hour", "by": "sub_item"})["rows"]
    # the catch-up reading at 09:00 closes hour 08 with nothing; 09:05 … 10:00 = 12 × 2.5 = 30 in hour 09
    assert [(r["group"], r["period"], r["consumption"]) for r in hours] == [
        ("hvac", f"{day.isoformat()}T08", 0.0),
        ("hvac", f"{day.isoformat()}T09", 30.0),
    ]
    month = energy.service.consumption(query | {"period": "month", "by": "kind"})["rows"]
    assert [(r["group"], r["period"]) for r in month] == [("all", day.isoformat()[:7])]


def test_the_detector_opens_a_spike_once_against_the_same_hours_baseline(energy: Harness) -> None:
    days = 15
    wednesday = TODAY - timedelta(days=(TODAY.weekday() - 2) % 7 or 7)
    first = datetime(wednesday.year, wednesday.month, wednesday.day, tzinfo=CHINA_STANDARD_TIME) - timedelta(days=14)
    energy.install("M-1", installed_at=at(first))
    spike_from = first + timedelta(days=14, hours=10)
    steps = [
        5.0 if spike_from < first + timedelta(minutes=5 * (n + 1)) <= spike_from + timedelta(hours=1) else 0.5
        for n in range(days * 288)
    ]
    readings = five_minutes(first + timedelta(minutes=5), days * 288, 1000, steps)
    energy.service.record_readings({"meters": [{"meter_id": "M-1", "readings": readings}]})
    energy.project()
    answer = energy.service.detect_anomalies({"day": wednesday.isoformat()})
    energy.project()
    spikes = [r for r in energy.query(sa.select(read_model.anomalies)) if r.kind == "spike"]
    assert len(spikes) == 1 and spikes[0].anomaly_id in answer["opened"]
    assert spikes[0].period_start == at(spike_from)
    assert energy.service.detect_anomalies({"day": wednesday.isoformat()})["opened"] == []


def test_the_detector_finds_a_meter_stuck_in_working_hours(energy: Harness) -> None:
    energy.install("M-1")
    monday = TODAY - timedelta(days=TODAY.weekday() + 7)
    first = datetime(monday.year, monday.month, monday.day, 8, 5, tzinfo=CHINA_STANDARD_TIME)
    readings = five_minutes(first, 3, 1000, 1) + five_minutes(first + timedelta(minutes=15), 24, 1003, 0)
    readings += five_minutes(first + timedelta(hours=2, minutes=15), 2, 1003, 1)
    energy.service.record_readings({"meters": [{"meter_id": "M-1", "readings": readings}]})
    energy.project()
    energy.service.detect_anomalies({"day": monday.isoformat(), "holidays": [], "extra_workdays": []})
    energy.project()
    stuck = [r for r in energy.query(sa.select(read_model.anomalies)) if r.kind == "stuck_meter"]
    assert len(stuck) == 1 and stuck[0].period_start == readings[3][0]


def test_an_anomaly_is_acknowledged_then_resolved_but_not_resolved_first(energy: Harness) -> None:
    first = MIDNIGHT - timedelta(days=15)
    energy.install("M-1", installed_at=at(first - timedelta(minutes=5)))
    gap = [[at(first), 1001], [at(first + timedelta(hours=3)), 1010]]
    energy.service.record_readings({"meters": [{"meter_id": "M-1", "readings": gap}]})
    energy.project()
    (anomaly,) = energy.service.list_anomalies({})
    with pytest.raises(ServiceError) as refused:
        energy.service.resolve_anomaly({"anomaly_id": anomaly["anomaly_id"], "resolution": "fixed"})
    assert refused.value.code == "wrong_status"
    energy.service.acknowledge_anomaly({"anomaly_id": anomaly["anomaly_id"], "note": "checking the gateway"})
    energy.service.resolve_anomaly({"anomaly_id": anomaly["anomaly_id"], "resolution": "replaced the DTU"})
    energy.project()
    (row,) = energy.service.list_anomalies({"status": "resolved"})
    assert (row["resolution"], row["acknowledged_by"]) == ("replaced the DTU", "city_admin:test")


def test_a_quota_trending_over_is_alerted_from_the_year_to_date_use(energy: Harness) -> None:
    energy.install("M-1")
    year = TODAY.year
    energy.service.set_quota(
        {"agency_id": "AG-1", "district": "320402", "year": year, "basis": "absolute", "limit": 0.01}
    )
    first = THIS_YEAR
    energy.service.record_readings({"meters": [{"meter_id": "M-1", "readings": five_minutes(first, 288, 1000, 2)}]})
    energy.project()
    answer = energy.service.assess_quota({"agency_id": "AG-1", "year": year, "as_of": TODAY.isoformat()})
    assert answer["over"] is True and answer["year_to_date"] == {"electricity": 576.0}
    assert len(answer["event_ids"]) == 1
    energy.project()
    (quota,) = energy.service.list_quotas({"year": year})
    assert quota["alert_open"] is True and quota["last_alert"]["quota_tce"] == 0.01
    totals = energy.service.target_totals({"year": year})
    assert totals[0]["current"]["energy_tce"] == round(576 * 0.1229 / 1000, 6)


def test_a_meter_needs_a_known_agency_of_its_district(energy: Harness) -> None:
    with pytest.raises(ServiceError) as refused:
        energy.install("M-9", agency="AG-404")
    assert (refused.value.code, list(refused.value.fields)) == ("unknown_agency", ["agency_id"])
    with pytest.raises(ServiceError) as refused:
        energy.install("M-9", district="320404")
    assert list(refused.value.fields) == ["district"]
    assert energy.store.last_position() == 0  # nothing stored


def test_the_2020_baseline_comes_from_the_annual_report_and_the_current_year_from_the_meters(
    energy: Harness,
) -> None:
    energy.install("M-1")
    report = {"agency_id": "AG-1", "district": "320402", "year": 2020, "source": "2020年度能源资源消费统计年报"}
    energy.service.report_annual_consumption(report | {"totals": {"electricity": 100_000, "water": 900}})
    with pytest.raises(ServiceError) as refused:
        energy.service.report_annual_consumption(report | {"year": TODAY.year, "totals": {"electricity": 1}})
    assert refused.value.code == "year_not_over"
    energy.service.correct_annual_consumption(
        {"agency_id": "AG-1", "year": 2020, "totals": {"electricity": 120_000, "water": 900}, "reason": "补报"}
    )
    energy.service.record_readings({"meters": [{"meter_id": "M-1", "readings": five_minutes(THIS_YEAR, 12, 1000, 5)}]})
    energy.project()
    (totals,) = energy.service.target_totals({"year": TODAY.year, "agency_id": "AG-1"})
    baseline, current = totals["baseline"], totals["current"]
    assert (baseline["by_kind"], baseline["sources"]) == (
        {"electricity": 120_000.0, "water": 900.0},
        {"electricity": "reported", "water": "reported"},
    )
    assert baseline["energy_tce"] == pytest.approx(120_000 * 0.1229 / 1000) and baseline["water_m3"] == 900
    assert (current["by_kind"], current["sources"]) == ({"electricity": 60.0}, {"electricity": "metered"})
    (listed,) = energy.service.list_annual_reports({"agency_id": "AG-1"})
    assert listed["totals"] == {"electricity": 120_000.0, "water": 900.0}


def test_the_data_center_sums_each_agencys_year_baseline_quota_and_open_anomalies(energy: Harness) -> None:
    prepare_database(energy.engine)
    first = THIS_YEAR
    installed = {"installed_at": at(first - timedelta(minutes=5))}
    energy.install("M-1", **installed)
    energy.install("M-2", sub_item="hvac", **installed)  # a sub-meter: its main meter M-1 counts it already
    energy.install("M-3", agency="AG-2", district="320404", kind="water", **installed)
    energy.service.record_readings(
        {
            "meters": [
                {"meter_id": "M-1", "readings": five_minutes(first, 12, 1000, 5)},
                {"meter_id": "M-2", "readings": five_minutes(first, 12, 1000, 2)},
                {
                    "meter_id": "M-3",
                    "readings": [*five_minutes(first, 2, 1000, 1), [at(first + timedelta(hours=3)), 1003]],
                },
            ]
        }
    )
    report = {"agency_id": "AG-1", "district": "320402", "year": 2020, "source": "2020年度统计年报"}
    energy.service.report_annual_consumption(report | {"totals": {"electricity": 100_000}})
    quota = {"agency_id": "AG-1", "district": "320402", "year": TODAY.year, "basis": "absolute", "limit": 0.001}
    energy.service.set_quota(quota)
    projection = datacenter.EnergyFigures()
    with energy.engine.begin() as conn:
        for env in energy.store.read_all(limit=10_000):
            projection.apply(conn, env)
    with energy.engine.connect() as conn:
        figures = datacenter.energy_by_agency(conn, today=TODAY, factors=FACTORS_2022)
        tianning = datacenter.energy_by_agency(conn, district="320402", today=TODAY, factors=FACTORS_2022)
        items = datacenter.open_items(conn, district="320404")
        assert datacenter.open_items(conn, agency_id="AG-1") == []
    ag1, ag2 = figures["AG-1"], figures["AG-2"]
    assert (ag1["electricity_kwh"], ag1["water_m3"]) == (60.0, 0.0)  # M-1 only
    assert ag1["energy_tce"] == pytest.approx(60 * 0.1229 / 1000)
    assert (ag1["baseline_electricity_kwh"], ag1["baseline_reported"]) == (100_000.0, 1)
    assert ag1["baseline_carbon_tco2"] == pytest.approx(100_000 * 0.5703 / 1000)
    assert (ag1["quota_tce"], ag1["over_quota"], ag1["open_anomalies"]) == (0.001, 1, 0)
    assert ag1["forecast_tce"] >= ag1["energy_tce"]
    assert (ag2["water_m3"], ag2["energy_tce"], ag2["open_anomalies"], ag2["district"]) == (3.0, 0.0, 1, "320404")
    assert list(tianning) == ["AG-1"]
    (item,) = items
    assert {k: item[k] for k in ("system", "kind", "agency_id", "district")} == {
        "system": "energy",
        "kind": "missing_data",
        "agency_id": "AG-2",
        "district": "320404",
    }
    # dated the fact: M-3's readings stop minutes after ``first`` (the gap's start, a Beijing date), not today
    gap_began = first.astimezone(CHINA_STANDARD_TIME).date().isoformat()
    assert item["opened_on"] == gap_began and "M-3" in item["detail"] and item["id"].startswith("an-")
    (city,) = datacenter.roll_up(figures, None)
    assert (city["agencies"], city["electricity_kwh"], city["water_m3"], city["open_anomalies"]) == (2, 60.0, 3.0, 1)


def test_the_collector_is_held_during_batches_and_back_on_when_the_last_interleaved_one_ends() -> None:
    assert gc.isenabled()
    first, second = collection_deferred(), collection_deferred()
    first.__enter__()
    second.__enter__()  # another greenthread's batch
    assert not gc.isenabled()
    first.__exit__(None, None, None)
    assert not gc.isenabled()
    second.__exit__(None, None, None)
    assert gc.isenabled()


def test_each_meter_is_annualised_by_the_days_its_readings_cover_then_summed(energy: Harness) -> None:
    """2025 (a year that is over): M-A, read monthly, stops after its 1 October reading (273 days: Jan–Sep);
    M-B is read once, at the year's end (365 days)."""
    prepare_database(energy.engine)
    local = [datetime(2025, month, 1, tzinfo=CHINA_STANDARD_TIME) for month in range(1, 11)]
    energy.install("M-A", installed_at=local[0].isoformat())
    energy.install("M-B", installed_at=local[0].isoformat())
    monthly = [[at(day), 1000 + 1000 * n] for n, day in enumerate(local[1:], start=1)]  # +1,000 kWh a month
    year_end = [[at(datetime(2026, 1, 1, tzinfo=CHINA_STANDARD_TIME)), 1000 + 3650]]
    energy.service.record_readings(
        {"meters": [{"meter_id": "M-A", "readings": monthly}, {"meter_id": "M-B", "readings": year_end}]}
    )
    projection = datacenter.EnergyFigures()
    with energy.engine.begin() as conn:
        for env in energy.store.read_all(limit=10_000):
            projection.apply(conn, env)
    with energy.engine.connect() as conn:
        ag1 = datacenter.energy_by_agency(conn, agency_id="AG-1", year=2025, today=TODAY, factors=FACTORS_2022)["AG-1"]
    assert ag1["electricity_kwh"] == 12_650.0  # 9 × 1,000 + 3,650: year to date, as recorded
    # M-A: 9,000 × 365 / 273 = 12,032.967033; M-B: 3,650 × 365 / 365 = 3,650 → 15,682.967033
    assert ag1["electricity_kwh_annualised"] == 15_682.967033
    assert (ag1["electricity_kwh_source_days"], ag1["electricity_kwh_sources"]) == (638.0, 2)  # 273 + 365
    assert ag1["energy_tce_annualised"] == round(15_682.967033 * 0.1229 / 1000, 6)  # 1.927437
    assert (ag1["water_m3_sources"], ag1["baseline_electricity_kwh_sources"]) == (0, 0)  # no water, no 2020 meter


def test_target_totals_keep_year_to_date_and_annualised_apart_with_coverage_and_comparability(
    energy: Harness,
) -> None:
    """The energy service's own target totals, 2025 (a year that is over): AG-1 as above (M-A monthly up to
    1 October, M-B read at the year's end), 2020 reported (100,000 kWh); AG-2's meter installed on
    29 December 2025 with three days of data (+300 kWh), 2020 reported (10,000 kWh)."""
    local = [datetime(2025, month, 1, tzinfo=CHINA_STANDARD_TIME) for month in range(1, 11)]
    energy.install("M-A", installed_at=local[0].isoformat())
    energy.install("M-B", installed_at=local[0].isoformat())
    late = datetime(2025, 12, 29, tzinfo=CHINA_STANDARD_TIME)
    energy.install("M-C", agency="AG-2", district="320404", installed_at=late.isoformat())
    monthly = [[at(day), 1000 + 1000 * n] for n, day in enumerate(local[1:], start=1)]  # +1,000 kWh a month
    new_year = at(datetime(2026, 1, 1, tzinfo=CHINA_STANDARD_TIME))
    energy.service.record_readings(
        {
            "meters": [
                {"meter_id": "M-A", "readings": monthly},
                {"meter_id": "M-B", "readings": [[new_year, 1000 + 3650]]},
                {"meter_id": "M-C", "readings": [[new_year, 1000 + 300]]},
            ]
        }
    )
    report = {"year": 2020, "source": "2020年度能源资源消费统计年报"}
    energy.service.report_annual_consumption(
        report | {"agency_id": "AG-1", "district": "320402", "totals": {"electricity": 100_000}}
    )
    energy.service.report_annual_consumption(
        report | {"agency_id": "AG-2", "district": "320404", "totals": {"electricity": 10_000}}
    )
    energy.project()
    ag1, ag2 = energy.service.target_totals({"year": 2025})
    current = ag1["current"]
    assert current["by_kind"] == {"electricity": 12_650.0}  # 9 × 1,000 + 3,650: year to date
    assert current["energy_tce"] == 1.554685  # 12,650 × 0.1229 / 1000
    # M-A: 9,000 × 365 / 273 = 12,032.967033; M-B: 3,650 → 15,682.967033 kWh × 0.1229 / 1000 = 1.927437 tce
    assert current["by_kind_annualised"] == {"electricity": 15_682.967033}
    assert current["energy_tce_annualised"] == 1.927437
    # (273 + 365) / 2 = 319 days of 365 = 0.874
    assert current["coverage"] == {
        "electricity": {"days_covered": 319.0, "days_elapsed": 365, "share": 0.874, "sources": 2}
    }
    assert ag1["baseline"]["coverage"]["electricity"]["days_covered"] == 366.0  # 2020, reported, a leap year
    assert ag1["comparison"] == {"verdict": "comparable", "kinds": []}
    # AG-2: 3 days of 365 (0.0082): no comparison, whatever the figures say
    assert ag2["current"]["energy_tce_annualised"] == 4.48585  # 300 × 365 / 3 = 36,500 kWh × 0.1229 / 1000
    assert ag2["comparison"] == {"verdict": "insufficient_data", "kinds": ["electricity"]}


def test_a_late_reading_filling_a_gap_moves_use_to_its_day_in_both_read_models_and_re_sending_is_quiet(
    energy: Harness,
) -> None:
    """M-L is read at 23:00 and 23:05 local on 1 March 2025, then not until 01:00 on 2 March (a gap); the
    buffered 00:00 reading arrives afterwards. Local midnight starting 2 March is 16:00 UTC on 1 March."""
    prepare_database(energy.engine)
    local = datetime(2025, 3, 1, 23, 0, tzinfo=CHINA_STANDARD_TIME)
    energy.install("M-L", installed_at=(local - timedelta(minutes=5)).isoformat())
    first = [[at(local), 1_001], [at(local + timedelta(minutes=5)), 1_002], [at(local + timedelta(hours=2)), 1_030]]
    energy.service.record_readings({"meters": [{"meter_id": "M-L", "readings": first}]})
    late = [[at(local + timedelta(hours=1)), 1_012]]  # 00:00 on 2 March: 10 kWh since 23:05 belong to 1 March
    answer = energy.service.record_readings({"meters": [{"meter_id": "M-L", "readings": first + late}]})
    assert (answer["accepted"], answer["duplicates"], answer["rejected"]) == (1, 3, 0)  # the re-sent three: quiet
    conflict = [[at(local + timedelta(minutes=5)), 1_003]]
    answer = energy.service.record_readings({"meters": [{"meter_id": "M-L", "readings": conflict}]})
    (refused,) = answer["rejections"]
    assert (refused["reason"], refused["value"], refused["recorded_value"]) == ("conflicting_reading", 1_003, 1_002)
    energy.project()
    projection = datacenter.EnergyFigures()
    with energy.engine.begin() as conn:
        for env in energy.store.read_all(limit=10_000):
            projection.apply(conn, env)
    d = datacenter.daily.c
    with energy.engine.connect() as conn:
        days = dict(conn.execute(sa.select(d.day, d.consumption).where(d.agency_id == "AG-1")).all())
    # 1 March: 1 (installation → 23:00) + 1 (→ 23:05) + 10 (→ 00:00) = 12; 2 March: 1,030 − 1,012 = 18
    assert days == {"2025-03-01": 12.0, "2025-03-02": 18.0}
    v = read_model.daily.c
    per_meter = dict(energy.query(sa.select(v.day, v.consumption).where(v.meter_id == "M-L")))
    assert per_meter == {"2025-03-01": 12.0, "2025-03-02": 18.0}
    g = read_model.gaps.c
    assert energy.query(sa.select(g.gap_from, g.gap_to).where(g.meter_id == "M-L")) == [
        (at(local + timedelta(minutes=5)), at(local + timedelta(hours=1))),
        (at(local + timedelta(hours=1)), at(local + timedelta(hours=2))),
    ]


def _meter_years(energy: Harness, meter_id: str) -> dict[int, tuple[float, str]]:
    projection = datacenter.EnergyFigures()
    with energy.engine.begin() as conn:
        for env in energy.store.read_all(limit=10_000):
            projection.apply(conn, env)
    y = datacenter.meter_years.c
    rows = energy.query(sa.select(y.year, y.consumption, y.last_at).where(y.meter_id == meter_id))
    return {year: (round(use, 6), last_at) for year, use, last_at in rows}


def test_a_monthly_read_across_new_year_is_shared_between_the_years_in_the_data_center(energy: Harness) -> None:
    """M-Y, read monthly, installed 15 Dec 2025 00:00 (Beijing) at 1,000 and read 15 Jan 2026 00:00 at 1,310."""
    prepare_database(energy.engine)
    energy.install("M-Y", installed_at="2025-12-15T00:00:00+08:00", reading_interval="monthly")
    reading = [["2026-01-15T00:00:00+08:00", 1_310]]
    energy.service.record_readings({"meters": [{"meter_id": "M-Y", "readings": reading}]})
    # 310 kWh over 31 days = 10 kWh a day: 15–31 Dec = 17 days = 170 kWh, 1–14 Jan = 14 days = 140 kWh;
    # 2025 is covered to its end (00:00 1 Jan Beijing = 16:00 UTC 31 Dec), 2026 to the reading
    assert _meter_years(energy, "M-Y") == {
        2025: (170.0, "2025-12-31T16:00:00+00:00"),
        2026: (140.0, "2026-01-14T16:00:00+00:00"),
    }
    d = datacenter.daily.c
    days = dict(energy.query(sa.select(d.day, d.consumption).where(d.agency_id == "AG-1")))
    assert len(days) == 31 and days["2025-12-15"] == pytest.approx(10.0) and days["2026-01-14"] == pytest.approx(10.0)
    # the energy service's read model shares it the same way: its days, and each year's covered end
    energy.project()
    v = read_model.daily.c
    per_day = dict(energy.query(sa.select(v.day, v.consumption).where(v.meter_id == "M-Y")))
    in_2025 = sum(used for day, used in per_day.items() if day < "2026")
    assert (len(per_day), round(in_2025, 6), round(sum(per_day.values()) - in_2025, 6)) == (31, 170.0, 140.0)
    y = read_model.meter_years.c
    assert sorted(energy.query(sa.select(y.year, y.last_at).where(y.meter_id == "M-Y"))) == [
        (2025, "2025-12-31T16:00:00+00:00"),
        (2026, "2026-01-14T16:00:00+00:00"),
    ]


def test_a_late_reading_in_a_gap_over_new_year_shares_each_part_by_time(energy: Harness) -> None:
    """M-G (5-minute) installed 31 Dec 2025 23:00 (Beijing) at 1,000, next read 1 Jan 01:00 at 1,020 (a gap);
    the buffered 23:30 reading (1,015) arrives afterwards."""
    prepare_database(energy.engine)
    energy.install("M-G", installed_at="2025-12-31T23:00:00+08:00")
    energy.service.record_readings(
        {"meters": [{"meter_id": "M-G", "readings": [["2026-01-01T01:00:00+08:00", 1_020]]}]}
    )
    # before the late reading the gap's 20 kWh over 2 h would be 10 in 2025 and 10 in 2026 (1 h each)
    late = [["2025-12-31T23:30:00+08:00", 1_015]]
    answer = energy.service.record_readings({"meters": [{"meter_id": "M-G", "readings": late}]})
    assert answer["accepted"] == 1
    # 23:00 → 23:30: 15 kWh in 2025; 23:30 → 01:00: 5 kWh over 1.5 h → 5 × 0.5/1.5 = 1.666667 in 2025 and
    # 5 × 1/1.5 = 3.333333 in 2026: 2025 = 16.666667, 2026 = 3.333333 (the gap's 20 kWh stay)
    years = _meter_years(energy, "M-G")
    assert years[2025][0] == pytest.approx(16.666667) and years[2026][0] == pytest.approx(3.333333)


def _factor_table(version: str, kgce: float, kgco2: float, valid_from: int, valid_to: int | None) -> dict[str, Any]:
    """A table differing from the default in electricity only."""
    table = FACTORS_2022.to_dict()
    table["kgce_per_unit"] = table["kgce_per_unit"] | {"electricity": kgce}
    table["kgco2_per_unit"] = table["kgco2_per_unit"] | {"electricity": kgco2}
    return table | {"version": version, "valid_from": valid_from, "valid_to": valid_to}


def test_each_year_converts_with_its_adopted_table_in_the_service_and_the_data_center(energy: Harness) -> None:
    """M-T read 1,000 kWh over each of 2023 and 2024; "t2023" (0.3 kgce, 0.5 kgCO₂ per kWh) is adopted for 2023
    only, then "t2024on" (0.2, 0.4) from 2024 on."""
    prepare_database(energy.engine)
    energy.install("M-T", installed_at="2023-01-01T00:00:00+08:00", initial_reading=0)
    readings = [["2024-01-01T00:00:00+08:00", 1_000], ["2025-01-01T00:00:00+08:00", 2_000]]
    energy.service.record_readings({"meters": [{"meter_id": "M-T", "readings": readings}]})
    energy.service.adopt_factor_table(_factor_table("t2023", 0.3, 0.5, 2023, 2023))
    energy.service.adopt_factor_table(_factor_table("t2024on", 0.2, 0.4, 2024, None))
    with pytest.raises(ServiceError) as refused:  # a version is adopted once
        energy.service.adopt_factor_table(_factor_table("t2023", 0.3, 0.5, 2025, None))
    assert refused.value.code == "invalid_factor_table" and list(refused.value.fields) == ["version"]
    energy.project()

    query = {"period": "month", "by": "kind", "from": "2023-12-01", "to": "2024-01-31"}
    rows = {r["period"]: r for r in energy.service.consumption(query)["rows"]}
    # December 2023: 31 / 365 × 1,000 = 84.931507 kWh × 0.3 / 1000 = 0.025479 tce (t2023)
    # January 2024: 31 / 366 × 1,000 = 84.699454 kWh × 0.2 / 1000 = 0.01694 tce (t2024on)
    assert (rows["2023-12"]["factors_version"], rows["2023-12"]["tce"]) == ("t2023", 0.025479)
    assert (rows["2024-01"]["factors_version"], rows["2024-01"]["tce"]) == ("t2024on", 0.01694)
    (totals,) = energy.service.target_totals({"year": 2023, "agency_id": "AG-1"})
    assert totals["current"]["energy_tce"] == 0.3  # 1,000 × 0.3 / 1000

    projection = datacenter.EnergyFigures()
    with energy.engine.begin() as conn:
        for env in energy.store.read_all(limit=10_000):
            projection.apply(conn, env)
    with energy.engine.connect() as conn:
        versions = {year: datacenter.factors_for(conn, year).version for year in (2022, 2023, 2024, 2025)}
        figures = {
            year: datacenter.energy_by_agency(conn, agency_id="AG-1", year=year)["AG-1"] for year in (2023, 2024)
        }
        trend = dc.energy_trend(conn, dc.Scope(2024, date(2024, 1, 31), agency_id="AG-1"), 2)
    assert versions == {2022: FACTORS_2022.version, 2023: "t2023", 2024: "t2024on", 2025: "t2024on"}
    # 2023: 1,000 × 0.3 = 0.3 tce, × 0.5 = 0.5 tCO₂; 2024: 1,000 × 0.2 = 0.2 tce, × 0.4 = 0.4 tCO₂
    assert (figures[2023]["energy_tce"], figures[2023]["carbon_tco2"], figures[2023]["factors_version"]) == (
        0.3,
        0.5,
        "t2023",
    )
    assert (figures[2024]["energy_tce"], figures[2024]["carbon_tco2"]) == (0.2, 0.4)
    # the monthly trend: December 2023 0.025479 → 0.025 tce under t2023, January 2024 0.01694 → 0.017 under t2024on
    assert [(m["month"], m["energy_tce"], m["factors_version"]) for m in trend] == [
        ("2023-12", 0.025, "t2023"),
        ("2024-01", 0.017, "t2024on"),
    ]
