"""RabbitMQ gone while the gateway sends a request: nameko's publisher tries to connect again, then raises kombu's
``OperationalError`` (or a socket's error). That is a passing failure, answered 503 ``service_unavailable`` asking
for the same key again (``web._sent``), not the gateway's 500; a district's message failing so stays to be tried
again instead of going to the rejected topic. CI's RabbitMQ restart under load found the 500s."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from kombu.exceptions import OperationalError

from services.common.kernel.errors import ServiceUnavailable
from services.common.read.inbound import as_rejection
from services.gateway import web

GONE = [
    OperationalError("[Errno 111] ECONNREFUSED"),
    ConnectionResetError(104, "Connection reset by peer"),
    BrokenPipeError(32, "Broken pipe"),
]


class Unreachable:
    """A proxy method whose publisher cannot reach RabbitMQ (``gone``), or can again once ``gone`` is None."""

    service_name = "office_space"
    method_name = "register_agency"

    def __init__(self, gone: Exception | None) -> None:
        self.gone = gone
        self.sent = 0

    def call_async(self, payload: Any) -> Any:
        if self.gone is not None:
            raise self.gone
        self.sent += 1
        return SimpleNamespace(result=lambda: {"agency_id": "A1"})


@pytest.fixture(autouse=True)
def quiet(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(web, "settings", lambda: SimpleNamespace(rpc_timeout=0.2))
    monkeypatch.setattr(web, "_quiet", web._Quiet())


@pytest.mark.parametrize("gone", GONE, ids=lambda e: type(e).__name__)
def test_a_request_rabbitmq_did_not_take_is_503_to_be_asked_again(gone: Exception) -> None:
    method = Unreachable(gone)
    with pytest.raises(ServiceUnavailable, match="RabbitMQ could not be reached") as refused:
        web.call(method, {"agency_id": "A1"})
    assert refused.value.http_status == 503
    assert web._error_response(refused.value).status_code == 503
    assert as_rejection(refused.value) is refused.value  # a district's message: deferred, not rejected
    method.gone = None  # RabbitMQ back: the service is not held silent for it, the next call goes through
    assert web.call(method, {"agency_id": "A1"}) == {"agency_id": "A1"}
    assert method.sent == 1


def test_the_freshness_timer_hears_rabbitmq_gone_as_that_service_s_answer() -> None:
    answers = web.call_each({"office": (Unreachable(GONE[0]), {}), "ok": (Unreachable(None), {})})
    assert isinstance(answers["office"], ServiceUnavailable)
    assert answers["ok"] == {"agency_id": "A1"}
