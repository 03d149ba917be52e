"""The demo city's past goes through the importer: its history files are read, ordered and routed as a real
city's would be."""

from __future__ import annotations

from collections import Counter
from datetime import date
from pathlib import Path

from infra.local.demo.city import MODELS, Agency, Asset, Vehicle
from infra.local.demo.histories import fleet_files, history_files, ledger_files, write_history
from infra.local.importer import read_rows, route
from services.common.kernel.districts import CITY_CODE


def test_last_year_s_procurement_is_written_as_importer_files_in_the_order_it_happened(tmp_path: Path) -> None:
    agencies = [
        Agency(seq, f"AG-{seq}", f"单位{seq}", district, "party_government", "city", 20)
        for seq, district in ((1, CITY_CODE), (2, CITY_CODE), (3, CITY_CODE), (5, "320402"))
    ]
    paths = write_history(tmp_path, history_files(agencies, 2025, 7, 0.01))
    assert [p.name for p in paths] == [
        "demo7s0.01-2025-budget.csv",
        "demo7s0.01-2025-tender.jsonl",
        "demo7s0.01-2025-contracts.jsonl",
    ]
    rows = read_rows(paths)
    # the odd city agencies 1 and 3 (5 is a district's): 2 lines + 2 requests; the tender: open, 4 bids, close,
    # 4 evaluations, award = 11; per request a contract, a delivery and an inspection: 2 × 3 = 6
    assert Counter(r.fact for r in rows) == {
        "open_budget_line": 2,
        "submit_purchase_request": 2,
        "open_tender": 1,
        "submit_bid": 4,
        "close_bidding": 1,
        "evaluate_bid": 4,
        "award_tender": 1,
        "sign_contract": 2,
        "record_delivery": 2,
        "inspect_delivery": 2,
    }
    order = [r.fact for r in rows]
    assert order[:4] == ["open_budget_line", "open_budget_line", "submit_purchase_request", "submit_purchase_request"]
    assert order.index("award_tender") < order.index("sign_contract")
    line = rows[0]
    assert (line.at, line.body["year"], line.body["amount_fen"]) == ("2024-12-20", 2025, 1_100_000)  # 1 % 7 = 1
    request = rows[2]
    # seq 1: 10 + (1 % 5) × 2 = 12 boxes, on last year's line, dated 10 March 2025
    assert route(request) == (
        "/purchase-requests",
        {
            "budget_line_id": "BL-2025-0001",
            "agency_id": "AG-1",
            "request_id": "PR-2025-H0001",
            "item_code": "A0501-A4PAPER",
            "quantity": 12,
            "estimated_unit_price_fen": 24500,
            "submitted_on": "2025-03-10",
        },
    )
    # the same files on every run: the rows keep their Idempotency-Keys
    again = read_rows(write_history(tmp_path, history_files(agencies, 2025, 7, 0.01)))
    assert [(r.key, r.body) for r in again] == [(r.key, r.body) for r in rows]


def test_the_fleet_s_past_is_an_importer_file_quota_first_then_vehicles_and_disposals_on_their_days(
    tmp_path: Path,
) -> None:
    today = date(2026, 6, 1)
    gasoline = MODELS["gasoline"][0]
    a = Agency(1, "AG-1", "单位1", CITY_CODE, "party_government", "city", 20, vehicle_quota=3)
    b = Agency(2, "AG-2", "单位2", CITY_CODE, "party_government", "city", 20, vehicle_quota=1)
    existing = Vehicle(1, "VH00001", "苏D1", a, gasoline, "general", "existing", date(2019, 5, 3))
    old = Vehicle(0, "VH00002-OLD", "苏D2", a, gasoline, "general", "existing", date(2012, 2, 9))
    old.disposed_on = date(2025, 12, 20)  # before this year: the importer's
    replacement = Vehicle(2, "VH00002", "苏D3", a, gasoline, "general", "replacement", date(2026, 1, 5))
    replacement.replaces = old
    new = Vehicle(3, "VH00003", "苏D4", b, gasoline, "general", "new", date(2026, 3, 1))
    a.vehicles, b.vehicles = [existing, replacement], [new]
    odometers = {"VH00001": 52000.0, "VH00002": 0.0, "VH00003": 0.0}
    rows = read_rows(write_history(tmp_path, fleet_files([a, b], odometers, today, 7, 0.01)))
    # AG-2 has only this year's vehicle: its quota and vehicle stay on the API; this year's replacement too
    assert [(r.fact, r.at, r.body.get("vehicle_id", r.body.get("agency_id"))) for r in rows] == [
        ("set_vehicle_quota", "2012-02-09", "AG-1"),  # on the day of its first vehicle, before it
        ("register_vehicle", "2012-02-09", "VH00002-OLD"),
        ("register_vehicle", "2019-05-03", "VH00001"),
        ("dispose_vehicle", "2025-12-20", "VH00002-OLD"),
    ]
    assert route(rows[0]) == (
        "/agencies/AG-1/vehicle-quota",
        {"quota": 3, "reason": "按《常州市党政机关公务用车管理办法》核定编制"},
    )
    assert rows[2].body["odometer_km"] == 52000.0  # the history's odometer, as the API would have sent it
    path, body = route(rows[3])
    assert (path, body["disposed_on"], body["method"]) == ("/vehicles/VH00002-OLD/disposal", "2025-12-20", "auction")


def test_the_ledgers_past_is_an_importer_file_of_assets_acquired_before_this_year(tmp_path: Path) -> None:
    today = date(2026, 6, 1)
    a = Agency(1, "AG-1", "单位1", CITY_CODE, "party_government", "city", 20)
    a.assets = [
        Asset("ZC0001-0001", "computers", "台式计算机", "101", 500_000, date(2024, 7, 1)),
        Asset("ZC0001-0002", "printers", "激光打印机", "101", 200_000, date(2026, 2, 1)),
        Asset("ZC0001-0003", "furniture", "文件柜", "102", 150_000, date(2015, 3, 1)),
    ]
    files = ledger_files([a], today, 7, 0.01)
    assert list(files) == ["demo7s0.01-before2026-assets.jsonl"]
    rows = read_rows(write_history(tmp_path, files))
    # 0002 is this year's (the API's); the others in the order they were acquired
    assert [(r.at, r.body["asset_id"]) for r in rows] == [("2015-03-01", "ZC0001-0003"), ("2024-07-01", "ZC0001-0001")]
    assert route(rows[1]) == (
        "/assets",
        {
            "asset_id": "ZC0001-0001",
            "agency_id": "AG-1",
            "category": "computers",
            "name": "台式计算机",
            "location": "101",
            "original_value_fen": 500_000,
            "acquired_on": "2024-07-01",
            "condition": "good",
        },
    )
