"""Settings: read from the environment once, here, into a typed object. Nothing else reads ``os.environ``.

Every variable has a local default so ``make run`` needs none:

=============================  ==========================================================================
``DATABASE_URL_<SERVICE>``     SQLAlchemy URL of one service's store (``DATABASE_URL_OFFICE_SPACE`` ...);
                               default ``sqlite:///var/<service>.db``
``DATABASE_URL``               fallback pattern for all services; ``{service}`` is replaced by the name,
                               e.g. ``postgresql+psycopg://localhost/gov_{service}``
``DATABASE_URL_KEYS``          the platform's personal-data key store (``subject_keys``), one for the city,
                               used by the services that encrypt and the gateway that decrypts; default
                               ``sqlite:///var/keys.db`` (or ``DATABASE_URL`` with ``{service}`` = ``keys``)
``KAFKA_BOOTSTRAP``            Kafka bootstrap servers, default ``127.0.0.1:9092`` (Tansu locally)
``AMQP_URI``                   RabbitMQ for nameko RPC, default ``amqp://guest:guest@127.0.0.1:5672/``
``HTTP_HOST``                  address services and the gateway listen on, default ``127.0.0.1``
``GATEWAY_PORT``               gateway port, default ``8000``; services use 8101.. (see ``SERVICE_PORTS``)
``PORT_<SERVICE>``             override one service's HTTP (metrics/health) port
``SNAPSHOT_EVERY``             store a snapshot every N events of a stream, default ``50``
``RELAY_BATCH``                events the outbox relay publishes per round, default ``500``
``RELAY_IDLE_SECONDS``         how long the relay sleeps when there is nothing to publish, default ``0.2`` (a
                               relay run by its service, woken by each of its commits, at least a second)
``RELAY_LINGER_SECONDS``       how long the relay, woken by a commit, waits for more commits to publish with it,
                               default ``0.05``
``TOPIC_PARTITIONS``           partitions of the topics the platform creates, default ``3``
``TOPIC_REPLICATION``          replication factor of the topics the platform creates, default ``1``
                               (Tansu); ``3`` on a production Kafka cluster
``TOPIC_MIN_INSYNC_REPLICAS``  ``min.insync.replicas`` of the topics it creates when replicated, default
                               ``TOPIC_REPLICATION - 1`` (``2`` for 3 replicas); with ``acks=all`` a
                               write then survives the loss of one broker
``INBOUND_RETENTION_HOURS``    ``retention.ms`` of a district's inbound topic (``district.<code>.inbound``) when
                               the platform creates it, default ``72``: the district sends personal fields in
                               clear there (a staff member's name, GPS points), and an accepted message is an
                               event in a store (sealed) within seconds, so the clear copy goes after 3 days
``RELAY_IN_PROCESS``           ``true`` (default): every service process runs its store's outbox relay;
                               ``false`` when the relay runs alone, once per store
                               (``python -m services.common.runtime.relay <service>``), as in production
``PROJECTORS_IN_PROCESS``      ``true`` (default): a process runs its projectors (the gateway's data
                               center, a service's own views); ``false`` on replicas that only serve
                               requests while one projector process per partition range applies events
``PROJECTOR_PARTITIONS``       the partitions this process's projectors read, e.g. ``0-5`` or ``0,2,4``;
                               default every partition (see ``infra/RUNBOOK.md``, scaling projectors)
``KAFKA_SECURITY_PROTOCOL``    ``PLAINTEXT`` (default, Tansu), ``SSL`` or ``SASL_SSL`` (production, see
                               ``infra/KAFKA.md``)
``KAFKA_SASL_MECHANISM``       ``SCRAM-SHA-512`` (default) or ``PLAIN``, with ``SASL_SSL``
``KAFKA_SASL_USERNAME``        the process's Kafka principal, e.g. ``svc-energy`` (with ``SASL_SSL``)
``KAFKA_SASL_PASSWORD``        its password (from a secret; with ``SASL_SSL``)
``KAFKA_SSL_CAFILE``           PEM file of the CA that signed the brokers' certificates (``SSL``/``SASL_SSL``)
``SCORECARD_FILE``             JSON criteria of the conservation-oriented agency scorecard (节约型机关) replacing
                               the built-in ``SCORECARD_2025`` (``services/gateway/scorecard.py``)
``HEALTH_CACHE_SECONDS``       how long a readiness check's answer is reused, default ``2``
``HEALTH_TIMEOUT_SECONDS``     how long one readiness check may take, default ``1``
``RPC_TIMEOUT``                seconds the gateway waits for a service, default ``10``
``GATEWAY_IN_FLIGHT_PER_TOKEN`` requests one token may have the gateway serve at once, default ``16`` (of its 64
                               workers); one more is answered 429 ``too_many_requests`` at once
``LOG_LEVEL``                  default ``INFO``
``DISTRICTS_FILE``             JSON object {code: name} replacing the default district table
``VAR_DIR``                    where SQLite files, pid files and logs go, default ``var``
``ENERGY_FACTORS_FILE``        JSON conversion factor table (tce and CO₂ per unit of each energy kind, with
                               its version and sources) replacing the energy service's built-in
                               ``FACTORS_2022`` as the default (years without an adopted table); read by
                               the energy service and the gateway alike
``ASSET_SERVICE_LIFE_FILE``    JSON table of the minimum service life per asset category (最低使用年限)
                               replacing the assets service's built-in ``SERVICE_LIFE_2016``: ``{"version",
                               "source", "categories": {code: {"min_service_life_years",
                               "procurement_category", "item_code_prefixes"}}}``
``ASSET_DEPRECIATION_LIFE_FILE`` JSON table of the depreciation life per asset category (折旧年限), a table
                               apart from the service lives, replacing the built-in ``DEPRECIATION_LIFE_2017``:
                               ``{"version", "source", "categories": {code: years}}``
``PERSONAL_DATA_MASTER_KEY``    base64 of 32 random bytes (``openssl rand -base64 32``), from a secret: the
                               master key that wraps every data subject's key (``services.common.base.personal``);
                               the default is ``DEV_PERSONAL_DATA_MASTER_KEY``, public, for development only
=============================  ==========================================================================

Official-vehicle rules (公务用车): ``VEHICLE_NEW_ENERGY_MODE`` (``refuse``, the default, or ``flag``: what a
conventional acquisition that takes its district's new-energy share of the year below the target meets),
``VEHICLE_NEW_ENERGY_TARGET_PERCENT`` (``30``, seed 000 #19), ``VEHICLE_CONSUMPTION_FACTOR`` (fuel or power per
100 km above the model's norm times this is an anomaly, ``1.3``), ``VEHICLE_REPAIR_OUTLIER_Z`` (robust z-score
above which a vehicle's repair cost or visits are far above the fleet's, ``3.5``), ``VEHICLE_WORKING_HOURS``
(Beijing time; a trip outside them on a working day needs approval, ``07:00-19:00``), ``VEHICLE_GPS_GRACE_HOURS``
(a finished trip still without GPS after this long is flagged, ``24``), ``GPS_RETENTION_DAYS`` (a finished
trip's GPS points are kept this many days, then their key is erased, ``365``).

Procurement thresholds (the deployment's rules, recorded with every finding and alert as its evidence):
``QUOTE_BELOW_MEDIAN_FRACTION`` (a bid under this fraction of the median of the other bids is abnormally
low, 恶意报价; default ``0.7``), ``QUOTE_BELOW_REFERENCE_FRACTION`` (... or of the tender's reference price,
``0.7``), ``QUOTE_ROTATION_ROUNDS`` (the same suppliers taking turns to win this many tenders in a row,
``3``), ``PRICE_MOVE_WEEK_ON_WEEK`` (a canteen-ingredient price moving more than this fraction against last
week's average raises an alert, ``0.15``), ``PRICE_MOVE_AGAINST_REFERENCE`` (... or against the reference
price, ``0.20``).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from services.common.kernel.districts import DEFAULT_DISTRICTS

DEV_PERSONAL_DATA_MASTER_KEY = "ZGV2ZWxvcG1lbnQgb25seSwgbm90IGEgc2VjcmV0ISE="
"""The default ``PERSONAL_DATA_MASTER_KEY``: FOR DEVELOPMENT AND TESTS ONLY. It is in the repository, so it
protects nothing; a deployment sets its own key from a secret."""

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
    relay_linger_seconds: float
    topic_partitions: int
    rpc_timeout: float
    log_level: str
    gateway_in_flight_per_token: int = 16
    """Requests one token may have the gateway serve at once (``GATEWAY_IN_FLIGHT_PER_TOKEN``, at least 1)."""
    districts: dict[str, str] = field(default_factory=dict)
    topic_replication: int = 1
    topic_min_insync_replicas: int = 1
    inbound_retention_hours: float = 72.0
    """How long a district's inbound topic keeps a message (``INBOUND_RETENTION_HOURS``): it holds names in clear."""
    relay_in_process: bool = True
    projectors_in_process: bool = True
    projector_partitions: frozenset[int] | None = None
    health_cache_seconds: float = 2.0
    health_timeout_seconds: float = 1.0
    kafka_security: dict[str, str] = field(default_factory=dict)
    scorecard_file: Path | None = None
    energy_factors_file: Path | None = None
    quote_below_median_fraction: float = 0.7
    quote_below_reference_fraction: float = 0.7
    quote_rotation_rounds: int = 3
    price_move_week_on_week: float = 0.15
    price_move_against_reference: float = 0.20
    vehicle_new_energy_mode: str = "refuse"
    vehicle_new_energy_target_percent: int = 30
    vehicle_consumption_factor: float = 1.3
    vehicle_repair_outlier_z: float = 3.5
    vehicle_working_hours: str = "07:00-19:00"
    vehicle_gps_grace_hours: float = 24.0
    gps_retention_days: int = 365
    """How long a finished trip's GPS points are kept (``GPS_RETENTION_DAYS``); then their key is erased."""
    ocds_ocid_prefix: str = "ocds-000000"
    """The publisher's registered OCDS prefix (``OCDS_OCID_PREFIX``): every ocid starts with it."""
    asset_service_life_file: Path | None = None
    asset_depreciation_life_file: Path | None = None
    personal_data_master_key: str = DEV_PERSONAL_DATA_MASTER_KEY
    """Base64 of the 32-byte master key wrapping the data subjects' keys (``PERSONAL_DATA_MASTER_KEY``)."""

    def database_url(self, service: str) -> str:
        """The store URL of ``service`` (a domain service, ``gateway``, or ``keys``: the personal-data key store)."""
        return self.database_urls[service]

    def port(self, service: str) -> int:
        """The HTTP port of ``service``."""
        return self.ports[service]


def _kafka_security(env: dict[str, str]) -> dict[str, str]:
    """kafka-python's security options from ``KAFKA_SECURITY_PROTOCOL`` and the SASL/SSL variables."""
    protocol = env.get("KAFKA_SECURITY_PROTOCOL", "PLAINTEXT").upper()
    if protocol not in ("PLAINTEXT", "SSL", "SASL_SSL", "SASL_PLAINTEXT"):
        raise ValueError(f"KAFKA_SECURITY_PROTOCOL={protocol}: expected PLAINTEXT, SSL, SASL_SSL or SASL_PLAINTEXT")
    options = {"security_protocol": protocol}
    if protocol in ("SSL", "SASL_SSL") and env.get("KAFKA_SSL_CAFILE"):
        options["ssl_cafile"] = env["KAFKA_SSL_CAFILE"]
    if protocol.startswith("SASL"):
        missing = [name for name in ("KAFKA_SASL_USERNAME", "KAFKA_SASL_PASSWORD") if not env.get(name)]
        if missing:
            raise ValueError(f"KAFKA_SECURITY_PROTOCOL={protocol} needs {' and '.join(missing)}")
        options["sasl_mechanism"] = env.get("KAFKA_SASL_MECHANISM", "SCRAM-SHA-512")
        options["sasl_plain_username"] = env["KAFKA_SASL_USERNAME"]
        options["sasl_plain_password"] = env["KAFKA_SASL_PASSWORD"]
    return options


def _database_urls(env: dict[str, str], var_dir: Path) -> dict[str, str]:
    pattern = env.get("DATABASE_URL")
    urls = {}
    for service in (*SERVICES, "gateway", "keys"):
        explicit = env.get(f"DATABASE_URL_{service.upper()}")
        if explicit:
            urls[service] = explicit
        elif pattern:
            urls[service] = pattern.replace("{service}", service)
        else:
            urls[service] = f"sqlite:///{var_dir / (service + '.db')}"
    return urls


def _flag(value: str) -> bool:
    """``true``/``false`` (also 1/0, yes/no, on/off) as a bool."""
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"not a boolean setting: {value!r}")


def parse_partitions(spec: str) -> frozenset[int] | None:
    """``"0-5"``, ``"0,2,4"`` or ``"0-2,7"`` as a set of partition numbers; empty means every partition."""
    found: set[int] = set()
    for part in (p.strip() for p in spec.split(",")):
        if not part:
            continue
        low, _, high = part.partition("-")
        first, last = int(low), int(high or low)
        if first < 0 or last < first:
            raise ValueError(f"not a partition range: {part!r}")
        found.update(range(first, last + 1))
    return frozenset(found) or None


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
    replication = int(env.get("TOPIC_REPLICATION", "1"))
    return Settings(
        var_dir=var_dir,
        database_urls=_database_urls(env, var_dir),
        kafka_bootstrap=env.get("KAFKA_BOOTSTRAP", "127.0.0.1:9092"),
        kafka_security=_kafka_security(env),
        scorecard_file=Path(env["SCORECARD_FILE"]) if env.get("SCORECARD_FILE") else None,
        amqp_uri=env.get("AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/"),
        http_host=env.get("HTTP_HOST", "127.0.0.1"),
        ports=ports,
        snapshot_every=int(env.get("SNAPSHOT_EVERY", "50")),
        relay_batch=int(env.get("RELAY_BATCH", "500")),
        relay_idle_seconds=float(env.get("RELAY_IDLE_SECONDS", "0.2")),
        relay_linger_seconds=float(env.get("RELAY_LINGER_SECONDS", "0.05")),
        topic_partitions=int(env.get("TOPIC_PARTITIONS", "3")),
        rpc_timeout=float(env.get("RPC_TIMEOUT", "10")),
        gateway_in_flight_per_token=max(1, int(env.get("GATEWAY_IN_FLIGHT_PER_TOKEN", "16"))),
        log_level=env.get("LOG_LEVEL", "INFO"),
        districts=districts,
        topic_replication=replication,
        topic_min_insync_replicas=int(env.get("TOPIC_MIN_INSYNC_REPLICAS", str(max(1, replication - 1)))),
        inbound_retention_hours=float(env.get("INBOUND_RETENTION_HOURS", "72")),
        relay_in_process=_flag(env.get("RELAY_IN_PROCESS", "true")),
        projectors_in_process=_flag(env.get("PROJECTORS_IN_PROCESS", "true")),
        projector_partitions=parse_partitions(env.get("PROJECTOR_PARTITIONS", "")),
        health_cache_seconds=float(env.get("HEALTH_CACHE_SECONDS", "2")),
        health_timeout_seconds=float(env.get("HEALTH_TIMEOUT_SECONDS", "1")),
        energy_factors_file=Path(env["ENERGY_FACTORS_FILE"]) if env.get("ENERGY_FACTORS_FILE") else None,
        quote_below_median_fraction=float(env.get("QUOTE_BELOW_MEDIAN_FRACTION", "0.7")),
        quote_below_reference_fraction=float(env.get("QUOTE_BELOW_REFERENCE_FRACTION", "0.7")),
        quote_rotation_rounds=int(env.get("QUOTE_ROTATION_ROUNDS", "3")),
        price_move_week_on_week=float(env.get("PRICE_MOVE_WEEK_ON_WEEK", "0.15")),
        price_move_against_reference=float(env.get("PRICE_MOVE_AGAINST_REFERENCE", "0.20")),
        vehicle_new_energy_mode=env.get("VEHICLE_NEW_ENERGY_MODE", "refuse"),
        vehicle_new_energy_target_percent=int(env.get("VEHICLE_NEW_ENERGY_TARGET_PERCENT", "30")),
        vehicle_consumption_factor=float(env.get("VEHICLE_CONSUMPTION_FACTOR", "1.3")),
        vehicle_repair_outlier_z=float(env.get("VEHICLE_REPAIR_OUTLIER_Z", "3.5")),
        vehicle_working_hours=env.get("VEHICLE_WORKING_HOURS", "07:00-19:00"),
        vehicle_gps_grace_hours=float(env.get("VEHICLE_GPS_GRACE_HOURS", "24")),
        gps_retention_days=int(env.get("GPS_RETENTION_DAYS", "365")),
        ocds_ocid_prefix=env.get("OCDS_OCID_PREFIX", "ocds-000000"),
        asset_service_life_file=Path(env["ASSET_SERVICE_LIFE_FILE"]) if env.get("ASSET_SERVICE_LIFE_FILE") else None,
        asset_depreciation_life_file=(
            Path(env["ASSET_DEPRECIATION_LIFE_FILE"]) if env.get("ASSET_DEPRECIATION_LIFE_FILE") else None
        ),
        personal_data_master_key=env.get("PERSONAL_DATA_MASTER_KEY", DEV_PERSONAL_DATA_MASTER_KEY),
    )


@cache
def settings() -> Settings:
    """The settings of this process, read once."""
    return load_settings()
