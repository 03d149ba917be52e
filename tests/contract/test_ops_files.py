"""The operations files hold together: dashboards Grafana can import, alert rules with tests, manifests.

- Grafana dashboards: the structure Grafana needs (uid, title, panels with gridPos and targets, a
  datasource variable), and every metric an expression names is one ``services/common/base/metrics.py``
  defines (or a Prometheus built-in); the same for the alert rules.
- promtool tests: every alert rule has a case where it fires and one where it does not.
- Kubernetes manifests: every file parses; probes, resources, one relay per store, Kafka replication,
  and every setting of ``services/common/base/settings.py`` is documented in ``infra/deploy/README.md``.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.metrics import MetricWrapperBase

from services.common.base import metrics, settings
from services.common.base.settings import SERVICE_PORTS, SERVICES
from services.common.runtime.processes import SUPERVISOR_METRICS_PORT

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
DASHBOARDS = sorted((INFRA / "grafana" / "dashboards").glob("*.json"))
MANIFESTS = sorted(p for p in (INFRA / "deploy" / "k8s").glob("*.yaml") if p.name != "kustomization.yaml")

BUILTIN_SERIES = {"up", "ALERTS", "ALERTS_FOR_STATE", "scrape_duration_seconds", "scrape_samples_scraped"}
PROMQL_WORDS = {
    # aggregations, functions and keywords that look like names in an expression
    *[
        "sum",
        "min",
        "max",
        "avg",
        "count",
        "stddev",
        "stdvar",
        "topk",
        "bottomk",
        "quantile",
        "count_values",
        "group",
        "by",
        "without",
        "on",
        "ignoring",
    ],
    *[
        "group_left",
        "group_right",
        "and",
        "or",
        "unless",
        "bool",
        "offset",
        "rate",
        "irate",
        "increase",
        "delta",
        "idelta",
        "deriv",
        "predict_linear",
    ],
    *[
        "histogram_quantile",
        "abs",
        "ceil",
        "floor",
        "round",
        "clamp_min",
        "clamp_max",
        "sort",
        "sort_desc",
        "label_replace",
        "label_join",
    ],
    *[
        "vector",
        "scalar",
        "time",
        "timestamp",
        "absent",
        "absent_over_time",
        "avg_over_time",
        "max_over_time",
        "min_over_time",
    ],
    *["sum_over_time", "count_over_time", "last_over_time", "changes", "resets", "le", "inf", "nan"],
}


def _defined_series() -> set[str]:
    """The series names the platform's metrics expose (counters as _total, histograms as _bucket ...)."""
    names: set[str] = set()
    for value in vars(metrics).values():
        if not isinstance(value, MetricWrapperBase):
            continue
        for family in value.describe():
            if family.type == "counter":
                names |= {f"{family.name}_total", f"{family.name}_created"}
            elif family.type == "histogram":
                names |= {f"{family.name}{suffix}" for suffix in ("_bucket", "_sum", "_count", "_created")}
            else:
                names.add(family.name)
    return names


def metric_names(expr: str) -> set[str]:
    """The series names an expression reads."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', "", expr)  # string literals
    text = re.sub(r"\{[^}]*\}", "", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", "", text)  # range selectors
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", text)
    text = re.sub(r"\$\{?\w+\}?", "", text)  # Grafana variables
    tokens = set(re.findall(r"(?<![\w.])[A-Za-z_:][A-Za-z0-9_:]*", text))
    return {t for t in tokens if t not in PROMQL_WORDS}


def test_metric_names_are_found_in_expressions() -> None:
    expr = 'histogram_quantile(0.95, sum by (le, service) (rate(gov_x_bucket{a="b"}[5m]))) / up or ALERTS'
    assert metric_names(expr) == {"gov_x_bucket", "up", "ALERTS"}


def test_the_anomaly_backlog_gauge_is_defined_for_domain_services() -> None:
    assert "gov_open_anomalies" in _defined_series()
    assert metrics.OPEN_ANOMALIES.labels("energy", "consumption_over_quota") is not None


# -- Grafana ------------------------------------------------------------------------------------------


def _panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for panel in dashboard["panels"]:
        found.append(panel)
        found.extend(panel.get("panels", []))
    return found


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_dashboard_has_what_grafana_needs_to_import_it(path: Path) -> None:
    dashboard = json.loads(path.read_text(encoding="utf-8"))
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,40}", dashboard["uid"])
    assert dashboard["title"] and isinstance(dashboard["schemaVersion"], int)
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"
    panels = _panels(dashboard)
    assert len({p["id"] for p in panels}) == len(panels), "panel ids are unique"
    graphs = [p for p in panels if p["type"] != "row"]
    assert len(graphs) >= 6
    for panel in panels:
        grid = panel["gridPos"]
        assert {"h", "w", "x", "y"} <= grid.keys() and grid["x"] + grid["w"] <= 24, panel["title"]
    for panel in graphs:
        assert panel["title"] and panel["datasource"]["uid"] == "${datasource}", panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["refId"] and target["expr"].strip(), panel["title"]


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_dashboard_reads_only_metrics_the_platform_exposes(path: Path) -> None:
    dashboard = json.loads(path.read_text(encoding="utf-8"))
    exprs = [t["expr"] for p in _panels(dashboard) for t in p.get("targets", [])]
    exprs += [a["expr"] for a in dashboard.get("annotations", {}).get("list", []) if "expr" in a]
    known = _defined_series() | BUILTIN_SERIES
    unknown = {name: expr for expr in exprs for name in metric_names(expr) if name not in known}
    assert not unknown, unknown


def test_dashboards_have_distinct_uids_and_are_provisioned() -> None:
    uids = [json.loads(p.read_text(encoding="utf-8"))["uid"] for p in DASHBOARDS]
    assert {p.name for p in DASHBOARDS} == {"platform-health.json", "domain-kpis.json"}
    assert len(set(uids)) == len(uids)
    provisioning = INFRA / "grafana" / "provisioning"
    datasources = yaml.safe_load((provisioning / "datasources" / "prometheus.yml").read_text())
    assert [d["type"] for d in datasources["datasources"]] == ["prometheus"]
    providers = yaml.safe_load((provisioning / "dashboards" / "gov-affairs.yml").read_text())
    assert providers["providers"][0]["type"] == "file" and providers["providers"][0]["options"]["path"]


# -- Prometheus -----------------------------------------------------------------------------------------


def _alert_rules() -> list[dict[str, Any]]:
    document = yaml.safe_load((INFRA / "prometheus" / "alerts.yml").read_text())
    return [rule for group in document["groups"] for rule in group["rules"]]


def test_alert_rules_read_only_metrics_the_platform_exposes() -> None:
    known = _defined_series() | BUILTIN_SERIES
    unknown = {r["alert"]: metric_names(r["expr"]) - known for r in _alert_rules() if metric_names(r["expr"]) - known}
    assert not unknown, unknown


def test_every_alert_rule_has_a_test_that_fires_and_one_that_does_not() -> None:
    cases: dict[str, set[bool]] = defaultdict(set)
    for path in sorted((INFRA / "prometheus" / "tests").glob("*.yml")):
        for test in yaml.safe_load(path.read_text())["tests"]:
            for check in test.get("alert_rule_test", []):
                cases[check["alertname"]].add(bool(check.get("exp_alerts")))
    for rule in _alert_rules():
        assert cases[rule["alert"]] == {True, False}, f"{rule['alert']} needs a firing and a quiet test case"


def test_the_alert_rules_cover_what_ops_watch() -> None:
    watched = " ".join(r["expr"] for r in _alert_rules())
    for series in (
        "gov_outbox_oldest_unpublished_age_seconds",
        "gov_projector_lag_events",
        "gov_projector_lag_seconds",
        "gov_store_projection_lag_seconds",
        "gov_store_head_up",
        "gov_dead_lettered_total",
        "gov_commands_total",
        "gov_http_requests_total",
        "up{",
        "gov_service_up",
        "gov_open_anomalies",
    ):
        assert series in watched, series


def test_the_local_scrape_config_covers_every_service_and_the_gateway() -> None:
    config = yaml.safe_load((INFRA / "prometheus" / "prometheus.yml").read_text())
    (job,) = config["scrape_configs"]
    targets = {c["labels"]["service"]: c["targets"] for c in job["static_configs"]}
    expected = {name: [f"127.0.0.1:{port}"] for name, port in SERVICE_PORTS.items()}
    assert targets == expected | {"supervisor": [f"127.0.0.1:{SUPERVISOR_METRICS_PORT}"]}  # make run's supervisor
    assert job["honor_labels"] is True and config["rule_files"] == ["alerts.yml"]


# -- Kubernetes -----------------------------------------------------------------------------------------


def _documents() -> list[dict[str, Any]]:
    docs = []
    for path in MANIFESTS:
        docs.extend(d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d)
    return docs


def _containers(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return list(doc["spec"]["template"]["spec"]["containers"])


def _by_name(kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in _documents() if d["kind"] == kind}


def test_every_manifest_parses_into_kubernetes_objects() -> None:
    assert {p.name for p in MANIFESTS} >= {"10-config.yaml", "30-kafka.yaml", "40-rabbitmq.yaml", "50-services.yaml"}
    for doc in _documents():
        assert doc["apiVersion"] and doc["kind"] and doc["metadata"]["name"], doc
    listed = yaml.safe_load((INFRA / "deploy" / "k8s" / "kustomization.yaml").read_text())["resources"]
    assert set(listed) == {p.name for p in MANIFESTS} - {"secrets.example.yaml"}  # the template is never applied


def test_every_platform_container_has_probes_and_resources() -> None:
    workloads = [d for d in _documents() if d["kind"] in ("Deployment", "StatefulSet")]
    for doc in workloads:
        for container in _containers(doc):
            name = f"{doc['metadata']['name']}/{container['name']}"
            assert container["resources"]["requests"] and container["resources"]["limits"], name
            assert "readinessProbe" in container and "livenessProbe" in container, name
            if container["image"].startswith("registry.example.gov/gov-affairs/"):
                assert container["livenessProbe"]["httpGet"]["path"] == "/health/live", name
                assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready", name


def test_the_probes_ask_the_port_each_process_serves_its_health_on() -> None:
    """The orchestrator catches what the local supervisor catches only if its probes reach the process: a container
    that exits is restarted by the kubelet (``restartPolicy: Always``), a hung one by the liveness probe on the
    port the process serves ``/health/live`` on, and one whose dependencies fail leaves the Service by readiness.
    A probe on another port than the process listens on restarts a healthy process for ever, or never a hung one.
    """
    checked = set()
    for doc in _documents():
        if doc["kind"] not in ("Deployment", "StatefulSet"):
            continue
        assert doc["spec"]["template"]["spec"].get("restartPolicy", "Always") == "Always", doc["metadata"]["name"]
        for container in _containers(doc):
            if not container["image"].startswith("registry.example.gov/gov-affairs/"):
                continue
            name = f"{doc['metadata']['name']}/{container['name']}"
            args = container["args"]
            env = {e["name"]: e.get("value") for e in container.get("env", [])}
            process, service = args[2], args[3]
            if process == "services.common.runtime.relay":  # serves its health only when told a port
                assert "--http-port" in args, name
                serves = int(args[args.index("--http-port") + 1])
            else:
                assert process == "services.common.runtime.runner", name
                serves = int(env.get(f"PORT_{service.upper()}") or SERVICE_PORTS[service])
            ports = {p["name"]: p["containerPort"] for p in container["ports"]}
            for probe, path in (("startupProbe", "/health/live"), ("livenessProbe", "/health/live")):
                get = container[probe]["httpGet"]
                assert get["path"] == path, name
                assert ports.get(get["port"], get["port"]) == serves, f"{name}: {probe} asks another port"
            ready = container["readinessProbe"]["httpGet"]
            assert ready["path"] == "/health/ready" and ports.get(ready["port"], ready["port"]) == serves, name
            checked.add((process.rsplit(".", 1)[1], service, env.get("PROJECTORS_IN_PROCESS")))
    # every kind of process the local supervisor restarts runs here too: each service's API (relay and projector
    # out of process), its relay and its projector; the gateway and its projector
    for service in SERVICES:
        assert {("runner", service, "false"), ("relay", service, None), ("runner", service, "true")} <= checked
    assert {("runner", "gateway", "false"), ("runner", "gateway", "true")} <= checked


def test_services_scale_out_while_each_store_has_exactly_one_relay() -> None:
    deployments, statefulsets = _by_name("Deployment"), _by_name("StatefulSet")
    for service in SERVICES:
        name = service.replace("_", "-")
        api = deployments[name]
        assert api["spec"]["replicas"] >= 2
        env = {e["name"]: e.get("value") for e in _containers(api)[0]["env"]}
        assert env["RELAY_IN_PROCESS"] == "false" and env["PROJECTORS_IN_PROCESS"] == "false"
        relay = statefulsets[f"{name}-relay"]
        assert relay["spec"]["replicas"] == 1
        assert _containers(relay)[0]["args"][:4] == ["python", "-m", "services.common.runtime.relay", service]
        projector = {e["name"]: e.get("value") for e in _containers(statefulsets[f"{name}-projector"])[0]["env"]}
        assert projector["PROJECTORS_IN_PROCESS"] == "true" and projector["RELAY_IN_PROCESS"] == "false"
    assert (
        deployments["gateway"]["spec"]["replicas"] >= 2 and statefulsets["gateway-projector"]["spec"]["replicas"] == 1
    )


def test_each_store_has_its_own_postgresql_and_url_from_a_secret() -> None:
    statefulsets = _by_name("StatefulSet")
    secrets = yaml.safe_load_all((INFRA / "deploy" / "k8s" / "secrets.example.yaml").read_text())
    platform_secret = next(s for s in secrets if s["metadata"]["name"] == "gov-platform-secrets")
    for store in (*SERVICES, "gateway"):
        assert f"postgres-{store.replace('_', '-')}" in statefulsets
        url = platform_secret["stringData"][f"DATABASE_URL_{store.upper()}"]
        assert url.startswith("postgresql+psycopg://") and f"postgres-{store.replace('_', '-')}" in url
        assert "CHANGE_ME" in url  # a template, never a real password
    for doc in _documents():
        if doc["kind"] in ("Deployment", "StatefulSet") and doc["metadata"]["name"].split("-")[0] != "postgres":
            for container in _containers(doc):
                refs = [e["secretRef"]["name"] for e in container.get("envFrom", []) if "secretRef" in e]
                if container["image"].startswith("registry.example.gov/gov-affairs/"):
                    assert refs == ["gov-platform-secrets"]


def test_the_processes_that_seal_or_reveal_get_the_key_store_and_master_key_from_their_own_secret() -> None:
    """Every service's and the gateway's runner (API and projector pods: both run the service, so both may append
    a sealed event or answer with a decrypted one) reads ``PERSONAL_DATA_MASTER_KEY`` and ``DATABASE_URL_KEYS``
    from the Secret ``personal-data-keys``; a relay (it publishes stored, already sealed events) gets neither;
    the key store is a PostgreSQL of its own. Without them a pod would run on the development master key and a
    SQLite key store in its own container (docs/personal-data.md)."""
    wanted = {"PERSONAL_DATA_MASTER_KEY": "master-key", "DATABASE_URL_KEYS": "database-url"}
    runners, relays = set(), set()
    for doc in _documents():
        if doc["kind"] not in ("Deployment", "StatefulSet"):
            continue
        for container in _containers(doc):
            if not container["image"].startswith("registry.example.gov/gov-affairs/"):
                continue
            process, service = container["args"][2], container["args"][3]
            refs = {
                e["name"]: (e["valueFrom"]["secretKeyRef"]["name"], e["valueFrom"]["secretKeyRef"]["key"])
                for e in container.get("env", [])
                if "secretKeyRef" in e.get("valueFrom", {})
            }
            if process == "services.common.runtime.runner":
                assert {n: refs.get(n) for n in wanted} == {n: ("personal-data-keys", k) for n, k in wanted.items()}
                runners.add((doc["metadata"]["name"], service))
            else:
                assert not set(wanted) & set(refs), doc["metadata"]["name"]
                relays.add(service)
    assert {service for _, service in runners} == {*SERVICES, "gateway"} and relays == set(SERVICES)
    assert len(runners) == 2 * (len(SERVICES) + 1)  # an API and a projector each
    secret = next(d for d in _documents() if d["kind"] == "Secret" and d["metadata"]["name"] == "personal-data-keys")
    assert set(secret["stringData"]) == set(wanted.values())
    assert "CHANGE_ME" in secret["stringData"]["master-key"]  # a template: never a key, never the development key
    assert "postgres-keys" in secret["stringData"]["database-url"] and "postgres-keys" in _by_name("StatefulSet")


def test_kafka_is_three_brokers_with_replication_three_and_two_in_sync() -> None:
    kafka = _by_name("StatefulSet")["kafka"]
    assert kafka["spec"]["replicas"] == 3
    env = {e["name"]: e["value"] for e in _containers(kafka)[0]["env"]}
    assert env["KAFKA_DEFAULT_REPLICATION_FACTOR"] == "3" and env["KAFKA_MIN_INSYNC_REPLICAS"] == "2"
    config = _by_name("ConfigMap")["gov-platform-config"]["data"]
    assert config["TOPIC_REPLICATION"] == "3" and config["TOPIC_MIN_INSYNC_REPLICAS"] == "2"
    assert len(config["KAFKA_BOOTSTRAP"].split(",")) == 3
    assert _by_name("StatefulSet")["rabbitmq"]["spec"]["replicas"] == 3


def test_every_setting_is_documented_in_the_deploy_readme() -> None:
    documented = (INFRA / "deploy" / "README.md").read_text(encoding="utf-8")
    names = re.findall(r"^``([A-Z_<>]+)``", settings.__doc__ or "", flags=re.MULTILINE)
    assert len(names) >= 20
    missing = [name for name in names if f"`{name}`" not in documented]
    assert not missing, missing
