"""The data center's read routes keep their answers until the projector applies anything new
(``services.gateway.readcache``): a read after new events sees them, and a kept answer equals the one computed
afresh. The routes are called in process on a gateway database of the test's own; events are applied by the
projector's own transaction (rows and offsets together), without a broker."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from werkzeug.test import EnvironBuilder

from services.common.base.db import reader
from services.common.kernel.clock import china_today
from services.common.read.projector import decoded
from services.gateway import auth, tabular
from services.gateway import datacenter as dc
from services.gateway.api import datacenter as api
from services.gateway.api.datacenter import DataCenterApi
from services.gateway.readcache import answers_of
from services.gateway.scorecard import load_scorecard
from services.gateway.views import energy as energy_view
from tests.city import Town, agency_envelopes

DISTRICT = "320402"


class City(Town):
    """A gateway database, its projector and a viewer's token."""

    def __init__(self, folder: Path) -> None:
        super().__init__(folder, "viewer")

    def register(self, seq: int, *event_types: str) -> None:
        """Apply agency ``seq``'s events of ``event_types`` as the projector applies a batch."""
        records = self.records([env for env in agency_envelopes(seq, DISTRICT) if env.event_type in event_types])
        self.projector._commit_batch(records, [decoded(r) for r in records], isolate=False)

    def get(self, route: str, path: str, **query: str) -> dict[str, Any]:
        body: dict[str, Any] = json.loads(self.answer(route, path, **query))
        return body


@pytest.fixture
def city(tmp_path: Path) -> Iterator[City]:
    made = City(tmp_path)
    made.register(0, "AgencyRegistered", "BuildingRegistered", "RoomAdded", "StaffPosted")
    yield made
    made.engine.dispose()


def test_a_read_after_new_events_sees_them(city: City) -> None:
    first = city.get("agencies", "/api/v1/datacenter/agencies")
    assert [a["agency_id"] for a in first["items"]] == ["BENCH00000"]
    assert city.get("city", "/api/v1/datacenter/city")["city"]["agencies"] == 1
    computed = answers_of(city.engine).computed

    city.register(1, "AgencyRegistered")  # one more agency applied by the projector

    second = city.get("agencies", "/api/v1/datacenter/agencies")
    assert [a["agency_id"] for a in second["items"]] == ["BENCH00000", "BENCH00001"]
    assert city.get("city", "/api/v1/datacenter/city")["city"]["agencies"] == 2  # 1 + the new one
    # both computed again, none served stale: the agencies judged once (shared by both), then each answer
    assert answers_of(city.engine).computed == computed + 3
    topics = second["freshness"]["topics"]
    assert topics["office_space.events"]["position"] == city.offsets["office_space.events"]


def test_an_answer_asked_again_is_kept_and_equals_the_one_computed_afresh(city: City) -> None:
    scope = dc.Scope(china_today().year, china_today())
    card = load_scorecard(None)
    with reader(city.engine).connect() as conn:
        afresh = {
            "city": dc.city(conn, scope, card),
            "agencies": dc.agencies(conn, scope, card),
            "findings": dc.open_items(conn, scope),
        }
    for _ in range(2):
        answers = {
            "city": city.get("city", "/api/v1/datacenter/city"),
            "agencies": city.get("agencies", "/api/v1/datacenter/agencies")["items"],
            "findings": city.get("findings", "/api/v1/datacenter/findings")["items"],
        }
        for name, body in answers.items():
            kept = {k: v for k, v in body.items() if k not in ("as_of", "freshness")} if name == "city" else body
            assert json.loads(json.dumps(kept)) == json.loads(json.dumps(afresh[name])), name
    # the agencies judged once for city and agencies, then the three answers; the second round was served kept
    assert answers_of(city.engine).computed == 1 + 3


def test_each_filter_of_the_findings_is_its_own_question(city: City) -> None:
    city.register(0, "RoomHeldByDepartedStaff", "UnapprovedLeaseFound", "AnomalyRaised")
    every = city.get("findings", "/api/v1/datacenter/findings")["items"]
    energy = city.get("findings", "/api/v1/datacenter/findings", system="energy")["items"]
    assert {item["system"] for item in energy} == {"energy"}
    assert len(energy) < len(every)


def test_a_kept_answers_download_is_the_one_made_afresh(city: City) -> None:
    answer = city.get("agencies", "/api/v1/datacenter/agencies")
    afresh = tabular.export(answer, "items", "csv", "zh", "agencies").get_data()
    downloads = [city.answer("agencies", "/api/v1/datacenter/agencies", format="csv") for _ in range(2)]
    assert downloads == [afresh, afresh]
    city.register(1, "AgencyRegistered")
    assert "机关00001".encode() in city.answer("agencies", "/api/v1/datacenter/agencies", format="csv")


def test_an_answer_a_batch_left_as_it_was_keeps_its_json_and_downloads(city: City) -> None:
    city.register(0, "RoomHeldByDepartedStaff", "UnapprovedLeaseFound")
    first = city.answer("findings", "/api/v1/datacenter/findings", format="xlsx")
    key = (("findings", dc.Scope(china_today().year, china_today()), (None, None, 0)), None)
    kept = answers_of(city.engine).previous(key)
    computed = answers_of(city.engine).computed

    city.register(1, "AgencyRegistered")  # the offsets move; no finding changes

    assert city.answer("findings", "/api/v1/datacenter/findings", format="xlsx") == first
    assert answers_of(city.engine).computed == computed + 1  # answered again, for the new offsets
    assert answers_of(city.engine).previous(key) is kept  # with the same JSON and the download made before


def test_a_reports_download_with_a_summary_is_kept_while_its_head_stands(
    city: City, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The scorecard's XLSX has a summary sheet holding the answer's head (``as_of``, ``freshness``), which is this
    # request's own: the download is kept while the head is the same and made again when it moves.
    moments = iter([datetime(2026, 12, 7, 1, 2, 3, tzinfo=UTC)] * 2 + [datetime(2026, 12, 7, 1, 2, 4, tzinfo=UTC)] * 9)
    monkeypatch.setattr(api, "utc_now", lambda: next(moments))
    made: list[str] = []
    export = tabular.export

    def counted(body: Any, *args: Any, **kwargs: Any) -> Any:
        made.append(str(body["as_of"]))
        return export(body, *args, **kwargs)

    monkeypatch.setattr(tabular, "export", counted)

    first, again = (city.answer("scorecard", "/api/v1/datacenter/scorecard", format="xlsx") for _ in range(2))
    later = city.answer("scorecard", "/api/v1/datacenter/scorecard", format="xlsx")

    assert first == again
    assert made == ["2026-12-07T01:02:03+00:00", "2026-12-07T01:02:04+00:00"]  # made once per head, not per request
    summaries = [rows for title, rows in _workbook(later).items() if title not in ("items", "criteria")]
    assert "2026-12-07T01:02:04+00:00" in summaries[0][1]  # the summary sheet's one row: this request's head
    assert later != first


def _workbook(data: bytes) -> dict[str, list[list[Any]]]:
    book = load_workbook(io.BytesIO(data), read_only=True)
    return {sheet.title: [list(row) for row in sheet.iter_rows(values_only=True)] for sheet in book.worksheets}


def test_a_district_operator_reads_the_energy_trend_of_its_own_districts_agencies_only(city: City) -> None:
    # the agency's district is looked up in the directory (not by computing its figures)
    tokens = {
        district: auth.create_token(city.engine, "operator", "district_operator", district)
        for district in (DISTRICT, "320411")
    }

    def trend(district: str, agency_id: str) -> tuple[int, dict[str, Any]]:
        token = tokens[district]
        request = EnvironBuilder(
            path="/api/v1/datacenter/energy-trend",
            query_string={"agency_id": agency_id, "months": "3"},
            headers={"Authorization": f"Bearer {token}"},
        ).get_request()
        response = DataCenterApi.energy_trend(city.gateway, request)
        return response.status_code, json.loads(response.get_data())

    status, body = trend(DISTRICT, "BENCH00000")
    assert status == 200 and len(body["items"]) == 3
    status, body = trend("320411", "BENCH00000")  # another district's operator
    assert (status, body["error"]) == (403, "not_in_scope")
    status, body = trend(DISTRICT, "NO-SUCH-AGENCY")  # unknown: refused as outside, as before
    assert status == 403


def test_a_closed_years_statistics_report_is_kept_until_the_projections_move(city: City) -> None:
    def report() -> bytes:
        request = EnvironBuilder(
            path="/api/v1/datacenter/energy-years/2025/statistics-report",
            headers={"Authorization": f"Bearer {city.token}"},
        ).get_request()
        response = DataCenterApi.energy_statistics_report(city.gateway, request, year="2025")
        assert response.status_code == 200, response.get_data(as_text=True)
        return bytes(response.get_data())

    def apply(event_type: str, **changed: Any) -> None:
        """The contract's example of ``event_type`` for this agency, with the platform's method versions."""
        with reader(city.engine).connect() as conn:
            versions = dc.method_versions(energy_view.factors_for(conn, 2025))
        (example,) = [e for e in agency_envelopes(0, DISTRICT) if e.event_type == event_type]
        made = replace(example, payload={**example.payload, "versions": versions, **changed})
        records = city.records([made])
        city.projector._commit_batch(records, [decoded(r) for r in records], isolate=False)

    apply("EnergyYearClosed", figures={"BENCH00000": {"electricity_kwh": 125_000.0, "energy_tce": 15.3625}})
    computed = answers_of(city.engine).computed
    first = report()
    assert report() == first and answers_of(city.engine).computed == computed + 1  # made once, then kept
    assert "BENCH00000" in str(_workbook(first))

    apply("EnergyYearRestated", figures={"BENCH00000": {"electricity_kwh": 130_000.0, "energy_tce": 15.977}})

    restated = report()
    assert answers_of(city.engine).computed == computed + 2 and restated != first
