"""The gateway (网关): the public HTTP API in front of every service, and the city data center.

Commands: authenticate, check role and district scope, validate the body, call the owning service over
RPC with actor and correlation id, answer with the new version and event ids. Queries: read the data
center's projections, built here from every service's events. The routes of each domain live in
``services/gateway/api/<domain>.py``; this class puts them together with health, metrics and status.
"""

from __future__ import annotations

from typing import Any

from nameko.timer import timer
from sqlalchemy.engine import Engine
from werkzeug.wrappers import Request, Response

from services.common.base.db import create_db_engine
from services.common.base.log import get_logger
from services.common.base.metrics import STORE_HEAD_UP, STORE_PROJECTION_LAG, UP, render_metrics
from services.common.base.settings import SERVICES, settings, topic_for
from services.common.kernel.clock import utc_now
from services.common.kernel.schemas import ActorQuerySchema
from services.common.kernel.schemas import load_command as validated
from services.common.read.freshness import (
    NOTHING_APPLIED,
    ProjectedTopics,
    is_behind,
    moments_to_look_up,
    projection_lags,
)
from services.common.read.projector import Projector
from services.common.runtime.dependencies import ProjectorRunner
from services.common.runtime.health import HealthChecks, HealthProvider
from services.gateway import datacenter as dc
from services.gateway import views
from services.gateway.api.assets import AssetsApi
from services.gateway.api.datacenter import DataCenterApi
from services.gateway.api.energy import EnergyApi
from services.gateway.api.office_space import OfficeSpaceApi
from services.gateway.api.personal_data import PersonalDataApi, reads_of
from services.gateway.api.procurement import ProcurementApi
from services.gateway.api.vehicles import VehiclesApi
from services.gateway.auth import CITY_ADMINS, OPERATORS, READERS, Principal
from services.gateway.inbound import DistrictInboundApi
from services.gateway.openapi import OpenApiRoutes
from services.gateway.readcache import rounds_of
from services.gateway.web import GatewayDatabase, RequestContext, api, call, call_each

log = get_logger()


FRESHNESS_SECONDS = 15
"""How often the gateway measures every projection against every store (``gov_store_projection_lag_seconds``)."""


def data_center_projector(service: str) -> Projector:
    """The data-center projector of a running gateway (its own engine on the gateway database)."""
    return views.data_center_projector(create_db_engine(settings().database_url("gateway")), service=service)


def _gateway_engine(container: Any) -> Engine | None:
    """The gateway database the health checks use (its ``GatewayDatabase`` engine, once set up)."""
    for dependency in container.dependencies:
        if isinstance(dependency, GatewayDatabase):
            return getattr(dependency, "engine", None)
    return None


class GatewayService(
    OfficeSpaceApi,
    PersonalDataApi,
    VehiclesApi,
    AssetsApi,
    ProcurementApi,
    EnergyApi,
    DataCenterApi,
    DistrictInboundApi,
    OpenApiRoutes,
):
    """Nameko service ``gateway``: HTTP in, RPC out, projections read."""

    name = "gateway"
    db: Engine = GatewayDatabase()
    request_context: dict[str, Any] = RequestContext()
    datacenter: Projector = ProjectorRunner(data_center_projector)
    health_checks: HealthChecks = HealthProvider(_gateway_engine)

    @api("GET", "/health/live", roles=None)
    def health_live(self, request: Request, principal: None) -> dict[str, Any]:
        """Liveness: the gateway answers."""
        return self.health_checks.live()

    @api("GET", "/health/ready", roles=None)
    def health_ready(self, request: Request, principal: None) -> tuple[int, dict[str, Any]]:
        """Readiness: database, RabbitMQ, Kafka and the data-center projector; 503 naming what failed."""
        return self._readiness()

    @api("GET", "/health", roles=None)
    def health(self, request: Request, principal: None) -> tuple[int, dict[str, Any]]:
        """The same as ``/health/ready``."""
        return self._readiness()

    def _readiness(self) -> tuple[int, dict[str, Any]]:
        projector = "ok" if self.datacenter is not None else "failing: not started"
        report = self.health_checks.ready(extra={"projector": projector})
        return report.status_code, report.body()

    @api("GET", "/metrics", roles=None, content_type="text/plain")
    def metrics(self, request: Request, principal: None) -> Response:
        """Prometheus metrics of the gateway."""
        UP.labels("gateway").set(1)
        body, content_type = render_metrics()
        return Response(body, content_type=content_type)

    @timer(interval=FRESHNESS_SECONDS)  # type: ignore[untyped-decorator]
    def measure_freshness(self) -> None:
        """Export how far each projection (the data center and every service's read models) is behind each store
        it reads, end to end, as ``gov_store_projection_lag_seconds`` for the alerts: measured here, every
        ``FRESHNESS_SECONDS``, not only when someone asks ``/api/v1/projections``. A service that does not answer
        sets ``gov_store_head_up`` to 0 and leaves its lag unmeasured (unknown is not fresh)."""
        heads: dict[str, str | None] = {}
        projected: list[ProjectedTopics] = []
        if self.datacenter is not None:
            status = self.datacenter.status()
            topics = tuple(self.datacenter.topics)
            projected.append(ProjectedTopics(self.datacenter.name, topics, status["topics_last_event_at"]))
        answers = call_each({service: (getattr(self, service).store_head, {}) for service in SERVICES})
        for service, head in answers.items():
            if isinstance(head, Exception):  # that store's lag stays unknown; the others are still measured
                log.warning("store_head_unavailable", service=service, error=repr(head)[:200])
                STORE_HEAD_UP.labels("gateway", service).set(0)
                continue
            STORE_HEAD_UP.labels("gateway", service).set(1)
            heads[topic_for(service)] = head.get("last_event_at")
            for name, read in (head.get("projected") or {}).items():
                projected.append(ProjectedTopics(name, tuple(read["topics"]), read["last_event_at"]))
        store_of = {topic_for(service): service for service in SERVICES}
        wanted = moments_to_look_up(heads, projected)  # only the stores someone is behind are asked
        asked = {
            store_of[topic]: (getattr(self, store_of[topic]).first_recorded_after, {"moments": sorted(moments)})
            for topic, moments in wanted.items()
        }
        first_after: dict[tuple[str, str], str | None] = {}
        for service, found in call_each(asked).items():
            if isinstance(found, Exception):  # measured as a lower bound (the newest event's age) this time
                log.warning("first_unapplied_unavailable", service=service, error=repr(found)[:200])
                continue
            first_after |= {(topic_for(service), moment): at for moment, at in found.items()}
        for (topic, projector), lag in projection_lags(heads, projected, utc_now(), first_after).items():
            STORE_PROJECTION_LAG.labels("gateway", store_of[topic], projector).set(lag)

    @api(
        "GET",
        "/api/v1/audit",
        roles=CITY_ADMINS | OPERATORS,
        query=ActorQuerySchema,
        table="items,personal_data_reads",
    )
    def audit(self, request: Request, principal: Principal) -> dict[str, Any]:
        """Who did what: the latest events every service recorded for one actor (``?actor=role:name`` or
        ``district:<code>``), newest first, without their payloads; and what personal data the actor was shown in
        clear (``personal_data_reads``: the access record, newest first), listed to a city administrator alone
        (empty for ops, who watch the platform, not persons)."""
        query = validated(ActorQuerySchema, request.args.to_dict())
        found = [event for service in SERVICES for event in call(getattr(self, service).events_by_actor, query)]
        found.sort(key=lambda event: event["recorded_at"], reverse=True)
        reads = reads_of(self.db, limit=query["limit"], reader=query["actor"]) if principal.role == "city_admin" else []
        return {"actor": query["actor"], "items": found[: query["limit"]], "personal_data_reads": reads}

    @api("GET", "/api/v1/projections", roles=READERS | OPERATORS)
    def projections(self, request: Request, principal: Principal) -> dict[str, Any]:
        """Where each projection stands, what it dead-lettered, and how far it is behind each store.

        Per projector: the position per partition, the newest applied event's time (per topic too), the dead
        letters it sent by topic and reason. Per service (``stores``): how far the data center is behind the
        service's store, end to end (``datacenter.store_freshness``), and the events its relay has not published.
        Askers at the same time share one round of these questions (``readcache.SharedRounds``).
        """
        return rounds_of(self.db, "projections").ask(self._projections_now)

    def _projections_now(self) -> dict[str, Any]:
        """``projections``' answer: every store asked at once, then the oldest unapplied event of each store the
        data center is behind, again at once (a service down: said so, the others still reported; a service silent
        lately is not asked: the freshness timer finds it awake)."""
        status = self.datacenter.status()
        now = utc_now()
        heads = call_each({service: (getattr(self, service).store_head, {}) for service in SERVICES}, skip_silent=True)
        projected = {service: status.get("topics_last_event_at", {}).get(topic_for(service)) for service in SERVICES}
        behind = {}
        for service, head in heads.items():
            if isinstance(head, Exception):
                log.warning("store_head_unavailable", service=service, error=repr(head)[:200])
                heads[service] = None
            elif is_behind(head.get("last_event_at"), projected[service] or NOTHING_APPLIED):
                moment = projected[service] or NOTHING_APPLIED
                behind[service] = (getattr(self, service).first_recorded_after, {"moments": [moment]})
        firsts = call_each(behind, skip_silent=True) if behind else {}
        stores = {}
        for service in SERVICES:
            first = None
            found = firsts.get(service)
            if isinstance(found, Exception):  # its age is then the newest event's, a lower bound
                log.warning("first_unapplied_unavailable", service=service, error=repr(found)[:200])
            elif found is not None:  # the oldest event not applied: its age is the lag
                first = found.get(projected[service] or NOTHING_APPLIED)
            stores[service] = dc.store_freshness(heads[service], projected[service], now, first)
        return {"projectors": [status], "stores": stores}
