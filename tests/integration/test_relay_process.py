"""Production layout: service replicas without a relay, and the store's one relay as a process of its own."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from services.common.runtime.processes import free_port, port_open, wait_until
from tests.integration.running import start_services_with_broker


def test_the_relay_runs_alone_with_metrics_and_readiness_when_not_in_process(
    tmp_path: Path, private_amqp_uri: str
) -> None:
    running = start_services_with_broker(tmp_path, private_amqp_uri, RELAY_IN_PROCESS="false")
    try:
        _, service_metrics = running.get("office_space", "/metrics")
        assert "gov_outbox_backlog_events{" not in service_metrics  # the replica runs no relay
        assert "relay_not_in_process" in (tmp_path / "log" / "office_space.log").read_text()

        port = free_port()
        running.ports["office_space-relay"] = port
        argv = [sys.executable, "-m", "services.common.runtime.relay", "office_space", "--http-port", str(port)]
        running.group.spawn("office_space-relay", argv)
        wait_until(lambda: port_open("127.0.0.1", port), 30, "the relay's ops port")

        status, ready = running.get("office_space-relay", "/health/ready")
        assert status == 200 and ready["checks"] == {"database": "ok", "kafka": "ok"}
        assert running.get("office_space-relay", "/health/live")[0] == 200
        deadline = time.monotonic() + 10
        while "gov_outbox_backlog_events{" not in running.get("office_space-relay", "/metrics")[1]:
            assert time.monotonic() < deadline, "the relay reports no backlog"
            time.sleep(0.2)
        assert (
            'gov_outbox_backlog_events{service="office_space"} 0.0' in running.get("office_space-relay", "/metrics")[1]
        )
    finally:
        running.stop()
