"""The procurement service's commands and read models on a real store (SQLite and PostgreSQL), without
brokers: the service runs in-process (``worker_factory``) and its projections are fed the stored events (and,
for the idle-first check, an assets-service envelope) directly."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from services.common.kernel.clock import china_today, iso
from services.common.kernel.events import Envelope
from services.common.runtime.rpc import ServiceError
from services.gateway.views import procurement as datacenter
from services.procurement import read_model
from services.procurement.service import ProcurementService
from tests.integration.harness import ServiceHarness

TODAY: date
"""Today in Beijing time, the calendar the services count days in."""


def read_the_clock() -> None:
    """Today, read as the module is imported and again as each test starts (``tests/conftest.py``)."""
    global TODAY
    TODAY = china_today()


read_the_clock()


class Harness(ServiceHarness):
    """The procurement service with a real store and read models; ``project()`` applies what was stored."""

    def __init__(self, url: str) -> None:
        agencies = (("AG-1", "320402"), ("AG-2", "320404"))
        super().__init__(
            url,
            "procurement",
            ProcurementService,
            read_model.ProcurementViews(),
            ["procurement_views"],
            agencies,
            headcount=20,
        )

    def receive_from_assets(
        self, payload: dict[str, Any], event_type: str = read_model.ASSETS_AUTHORISATION_EVENT
    ) -> None:
        now = iso(datetime.now(UTC))
        env = Envelope(
            event_id=str(uuid.uuid4()),
            event_type=event_type,
            schema_version=1,
            stream_type="WarehouseRequest",
            stream_id="WR-1",
            stream_version=1,
            occurred_at=now,
            recorded_at=now,
            district="320402",
            agency_id="AG-1",
            actor="city_admin:assets",
            correlation_id="c-1",
            causation_id=None,
            payload=payload,
            domain="assets",
        )
        with self.engine.begin() as conn:
            read_model.ReceivedAuthorisations().apply(conn, env)

    def refused(self, method: str, body: dict[str, Any]) -> ServiceError:
        with pytest.raises(ServiceError) as refused:
            getattr(self.service, method)(body)
        return refused.value

    def line(self, agency: str = "AG-1", amount: int = 1_000_000) -> str:
        body = {"agency_id": agency, "year": TODAY.year, "purpose": "办公", "amount_fen": amount}
        return str(self.service.open_budget_line(body)["id"])

    def request(self, item: str, line: str, quantity: int = 10, price: int = 5_000, **extra: Any) -> dict[str, Any]:
        body = {"agency_id": "AG-1", "item_code": item, "quantity": quantity, "estimated_unit_price_fen": price}
        return dict(self.service.submit_purchase_request(body | {"budget_line_id": line} | extra))


def authorised(request_id: str, category: str, quantity: int) -> dict[str, Any]:
    """The assets service's ``PurchaseAuthorised`` payload (services/assets/domain/warehouse.py)."""
    return {
        "request_id": request_id,
        "agency_id": "AG-1",
        "district": "320402",
        "category": category,
        "asset_category": "furniture",
        "quantity": quantity,
        "idle_items_checked": 4,
        "idle_items_fitting": 0,
        "authorised_on": TODAY.isoformat(),
    }


@pytest.fixture
def procurement(db_url: str) -> Harness:
    harness = Harness(db_url)
    harness.service.list_catalog_item(
        {"item_code": "A-paper", "name": "A4 复印纸", "category": "office_supplies"} | {"unit": "box"}
    )
    harness.service.list_catalog_item(
        {"item_code": "F-desk", "name": "办公桌", "category": "furniture", "unit": "piece"}
    )
    return harness


def test_a_request_above_what_remains_is_refused_with_the_figures_and_stores_nothing(procurement: Harness) -> None:
    line = procurement.line(amount=60_000)
    procurement.request("A-paper", line)  # 50 000 reserved
    before = procurement.store.last_position()
    body = {"agency_id": "AG-1", "item_code": "A-paper", "quantity": 3, "estimated_unit_price_fen": 5_000}
    error = procurement.refused("submit_purchase_request", body | {"budget_line_id": line})
    assert (error.code, error.details["remaining_fen"], error.details["requested_fen"]) == (
        "budget_exceeded",
        10_000,
        15_000,
    )
    error = procurement.refused("submit_purchase_request", body | {"budget_line_id": "NO-LINE"})
    assert (error.code, error.fields) == ("no_budget_line", {"budget_line_id": ["no budget line"]})
    assert procurement.store.last_position() == before
    procurement.project()
    with procurement.engine.connect() as conn:
        (row,) = read_model.budget_lines_of(conn, {"agency_id": "AG-1", "year": None, "limit": 10, "offset": 0})
    assert (row["committed_fen"], row["remaining_fen"]) == (50_000, 10_000)


def test_furniture_needs_the_assets_services_authorisation_which_serves_one_request(procurement: Harness) -> None:
    line = procurement.line()
    error = procurement.refused(
        "submit_purchase_request",
        {"agency_id": "AG-1", "item_code": "F-desk", "quantity": 2, "estimated_unit_price_fen": 90_000}
        | {"budget_line_id": line},
    )
    assert error.code == "idle_stock_check_required"
    procurement.receive_from_assets(authorised("WR-1", "furniture", 2))
    procurement.receive_from_assets(authorised("WR-1", "furniture", 2))  # published again: absorbed
    answer = procurement.request("F-desk", line, quantity=2, price=90_000, authorisation_id="WR-1")
    assert len(answer["event_ids"]) == 4  # received + used, committed, submitted: one transaction
    error = procurement.refused(
        "submit_purchase_request",
        {"agency_id": "AG-1", "item_code": "F-desk", "quantity": 1, "estimated_unit_price_fen": 90_000}
        | {"budget_line_id": line, "authorisation_id": "WR-1"},
    )
    assert error.code == "purchase_authorisation_already_used"


def test_an_assets_event_that_does_not_fit_is_refused_by_the_projection(procurement: Harness) -> None:
    with pytest.raises(Exception, match="invalid input"):
        procurement.receive_from_assets(authorised("WR-2", "furniture", 0))
    procurement.receive_from_assets(authorised("WR-3", "printing", 1))  # bought without the check: not needed
    with procurement.engine.connect() as conn:
        assert read_model.received_authorisation(conn, "WR-2") is None
        assert read_model.received_authorisation(conn, "WR-3") is None


def test_a_tender_awards_the_lowest_compliant_bid_and_acceptance_spends_the_budget(procurement: Harness) -> None:
    line = procurement.line()
    request_id = procurement.request("A-paper", line)["id"]
    closes = datetime.now(UTC) + timedelta(seconds=1)
    tender = procurement.service.open_tender(
        {"district": "320402", "request_ids": [request_id], "reference_unit_price_fen": 5_000}
        | {"closes_at": closes.isoformat()}
    )["id"]
    for supplier, price in (("S-1", 4_800), ("S-2", 4_500), ("S-3", 2_000)):
        procurement.service.submit_bid(
            {"tender_id": tender, "bid_id": f"b-{supplier}", "supplier_id": supplier} | {"unit_price_fen": price}
        )
    time.sleep(max(0.0, (closes - datetime.now(UTC)).total_seconds()) + 0.05)
    closed = procurement.service.close_bidding({"tender_id": tender})
    assert {(f["kind"], tuple(f["bid_ids"])) for f in closed["abnormal_quotes"]} == {
        ("below_median", ("b-S-3",)),
        ("below_reference", ("b-S-3",)),
    }
    procurement.service.evaluate_bid({"tender_id": tender, "bid_id": "b-S-1", "compliant": True})
    procurement.service.evaluate_bid({"tender_id": tender, "bid_id": "b-S-2", "compliant": True})
    procurement.service.evaluate_bid(
        {"tender_id": tender, "bid_id": "b-S-3", "compliant": False, "reasons": ["资质不符"]}
    )
    award = procurement.service.award_tender({"tender_id": tender})
    assert (award["supplier_id"], award["amount_fen"]) == ("S-2", 45_000)

    error = procurement.refused(
        "sign_contract", {"tender_id": tender, "request_id": request_id, "clauses": [], "delivery_due": "2000-01-01"}
    )
    assert error.code == "delivery_due_in_past"
    due = (TODAY + timedelta(days=10)).isoformat()
    contract = procurement.service.sign_contract(
        {"tender_id": tender, "request_id": request_id, "clauses": ["warranty"], "delivery_due": due}
    )["id"]
    assert contract == f"{tender}.{request_id}"
    error = procurement.refused(
        "sign_contract", {"tender_id": tender, "request_id": request_id, "clauses": [], "delivery_due": due}
    )
    assert error.http_status == 409  # one contract per lot
    today = china_today()  # read after signing: never before the contract's day, should midnight pass meanwhile
    procurement.service.record_delivery(
        {"contract_id": contract, "delivery_id": "D-1", "quantity": 10} | {"delivered_on": today.isoformat()}
    )
    procurement.service.inspect_delivery(
        {"contract_id": contract, "delivery_id": "D-1", "accepted_quantity": 9, "defective_quantity": 1}
        | {"inspected_on": today.isoformat()}
    )
    procurement.project()
    with procurement.engine.connect() as conn:
        (row,) = read_model.budget_lines_of(conn, {"agency_id": "AG-1", "year": TODAY.year, "limit": 10, "offset": 0})
        (tender_row,) = read_model.tender_list(
            conn, {"district": "320402", "status": None, "item_code": None} | {"limit": 10, "offset": 0}
        )
        flags = read_model.abnormal_quote_list(
            conn, {"district": None, "supplier_id": "S-3", "since": None, "limit": 10, "offset": 0}
        )
        (performance,) = read_model.supplier_performance_of(
            conn, {"supplier_id": None, "district": None, "since": None, "until": None, "limit": 10, "offset": 0}
        )
    assert (row["spent_fen"], row["committed_fen"], row["remaining_fen"]) == (40_500, 4_500, 955_000)
    assert (tender_row["status"], tender_row["supplier_id"], tender_row["flag_count"]) == ("awarded", "S-2", 2)
    assert "lowest compliant price" in tender_row["reason"]
    assert len(flags) == 2
    assert (performance["supplier_id"], performance["defect_rate"], performance["late_deliveries"]) == ("S-2", 0.1, 0)


def test_batch_proposals_gather_open_requests_of_several_agencies(procurement: Harness) -> None:
    procurement.request("A-paper", procurement.line())
    body = {"agency_id": "AG-2", "item_code": "A-paper", "quantity": 5, "estimated_unit_price_fen": 5_000}
    procurement.service.submit_purchase_request(body | {"budget_line_id": procurement.line("AG-2")})
    procurement.project()
    answer = procurement.service.propose_batches({"year": TODAY.year})
    (batch,) = answer["items"]
    assert (batch["agency_ids"], batch["quantity"]) == (["AG-1", "AG-2"], 15)
    assert procurement.service.propose_batches({"year": TODAY.year, "district": "320402"})["items"] == []


def test_a_district_operator_cannot_spend_another_districts_budget(procurement: Harness) -> None:
    line = procurement.line("AG-2")
    procurement.scope = "320402"
    error = procurement.refused("adjust_budget_line", {"budget_line_id": line, "amount_fen": 1, "reason": "x"})
    assert error.code == "not_in_scope"


def test_a_large_price_move_raises_an_alert(procurement: Harness) -> None:
    procurement.service.list_catalog_item(
        {"item_code": "C-pork", "name": "猪肉", "category": "canteen_ingredients", "unit": "kg"}
    )
    procurement.service.start_price_watch({"item_code": "C-pork", "reference_price_fen": 2_600})
    week_ago = (TODAY - timedelta(days=7)).isoformat()
    procurement.service.record_price_observation(
        {"item_code": "C-pork", "observed_on": week_ago, "price_fen": 2_600, "market": "湖塘"}
    )
    answer = procurement.service.record_price_observation(
        {"item_code": "C-pork", "observed_on": TODAY.isoformat(), "price_fen": 3_100, "market": "湖塘"}
    )
    assert [a["kind"] for a in answer["alerts"]] == ["week_on_week"]
    procurement.project()
    with procurement.engine.connect() as conn:
        alerts = read_model.price_alert_list(
            conn, {"item_code": None, "since": date(2000, 1, 1), "limit": 10, "offset": 0}
        )
    assert [(a["item_code"], a["change"]) for a in alerts] == [("C-pork", round(3_100 / 2_600 - 1, 4))]
    assert json.dumps(alerts)


def _batch_tender(procurement: Harness, bids: dict[str, int]) -> str:
    """A tender of AG-1's (320402) and AG-2's (320404) requests for paper, bidding closed."""
    first = procurement.request("A-paper", procurement.line())["id"]
    body = {"agency_id": "AG-2", "item_code": "A-paper", "quantity": 5, "estimated_unit_price_fen": 5_000}
    second = procurement.service.submit_purchase_request(body | {"budget_line_id": procurement.line("AG-2")})["id"]
    closes = datetime.now(UTC) + timedelta(seconds=1)
    tender = procurement.service.open_tender(
        {"district": "320402", "request_ids": [first, second], "reference_unit_price_fen": 5_000}
        | {"closes_at": closes.isoformat()}
    )["id"]
    for supplier, price in bids.items():
        procurement.service.submit_bid(
            {"tender_id": tender, "bid_id": f"b-{supplier}", "supplier_id": supplier, "unit_price_fen": price}
        )
    time.sleep(max(0.0, (closes - datetime.now(UTC)).total_seconds()) + 0.05)
    procurement.service.close_bidding({"tender_id": tender})
    return str(tender)


def _open(procurement: Harness, **scope: Any) -> list[tuple[str, str | None, str | None]]:
    procurement.project()
    with procurement.engine.connect() as conn:
        items = datacenter.open_items(conn, **scope)
    assert all(set(i) == {"system", "kind", "agency_id", "district", "opened_on", "detail", "id"} for i in items)
    return sorted((i["kind"], i["agency_id"], i["district"]) for i in items)


def test_the_data_center_sees_each_agencys_budget_and_the_abnormal_quotes_of_its_tenders(
    procurement: Harness,
) -> None:
    tender = _batch_tender(procurement, {"S-1": 4_800, "S-2": 4_800, "S-3": 2_000})
    # below the median and below the reference (S-3), identical quotes (S-1, S-2): once per agency served
    assert _open(procurement) == [("abnormal_quote", "AG-1", "320402")] * 3 + [("abnormal_quote", "AG-2", "320404")] * 3
    assert _open(procurement, district="320404") == [("abnormal_quote", "AG-2", "320404")] * 3
    with procurement.engine.connect() as conn:
        figures = datacenter.procurement_by_agency(conn, year=TODAY.year)
        assert datacenter.procurement_by_agency(conn, year=TODAY.year - 1) == {}
    assert figures == {
        "AG-1": {"district": "320402", "budget_lines": 1, "budget_fen": 1_000_000, "committed_fen": 50_000}
        | {"spent_fen": 0, "remaining_fen": 950_000, "requests_waiting": 0, "open_abnormal_quotes": 3},
        "AG-2": {"district": "320404", "budget_lines": 1, "budget_fen": 1_000_000, "committed_fen": 25_000}
        | {"spent_fen": 0, "remaining_fen": 975_000, "requests_waiting": 0, "open_abnormal_quotes": 3},
    }

    procurement.service.evaluate_bid({"tender_id": tender, "bid_id": "b-S-3", "compliant": False, "reasons": ["x"]})
    assert _open(procurement, agency_id="AG-1") == [("abnormal_quote", "AG-1", "320402")]  # identical quotes only
    for bid in ("b-S-1", "b-S-2"):
        procurement.service.evaluate_bid({"tender_id": tender, "bid_id": bid, "compliant": True})
    procurement.service.clear_abnormal_quote({"tender_id": tender, "bid_id": "b-S-1", "justification": "报价依据充分"})
    assert len(_open(procurement)) == 2  # S-2's identical quote is not explained
    procurement.service.award_tender({"tender_id": tender})
    assert _open(procurement) == []  # the evaluation that had to weigh them is over
    with procurement.engine.connect() as conn:
        closed = read_model.abnormal_quote_list(
            conn, {"district": None, "supplier_id": None, "since": None, "limit": 10, "offset": 0}
        )
    assert sorted((f["kind"], f["closed_because"]) for f in closed) == [
        ("below_median", "bids_resolved"),
        ("below_reference", "bids_resolved"),
        ("identical_quotes", "tender_awarded"),
    ]


def test_a_price_alert_stays_open_until_a_later_price_is_back_within_bounds(procurement: Harness) -> None:
    procurement.service.list_catalog_item(
        {"item_code": "C-egg", "name": "鸡蛋", "category": "canteen_ingredients", "unit": "kg"}
    )
    procurement.service.start_price_watch({"item_code": "C-egg", "reference_price_fen": 1_000})
    observe = procurement.service.record_price_observation
    week_ago = (TODAY - timedelta(days=7)).isoformat()
    observe({"item_code": "C-egg", "observed_on": week_ago, "price_fen": 1_000, "market": "湖塘"})
    observe({"item_code": "C-egg", "observed_on": TODAY.isoformat(), "price_fen": 1_300} | {"market": "湖塘"})
    assert _open(procurement) == [("price_alert", None, None)] * 2  # week on week and against the reference
    assert _open(procurement, district="320402") == []  # city-wide, not a district's
    observe({"item_code": "C-egg", "observed_on": TODAY.isoformat(), "price_fen": 1_050} | {"market": "湖塘"})
    assert _open(procurement) == []


def test_last_year_s_procurement_is_brought_in_by_the_city_and_its_finding_is_dated_the_closing(
    procurement: Harness,
) -> None:
    """A 2025 line, request, tender, contract and delivery typed in today, each on its own day: the figures are
    2025's, the abnormal quote dates from bidding's close (2 April 2025, Beijing), and a district operator may
    not record the past."""
    line = procurement.service.open_budget_line(
        {"agency_id": "AG-1", "year": 2025, "purpose": "办公", "amount_fen": 1_000_000, "opened_on": "2024-12-20"}
    )["id"]
    body = {"agency_id": "AG-1", "item_code": "A-paper", "quantity": 10, "estimated_unit_price_fen": 5_000}
    procurement.scope = "320402"
    error = procurement.refused(
        "submit_purchase_request", body | {"budget_line_id": line, "submitted_on": "2025-03-10"}
    )
    assert (error.code, error.http_status, list(error.fields)) == ("forbidden", 403, ["submitted_on"])
    procurement.scope = None
    request_id = procurement.request("A-paper", line, submitted_on="2025-03-10")["id"]
    tender = procurement.service.open_tender(
        {"district": "320402", "request_ids": [request_id], "reference_unit_price_fen": 5_000}
        | {"opened_at": "2025-03-15T09:00:00+08:00", "closes_at": "2025-04-01T17:00:00+08:00"}
    )["id"]
    for supplier, price in (("S-1", 4_800), ("S-2", 4_500), ("S-3", 2_000)):
        procurement.service.submit_bid(
            {"tender_id": tender, "bid_id": f"b-{supplier}", "supplier_id": supplier, "unit_price_fen": price}
            | {"submitted_at": "2025-03-20T10:00:00+08:00"}
        )
    procurement.service.close_bidding({"tender_id": tender, "closed_at": "2025-04-02T10:00:00+08:00"})
    procurement.project()
    with procurement.engine.connect() as conn:
        opened = sorted({i["opened_on"] for i in datacenter.open_items(conn)})
        figures = datacenter.procurement_by_agency(conn, year=2025)["AG-1"]
    assert opened == ["2025-04-02"]  # S-3's quote, flagged when bidding closed, not on the day typed in
    # the 2025 line: 10 × 5 000 = 50 000 fen reserved, 1 000 000 − 50 000 = 950 000 remaining
    assert (figures["budget_fen"], figures["committed_fen"], figures["remaining_fen"]) == (
        1_000_000,
        50_000,
        950_000,
    )
    for bid, compliant in (("b-S-1", True), ("b-S-2", True)):
        procurement.service.evaluate_bid({"tender_id": tender, "bid_id": bid, "compliant": compliant})
    procurement.service.evaluate_bid({"tender_id": tender, "bid_id": "b-S-3", "compliant": False, "reasons": ["x"]})
    procurement.service.award_tender({"tender_id": tender, "awarded_at": "2025-04-10T10:00:00+08:00"})
    contract = procurement.service.sign_contract(
        {"tender_id": tender, "request_id": request_id, "clauses": ["warranty"], "delivery_due": "2025-05-15"}
        | {"signed_on": "2025-04-15"}
    )["id"]
    procurement.service.record_delivery(
        {"contract_id": contract, "delivery_id": "D-1", "quantity": 10, "delivered_on": "2025-05-18"}
    )
    state = procurement.service.get_contract({"contract_id": contract})
    assert (state["signed_on"], state["deliveries"]["D-1"]["days_late"]) == ("2025-04-15", 3)  # 18 May − 15 May
