"""A chunked body's lines are bounded, and werkzeug's own refusals of what a client sent are answered with their
4xx, never as the gateway's fault (500 ``internal_error``, logged as an unhandled error): a request it could not
read is the client's to correct."""

from __future__ import annotations

import io
import json

import pytest
from eventlet.wsgi import Input
from structlog.testing import capture_logs
from werkzeug.exceptions import ClientDisconnected, RequestEntityTooLarge
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from services.common.kernel.errors import BadRequest
from services.gateway.web import CHUNK_LINE_BYTES, _error_response, read_json


def test_werkzeugs_client_errors_keep_their_status() -> None:
    with capture_logs() as logs:
        cut = _error_response(ClientDisconnected())
        large = _error_response(RequestEntityTooLarge())
    assert (cut.status_code, json.loads(cut.get_data())["error"]) == (400, "bad_request")
    assert (large.status_code, json.loads(large.get_data())["error"]) == (413, "request_entity_too_large")
    assert not [entry for entry in logs if entry["event"] == "unhandled_error"]


def test_anything_else_is_still_the_gateways_fault() -> None:
    with capture_logs() as logs:
        broken = _error_response(KeyError("agency_id"))
    assert (broken.status_code, json.loads(broken.get_data())["error"]) == (500, "internal_error")
    assert [entry["event"] for entry in logs] == ["unhandled_error"]


def _chunked_request(body: bytes) -> tuple[Request, io.BytesIO]:
    """A request whose body comes chunked through eventlet's own input, as the gateway's server hands it over."""
    stream = io.BytesIO(body)
    environ = EnvironBuilder(
        method="POST",
        path="/api/v1/agencies",
        headers={"Transfer-Encoding": "chunked"},
        content_type="application/json",
    ).get_environ()
    environ.pop("CONTENT_LENGTH", None)
    environ["wsgi.input"] = Input(stream, None, None, chunked_input=True)
    return Request(environ), stream


def test_a_chunked_body_is_read_and_its_lines_are_bounded() -> None:
    request, _ = _chunked_request(b'9\r\n{"a": 12}\r\n0\r\n\r\n')
    assert read_json(request) == {"a": 12}
    # one chunk size line of 4 MiB (its "extension"): refused after reading at most CHUNK_LINE_BYTES of it
    request, stream = _chunked_request(b"2;" + b"x" * (4 << 20) + b"\r\n{}\r\n0\r\n\r\n")
    with pytest.raises(BadRequest):
        read_json(request)
    assert stream.tell() <= CHUNK_LINE_BYTES
