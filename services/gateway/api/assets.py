"""State-owned assets (国有资产) and the public goods warehouse (公物仓) routes.

Agencies (their district's operators) keep their ledger, hand idle assets in, request assets, apply for
replacement and disposal, and count their stock-takes. The administration (city administrators) approves
replacements and disposals, lends warehouse assets, runs warehouse stock (仓储) and flags overdue loans.
Routes on an asset, loan, disposal or stock-take id leave the district check to the service, which refuses
to change an aggregate of another district (the caller's district travels in the RPC context).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Engine
from werkzeug.wrappers import Request

from services.assets import schemas as s
from services.common.kernel.schemas import load_command as validated
from services.common.kernel.scope import within
from services.common.runtime.rpc import rpc_proxy
from services.gateway.auth import CITY_ADMINS, READERS, WRITERS, Principal
from services.gateway.web import InboundRoute, api, call, command_route, query_route

AS = "assets"

INBOUND_ROUTES = {
    "assets.record_stocktake_counts": InboundRoute(AS, "record_stocktake_counts", s.RecordStocktakeCountsSchema),
}
"""District inbound message types of this service (contracts in ``contracts/inbound/``)."""


class AssetsApi:
    """Routes of the assets service."""

    db: Engine
    assets = rpc_proxy(AS)

    # -- the ledger ----------------------------------------------------------------------------------

    register_asset = command_route(
        "POST", "/api/v1/assets", AS, "register_asset", s.RegisterAssetSchema, WRITERS, status=201
    )
    relocate_asset = command_route(
        "POST",
        "/api/v1/assets/<asset_id>/relocation",
        AS,
        "relocate_asset",
        s.RelocateAssetSchema,
        WRITERS,
        district_scope="service",
    )
    mark_asset_idle = command_route(
        "POST",
        "/api/v1/assets/<asset_id>/idle",
        AS,
        "mark_asset_idle",
        s.MarkAssetIdleSchema,
        WRITERS,
        district_scope="service",
    )
    put_asset_back_in_use = command_route(
        "POST",
        "/api/v1/assets/<asset_id>/back-in-use",
        AS,
        "put_asset_back_in_use",
        s.PutAssetBackInUseSchema,
        WRITERS,
        district_scope="service",
    )
    hand_in_asset = command_route(
        "POST",
        "/api/v1/assets/<asset_id>/hand-in",
        AS,
        "hand_in_asset",
        s.HandInAssetSchema,
        WRITERS,
        district_scope="service",
    )
    apply_for_replacement = command_route(
        "POST",
        "/api/v1/assets/<asset_id>/replacement",
        AS,
        "apply_for_replacement",
        s.ApplyReplacementSchema,
        WRITERS,
        district_scope="service",
        status=201,
    )
    assess_repair = command_route(
        "POST",
        "/api/v1/assets/<asset_id>/replacement/assessment",
        AS,
        "assess_repair",
        s.AssessRepairSchema,
        WRITERS,
        district_scope="service",
    )
    approve_replacement = command_route(
        "POST",
        "/api/v1/assets/<asset_id>/replacement/approval",
        AS,
        "approve_replacement",
        s.AssetIdSchema,
        CITY_ADMINS,
        district_scope="service",
    )
    record_repair = command_route(
        "POST",
        "/api/v1/assets/<asset_id>/repairs",
        AS,
        "record_repair",
        s.RecordRepairSchema,
        WRITERS,
        district_scope="service",
        status=201,
    )
    list_assets = query_route("/api/v1/assets", AS, "list_assets", s.ListAssetsSchema, READERS)
    assets_report = query_route(
        "/api/v1/assets/report",
        AS,
        "assets_report",
        s.AssetsReportSchema,
        READERS,
        table="overdue_loans,open_findings,deliveries_not_entered",
    )

    @api("GET", "/api/v1/assets/service-life-table", roles=READERS, table="categories")
    def get_service_life_table(self, request: Request, principal: Principal) -> dict[str, Any]:
        """The minimum service life per asset category in force (最低使用年限)."""
        return dict(call(self.assets.get_service_life_table, {}))

    @api("GET", "/api/v1/assets/depreciation-life-table", roles=READERS, table="categories")
    def get_depreciation_life_table(self, request: Request, principal: Principal) -> dict[str, Any]:
        """The depreciation life per asset category in force (折旧年限), a table apart from the service lives."""
        return dict(call(self.assets.get_depreciation_life_table, {}))

    @api("GET", "/api/v1/assets/<asset_id>", roles=READERS, scope="resource")
    def get_asset(self, request: Request, principal: Principal, asset_id: str) -> dict[str, Any]:
        """One asset: status, holder, location, book value today, replacement and when it is eligible."""
        validated(s.AssetIdSchema, {"asset_id": asset_id})
        found: dict[str, Any] = call(self.assets.get_asset, {"asset_id": asset_id})
        principal.require_district(found["district"])
        return found

    # -- the public goods warehouse ------------------------------------------------------------------

    request_assets = command_route(
        "POST", "/api/v1/warehouse/requests", AS, "request_assets", s.RequestAssetsSchema, WRITERS, status=201
    )
    lend_assets = command_route(
        "POST", "/api/v1/warehouse/loans", AS, "lend_assets", s.LendAssetsSchema, CITY_ADMINS, status=201
    )
    return_loan_items = command_route(
        "POST",
        "/api/v1/warehouse/loans/<loan_id>/returns",
        AS,
        "return_loan_items",
        s.ReturnLoanItemsSchema,
        CITY_ADMINS,
        district_scope="service",
    )
    flag_overdue_loans = command_route(
        "POST",
        "/api/v1/warehouse/overdue-loan-checks",
        AS,
        "flag_overdue_loans",
        s.FlagOverdueLoansSchema,
        CITY_ADMINS,
        district_scope="service",
    )
    list_loans = query_route("/api/v1/warehouse/loans", AS, "list_loans", s.ListLoansSchema, READERS)

    @api("GET", "/api/v1/warehouse/idle-stock", roles=READERS, query=s.IdleStockSchema, table="items")
    def idle_stock(self, request: Request, principal: Principal) -> dict[str, Any]:
        """The warehouse's idle assets (city-wide; a district operator sees its own district's, the stock its
        requests are met from), best condition first."""
        args = request.args.to_dict()
        validated(s.IdleStockSchema, args)
        found = dict(call(self.assets.idle_stock, args))
        visible = principal.visible_district()
        if visible:
            found["items"] = within(visible, found.get("items", []))
        return found

    # -- disposal ------------------------------------------------------------------------------------

    apply_disposal = command_route(
        "POST", "/api/v1/disposals", AS, "apply_disposal", s.ApplyDisposalSchema, WRITERS, status=201
    )
    decide_disposal = command_route(
        "POST",
        "/api/v1/disposals/<disposal_id>/decision",
        AS,
        "decide_disposal",
        s.DecideDisposalSchema,
        CITY_ADMINS,
        district_scope="service",
    )
    complete_disposal = command_route(
        "POST",
        "/api/v1/disposals/<disposal_id>/completion",
        AS,
        "complete_disposal",
        s.CompleteDisposalSchema,
        CITY_ADMINS,
        district_scope="service",
    )

    # -- stock-takes ---------------------------------------------------------------------------------

    open_stocktake = command_route(
        "POST", "/api/v1/stocktakes", AS, "open_stocktake", s.OpenStocktakeSchema, WRITERS, status=201
    )
    record_stocktake_counts = command_route(
        "POST",
        "/api/v1/stocktakes/<stocktake_id>/counts",
        AS,
        "record_stocktake_counts",
        s.RecordStocktakeCountsSchema,
        WRITERS,
        district_scope="service",
        status=201,
    )
    close_stocktake_counting = command_route(
        "POST",
        "/api/v1/stocktakes/<stocktake_id>/close",
        AS,
        "close_stocktake_counting",
        s.StocktakeIdSchema,
        WRITERS,
        district_scope="service",
    )
    reconcile_finding = command_route(
        "POST",
        "/api/v1/stocktakes/<stocktake_id>/findings/<finding_id>/reconciliation",
        AS,
        "reconcile_finding",
        s.ReconcileFindingSchema,
        WRITERS,
        district_scope="service",
    )
    list_stocktake_findings = query_route(
        "/api/v1/stocktakes/findings", AS, "list_stocktake_findings", s.ListFindingsSchema, READERS
    )

    @api("GET", "/api/v1/stocktakes/<stocktake_id>", roles=READERS, scope="resource")
    def get_stocktake(self, request: Request, principal: Principal, stocktake_id: str) -> dict[str, Any]:
        """One stock-take: expected items by ledger location, counted items by location, findings, status."""
        validated(s.StocktakeIdSchema, {"stocktake_id": stocktake_id})
        found: dict[str, Any] = call(self.assets.get_stocktake, {"stocktake_id": stocktake_id})
        principal.require_district(found["district"])
        return found

    # -- warehouse stock (仓储) -----------------------------------------------------------------------

    register_stock_item = command_route(
        "POST",
        "/api/v1/stock-items",
        AS,
        "register_stock_item",
        s.RegisterStockItemSchema,
        CITY_ADMINS,
        district_scope="service",
        status=201,
    )
    receive_goods = command_route(
        "POST",
        "/api/v1/stock-items/<sku>/receipts",
        AS,
        "receive_goods",
        s.ReceiveGoodsSchema,
        CITY_ADMINS,
        district_scope="service",
        status=201,
    )
    issue_goods = command_route(
        "POST", "/api/v1/stock-items/<sku>/issues", AS, "issue_goods", s.IssueGoodsSchema, CITY_ADMINS, status=201
    )
    transfer_goods = command_route(
        "POST",
        "/api/v1/stock-items/<sku>/transfers",
        AS,
        "transfer_goods",
        s.TransferGoodsSchema,
        CITY_ADMINS,
        district_scope="service",
        status=201,
    )
    set_reorder_point = command_route(
        "POST",
        "/api/v1/stock-items/<sku>/reorder-point",
        AS,
        "set_reorder_point",
        s.SetReorderPointSchema,
        CITY_ADMINS,
        district_scope="service",
    )

    @api("GET", "/api/v1/stock", roles=READERS, query=s.StockLevelsSchema, table="items")
    def stock_levels(self, request: Request, principal: Principal) -> dict[str, Any]:
        """Warehouse stock per item and site (the city's central warehouse and outlying points)."""
        args = request.args.to_dict()
        validated(s.StockLevelsSchema, args)
        return dict(call(self.assets.stock_levels, args))
