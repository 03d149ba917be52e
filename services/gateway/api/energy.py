"""Energy (公共机构节能) routes: meters and their readings, roll-ups, quotas, anomalies, annual reports and
target totals.

Writers (city administrators, district operators in their district) install meters, send readings and
handle their agencies' anomalies and quotas; the energy service refuses readings of meters outside the
caller's district one by one. Ops and city administrators run the anomaly detectors on demand.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Engine
from werkzeug.wrappers import Request

from services.common.kernel.schemas import load_command as validated
from services.common.runtime.rpc import rpc_proxy
from services.energy import schemas as s
from services.gateway.auth import CITY_ADMINS, OPERATORS, READERS, WRITERS, Principal
from services.gateway.web import InboundRoute, api, call, command_route, query_route, read_json

EN = "energy"

INBOUND_ROUTES = {
    "energy.record_readings": InboundRoute(EN, "record_readings", s.RecordReadingsBatchSchema),
}
"""District inbound message types of this service (contracts in ``contracts/inbound/``): a district's meter
reading batches, judged reading by reading like ``POST /api/v1/meter-readings``."""

MAX_READINGS_BODY_BYTES = 8 * 1024 * 1024
"""Largest body of a multi-meter readings batch: 100,000 readings (``MAX_READINGS_PER_BATCH``) take about
4 MiB of JSON; every other command keeps the gateway's 1 MiB limit."""


def read_readings_json(request: Request) -> Any:
    """A readings batch body as JSON, decoded like every other body (``web.read_json``) up to
    ``MAX_READINGS_BODY_BYTES``."""
    return read_json(request, MAX_READINGS_BODY_BYTES)


class EnergyApi:
    """Routes of the energy service (attribute names say ``energy``: the gateway joins every domain's routes
    in one class, where a second ``resolve_anomaly`` would silently hide the first)."""

    db: Engine
    energy = rpc_proxy(EN)

    # -- meters and readings -------------------------------------------------------------------------

    install_meter = command_route(
        "POST", "/api/v1/meters", EN, "install_meter", s.InstallMeterSchema, WRITERS, status=201
    )
    replace_meter = command_route(
        "POST",
        "/api/v1/meters/<meter_id>/replacement",
        EN,
        "replace_meter",
        s.ReplaceMeterSchema,
        WRITERS,
        district_scope="service",
    )
    record_meter_readings = command_route(
        "POST",
        "/api/v1/meters/<meter_id>/readings",
        EN,
        "record_meter_readings",
        s.RecordReadingsSchema,
        WRITERS,
        district_scope="service",
    )

    @api("POST", "/api/v1/meter-readings", roles=WRITERS)
    def record_meter_readings_batch(self, request: Request, principal: Principal) -> Any:
        """RecordReadings: a multi-meter batch (up to 100,000 readings); bad readings are refused one by one."""
        body = read_readings_json(request)
        validated(s.RecordReadingsBatchSchema, body)
        message_id = body.get("message_id") if isinstance(body, dict) else None
        if message_id and not self.request_context.get("idempotency_key"):
            # the batch's id is its idempotency key, bound to the token's id (never its name, which tokens of
            # another district share) and, by the service, to the batch's content
            self.request_context["idempotency_key"] = f"http:{principal.token_id}:batch:{message_id}"
        return call(self.energy.record_readings, body)

    @api("GET", "/api/v1/meters/<meter_id>", roles=READERS)
    def get_meter(self, request: Request, principal: Principal, meter_id: str) -> Any:
        """A meter and where its counter stands (district operators: their district's meters)."""
        meter = call(self.energy.get_meter, validated(s.MeterIdSchema, {"meter_id": meter_id}))
        principal.require_district(meter["district"])
        return meter

    list_meters = query_route("/api/v1/meters", EN, "list_meters", s.MetersQuerySchema, READERS)
    energy_consumption = query_route(
        "/api/v1/energy/consumption", EN, "consumption", s.ConsumptionQuerySchema, READERS, table="rows"
    )
    list_energy_gaps = query_route("/api/v1/energy/gaps", EN, "list_gaps", s.GapsQuerySchema, READERS)
    energy_target_totals = query_route(
        "/api/v1/energy/target-totals", EN, "target_totals", s.TargetsQuerySchema, READERS
    )

    # -- anomalies -----------------------------------------------------------------------------------

    list_energy_anomalies = query_route(
        "/api/v1/energy/anomalies", EN, "list_anomalies", s.ListAnomaliesQuerySchema, READERS
    )
    acknowledge_energy_anomaly = command_route(
        "POST",
        "/api/v1/energy/anomalies/<anomaly_id>/acknowledge",
        EN,
        "acknowledge_anomaly",
        s.AcknowledgeAnomalySchema,
        WRITERS,
        district_scope="service",
    )
    resolve_energy_anomaly = command_route(
        "POST",
        "/api/v1/energy/anomalies/<anomaly_id>/resolve",
        EN,
        "resolve_anomaly",
        s.ResolveAnomalySchema,
        WRITERS,
        district_scope="service",
    )
    detect_energy_anomalies = command_route(
        "POST",
        "/api/v1/energy/anomaly-detections",
        EN,
        "detect_anomalies",
        s.DetectAnomaliesSchema,
        OPERATORS,
        district_scope="service",
    )

    # -- quotas --------------------------------------------------------------------------------------

    set_energy_quota = command_route(
        "POST", "/api/v1/energy/quotas", EN, "set_quota", s.SetEnergyQuotaSchema, WRITERS, status=201
    )
    revise_energy_quota = command_route(
        "POST",
        "/api/v1/energy/quotas/<agency_id>/<int:year>/revision",
        EN,
        "revise_quota",
        s.ReviseEnergyQuotaSchema,
        WRITERS,
    )
    assess_energy_quota = command_route(
        "POST",
        "/api/v1/energy/quotas/<agency_id>/<int:year>/assessment",
        EN,
        "assess_quota",
        s.AssessEnergyQuotaSchema,
        WRITERS,
    )
    list_energy_quotas = query_route("/api/v1/energy/quotas", EN, "list_quotas", s.QuotasQuerySchema, READERS)

    # -- annual consumption reports ------------------------------------------------------------------

    report_annual_consumption = command_route(
        "POST",
        "/api/v1/energy/annual-reports",
        EN,
        "report_annual_consumption",
        s.ReportAnnualConsumptionSchema,
        WRITERS,
        status=201,
    )
    correct_annual_consumption = command_route(
        "POST",
        "/api/v1/energy/annual-reports/<agency_id>/<int:year>/correction",
        EN,
        "correct_annual_consumption",
        s.CorrectAnnualConsumptionSchema,
        WRITERS,
    )
    # -- conversion factor tables (city administrators adopt; a closed year keeps its figures) ---------
    adopt_energy_factor_table = command_route(
        "POST",
        "/api/v1/energy/factor-tables",
        EN,
        "adopt_factor_table",
        s.AdoptFactorTableSchema,
        CITY_ADMINS,
        district_scope="service",
        status=201,
    )
    energy_factor_tables = query_route(
        "/api/v1/energy/factor-tables", EN, "list_factor_tables", s.FactorTablesQuerySchema, READERS
    )

    list_annual_reports = query_route(
        "/api/v1/energy/annual-reports", EN, "list_annual_reports", s.AnnualReportsQuerySchema, READERS
    )
