"""The demo city's past goes through the importer: its history files are read, ordered and routed as a real
city's would be."""

from __future__ import annotations

import importlib.util
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType

from infra.local.importer import read_rows, route

LOADER = Path(__file__).resolve().parents[3] / "infra" / "local" / "demo.py"


def _demo() -> ModuleType:
    spec = importlib.util.spec_from_file_location("demo_history_loader", LOADER)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_last_year_s_procurement_is_written_as_importer_files_in_the_order_it_happened(tmp_path: Path) -> None:
    demo = _demo()
    agencies = [
        demo.Agency(seq, f"AG-{seq}", f"单位{seq}", district, "party_government", "city", 20)
        for seq, district in ((1, demo.CITY_CODE), (2, demo.CITY_CODE), (3, demo.CITY_CODE), (5, "320402"))
    ]
    paths = demo.write_history(tmp_path, demo.history_files(agencies, 2025, 7, 0.01))
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
    assert (line.at, line.body["year"], line.body["amount_cents"]) == ("2024-12-20", 2025, 1_100_000)  # 1 % 7 = 1
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
            "estimated_unit_price_cents": 24500,
            "submitted_on": "2025-03-10",
        },
    )
    # the same files on every run: the rows keep their Idempotency-Keys
    again = read_rows(demo.write_history(tmp_path, demo.history_files(agencies, 2025, 7, 0.01)))
    assert [(r.key, r.body) for r in again] == [(r.key, r.body) for r in rows]
