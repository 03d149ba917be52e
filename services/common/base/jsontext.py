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

``dumps_stored`` is the stored form written by the standard library (its C encoder made once): what the store
writes of snapshots, command results and the payloads of a store that does not validate them, what re-keying
writes, and where ``dumps_payload`` falls back. Every other JSON of the platform — documents from outside
(``services.common.kernel.decoding``, with its limits), fingerprints hashed from canonical text, answers — stays
with the standard library too.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

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
    if _LONG_RUN in value.translate(_DIGITS):
        return json.loads(value, parse_constant=refuse_constant, parse_float=finite_float)
    return orjson.loads(value)
