"""Safe decoding (``services.common.kernel.decoding``) and the inbound message reader built on it: whatever the
bytes, the answer is a value or a platform error (HTTP) / a ``Rejected`` (a district's message), never
another exception. Hand-made cases for each limit, then hypothesis properties over arbitrary input."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kafka.consumer.fetcher import ConsumerRecord

from services.common.kernel.decoding import (
    MAX_DEPTH,
    MAX_INT_DIGITS,
    MAX_NODES,
    _check_exactly,
    _plainly_clean,
    check_decoded,
    decode_json,
    scrub_text,
)
from services.common.kernel.errors import BadRequest, PayloadTooLarge, PlatformError, ValidationFailed
from services.common.read.inbound import InboundMessage, Rejected, read_message

LIMIT = 1024 * 1024


def _nested(levels: int) -> bytes:
    return b"[" * levels + b"]" * levels


def test_nesting_is_accepted_up_to_the_limit_and_refused_beyond_it() -> None:
    assert decode_json(_nested(MAX_DEPTH), max_bytes=LIMIT) is not None
    with pytest.raises(BadRequest) as refused:
        decode_json(_nested(MAX_DEPTH + 1), max_bytes=LIMIT)
    assert "nested deeper than 32 levels" in json.dumps(refused.value.fields)
    # far past Python's own recursion limit: still a 400, not a RecursionError
    with pytest.raises(BadRequest):
        decode_json(b"[" * 200_000, max_bytes=LIMIT)
    with pytest.raises(BadRequest):
        decode_json(b'{"a":' * 50_000 + b"1" + b"}" * 50_000, max_bytes=LIMIT)


def test_size_utf8_and_numbers_are_checked() -> None:
    with pytest.raises(PayloadTooLarge):
        decode_json(b" " * 11, max_bytes=10)
    for raw in (b"\xff\xfe{}", b'{"a": "\xc0\xaf"}', b"{", b"NaN", b"[Infinity]", b"[-Infinity]", b"[1e999]"):
        with pytest.raises(BadRequest):
            decode_json(raw, max_bytes=LIMIT)
    with pytest.raises(BadRequest):
        decode_json(b"1" * (MAX_INT_DIGITS + 1), max_bytes=LIMIT)
    assert decode_json(b"-" + b"9" * MAX_INT_DIGITS, max_bytes=LIMIT) == -int("9" * MAX_INT_DIGITS)
    assert decode_json(b"", max_bytes=LIMIT) is None  # an empty body reads as null (a command without body)


def test_control_characters_and_lone_surrogates_are_refused_naming_the_field() -> None:
    with pytest.raises(ValidationFailed) as refused:
        decode_json(b'{"name": "a\\ud800b", "ok": "\\ud83d\\ude00 \\t\\n\\r"}', max_bytes=LIMIT)
    assert refused.value.fields == {"name": ["contains a lone surrogate U+D800"]}
    with pytest.raises(ValidationFailed) as refused:
        decode_json(b'{"items": [{"note": "\\u001b[2J"}], "x\\u0000": 1}', max_bytes=LIMIT)
    assert refused.value.fields == {
        "items.0.note": ["contains the control character U+001B"],
        "x\x00": ["its key contains NUL"],
    }
    # a value decoded elsewhere (an RPC payload) is checked the same way
    with pytest.raises(ValidationFailed):
        check_decoded({"a": [float("nan")]})
    assert scrub_text("a\ud800b") == "a\ufffdb"


def test_bidirectional_overrides_and_isolates_are_refused_and_right_to_left_text_is_not() -> None:
    """A name holding U+202E (RIGHT-TO-LEFT OVERRIDE) shows what follows it reversed in the dashboard, an export
    and the audit trail ("Trojan Source"): refused, as the embeddings and isolates are. A right-to-left name and
    its marks (U+200F) are text like any other."""
    for char in ("\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069"):
        with pytest.raises(ValidationFailed) as refused:
            check_decoded({"name": f"天宁区{char}局", "ok": "教育局"})
        assert refused.value.fields == {
            "name": [f"contains the bidirectional control U+{ord(char):04X} (text shown other than it reads)"]
        }
    check_decoded({"name": "مكتب الشؤون\u200f", "note": "‎LRM‎ and ZWJ\u200d stay"})
    raw = json.dumps({"agency": {"name": "abc\u202egnp.exe"}}).encode()
    with pytest.raises(ValidationFailed) as refused:  # through the HTTP body's and the message's reader too
        decode_json(raw, max_bytes=LIMIT)
    assert list(refused.value.fields) == ["agency.name"]


def test_a_decoded_value_with_too_many_values_is_refused() -> None:
    check_decoded([[1, 2]] * 3, max_nodes=10)  # 1 outer list + 3 inner + 6 numbers = 10 values
    with pytest.raises(PayloadTooLarge):
        check_decoded([[1, 2]] * 3 + [1], max_nodes=10)  # 11 values


BIDI_CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
CLEAN_CHARACTERS = st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters=BIDI_CONTROLS)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**20), max_value=10**20)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(CLEAN_CHARACTERS),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(CLEAN_CHARACTERS, max_size=8), children, max_size=4)
    ),
    max_leaves=30,
)


@given(json_values)
def test_every_clean_json_value_decodes_to_itself(value: Any) -> None:
    assert decode_json(json.dumps(value).encode(), max_bytes=LIMIT) == value
    assert decode_json(json.dumps(value, ensure_ascii=False).encode(), max_bytes=LIMIT) == value


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000) | st.text(max_size=500).map(lambda t: t.encode("utf-8", "surrogatepass")))
def test_any_bytes_decode_or_are_refused_with_a_4xx(raw: bytes) -> None:
    try:
        value = decode_json(raw, max_bytes=LIMIT)
    except PlatformError as refused:
        assert refused.http_status in (400, 413, 422)
        return
    check_decoded(value)  # what was accepted passes the check again
    assert not isinstance(value, float) or math.isfinite(value)


class _Text(str):
    """A str subclass (what no JSON parser makes, but a Python caller may): left to the exact walk."""


hostile_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()  # NaN and infinities included
    | st.text(max_size=6)  # control characters and lone surrogates included
    | st.text(max_size=3).map(_Text),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=4) | st.integers(), children, max_size=4)
    ),
    max_leaves=40,
)


def _exact_walk_passes(value: Any, max_depth: int, max_nodes: int) -> bool:
    try:
        _check_exactly(value, max_depth, "_body", max_nodes)
    except PlatformError:
        return False
    return True


@settings(suppress_health_check=[HealthCheck.too_slow], max_examples=500)
@given(hostile_values, st.integers(min_value=1, max_value=6), st.integers(min_value=1, max_value=60))
def test_the_quick_pass_lets_through_only_what_the_exact_walk_accepts(value: Any, depth: int, nodes: int) -> None:
    """The quick pass (no paths) never accepts what the exact walk refuses, and accepts every value the exact walk
    accepts unless a subclass, a key that is not text or finite floats summing past the largest float send it on."""
    for max_depth, max_nodes in ((depth, nodes), (MAX_DEPTH, MAX_NODES)):
        if _plainly_clean(value, max_depth, max_nodes):
            assert _exact_walk_passes(value, max_depth, max_nodes)
        elif _exact_walk_passes(value, max_depth, max_nodes):
            assert (
                _has_text_subclass(value)
                or any(not isinstance(k, str) for k in _keys(value))
                or _float_sum_overflows(value)
            )


def _has_text_subclass(value: Any) -> bool:
    if isinstance(value, _Text):
        return True
    children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else []
    return any(_has_text_subclass(child) for child in children)


def _keys(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [*value, *(k for child in value.values() for k in _keys(child))]
    if isinstance(value, list):
        return [k for child in value for k in _keys(child)]
    return []


def _float_sum_overflows(value: Any) -> bool:
    def floats(v: Any) -> list[float]:
        if isinstance(v, float):
            return [v]
        children = v.values() if isinstance(v, dict) else v if isinstance(v, list) else []
        return [f for child in children for f in floats(child)]

    return not math.isfinite(sum(floats(value)))


def test_a_control_character_deep_in_a_large_batch_is_named_by_its_path() -> None:
    """A district's batch of 100,000 readings passes the quick pass; one bad character in its last meter's last
    reading sends it to the exact walk, which names that reading."""
    meters = [
        {"meter_id": f"M-{m:03d}", "readings": [[f"2026-11-01T00:{n % 60:02d}:00+00:00", 1.0 * n] for n in range(250)]}
        for m in range(400)
    ]  # 400 meters x 250 readings = 100,000 readings
    batch = {"meters": meters}
    check_decoded(batch)
    meters[399]["readings"][249][0] = "2026-11-01T00:09:00+00:00\x07"
    with pytest.raises(ValidationFailed) as refused:
        check_decoded(batch)
    assert refused.value.fields == {"meters.399.readings.249.0": ["contains the control character U+0007"]}
    meters[399]["readings"][249] = ["2026-11-01T00:09:00+00:00", float("inf")]
    with pytest.raises(ValidationFailed) as refused:
        check_decoded(batch)
    assert refused.value.fields == {"meters.399.readings.249.1": ["must be a finite number"]}


def _record(value: bytes | None, topic: str = "district.320402.inbound") -> ConsumerRecord:
    return ConsumerRecord(topic, 0, None, 7, 0, 0, b"k", value, [], None, 1, len(value or b""), 0)


ENVELOPE = {
    "message_id": "m-1",
    "message_type": "office_space.register_agency",
    "schema_version": 1,
    "district": "320402",
    "sent_at": "2026-11-23T08:00:00+08:00",
    "payload": {
        "agency_id": "11320402MB00000025",
        "name": "天宁区教育局",
        "district": "320402",
        "kind": "party_government",
        "admin_level": "county",
        "authorised_headcount": 40,
    },
}


def test_the_inbound_reader_rejects_each_hostile_message_with_its_reason() -> None:
    deep = json.dumps({**ENVELOPE, "payload": {}}).replace("{}", '{"a":' * 5000 + "1" + "}" * 5000).encode()
    cases = {
        "malformed_json": [
            None,
            b"\xff",
            b"{",
            deep,
            json.dumps({**ENVELOPE, "payload": {"n": 1e308}}).encode() + b"0",
        ],
        "too_large": [b" " * (4 * 1024 * 1024 + 1)],
        "invalid_text": [json.dumps({**ENVELOPE, "payload": {**ENVELOPE["payload"], "name": "\ud800"}}).encode()],
        "invalid_message": [b"[]", json.dumps({**ENVELOPE, "message_id": ["x"]}).encode()],
        "wrong_district": [json.dumps({**ENVELOPE, "district": "320404"}).encode()],
    }
    for reason, values in cases.items():
        for value in values:
            with pytest.raises(Rejected) as refused:
                read_message(_record(value), "320402")
            assert refused.value.code == reason, (value or b"")[:60]
            json.dumps(refused.value.about)  # what is quoted back can be sent
    message = read_message(_record(json.dumps(ENVELOPE).encode()), "320402")
    assert (message.message_id, message.source) == ("m-1", "district.320402.inbound:0:7")


@settings(suppress_health_check=[HealthCheck.too_slow], max_examples=300)
@given(
    st.binary(max_size=500)
    | json_values.map(lambda v: json.dumps({**ENVELOPE, "payload": {"v": v}}).encode())
    | st.dictionaries(st.sampled_from(sorted(ENVELOPE)), json_values).map(lambda d: json.dumps(d).encode())
)
def test_the_inbound_reader_answers_a_message_or_a_rejection_for_any_bytes(raw: bytes) -> None:
    try:
        assert isinstance(read_message(_record(raw), "320402"), InboundMessage)
    except Rejected as refused:
        assert refused.code in {"malformed_json", "too_large", "invalid_text", "invalid_message", "wrong_district"}
