"""A frozen service cannot take every worker of the gateway: once a call to it was not answered in time, one call
at a time tries it and the others are refused at once (503, nothing sent); its next answer ends that
(``services.gateway.web._Quiet``). Before, each call to a frozen service held a worker for the RPC timeout and
the outcome inquiry (13 s), and a few a second took all 64, stalling every other request."""

from __future__ import annotations

import time
from types import SimpleNamespace
from typing import Any

import eventlet
import pytest

from services.common.kernel.errors import ServiceUnavailable
from services.gateway import web


class Reply:
    def __init__(self, service: Service) -> None:
        self.service = service

    def result(self) -> Any:
        while self.service.frozen:
            eventlet.sleep(0.01)
        return {"ok": True}


class Service:
    """The proxy method of a service that answers at once unless frozen."""

    service_name = "vehicles"
    method_name = "get_vehicle"

    def __init__(self) -> None:
        self.frozen = False
        self.sent = 0

    def call_async(self, payload: Any) -> Reply:
        self.sent += 1
        return Reply(self)


@pytest.fixture
def service(monkeypatch: pytest.MonkeyPatch) -> Service:
    monkeypatch.setattr(web, "settings", lambda: SimpleNamespace(rpc_timeout=0.2))
    monkeypatch.setattr(web, "_quiet", web._Quiet())
    return Service()


def test_a_frozen_service_is_tried_by_one_call_at_a_time_and_answers_again_when_it_wakes(service: Service) -> None:
    assert web.call(service, {}) == {"ok": True}
    service.frozen = True
    with pytest.raises(ServiceUnavailable):  # the RPC timeout: 503
        web.call(service, {})
    assert service.sent == 2
    trying = eventlet.spawn(web.call, service, {})  # this one tries it: sent, and waits its timeout
    eventlet.sleep(0.05)
    assert service.sent == 3
    started = time.monotonic()
    for _ in range(50):  # every other call meanwhile: refused at once, nothing sent
        with pytest.raises(ServiceUnavailable, match="did not answer lately"):
            web.call(service, {})
    assert time.monotonic() - started < 0.1 and service.sent == 3
    with pytest.raises(ServiceUnavailable):
        trying.wait()
    service.frozen = False  # it wakes up: the next call tries it, and its answer ends the matter
    assert web.call(service, {}) == {"ok": True}
    assert [web.call(service, {}) for _ in range(3)] == [{"ok": True}] * 3
    assert service.sent == 7


def test_an_error_the_service_sends_is_an_answer(service: Service, monkeypatch: pytest.MonkeyPatch) -> None:
    service.frozen = True
    with pytest.raises(ServiceUnavailable):
        web.call(service, {})
    service.frozen = False
    failing = Reply(service)
    monkeypatch.setattr(failing, "result", lambda: (_ for _ in ()).throw(KeyError("vehicle_id")))
    monkeypatch.setattr(service, "call_async", lambda payload: failing)
    with pytest.raises(KeyError):
        web.call(service, {})
    with pytest.raises(KeyError):  # tried again at once, not refused: it answered (with an error)
        web.call(service, {})


def test_a_timers_calls_never_take_the_place_of_the_call_that_tries_a_silent_service(service: Service) -> None:
    """The freshness measure asks every service every 15 s (``call_each``): it asks a silent one too, but a
    request's call made meanwhile is not refused because of it (it tries the service itself), and what the timer
    hears ends the silence."""
    service.frozen = True
    with pytest.raises(ServiceUnavailable):
        web.call(service, {})  # silent now
    timer = eventlet.spawn(web.call_each, {"vehicles": (service, {})})
    eventlet.sleep(0.05)  # the timer's call is on its way, waiting for its answer
    request = eventlet.spawn(web.call, service, {})  # a request's call is sent, not refused
    eventlet.sleep(0.05)
    assert service.sent == 3
    service.frozen = False
    assert request.wait() == {"ok": True}
    assert timer.wait() == {"vehicles": {"ok": True}}
    service.frozen = True
    assert isinstance(web.call_each({"vehicles": (service, {})})["vehicles"], ServiceUnavailable)  # silent again
    service.frozen = False
    assert web.call_each({"vehicles": (service, {})}) == {"vehicles": {"ok": True}}  # heard: no longer silent
    assert web.call(service, {}) == {"ok": True}


def test_a_requests_calls_at_once_ask_no_silent_service_until_something_hears_it_again(service: Service) -> None:
    """``/api/v1/projections`` asks every store at once (``call_each(skip_silent=True)``): a service whose last call
    was not answered in time is not asked (503 at once, nothing sent), so a frozen service holds the answer for
    one RPC timeout once, not every time; the freshness timer's calls, or a single call, hear it again."""
    assert web.call_each({"vehicles": (service, {})}, skip_silent=True) == {"vehicles": {"ok": True}}
    service.frozen = True
    assert isinstance(web.call_each({"vehicles": (service, {})}, skip_silent=True)["vehicles"], ServiceUnavailable)
    assert service.sent == 2  # this one was sent and not answered in time: silent now
    for _ in range(3):
        refused = web.call_each({"vehicles": (service, {})}, skip_silent=True)["vehicles"]
        assert isinstance(refused, ServiceUnavailable) and "did not answer lately" in str(refused)
    assert service.sent == 2  # not asked again
    service.frozen = False
    assert web.call_each({"vehicles": (service, {})}) == {"vehicles": {"ok": True}}  # the timer hears it
    assert web.call_each({"vehicles": (service, {})}, skip_silent=True) == {"vehicles": {"ok": True}}
    assert service.sent == 4
