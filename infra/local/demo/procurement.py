"""Loading procurement: the catalog, last year's history through the importer, budget lines, purchase requests,
tenders, contracts, deliveries and the canteen-ingredient price watch."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

from infra.local.demo.base import Base
from infra.local.demo.city import Agency
from infra.local.demo.client import Phase
from infra.local.demo.draws import draw, iso, stable_hash
from infra.local.demo.histories import history_files
from services.common.kernel.clock import CHINA_STANDARD_TIME as CST
from services.common.kernel.districts import CITY_CODE

CATALOG = [
    ("A0501-A4PAPER", "A4复印纸（70g，500张/包，5包/箱）", "office_supplies", "box"),
    ("A0502-TONER", "激光打印机硒鼓", "office_supplies", "pcs"),
    ("A0503-PEN", "中性签字笔（12支/盒）", "office_supplies", "box"),
    ("A0603-CABINET", "钢制文件柜", "furniture", "pcs"),
    ("A0601-DESK", "办公桌椅（套）", "furniture", "set"),
    ("A020101-PC", "台式计算机", "equipment", "set"),
    ("A02010601-PRINTER", "激光打印机", "equipment", "set"),
    ("C0801-PRINTING", "宣传册印刷", "printing", "copy"),
    ("C1201-VEHREPAIR", "公务用车定点维修", "vehicle_repair", "item"),
    ("C0701-PROPERTY", "机关物业服务", "property_services", "month"),
    ("F0101-PORK", "猪肉（后腿）", "canteen_ingredients", "kg"),
    ("F0102-EGG", "鲜鸡蛋", "canteen_ingredients", "kg"),
    ("F0103-RICE", "粳米", "canteen_ingredients", "kg"),
    ("F0104-GREENS", "青菜", "canteen_ingredients", "kg"),
]
"""Catalog items: code, name, category, unit."""


WATCHED = [
    ("F0101-PORK", "猪肉（后腿）", 2600, 0.22),
    ("F0102-EGG", "鲜鸡蛋", 1100, 0.0),
    ("F0103-RICE", "粳米", 560, 0.0),
    ("F0104-GREENS", "青菜", 480, -0.08),
]
"""Price-watched ingredients: code, name, reference price (fen per kg), the last week's move (pork jumps)."""


class ProcurementLoader(Base):
    """The procurement phases of ``Loader``."""

    def load_catalog(self) -> None:
        """The procurement catalog (集中采购目录): it carries no date, so it comes before the history that names it."""
        api = self.api
        phase = Phase("catalog", None)
        api.phase = phase
        try:
            for code, name, category, unit in CATALOG:
                api.post(
                    "procurement.list_catalog_item",
                    "/catalog-items",
                    {"item_code": code, "name": name, "category": category, "unit": unit},
                    code,
                )
            self.counts["catalog_items"] = len(CATALOG)
        finally:
            api.phase = None
            self.phases.append(phase.finish())

    def load_history(self) -> None:
        """Last year's procurement through the importer, as a city brings its past in (``import_past``)."""
        year = self.today.year - 1
        summary = self.import_past("history", history_files(self.agencies, year, self.o.seed, self.o.scale))
        self.counts["history_rows"] = summary.accepted

    def load_procurement(self) -> None:
        """A budget line per agency, purchase requests (a few from district systems), a batch tender for copy
        paper with an abnormally low bid, a furniture tender for the warehouse's authorised purchase, contracts,
        deliveries and acceptance, and the canteen-ingredient price watch (the catalog is ``load_catalog``'s)."""
        api = self.api
        phase = Phase("procurement", None)
        api.phase = phase
        try:

            def budget(a: Agency) -> None:
                api.post(
                    "procurement.open_budget_line",
                    "/budget-lines",
                    {
                        "budget_line_id": f"BL-{self.today.year}-{a.seq:04d}",
                        "agency_id": a.agency_id,
                        "year": self.today.year,
                        "purpose": "办公用品及设备购置",
                        "amount_fen": (len(a.staff) * 2500 + 100_000) * 100,
                    },
                    f"{a.seq}",
                )

            with ThreadPoolExecutor(self.o.workers) as pool:
                list(pool.map(budget, self.agencies))
            self.counts["budget_lines"] = len(self.agencies)
            requesters = [a for a in self.agencies if a.seq % 3 == 0]
            city_requests: list[str] = []
            for a in requesters:
                ident = f"PR-{self.today.year}-{a.seq:04d}"
                self.quantities[ident] = 10 + len(a.staff) * 2
                body: dict[str, Any] = {
                    "request_id": ident,
                    "agency_id": a.agency_id,
                    "item_code": "A0501-A4PAPER",
                    "quantity": self.quantities[ident],
                    "estimated_unit_price_fen": 24500,
                    "budget_line_id": f"BL-{self.today.year}-{a.seq:04d}",
                }
                if a.district == CITY_CODE:
                    if api.post("procurement.submit_purchase_request", "/purchase-requests", body, ident) is not None:
                        city_requests.append(ident)
                else:
                    self.topic().send(
                        a.district, "procurement.submit_purchase_request", f"demo-{ident}", body, a.agency_id
                    )
            if self.topics is not None:
                self.topics.flush()
            self.counts["purchase_requests"] = len(requesters)
            self._tenders(city_requests)
            self._price_watch()
        finally:
            api.phase = None
            self.phases.append(phase.finish())

    def _tenders(self, paper_requests: list[str]) -> None:
        api = self.api
        closes = iso(datetime.now(CST) + timedelta(seconds=12))
        tenders: list[tuple[str, list[tuple[str, str, int, bool]], list[str], str]] = []
        if paper_requests:
            ident = f"TD-{self.today.year}-PAPER"
            api.post(
                "procurement.open_tender",
                "/tenders",
                {
                    "tender_id": ident,
                    "district": CITY_CODE,
                    "request_ids": paper_requests[:200],
                    "reference_unit_price_fen": 24500,
                    "closes_at": closes,
                },
                ident,
            )
            bids = [
                ("B1", "SUP-JS-0001", 23800, True),
                ("B2", "SUP-JS-0002", 24400, True),
                ("B3", "SUP-JS-0003", 23200, True),
                ("B4", "SUP-JS-0004", 14900, False),
            ]
            tenders.append((ident, bids, paper_requests[:200], "office_supplies"))
        if self.authorisation is not None:
            agency, authorisation, authorised = self.authorisation
            request = f"PR-{self.today.year}-FURN-{agency.seq:04d}"
            self.quantities[request] = authorised
            done = api.post(
                "procurement.submit_purchase_request",
                "/purchase-requests",
                {
                    "request_id": request,
                    "agency_id": agency.agency_id,
                    "item_code": "A0603-CABINET",
                    "quantity": authorised,
                    "estimated_unit_price_fen": 150000,
                    "authorisation_id": authorisation,
                    "budget_line_id": f"BL-{self.today.year}-{agency.seq:04d}",
                },
                request,
            )
            if done is not None:
                ident = f"TD-{self.today.year}-CABINET"
                api.post(
                    "procurement.open_tender",
                    "/tenders",
                    {
                        "tender_id": ident,
                        "district": agency.district,
                        "request_ids": [request],
                        "reference_unit_price_fen": 150000,
                        "closes_at": closes,
                    },
                    ident,
                )
                bids = [
                    ("B1", "SUP-JS-0101", 142000, True),
                    ("B2", "SUP-JS-0102", 138500, True),
                    ("B3", "SUP-JS-0103", 149000, True),
                ]
                tenders.append((ident, bids, [request], "furniture"))
        for ident, bids, _, _ in tenders:
            for bid, supplier, price, _ in bids:
                api.post(
                    "procurement.submit_bid",
                    f"/tenders/{ident}/bids",
                    {"bid_id": bid, "supplier_id": supplier, "unit_price_fen": price},
                    f"{ident}.{bid}",
                )
        if tenders:
            wait = (datetime.fromisoformat(closes) - datetime.now(CST)).total_seconds() + 1
            time.sleep(max(0.0, wait))
        for ident, bids, requests, category in tenders:
            api.post("procurement.close_bidding", f"/tenders/{ident}/close", {}, ident)
            for bid, _, _, compliant in bids:
                body: dict[str, Any] = {"compliant": compliant}
                if not compliant:
                    body["reasons"] = ["报价明显低于成本且未能提供合理说明"]
                api.post("procurement.evaluate_bid", f"/tenders/{ident}/bids/{bid}/evaluation", body, f"{ident}.{bid}")
            api.post("procurement.award_tender", f"/tenders/{ident}/award", {}, ident)
            clauses = ["low_voc", "environmental", "warranty"] if category == "furniture" else ["warranty", "recycling"]
            for n, request in enumerate(requests[:6] if category != "furniture" else requests):
                contract = f"{ident}.{request}"
                signed = api.post(
                    "procurement.sign_contract",
                    "/contracts",
                    {
                        "tender_id": ident,
                        "request_id": request,
                        "clauses": clauses,
                        "delivery_due": (self.today + timedelta(days=20)).isoformat(),
                    },
                    contract,
                )
                if signed is None or n % 2:
                    continue
                quantity = self.quantities[request]
                api.post(
                    "procurement.record_delivery",
                    f"/contracts/{contract}/deliveries",
                    {"delivery_id": "D1", "quantity": quantity, "delivered_on": self.today.isoformat()},
                    contract,
                )
                api.post(
                    "procurement.inspect_delivery",
                    f"/contracts/{contract}/deliveries/D1/inspection",
                    {"accepted_quantity": quantity, "defective_quantity": 0, "inspected_on": self.today.isoformat()},
                    contract,
                )
                self.counts["deliveries_accepted"] += 1
            self.counts["tenders"] += 1

    def _price_watch(self) -> None:
        api = self.api
        for code, _, reference, drift in WATCHED:
            api.post(
                "procurement.start_price_watch",
                "/price-watches",
                {"item_code": code, "reference_price_fen": reference},
                code,
            )
            for back in range(27, -1, -1):
                day = self.today - timedelta(days=back)
                jump = drift if back < 7 else 0.0
                price = round(reference * (1 + jump + 0.04 * (draw(stable_hash(code), day.toordinal()) - 0.5)))
                api.post(
                    "procurement.record_price_observation",
                    f"/price-watches/{code}/observations",
                    {"observed_on": day.isoformat(), "price_fen": price, "market": "常州凌家塘农副产品批发市场"},
                    f"{code}.{day:%Y%m%d}",
                )
        self.counts["price_watches"] = len(WATCHED)
