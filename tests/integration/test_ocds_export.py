"""The procurement service's tenders as an OCDS 1.1 release package, valid against the vendored schema."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from services.common.kernel.clock import china_today
from tests.integration.test_procurement_service import TODAY, Harness, procurement  # noqa: F401 (the fixture)
from tests.unit.procurement.test_ocds import _errors
from tests.unit.procurement.test_ocds_tooling import cove


def test_an_awarded_tender_its_contract_and_delivery_publish_as_a_valid_release(
    procurement: Harness,  # noqa: F811
    tmp_path: Path,
) -> None:
    line = procurement.line()
    request_id = procurement.request("A-paper", line)["id"]
    closes = datetime.now(UTC) + timedelta(seconds=1)
    tender = procurement.service.open_tender(
        {"district": "320402", "request_ids": [request_id], "reference_unit_price_fen": 5_000}
        | {"closes_at": closes.isoformat()}
    )["id"]
    for supplier, price in (("S-1", 4_800), ("S-2", 4_500)):
        procurement.service.submit_bid(
            {"tender_id": tender, "bid_id": f"b-{supplier}", "supplier_id": supplier} | {"unit_price_fen": price}
        )
    time.sleep(max(0.0, (closes - datetime.now(UTC)).total_seconds()) + 0.05)
    procurement.service.close_bidding({"tender_id": tender})
    for bid in ("b-S-1", "b-S-2"):
        procurement.service.evaluate_bid({"tender_id": tender, "bid_id": bid, "compliant": True})
    procurement.service.award_tender({"tender_id": tender})
    due = (TODAY + timedelta(days=10)).isoformat()
    contract = procurement.service.sign_contract(
        {"tender_id": tender, "request_id": request_id, "clauses": [], "delivery_due": due}
    )["id"]
    today = china_today()  # read after signing: never before the contract's day, should midnight pass meanwhile
    procurement.service.record_delivery(
        {"contract_id": contract, "delivery_id": "D-1", "quantity": 10} | {"delivered_on": today.isoformat()}
    )
    procurement.project()

    package = procurement.service.ocds_release_package({})
    assert _errors(package) == []
    report = cove(package, tmp_path)  # the standard's own tool (lib-cove-ocds), offline
    assert report["validation_errors"] == [] and report["additional_closed_codelist_values"] == {}
    (release,) = package["releases"]
    assert release["ocid"] == f"ocds-000000-{tender}" and release["tag"] == ["tender", "award", "contract"]
    # 10 units at the winning 45.00 yuan = 450.00 yuan; the tender's reference 50.00 × 10 = 500.00
    assert release["awards"][0]["value"] == {"amount": 450.0, "currency": "CNY"}
    assert release["tender"]["value"] == {"amount": 500.0, "currency": "CNY"}
    (signed,) = release["contracts"]
    assert signed["id"] == contract and signed["implementation"]["milestones"][0]["id"] == "D-1"
    assert {p["id"]: p["roles"] for p in release["parties"]}["S-2"] == ["tenderer", "supplier"]
    assert procurement.service.ocds_release_package({"district": "320405"})["releases"] == []
    records = procurement.service.ocds_record_package({"tender_id": tender})
    assert _errors(records, "record") == []
    assert cove(records, tmp_path)["validation_errors"] == []
    assert [r["ocid"] for r in records["records"]] == [release["ocid"]]
