"""State-owned assets end to end through the gateway: idle stock first, then a purchase the procurement service
relies on and whose accepted delivery comes back as ledger entries; stock-take counts from a district's inbound
topic (and refused from another district); service-life, approval and input rules at the HTTP edge."""

from __future__ import annotations

import functools
import json
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from services.common.kernel.clock import china_today
from services.common.read.broker import make_producer
from tests.e2e.conftest import Platform
from tests.support import agency_code, eventually, read_topic

TODAY: date
"""Today in Beijing time, the calendar the services count days in."""


def read_the_clock() -> None:
    """Today, read as the module is imported and again as each test starts (``tests/conftest.py``)."""
    global TODAY
    TODAY = china_today()


read_the_clock()


_eventually = functools.partial(eventually, timeout=30, interval=0.2)
"""``tests.support.eventually`` with this module's patience."""


def _ok(answer: tuple[int, Any, Any], status: int = 200) -> Any:
    assert answer[0] == status, answer[1]
    return answer[1]


class Client:
    """One principal talking to the gateway."""

    def __init__(self, platform: Platform, token: str) -> None:
        self.platform, self.token = platform, token

    def post(self, path: str, body: dict[str, Any]) -> tuple[int, Any, Any]:
        return self.platform.request("POST", f"/api/v1{path}", body, self.token)

    def get(self, path: str) -> tuple[int, Any, Any]:
        return self.platform.request("GET", f"/api/v1{path}", token=self.token)


@pytest.fixture
def city(platform: Platform) -> dict[str, Any]:
    """Two agencies of 天宁区 (320402), one of 钟楼区 (320404) and the city administration keeping the public
    goods warehouse (320400), registered and known to the data center."""
    admin = Client(platform, platform.token())
    tag = uuid.uuid4().hex[:8]
    agencies = {"a": "320402", "b": "320402", "c": "320404", "keeper": "320400"}
    ids = {key: agency_code(district, f"AG-AS-{key}-{tag}") for key, district in agencies.items()}
    for key, district in agencies.items():
        body = {"agency_id": ids[key], "name": "机关事务管理中心", "district": district, "kind": "party_government"}
        _ok(admin.post("/agencies", body | {"admin_level": "county", "authorised_headcount": 30}), 201)
    for agency_id in ids.values():
        _eventually(functools.partial(admin.get, f"/agencies/{agency_id}"), lambda r: r[0] == 200)
    return {"admin": admin, "tag": tag, **ids}


def _register(client: Client, agency: str, category: str = "furniture", acquired: date = date(2020, 3, 1)) -> str:
    body = {"agency_id": agency, "category": category, "name": "办公桌", "location": "301"}
    body |= {"original_value_fen": 180_000, "acquired_on": acquired.isoformat()}
    status, answer, _ = _eventually(
        lambda: client.post("/assets", body), lambda r: r[0] != 422 or r[1]["error"] != "unknown_agency"
    )
    assert status == 201, answer
    return str(answer["id"])


def test_idle_stock_first_then_an_authorised_purchase_whose_accepted_delivery_enters_the_ledger(
    platform: Platform, city: dict[str, Any]
) -> None:
    admin, tag, a, b = city["admin"], city["tag"], city["a"], city["b"]
    desk = _register(admin, a)
    _ok(admin.post(f"/assets/{desk}/idle", {"reason": "机构撤并"}))
    status, body, _ = _eventually(
        lambda: admin.post(f"/assets/{desk}/hand-in", {"warehouse_id": city["keeper"], "condition": "good"}),
        lambda r: r[0] != 422 or r[1]["error"] != "unknown_agency",
    )
    assert status == 200, body
    _eventually(lambda: admin.get("/warehouse/idle-stock?category=furniture")[1], lambda s: s["items"])
    request = {"request_id": f"WR-{tag}", "agency_id": b, "category": "furniture", "quantity": 3, "location": "502"}
    answer = _ok(admin.post("/warehouse/requests", request), 201)
    assert (answer["allocated_asset_ids"], answer["purchase_authorised"]) == ([desk], 2)
    assert _ok(admin.get(f"/assets/{desk}"))["agency_id"] == b

    item = f"A0601-desk-{tag}"
    _ok(
        admin.post("/catalog-items", {"item_code": item, "name": "办公桌", "category": "furniture", "unit": "piece"}),
        201,
    )
    line = _ok(
        admin.post("/budget-lines", {"agency_id": b, "year": TODAY.year, "purpose": "家具", "amount_fen": 1_000_000}),
        201,
    )["id"]
    buy = {"agency_id": b, "item_code": item, "quantity": 2, "estimated_unit_price_fen": 200_000}
    buy |= {"budget_line_id": line, "authorisation_id": f"WR-{tag}"}
    status, bought, _ = _eventually(lambda: admin.post("/purchase-requests", buy), lambda r: r[0] == 201)
    assert status == 201, bought  # procurement learned our PurchaseAuthorised from assets.events
    closes = datetime.now(UTC) + timedelta(seconds=2)
    tender_body = {"district": "320402", "request_ids": [bought["id"]], "reference_unit_price_fen": 200_000}
    tender = _ok(admin.post("/tenders", tender_body | {"closes_at": closes.isoformat()}), 201)["id"]
    for supplier, price in (("S-1", 190_000), ("S-2", 180_000)):
        _ok(
            admin.post(
                f"/tenders/{tender}/bids",
                {"bid_id": f"b-{supplier}", "supplier_id": supplier, "unit_price_fen": price},
            ),
            201,
        )
    time.sleep(max(0.0, (closes - datetime.now(UTC)).total_seconds()) + 0.1)
    _ok(admin.post(f"/tenders/{tender}/close", {}))
    for bid in ("b-S-1", "b-S-2"):
        _ok(admin.post(f"/tenders/{tender}/bids/{bid}/evaluation", {"compliant": True}))
    _ok(admin.post(f"/tenders/{tender}/award", {}))
    due = (TODAY + timedelta(days=10)).isoformat()
    sign = {
        "tender_id": tender,
        "request_id": bought["id"],
        "clauses": ["low_voc", "environmental"],
        "delivery_due": due,
    }
    contract = _ok(admin.post("/contracts", sign), 201)["id"]
    _ok(
        admin.post(
            f"/contracts/{contract}/deliveries",
            {"delivery_id": "D-1", "quantity": 2, "delivered_on": TODAY.isoformat()},
        ),
        201,
    )
    inspection = {"accepted_quantity": 2, "defective_quantity": 0, "inspected_on": TODAY.isoformat()}
    _ok(admin.post(f"/contracts/{contract}/deliveries/D-1/inspection", inspection))

    entered = _eventually(
        lambda: admin.get(f"/assets?delivery_id=D-1&agency_id={b}")[1], lambda r: len(r["items"]) == 2
    )
    assert [(x["category"], x["original_value_fen"], x["status"]) for x in entered["items"]] == [
        ("furniture", 180_000, "in_use")
    ] * 2
    report = _ok(admin.get(f"/assets/report?agency_id={b}"))
    assert report["by_holder"][b]["in_use"]["count"] == 3  # the desk from the warehouse and the two bought


def _send(platform: Platform, district: str, payload: dict[str, Any], message_id: str) -> None:
    message = {
        "message_id": message_id,
        "message_type": "assets.record_stocktake_counts",
        "schema_version": 1,
        "district": district,
        "sent_at": datetime.now(UTC).isoformat(),
        "payload": payload,
    }
    producer = make_producer(platform.bootstrap)
    producer.send(f"district.{district}.inbound", key=b"k", value=json.dumps(message).encode()).get(10)
    producer.flush()


def test_stocktake_counts_arrive_from_the_district_and_differences_become_findings(
    platform: Platform, city: dict[str, Any]
) -> None:
    admin, tag, a = city["admin"], city["tag"], city["a"]
    operator = Client(platform, platform.token("district_operator", district="320402", name=f"op-{tag}"))
    chair, cabinet = _register(operator, a), _register(operator, a)
    _eventually(lambda: admin.get(f"/assets?agency_id={a}")[1], lambda r: len(r["items"]) == 2)
    stocktake = f"ST-{tag}"
    assert _ok(operator.post("/stocktakes", {"agency_id": a, "stocktake_id": stocktake}), 201)["expected_items"] == 2
    _send(
        platform,
        "320402",
        {"stocktake_id": stocktake, "location": "301", "asset_ids": [chair, f"X-{tag}"]},
        f"m1-{tag}",
    )
    _send(platform, "320404", {"stocktake_id": stocktake, "location": "302", "asset_ids": [cabinet]}, f"m2-{tag}")
    rejected = _eventually(
        lambda: [json.loads(r.value) for r in read_topic(platform.bootstrap, "district.320404.rejected", idle_polls=1)],
        lambda found: any(r["message_id"] == f"m2-{tag}" for r in found),
    )
    # another district's stocktake is refused exactly as a missing one (no existence oracle)
    assert [r["fields"] for r in rejected if r["message_id"] == f"m2-{tag}"] == [
        {"stocktake_id": ["unknown stocktake"]}
    ]
    _eventually(
        lambda: operator.get(f"/stocktakes/{stocktake}")[1], lambda st: chair in st.get("counted", {})
    )  # the district's count has been recorded
    closed = _ok(operator.post(f"/stocktakes/{stocktake}/close", {}))
    assert closed["finding_ids"] == [f"{stocktake}-F1", f"{stocktake}-F2"]
    assert cabinet not in _ok(operator.get(f"/stocktakes/{stocktake}"))["counted"]  # the other district's count
    findings = _eventually(lambda: admin.get(f"/stocktakes/findings?agency_id={a}")[1], lambda r: len(r["items"]) == 2)
    assert sorted((f["kind"], f["asset_id"]) for f in findings["items"]) == [
        ("missing", cabinet),
        ("surplus", f"X-{tag}"),
    ]
    fix = {"resolution": "found", "note": "在档案室找到"}
    _ok(operator.post(f"/stocktakes/{stocktake}/findings/{stocktake}-F1/reconciliation", fix))


def test_service_life_approval_and_input_rules_at_the_edge(platform: Platform, city: dict[str, Any]) -> None:
    admin, tag, a, c = city["admin"], city["tag"], city["a"], city["c"]
    operator = Client(platform, platform.token("district_operator", district="320402", name=f"op2-{tag}"))
    young = _register(operator, a, acquired=TODAY - timedelta(days=400))
    status, body, _ = operator.post(f"/assets/{young}/replacement", {"reason": "款式旧"})
    assert (status, body["error"]) == (422, "replacement_before_service_life")
    assert body["details"]["min_service_life_years"] == 15

    status, body, _ = operator.post("/assets", {"agency_id": a, "category": "furniture", "original_value_fen": -1})
    assert status == 422 and {"name", "location", "original_value_fen", "acquired_on"} <= set(body["fields"])
    status, body, _ = operator.post(
        "/assets",
        {"agency_id": a, "category": "yachts", "name": "x", "location": "1"}
        | {"original_value_fen": 1, "acquired_on": "2020-01-01"},
    )
    assert (status, body["error"]) == (422, "unknown_asset_category")
    status, _, _ = operator.post(
        "/assets",
        {"agency_id": c, "category": "furniture", "name": "x", "location": "1"}
        | {"original_value_fen": 1, "acquired_on": "2020-01-01"},
    )
    assert status == 422  # another district's agency: as if it were not registered (no existence oracle)

    disposal = {"disposal_id": f"DP-{tag}", "agency_id": a, "asset_ids": [young], "method": "scrap", "reason": "损坏"}
    _ok(operator.post("/disposals", disposal), 201)
    assert operator.post(f"/disposals/DP-{tag}/decision", {"approve": True})[0] == 403  # the administration decides
    status, body, _ = admin.post(f"/disposals/DP-{tag}/completion", {"proceeds_fen": 0})
    assert (status, body["error"]) == (422, "disposal_not_approved")
    _ok(admin.post(f"/disposals/DP-{tag}/decision", {"approve": True}))
    _ok(admin.post(f"/disposals/DP-{tag}/completion", {"proceeds_fen": 500}))
    status, body, _ = operator.post(f"/assets/{young}/idle", {"reason": "x"})
    assert (status, body["error"]) == (422, "asset_disposed")
