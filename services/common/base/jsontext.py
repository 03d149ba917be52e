"""The platform's own JSON text on its hot paths, written and read by orjson: the same values as the standard
library's ``json``, several times faster.

Two places only, where the platform made the text itself and checked it before:

- ``dumps_payload``: an event's payload as the store writes it, after its contract accepted it. orjson writes the
  form ``json.dumps(value, ensure_ascii=False, separators=(",", ":"))`` writes (text as UTF-8, no spaces), and
  writes floats and text 10–13 times as fast: a payload of 288 readings 294 → 23 µs, of 12 readings 14 → 1.3 µs
  (this machine's Xeon, 2026-12-07). A float's text may differ in its exponent alone (``1e-7`` where the
  standard library writes ``1e-07``): the same number when read. Where the two would differ in value, the
  standard library writes: an integer beyond 64 bits (orjson refuses it). A non-finite float orjson would write
  as ``null``; none reaches here, as a contract refuses ``NaN`` and the infinities for every ``number``.
- ``loads_message``: a message the platform's relay sent (an event's envelope), read in a third of the time
  (878 bytes: 9.0 → 3.0 µs). orjson refuses what ``json.loads`` would also refuse, and more: ``NaN`` and the
  infinities, lone surrogates, any encoding but UTF-8 — none of which the relay sends; such a message is
  refused (``ValueError``) as one that is not JSON. It reads an integer beyond 64 bits as a float, though: a
  message with a run of 19 digits or more anywhere (an integer orjson cannot hold, below -2**63 or above
  2**64 - 1, has 19 digits at least) is read by the standard library instead (refusing ``NaN``, the infinities
  and numbers beyond a float's range as orjson does), which a translation of the bytes finds in about 1 µs.

And the bodies of RPC messages (nameko's requests and replies: a district's batch of 100,000 readings is a 4 MB
request), through kombu's ``json`` serializer (``services.common.runtime.rpc`` registers ``dumps_rpc`` and
``loads_rpc`` as it): kombu's own JSON written and read by orjson where the two give the same values, kombu's
otherwise (below).

``dumps_stored`` is the stored form written by the standard library (its C encoder made once): what the store
writes of snapshots, command results and the payloads of a store that does not validate them, what re-keying
writes, and where ``dumps_payload`` falls back. Every other JSON of the platform — documents from outside
(``services.common.kernel.decoding``, with its limits), fingerprints hashed from canonical text, answers — stays
with the standard library too.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import orjson
from kombu.utils import json as kombu_json

from services.common.base.memory import reading
from services.common.kernel.decoding import finite_float, refuse_constant

_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False)
_C_ENCODER: Any = getattr(json.encoder, "c_make_encoder", None)
_encode_once: Any = (
    _C_ENCODER(None, _ENCODER.default, json.encoder.encode_basestring, None, ":", ",", False, False, True)
    if _C_ENCODER is not None
    else None
)

_DIGITS = bytes(0x30 if 0x30 <= byte <= 0x39 else 0x20 for byte in range(256))
"""Every digit's byte to "0", every other byte to a space: a run of digits becomes a run of zeros."""

_LONG_RUN = b"0" * 19


def _long_integer_in(raw: bytes) -> bool:
    """Whether ``raw`` holds a run of 19 digits or more: an integer orjson cannot hold (beyond 64 bits) has one, and
    orjson would read it as a float (``loads_message``, ``loads_rpc``)."""
    return _LONG_RUN in raw.translate(_DIGITS)


def dumps_stored(value: Any) -> str:
    """A stored JSON value, as ``json.dumps(value, ensure_ascii=False, separators=(",", ":"))`` writes it: the
    standard library's C encoder made once with those settings (``JSONEncoder.encode`` makes one per call: a
    fifth of the cost of a payload of a dozen readings), without the walk's bookkeeping of every list and dict
    for cycles (a third of the cost of a payload of readings). A stored value is the fresh JSON-native values of
    an event's fields, a state or a result; a cycle, which none holds, would end in ``RecursionError`` instead of
    ``ValueError``."""
    if _encode_once is None:  # an interpreter without the C encoder
        return _ENCODER.encode(value)
    return "".join(_encode_once(value, 0))


def dumps_payload(value: Any) -> str:
    """``value`` (a payload its contract accepted) as ``json.dumps(value, ensure_ascii=False,
    separators=(",", ":"))`` writes it (a float's exponent aside: see the module's docstring)."""
    try:
        return orjson.dumps(value).decode()
    except orjson.JSONEncodeError:  # an integer beyond 64 bits, or what neither encoder writes (which raises)
        return dumps_stored(value)


def loads_message(value: bytes) -> Any:
    """The JSON value of a message the platform sent; ``ValueError`` if it is not JSON (see the module's
    docstring)."""
    if _long_integer_in(value):
        return json.loads(value, parse_constant=refuse_constant, parse_float=finite_float)
    return orjson.loads(value)


_RPC_WRITES = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
"""A date, a time or a dataclass orjson leaves to kombu's encoder (it raises, having no ``default``): kombu writes a
date or a time tagged, to be read back as one. So does a dict with a key that is not text (orjson would write a
float key's text in a form of its own: ``1e-7`` where the standard library writes ``1e-07``)."""

_kombu_dumps: Callable[[Any], str] = kombu_json.dumps
_kombu_loads: Callable[[Any], Any] = kombu_json.loads
"""kombu's own JSON codec (untyped)."""

_KOMBU_TAG = b'"__type__"'
"""The key of kombu's tagged values (a date, a ``Decimal``, bytes, a UUID): a body with it is read by kombu."""


def dumps_rpc(value: Any) -> bytes:
    """An RPC body (kombu's ``json`` serializer): what ``kombu.utils.json.dumps`` writes, as UTF-8, written by orjson
    when it can write every value of it: a district's request of 100,000 readings (3.9 MB) in 3.7 ms instead of 38.
    What orjson refuses kombu writes: a ``Decimal``, bytes, a date or a time (tagged, read back as one), an integer
    beyond 64 bits, text with a lone surrogate, nesting deeper than 254, a dict key that is not text; and what kombu
    refuses too (a set, an object) raises as it did. Two values orjson writes differently, neither of which the
    platform sends: a UUID (as its text, where kombu tags it) and a non-finite float (``null``, where kombu writes
    ``NaN``, which is not JSON; every edge refuses them, ``services.common.kernel.decoding``)."""
    try:
        return orjson.dumps(value, option=_RPC_WRITES)
    except orjson.JSONEncodeError:
        return _kombu_dumps(value).encode()


def loads_rpc(body: bytes | bytearray | memoryview | str) -> Any:
    """The value of an RPC body, as ``kombu.utils.json.loads`` reads it: by orjson, with the collector held for a
    large body (``memory.reading``: a request of 100,000 readings in 27 ms instead of 106); by kombu when the body
    holds a tagged value, a run of 19 digits (an integer orjson would read as a float: see ``loads_message``) or
    what orjson refuses and the standard library reads (``NaN`` and the infinities, a lone surrogate, nesting
    deeper than 254); what neither reads raises as kombu's did."""
    raw = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else bytes(body)
    with reading(len(raw)):
        return _read_rpc(raw, body)


def _read_rpc(raw: bytes, body: bytes | bytearray | memoryview | str) -> Any:
    if _KOMBU_TAG in raw or _long_integer_in(raw):
        return _kombu_loads(body)
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return _kombu_loads(body)
