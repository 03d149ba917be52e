"""``/api/v1/projections`` asks every service's store at once (``GatewayService._projections_now``): a frozen service costs
one RPC timeout for the whole answer, not one per service; a service that does not answer is reported unavailable
while the others still are; the store the data center is behind is asked for its oldest unapplied event."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import eventlet
import pytest
from nameko.exceptions import UnknownService

from services.common.base.settings import SERVICES
from services.gateway import service as gateway_service
from services.gateway import web

NOW = datetime(2026, 12, 7, 8, 0, 0, tzinfo=UTC)


TRACE: list[str] = []
"""What the fake services saw, in order: ``sent <service>`` and ``awaited <service>``."""


class Reply:
    def __init__(self, service: str, answer: Any, frozen: bool) -> None:
        self.service, self.answer, self.frozen = service, answer, frozen

    def result(self) -> Any:
        TRACE.append(f"awaited {self.service}")
        while self.frozen:
            eventlet.sleep(0.01)
        return self.answer


class Method:
    """One RPC method of a service: answers ``answer`` at once, or never (``frozen``), or is unknown to RabbitMQ."""

    def __init__(self, service: str, answer: Any, frozen: bool = False, unknown: bool = False) -> None:
        self.service_name, self.answer, self.frozen, self.unknown = service, answer, frozen, unknown
        self.asked: list[Any] = []

    def call_async(self, payload: Any) -> Reply:
        if self.unknown:
            raise UnknownService(self.service_name)
        self.asked.append(payload)
        TRACE.append(f"sent {self.service_name}")
        return Reply(self.service_name, self.answer, self.frozen)


def head(last_event_at: str | None) -> dict[str, Any]:
    return {"last_event_at": last_event_at, "last_position": 7, "relay_position": 5}


@pytest.fixture(autouse=True)
def quick(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(web, "settings", lambda: SimpleNamespace(rpc_timeout=0.3))
    monkeypatch.setattr(web, "_quiet", web._Quiet())
    monkeypatch.setattr(gateway_service, "utc_now", lambda: NOW)


def test_every_store_is_asked_at_once_and_a_silent_one_is_reported_unavailable() -> None:
    applied = "2026-12-07T07:59:00+08:00"
    services: dict[str, Any] = {}
    for name in SERVICES:
        services[name] = SimpleNamespace(store_head=Method(name, head(applied)), first_recorded_after=Method(name, {}))
    # office space: its store holds events the data center has not applied, the oldest recorded at 15:58:30
    # (Beijing time); vehicles frozen; procurement unknown to RabbitMQ (not running)
    services["office_space"].store_head = Method("office_space", head("2026-12-07T15:59:50+08:00"))
    services["office_space"].first_recorded_after = Method("office_space", {applied: "2026-12-07T15:58:30+08:00"})
    services["vehicles"].store_head = Method("vehicles", head(applied), frozen=True)
    services["procurement"].store_head = Method("procurement", head(applied), unknown=True)
    status = {"topics_last_event_at": {f"{name}.events": applied for name in SERVICES}, "positions": {}}
    gateway = SimpleNamespace(datacenter=SimpleNamespace(status=lambda: status), **services)

    TRACE.clear()
    answer = gateway_service.GatewayService._projections_now(gateway)

    # every store asked before any answer is waited for: a frozen one costs one RPC timeout for the whole answer
    heads = TRACE[: next(i for i, seen in enumerate(TRACE) if seen.startswith("awaited"))]
    assert sorted(heads) == sorted(f"sent {name}" for name in SERVICES if name != "procurement")
    stores = answer["stores"]
    assert stores["vehicles"] == {"available": False, "lag_seconds": None, "unpublished_events": None}
    assert stores["procurement"]["available"] is False
    # 08:00:00 UTC is 16:00:00 Beijing time: the oldest unapplied event, 15:58:30, is 90 s old
    assert stores["office_space"]["lag_seconds"] == 90.0
    assert services["office_space"].first_recorded_after.asked == [{"moments": [applied]}]
    assert stores["assets"] == {
        "available": True,
        "store_last_event_at": applied,
        "projected_last_event_at": applied,
        "lag_seconds": 0.0,
        "unpublished_events": 2,  # 7 recorded, 5 published
    }
    assert services["assets"].first_recorded_after.asked == []  # not behind: not asked

    TRACE.clear()
    again = gateway_service.GatewayService._projections_now(gateway)
    assert "sent vehicles" not in TRACE  # silent since: not asked again (the freshness timer asks it)
    assert again["stores"]["vehicles"]["available"] is False and again["stores"]["assets"]["available"] is True
