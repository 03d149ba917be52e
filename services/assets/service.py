"""The assets service (国有资产): the ledger with service lives and book values, replacement after repair
assessment, the public goods warehouse (公物仓: idle stock first, purchase authorised only when nothing fits,
loans), stock-takes, disposal through approval, and warehouse stock (仓储).

Every RPC method is the whole public surface of the service: validate (``@command`` with the schema), load the
aggregates, call the domain, append every changed stream's events in one transaction, answer. The asset's own
stream is the one truth about it: a request, loan, disposal or stock-take that changes an asset appends the
asset's events with its own, so two requests cannot take the same idle item (optimistic concurrency).

From procurement: every ``DeliveryAccepted`` lands in an inbox (``read_model.ReceivedDeliveries``); a projection may
not append events, so ``register_received_deliveries`` (a timer) enters each delivery's items as new assets,
with ids derived from contract and delivery and the procurement event id as the idempotency key: entering a
delivery twice is refused by the store, never doubled.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from nameko.timer import timer

from services.assets import read_model
from services.assets import schemas as s
from services.assets.domain.base import SERVICE_LIFE_2016, ServiceLifeTable
from services.assets.domain.depreciation import DEPRECIATION_LIFE_2017, DepreciationLifeTable
from services.assets.domain.disposal import Disposal
from services.assets.domain.ledger import AcceptedDelivery, Asset
from services.assets.domain.stock import StockItem
from services.assets.domain.stocktake import StockTake
from services.assets.domain.warehouse import WarehouseLoan, WarehouseRequest
from services.common.base.log import get_logger
from services.common.base.metrics import OPEN_ANOMALIES
from services.common.base.settings import settings
from services.common.kernel.clock import china_today
from services.common.kernel.errors import AlreadyExists, DuplicateCommand, NotFound, PlatformError, RuleViolation
from services.common.kernel.events import Metadata
from services.common.kernel.facts import require_right_to_backdate
from services.common.kernel.ids import new_id
from services.common.kernel.scope import within
from services.common.read.agencies import known_agency
from services.common.runtime.dependencies import service_views
from services.common.runtime.rpc import DomainService, command
from services.common.write.store import Idempotency

log = get_logger()

DELIVERY_POLL_SECONDS = 1.0
"""How often accepted procurement deliveries waiting in the inbox are entered in the ledger."""

OVERDUE_CHECK_SECONDS = 24 * 3600
"""How often loans with assets still out after their due date are flagged."""

ANOMALY_REPORT_SECONDS = 60.0
"""How often the open anomalies per kind are reported to the ``gov_open_anomalies`` gauge."""

DELIVERY_ACTOR = "system:procurement"
"""The actor of ledger entries made from procurement's accepted deliveries."""


@cache
def service_life_table() -> ServiceLifeTable:
    """The deployment's service-life table: ``ASSET_SERVICE_LIFE_FILE`` or the built-in 2016 one."""
    path = settings().asset_service_life_file
    if path is None:
        return SERVICE_LIFE_2016
    return ServiceLifeTable.from_dict(json.loads(path.read_text(encoding="utf-8")))


@cache
def depreciation_life_table() -> DepreciationLifeTable:
    """The deployment's depreciation-life table: ``ASSET_DEPRECIATION_LIFE_FILE`` or the built-in 2017 one."""
    path = settings().asset_depreciation_life_file
    if path is None:
        return DEPRECIATION_LIFE_2017
    return DepreciationLifeTable.from_dict(json.loads(path.read_text(encoding="utf-8")))


class AssetsService(DomainService):
    """Nameko service ``assets``."""

    name = "assets"
    read_models = service_views(
        read_model.AssetsViews(), read_model.ReceivedDeliveries(), migrations=("assets_views", "assets_inbox")
    )

    # -- the ledger ----------------------------------------------------------------------------------

    @command(s.RegisterAssetSchema)
    def register_asset(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """RegisterAsset: an asset of a known agency enters the ledger with its category's service life."""
        agency = known_agency(self.read_models.engine, cmd["agency_id"])
        asset = Asset.register(
            asset_id=new_id(cmd["asset_id"], "AS"),
            agency_id=agency.agency_id,
            district=agency.district,
            category=cmd["category"],
            name=cmd["name"],
            location=cmd["location"],
            original_value_fen=cmd["original_value_fen"],
            acquired_on=cmd["acquired_on"],
            condition=cmd["condition"],
            table=service_life_table(),
            today=china_today(),
            depreciation=depreciation_life_table(),
        )
        return self.save(asset)

    @command()
    def get_asset(self, query: dict[str, Any]) -> dict[str, Any]:
        """One asset from its stream, with today's book value and when it may be replaced."""
        asset = self.store.load(Asset, str(query.get("asset_id")))
        d = asset.depreciation(china_today())
        figures = {
            "book_value_fen": d.book_value_fen,
            "accumulated_depreciation_fen": d.accumulated_depreciation_fen,
            "months_depreciated": d.months_depreciated,
            "remaining_life_months": d.remaining_life_months,
        }
        if asset.status == "disposed":  # off the ledger: counts 0, and left with the value it had then
            figures |= {"book_value_fen": 0, "book_value_at_disposal_fen": d.book_value_fen}
        return {
            "id": asset.id,
            "version": asset.version,
            **asset.snapshot_state(),
            **figures,
            "eligible_for_replacement_on": asset.eligible_for_replacement_on.isoformat(),
        }

    @command(s.RelocateAssetSchema)
    def relocate_asset(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """RelocateAsset: the asset is now at another location of its agency."""
        asset = self.load_in_scope(Asset, cmd["asset_id"])
        asset.relocate(cmd["location"], china_today())
        return self.save(asset)

    @command(s.MarkAssetIdleSchema)
    def mark_asset_idle(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """MarkAssetIdle: the agency no longer uses the asset (闲置)."""
        asset = self.load_in_scope(Asset, cmd["asset_id"])
        asset.mark_idle(cmd["reason"], china_today())
        return self.save(asset)

    @command(s.PutAssetBackInUseSchema)
    def put_asset_back_in_use(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """PutAssetBackInUse: an idle asset is used again."""
        asset = self.load_in_scope(Asset, cmd["asset_id"])
        asset.put_back_in_use(cmd["location"], china_today())
        return self.save(asset)

    @command(s.HandInAssetSchema)
    def hand_in_asset(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """HandInAsset: an idle, usable asset goes to the public goods warehouse; its keeper (an agency) holds it."""
        asset = self.load_in_scope(Asset, cmd["asset_id"])
        keeper = known_agency(self.read_models.engine, cmd["warehouse_id"], "warehouse_id")
        asset.hand_in(keeper.agency_id, keeper.district, cmd["condition"], china_today())
        return self.save(asset)

    # -- replacement ---------------------------------------------------------------------------------

    @command(s.ApplyReplacementSchema)
    def apply_for_replacement(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """ApplyForReplacement: refused before the minimum service life (不达使用年限的一律不予更新)."""
        asset = self.load_in_scope(Asset, cmd["asset_id"])
        asset.apply_for_replacement(cmd["reason"], china_today())
        return self.save(asset, answer={"eligible_on": asset.eligible_for_replacement_on.isoformat()})

    @command(s.AssessRepairSchema)
    def assess_repair(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """AssessRepair: the repair assessment every replacement waits for (能用则用，能修先修)."""
        asset = self.load_in_scope(Asset, cmd["asset_id"])
        asset.assess_repair(
            cmd["usable"], cmd["repairable"], cmd["estimated_repair_fen"], self.context().actor, china_today()
        )
        return self.save(asset)

    @command(s.AssetIdSchema)
    def approve_replacement(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """ApproveReplacement: only for an asset assessed as neither usable nor repairable."""
        asset = self.store.load(Asset, cmd["asset_id"])
        asset.approve_replacement(self.context().actor, china_today())
        return self.save(asset)

    @command(s.RecordRepairSchema)
    def record_repair(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """RecordRepair: the asset was repaired (closing any replacement application)."""
        asset = self.load_in_scope(Asset, cmd["asset_id"])
        asset.record_repair(cmd["cost_fen"], cmd["condition"], china_today())
        return self.save(asset)

    # -- the public goods warehouse ------------------------------------------------------------------

    @command(s.RequestAssetsSchema)
    def request_assets(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """RequestAssets: met from the warehouse's idle stock first; a purchase is authorised (an event the
        procurement service relies on) only for what no idle item of the category and condition covers."""
        agency = known_agency(self.read_models.engine, cmd["agency_id"])
        replaces = self.store.load(Asset, cmd["replaces_asset_id"]) if cmd["replaces_asset_id"] else None
        request = WarehouseRequest.open(
            request_id=new_id(cmd["request_id"], "WR"),
            agency_id=agency.agency_id,
            district=agency.district,
            category=cmd["category"],
            quantity=cmd["quantity"],
            min_condition=cmd["min_condition"],
            location=cmd["location"],
            table=service_life_table(),
            today=china_today(),
            replaces=replaces,
        )
        with self.read_models.engine.connect() as conn:
            candidates = read_model.warehouse_candidates(conn, request.category)
        stock = list(self.store.find_many(Asset, candidates).values())
        # another district's stock goes across districts by the city's reallocation only
        stock = within(self.context().scope_district, stock)
        allocated = request.fulfil_from_idle_stock(stock, china_today())
        taken = [a for a in stock if a.id in allocated]
        changed = [request, *([replaces] if replaces else []), *taken]
        answer = {"allocated_asset_ids": allocated, "purchase_authorised": request.quantity - len(allocated)}
        return self.save(*changed, answer=answer)

    @command(s.IdleStockSchema)
    def idle_stock(self, query: dict[str, Any]) -> dict[str, Any]:
        """The warehouse's idle assets, best condition first, with book value."""
        with self.read_models.engine.connect() as conn:
            return {"items": read_model.idle_stock(conn, query["category"], query["min_condition"], china_today())}

    @command(s.LendAssetsSchema)
    def lend_assets(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """LendAssets: warehouse assets lent for a conference or a temporary body until a due date."""
        require_right_to_backdate({"lent_on": cmd["lent_on"]}, self.context().scope_district)
        agency = known_agency(self.read_models.engine, cmd["agency_id"])
        assets = self._assets(cmd["asset_ids"])
        loan = WarehouseLoan.lend(
            loan_id=new_id(cmd["loan_id"], "LN"),
            borrower_agency_id=agency.agency_id,
            district=agency.district,
            purpose=cmd["purpose"],
            occasion=cmd["occasion"],
            assets=assets,
            due_on=cmd["due_on"],
            today=china_today(),
            lent_on=cmd["lent_on"],
        )
        return self.save(loan, *assets)

    @command(s.ReturnLoanItemsSchema)
    def return_loan_items(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """ReturnLoanItems: lent assets came back to the warehouse."""
        require_right_to_backdate({"returned_on": cmd["returned_on"]}, self.context().scope_district)
        loan = self.store.load(WarehouseLoan, cmd["loan_id"])
        assets = self._assets(cmd["asset_ids"])
        loan.return_items(assets, china_today(), cmd["conditions"], cmd["returned_on"])
        return self.save(loan, *assets, answer={"outstanding_asset_ids": loan.outstanding})

    @command(s.FlagOverdueLoansSchema)
    def flag_overdue_loans(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """FlagOverdueLoans: a finding for each loan with assets still out after its due date."""
        flagged = self._flag_overdue_loans()
        if not flagged:
            return {"flagged_loan_ids": [], "event_ids": []}
        return self.save(*flagged, answer={"flagged_loan_ids": [loan.id for loan in flagged]})

    @timer(interval=OVERDUE_CHECK_SECONDS)  # type: ignore[untyped-decorator]
    def flag_overdue_loans_daily(self) -> None:
        """Once a day, flag the loans that became overdue."""
        flagged = self._flag_overdue_loans()
        if flagged:
            self.save(*flagged)

    def _flag_overdue_loans(self) -> list[WarehouseLoan]:
        today = china_today()
        with self.read_models.engine.connect() as conn:
            ids = read_model.overdue_loan_ids(conn, today)
        loans = self.store.find_many(WarehouseLoan, ids).values()
        return [loan for loan in loans if loan.flag_if_overdue(today)]

    @command(s.ListLoansSchema)
    def list_loans(self, query: dict[str, Any]) -> dict[str, Any]:
        """Loans with the assets still out and days overdue."""
        with self.read_models.engine.connect() as conn:
            items = read_model.loan_list(conn, query, china_today())
        return {"items": items, "limit": query["limit"], "offset": query["offset"]}

    def _assets(self, asset_ids: list[str]) -> list[Asset]:
        found = self.store.find_many(Asset, asset_ids)
        missing = [a for a in asset_ids if a not in found]
        if missing:
            raise NotFound(f"no asset {', '.join(missing)}", fields={"asset_ids": ["unknown asset"]})
        return [found[a] for a in asset_ids]

    # -- disposal ------------------------------------------------------------------------------------

    @command(s.ApplyDisposalSchema)
    def apply_disposal(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """ApplyDisposal: an agency applies to dispose of assets it holds, at their book value."""
        agency = known_agency(self.read_models.engine, cmd["agency_id"])
        disposal = Disposal.apply(
            disposal_id=new_id(cmd["disposal_id"], "DP"),
            agency_id=agency.agency_id,
            district=agency.district,
            assets=self._assets(cmd["asset_ids"]),
            method=cmd["method"],
            reason=cmd["reason"],
            today=china_today(),
            recipient=cmd["recipient"],
        )
        return self.save(disposal)

    @command(s.DecideDisposalSchema)
    def decide_disposal(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """DecideDisposal: the administration approves or rejects (nothing is disposed without approval)."""
        disposal = self.store.load(Disposal, cmd["disposal_id"])
        actor = self.context().actor
        if cmd["approve"]:
            disposal.approve(actor, china_today())
        else:
            disposal.reject(actor, cmd["reason"], china_today())
        return self.save(disposal)

    @command(s.CompleteDisposalSchema)
    def complete_disposal(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """CompleteDisposal: the approved assets leave the ledger; proceeds recorded."""
        disposal = self.store.load(Disposal, cmd["disposal_id"])
        assets = self._assets(disposal.asset_ids)
        disposal.complete(assets, cmd["proceeds_fen"], china_today(), cmd["trading_centre_ref"])
        return self.save(disposal, *assets)

    # -- stock-takes ---------------------------------------------------------------------------------

    @command(s.OpenStocktakeSchema)
    def open_stocktake(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """OpenStocktake: against the agency's assets in use or idle, by ledger location."""
        agency = known_agency(self.read_models.engine, cmd["agency_id"])
        with self.read_models.engine.connect() as conn:
            expected = read_model.expected_for_stocktake(conn, agency.agency_id)
        stocktake = StockTake.open(
            new_id(cmd["stocktake_id"], "ST"), agency.agency_id, agency.district, expected, china_today()
        )
        return self.save(stocktake, answer={"expected_items": len(expected)})

    @command()
    def get_stocktake(self, query: dict[str, Any]) -> dict[str, Any]:
        """One stock-take from its stream: what the ledger expected, what was counted where, its findings."""
        stocktake = self.store.load(StockTake, str(query.get("stocktake_id")))
        return {"id": stocktake.id, "version": stocktake.version, **stocktake.snapshot_state()}

    @command(s.RecordStocktakeCountsSchema)
    def record_stocktake_counts(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """RecordStocktakeCounts: the tags counted at one location (a district may send them as a message)."""
        stocktake = self.load_in_scope(StockTake, cmd["stocktake_id"])
        counted_on = cmd["counted_on"] or china_today()
        if counted_on > china_today():
            raise RuleViolation("a count cannot be recorded ahead of its day", fields={"counted_on": ["in the future"]})
        stocktake.count(cmd["location"], cmd["asset_ids"], counted_on)
        return self.save(stocktake)

    @command(s.StocktakeIdSchema)
    def close_stocktake_counting(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """CloseStocktakeCounting: every difference with the ledger becomes a finding."""
        stocktake = self.load_in_scope(StockTake, cmd["stocktake_id"])
        finding_ids = stocktake.close_counting(china_today())
        return self.save(stocktake, answer={"finding_ids": finding_ids})

    @command(s.ReconcileFindingSchema)
    def reconcile_finding(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """ReconcileFinding: close a finding; correcting the ledger relocates the asset in the same append."""
        stocktake = self.load_in_scope(StockTake, cmd["stocktake_id"])
        finding = stocktake.finding(cmd["finding_id"])
        asset = self.store.find(Asset, finding["asset_id"]) if cmd["resolution"] == "ledger_corrected" else None
        stocktake.reconcile(cmd["finding_id"], cmd["resolution"], cmd["note"], china_today(), asset)
        return self.save(stocktake, *([asset] if asset else []))

    @command(s.ListFindingsSchema)
    def list_stocktake_findings(self, query: dict[str, Any]) -> dict[str, Any]:
        """Stock-take findings, open ones by default."""
        with self.read_models.engine.connect() as conn:
            items = read_model.finding_list(conn, query)
        return {"items": items, "limit": query["limit"], "offset": query["offset"]}

    # -- warehouse stock -----------------------------------------------------------------------------

    @command(s.RegisterStockItemSchema)
    def register_stock_item(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """RegisterStockItem: an item kept at the central warehouse and outlying points."""
        item = StockItem.register(
            sku=cmd["sku"],
            name=cmd["name"],
            unit=cmd["unit"],
            sites=cmd["sites"],
            reorder_points=cmd["reorder_points"],
            today=china_today(),
        )
        return self.save(item)

    @command(s.ReceiveGoodsSchema)
    def receive_goods(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """ReceiveGoods: goods in (入库); the moving average cost follows."""
        item = self.store.load(StockItem, cmd["sku"])
        item.receive(cmd["site"], cmd["quantity"], cmd["unit_cost_fen"], cmd["reference"], china_today())
        return self.save(item, answer=self._stock_answer(item))

    @command(s.IssueGoodsSchema)
    def issue_goods(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """IssueGoods: goods out (出库) to a known agency, never below zero."""
        agency = known_agency(self.read_models.engine, cmd["agency_id"])
        item = self.store.load(StockItem, cmd["sku"])
        item.issue(cmd["site"], cmd["quantity"], agency.agency_id, china_today())
        return self.save(item, answer=self._stock_answer(item))

    @command(s.TransferGoodsSchema)
    def transfer_goods(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """TransferGoods: between the central warehouse and an outlying point (调拨)."""
        item = self.store.load(StockItem, cmd["sku"])
        item.transfer(cmd["from_site"], cmd["to_site"], cmd["quantity"], china_today())
        return self.save(item, answer=self._stock_answer(item))

    @command(s.SetReorderPointSchema)
    def set_reorder_point(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """SetReorderPoint: a site's reorder point."""
        item = self.store.load(StockItem, cmd["sku"])
        item.set_reorder_point(cmd["site"], cmd["reorder_point"], china_today())
        return self.save(item, answer=self._stock_answer(item))

    def _stock_answer(self, item: StockItem) -> dict[str, Any]:
        reorder = [e.payload()["site"] for e in item.pending_events if e.event_type == "ReorderPointReached"]
        return {"on_hand": dict(item.on_hand), "stock_value_fen": item.stock_value_fen(), "reorder_sites": reorder}

    @command(s.StockLevelsSchema)
    def stock_levels(self, query: dict[str, Any]) -> dict[str, Any]:
        """Stock per item and site with reorder points and value."""
        with self.read_models.engine.connect() as conn:
            return {"items": read_model.stock_list(conn, query)}

    # -- ledger queries ------------------------------------------------------------------------------

    @command(s.ListAssetsSchema)
    def list_assets(self, query: dict[str, Any]) -> dict[str, Any]:
        """The ledger with today's book values."""
        with self.read_models.engine.connect() as conn:
            items = read_model.asset_list(conn, query, china_today())
        return {"items": items, "limit": query["limit"], "offset": query["offset"]}

    @command(s.AssetsReportSchema)
    def assets_report(self, query: dict[str, Any]) -> dict[str, Any]:
        """Per holder: assets by status (count, original and book value); overdue loans; open differences."""
        today, agency_id, district = china_today(), query["agency_id"], query["district"]
        page = {"agency_id": agency_id, "district": district, "limit": 1000, "offset": 0}
        with self.read_models.engine.connect() as conn:
            return {
                "by_holder": read_model.ledger_summary(conn, agency_id, district, today),
                "overdue_loans": read_model.loan_list(conn, page | {"overdue_only": True}, today),
                "open_findings": read_model.finding_list(conn, page | {"open_only": True}),
                "deliveries_not_entered": [] if agency_id or district else read_model.deliveries_not_entered(conn),
            }

    @command()
    def get_service_life_table(self, query: dict[str, Any]) -> dict[str, Any]:
        """The minimum service life per category in force (最低使用年限), with its version and source."""
        return service_life_table().as_dict()

    @command()
    def get_depreciation_life_table(self, query: dict[str, Any]) -> dict[str, Any]:
        """The depreciation life per category in force (折旧年限), with its version and source."""
        return depreciation_life_table().as_dict()

    @timer(interval=ANOMALY_REPORT_SECONDS)  # type: ignore[untyped-decorator]
    def report_open_anomalies(self) -> None:
        """Report the open anomalies per kind (stock-take differences, overdue loans, reorders, refused deliveries)."""
        with self.read_models.engine.connect() as conn:
            counts = read_model.open_anomaly_counts(conn, china_today())
        for kind, count in counts.items():
            OPEN_ANOMALIES.labels(self.name, kind).set(count)

    # -- procurement's accepted deliveries -----------------------------------------------------------

    @timer(interval=DELIVERY_POLL_SECONDS)  # type: ignore[untyped-decorator]
    def register_received_deliveries(self) -> None:
        """Enter the items of every accepted delivery waiting in the inbox as new assets."""
        with self.read_models.engine.connect() as conn:
            pending = read_model.pending_deliveries(conn)
        for row in pending:
            status, asset_ids, reason = self._enter_delivery(row)
            with self.read_models.engine.begin() as conn:
                read_model.mark_delivery(conn, row["event_id"], status, asset_ids, reason)
            log.info("delivery_entered", event_id=row["event_id"], status=status, assets=len(asset_ids))

    def _enter_delivery(self, row: dict[str, Any]) -> tuple[str, list[str], str | None]:
        """Register one delivery's assets; (status, asset ids, reason). Entering it again changes nothing."""
        delivery = AcceptedDelivery.from_payload(row["payload"])
        try:
            assets = Asset.register_from_delivery(
                delivery, service_life_table(), depreciation=depreciation_life_table()
            )
        except PlatformError as refused:
            status = "skipped" if refused.code == "not_a_fixed_asset" else "refused"
            return status, [], f"{refused.code}: {refused.message}"
        ids = [a.id for a in assets]
        meta = Metadata(actor=DELIVERY_ACTOR, correlation_id=row["correlation_id"], causation_id=row["event_id"])
        key = f"procurement:DeliveryAccepted:{row['event_id']}"
        try:
            self.store.save_all(assets, meta, Idempotency(key, "register_delivered_assets", {"asset_ids": ids}))
        except (AlreadyExists, DuplicateCommand):
            return "registered", ids, "entered before"
        self.relay.wake()
        return "registered", ids, None
