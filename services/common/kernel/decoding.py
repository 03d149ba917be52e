"""Safe decoding of JSON from outside the platform: HTTP bodies, district messages, RPC payloads.

Every JSON document that reaches a service comes through ``decode_json`` (bytes) or ``check_decoded`` (a
value some library already decoded, as nameko does with an RPC payload). Both refuse, with the reason in
``fields``, what would otherwise fail later and further away:

- more than ``max_bytes`` bytes (``PayloadTooLarge``, 413);
- bytes that are not UTF-8, or not JSON, or JSON nested deeper than ``MAX_DEPTH`` arrays/objects
  (``BadRequest``, 400: Python's own parser gives up with a ``RecursionError`` near 1,000 levels, and every
  later recursive walk of the value would too);
- ``NaN``/``Infinity`` and numbers too large for a float (``1e999``), integers above ``MAX_INT_DIGITS``
  digits (``BadRequest``);
- text (keys included) with a NUL or another C0 control character except tab, line feed and carriage
  return, or a lone UTF-16 surrogate (``"\\ud800"``, which JSON allows and UTF-8 cannot encode: PostgreSQL,
  Kafka and every reply would fail on it) (``ValidationFailed``, 422, naming the field).

The walk is iterative (a stack), so no value, however built, makes it recurse.
"""

from __future__ import annotations

import json
import math
import re
from itertools import chain, compress, repeat
from operator import is_
from typing import Any

from services.common.kernel.errors import BadRequest, PayloadTooLarge, ValidationFailed

MAX_DEPTH = 32
"""Deepest nesting of arrays and objects accepted (the deepest contract of the platform needs 4)."""

MAX_INT_DIGITS = 30
"""Longest integer accepted, in digits (no figure of the platform comes near; Python would otherwise parse a
4,000-digit integer and a later conversion would take quadratic time)."""

MAX_NODES = 1_000_000
"""Most values (objects, arrays, strings, numbers) in one document: a readings batch of 100,000 readings, the
largest document of the platform, has about 300,000. Bounds an RPC payload, which arrives decoded, as the
byte limits bound a body or a message."""

_BAD_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\u202a-\u202e\u2066-\u2069]")
"""C0 control characters other than tab, LF and CR, lone surrogates, and the bidirectional embeddings, overrides
and isolates (U+202A-U+202E, U+2066-U+2069): an agency's name holding U+202E shows reversed what follows it in
the dashboard, an export and the audit trail, so that text reads other than it is ("Trojan Source")."""


def refuse_constant(name: str) -> Any:
    """``json.loads``' ``parse_constant``: ``NaN`` and the infinities are no number the platform accepts."""
    raise ValueError(f"{name} is not a JSON number the platform accepts")


def _parse_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise ValueError(f"integer of {len(text)} digits (at most {MAX_INT_DIGITS})")
    return int(text)


def finite_float(text: str) -> float:
    """``json.loads``' ``parse_float``: a number beyond a float's range (``1e999``) is refused, not infinite."""
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text[:40]} is out of range")
    return value


def decode_json(raw: bytes | str, *, max_bytes: int, max_depth: int = MAX_DEPTH, what: str = "_body") -> Any:
    """``raw`` decoded, or the platform error saying why not (see the module's docstring).

    ``what`` names the whole document in the errors' ``fields`` (``_body`` for an HTTP body).
    """
    if len(raw) > max_bytes:
        raise PayloadTooLarge(f"the document exceeds {max_bytes} bytes", details={"limit_bytes": max_bytes})
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError as exc:
        raise BadRequest(
            "the document is not UTF-8", fields={what: [f"not UTF-8: {exc.reason} at {exc.start}"]}
        ) from None
    try:
        value = json.loads(
            text or "null", parse_constant=refuse_constant, parse_int=_parse_int, parse_float=finite_float
        )
    except RecursionError:
        raise BadRequest(
            "the document is nested too deeply", fields={what: [f"nested deeper than {max_depth} levels"]}
        ) from None
    except ValueError as exc:  # json.JSONDecodeError is one
        raise BadRequest("the document is not valid JSON", fields={what: [str(exc)[:200]]}) from None
    check_decoded(value, max_depth=max_depth, what=what)
    return value


def check_decoded(value: Any, *, max_depth: int = MAX_DEPTH, what: str = "_body", max_nodes: int = MAX_NODES) -> None:
    """Refuse a decoded value nested deeper than ``max_depth`` or holding more than ``max_nodes`` values
    (``PayloadTooLarge``), with a non-finite number, or with text holding a control character or a lone
    surrogate (the field named by its path)."""
    if not _plainly_clean(value, max_depth, max_nodes):
        _check_exactly(value, max_depth, what, max_nodes)


def _check_exactly(value: Any, max_depth: int, what: str, max_nodes: int) -> None:
    """``check_decoded``'s walk, value by value with each one's path, naming what it refuses."""
    bad: dict[str, list[str]] = {}
    stack: list[tuple[Any, str, int]] = [(value, "", 0)]
    seen = 0
    while stack:
        node, path, depth = stack.pop()
        seen += 1
        if seen > max_nodes:
            raise PayloadTooLarge(
                f"the document holds more than {max_nodes} values", details={"limit_values": max_nodes}
            )
        if isinstance(node, str):
            found = _BAD_TEXT.search(node)
            if found:
                bad.setdefault(path or what, []).append(_text_reason(found.group()))
        elif isinstance(node, float):
            if not math.isfinite(node):
                bad.setdefault(path or what, []).append("must be a finite number")
        elif isinstance(node, dict | list):
            if depth >= max_depth:
                raise BadRequest(
                    "the document is nested too deeply",
                    fields={path or what: [f"nested deeper than {max_depth} levels"]},
                )
            items = node.items() if isinstance(node, dict) else enumerate(node)
            for key, child in items:
                child_path = f"{path}.{key}".lstrip(".")
                in_key = _BAD_TEXT.search(key) if isinstance(key, str) else None
                if in_key:
                    bad.setdefault(child_path, []).append("its key " + _text_reason(in_key.group()))
                stack.append((child, child_path, depth + 1))
        if len(bad) >= 20:
            break
    if bad:
        raise ValidationFailed(
            "text must not contain control characters, lone surrogates or bidirectional controls", fields=bad
        )


def _plainly_clean(value: Any, max_depth: int, max_nodes: int) -> bool:
    """True when ``value`` certainly passes ``check_decoded``; False when it may not, and the exact walk then
    decides and names the fields.

    The exact walk builds every value's path (``meters.412.readings.7.0``) in case it has to name it: about a
    microsecond per value, a third of a second for a 100,000-reading batch, to find nothing. This pass counts
    and reaches the same values a level at a time without paths (each level's values sorted by type in a few
    passes over it, not one Python step per value), checks all the text in one search of it joined
    (a character class matches a character, so joining finds what the strings hold and nothing else) and all
    the floats in one sum (a NaN or an infinity makes it non-finite; finite floats summing past the largest
    float only send the value to the exact walk). Anything unusual (a subclass of str, float, list or dict, a
    key that is not text) is left to the exact walk too.
    """
    level: list[Any] = [value]
    texts: list[Any] = []
    floats: list[float] = []
    seen = 0
    depth = 0
    while level:
        seen += len(level)
        if seen > max_nodes:
            return False
        below: list[Any] = []
        kinds = list(map(type, level))
        found = set(kinds)
        for kind in found:  # the level's values of one type at a time, each picked out in one pass
            nodes = level if len(found) == 1 else list(compress(level, map(is_, kinds, repeat(kind))))
            if kind is list:
                if depth >= max_depth:
                    return False
                below += chain.from_iterable(nodes)
            elif kind is str:
                texts += nodes
            elif kind is float:
                floats += nodes
            elif kind is dict:
                if depth >= max_depth:
                    return False
                texts += chain.from_iterable(nodes)
                below += chain.from_iterable(map(dict.values, nodes))
            elif issubclass(kind, str | float | dict | list):
                return False
        level = below
        depth += 1
    try:
        joined = "".join(texts)
    except TypeError:  # a key that is not text
        return False
    # printable text holds no control character and no surrogate (neither is printable): one quick scan of it,
    # the search only for text with a tab, a line break or another character that is not printable
    return (joined.isprintable() or _BAD_TEXT.search(joined) is None) and math.isfinite(sum(floats))


def _text_reason(char: str) -> str:
    if char == "\x00":
        return "contains NUL"
    if "\ud800" <= char <= "\udfff":
        return f"contains a lone surrogate U+{ord(char):04X}"
    if char >= "\u202a":
        return f"contains the bidirectional control U+{ord(char):04X} (text shown other than it reads)"
    return f"contains the control character U+{ord(char):04X}"


def scrub_text(text: str) -> str:
    """``text`` with every lone surrogate replaced by U+FFFD, so that it can be encoded as UTF-8 (a refusal
    quoting a hostile value must still be sendable)."""
    return re.sub(r"[\ud800-\udfff]", "\ufffd", text)
