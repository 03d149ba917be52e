"""Settings: read from the environment once, here, into a typed object. Nothing else reads ``os.environ``.

Every variable has a local default so ``make run`` needs none:

=============================  ==========================================================================
``DATABASE_URL_<SERVICE>``     SQLAlchemy URL of one service's store (``DATABASE_URL_OFFICE_SPACE`` ...);
                               default ``sqlite:///var/<service>.db``
``DATABASE_URL``               fallback pattern for all services; ``{service}`` is replaced by the name,
                               e.g. ``postgresql+psycopg://localhost/gov_{service}``
``KAFKA_BOOTSTRAP``            Kafka bootstrap servers, default ``127.0.0.1:9092`` (Tansu locally)
``AMQP_URI``                   RabbitMQ for nameko RPC, default ``amqp://guest:guest@127.0.0.1:5672/``
``HTTP_HOST``                  address services and the gateway listen on, default ``127.0.0.1``
``GATEWAY_PORT``               gateway port, default ``8000``; services use 8101.. (see ``SERVICE_PORTS``)
``PORT_<SERVICE>``             override one service's HTTP (metrics/health) port
``SNAPSHOT_EVERY``             store a snapshot every N events of a stream, default ``50``
``RELAY_BATCH``                events the outbox relay publishes per round, default ``500``
``RELAY_IDLE_SECONDS``         how long the relay sleeps when there is nothing to publish, default ``0.2``
``TOPIC_PARTITIONS``           partitions of the topics the platform creates, default ``3``
``RPC_TIMEOUT``                seconds the gateway waits for a service, default ``10``
``LOG_LEVEL``                  default ``INFO``
``DISTRICTS_FILE``             JSON object {code: name} replacing the default district table
``VAR_DIR``                    where SQLite files, pid files and logs go, default ``var``
=============================  ==========================================================================
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from services.common.districts import DEFAULT_DISTRICTS

SERVICES = ("office_space", "vehicles", "assets", "procurement", "energy")
"""The domain services, each with its own store and topic ``<service>.events``."""

SERVICE_PORTS = {
    "gateway": 8000,
    "office_space": 8101,
    "vehicles": 8102,
    "assets": 8103,
    "procurement": 8104,
    "energy": 8105,
}


def topic_for(domain: str) -> str:
    """The topic a domain publishes its events to."""
    return f"{domain}.events"


@dataclass(frozen=True)
class Settings:
    """Everything configurable about a process of the platform."""

    var_dir: Path
    database_urls: dict[str, str]
    kafka_bootstrap: str
    amqp_uri: str
    http_host: str
    ports: dict[str, int]
    snapshot_every: int
    relay_batch: int
    relay_idle_seconds: float
    topic_partitions: int
    rpc_timeout: float
    log_level: str
    districts: dict[str, str] = field(default_factory=dict)

    def database_url(self, service: str) -> str:
        """The store URL of ``service`` (a domain service or ``gateway``)."""
        return self.database_urls[service]

    def port(self, service: str) -> int:
        """The HTTP port of ``service``."""
        return self.ports[service]


def _database_urls(env: dict[str, str], var_dir: Path) -> dict[str, str]:
    pattern = env.get("DATABASE_URL")
    urls = {}
    for service in (*SERVICES, "gateway"):
        explicit = env.get(f"DATABASE_URL_{service.upper()}")
        if explicit:
            urls[service] = explicit
        elif pattern:
            urls[service] = pattern.replace("{service}", service)
        else:
            urls[service] = f"sqlite:///{var_dir / (service + '.db')}"
    return urls


def load_settings(env: dict[str, str] | None = None) -> Settings:
    """Build settings from ``env`` (default: the process environment)."""
    env = dict(os.environ if env is None else env)
    var_dir = Path(env.get("VAR_DIR", "var")).absolute()
    districts = dict(DEFAULT_DISTRICTS)
    if env.get("DISTRICTS_FILE"):
        districts = json.loads(Path(env["DISTRICTS_FILE"]).read_text(encoding="utf-8"))
    ports = {name: int(env.get(f"PORT_{name.upper()}", default)) for name, default in SERVICE_PORTS.items()}
    if "GATEWAY_PORT" in env:
        ports["gateway"] = int(env["GATEWAY_PORT"])
    return Settings(
        var_dir=var_dir,
        database_urls=_database_urls(env, var_dir),
        kafka_bootstrap=env.get("KAFKA_BOOTSTRAP", "127.0.0.1:9092"),
        amqp_uri=env.get("AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/"),
        http_host=env.get("HTTP_HOST", "127.0.0.1"),
        ports=ports,
        snapshot_every=int(env.get("SNAPSHOT_EVERY", "50")),
        relay_batch=int(env.get("RELAY_BATCH", "500")),
        relay_idle_seconds=float(env.get("RELAY_IDLE_SECONDS", "0.2")),
        topic_partitions=int(env.get("TOPIC_PARTITIONS", "3")),
        rpc_timeout=float(env.get("RPC_TIMEOUT", "10")),
        log_level=env.get("LOG_LEVEL", "INFO"),
        districts=districts,
    )


@cache
def settings() -> Settings:
    """The settings of this process, read once."""
    return load_settings()
