"""JSON answers over HTTP: a body encoded once (``encoded``), an answer partly encoded ahead (``EncodedAnswer``,
kept by ``services/gateway/readcache.py``) and the response sending either (``json_response``). Used by the
gateway's routes and by every service's ``/health``."""

from __future__ import annotations

import json
from array import array
from typing import Any, cast

from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response


def encoded(body: Any) -> bytes:
    """``body`` as the JSON an answer sends."""
    return json.dumps(body, ensure_ascii=False, default=str).encode()


class KeptMembers:
    """Where each object listed in an answer's JSON lies in the JSON last made of it (``encoded_reusing``): an
    answer made again after a batch keeps most of its listed objects, in their places (the same objects:
    ``figures.KeptFigures`` keeps an unchanged agency's entry), whose JSON is then copied from the last one rather
    than encoded again (a city's agencies are a megabyte of JSON, and readings arrive every second)."""

    __slots__ = ("json", "lists")

    def __init__(self) -> None:
        self.json = b""
        """The JSON last made (the answer's own bytes, not a copy)."""
        self.lists: dict[str, tuple[tuple[Any, ...], array[int]]] = {}
        """Per key of a list of objects: its objects, in order, and where each one's JSON starts and ends in
        ``json`` (two numbers an object: a few bytes, where a city's findings are thousands of objects)."""


def encoded_reusing(body: Any, kept: KeptMembers) -> bytes:
    """``encoded(body)`` byte for byte, the JSON of an object listed in ``body`` at the place (key and position)
    where ``kept`` saw the same object last copied from the JSON it was encoded in then (an object listed is never
    changed in place: a changed one is a new object); ``kept`` left with this one's. A body other than an object
    of text keys is encoded whole."""
    if not isinstance(body, dict) or not all(isinstance(key, str) for key in body):
        return encoded(body)
    last = memoryview(kept.json)
    parts: list[bytes | memoryview] = []
    lists: dict[str, tuple[tuple[Any, ...], array[int]]] = {}
    size = 0

    def add(part: bytes | memoryview) -> None:
        nonlocal size
        parts.append(part)
        size += len(part)

    for n, (key, value) in enumerate(body.items()):
        add((b"{" if n == 0 else b", ") + encoded(key) + b": ")
        if not (isinstance(value, list) and value and all(isinstance(member, dict) for member in value)):
            add(encoded(value))
            continue
        members, bounds = kept.lists.get(key, ((), array("q")))
        placed = array("q")
        for i, member in enumerate(value):
            add(b", " if i else b"[")
            placed.append(size)
            same = i < len(members) and members[i] is member
            add(last[bounds[2 * i] : bounds[2 * i + 1]] if same else encoded(member))
            placed.append(size)
        add(b"]")
        lists[key] = (tuple(value), placed)
    add(b"}" if parts else b"{}")
    made = b"".join(parts)
    kept.json, kept.lists = made, lists
    return made


class EncodedAnswer(dict[str, Any]):
    """An answer (a dict, for an export to read) whose JSON was made already, in part: ``head`` (a few keys of
    this request's own) encoded now, then the ``bulk`` keys, encoded once for every request that sends them
    (``services/gateway/readcache.py``): encoding a city's figures costs more than finding them kept."""

    def __init__(
        self, head: dict[str, Any], bulk: dict[str, Any], bulk_json: bytes, exports: dict[Any, Any] | None = None
    ) -> None:
        super().__init__({**head, **bulk})
        self.head = head
        self.bulk_json = bulk_json
        self.exports = exports
        """Downloads made of the bulk (CSV, XLSX), kept with it by whoever keeps it; None: made per request."""

    def json(self) -> bytes:
        """The whole answer's JSON: the head's keys, then the bulk's."""
        return b"".join(self.parts())

    def parts(self) -> list[bytes | memoryview]:
        """The whole answer's JSON in parts, the bulk's not copied (a city's agencies are megabytes, sent to every
        reader: a copy per request is as many megabytes more the process holds while it sends them)."""
        head = encoded(self.head)
        if self.bulk_json == b"{}":
            return [head]
        if not self.head:
            return [self.bulk_json]
        return [head[:-1] + b", ", memoryview(self.bulk_json)[1:]]


def json_response(body: Any, status: int = 200) -> Response:
    """A JSON HTTP response (a partly encoded answer sent in its parts, with their length)."""
    if not isinstance(body, EncodedAnswer):
        return Response(encoded(body), status=status, mimetype="application/json")
    parts = body.parts()
    response = Response(cast(list[bytes], parts), status=status, mimetype="application/json")  # any bytes-like is sent
    response.headers["Content-Length"] = str(sum(len(part) for part in parts))
    return response


def http_error_response(error: HTTPException) -> Response:
    """werkzeug's own refusal (an unknown URL, a method the URL does not take, a request it could not read) in the
    platform's error shape, ``{"error", "message", "fields"}`` as JSON with werkzeug's status (and its ``Allow``
    header for a 405), rather than werkzeug's HTML page."""
    status = error.code or 500
    name = (error.name or "error").lower().replace(" ", "_")
    response = json_response({"error": name, "message": str(error.description or error.name), "fields": {}}, status)
    for header, value in error.get_headers():
        if header.lower() == "allow":
            response.headers["Allow"] = value
    return response
