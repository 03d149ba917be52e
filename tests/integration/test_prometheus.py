"""A real Prometheus scrapes a running service with the repository's config and alert rules.

The scrape config is ``infra/prometheus/prometheus.yml`` with its targets pointed at the service this
test started (and a 1 s scrape interval); its rule file is the real ``alerts.yml``. Skipped only where
Prometheus is not installed outside CI; in CI (``CI=true``) a missing Prometheus fails the test.
"""

from __future__ import annotations

import json
import os
import shutil
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from services.common.runtime.processes import ProcessGroup, free_port, wait_until
from tests.integration.running import RunningServices
from tests.support import eventually

PROMETHEUS_DIR = Path(__file__).resolve().parents[2] / "infra" / "prometheus"


def _prometheus_binary() -> str:
    binary = shutil.which("prometheus")
    if binary is None:
        message = "the prometheus binary is not installed (apt-get install prometheus)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return binary


def _config(targets: dict[str, int]) -> dict[str, Any]:
    """The repository's scrape config, scraping ``targets`` every second and evaluating the real rules."""
    config: dict[str, Any] = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text())
    config["global"].update(scrape_interval="1s", scrape_timeout="1s", evaluation_interval="1s")
    config["rule_files"] = [str(PROMETHEUS_DIR / "alerts.yml")]
    config.pop("alerting", None)
    (job,) = config["scrape_configs"]
    job["static_configs"] = [
        {"targets": [f"127.0.0.1:{port}"], "labels": {"service": s}} for s, port in targets.items()
    ]
    return config


class Prometheus:
    """The HTTP API of a running Prometheus."""

    def __init__(self, port: int) -> None:
        self.base = f"http://127.0.0.1:{port}"

    def api(self, path: str, **params: str) -> Any:
        """The ``data`` of a successful API answer."""
        url = f"{self.base}{path}?{urllib.parse.urlencode(params)}"
        with urllib.request.urlopen(url, timeout=5) as response:
            body = json.loads(response.read())
        assert body["status"] == "success", body
        return body["data"]

    def query(self, expr: str) -> list[dict[str, Any]]:
        """The instant vector of ``expr``."""
        data = self.api("/api/v1/query", query=expr)
        assert data["resultType"] == "vector"
        return list(data["result"])

    def vector(self, expr: str, timeout: float = 30) -> list[dict[str, Any]]:
        """The vector of ``expr`` once it is not empty."""
        found: list[dict[str, Any]] = eventually(lambda: self.query(expr), bool, timeout, interval=0.5)
        assert found, f"no result for {expr} within {timeout} s"
        return found


def _ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/-/ready", timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory, office_space_process: RunningServices) -> Iterator[Prometheus]:
    """A Prometheus of this module's own, on a free port, scraping the office_space process."""
    binary = _prometheus_binary()
    base = tmp_path_factory.mktemp("prometheus")
    config_file = base / "prometheus.yml"
    config_file.write_text(yaml.safe_dump(_config(office_space_process.ports)))
    port = free_port()
    group = ProcessGroup(base, os.environ)
    argv = [
        binary,
        f"--config.file={config_file}",
        f"--storage.tsdb.path={base / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--log.level=warn",
    ]
    group.spawn("prometheus", argv)
    try:
        # the port opens before the query API answers (503 while the TSDB loads): wait for /-/ready
        wait_until(lambda: _ready(port), 60, f"Prometheus ready (see {group.log_dir / 'prometheus.log'})")
        yield Prometheus(port)
    finally:
        group.stop_all()


def test_prometheus_scrapes_the_service_and_answers_its_metrics(prometheus: Prometheus) -> None:
    (up,) = prometheus.vector('up{job="gov-platform", service="office_space"} == 1')
    assert up["value"][1] == "1"

    (running,) = prometheus.vector('gov_service_up{service="office_space"}')
    assert running["metric"]["job"] == "gov-platform" and running["value"][1] == "1"

    scrapes = prometheus.vector('gov_http_requests_total{service="office_space", route="/metrics"}')
    assert float(scrapes[0]["value"][1]) >= 1


def test_prometheus_loads_and_evaluates_every_alert_rule(prometheus: Prometheus) -> None:
    rules_file = yaml.safe_load((PROMETHEUS_DIR / "alerts.yml").read_text())
    expected = {rule["alert"] for group in rules_file["groups"] for rule in group["rules"]}

    def evaluated() -> bool:
        rules = [r for g in prometheus.api("/api/v1/rules")["groups"] for r in g["rules"]]
        return {r["name"] for r in rules} == expected and all(r["health"] == "ok" for r in rules)

    wait_until(evaluated, 30, "every alert rule evaluated", interval=0.5)
    firing = prometheus.query('ALERTS{alertstate="firing", service="office_space"}')
    assert firing == []  # a healthy service raises no alert
