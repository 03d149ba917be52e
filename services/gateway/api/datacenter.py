"""The data center (机关事务大数据中心): city, district and agency figures against the targets, the
conservation-agency scorecard, the energy trend and the open findings of every system, read from the
gateway's projections (``services/gateway/datacenter.py``); and the dashboard page.

The answers are kept per question and projection version (``services/gateway/readcache.py``); after new events
the agencies' figures are assembled from per-agency parts kept until what they read changes, derived again
only for the agencies whose figures changed (``services/gateway/figures.py``). Every answer says what it reflects
(``as_of``, and per topic the position applied and the events not yet applied: read before the figures, so
they reflect at least that). District operators read the city's and every district's totals, but agency
details, the scorecard's agencies and the findings only of their own district.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection
from sqlalchemy.engine import Engine
from werkzeug.wrappers import Request, Response

from services.common.base.db import reader
from services.common.base.settings import settings
from services.common.kernel.clock import china_today, utc_now
from services.common.kernel.errors import NotFound
from services.common.kernel.schemas import load_command as validated
from services.common.read.projector import Projector
from services.common.runtime.responses import EncodedAnswer, KeptMembers, encoded_reusing
from services.gateway import datacenter as dc
from services.gateway import statistics_report as statistics
from services.gateway.auth import CITY_ADMINS, READERS, Principal
from services.gateway.figures import figures_of
from services.gateway.readcache import Version, answers_of, applied_version, file_stamp
from services.gateway.schemas import (
    DataCenterQuerySchema,
    EnergyTrendQuerySchema,
    EnergyYearSchema,
    FindingsQuerySchema,
    RestatementSchema,
    StatisticsReportQuerySchema,
    YearQuerySchema,
)
from services.gateway.scorecard import Scorecard, coverage, load_scorecard
from services.gateway.tabular import XLSX, KeptLines
from services.gateway.views import agencies as directory
from services.gateway.views import energy as energy_view
from services.gateway.web import api, call, read_json

T = TypeVar("T")

DASHBOARD = Path(__file__).resolve().parents[1] / "dashboard" / "index.html"

JSON_MEMBERS = "json"
"""The key of a kept answer's ``KeptMembers`` among its downloads (whose keys are tuples)."""


class DataCenterApi:
    """Read-only routes over the data center's projections."""

    db: Engine
    datacenter: Projector
    energy: Any
    """The energy service's RPC proxy (declared on ``EnergyApi``, joined into the same gateway class)."""
    _version: Version | None = None
    """The projection version this request's answer is computed at (a worker's instance serves one request)."""

    @api("GET", "/", roles=None, content_type="text/html")
    def dashboard(self, request: Request, principal: None) -> Response:
        """The dashboard (Chinese first, English available); it asks for a token and reads the API."""
        return Response(DASHBOARD.read_bytes(), content_type="text/html; charset=utf-8")

    @api("GET", "/api/v1/datacenter/city", roles=READERS, query=YearQuerySchema, table="districts")
    def city(self, request: Request, principal: Principal) -> dict[str, Any]:
        """City-wide figures against the targets, every district's, and conservation-agency coverage."""
        scope = self._scope(validated(YearQuerySchema, request.args.to_dict()))
        return self._kept(
            ("city", scope), lambda conn: dc.city(conn, scope, self._scorecard(), self._basis(conn, scope))
        )

    @api(
        "GET", "/api/v1/datacenter/agencies", roles=READERS, query=DataCenterQuerySchema, scope="listing", table="items"
    )
    def agencies(self, request: Request, principal: Principal) -> dict[str, Any]:
        """Per agency figures and scorecard results (a district operator sees its own district's)."""
        scope = self._scope(validated(DataCenterQuerySchema, request.args.to_dict()), principal)
        return self._kept(
            ("agencies", scope), lambda conn: {"year": scope.year, "items": self._basis(conn, scope).agencies}
        )

    @api("GET", "/api/v1/datacenter/agencies/<agency_id>", roles=READERS, query=YearQuerySchema, scope="resource")
    def agency_profile(self, request: Request, principal: Principal, agency_id: str) -> dict[str, Any]:
        """One agency's profile: every system's figures, its scorecard, its open findings, its energy trend."""
        query = validated(DataCenterQuerySchema, {**request.args.to_dict(), "agency_id": agency_id})
        scope = self._scope(query)

        def profile(conn: Connection) -> dict[str, Any] | None:
            rows = self._basis(conn, scope).agencies
            if not rows:
                return None
            kept = figures_of(self.db)
            return {**rows[0], "findings": kept.open_items(conn, scope), "trend": kept.trend(conn, scope, 12)}

        body, status = self._figures(("agency_profile", scope), profile)
        if body is None:
            raise NotFound(f"agency {agency_id} not found")
        principal.require_district(body["district"])
        return self._answer(body, status)

    @api("GET", "/api/v1/datacenter/findings", roles=READERS, query=FindingsQuerySchema, scope="listing", table="items")
    def findings(self, request: Request, principal: Principal) -> dict[str, Any]:
        """Open findings and anomalies of every system, filterable by district, agency, system, kind and age."""
        q = validated(FindingsQuerySchema, request.args.to_dict())
        scope = self._scope(q, principal)
        filters = (q["kind"], q["system"], q["min_age_days"])
        return self._kept(
            ("findings", scope, filters), lambda conn: {"items": figures_of(self.db).open_items(conn, scope, *filters)}
        )

    @api(
        "GET",
        "/api/v1/datacenter/energy-trend",
        roles=READERS,
        query=EnergyTrendQuerySchema,
        scope="listing",
        table="items",
    )
    def energy_trend(self, request: Request, principal: Principal) -> dict[str, Any]:
        """Metered energy (tce, CO₂), electricity and water per month, for the city, a district or an agency."""
        q = validated(EnergyTrendQuerySchema, request.args.to_dict())
        scope = self._scope(q, principal)
        if scope.agency_id and principal.visible_district():  # the agency's district from the directory
            with reader(self.db).connect() as conn:
                found = directory.agency_row(conn, scope.agency_id)
            principal.require_district(found["district"] if found else None)
        months = q["months"]
        return self._kept(
            ("energy_trend", scope, months), lambda conn: {"items": figures_of(self.db).trend(conn, scope, months)}
        )

    @api(
        "GET",
        "/api/v1/datacenter/scorecard",
        roles=READERS,
        query=DataCenterQuerySchema,
        scope="listing",
        table="items,criteria",
    )
    def scorecard(self, request: Request, principal: Principal) -> dict[str, Any]:
        """The conservation-oriented agency scorecard (节约型机关): its criteria, each agency's result, coverage."""
        scope = self._scope(validated(DataCenterQuerySchema, request.args.to_dict()), principal)
        return self._kept(("scorecard", scope), lambda conn: self._judged(conn, scope))

    def _judged(self, conn: Connection, scope: dc.Scope) -> dict[str, Any]:
        """The scorecard's answer: its criteria, each agency's result, coverage."""
        card = self._scorecard()
        judged = self._basis(conn, scope).agencies
        items = [
            {
                "agency_id": a["agency_id"],
                "name": a["name"],
                "district": a["district"],
                "kind": a["kind"],
                "admin_level": a["admin_level"],
                "score": a["conservation_score"],
                "conservation_agency": a["conservation_agency"],
                "criteria": a["scorecard"],
            }
            for a in judged
        ]
        return {**card.describe(), "year": scope.year, "items": items, "coverage": coverage(judged)}

    # -- closed years (公共机构能源资源消费统计 关账) ------------------------------------------------------

    @api("GET", "/api/v1/datacenter/energy-years", roles=READERS)
    def closed_energy_years(self, request: Request, principal: Principal) -> dict[str, Any]:
        """Closed years with the versions of the methods their figures used, and when they were restated."""
        with reader(self.db).connect() as conn:
            return self._answer({"items": energy_view.closed_years_list(conn)})

    @api("POST", "/api/v1/datacenter/energy-years/<year>/close", roles=CITY_ADMINS, status=201, scope="service")
    def close_energy_year(self, request: Request, principal: Principal, year: str) -> tuple[int, Any]:
        """Close a year that is over: every agency's energy figures as the data center sums them now (with the
        factor table valid for the year), frozen with the versions of the factors, sufficiency rules and
        targets (the energy service records them)."""
        wanted = validated(EnergyYearSchema, {"year": year})["year"]
        with reader(self.db).connect() as conn:
            table = energy_view.factors_for(conn, wanted)
            figures = dc.closing_figures(conn, wanted, china_today(), table)
        body = {"year": wanted, "figures": figures, "versions": dc.method_versions(table)}
        return 201, call(self.energy.close_energy_year, body)

    @api(
        "POST",
        "/api/v1/datacenter/energy-years/<year>/restatement",
        roles=CITY_ADMINS,
        body=RestatementSchema,
        scope="service",
    )
    def restate_energy_year(self, request: Request, principal: Principal, year: str) -> Any:
        """Apply the proposed restatement of a closed year: its figures as the data center sums them now, with
        today's method versions (the factor table now valid for the year), and the reason (only by this
        explicit command)."""
        body = read_json(request)
        loaded = validated(RestatementSchema, {**(body if isinstance(body, dict) else {}), "year": year})
        with reader(self.db).connect() as conn:
            table = energy_view.factors_for(conn, loaded["year"])
            figures = dc.closing_figures(conn, loaded["year"], china_today(), table)
        command = {"year": loaded["year"], "figures": figures, "versions": dc.method_versions(table)}
        return call(self.energy.restate_energy_year, command | {"reason": loaded["reason"]})

    @api(
        "GET",
        "/api/v1/datacenter/energy-years/<year>/statistics-report",
        roles=READERS,
        query=StatisticsReportQuerySchema,
        scope="listing",
        content_type=XLSX,
    )
    def energy_statistics_report(self, request: Request, principal: Principal, year: str) -> Response:
        """The annual public-institution energy and resource consumption statistics report (公共机构能源资源消费
        统计) of a closed year as an XLSX form: per agency, summed per district and for the city (a district
        operator: its own district, no city total), each kind in its unit, tce and CO₂, with the factors."""
        wanted = validated(EnergyYearSchema, {"year": year})["year"]
        query = validated(StatisticsReportQuerySchema, request.args.to_dict())
        district = principal.visible_district() or query["district"]

        def report(conn: Connection) -> bytes:
            closed = energy_view.closed_year(conn, wanted)
            listed = directory.agency_rows(conn, district, 1_000_000, 0)
            table = energy_view.factors_for(conn, wanted)  # the year's table: an adopted one, else the default
            if closed is None:
                raise NotFound(f"{wanted} is not closed", fields={"year": ["close the year first"]})
            statistics.require_same_factors(closed["versions"], table)
            members = [a for a in listed if a["agency_id"] in closed["figures"]]
            rows = statistics.report_rows(closed["figures"], members, statistics.factors_of(table), district is None)
            return statistics.workbook(wanted, closed, rows, table, query["lang"], settings().districts)

        # kept until the projections apply anything new (a restatement, an agency renamed), as every answer here
        body, _ = self._figures(("statistics_report", wanted, district, query["lang"]), report)
        disposition = f'attachment; filename="energy-statistics-{wanted}.xlsx"'
        return Response(body, content_type=XLSX, headers={"Content-Disposition": disposition})

    # -- helpers -------------------------------------------------------------------------------------

    def _scope(self, query: dict[str, Any], principal: Principal | None = None) -> dc.Scope:
        today = china_today()
        district = (principal.visible_district() if principal else None) or query.get("district")
        return dc.Scope(query.get("year") or today.year, today, district, query.get("agency_id"))

    def _scorecard(self) -> Scorecard:
        return load_scorecard(settings().scorecard_file)

    def _kept(self, question: Hashable, compute: Callable[[Connection], dict[str, Any]]) -> dict[str, Any]:
        """The answer to ``question`` (``readcache``): kept, with its JSON and its downloads, until the projections
        apply anything new."""

        def figures(conn: Connection) -> tuple[dict[str, Any], bytes, dict[Any, Any]]:
            body = compute(conn)
            kept: dict[Any, Any] = {JSON_MEMBERS: KeptMembers()}
            if self.datacenter is not None:  # a batch that changed nothing of it: its JSON and downloads stand
                old = answers_of(self.db).previous((question, file_stamp(settings().scorecard_file)))
                if isinstance(old, tuple) and len(old) == 3 and old[0] == body:
                    return old  # type: ignore[return-value]
                if isinstance(old, tuple) and len(old) == 3:  # only its new rows are encoded and written again
                    kept = {k: v for k, v in old[2].items() if isinstance(v, KeptLines | KeptMembers)}
            return body, encoded_reusing(body, kept.setdefault(JSON_MEMBERS, KeptMembers())), kept

        (body, body_json, exports), status = self._figures(question, figures)
        return EncodedAnswer(self._head(status), body, body_json, exports)

    def _figures(self, question: Hashable, compute: Callable[[Connection], T]) -> tuple[T, dict[str, Any]]:
        """``compute``'s figures, kept under ``question`` (with the scorecard file it may read) and the
        projection's version; with the projector's status read first, so the figures reflect at least it."""
        status = self.datacenter.status() if self.datacenter is not None else {}

        def computed() -> T:
            with reader(self.db).connect() as conn:
                return compute(conn)

        if self.datacenter is None:
            return computed(), status
        self._version = applied_version(reader(self.db), self.datacenter.name)
        key = (question, file_stamp(settings().scorecard_file))
        return answers_of(self.db).answer(key, self._version, computed), status

    def _basis(self, conn: Connection, scope: dc.Scope) -> dc.Judged:
        """The scope's agencies judged, shared by the city's, the agencies' and the scorecard's answers of the same
        projection version (the dashboard asks the three together)."""
        version = self._version
        if version is None:
            return dc.judge(conn, scope, self._scorecard())
        stamp = file_stamp(settings().scorecard_file)
        kept = figures_of(self.db)
        return answers_of(self.db).answer(
            ("judged", scope, stamp), version, lambda: kept.judge(conn, scope, self._scorecard(), stamp)
        )

    def _head(self, status: dict[str, Any]) -> dict[str, Any]:
        """What an answer reflects: when it was given, and the positions the projections had applied."""
        return {"as_of": utc_now().isoformat(timespec="seconds"), "freshness": dc.freshness(status)}

    def _answer(self, body: dict[str, Any], status: dict[str, Any] | None = None) -> dict[str, Any]:
        if status is None:
            status = self.datacenter.status() if self.datacenter is not None else {}
        return {**self._head(status), **body}
