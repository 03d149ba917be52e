"""The energy service (公共机构节能, "能耗感知一张网"): meters and their 5-minute readings, roll-ups, quotas,
anomalies, and the consumption side of the city's targets.

Every RPC method is the whole public surface of the service: validate (``@command`` with the schema),
load the aggregates, call the domain, append the events, answer. Readings are the hot path: a batch of
many meters is loaded with one bulk read, judged meter by meter by the domain (a bad reading refuses
itself, never its batch) and stored in ONE transaction — one ``MeterReadingsRecorded`` event per meter
and batch. Gaps and negative consumption are raised as anomalies at ingestion; spikes, base load and
stuck meters by a periodic detector (``DETECTION_INTERVAL_S``, or ``detect_anomalies`` on demand).
"""

from __future__ import annotations

import functools
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from nameko.extensions import DependencyProvider
from nameko.timer import timer

from services.common.base.log import get_logger
from services.common.base.memory import collection_deferred
from services.common.base.metrics import OPEN_ANOMALIES
from services.common.kernel.aggregate import Aggregate
from services.common.kernel.clock import china_today, utc_now
from services.common.kernel.errors import PlatformError, ValidationFailed
from services.common.kernel.ids import new_id
from services.common.kernel.scope import in_scope
from services.common.read.agencies import KnownAgency, known_agency
from services.common.runtime.dependencies import service_views
from services.common.runtime.rpc import DomainService, command, current_fingerprint, replayed
from services.common.write.store import Idempotency
from services.energy import read_model
from services.energy import schemas as s
from services.energy.domain.anomalies import (
    DEFAULT_ANOMALY_RULES,
    Anomaly,
    Finding,
    WorkCalendar,
    detect_counter_reversals,
    detect_gaps,
)
from services.energy.domain.closing import ClosedYear
from services.energy.domain.coverage import DEFAULT_SUFFICIENCY, YearUse
from services.energy.domain.factor_tables import FactorTables
from services.energy.domain.holidays import work_calendar
from services.energy.domain.meters import Meter, UnknownMeter
from services.energy.domain.quotas import EnergyQuota
from services.energy.domain.readings import IngestionOutcome
from services.energy.domain.reports import AnnualConsumptionReport
from services.energy.domain.rollups import FactorTable, MeterInfo
from services.energy.read_model import configured_factors

log = get_logger()

DETECTION_INTERVAL_S = 3_600
"""How often the periodic detector looks for spikes, base load and stuck meters, and assesses quotas."""
MAX_REJECTIONS_LISTED = 1_000
"""Refused readings listed one by one in a batch's answer (all are counted by reason)."""


class ConversionFactors(DependencyProvider):  # type: ignore[misc]
    """The default factor table (``ENERGY_FACTORS_FILE`` or the built-in one), loaded, and checked, at start: the
    table of every year no adopted table is valid for (``FactorTables``)."""

    def setup(self) -> None:
        self.table = configured_factors()

    def get_dependency(self, worker_ctx: Any) -> FactorTable:
        return self.table


def _info(meter: Meter) -> MeterInfo:
    return MeterInfo(str(meter.agency_id), meter.building_id, str(meter.district), meter.kind, meter.sub_item)


class BatchReport:
    """What became of a multi-meter batch: counts per meter, refusals by reason, the first refusals listed."""

    def __init__(self) -> None:
        self.per_meter: dict[str, dict[str, int]] = {}
        self.reasons: Counter[str] = Counter()
        self.rejections: list[dict[str, Any]] = []

    def add(self, meter_id: str, outcome: IngestionOutcome) -> None:
        """Count one meter's outcome and list its refusals."""
        self.per_meter[meter_id] = {
            "accepted": outcome.accepted,
            "duplicates": outcome.duplicates,
            "gaps": outcome.gaps,
            "rejected": len(outcome.rejected),
        }
        for r in outcome.rejected:
            self._refused(
                meter_id=meter_id,
                position=r.position,
                at=r.timestamp,
                value=r.value,
                reason=r.reason,
                message=r.message,
                recorded=r.recorded_value,
            )

    def refuse_all(self, meter_id: str, readings: Sequence[Any], reason: str, message: str) -> None:
        """Every reading of a meter refused for the same reason (unknown meter, outside the caller's district)."""
        self.per_meter[meter_id] = {"accepted": 0, "duplicates": 0, "gaps": 0, "rejected": len(readings)}
        for position, item in enumerate(readings):
            pair = item if isinstance(item, list | tuple) and len(item) == 2 else (None, None)
            self._refused(
                meter_id=meter_id, position=position, at=pair[0], value=pair[1], reason=reason, message=message
            )

    def _refused(
        self, meter_id: str, position: int, at: Any, value: Any, reason: str, message: str, recorded: Any = None
    ) -> None:
        self.reasons[reason] += 1
        if len(self.rejections) < MAX_REJECTIONS_LISTED:
            self.rejections.append(
                {"meter_id": meter_id, "position": position, "timestamp": at, "value": value}
                | {"reason": reason, "message": message}
                | ({"recorded_value": recorded} if recorded is not None else {})
            )

    def answer(self, batch_id: str) -> dict[str, Any]:
        """The answer to the batch (before event ids)."""
        totals = {k: sum(m[k] for m in self.per_meter.values()) for k in ("accepted", "duplicates", "gaps", "rejected")}
        return {
            "id": batch_id,
            "version": None,
            "meters": len(self.per_meter),
            **totals,
            "rejected_by_reason": dict(self.reasons),
            "rejections": self.rejections,
            "rejections_truncated": totals["rejected"] > len(self.rejections),
            "per_meter": self.per_meter,
        }


class EnergyService(DomainService):
    """Nameko service ``energy``."""

    name = "energy"
    read_models = service_views(read_model.EnergyViews(), migrations=("energy_views",))
    factors: FactorTable = ConversionFactors()

    def _agency_of(self, cmd: dict[str, Any]) -> KnownAgency:
        """The command's agency as office space registered it, which must be in the command's district."""
        agency = known_agency(self.read_models.engine, cmd["agency_id"])
        if agency.district != cmd["district"]:
            raise ValidationFailed(
                f"agency {agency.agency_id} is in district {agency.district}",
                fields={"district": [f"the agency is in {agency.district}"]},
            )
        return agency

    # -- meters --------------------------------------------------------------------------------------

    @command(s.InstallMeterSchema)
    def install_meter(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """InstallMeter: a meter at a building of an agency."""
        agency = self._agency_of(cmd)
        meter = Meter.install(
            meter_id=new_id(cmd["meter_id"], "MTR"),
            serial_no=cmd["serial_no"],
            kind=cmd["kind"],
            agency_id=agency.agency_id,
            district=agency.district,
            building_id=cmd["building_id"],
            sub_item=cmd["sub_item"],
            multiplier=cmd["multiplier"],
            rollover_limit=cmd["rollover_limit"],
            initial_reading=cmd["initial_reading"],
            installed_at=cmd["installed_at"],
            now=utc_now(),
            reading_interval=cmd["reading_interval"],
        )
        return self.save(meter)

    @command(s.ReplaceMeterSchema)
    def replace_meter(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """ReplaceMeter: a new device; the old one's final reading closes its count."""
        meter = self.load_in_scope(Meter, cmd["meter_id"])
        meter.replace(
            new_serial_no=cmd["new_serial_no"],
            old_final_reading=cmd["old_final_reading"],
            new_initial_reading=cmd["new_initial_reading"],
            replaced_at=cmd["replaced_at"],
            now=utc_now(),
            multiplier=cmd["multiplier"],
            rollover_limit=cmd["rollover_limit"],
        )
        return self.save(meter)

    @command(s.MeterIdSchema)
    def get_meter(self, query: dict[str, Any]) -> dict[str, Any]:
        """A meter's current state from its stream: where it is, where its counter stands."""
        meter = self.store.find(Meter, query["meter_id"])
        if meter is None:
            raise UnknownMeter(f"meter {query['meter_id']} not found", fields={"meter_id": ["unknown meter"]})
        state = {k: v for k, v in meter.snapshot_state().items() if k not in ("recent", "last_epoch")}
        return {"id": meter.id, "version": meter.version, **state}

    # -- readings (the hot path) ---------------------------------------------------------------------

    @command(s.RecordReadingsBatchSchema)
    def record_readings(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """RecordReadings: cumulative readings of many meters; bad readings are refused one by one."""
        return self._ingest(cmd["meters"], cmd["message_id"])

    @command(s.RecordReadingsSchema)
    def record_meter_readings(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """RecordReadings of one meter (an unknown meter, or another district's, is a 404 here)."""
        self.load_in_scope(Meter, cmd["meter_id"])
        return self._ingest([cmd], None)

    def _recorded_readings(self, meter_id: str, since: str) -> dict[str, float]:
        """The readings a meter recorded from ``since`` on, read from its stream: the slow path, taken only for
        a batch holding readings older than the meter's last day and outside its gaps (a re-sent month)."""
        found: dict[str, float] = {}
        for env in self.store.stream_envelopes("Meter", meter_id):
            if env.event_type in ("MeterReadingsRecorded", "LateReadingsRecorded"):
                found |= {r[0]: r[1] for r in env.payload["readings"] if r[0] >= since}
        return found

    def _ingest(self, batch: list[dict[str, Any]], message_id: str | None) -> dict[str, Any]:
        with collection_deferred():
            return self._ingest_batch(batch, message_id)

    def _ingest_batch(self, batch: list[dict[str, Any]], message_id: str | None) -> dict[str, Any]:
        meta = self.context()
        own_key = None if meta.idempotency_key or not message_id else f"energy.readings:{meta.actor}:{message_id}"
        # bound to the batch's content as any key is: the same id with other readings is refused, not answered
        if own_key and (recorded := replayed(self.store, own_key, current_fingerprint())):
            return dict(recorded)
        now = utc_now()
        loaded: dict[str, Meter] = self.store.find_many(Meter, [item["meter_id"] for item in batch])
        report, findings = BatchReport(), []
        for item in batch:
            meter_id, readings = item["meter_id"], item["readings"]
            meter = loaded.get(meter_id)
            if meter is None or not in_scope(meta.scope_district, meter.district):
                # another district's meter answers exactly as a missing one (no existence oracle)
                report.refuse_all(meter_id, readings, "unknown_meter", f"no meter {meter_id}")
            else:
                recorded_since = functools.partial(self._recorded_readings, meter_id)
                outcome = meter.record_readings(readings, now, recorded_since=recorded_since)
                report.add(meter_id, outcome)
                findings += detect_gaps(meter_id, outcome.gap_intervals)
                findings += detect_counter_reversals(meter_id, outcome.rejected)
        changed: list[Aggregate] = [m for m in loaded.values() if m.pending_events]
        if findings:  # the meters' details only for the anomalies a batch may open
            changed += self._new_anomalies(findings, {m.id: _info(m) for m in loaded.values()}, now)
        answer = report.answer(message_id or f"batch-{uuid.uuid4().hex[:12]}")
        if not changed:
            return {**answer, "event_ids": []}
        return self._save_batch(changed, answer, own_key)

    def _save_batch(self, aggregates: list[Aggregate], answer: dict[str, Any], own_key: str | None) -> dict[str, Any]:
        """Like ``save``, recording the answer under the batch's own key when it came with a ``message_id``."""
        if own_key is None:
            return self.save(*aggregates, answer=answer)
        command = Idempotency(own_key, self.name, answer, current_fingerprint())
        envelopes = self.store.save_all(aggregates, self.context(), command)
        self.relay.wake()
        return {**answer, "event_ids": [e.event_id for e in envelopes]}

    # -- anomalies -----------------------------------------------------------------------------------

    def _new_anomalies(self, findings: Iterable[Finding], infos: dict[str, MeterInfo], now: datetime) -> list[Anomaly]:
        """Anomalies for the findings not raised yet (an anomaly's id is derived from its finding)."""
        fresh = {f.anomaly_id: f for f in findings if f.meter_id in infos}
        if not fresh:
            return []
        existing = self.store.find_many(Anomaly, list(fresh))
        return [Anomaly.open(f, infos[f.meter_id], now) for key, f in fresh.items() if key not in existing]

    @command(s.AcknowledgeAnomalySchema)
    def acknowledge_anomaly(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """AcknowledgeAnomaly: the agency takes the anomaly on."""
        anomaly = self.load_in_scope(Anomaly, cmd["anomaly_id"])
        anomaly.acknowledge(self.context().actor, cmd["note"], utc_now())
        return self.save(anomaly)

    @command(s.ResolveAnomalySchema)
    def resolve_anomaly(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """ResolveAnomaly: the agency rectified it and says how."""
        anomaly = self.load_in_scope(Anomaly, cmd["anomaly_id"])
        anomaly.resolve(self.context().actor, cmd["resolution"], utc_now())
        return self.save(anomaly)

    @command(s.DetectAnomaliesSchema)
    def detect_anomalies(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """DetectAnomalies: spikes, base load and stuck meters now (the timer does it every hour)."""
        today = china_today()
        days = [cmd["day"]] if cmd["day"] else [today - timedelta(days=1), today]
        calendar = work_calendar(days[0].year, cmd["holidays"], cmd["extra_workdays"])
        return self._detect(days, today, calendar)

    @timer(interval=DETECTION_INTERVAL_S)  # type: ignore[untyped-decorator]
    def detect_periodically(self) -> None:
        """The periodic detector: yesterday's and today's anomalies, then this year's quotas."""
        today = china_today()
        try:
            self._detect([today - timedelta(days=1), today], today, work_calendar(today.year))
        except Exception:  # the next round tries again; a failure must not stop the timer
            log.exception("periodic_detection_failed")
        for row in self._quota_rows(today.year):
            try:
                self._assess(row["agency_id"], today.year, today, None)
            except PlatformError as error:  # e.g. a per-m² quota of an agency without a registered building
                log.warning("quota_not_assessed", agency_id=row["agency_id"], error=error.code, message=error.message)

    def _detect(self, days: list[date], today: date, calendar: WorkCalendar) -> dict[str, Any]:
        engine = self.read_models.engine
        found = read_model.find_anomalies(engine, days, today, calendar)
        infos = {f.meter_id: info for f, info in found}
        opened = self._new_anomalies([f for f, _ in found], infos, utc_now())
        event_ids: list[str] = []
        for start in range(0, len(opened), 500):
            event_ids += self.save(*opened[start : start + 500])["event_ids"]
        ended_before = (utc_now() - timedelta(days=2)).isoformat(timespec="seconds")
        read_model.prune_flat_runs(engine, ended_before, DEFAULT_ANOMALY_RULES)
        with engine.connect() as conn:
            for kind, count in read_model.open_anomaly_counts(conn).items():
                OPEN_ANOMALIES.labels(self.name, kind).set(count)
        log.info("anomalies_detected", found=len(found), opened=len(opened))
        return {
            "days": [d.isoformat() for d in days],
            "found": len(found),
            "opened": [a.id for a in opened],
            "event_ids": event_ids,
        }

    # -- quotas --------------------------------------------------------------------------------------

    @command(s.SetEnergyQuotaSchema)
    def set_quota(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """SetEnergyQuota: an agency's quota for a year, absolute (tce) or per m² (kgce/m²)."""
        agency = self._agency_of(cmd)
        quota = EnergyQuota.set(
            agency_id=agency.agency_id,
            district=agency.district,
            year=cmd["year"],
            basis=cmd["basis"],
            limit=cmd["limit"],
            today=china_today(),
        )
        return self.save(quota)

    @command(s.ReviseEnergyQuotaSchema)
    def revise_quota(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """ReviseEnergyQuota: a new limit, with the reason."""
        quota = self.store.load(EnergyQuota, EnergyQuota.stream_id_for(cmd["agency_id"], cmd["year"]))
        quota.revise(cmd["limit"], cmd["reason"], china_today())
        return self.save(quota)

    @command(s.AssessEnergyQuotaSchema)
    def assess_quota(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """AssessEnergyQuota: the year-to-date trend against the quota; an alert when it will be exceeded."""
        return self._assess(cmd["agency_id"], cmd["year"], cmd["as_of"], cmd["floor_area_m2"])

    def _assess(self, agency_id: str, year: int, as_of: date, floor_area_m2: float | None) -> dict[str, Any]:
        quota = self.store.load(EnergyQuota, EnergyQuota.stream_id_for(agency_id, year))
        with self.read_models.engine.connect() as conn:
            use = read_model.year_uses(conn, year, as_of, agency_id=agency_id).get(agency_id) or YearUse({}, {}, {})
            area = floor_area_m2 or read_model.floor_area(conn, agency_id)
        forecast = quota.assess(use, as_of, area, self._factors_for(year))
        answer = {
            **vars(forecast),
            "insufficient_kinds": list(forecast.insufficient_kinds),
            "year_to_date": use.year_to_date,
            "annualised": use.annualised,
            "coverage": {kind: c.as_dict() for kind, c in use.coverage.items()},
            "sufficiency_version": DEFAULT_SUFFICIENCY.version,
            "floor_area_m2": area,
        }
        if not quota.pending_events:
            return {"id": quota.id, "version": quota.version, **answer, "event_ids": []}
        return self.save(quota, answer=answer)

    def _quota_rows(self, year: int) -> list[dict[str, Any]]:
        with self.read_models.engine.connect() as conn:
            return read_model.quotas_of_year(conn, year)

    # -- annual consumption reports (the 2020 baseline, unmetered use) ------------------------------

    @command(s.ReportAnnualConsumptionSchema)
    def report_annual_consumption(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """ReportAnnualConsumption: an agency's use of a year that is over, from its energy statistics."""
        agency = self._agency_of(cmd)
        report = AnnualConsumptionReport.report(
            agency_id=agency.agency_id,
            district=agency.district,
            year=cmd["year"],
            totals=cmd["totals"],
            source=cmd["source"],
            today=china_today(),
            vehicle_fuel=cmd["vehicle_fuel"],
            floor_area_m2=cmd["floor_area_m2"],
            people_served=cmd["people_served"],
        )
        return self.save(report)

    @command(s.CloseEnergyYearSchema)
    def close_energy_year(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """CloseEnergyYear: the year's figures frozen with the versions of the methods they used."""
        actor = self.context().actor or "unknown"
        closing = ClosedYear.close(cmd["year"], cmd["figures"], cmd["versions"], actor, china_today())
        return self.save(closing)

    @command(s.RestateEnergyYearSchema)
    def restate_energy_year(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """RestateEnergyYear: a closed year's new figures and versions, applied by explicit decision."""
        closing = self.store.load(ClosedYear, ClosedYear.stream_id_for(cmd["year"]))
        actor = self.context().actor or "unknown"
        closing.restate(cmd["figures"], cmd["versions"], cmd["reason"], actor, china_today())
        return self.save(closing)

    # -- conversion factor tables --------------------------------------------------------------------

    @command(s.AdoptFactorTableSchema)
    def adopt_factor_table(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """AdoptFactorTable: a factor table for the years it names; a closed year keeps its figures (the data
        center proposes their restatement)."""
        tables = self._factor_tables()
        adopted = tables.adopt(cmd, self.factors, self.context().actor or "unknown", china_today())
        return self.save(tables, answer=adopted.to_dict())

    @command(s.FactorTablesQuerySchema)
    def list_factor_tables(self, query: dict[str, Any]) -> dict[str, Any]:
        """The default factor table and every adopted one, in adoption order, with the years each is valid for."""
        adopted = self._factor_tables().adopted
        return {"default": self.factors.to_dict(), "items": [entry.to_dict() for entry in adopted]}

    def _factor_tables(self) -> FactorTables:
        """The adopted tables, read from their stream (a few events: always current, no read model to lag)."""
        return self.store.find(FactorTables, FactorTables.STREAM_ID) or FactorTables(FactorTables.STREAM_ID)

    def _factors_for(self, year: int) -> FactorTable:
        """The factor table the figures of ``year`` use."""
        return self._factor_tables().for_year(year, self.factors)

    def _factors_of_years(self) -> Callable[[int], FactorTable]:
        """The factor table of each year, the adopted tables read once."""
        tables = self._factor_tables()
        return lambda year: tables.for_year(year, self.factors)

    @command(s.CorrectAnnualConsumptionSchema)
    def correct_annual_consumption(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """CorrectAnnualConsumption: replace a year's reported totals, saying why."""
        report = self.store.load(
            AnnualConsumptionReport, AnnualConsumptionReport.stream_id_for(cmd["agency_id"], cmd["year"])
        )
        report.correct(cmd["totals"], cmd["reason"], china_today())
        return self.save(report)

    # -- queries -------------------------------------------------------------------------------------

    @command(s.MetersQuerySchema)
    def list_meters(self, query: dict[str, Any]) -> list[dict[str, Any]]:
        """Meters of an agency, a building or a district."""
        with self.read_models.engine.connect() as conn:
            return read_model.list_meters(
                conn, query["agency_id"], query["building_id"], query["district"], query["limit"]
            )

    @command(s.ConsumptionQuerySchema)
    def consumption(self, query: dict[str, Any]) -> dict[str, Any]:
        """Use per hour, day or month by meter, building, agency, district, kind or sub-item, with tce and CO₂."""
        with self.read_models.engine.connect() as conn:
            return read_model.consumption(conn, query, self._factors_of_years())

    @command(s.ListAnomaliesQuerySchema)
    def list_anomalies(self, query: dict[str, Any]) -> list[dict[str, Any]]:
        """Anomalies, newest first."""
        with self.read_models.engine.connect() as conn:
            return read_model.list_anomalies(conn, query)

    @command(s.GapsQuerySchema)
    def list_gaps(self, query: dict[str, Any]) -> list[dict[str, Any]]:
        """Intervals without readings, newest first."""
        with self.read_models.engine.connect() as conn:
            return read_model.list_gaps(conn, query["agency_id"], query["district"], query["meter_id"], query["limit"])

    @command(s.QuotasQuerySchema)
    def list_quotas(self, query: dict[str, Any]) -> list[dict[str, Any]]:
        """Quotas with their open overrun alerts."""
        with self.read_models.engine.connect() as conn:
            return read_model.list_quotas(conn, query["year"], query["agency_id"], query["district"])

    @command(s.AnnualReportsQuerySchema)
    def list_annual_reports(self, query: dict[str, Any]) -> list[dict[str, Any]]:
        """Annual consumption reports."""
        with self.read_models.engine.connect() as conn:
            return read_model.list_annual_reports(conn, query["year"], query["agency_id"], query["district"])

    @command(s.TargetsQuerySchema)
    def target_totals(self, query: dict[str, Any]) -> list[dict[str, Any]]:
        """The consumption side of the targets: tce, CO₂ and water of a year and of 2020, per agency."""
        with self.read_models.engine.connect() as conn:
            return read_model.totals_for_targets(
                conn=conn,
                year=query["year"],
                agency_id=query["agency_id"],
                district=query["district"],
                factors=self._factors_for(query["year"]),
                today=china_today(),
            )
