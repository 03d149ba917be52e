"""werkzeug's own refusals of what a client sent are answered with their 4xx, never as the gateway's fault (500
``internal_error``, logged as an unhandled error): a request it could not read is the client's to correct."""

from __future__ import annotations

import json

from structlog.testing import capture_logs
from werkzeug.exceptions import ClientDisconnected, RequestEntityTooLarge

from services.gateway.web import _error_response


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
