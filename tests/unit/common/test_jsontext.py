"""The fast JSON of the platform's own text (``services.common.base.jsontext``) reads and writes the values the
standard library's ``json`` does: a payload written is read back the same, a message read is what ``json.loads``
reads, an integer of any size stays an integer of that value, and what ``json.loads`` refuses is refused. An RPC
body carries what kombu's own JSON codec carries, read and written both ways."""

from __future__ import annotations

import gc
import importlib
import json
import math
from datetime import UTC, datetime
from typing import Any
from unittest import mock

import kombu.serialization
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from kombu.utils import json as kombu_json

from services.common.base import jsontext
from services.common.base.jsontext import dumps_payload, dumps_rpc, loads_message, loads_rpc
from services.common.base.memory import LARGE_DOCUMENT_BYTES

# JSON values as an event's payload or envelope holds them: text (any code point but a lone surrogate, which
# the platform refuses at its edge), integers of any size, finite floats, nested to a few levels
texts = st.text(st.characters(exclude_categories=["Cs"]), max_size=30)
scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | texts
values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=5) | st.dictionaries(texts, inner, max_size=5), max_leaves=30
)


def same(a: Any, b: Any) -> bool:
    """Equal, and of the same types all the way down (``1 == 1.0`` and ``True == 1`` are not the same value
    here: an integer read as a float is the defect this module guards against)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float):
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    return bool(a == b)


@settings(max_examples=400, deadline=None)
@given(values)
def test_a_message_reads_as_json_loads_reads_it(value: Any) -> None:
    for text in (json.dumps(value, ensure_ascii=False), json.dumps(value), json.dumps(value, indent=1)):
        raw = text.encode()
        assert same(loads_message(raw), json.loads(raw)), raw


@settings(max_examples=400, deadline=None)
@given(values)
def test_a_payload_written_reads_back_as_the_value_and_as_the_standard_library_writes_it(value: Any) -> None:
    written = dumps_payload(value)
    assert same(json.loads(written), value)
    assert same(loads_message(written.encode()), value)
    # the same text as json.dumps writes, but for a float's exponent (1e-07 / 1e-7)
    if not any(isinstance(leaf, float) and "e" in repr(leaf) for leaf in _leaves(value)):
        assert written == json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _leaves(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [leaf for v in value.values() for leaf in _leaves(v)]
    if isinstance(value, list):
        return [leaf for v in value for leaf in _leaves(v)]
    return [value]


@pytest.mark.parametrize(
    "number",
    [
        9_223_372_036_854_775_807,  # the largest 64-bit signed integer: orjson reads it
        -9_223_372_036_854_775_809,  # one below the smallest: orjson alone would read a float
        18_446_744_073_709_551_616,  # 2**64: orjson alone would read a float
        10**29 + 1,  # 30 digits, the most an HTTP body may carry (decoding.MAX_INT_DIGITS)
    ],
)
def test_an_integer_of_any_size_is_read_and_written_exactly(number: int) -> None:
    raw = json.dumps({"cents": number, "id": "a-1"}).encode()
    read = loads_message(raw)
    assert type(read["cents"]) is int and read["cents"] == number
    assert dumps_payload({"cents": number}) == f'{{"cents":{number}}}'


@pytest.mark.parametrize(
    "raw",
    [
        b'{"a": 1',  # cut short
        b'{"a": 1} x',  # something after the value
        b"{\x00",
        b'{"a": NaN}',  # json.loads reads NaN and the infinities; the relay never writes them
        b'{"a": Infinity}',
        b'{"a": 1e999}',
        b'{"a": NaN, "b": 12345678901234567890}',  # NaN beside a long integer (read by the standard library)
        b'{"a": 1e999, "b": 12345678901234567890}',
        b'{"a": "\\ud800"}',  # a lone surrogate, escaped
        b'{"a": "\xed\xa0\x80"}',  # and encoded
        b'{"a": "\xff"}',  # not UTF-8
        '{"a": 1}'.encode("utf-16"),  # json.loads reads UTF-16; the relay writes UTF-8
        b"",
    ],
)
def test_a_message_that_is_not_the_relays_json_is_refused_as_not_json(raw: bytes) -> None:
    with pytest.raises(ValueError):
        loads_message(raw)


# -- RPC bodies: kombu's JSON, by orjson where the values are the same -------------------------------------------

# what an RPC body may hold: the values above, and what kombu's codec writes tagged (a date, a time, a Decimal,
# bytes), integers of any size, text with lone surrogates, dicts with keys that are not text (kombu writes them as
# text), tuples (written as lists)
rpc_scalars = (
    scalars
    | st.text(max_size=10)  # lone surrogates included
    | st.datetimes(timezones=st.none() | st.timezones())
    | st.dates()
    | st.times()
    | st.decimals(allow_nan=False, allow_infinity=False)
    | st.binary(max_size=8)
)
rpc_keys = texts | st.integers() | st.booleans() | st.none() | st.floats(allow_nan=False, allow_infinity=False)
rpc_values = st.recursive(
    rpc_scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.lists(inner, max_size=3).map(tuple)
        | st.dictionaries(rpc_keys, inner, max_size=4)
    ),
    max_leaves=25,
)


@settings(max_examples=500, deadline=None)
@given(rpc_values)
def test_an_rpc_body_carries_what_kombus_own_codec_carries(value: Any) -> None:
    expected = kombu_json.loads(kombu_json.dumps(value))
    ours = dumps_rpc(value)
    assert same(loads_rpc(ours), expected)
    assert same(kombu_json.loads(ours), expected)  # a process with kombu's codec reads our bodies
    assert same(loads_rpc(kombu_json.dumps(value).encode()), expected)  # and we read its bodies


def test_a_deep_or_long_or_unusual_body_is_written_and_read_as_kombu_does() -> None:
    deep: Any = "leaf"
    for _ in range(300):  # deeper than orjson writes or reads (254)
        deep = [deep]
    assert loads_rpc(dumps_rpc(deep)) == deep and loads_rpc(kombu_json.dumps(deep).encode()) == deep
    for value in (
        {"cents": 2**64, "below": -(2**63) - 1, "x": 10**30},  # beyond 64 bits: orjson would refuse or read a float
        {"lone": "\ud800", "name": "市机关事务管理局"},
        {"__type__": "decimal", "__value__": "1.5"},  # what kombu reads as a tagged value, sent as data
        {1e-07: "a", 2024: "b", None: "c"},  # keys that are not text: "1e-07" (orjson would write "1e-7"), ...
    ):
        expected = kombu_json.loads(kombu_json.dumps(value))
        assert same(loads_rpc(dumps_rpc(value)), expected)
        assert same(loads_rpc(kombu_json.dumps(value).encode()), expected)
    assert math.isnan(loads_rpc(b'{"a": NaN}')["a"])  # kombu's codec writes NaN and reads it; so is it read here
    with pytest.raises(TypeError):
        dumps_rpc({"a": {1, 2}})  # what kombu refuses is refused
    with pytest.raises(ValueError):
        loads_rpc(b'{"a": ')


def test_a_large_body_is_read_with_the_collector_held_and_released_after() -> None:
    body = dumps_rpc(
        {"meters": [{"meter_id": f"M-{n}", "readings": [["2026-12-01T00:05:00+00:00", 1.5]] * 50} for n in range(400)]}
    )
    assert len(body) >= LARGE_DOCUMENT_BYTES
    held: list[bool] = []
    original = orjson.loads

    def spying(raw: bytes) -> Any:
        held.append(gc.isenabled())
        return original(raw)

    with mock.patch.object(jsontext.orjson, "loads", spying):
        assert len(loads_rpc(body)["meters"]) == 400
        loads_rpc(b'{"a": 1}')
    assert held == [False, True]  # held for the large body alone
    assert gc.isenabled()


def test_the_rpc_serializer_is_the_platforms_in_every_process_that_calls_or_answers() -> None:
    importlib.import_module("services.common.runtime.rpc")  # registers it; every service and the gateway import it
    value = {"payload": {"name": "市机关事务管理局", "count": 3, "ratio": 0.25}, "ids": ["a", "b"]}
    content_type, encoding, body = kombu.serialization.dumps(value, "json")
    assert (content_type, encoding) == ("application/json", "utf-8")
    assert body == orjson.dumps(value) != kombu_json.dumps(value).encode()  # orjson's text, not kombu's
    assert kombu.serialization.loads(body, content_type, encoding) == value
    dated = {"at": datetime(2026, 12, 7, 8, 30, tzinfo=UTC)}  # kombu's codec tags it, and it is read back as a date
    content_type, encoding, body = kombu.serialization.dumps(dated, "json")
    assert kombu.serialization.loads(body, content_type, encoding) == dated
