"""Prometheus metrics every service and the gateway expose on ``/metrics``.

Names follow Prometheus conventions (``_total`` counters, ``_seconds`` units); every series carries
``service`` so one Prometheus job can scrape the whole platform.
"""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest

COMMANDS = Counter("gov_commands_total", "Commands handled, by outcome", ["service", "command", "outcome"])
COMMAND_LATENCY = Histogram(
    "gov_command_duration_seconds",
    "Command handling time in the service",
    ["service", "command"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
EVENTS_APPENDED = Counter("gov_events_appended_total", "Events appended to the store", ["service", "event_type"])
OUTBOX_BACKLOG = Gauge("gov_outbox_backlog_events", "Stored events not yet acknowledged by Kafka", ["service"])
OUTBOX_AGE = Gauge("gov_outbox_oldest_unpublished_age_seconds", "Age of the oldest unpublished event", ["service"])
EVENTS_PUBLISHED = Counter("gov_events_published_total", "Events acknowledged by Kafka", ["service", "topic"])
PROJECTOR_LAG_EVENTS = Gauge(
    "gov_projector_lag_events", "Messages on the topic not yet projected", ["service", "projector", "topic"]
)
STORE_PROJECTION_LAG = Gauge(
    "gov_store_projection_lag_seconds",
    "How far a projection is behind a store, end to end: the age of the store's newest event when the projector "
    "has not applied it, else 0 (services.common.read.freshness; measured by the gateway every FRESHNESS_SECONDS)",
    ["service", "store", "projector"],
)
STORE_HEAD_UP = Gauge(
    "gov_store_head_up",
    "1 when the store's service answered the gateway's last freshness check, 0 when not (its lag is then unknown)",
    ["service", "store"],
)
PROJECTOR_LAG_SECONDS = Gauge(
    "gov_projector_lag_seconds", "Age of the newest projected event when it was projected", ["service", "projector"]
)
EVENTS_PROJECTED = Counter("gov_events_projected_total", "Events applied to projections", ["service", "projector"])
DUPLICATES_IGNORED = Counter(
    "gov_duplicate_events_ignored_total", "Re-delivered events ignored by event_id", ["service", "projector"]
)
BROKER_LOSSES = Counter(
    "gov_relay_broker_losses_total",
    "Times a relay found its topic made anew or shorter than it recorded, and published its store again",
    ["service", "topic", "reason"],
)
POSITIONS_RESET = Counter(
    "gov_consumer_positions_reset_total",
    "Stored consumer positions dropped because the topic was made anew or is shorter (read again from its start)",
    ["service", "consumer", "topic", "reason"],
)
PROCESS_RESTARTS = Counter(
    "gov_process_restarts_total", "Processes the supervisor (make run) started again after they died", ["process"]
)
DEAD_LETTERED = Counter("gov_dead_lettered_total", "Events sent to a dead-letter topic", ["service", "topic", "reason"])
HTTP_REQUESTS = Counter(
    "gov_http_requests_total", "HTTP requests by route and status", ["service", "route", "method", "status"]
)
HTTP_CONNECTIONS_REFUSED = Counter(
    "gov_http_connections_refused_total",
    "HTTP connections closed at once, the process holding its most (runner.connections_bounded)",
    ["service"],
)
HTTP_THROTTLED = Counter(
    "gov_http_requests_throttled_total",
    "Requests answered 429 at once, their caller having as many in flight as one caller may (by its role)",
    ["service", "role"],
)
HTTP_LATENCY = Histogram(
    "gov_http_request_duration_seconds",
    "HTTP request handling time",
    ["service", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
UP = Gauge("gov_service_up", "1 while the service runs", ["service"])
DEPENDENCY_UP = Gauge(
    "gov_dependency_up",
    "1 when the last readiness check of a dependency (database, rabbitmq, kafka) passed, 0 when it failed",
    ["service", "dependency"],
)
OPEN_ANOMALIES = Gauge(
    "gov_open_anomalies",
    "Anomalies detected and not yet resolved (the anomaly backlog), by kind",
    ["service", "kind"],
)
"""The anomaly backlog a domain service reports: set it, per ``kind``, to the number of its anomalies
(an over-standard allocation, a vehicle used off-duty, an energy reading above its quota ...) that were
detected and not yet resolved, whenever that number changes, e.g.
``OPEN_ANOMALIES.labels("energy", "consumption_over_quota").set(open_count)``. The ``kind`` is the
anomaly's own snake_case name; alert ``AnomalyBacklogGrowing`` and the domain-KPI dashboard read it."""


def render_metrics() -> tuple[bytes, str]:
    """The current metrics in the Prometheus text format, with its content type."""
    return generate_latest(), CONTENT_TYPE_LATEST
