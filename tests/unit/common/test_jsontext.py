"""The fast JSON of the platform's own text (``services.common.base.jsontext``) reads and writes the values the
standard library's ``json`` does: a payload written is read back the same, a message read is what ``json.loads``
reads, an integer of any size stays an integer of that value, and what ``json.loads`` refuses is refused."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.common.base.jsontext import dumps_payload, loads_message

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
