"""Centralized procurement (集中采购) routes: catalog, budget lines, purchase requests, tenders and bids,
contracts and deliveries, batch proposals, abnormal quotes, supplier performance and the price watch.

The catalog and the canteen-ingredient price watch are the city administration's; writers (city
administrators, district operators in their district) handle their agencies' budgets, requests, tenders,
contracts and deliveries. Where a route names no agency or district, the procurement service refuses to
change a stream outside the caller's district (the district travels in the RPC context).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Engine
from werkzeug.wrappers import Request

from services.common.kernel.schemas import load_command as validated
from services.common.runtime.rpc import rpc_proxy
from services.gateway.auth import CITY_ADMINS, READERS, WRITERS, Principal
from services.gateway.web import InboundRoute, api, call, command_route, query_route
from services.procurement import schemas as s

PR = "procurement"

INBOUND_ROUTES = {
    "procurement.submit_purchase_request": InboundRoute(PR, "submit_purchase_request", s.SubmitPurchaseRequestSchema),
}
"""District inbound message types of this service (contracts in ``contracts/inbound/``): a district's agency
submits a purchase request; the service refuses one for another district's agency (its scope travels in the RPC
context) and answers budget and idle-first refusals with their figures."""


def _price_in_fen(payload: dict[str, Any]) -> dict[str, Any]:
    """A v1 purchase request (``estimated_unit_price_cents``) as v2 (``estimated_unit_price_fen``, the same fen)."""
    renamed = {k: v for k, v in payload.items() if k != "estimated_unit_price_cents"}
    return renamed | {"estimated_unit_price_fen": payload["estimated_unit_price_cents"]}


INBOUND_UPCASTERS = {("procurement.submit_purchase_request", 1): _price_in_fen}
"""How a message of an older contract version reads as the next one: v2 names its money ``_fen``."""


class ProcurementApi:
    """Routes of the procurement service."""

    db: Engine
    procurement = rpc_proxy(PR)

    # -- catalog -------------------------------------------------------------------------------------

    list_catalog_item = command_route(
        "POST",
        "/api/v1/catalog-items",
        PR,
        "list_catalog_item",
        s.ListCatalogItemSchema,
        CITY_ADMINS,
        district_scope="service",
        status=201,
    )
    withdraw_catalog_item = command_route(
        "POST",
        "/api/v1/catalog-items/<item_code>/withdraw",
        PR,
        "withdraw_catalog_item",
        s.WithdrawCatalogItemSchema,
        CITY_ADMINS,
        district_scope="service",
    )
    list_catalog_items = query_route(
        "/api/v1/catalog-items", PR, "list_catalog_items", s.ListCatalogItemsSchema, READERS
    )

    # -- budget lines --------------------------------------------------------------------------------

    open_budget_line = command_route(
        "POST", "/api/v1/budget-lines", PR, "open_budget_line", s.OpenBudgetLineSchema, WRITERS, status=201
    )
    adjust_budget_line = command_route(
        "POST",
        "/api/v1/budget-lines/<budget_line_id>/adjustment",
        PR,
        "adjust_budget_line",
        s.AdjustBudgetLineSchema,
        WRITERS,
        district_scope="service",
    )
    get_budget_lines = query_route("/api/v1/budget-lines", PR, "get_budget_lines", s.GetBudgetLinesSchema, READERS)

    # -- purchase requests ---------------------------------------------------------------------------

    submit_purchase_request = command_route(
        "POST",
        "/api/v1/purchase-requests",
        PR,
        "submit_purchase_request",
        s.SubmitPurchaseRequestSchema,
        WRITERS,
        status=201,
    )
    cancel_purchase_request = command_route(
        "POST",
        "/api/v1/purchase-requests/<request_id>/cancel",
        PR,
        "cancel_purchase_request",
        s.CancelPurchaseRequestSchema,
        WRITERS,
        district_scope="service",
    )
    propose_batches = query_route(
        "/api/v1/purchase-requests/batch-proposals", PR, "propose_batches", s.ProposeBatchesSchema, READERS
    )

    # -- tenders -------------------------------------------------------------------------------------

    open_tender = command_route(
        "POST", "/api/v1/tenders", PR, "open_tender", s.OpenTenderSchema, WRITERS, district_scope="district", status=201
    )
    submit_bid = command_route(
        "POST",
        "/api/v1/tenders/<tender_id>/bids",
        PR,
        "submit_bid",
        s.SubmitBidSchema,
        WRITERS,
        district_scope="service",
        status=201,
    )
    close_bidding = command_route(
        "POST",
        "/api/v1/tenders/<tender_id>/close",
        PR,
        "close_bidding",
        s.CloseBiddingSchema,
        WRITERS,
        district_scope="service",
    )
    evaluate_bid = command_route(
        "POST",
        "/api/v1/tenders/<tender_id>/bids/<bid_id>/evaluation",
        PR,
        "evaluate_bid",
        s.EvaluateBidSchema,
        WRITERS,
        district_scope="service",
    )
    clear_abnormal_quote = command_route(
        "POST",
        "/api/v1/tenders/<tender_id>/bids/<bid_id>/clearance",
        PR,
        "clear_abnormal_quote",
        s.ClearAbnormalQuoteSchema,
        WRITERS,
        district_scope="service",
    )
    award_tender = command_route(
        "POST",
        "/api/v1/tenders/<tender_id>/award",
        PR,
        "award_tender",
        s.AwardTenderSchema,
        WRITERS,
        district_scope="service",
    )
    declare_tender_failed = command_route(
        "POST",
        "/api/v1/tenders/<tender_id>/failure",
        PR,
        "declare_tender_failed",
        s.DeclareTenderFailedSchema,
        WRITERS,
        district_scope="service",
    )
    list_tenders = query_route("/api/v1/tenders", PR, "list_tenders", s.ListTendersSchema, READERS)
    ocds_release_package = query_route(
        "/api/v1/ocds/release-package", PR, "ocds_release_package", s.OcdsQuerySchema, READERS, table=None
    )
    ocds_record_package = query_route(
        "/api/v1/ocds/record-package", PR, "ocds_record_package", s.OcdsQuerySchema, READERS, table=None
    )
    list_abnormal_quotes = query_route(
        "/api/v1/abnormal-quotes", PR, "list_abnormal_quotes", s.ListAbnormalQuotesSchema, READERS
    )

    @api("GET", "/api/v1/tenders/<tender_id>", roles=READERS)
    def get_tender(self, request: Request, principal: Principal, tender_id: str) -> Any:
        """A tender with its lots, bids, evaluations and flags (district operators: their district's)."""
        query = validated(s.CloseBiddingSchema, {"tender_id": tender_id})
        tender = call(self.procurement.get_tender, query)
        principal.require_district(tender["district"])
        return tender

    # -- contracts and deliveries --------------------------------------------------------------------

    sign_contract = command_route(
        "POST",
        "/api/v1/contracts",
        PR,
        "sign_contract",
        s.SignContractSchema,
        WRITERS,
        district_scope="service",
        status=201,
    )

    @api("GET", "/api/v1/contracts/<contract_id>", roles=READERS)
    def get_contract(self, request: Request, principal: Principal, contract_id: str) -> Any:
        """A contract with its clauses, deliveries and inspections (district operators: their district's)."""
        contract = call(self.procurement.get_contract, validated(s.GetContractSchema, {"contract_id": contract_id}))
        principal.require_district(contract["district"])
        return contract

    record_delivery = command_route(
        "POST",
        "/api/v1/contracts/<contract_id>/deliveries",
        PR,
        "record_delivery",
        s.RecordDeliverySchema,
        WRITERS,
        district_scope="service",
        status=201,
    )
    inspect_delivery = command_route(
        "POST",
        "/api/v1/contracts/<contract_id>/deliveries/<delivery_id>/inspection",
        PR,
        "inspect_delivery",
        s.InspectDeliverySchema,
        WRITERS,
        district_scope="service",
    )
    supplier_performance = query_route(
        "/api/v1/supplier-performance", PR, "supplier_performance", s.SupplierPerformanceSchema, READERS
    )

    # -- canteen-ingredient price watch --------------------------------------------------------------

    start_price_watch = command_route(
        "POST",
        "/api/v1/price-watches",
        PR,
        "start_price_watch",
        s.StartPriceWatchSchema,
        CITY_ADMINS,
        district_scope="service",
        status=201,
    )
    set_reference_price = command_route(
        "POST",
        "/api/v1/price-watches/<item_code>/reference-price",
        PR,
        "set_reference_price",
        s.SetReferencePriceSchema,
        CITY_ADMINS,
        district_scope="service",
    )
    record_price_observation = command_route(
        "POST",
        "/api/v1/price-watches/<item_code>/observations",
        PR,
        "record_price_observation",
        s.RecordPriceObservationSchema,
        CITY_ADMINS,
        district_scope="service",
        status=201,
    )
    list_price_alerts = query_route("/api/v1/price-alerts", PR, "list_price_alerts", s.ListPriceAlertsSchema, READERS)
