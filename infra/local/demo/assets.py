"""Loading assets: the ledger's past through the importer, idle assets, warehouse hand-ins, a warehouse request,
a loan, a disposal and a stock-take."""

from __future__ import annotations

import functools
from datetime import date, timedelta

from infra.local.demo.base import Base
from infra.local.demo.city import Agency
from infra.local.demo.client import Phase
from infra.local.demo.histories import asset_body, ledger_files
from services.common.kernel.districts import CITY_CODE


class AssetsLoader(Base):
    """The asset phases of ``Loader``."""

    def load_assets(self) -> None:
        """Each agency's ledger, idle assets and hand-ins to its district's warehouse; then a warehouse request
        met from idle stock, one that authorises a purchase, a conference loan, a disposal and a stock-take
        whose counts a district system sends. Assets acquired before this year come in through the importer
        (``ledger_files``), in the order they were acquired; this year's are registered through the API."""
        api = self.api
        past = self.import_past("assets' past", ledger_files(self.agencies, self.today, self.o.seed, self.o.scale))
        self.counts["past_rows"] += past.accepted
        this_year = date(self.today.year, 1, 1)
        total = sum(
            sum(x.acquired_on >= this_year for x in a.assets)
            + sum(2 if x.fate == "hand_in" else (1 if x.fate else 0) for x in a.assets)
            for a in self.agencies
        )

        def ledger(a: Agency) -> None:
            keeper = self.keepers.get(a.district)
            for x in a.assets:
                if x.acquired_on < this_year:
                    continue  # the importer's
                api.post(
                    "assets.register_asset",
                    "/assets",
                    asset_body(a, x),
                    x.asset_id,
                )
            for x in a.assets:
                if not x.fate:
                    continue
                api.post(
                    "assets.mark_asset_idle", f"/assets/{x.asset_id}/idle", {"reason": "人员调整后闲置"}, x.asset_id
                )
                if x.fate == "hand_in" and keeper is not None and keeper is not a:
                    api.post(
                        "assets.hand_in_asset",
                        f"/assets/{x.asset_id}/hand-in",
                        {"warehouse_id": keeper.agency_id, "condition": "good"},
                        x.asset_id,
                    )

        self.run("assets", total, [functools.partial(ledger, a) for a in self.agencies])
        self.counts["assets"] = sum(len(a.assets) for a in self.agencies)
        self.counts["idle_assets"] = sum(1 for a in self.agencies for x in a.assets if x.fate)
        phase = Phase("warehouse & stock-take", None)
        api.phase = phase
        try:
            self._warehouse_and_stocktake()
        finally:
            api.phase = None
            self.phases.append(phase.finish())

    def _warehouse_and_stocktake(self) -> None:
        api = self.api
        city_keeper = self.keepers.get(CITY_CODE) or next(iter(self.keepers.values()))
        handed = [
            (a, x)
            for a in self.agencies
            for x in a.assets
            if x.fate == "hand_in" and self.keepers.get(a.district) is not a
        ]
        borrower = next((a for a in self.agencies if a.district == city_keeper.district and a is not city_keeper), None)
        in_city = [x for a, x in handed if a.district == city_keeper.district]
        furniture = [x for a, x in handed if x.category == "furniture"]
        requester = next(
            (a for a in self.agencies if a.district == CITY_CODE and a.kind == "party_government" and not a.keeper),
            None,
        )
        if requester is not None and furniture:
            api.post(
                "assets.request_assets",
                "/warehouse/requests",
                {
                    "request_id": "WR-DEMO-1",
                    "agency_id": requester.agency_id,
                    "category": "furniture",
                    "quantity": 1,
                    "min_condition": "fair",
                    "location": "新进人员办公室",
                },
                "WR-DEMO-1",
            )
            self.counts["warehouse_requests"] += 1
        self.authorisation: tuple[Agency, str, int] | None = None
        if requester is not None:
            answer = api.post(
                "assets.request_assets",
                "/warehouse/requests",
                {
                    "request_id": "WR-DEMO-2",
                    "agency_id": requester.agency_id,
                    "category": "furniture",
                    "quantity": min(1000, len(furniture) + 25),
                    "min_condition": "good",
                    "location": "新办公楼会议中心",
                },
                "WR-DEMO-2",
            )
            self.counts["warehouse_requests"] += 1
            if answer and answer.get("purchase_authorised"):
                self.authorisation = (requester, "WR-DEMO-2", int(answer["purchase_authorised"]))
        lendable = [x for x in in_city if x.category != "furniture" or x not in furniture[:1]]
        if borrower is not None and lendable:
            api.post(
                "assets.lend_assets",
                "/warehouse/loans",
                {
                    "loan_id": f"LN-DEMO-{self.today.year}",
                    "agency_id": borrower.agency_id,
                    "purpose": "conference",
                    "occasion": "全市机关事务工作会议",
                    "asset_ids": [x.asset_id for x in lendable[:2]],
                    "due_on": (self.today + timedelta(days=10)).isoformat(),
                },
                f"LN-DEMO-{self.today.year}",
            )
            self.counts["loans"] += 1
        busy = {id(requester), id(borrower)}  # their ledgers change here: no stock-take for them
        old = [
            (a, x)
            for a in self.agencies
            for x in a.assets
            if not x.fate and x.category in ("computers", "printers") and (self.today - x.acquired_on).days > 7 * 365
        ]
        if old:
            a = old[0][0]
            ids = [x.asset_id for b, x in old if b is a][:3]
            busy.add(id(a))
            ident = f"DSP-{a.seq:04d}"
            done = api.post(
                "assets.apply_disposal",
                "/disposals",
                {
                    "disposal_id": ident,
                    "agency_id": a.agency_id,
                    "asset_ids": ids,
                    "method": "scrap",
                    "reason": "已超过最低使用年限且经鉴定无维修价值",
                },
                ident,
            )
            if done is not None:
                api.post("assets.decide_disposal", f"/disposals/{ident}/decision", {"approve": True}, ident)
                api.post("assets.complete_disposal", f"/disposals/{ident}/completion", {"proceeds_fen": 15000}, ident)
                self.counts["disposals"] += 1
        # a stock-take per district: counts come from the district's system; one item missing, one elsewhere
        self.stocktakes: list[str] = []
        for district in sorted(self.keepers):
            agency = next(
                (
                    a
                    for a in self.agencies
                    if a.district == district and not a.keeper and len(a.assets) >= 4 and id(a) not in busy
                ),
                None,
            )
            if agency is None:
                continue
            ident = f"ST-{agency.seq:04d}-{self.today.year}"
            if (
                api.post(
                    "assets.open_stocktake",
                    "/stocktakes",
                    {"stocktake_id": ident, "agency_id": agency.agency_id},
                    ident,
                )
                is None
            ):
                continue
            present = [x for x in agency.assets if x.fate != "hand_in"]  # idle ones are still where they were
            by_place: dict[str, list[str]] = {}
            for n, x in enumerate(present):
                if n == 0:
                    continue  # not found
                place = present[0].location if n == 1 and x.location != present[0].location else x.location
                by_place.setdefault(place, []).append(x.asset_id)
            for n, (place, ids) in enumerate(sorted(by_place.items())):
                self.topic().send(
                    district,
                    "assets.record_stocktake_counts",
                    f"demo-{ident}-{n}",
                    {"stocktake_id": ident, "location": place, "asset_ids": ids, "counted_on": self.today.isoformat()},
                    ident,
                )
            self.stocktakes.append(ident)
        if self.topics is not None:
            self.topics.flush()
        self.counts["stocktakes"] = len(self.stocktakes)
