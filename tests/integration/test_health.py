"""Liveness and readiness of real service processes: ready with everything up, 503 naming a dead broker."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

from tests.integration.running import RunningServices, start_services_with_broker


def _wait_for(running: RunningServices, service: str, path: str, status: int, timeout: float = 20) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        code, body = running.get(service, path)
        if code == status or time.monotonic() > deadline:
            assert code == status, body
            return body
        time.sleep(0.3)


def test_a_service_with_everything_up_is_live_and_ready(office_space_process: RunningServices) -> None:
    status, live = office_space_process.get("office_space", "/health/live")
    assert status == 200 and live == {"service": "office_space", "status": "alive"}

    status, ready = office_space_process.get("office_space", "/health/ready")
    assert status == 200
    assert ready == {
        "service": "office_space",
        "status": "ok",
        "checks": {"database": "ok", "rabbitmq": "ok", "kafka": "ok"},
    }
    assert office_space_process.get("office_space", "/health") == (200, ready)


def test_readiness_checks_are_reported_as_metrics(office_space_process: RunningServices) -> None:
    office_space_process.get("office_space", "/health/ready")
    status, text = office_space_process.get("office_space", "/metrics")
    assert status == 200
    for dependency in ("database", "rabbitmq", "kafka"):
        assert f'gov_dependency_up{{dependency="{dependency}",service="office_space"}} 1.0' in text
    assert 'gov_http_requests_total{method="GET",route="/health/ready",service="office_space",status="200"}' in text


def test_a_dead_broker_makes_the_service_unready_naming_kafka(tmp_path: Path, private_amqp_uri: str) -> None:
    running = start_services_with_broker(tmp_path, private_amqp_uri, HEALTH_CACHE_SECONDS="0.5")
    try:
        _wait_for(running, "office_space", "/health/ready", 200)
        assert running.tansu is not None
        os.kill(running.tansu.pid, signal.SIGKILL)

        body = _wait_for(running, "office_space", "/health/ready", 503)

        assert body["status"] == "failing"
        assert body["checks"]["database"] == "ok" and body["checks"]["rabbitmq"] == "ok"
        assert body["checks"]["kafka"].startswith("unreachable: ") and running.bootstrap in body["checks"]["kafka"]
        assert running.get("office_space", "/health")[0] == 503
        assert running.get("office_space", "/health/live")[0] == 200  # alive: a restart would not help
    finally:
        running.stop()


def test_services_started_before_their_broker_run_unready_and_do_their_work_once_it_is_up(
    tmp_path: Path, private_amqp_uri: str
) -> None:
    names = ("office_space", "gateway")
    running = start_services_with_broker(
        tmp_path, private_amqp_uri, names, broker_first=False, HEALTH_CACHE_SECONDS="0.5"
    )
    try:
        for name in names:
            body = _wait_for(running, name, "/health/ready", 503)
            assert body["checks"]["kafka"].startswith("unreachable: ") and body["checks"]["database"] == "ok"
        logs = {name: tmp_path / "log" / f"{name}.log" for name in names}
        waiting = {"office_space": "relay_waiting_for_kafka", "gateway": "district_inbound_round_failed"}
        deadline = time.monotonic() + 30
        while any(waiting[n] not in logs[n].read_text() for n in names):  # each has met no broker yet
            assert time.monotonic() < deadline, "a service never tried to reach Kafka"
            time.sleep(0.3)
        assert all(running.get(name, "/health/live")[0] == 200 for name in names)

        running.start_broker()

        for name in names:
            _wait_for(running, name, "/health/ready", 200, timeout=60)
        backlog = 'gov_outbox_backlog_events{service="office_space"} 0.0'  # the relay runs and has caught up
        deadline = time.monotonic() + 30
        while backlog not in running.get("office_space", "/metrics")[1]:
            assert time.monotonic() < deadline, "the relay did not start once Kafka was up"
            time.sleep(0.3)
        while "district_inbound_started" not in logs["gateway"].read_text():
            assert time.monotonic() < deadline, "the districts' consumer did not start once Kafka was up"
            time.sleep(0.3)
    finally:
        running.stop()
