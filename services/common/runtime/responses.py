"""JSON answers over HTTP: a body encoded once (``encoded``), an answer partly encoded ahead (``EncodedAnswer``,
kept by ``services/gateway/readcache.py``) and the response sending either (``json_response``). Used by the
gateway's routes and by every service's ``/health``."""

from __future__ import annotations

import json
from typing import Any, cast

from werkzeug.wrappers import Response


def encoded(body: Any) -> bytes:
    """``body`` as the JSON an answer sends."""
    return json.dumps(body, ensure_ascii=False, default=str).encode()


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
