"""District integration through events: inbound topics, rejections with reasons, idempotency by message id."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from services.common.read.broker import make_producer
from tests.e2e.conftest import Platform
from tests.support import agency_code, eventually, read_topic

DISTRICT = "320402"


def _message(payload: dict[str, Any], message_id: str | None = None, district: str = DISTRICT) -> dict[str, Any]:
    return {
        "message_id": message_id or f"m-{uuid.uuid4().hex[:12]}",
        "message_type": "office_space.register_agency",
        "schema_version": 1,
        "district": district,
        "sent_at": "2026-11-23T08:00:00+08:00",
        "payload": payload,
    }


def _agency(agency_id: str, district: str = DISTRICT) -> dict[str, Any]:
    return {
        "agency_id": agency_id,
        "name": "天宁区教育局",
        "district": district,
        "kind": "party_government",
        "admin_level": "county",
        "authorised_headcount": 40,
    }


def _send(platform: Platform, topic: str, *values: bytes) -> None:
    producer = make_producer(platform.bootstrap)
    for value in values:
        producer.send(topic, key=b"k", value=value).get(10)
    producer.flush()


def _rejections(platform: Platform, district: str, timeout: float = 20, expect: int = 1) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        found = [
            json.loads(r.value) for r in read_topic(platform.bootstrap, f"district.{district}.rejected", idle_polls=1)
        ]
        if len(found) >= expect or time.monotonic() > deadline:
            return found
        time.sleep(0.3)


def _rejections_of(platform: Platform, district: str, *message_ids: str, timeout: float = 20) -> dict[str, Any]:
    """The rejections of ``message_ids``, once all of them have arrived (or the timeout passed)."""
    deadline = time.monotonic() + timeout
    while True:
        found = {
            r["message_id"]: r for r in _rejections(platform, district, timeout=0) if r["message_id"] in message_ids
        }
        if len(found) == len(message_ids) or time.monotonic() > deadline:
            return found
        time.sleep(0.3)


def _wait_agency(platform: Platform, token: str, agency_id: str, timeout: float = 20) -> int:
    deadline = time.monotonic() + timeout
    while True:
        status, _, _ = platform.request("GET", f"/api/v1/agencies/{agency_id}", token=token)
        if status == 200 or time.monotonic() > deadline:
            return status
        time.sleep(0.2)


def test_a_district_message_is_recorded_once_even_when_sent_twice(platform: Platform) -> None:
    admin = platform.token()
    agency_id = agency_code(DISTRICT)
    message = json.dumps(_message(_agency(agency_id), message_id=f"dup-{agency_id}")).encode()
    _send(platform, f"district.{DISTRICT}.inbound", message, message)
    assert _wait_agency(platform, admin, agency_id) == 200
    time.sleep(1.0)  # let the second copy be handled too
    from tests.e2e.test_vertical_slice import _stored

    events = [e for e in _stored(platform) if e.stream_id == agency_id]
    assert [(e.event_type, e.actor) for e in events] == [("AgencyRegistered", f"district:{DISTRICT}")]
    assert not [
        r for r in _rejections(platform, DISTRICT, timeout=1, expect=99) if r["message_id"] == f"dup-{agency_id}"
    ]


def test_bad_messages_are_rejected_with_reasons_and_the_consumer_goes_on(platform: Platform) -> None:
    admin = platform.token()
    tag = uuid.uuid4().hex[:8]
    other_district = json.dumps(
        _message(_agency(agency_code("320404", f"X-{tag}"), district="320404"), message_id=f"scope-{tag}")
    ).encode()
    invalid = json.dumps(_message({"name": ""}, message_id=f"invalid-{tag}")).encode()
    unknown_type = json.dumps(
        _message(_agency(agency_code(DISTRICT, f"U-{tag}")))
        | {"message_type": "energy.unknown_thing", "message_id": f"type-{tag}"}
    ).encode()
    good_id = agency_code(DISTRICT, f"G-{tag}")
    good = json.dumps(_message(_agency(good_id), message_id=f"good-{tag}")).encode()
    _send(platform, f"district.{DISTRICT}.inbound", b"{not json", invalid, unknown_type, other_district, good)
    assert _wait_agency(platform, admin, good_id) == 200  # the consumer went on past the bad ones
    # the topic is shared with the other tests' rejections: wait for these messages' own, by id
    rejections = _rejections_of(platform, DISTRICT, f"invalid-{tag}", f"type-{tag}", f"scope-{tag}")
    malformed = eventually(
        lambda: [r for r in _rejections(platform, DISTRICT, timeout=0) if r["message_id"] is None], bool, timeout=20
    )
    assert rejections[f"invalid-{tag}"]["reason"] == "invalid_message"
    assert "payload.name" in rejections[f"invalid-{tag}"]["fields"]
    assert rejections[f"type-{tag}"]["reason"] == "invalid_message"
    assert rejections[f"scope-{tag}"]["reason"] == "not_in_scope"  # a message about another district's agency
    assert any(r["reason"] == "malformed_json" for r in malformed)
    assert _wait_agency(platform, admin, agency_code("320404", f"X-{tag}"), timeout=1) == 404


def test_a_message_of_a_hundred_thousand_bad_items_is_rejected_in_a_bounded_record_and_the_consumer_goes_on(
    platform: Platform,
) -> None:
    """A message within the 4 MiB limit whose every item is wrong (100,000 GPS points of no shape) drew three
    reasons a point: a 23 MB rejection, which the producer refused, so the consumer's round failed and met the
    same message again, for ever, and the district's next messages (and those of every district in the same
    round) waited behind it. A list longer than its contract's ``maxItems`` is now refused for that alone (and
    any rejection lists 100 reasons at most: ``tests/unit/common/test_bounded_reasons.py``)."""
    admin = platform.token()
    tag = uuid.uuid4().hex[:8]
    points = {"trip_id": f"T-{tag}", "points": [{"at": "x", "lat": "y", "lon": "z"}] * 100_000}
    hostile = _message(points, message_id=f"huge-{tag}") | {"message_type": "vehicles.record_gps_points"}
    good_id = agency_code(DISTRICT, f"H-{tag}")
    good = json.dumps(_message(_agency(good_id), message_id=f"after-{tag}")).encode()
    raw = json.dumps(hostile).encode()
    assert 3_000_000 < len(raw) < 4 * 1024 * 1024  # within the inbound limit: read, judged, refused
    _send(platform, f"district.{DISTRICT}.inbound", raw, good)  # one key: one partition, in this order
    assert _wait_agency(platform, admin, good_id, timeout=60) == 200  # the consumer went on past it
    rejection = _rejections_of(platform, DISTRICT, f"huge-{tag}")[f"huge-{tag}"]
    assert rejection["reason"] == "invalid_message"
    assert rejection["fields"] == {"payload.points": ["at most 5000 items, 100000 given"]}


def test_a_rejection_quotes_no_personal_value_of_the_message(platform: Platform) -> None:
    """The rejected topic is kept 90 days and its reasons quote what they refuse: a name too long, a GPS fix out
    of range. The text of the message's personal fields (the contract marks) is withheld from the rejection; the
    reason, the field and the rest of the text stay for the district to fix its message."""
    tag = uuid.uuid4().hex[:8]
    name = f"测试拒收{tag}" + "名" * 100  # 112 characters: the contract allows 100
    latitude = float(f"95.{int(tag, 16) % 10**6:06d}1")  # above 90: out of range, and found nowhere else
    staff = {"agency_id": agency_code(DISTRICT, f"R-{tag}"), "person_id": f"P-R-{tag}", "name": name}
    staff |= {"rank": "section_principal", "posted_on": "2026-11-02"}
    post = _message(staff, f"long-name-{tag}") | {"message_type": "office_space.post_staff"}
    fix = {"at": "2026-03-02T09:01:00+08:00", "lat": latitude, "lon": 119.97}
    gps = _message({"trip_id": f"TRIP-R-{tag}", "vehicle_id": f"VH-R-{tag}", "points": [fix]}, f"far-fix-{tag}")
    gps["message_type"] = "vehicles.record_gps_points"
    _send(platform, f"district.{DISTRICT}.inbound", json.dumps(post).encode(), json.dumps(gps).encode())

    rejected = _rejections_of(platform, DISTRICT, f"long-name-{tag}", f"far-fix-{tag}")
    assert rejected[f"long-name-{tag}"]["fields"] == {
        "payload.name": ['"[personal data withheld]" is longer than 100 characters']
    }
    assert rejected[f"far-fix-{tag}"]["fields"] == {
        "payload.points.0.lat": ["[personal data withheld] is greater than the maximum of 90"]
    }
    raw = b"".join(r.value for r in read_topic(platform.bootstrap, f"district.{DISTRICT}.rejected"))
    assert f"测试拒收{tag}".encode() not in raw and repr(latitude).encode() not in raw
    assert f"long-name-{tag}".encode() in raw and f"far-fix-{tag}".encode() in raw  # the search reads them


def _staff_count(platform: Platform, token: str, agency_id: str) -> int:
    status, body, _ = platform.request("GET", f"/api/v1/datacenter/agencies/{agency_id}", token=token)
    return int(body["staff_on_post"]) if status == 200 else -1


def test_staff_changes_arrive_through_the_inbound_topic_and_only_for_the_districts_own_agencies(
    platform: Platform,
) -> None:
    admin = platform.token()
    tag = uuid.uuid4().hex[:8]
    own, foreign = agency_code(DISTRICT, f"S-{tag}"), agency_code("320411", f"F-{tag}")
    for agency_id, district in ((own, DISTRICT), (foreign, "320411")):
        status, _, _ = platform.request("POST", "/api/v1/agencies", _agency(agency_id, district), token=admin)
        assert status == 201
    staff = {"person_id": f"P-{tag}", "name": "王芳", "rank": "section_principal", "posted_on": "2026-11-02"}
    messages = [
        _message({**staff, "agency_id": own}, f"post-{tag}") | {"message_type": "office_space.post_staff"},
        _message({**staff, "agency_id": foreign}, f"foreign-{tag}") | {"message_type": "office_space.post_staff"},
        _message(
            {"agency_id": own, "person_id": f"P2-{tag}", "reason": "retired", "departed_on": "2026-11-30"},
            f"unknown-person-{tag}",
        )
        | {"message_type": "office_space.record_departure"},
    ]
    _send(platform, f"district.{DISTRICT}.inbound", *(json.dumps(m).encode() for m in messages))
    deadline = time.monotonic() + 20
    while _staff_count(platform, admin, own) != 1 and time.monotonic() < deadline:
        time.sleep(0.3)
    assert _staff_count(platform, admin, own) == 1
    rejected = _rejections_of(platform, DISTRICT, f"foreign-{tag}", f"unknown-person-{tag}")
    # another district's agency is refused exactly as a missing one (no existence oracle)
    assert rejected[f"foreign-{tag}"]["reason"] == "validation_failed"
    assert rejected[f"foreign-{tag}"]["fields"] == {"agency_id": ["unknown agency"]}
    assert f"unknown-person-{tag}" in rejected  # a departure of a person never posted is refused, with reason
    assert _staff_count(platform, admin, foreign) == 0
    departure = {"agency_id": own, "person_id": f"P-{tag}", "reason": "retired", "departed_on": "2026-11-30"}
    leave = _message(departure, f"leave-{tag}") | {"message_type": "office_space.record_departure"}
    _send(platform, f"district.{DISTRICT}.inbound", json.dumps(leave).encode())
    deadline = time.monotonic() + 20
    while _staff_count(platform, admin, own) != 0 and time.monotonic() < deadline:
        time.sleep(0.3)
    assert _staff_count(platform, admin, own) == 0


def test_a_transfer_arrives_through_the_inbound_topic_and_moves_the_person_in_one_step(platform: Platform) -> None:
    admin = platform.token()
    tag = uuid.uuid4().hex[:8]
    source, target = agency_code(DISTRICT, f"TS-{tag}"), agency_code(DISTRICT, f"TT-{tag}")
    for agency_id in (source, target):
        assert platform.request("POST", "/api/v1/agencies", _agency(agency_id), token=admin)[0] == 201
    staff = {
        "agency_id": source,
        "person_id": f"P-{tag}",
        "name": "王芳",
        "rank": "below_section",
        "posted_on": "2026-01-05",
    }
    transfer = {"agency_id": source, "person_id": f"P-{tag}", "to_agency_id": target, "transferred_on": "2026-11-30"}
    back = {**staff, "posted_on": "2026-12-01"}  # posted at the source again: they are on post at the target now
    messages = [
        _message(staff, f"post-{tag}") | {"message_type": "office_space.post_staff"},
        _message(transfer, f"transfer-{tag}") | {"message_type": "office_space.transfer_staff"},
        _message(back, f"back-{tag}") | {"message_type": "office_space.post_staff"},
    ]
    for agency_id in (source, target):
        assert _wait_agency(platform, admin, agency_id) == 200
    _send(platform, f"district.{DISTRICT}.inbound", *(json.dumps(m).encode() for m in messages))
    deadline = time.monotonic() + 20
    while _staff_count(platform, admin, target) != 1 and time.monotonic() < deadline:
        time.sleep(0.3)
    assert (_staff_count(platform, admin, source), _staff_count(platform, admin, target)) == (0, 1)
    rejected = _rejections_of(platform, DISTRICT, f"back-{tag}")
    assert rejected[f"back-{tag}"]["reason"] == "posted_elsewhere"


def test_a_message_sent_to_another_districts_topic_is_rejected(platform: Platform) -> None:
    tag = uuid.uuid4().hex[:8]
    message = json.dumps(_message(_agency(f"W-{tag}"), message_id=f"wrong-{tag}")).encode()  # says 320402
    _send(platform, "district.320404.inbound", message)
    found = _rejections_of(platform, "320404", f"wrong-{tag}")  # by id: other tests' rejections share the topic
    assert found and found[f"wrong-{tag}"]["reason"] == "wrong_district"


def test_the_reference_client_sends_a_csv_file_and_follows_the_outbound_topic(
    platform: Platform, tmp_path: Path
) -> None:
    admin = platform.token()
    tag = uuid.uuid4().hex[:8]
    csv_file = tmp_path / f"agencies-{tag}.csv"
    c1, c2 = agency_code(DISTRICT, f"C1-{tag}"), agency_code(DISTRICT, f"C2-{tag}")
    csv_file.write_text(
        "agency_id,name,district,kind,admin_level,authorised_headcount\n"
        f"{c1},天宁区卫健委,320402,party_government,county,33\n"
        f"{c2},天宁区第一中学,320402,school,county,120\n",
        encoding="utf-8",
    )
    argv = [sys.executable, "-m", "tools.district_client", "--bootstrap", platform.bootstrap]
    sent = subprocess.run(
        [*argv, "send", "--district", DISTRICT, "--type", "office_space.register_agency", str(csv_file)],
        capture_output=True,
        text=True,
        check=True,
        env=platform.env,
    )
    assert "sent 2 messages" in sent.stderr
    assert _wait_agency(platform, admin, c2) == 200
    followed = subprocess.run(
        [*argv, "follow", "office_space.events", "--from-beginning", "--idle-seconds", "2"],
        capture_output=True,
        text=True,
        check=True,
        env=platform.env,
    )
    streams = {json.loads(line)["stream_id"] for line in followed.stdout.splitlines()}
    assert {c1, c2} <= streams


def test_a_consumer_written_against_v1_follows_the_topic_after_v2_is_introduced(
    platform: Platform, tmp_path: Path
) -> None:
    """AgencyRegistered v2 names the supervising agency; a district sends v2 messages and reads v1."""
    from tests.contract.test_evolution import V1AgencyDirectory

    admin = platform.token()
    tag = uuid.uuid4().hex[:8]
    parent, child = agency_code(DISTRICT, f"PA-{tag}"), agency_code(DISTRICT, f"CH-{tag}")
    assert platform.request("POST", "/api/v1/agencies", _agency(parent), token=admin)[0] == 201
    (tmp_path / "subordinates.json").write_text(
        json.dumps([{**_agency(child), "parent_agency_id": parent}], ensure_ascii=False), encoding="utf-8"
    )
    argv = [sys.executable, "-m", "tools.district_client", "--bootstrap", platform.bootstrap]
    send = ["send", "--district", DISTRICT, "--type", "office_space.register_agency", "--schema-version", "2"]
    subprocess.run(
        [*argv, *send, "--id-prefix", f"v2-{tag}", str(tmp_path / "subordinates.json")],
        capture_output=True,
        check=True,
        env=platform.env,
    )
    assert _wait_agency(platform, admin, child) == 200

    def followed(*extra: str) -> dict[str, Any]:
        out = subprocess.run(
            [*argv, "follow", "office_space.events", "--from-beginning", "--idle-seconds", "2", *extra],
            capture_output=True,
            text=True,
            check=True,
            env=platform.env,
        ).stdout
        return {m["stream_id"]: m for m in map(json.loads, out.splitlines()) if m["stream_id"] in (parent, child)}

    as_published = followed()
    assert as_published[child]["schema_version"] == 2
    assert as_published[child]["payload"]["parent_agency_id"] == parent
    as_v1 = followed("--read-as", "AgencyRegistered=1")
    consumer = V1AgencyDirectory()
    for agency_id in (parent, child):
        assert as_v1[agency_id]["schema_version"] == 1
        assert "parent_agency_id" not in as_v1[agency_id]["payload"]
        consumer.handle(as_v1[agency_id])
    assert consumer.headcount_by_district == {DISTRICT: 80}


def _kcat_env(tmp_path: Path) -> dict[str, str]:
    """The environment kcat runs in: Debian's kcat with a librdkafka that can read Tansu's answers.

    Debian 12's librdkafka 2.0.2 misreads tagged fields of the ApiVersions v3 response (fixed in
    librdkafka 2.1), and Tansu sends them; so kcat gets the librdkafka that the pinned ``confluent-kafka``
    dev dependency ships, through ``LD_LIBRARY_PATH``. Against Apache Kafka plain Debian kcat works.
    """
    import confluent_kafka

    libs = Path(confluent_kafka.__file__).resolve().parent.parent / "confluent_kafka.libs"
    bundled = sorted(libs.glob("librdkafka-*.so*"))
    assert bundled, f"no librdkafka in {libs}"
    (tmp_path / "librdkafka.so.1").symlink_to(bundled[0])
    return {**os.environ, "LD_LIBRARY_PATH": str(tmp_path)}


def test_kcat_produces_an_inbound_message_and_consumes_the_outbound_topic(platform: Platform, tmp_path: Path) -> None:
    kcat = shutil.which("kcat")
    if kcat is None:
        if os.environ.get("CI"):
            pytest.fail("kcat is required in CI (apt-get install kcat)")
        pytest.skip("kcat is not installed (apt-get install kcat)")
    env = _kcat_env(tmp_path)
    admin = platform.token()
    agency_id = agency_code(DISTRICT)
    message = json.dumps(_message(_agency(agency_id), message_id=f"kcat-{agency_id}"), ensure_ascii=False)
    produced = subprocess.run(
        [kcat, "-P", "-b", platform.bootstrap, "-t", f"district.{DISTRICT}.inbound", "-k", agency_id],
        input=message.encode(),
        capture_output=True,
        timeout=30,
        env=env,
    )
    assert produced.returncode == 0, produced.stderr.decode()
    assert _wait_agency(platform, admin, agency_id) == 200
    deadline = time.monotonic() + 20
    while True:
        consumed = subprocess.run(
            [
                kcat,
                "-C",
                "-b",
                platform.bootstrap,
                "-t",
                "office_space.events",
                "-o",
                "beginning",
                "-e",
                "-q",
                "-f",
                "%k\t%h\t%s\n",
            ],
            capture_output=True,
            check=True,
            timeout=60,
            env=env,
        ).stdout.decode()
        lines = [line for line in consumed.splitlines() if line.startswith(agency_id + "\t")]
        if lines or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    _key, headers, value = lines[0].split("\t", 2)
    assert "event_type=AgencyRegistered" in headers
    assert json.loads(value)["actor"] == f"district:{DISTRICT}"
