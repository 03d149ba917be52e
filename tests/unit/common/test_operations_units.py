"""Operations plumbing without brokers: settings, cached readiness checks, the ops HTTP server, topics."""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from services.common.base.settings import load_settings, parse_partitions
from services.common.read import broker
from services.common.runtime.health import HealthChecks, database_check, kafka_check, serve_ops_http
from services.common.runtime.processes import ProcessGroup, free_port, wait_until


def test_partition_ranges_are_parsed() -> None:
    assert parse_partitions("0-2,7") == frozenset({0, 1, 2, 7})
    assert parse_partitions(" 4 ") == frozenset({4})
    assert parse_partitions("") is None
    with pytest.raises(ValueError):
        parse_partitions("5-3")


def test_production_settings_are_read_from_the_environment() -> None:
    config = load_settings(
        {
            "TOPIC_REPLICATION": "3",
            "RELAY_IN_PROCESS": "false",
            "PROJECTORS_IN_PROCESS": "no",
            "PROJECTOR_PARTITIONS": "6-11",
            "HEALTH_CACHE_SECONDS": "5",
        }
    )
    assert config.topic_replication == 3 and config.topic_min_insync_replicas == 2
    assert config.relay_in_process is False and config.projectors_in_process is False
    assert config.projector_partitions == frozenset(range(6, 12)) and config.health_cache_seconds == 5
    local = load_settings({})
    assert (local.topic_replication, local.topic_min_insync_replicas) == (1, 1)
    assert local.relay_in_process and local.projectors_in_process and local.projector_partitions is None
    with pytest.raises(ValueError):
        load_settings({"RELAY_IN_PROCESS": "maybe"})


def test_a_readiness_check_is_reused_for_its_cache_time() -> None:
    calls: list[str] = []
    now = [100.0]

    def kafka() -> str:
        calls.append("kafka")
        return "ok" if len(calls) == 1 else "unreachable: gone"

    checks = HealthChecks("energy", {"kafka": kafka}, cache_seconds=2.0, clock=lambda: now[0])
    assert checks.ready().ready
    now[0] += 1.5
    assert checks.ready().ready and calls == ["kafka"]  # cached: the broker is not asked again
    now[0] += 1.0
    report = checks.ready()
    assert report.status_code == 503 and report.body() == {
        "service": "energy",
        "status": "failing",
        "checks": {"kafka": "unreachable: gone"},
    }


def test_checks_name_what_failed() -> None:
    assert database_check(sa.create_engine("sqlite://")) == "ok"
    broken = database_check(sa.create_engine("sqlite:////nonexistent/dir/x.db"))
    assert broken.startswith("failing: OperationalError")
    assert kafka_check(f"127.0.0.1:{free_port()}", 0.5).startswith("unreachable: 127.0.0.1:")


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_the_standalone_ops_server_answers_metrics_liveness_and_readiness() -> None:
    port = free_port()
    checks = HealthChecks("energy-relay", {"database": lambda: "ok", "kafka": lambda: "unreachable: x"})
    server = serve_ops_http("127.0.0.1", port, checks)
    try:
        base = f"http://127.0.0.1:{port}"
        assert _get(f"{base}/health/live") == (200, b'{"service": "energy-relay", "status": "alive"}')
        status, body = _get(f"{base}/health/ready")
        assert status == 503 and json.loads(body)["checks"] == {"database": "ok", "kafka": "unreachable: x"}
        assert _get(f"{base}/health")[0] == 503
        status, metrics = _get(f"{base}/metrics")
        assert status == 200 and b'gov_dependency_up{dependency="kafka",service="energy-relay"} 0.0' in metrics
        assert _get(f"{base}/nothing")[0] == 404
    finally:
        server.shutdown()


def test_replicated_topics_are_created_with_min_insync_replicas(monkeypatch: pytest.MonkeyPatch) -> None:
    created: list[Any] = []

    class FakeAdmin:
        def __init__(self, **_: Any) -> None:
            pass

        def list_topics(self) -> list[str]:
            return ["energy.events"]

        def create_topics(self, topics: list[Any]) -> None:
            created.extend(topics)

        def describe_topics(self, topics: list[str]) -> list[dict[str, Any]]:
            return [{"name": t, "topic_id": f"id-{t}", "error_code": 0, "partitions": [{}, {}, {}]} for t in topics]

        def close(self) -> None:
            pass

    monkeypatch.setattr(broker, "KafkaAdminClient", FakeAdmin)
    broker.ensure_topics("k:9092", ["energy.events", "energy.events.dlq"], 12, replication=3, min_insync_replicas=2)
    logs = broker.ensure_topics("k:9092", ["local.events"], 3, replication=1)
    replicated, local = created
    assert logs == {"local.events": broker.TopicLog("local.events", "id-local.events", 3)}  # each topic as it is now
    assert (replicated.name, replicated.num_partitions, replicated.replication_factor) == ("energy.events.dlq", 12, 3)
    assert replicated.topic_configs == {"min.insync.replicas": "2"}
    assert local.replication_factor == 1 and not local.topic_configs


def test_a_group_stops_its_processes_at_once_and_its_broker_after_them(tmp_path: Path) -> None:
    group = ProcessGroup(tmp_path, dict(os.environ))
    # a process that ignores SIGTERM: its stop lasts until the SIGKILL a second later, as a slow graceful stop
    stubborn = [
        sys.executable,
        "-c",
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)",
    ]
    for name in ("gateway", "office_space", "energy", "tansu"):
        group.spawn(name, stubborn)
    wait_until(lambda: all(group.running(n) for n in ("gateway", "office_space", "energy", "tansu")), 10, "started")
    spans: dict[str, tuple[float, float]] = {}
    stop = group.stop

    def recorded_stop(name: str, timeout: float = 15.0) -> bool:
        began = time.monotonic()
        stopped = stop(name, timeout=1.0)
        spans[name] = (began, time.monotonic())
        return stopped

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(group, "stop", recorded_stop)
        assert group.stop_all(["gateway", "office_space"]) == ["gateway", "office_space", "energy", "tansu"]
    services = [spans[n] for n in ("gateway", "office_space", "energy")]
    assert max(began for began, _ in services) < min(ended for _, ended in services)  # all stopping together
    assert spans["tansu"][0] >= max(ended for _, ended in services)  # the broker after every service
    assert not any(group.running(n) for n in ("gateway", "office_space", "energy", "tansu"))


@pytest.mark.parametrize(("configured", "expected"), [("0.2", 1.0), ("3", 3.0)])
def test_a_relay_run_by_its_service_looks_on_its_own_at_most_once_a_second(
    configured: str, expected: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Woken by each of its service's commits, an in-process relay needs no 0.2 s polling (each round wakes the
    process); a longer ``RELAY_IDLE_SECONDS`` stays as configured."""
    from services.common.runtime import dependencies

    runs: list[tuple[float, float]] = []

    class Relay:
        def run(self, stop: Any, idle_seconds: float, linger_seconds: float) -> None:
            runs.append((idle_seconds, linger_seconds))

    config = load_settings({"RELAY_IDLE_SECONDS": configured})
    monkeypatch.setattr(dependencies, "settings", lambda: config)
    monkeypatch.setattr(dependencies, "store_of", lambda container: None)
    monkeypatch.setattr(dependencies, "connect_relay", lambda store, topic, stop: Relay())
    runner = object.__new__(dependencies.OutboxRelayRunner)
    runner.container = type("Container", (), {"service_name": "office_space"})()
    runner.setup()
    runner._run()
    assert runs == [(expected, config.relay_linger_seconds)]
