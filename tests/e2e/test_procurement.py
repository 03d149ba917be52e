"""Procurement end to end through the gateway: catalog, budget control, the idle-first check, tenders with
abnormal-quote findings and the lowest-compliant-price award, green clauses, contracts, delivery and
acceptance, supplier performance, batch proposals, the price watch, district scope and bad input; the data
center's procurement figures in the gateway database; an assets-service authorisation learned from Kafka."""

from __future__ import annotations

import functools
import json
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import Any

import pytest

from services.common.base import contracts
from services.common.base.db import create_db_engine
from services.common.kernel.clock import china_today, iso
from services.common.kernel.events import Envelope
from services.common.read.broker import envelope_message, make_producer
from services.common.write.store import EventStore
from services.gateway.views import procurement as datacenter
from tests.e2e.conftest import Platform
from tests.support import agency_code, eventually, read_topic

TODAY: date
"""Today in Beijing time, the calendar the services count days in."""
YEAR: int


def read_the_clock() -> None:
    """Today, read as the module is imported and again as each test starts (``tests/conftest.py``)."""
    global TODAY, YEAR
    TODAY = china_today()
    YEAR = TODAY.year


read_the_clock()


_eventually = partial(eventually, timeout=30, interval=0.2)
"""``tests.support.eventually`` with this module's patience."""


def _stored(platform: Platform) -> int:
    url = platform.database_urls.get("procurement") or f"sqlite:///{platform.var_dir / 'procurement.db'}"
    return EventStore.open(url, "procurement").last_position()


def _data_center(platform: Platform, agency_id: str) -> dict[str, Any]:
    url = platform.database_urls.get("gateway") or f"sqlite:///{platform.var_dir / 'gateway.db'}"
    engine = create_db_engine(url)
    try:
        with engine.connect() as conn:
            return {
                "figures": datacenter.procurement_by_agency(conn, agency_id=agency_id, year=YEAR).get(agency_id),
                "open": datacenter.open_items(conn, agency_id=agency_id),
            }
    finally:
        engine.dispose()


def _publish_assets_event(platform: Platform, event_type: str, payload: dict[str, Any]) -> None:
    """What the assets service's relay publishes, sent straight to ``assets.events``."""
    now = iso(datetime.now(UTC))
    env = Envelope(
        event_id=str(uuid.uuid4()),
        event_type=event_type,
        schema_version=1,
        stream_type="WarehouseRequest",
        stream_id=payload["request_id"],
        stream_version=2,
        occurred_at=now,
        recorded_at=now,
        district=payload["district"],
        agency_id=payload["agency_id"],
        actor="city_admin:e2e",
        correlation_id=str(uuid.uuid4()),
        causation_id=None,
        payload=payload,
        domain="assets",
    )
    producer = make_producer(platform.bootstrap)
    try:
        key, value, headers = envelope_message(env)
        producer.send("assets.events", key=key, value=value, headers=headers).get(timeout=30)
    finally:
        producer.close()


def _ok(answer: tuple[int, Any, Any], status: int = 200) -> Any:
    assert answer[0] == status, answer[1]
    return answer[1]


class Buyer:
    """Talks to the gateway as one principal, with ids unique to the test."""

    def __init__(self, platform: Platform, token: str, tag: str) -> None:
        self.platform, self.token, self.tag = platform, token, tag

    def post(self, path: str, body: dict[str, Any]) -> tuple[int, Any, Any]:
        return self.platform.request("POST", f"/api/v1{path}", body, self.token)

    def get(self, path: str) -> Any:
        return _ok(self.platform.request("GET", f"/api/v1{path}", token=self.token))

    def item(self, code: str, category: str, unit: str = "piece") -> str:
        item_code = f"{code}-{self.tag}"
        _ok(
            self.post("/catalog-items", {"item_code": item_code, "name": code, "category": category, "unit": unit}), 201
        )
        return item_code

    def budget_line(self, agency: str, amount_fen: int) -> str:
        body = {"agency_id": agency, "year": YEAR, "purpose": "办公设备购置", "amount_fen": amount_fen}
        status, answer, _ = _eventually(
            lambda: self.post("/budget-lines", body),
            lambda r: r[0] != 422 or r[1]["fields"].get("agency_id") != ["unknown agency"],  # not known yet
        )
        assert status == 201, answer
        return str(answer["id"])

    def request(self, agency: str, item: str, line: str, quantity: int, price: int, **extra: Any) -> Any:
        body = {"agency_id": agency, "item_code": item, "quantity": quantity, "estimated_unit_price_fen": price}
        return self.post("/purchase-requests", body | {"budget_line_id": line} | extra)

    def tender(self, district: str, request_ids: list[str], reference: int, bids: dict[str, int]) -> str:
        closes = datetime.now(UTC) + timedelta(seconds=3)
        body = {"district": district, "request_ids": request_ids, "reference_unit_price_fen": reference}
        tender = _ok(self.post("/tenders", body | {"closes_at": closes.isoformat()}), 201)["id"]
        for supplier, price in bids.items():
            bid = {"bid_id": f"b-{supplier}", "supplier_id": supplier, "unit_price_fen": price}
            _ok(self.post(f"/tenders/{tender}/bids", bid), 201)
        time.sleep(max(0.0, (closes - datetime.now(UTC)).total_seconds()) + 0.1)
        return str(tender)


@pytest.fixture
def city(platform: Platform) -> dict[str, Any]:
    """Two agencies of 天宁区 (320402) and one of 钟楼区 (320404), registered and known to the data center."""
    admin = platform.token()
    tag = uuid.uuid4().hex[:8]
    agencies = {
        "a": (agency_code("320402", f"AG-PR-A-{tag}"), "320402"),
        "b": (agency_code("320402", f"AG-PR-B-{tag}"), "320402"),
        "c": (agency_code("320404", f"AG-PR-C-{tag}"), "320404"),
    }
    for agency, district in agencies.values():
        body = {"agency_id": agency, "name": "机关事务管理中心", "district": district, "kind": "party_government"}
        _ok(
            platform.request(
                "POST", "/api/v1/agencies", body | {"admin_level": "county", "authorised_headcount": 30}, admin
            ),
            201,
        )
    for agency, _ in agencies.values():
        path = f"/api/v1/agencies/{agency}"
        _eventually(functools.partial(platform.request, "GET", path, token=admin), lambda r: r[0] == 200)
    return {"admin": Buyer(platform, admin, tag), "tag": tag, **{k: v[0] for k, v in agencies.items()}}


def test_a_purchase_goes_from_budget_and_request_through_tender_award_contract_and_acceptance(
    platform: Platform, city: dict[str, Any]
) -> None:
    admin, agency = city["admin"], city["a"]
    paper = admin.item("A4", "office_supplies", "box")
    line = admin.budget_line(agency, 600_000)
    status, body, _ = admin.request(agency, paper, line, 200, 5_000)  # 1 000 000 fen > 600 000
    assert (status, body["error"]) == (422, "budget_exceeded")
    assert {k: body["details"][k] for k in ("budget_fen", "remaining_fen", "requested_fen")} == {
        "budget_fen": 600_000,
        "remaining_fen": 600_000,
        "requested_fen": 1_000_000,
    }
    status, body, _ = admin.request(agency, paper, f"NO-{city['tag']}", 10, 5_000)
    assert (status, body["error"], body["details"]["budget_fen"]) == (422, "no_budget_line", 0)
    request_id = _ok(admin.request(agency, paper, line, 100, 5_000), 201)["id"]

    # suppliers of this test alone: the platform is shared (another module's S-2 delivers today too)
    s1, s2, s3 = (f"S-{n}-{city['tag']}" for n in (1, 2, 3))
    tender = admin.tender("320402", [request_id], 5_000, {s1: 4_800, s2: 4_600, s3: 2_500})
    closed = _ok(admin.post(f"/tenders/{tender}/close", {}))
    assert {f["kind"] for f in closed["abnormal_quotes"]} == {"below_median", "below_reference"}
    status, body, _ = admin.post(f"/tenders/{tender}/award", {})
    assert (status, body["error"]) == (422, "bids_not_evaluated")
    _ok(admin.post(f"/tenders/{tender}/bids/b-{s1}/evaluation", {"compliant": True}))
    _ok(admin.post(f"/tenders/{tender}/bids/b-{s2}/evaluation", {"compliant": True}))
    _ok(admin.post(f"/tenders/{tender}/bids/b-{s3}/evaluation", {"compliant": False, "reasons": ["低于成本"]}))
    award = _ok(admin.post(f"/tenders/{tender}/award", {}))
    assert (award["supplier_id"], award["unit_price_fen"], award["amount_fen"]) == (s2, 4_600, 460_000)
    assert "lowest compliant price" in award["reason"]

    # signed two days ago and due that day (the city administrator records its day): delivered today, 2 days late
    # (a delivery is recorded once it has happened: a day after today is refused, date_in_future)
    due = (TODAY - timedelta(days=2)).isoformat()
    body = {"tender_id": tender, "request_id": request_id, "clauses": ["warranty"], "delivery_due": due}
    contract = _ok(admin.post("/contracts", body | {"signed_on": due}), 201)["id"]
    ahead = (TODAY + timedelta(days=1)).isoformat()
    status, body, _ = admin.post(
        f"/contracts/{contract}/deliveries", {"delivery_id": "D-1", "quantity": 100, "delivered_on": ahead}
    )
    assert (status, body["error"], list(body["fields"])) == (422, "date_in_future", ["delivered_on"])
    late = TODAY.isoformat()
    status, body, _ = admin.post(
        f"/contracts/{contract}/deliveries", {"delivery_id": "D-1", "quantity": 101, "delivered_on": late}
    )
    assert (status, body["error"]) == (422, "delivery_exceeds_contract")
    _ok(
        admin.post(f"/contracts/{contract}/deliveries", {"delivery_id": "D-1", "quantity": 100, "delivered_on": late}),
        201,
    )
    inspection = {"accepted_quantity": 95, "defective_quantity": 5, "inspected_on": late}
    _ok(admin.post(f"/contracts/{contract}/deliveries/D-1/inspection", inspection))
    read = admin.get(f"/contracts/{contract}")
    assert {k: read[k] for k in ("tender_id", "supplier_id", "quantity", "amount_fen", "clauses", "status")} == {
        "tender_id": tender,
        "supplier_id": s2,
        "quantity": 100,
        "amount_fen": 460_000,
        "clauses": ["warranty"],
        "status": "active",  # 5 boxes still to be replaced
    }
    assert (read["accepted_quantity"], read["outstanding"]) == (95, 5)
    assert read["deliveries"]["D-1"] == {
        "quantity": 100,
        "delivered_on": late,
        "days_late": 2,
        "inspected": True,
        "accepted_quantity": 95,
        "defective_quantity": 5,
        "inspected_on": late,
    }
    elsewhere = platform.token("district_operator", district="320404", name=f"op-contract-{city['tag']}")
    status, body, _ = platform.request("GET", f"/api/v1/contracts/{contract}", token=elsewhere)
    assert (status, body) == (404, {"error": "not_found", "message": f"contract {contract} not found", "fields": {}})
    assert platform.request("GET", f"/api/v1/contracts/NO-{contract}", token=platform.token())[0] == 404

    lines = _eventually(
        lambda: admin.get(f"/budget-lines?agency_id={agency}&year={YEAR}"),
        lambda r: r["items"] and r["items"][0]["spent_fen"],
    )
    assert {k: lines["items"][0][k] for k in ("amount_fen", "committed_fen", "spent_fen", "remaining_fen")} == {
        "amount_fen": 600_000,
        "committed_fen": 23_000,  # the 5 defective boxes stay reserved for their replacement
        "spent_fen": 437_000,
        "remaining_fen": 140_000,
    }
    tenders = admin.get(f"/tenders?district=320402&item_code={paper}")["items"]
    assert [(t["status"], t["supplier_id"], t["flag_count"]) for t in tenders] == [("awarded", s2, 2)]
    flags = admin.get(f"/abnormal-quotes?supplier_id={s3}&district=320402&limit=1000")["items"]
    assert {(f["tender_id"], f["kind"]) for f in flags if f["tender_id"] == tender} == {
        (tender, "below_median"),
        (tender, "below_reference"),
    }
    performance = admin.get(f"/supplier-performance?supplier_id={s2}&since={late}")["items"]
    assert [(p["deliveries"], p["late_deliveries"], p["defect_rate"]) for p in performance] == [(1, 1, 0.05)]

    seen = _eventually(
        lambda: _data_center(platform, agency), lambda d: d["figures"] and d["figures"]["spent_fen"]
    )  # the gateway's own projection of procurement.events
    assert {k: seen["figures"][k] for k in ("budget_fen", "committed_fen", "spent_fen", "remaining_fen")} == {
        "budget_fen": 600_000,
        "committed_fen": 23_000,
        "spent_fen": 437_000,
        "remaining_fen": 140_000,
    }
    assert seen["open"] == []  # the flags closed with the award


def test_a_batch_of_two_agencies_is_tendered_once_and_a_printing_contract_needs_the_green_clauses(
    platform: Platform, city: dict[str, Any]
) -> None:
    admin = city["admin"]
    printing = admin.item("PRINT", "printing", "job")
    requests = [
        _ok(admin.request(city[key], printing, admin.budget_line(city[key], 500_000), 10, 20_000), 201)["id"]
        for key in ("a", "b")
    ]
    proposals = _eventually(
        lambda: admin.get(f"/purchase-requests/batch-proposals?year={YEAR}&district=320402")["items"],
        lambda items: any(p["item_code"] == printing for p in items),
    )
    (batch,) = [p for p in proposals if p["item_code"] == printing]
    assert (sorted(batch["request_ids"]), batch["quantity"]) == (sorted(requests), 20)

    tender = admin.tender("320402", batch["request_ids"], 20_000, {"P-1": 19_000, "P-2": 18_500})
    _ok(admin.post(f"/tenders/{tender}/close", {}))
    for bid in ("b-P-1", "b-P-2"):
        _ok(admin.post(f"/tenders/{tender}/bids/{bid}/evaluation", {"compliant": True}))
    assert _ok(admin.post(f"/tenders/{tender}/award", {}))["amount_fen"] == 370_000
    detail = admin.get(f"/tenders/{tender}")
    assert (detail["status"], len(detail["lots"]), detail["winner"]["supplier_id"]) == ("awarded", 2, "P-2")

    due = (TODAY + timedelta(days=10)).isoformat()
    contract = {"tender_id": tender, "request_id": requests[0], "delivery_due": due}
    status, body, _ = admin.post("/contracts", contract | {"clauses": ["warranty", "low_voc"]})
    assert (status, body["error"], body["details"]["missing"]) == (422, "green_clauses_missing", ["environmental"])
    signed = _ok(admin.post("/contracts", contract | {"clauses": ["low_voc", "environmental"]}), 201)
    assert signed["id"] == f"{tender}.{requests[0]}"
    status, body, _ = admin.post("/contracts", contract | {"clauses": ["low_voc", "environmental"]})
    assert status == 409  # one contract per lot


def test_furniture_is_refused_unless_the_assets_service_authorised_the_purchase(
    platform: Platform, city: dict[str, Any]
) -> None:
    admin, agency = city["admin"], city["a"]
    desk = admin.item("DESK", "furniture")
    line = admin.budget_line(agency, 500_000)
    status, body, _ = admin.request(agency, desk, line, 2, 90_000)
    assert (status, body["error"], list(body["fields"])) == (422, "idle_stock_check_required", ["authorisation_id"])
    warehouse_request = f"WR-{city['tag']}"
    status, body, _ = admin.request(agency, desk, line, 2, 90_000, authorisation_id=warehouse_request)
    assert (status, body["error"]) == (422, "idle_stock_check_required")  # not received from the assets service

    if contracts.schema_path("assets", "PurchaseAuthorised", 1).exists():  # the assets service's contract
        payload = {"request_id": warehouse_request, "agency_id": agency, "district": "320402"}
        _publish_assets_event(
            platform,
            "PurchaseAuthorised",
            payload
            | {"category": "furniture", "asset_category": "furniture", "quantity": 2}
            | {"idle_items_checked": 3, "idle_items_fitting": 0, "authorised_on": TODAY.isoformat()},
        )
        answer = _eventually(
            lambda: admin.request(agency, desk, line, 2, 90_000, authorisation_id=warehouse_request),
            lambda r: r[0] == 201,
        )
        _ok(answer, 201)
        status, body, _ = admin.request(agency, desk, line, 1, 90_000, authorisation_id=warehouse_request)
        assert (status, body["error"]) == (422, "purchase_authorisation_already_used")

    _ok(admin.post(f"/catalog-items/{desk}/withdraw", {"reason": "目录调整"}))
    status, body, _ = admin.request(agency, desk, line, 2, 90_000)
    assert (status, body["error"]) == (422, "catalog_item_withdrawn")


def test_a_large_week_on_week_move_of_an_ingredient_price_raises_an_alert(
    platform: Platform, city: dict[str, Any]
) -> None:
    admin = city["admin"]
    pork = admin.item("PORK", "canteen_ingredients", "kg")
    status, body, _ = admin.post(
        "/price-watches", {"item_code": admin.item("PEN", "office_supplies"), "reference_price_fen": 100}
    )
    assert (status, body["error"]) == (422, "not_a_canteen_ingredient")
    _ok(admin.post("/price-watches", {"item_code": pork, "reference_price_fen": 2_600}), 201)
    week_ago = (TODAY - timedelta(days=7)).isoformat()
    _ok(
        admin.post(
            f"/price-watches/{pork}/observations", {"observed_on": week_ago, "price_fen": 2_600, "market": "湖塘"}
        ),
        201,
    )
    today = {"observed_on": TODAY.isoformat(), "price_fen": 3_100, "market": "湖塘"}
    assert [a["kind"] for a in _ok(admin.post(f"/price-watches/{pork}/observations", today), 201)["alerts"]] == [
        "week_on_week"
    ]
    alerts = _eventually(lambda: admin.get(f"/price-alerts?item_code={pork}")["items"], bool)
    assert [(a["kind"], a["price_fen"]) for a in alerts] == [("week_on_week", 3_100)]


def test_bad_input_is_refused_with_field_reasons_and_nothing_is_stored(
    platform: Platform, city: dict[str, Any]
) -> None:
    admin, agency = city["admin"], city["a"]
    paper = admin.item("PAPER", "office_supplies", "box")
    line = admin.budget_line(agency, 100_000)
    before = _stored(platform)
    for path, body, fields in (
        (
            "/catalog-items",
            {"item_code": "bad code!", "name": "x", "category": "spaceships", "unit": "x"},
            {"item_code", "category"},
        ),
        (
            "/budget-lines",
            {"agency_id": agency, "year": "2026", "purpose": "x", "amount_fen": 0},
            {"year", "amount_fen"},
        ),
        (  # the deprecated former name of a money field beside its current name
            "/budget-lines",
            {"agency_id": agency, "year": YEAR, "purpose": "x", "amount_fen": 500, "amount_cents": 500},
            {"amount_fen", "amount_cents"},
        ),
        (
            "/purchase-requests",
            {
                "agency_id": agency,
                "item_code": paper,
                "quantity": 0,
                "estimated_unit_price_fen": 1.5,
                "budget_line_id": line,
            },
            {"quantity", "estimated_unit_price_fen"},
        ),
        (
            "/tenders",
            {
                "district": "320402",
                "request_ids": [],
                "reference_unit_price_fen": 1,
                "closes_at": "2030-01-01T00:00:00",
            },
            {"request_ids", "closes_at"},
        ),
        (
            "/contracts",
            {"tender_id": "T", "request_id": "R", "clauses": ["free_lunch"], "delivery_due": "soon"},
            {"clauses", "delivery_due"},
        ),
        (
            "/price-watches",
            {"item_code": paper, "reference_price_fen": -1, "extra": 1},
            {"reference_price_fen", "extra"},
        ),
    ):
        status, answer, _ = admin.post(path, body)
        assert (status, answer["error"], set(answer["fields"])) == (422, "validation_failed", fields), path
    # amount_cents: the deprecated former name of amount_fen, still read as it
    status, answer, _ = admin.post(f"/budget-lines/{line}/adjustment", {"amount_cents": 10, "reason": "削减"})
    assert status == 200, answer  # nothing committed yet: a cut to 10 fen is allowed
    after_adjustment = _stored(platform)
    assert after_adjustment == before + 1
    status, answer, _ = admin.request(agency, paper, line, 1, 11)
    assert (status, answer["error"], answer["details"]["remaining_fen"]) == (422, "budget_exceeded", 10)
    status, answer, _ = platform.request("GET", "/api/v1/budget-lines?agency_id=x&limit=0", token=admin.token)
    assert (status, set(answer["fields"])) == (422, {"limit"})
    assert _stored(platform) == after_adjustment


def test_district_operators_act_and_read_in_their_own_district_only(platform: Platform, city: dict[str, Any]) -> None:
    admin, tag = city["admin"], city["tag"]
    paper = admin.item("PAPER", "office_supplies", "box")
    line_c = admin.budget_line(city["c"], 100_000)  # 钟楼区
    request_c = _ok(admin.request(city["c"], paper, line_c, 1, 100), 201)["id"]
    operator = Buyer(platform, platform.token("district_operator", district="320402", name=f"op-{tag}"), tag)

    status, body, _ = operator.post(
        "/catalog-items", {"item_code": f"X-{tag}", "name": "x", "category": "office_supplies", "unit": "x"}
    )
    assert status == 403
    line_a = operator.budget_line(city["a"], 100_000)
    assert _ok(operator.request(city["a"], paper, line_a, 1, 100), 201)["id"]
    status, body, _ = operator.request(city["c"], paper, line_c, 1, 100)
    assert (status, body["fields"]) == (422, {"agency_id": ["unknown agency"]})  # 钟楼区's: as if missing
    status, body, _ = operator.post(f"/budget-lines/{line_c}/adjustment", {"amount_fen": 200_000, "reason": "追加"})
    assert (status, body["message"]) == (404, f"budget line {line_c} not found")  # 钟楼区's: as if missing
    status, body, _ = operator.post(f"/purchase-requests/{request_c}/cancel", {"reason": "不需要"})
    assert (status, body["message"]) == (404, f"request {request_c} not found")
    closes = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    tender = {"request_ids": [request_c], "reference_unit_price_fen": 100, "closes_at": closes}
    assert operator.post("/tenders", tender | {"district": "320404"})[0] == 403
    assert operator.post("/tenders", tender | {"district": "320402"})[0] == 403  # the request is 钟楼区's
    status, _, _ = platform.request("GET", f"/api/v1/budget-lines?agency_id={city['c']}", token=operator.token)
    assert status == 403
    admin_tender = _ok(admin.post("/tenders", tender | {"district": "320404"}), 201)["id"]
    assert platform.request("GET", f"/api/v1/tenders/{admin_tender}", token=operator.token)[0] == 404  # as if missing
    seen = _eventually(
        lambda: admin.get("/tenders?district=320404&limit=1000")["items"],
        lambda items: any(t["tender_id"] == admin_tender for t in items),
    )
    assert any(t["tender_id"] == admin_tender for t in seen)
    assert all(t["district"] == "320402" for t in operator.get("/tenders?district=320404&limit=1000")["items"])


def test_a_district_system_submits_purchase_requests_for_its_own_agencies_only(
    platform: Platform, city: dict[str, Any]
) -> None:
    admin, tag = city["admin"], city["tag"]
    paper = admin.item("PAPER", "office_supplies", "box")
    lines = {key: admin.budget_line(city[key], 100_000) for key in ("a", "c")}
    producer = make_producer(platform.bootstrap)
    for key in ("a", "c"):  # 天宁区 (320402) sends for its own agency and for one of 钟楼区
        payload = {"agency_id": city[key], "item_code": paper, "quantity": 5, "estimated_unit_price_fen": 100}
        message = {
            "message_id": f"m-{key}-{tag}",
            "message_type": "procurement.submit_purchase_request",
            "schema_version": 2,
            "district": "320402",
            "sent_at": datetime.now(UTC).isoformat(),
            "payload": payload | {"request_id": f"PR-{key}-{tag}", "budget_line_id": lines[key]},
        }
        producer.send("district.320402.inbound", key=b"k", value=json.dumps(message).encode()).get(timeout=30)
    producer.close()

    own = _eventually(
        lambda: admin.get(f"/budget-lines?agency_id={city['a']}")["items"],
        lambda items: items and items[0]["committed_fen"],
    )
    assert own[0]["committed_fen"] == 500
    rejected = _eventually(
        lambda: [
            r
            for r in (json.loads(m.value) for m in read_topic(platform.bootstrap, "district.320402.rejected", 1))
            if r["message_id"] == f"m-c-{tag}"
        ],
        bool,
    )
    assert [(r["reason"], r["fields"]) for r in rejected] == [("validation_failed", {"agency_id": ["unknown agency"]})]
    other = _eventually(lambda: admin.get(f"/budget-lines?agency_id={city['c']}")["items"], bool)
    assert other[0]["committed_fen"] == 0
