"""Energy end to end through the gateway: meters, batches of readings refused one by one, roll-ups with tce
and CO₂, anomalies and their life cycle, quotas with overrun alerts, district scope and bad input."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import Any

import pytest

from services.common.base.db import create_db_engine
from services.common.kernel.clock import CHINA_STANDARD_TIME
from services.common.read.broker import make_producer
from services.common.write.store import EventStore
from services.gateway.views import energy as datacenter
from tests.e2e.conftest import Platform
from tests.support import agency_code, eventually, read_topic

NOW: datetime
TODAY: date
"""Today in Beijing time, the city's calendar (its year is the energy year: in the first hours of 1 January, the
UTC year is still last year's)."""
START: datetime
"""10:00 in China two days ago: readings of a few hours after it stay within one local day at any time of running."""


def read_the_clock() -> None:
    """The clock, read as the module is imported and again as each test starts (``tests/conftest.py``)."""
    global NOW, TODAY, START
    NOW = datetime.now(UTC).replace(microsecond=0)
    TODAY = NOW.astimezone(CHINA_STANDARD_TIME).date()
    START = datetime(*(TODAY - timedelta(days=2)).timetuple()[:3], 10, tzinfo=CHINA_STANDARD_TIME).astimezone(UTC)


read_the_clock()


_eventually = partial(eventually, timeout=30, interval=0.2)
"""``tests.support.eventually`` with this module's patience."""


def _at(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def _readings(first: datetime, count: int, start: float = 1000, step: float = 2.5) -> list[list[Any]]:
    return [[_at(first + timedelta(minutes=5 * n)), start + step * (n + 1)] for n in range(count)]


def _stored(platform: Platform) -> int:
    url = platform.database_urls.get("energy") or f"sqlite:///{platform.var_dir / 'energy.db'}"
    return EventStore.open(url, "energy").last_position()


@pytest.fixture
def site(platform: Platform) -> dict[str, Any]:
    """An agency of 天宁区 known to the energy service, and an electricity meter of its building."""
    admin = platform.token()
    tag = uuid.uuid4().hex[:8]
    agency = agency_code("320402", f"AG-EN-{tag}")
    body = {
        "agency_id": agency,
        "name": "天宁区机关事务管理中心",
        "district": "320402",
        "kind": "party_government",
        "admin_level": "county",
        "authorised_headcount": 40,
    }
    assert platform.request("POST", "/api/v1/agencies", body, admin)[0] == 201
    building = {"building_id": f"B-{tag}", "agency_id": agency, "name": "综合楼", "address": "和平北路9号"}
    building |= {"gross_floor_area_m2": 1800}
    status, answer = _eventually(  # a meter is installed at a building its agency registered (docs/hostile-input.md)
        lambda: platform.request("POST", "/api/v1/buildings", building, admin)[:2],
        lambda r: r[0] != 422 or r[1]["fields"].get("agency_id") != ["unknown agency"],  # not known yet
    )
    assert status == 201, answer
    meter = {
        "meter_id": f"M-{tag}",
        "serial_no": f"SN-{tag}",
        "kind": "electricity",
        "agency_id": agency,
        "district": "320402",
        "building_id": f"B-{tag}",
        "multiplier": 1,
        "initial_reading": 1000,
        "installed_at": _at(START - timedelta(minutes=5)),
    }
    status, answer = _eventually(
        lambda: platform.request("POST", "/api/v1/meters", meter, admin)[:2],
        lambda r: r[0] != 422 or r[1]["fields"].get("agency_id") != ["unknown agency"],  # not known yet
    )
    assert status == 201, answer
    return {"admin": admin, "tag": tag, "agency": agency, "meter": meter["meter_id"], "building": f"B-{tag}"}


def test_a_batch_is_recorded_per_meter_and_rolls_up_to_hours_with_tce_and_co2(
    platform: Platform, site: dict[str, Any]
) -> None:
    admin, meter = site["admin"], site["meter"]
    readings = _readings(START, 12)
    batch = {
        "message_id": f"upload-{site['tag']}",
        "meters": [
            {"meter_id": meter, "readings": [*readings, ["not a time", 5], [_at(NOW + timedelta(hours=2)), 2000]]},
            {"meter_id": f"UNKNOWN-{site['tag']}", "readings": readings[:2]},
        ],
    }
    status, answer, _ = platform.request("POST", "/api/v1/meter-readings", batch, admin)
    assert status == 200, answer
    assert (answer["accepted"], answer["rejected"], len(answer["event_ids"])) == (12, 4, 1)
    assert answer["rejected_by_reason"] == {"malformed_timestamp": 1, "in_future": 1, "unknown_meter": 2}
    assert platform.request("POST", "/api/v1/meter-readings", batch, admin)[1] == answer  # the same message again

    day = START.astimezone(CHINA_STANDARD_TIME).date().isoformat()
    path = f"/api/v1/energy/consumption?period=day&by=meter&from={day}&to={day}&group={meter}"
    rows = _eventually(lambda: platform.request("GET", path, token=admin)[1]["rows"], lambda r: bool(r))
    assert sum(r["consumption"] for r in rows) == 30.0
    assert rows[0]["unit"] == "kWh" and rows[0]["tce"] > 0 and rows[0]["tco2"] > 0

    status, state, _ = platform.request("GET", f"/api/v1/meters/{meter}", token=admin)
    assert (status, state["last_value"]) == (200, 1030.0)


def test_a_gap_raises_an_anomaly_that_is_acknowledged_then_resolved(platform: Platform, site: dict[str, Any]) -> None:
    admin, meter = site["admin"], site["meter"]
    readings = [*_readings(START, 2), [_at(START + timedelta(hours=3)), 1020]]
    status, answer, _ = platform.request("POST", f"/api/v1/meters/{meter}/readings", {"readings": readings}, admin)
    assert (status, answer["gaps"]) == (200, 1), answer
    path = f"/api/v1/energy/anomalies?agency_id={site['agency']}&kind=missing_data"
    found = _eventually(lambda: platform.request("GET", path, token=admin)[1], lambda r: bool(r))
    anomaly = found[0]["anomaly_id"]
    assert found[0]["evidence"]["seconds"] == 3 * 3600 - 300

    base = f"/api/v1/energy/anomalies/{anomaly}"
    status, body, _ = platform.request("POST", f"{base}/resolve", {"resolution": "fixed"}, admin)
    assert (status, body["error"]) == (422, "wrong_status")
    assert platform.request("POST", f"{base}/acknowledge", {"note": "网关掉线"}, admin)[0] == 200
    assert platform.request("POST", f"{base}/resolve", {"resolution": "更换采集器"}, admin)[0] == 200
    resolved = _eventually(
        lambda: platform.request("GET", f"{path}&status=resolved", token=admin)[1], lambda r: bool(r)
    )
    assert resolved[0]["resolution"] == "更换采集器"

    ops = platform.token("ops", name="ops-energy")
    status, detection, _ = platform.request("POST", "/api/v1/energy/anomaly-detections", {}, ops)
    assert status == 200 and "opened" in detection, detection
    viewer = platform.token("viewer", name="viewer-energy")
    assert platform.request("POST", "/api/v1/energy/anomaly-detections", {}, viewer)[0] == 403


def test_a_replacement_keeps_counting_and_a_final_reading_below_the_last_is_refused(
    platform: Platform, site: dict[str, Any]
) -> None:
    admin, meter = site["admin"], site["meter"]
    assert (
        platform.request("POST", f"/api/v1/meters/{meter}/readings", {"readings": _readings(START, 3)}, admin)[0] == 200
    )
    replacement = {
        "new_serial_no": "SN-NEW",
        "old_final_reading": 1001,
        "new_initial_reading": 0,
        "replaced_at": _at(START + timedelta(hours=1)),
    }
    status, body, _ = platform.request("POST", f"/api/v1/meters/{meter}/replacement", replacement, admin)
    assert (status, body["error"]) == (422, "counter_went_backwards")
    status, body, _ = platform.request(
        "POST", f"/api/v1/meters/{meter}/replacement", replacement | {"old_final_reading": 1010}, admin
    )
    assert (status, body["version"]) == (200, 3)


def test_a_quota_is_set_revised_and_assessed_and_set_only_once(platform: Platform, site: dict[str, Any]) -> None:
    admin, agency = site["admin"], site["agency"]
    year = TODAY.year
    quota = {"agency_id": agency, "district": "320402", "year": year, "basis": "absolute", "limit": 0.001}
    assert platform.request("POST", "/api/v1/energy/quotas", quota, admin)[0] == 201
    assert platform.request("POST", "/api/v1/energy/quotas", quota, admin)[0] == 409
    status, body, _ = platform.request("POST", "/api/v1/energy/quotas", quota | {"year": year - 1}, admin)
    assert (status, body["error"]) == (422, "quota_year_closed")
    base = f"/api/v1/energy/quotas/{agency}/{year}"
    status, body, _ = platform.request("POST", f"{base}/revision", {"limit": 0.002, "reason": ""}, admin)
    assert status == 422 and "reason" in body["fields"]
    assert platform.request("POST", f"{base}/revision", {"limit": 0.002, "reason": "新增机房"}, admin)[0] == 200

    platform.request(
        "POST", f"/api/v1/meters/{site['meter']}/readings", {"readings": _readings(START, 12, step=50)}, admin
    )
    day = START.astimezone(CHINA_STANDARD_TIME).date().isoformat()
    path = f"/api/v1/energy/consumption?period=day&by=agency&from={day}&to={day}&group={agency}"
    _eventually(lambda: platform.request("GET", path, token=admin)[1]["rows"], lambda r: bool(r))
    today = TODAY.isoformat()
    status, forecast, _ = platform.request("POST", f"{base}/assessment", {"as_of": today}, admin)
    assert (status, forecast["over"], len(forecast["event_ids"])) == (200, True, 1), forecast
    listed = _eventually(
        lambda: platform.request("GET", f"/api/v1/energy/quotas?agency_id={agency}", token=admin)[1],
        lambda r: bool(r) and r[0]["alert_open"],
    )
    assert listed[0]["quota_limit"] == 0.002


def test_bad_input_is_refused_with_field_reasons_and_nothing_is_stored(
    platform: Platform, site: dict[str, Any]
) -> None:
    admin = site["admin"]
    before = _stored(platform)
    meter = {"meter_id": "BAD-1", "serial_no": "S", "agency_id": site["agency"], "district": "320402"}
    meter |= {"building_id": site["building"]}
    status, body, _ = platform.request("POST", "/api/v1/meters", meter | {"initial_reading": 1}, admin)
    assert (status, body["error"]) == (422, "validation_failed")
    assert {"kind", "installed_at"} <= set(body["fields"])
    full = meter | {"initial_reading": 1, "installed_at": _at(START), "kind": "water"}
    status, body, _ = platform.request("POST", "/api/v1/meters", full | {"sub_item": "hvac"}, admin)
    assert (status, body["error"]) == (422, "sub_item_not_allowed")
    status, body, _ = platform.request("POST", "/api/v1/meter-readings", {"meters": [{"meter_id": "x"}]}, admin)
    assert status == 422 and "meters" in body["fields"]
    status, body, _ = platform.request(
        "POST", f"/api/v1/meters/NOPE-{site['tag']}/readings", {"readings": [[1, 2]]}, admin
    )
    # the gateway's reference check answers a missing meter like any missing record (another district's too)
    assert (status, body["error"], body["message"]) == (404, "not_found", f"meter NOPE-{site['tag']} not found")
    status, body, _ = platform.request("GET", "/api/v1/energy/consumption?period=week&by=meter", token=admin)
    assert status == 422 and {"period", "from", "to"} <= set(body["fields"])
    assert _stored(platform) == before


def test_a_district_operator_acts_in_its_own_district_only(platform: Platform, site: dict[str, Any]) -> None:
    other = platform.token("district_operator", district="320404", name="zhonglou-energy")
    meter = {
        "meter_id": f"M2-{site['tag']}",
        "serial_no": "SN-2",
        "kind": "water",
        "agency_id": site["agency"],
        "district": "320402",
        "building_id": site["building"],
        "initial_reading": 0,
        "installed_at": _at(START),
    }
    # another district's agency and building answer exactly as missing ones (no existence oracle, docs/hostile-input.md)
    status, body, _ = platform.request("POST", "/api/v1/meters", meter, other)
    missing = platform.request("POST", "/api/v1/meters", meter | {"agency_id": f"NOPE-{site['tag']}"}, other)[:2]
    assert (status, body["fields"]) == (422, {"agency_id": ["unknown agency"]})
    assert (status, body) == (missing[0], {**missing[1], "message": f"agency {site['agency']} not found"})
    status, body, _ = platform.request("POST", "/api/v1/meters", meter | {"building_id": "B-NEVER"}, site["admin"])
    assert (status, body["fields"]) == (422, {"building_id": ["unknown building"]})  # never registered
    batch = {"meters": [{"meter_id": site["meter"], "readings": _readings(START, 2)}]}
    status, answer, _ = platform.request("POST", "/api/v1/meter-readings", batch, other)
    assert (status, answer["accepted"], answer["rejected_by_reason"]) == (200, 0, {"unknown_meter": 2})
    assert platform.request("GET", f"/api/v1/meters/{site['meter']}", token=other)[0] == 404  # as if missing
    own = platform.token("district_operator", district="320402", name="tianning-energy")
    assert platform.request("POST", "/api/v1/meter-readings", batch, own)[1]["accepted"] == 2


def _send_inbound(platform: Platform, district: str, message_id: str, payload: dict[str, Any]) -> None:
    message = {
        "message_id": message_id,
        "message_type": "energy.record_readings",
        "schema_version": 1,
        "district": district,
        "sent_at": _at(NOW),
        "payload": payload,
    }
    producer = make_producer(platform.bootstrap)
    producer.send(f"district.{district}.inbound", key=b"energy", value=json.dumps(message).encode()).get(10)
    producer.flush()


def test_a_district_sends_reading_batches_by_its_inbound_topic_once_and_for_its_own_meters_only(
    platform: Platform, site: dict[str, Any]
) -> None:
    admin, meter, tag = site["admin"], site["meter"], site["tag"]
    batch = {"meters": [{"meter_id": meter, "readings": _readings(START, 6)}]}
    _send_inbound(platform, "320404", f"zl-{tag}", batch)  # another district's meter: refused reading by reading
    _send_inbound(platform, "320402", f"tn-{tag}", batch)
    _send_inbound(platform, "320402", f"tn-{tag}", batch)  # delivered twice
    state = _eventually(
        lambda: platform.request("GET", f"/api/v1/meters/{meter}", token=admin)[1], lambda s: s["version"] > 1
    )
    assert (state["version"], state["last_value"]) == (2, 1015.0)

    def refusals() -> list[dict[str, Any]]:
        records = read_topic(platform.bootstrap, "district.320404.rejected", idle_polls=1)
        return [m for m in (json.loads(r.value) for r in records) if m["message_id"] == f"zl-{tag}"]

    (refusal,) = _eventually(refusals, lambda found: len(found) == 1)  # the district hears which readings failed
    assert refusal["reason"] == "partly_rejected" and "6 items" in refusal["message"]
    assert refusal["fields"][f"readings.{meter}.0"][0].startswith("unknown_meter")  # as if it did not exist


def _data_center(platform: Platform) -> Any:
    url = platform.database_urls.get("gateway") or f"sqlite:///{platform.var_dir / 'gateway.db'}"
    return create_db_engine(url)


def test_the_data_center_has_each_agencys_year_baseline_quota_and_open_anomalies(
    platform: Platform, site: dict[str, Any]
) -> None:
    admin, agency, meter = site["admin"], site["agency"], site["meter"]
    gap = [*_readings(START, 2), [_at(START + timedelta(hours=2)), 1010]]
    assert platform.request("POST", f"/api/v1/meters/{meter}/readings", {"readings": gap}, admin)[0] == 200
    report = {"agency_id": agency, "district": "320402", "year": 2020, "source": "2020年度能源资源消费统计年报"}
    body = report | {"totals": {"electricity": 80_000, "water": 1_200}}
    assert platform.request("POST", "/api/v1/energy/annual-reports", body, admin)[0] == 201
    status, refused, _ = platform.request("POST", "/api/v1/energy/annual-reports", body | {"year": TODAY.year}, admin)
    assert (status, refused["error"]) == (422, "year_not_over")
    engine = _data_center(platform)

    def figures() -> dict[str, Any]:
        with engine.connect() as conn:
            return datacenter.energy_by_agency(conn, agency_id=agency).get(agency, {})

    this_year = START.astimezone(CHINA_STANDARD_TIME).year == TODAY.year
    # the readings, the anomaly and the report reach the data center by different topics: wait for all three
    row = _eventually(
        figures,
        lambda r: (
            r.get("open_anomalies") == 1
            and r.get("baseline_reported") == 1
            and (not this_year or r.get("electricity_kwh") == 10.0)
        ),
    )
    assert (row["baseline_electricity_kwh"], row["baseline_water_m3"], row["open_anomalies"]) == (80_000, 1_200, 1)
    if this_year:
        assert row["electricity_kwh"] == 10.0
    with engine.connect() as conn:
        (item,) = datacenter.open_items(conn, agency_id=agency)
    assert (item["system"], item["kind"], item["district"]) == ("energy", "missing_data", "320402")
    engine.dispose()
