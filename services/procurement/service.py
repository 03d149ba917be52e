"""The procurement service (集中采购): catalog, budget lines, purchase requests with the idle-first check,
tenders with lowest-compliant-price awards and abnormal-quote findings, contracts with green clauses,
deliveries and acceptance, batch proposals, and the canteen-ingredient price watch.

Every RPC method is the whole public surface of the service: validate (``@command`` with the schema),
load the aggregates, call the domain, append every changed stream's events in one transaction (the budget
line's version is what stops two requests overspending it; ``@command`` retries a lost race), answer.

Idle-first (公物仓): the assets service's purchase authorisations arrive on ``assets.events`` and are kept
in a read model (``read_model.ReceivedAuthorisations``); a projection may not append events, so the first
request that names one turns it into the ``PurchaseAuthorisation`` aggregate (``receive``) and uses it, in
the request's own transaction. A second request naming it finds the aggregate already used.
"""

from __future__ import annotations

import time
from datetime import date
from typing import Any

import sqlalchemy as sa

from services.common.base.settings import settings
from services.common.kernel.clock import china_today, utc_now
from services.common.kernel.events import Event
from services.common.kernel.facts import require_right_to_backdate
from services.common.kernel.ids import new_id
from services.common.read.agencies import AGENCY_WAIT_SECONDS, known_agency
from services.common.runtime.dependencies import service_views
from services.common.runtime.rpc import DomainService, command
from services.procurement import read_model
from services.procurement import schemas as s
from services.procurement.domain import ocds
from services.procurement.domain.budget import BudgetLine
from services.procurement.domain.catalog import CatalogItem
from services.procurement.domain.contracts import ProcurementContract
from services.procurement.domain.price_watch import IngredientPriceWatch, PriceMoveRules
from services.procurement.domain.quotes import AbnormalQuoteRules
from services.procurement.domain.requests import PurchaseAuthorisation, PurchaseRequest
from services.procurement.domain.tenders import Tender


def _payloads(events: list[Event], event_type: str) -> list[dict[str, Any]]:
    return [e.payload() for e in events if e.event_type == event_type]


def quote_rules() -> AbnormalQuoteRules:
    """The deployment's abnormal-quote thresholds (settings ``QUOTE_*``)."""
    config = settings()
    return AbnormalQuoteRules(
        config.quote_below_median_fraction, config.quote_below_reference_fraction, config.quote_rotation_rounds
    )


def price_rules() -> PriceMoveRules:
    """The deployment's price-alert thresholds (settings ``PRICE_MOVE_*``)."""
    config = settings()
    return PriceMoveRules(config.price_move_week_on_week, config.price_move_against_reference)


class ProcurementService(DomainService):
    """Nameko service ``procurement``."""

    name = "procurement"
    read_models = service_views(
        read_model.ProcurementViews(), read_model.ReceivedAuthorisations(), migrations=("procurement_views",)
    )

    # -- catalog -------------------------------------------------------------------------------------

    @command(s.ListCatalogItemSchema)
    def list_catalog_item(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """ListCatalogItem: an item of the catalog; its category decides green clauses and idle-first."""
        item = CatalogItem.list_item(
            cmd["item_code"], cmd["name"], cmd["category"], cmd["unit"], cmd["green_clauses_required"]
        )
        return self.save(item)

    @command(s.WithdrawCatalogItemSchema)
    def withdraw_catalog_item(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """WithdrawCatalogItem: no new request may name the item."""
        item = self.store.load(CatalogItem, cmd["item_code"])
        item.withdraw(cmd["reason"])
        return self.save(item)

    # -- budget lines --------------------------------------------------------------------------------

    @command(s.OpenBudgetLineSchema)
    def open_budget_line(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """OpenBudgetLine: a budget line of an agency for a year (granted on ``opened_on`` when brought in)."""
        require_right_to_backdate({"opened_on": cmd["opened_on"]}, self.context().scope_district)
        agency = known_agency(self.read_models.engine, cmd["agency_id"])
        line = BudgetLine.open(
            budget_line_id=new_id(cmd["budget_line_id"], "BL"),
            agency_id=agency.agency_id,
            district=agency.district,
            year=cmd["year"],
            purpose=cmd["purpose"],
            amount_fen=cmd["amount_fen"],
            today=china_today(),
            opened_on=cmd["opened_on"],
        )
        return self.save(line)

    @command(s.AdjustBudgetLineSchema)
    def adjust_budget_line(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """AdjustBudgetLine: a new amount, never below what is committed and spent."""
        require_right_to_backdate({"adjusted_on": cmd["adjusted_on"]}, self.context().scope_district)
        line = self.load_in_scope(BudgetLine, cmd["budget_line_id"])
        line.adjust(cmd["amount_fen"], cmd["reason"], china_today(), cmd["adjusted_on"])
        return self.save(line)

    # -- purchase requests ---------------------------------------------------------------------------

    @command(s.SubmitPurchaseRequestSchema)
    def submit_purchase_request(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """SubmitPurchaseRequest: within the budget line and, for furniture and equipment, authorised."""
        require_right_to_backdate({"submitted_on": cmd["submitted_on"]}, self.context().scope_district)
        agency = known_agency(self.read_models.engine, cmd["agency_id"])
        item = self.store.find(CatalogItem, cmd["item_code"]) or CatalogItem(cmd["item_code"])
        budget = self.store.find(BudgetLine, cmd["budget_line_id"])
        authorisation = self._authorisation(cmd["authorisation_id"]) if item.idle_first else None
        request = PurchaseRequest.submit(
            request_id=new_id(cmd["request_id"], "PR"),
            agency_id=agency.agency_id,
            district=agency.district,
            item=item,
            quantity=cmd["quantity"],
            estimated_unit_price_fen=cmd["estimated_unit_price_fen"],
            budget=budget,
            authorisation=authorisation,
            today=china_today(),
            submitted_on=cmd["submitted_on"],
        )
        return self.save(request, *[a for a in (budget, authorisation) if a is not None])

    def _authorisation(self, authorisation_id: str | None) -> PurchaseAuthorisation | None:
        """The authorisation as stored, or as received from the assets service (recorded on first use)."""
        if authorisation_id is None:
            return None
        deadline = time.monotonic() + AGENCY_WAIT_SECONDS
        while True:
            stored = self.store.find(PurchaseAuthorisation, authorisation_id)
            if stored is not None:
                return stored
            with self.read_models.engine.connect() as conn:
                row = read_model.received_authorisation(conn, authorisation_id)
            if row is not None:
                return PurchaseAuthorisation.receive(
                    authorisation_id=row["authorisation_id"],
                    agency_id=row["agency_id"],
                    district=row["district"],
                    category=row["category"],
                    quantity=row["quantity"],
                    authorised_on=date.fromisoformat(row["authorised_on"]),
                )
            if time.monotonic() >= deadline:  # not (yet) learned from the assets service
                return None
            time.sleep(0.1)

    @command(s.CancelPurchaseRequestSchema)
    def cancel_purchase_request(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """CancelPurchaseRequest: a request not yet tendered is withdrawn; its reservation is released."""
        request = self.load_in_scope(PurchaseRequest, cmd["request_id"])
        budget = self.store.load(BudgetLine, request.budget_line_id)
        request.cancel(cmd["reason"], budget)
        return self.save(request, budget)

    # -- tenders -------------------------------------------------------------------------------------

    @command(s.OpenTenderSchema)
    def open_tender(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """OpenTender: one catalog item, for one request or a batch of several agencies' requests."""
        require_right_to_backdate({"opened_at": cmd["opened_at"]}, self.context().scope_district)
        requests = [self.store.load(PurchaseRequest, request_id) for request_id in cmd["request_ids"]]
        tender = Tender.open(
            tender_id=new_id(cmd["tender_id"], "TD"),
            district=cmd["district"],
            requests=requests,
            reference_unit_price_fen=cmd["reference_unit_price_fen"],
            closes_at=cmd["closes_at"],
            now=utc_now(),
            opened_at=cmd["opened_at"],
        )
        return self.save(tender, *requests)

    @command(s.SubmitBidSchema)
    def submit_bid(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """SubmitBid: a supplier's sealed bid while bidding is open."""
        require_right_to_backdate({"submitted_at": cmd["submitted_at"]}, self.context().scope_district)
        tender = self.load_in_scope(Tender, cmd["tender_id"])
        bid_id = new_id(cmd["bid_id"], "BID")
        tender.submit_bid(bid_id, cmd["supplier_id"], cmd["unit_price_fen"], utc_now(), cmd["submitted_at"])
        return self.save(tender, answer={"bid_id": bid_id})

    @command(s.CloseBiddingSchema)
    def close_bidding(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """CloseBidding: open the bids and flag abnormal quotes, against the past awards of the category."""
        require_right_to_backdate({"closed_at": cmd["closed_at"]}, self.context().scope_district)
        tender = self.load_in_scope(Tender, cmd["tender_id"])
        with self.read_models.engine.connect() as conn:
            past = [a for a in read_model.past_awards(conn, tender.category) if a.tender_id != tender.id]
        tender.close_bidding(utc_now(), past, quote_rules(), cmd["closed_at"])
        flagged = _payloads(tender.pending_events, "AbnormalQuoteFlagged")
        return self.save(tender, answer={"abnormal_quotes": flagged})

    @command(s.EvaluateBidSchema)
    def evaluate_bid(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """EvaluateBid: compliant or not, with the reasons."""
        tender = self.load_in_scope(Tender, cmd["tender_id"])
        tender.evaluate_bid(cmd["bid_id"], cmd["compliant"], cmd["reasons"])
        return self.save(tender)

    @command(s.ClearAbnormalQuoteSchema)
    def clear_abnormal_quote(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """ClearAbnormalQuote: the evaluators accept a flagged bidder's justification."""
        tender = self.load_in_scope(Tender, cmd["tender_id"])
        tender.clear_abnormal_quote(cmd["bid_id"], cmd["justification"])
        return self.save(tender)

    @command(s.AwardTenderSchema)
    def award_tender(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """AwardTender: to the lowest compliant bid (低价中标), the reason recorded."""
        require_right_to_backdate({"awarded_at": cmd["awarded_at"]}, self.context().scope_district)
        tender = self.load_in_scope(Tender, cmd["tender_id"])
        tender.award(utc_now(), cmd["awarded_at"])
        (award,) = _payloads(tender.pending_events, "TenderAwarded")
        keys = ("bid_id", "supplier_id", "unit_price_fen", "amount_fen", "reason")
        return self.save(tender, answer={k: award[k] for k in keys})

    @command(s.DeclareTenderFailedSchema)
    def declare_tender_failed(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """DeclareTenderFailed: the tender failed (流标); its requests go back to be tendered again."""
        tender = self.load_in_scope(Tender, cmd["tender_id"])
        requests = [self.store.load(PurchaseRequest, lot["request_id"]) for lot in tender.lots]
        tender.declare_failed(cmd["reason"], requests, utc_now())
        return self.save(tender, *requests)

    # -- contracts and deliveries --------------------------------------------------------------------

    @command(s.SignContractSchema)
    def sign_contract(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """SignContract: one contract per awarded lot (id ``<tender_id>.<request_id>``), green clauses where due."""
        require_right_to_backdate({"signed_on": cmd["signed_on"]}, self.context().scope_district)
        tender = self.store.load(Tender, cmd["tender_id"])
        request = self.store.load(PurchaseRequest, cmd["request_id"])
        budget = self.store.load(BudgetLine, request.budget_line_id)
        contract = ProcurementContract.sign(
            contract_id=f"{tender.id}.{request.id}",
            tender=tender,
            request_id=request.id,
            clauses=cmd["clauses"],
            delivery_due=cmd["delivery_due"],
            budget=budget,
            today=china_today(),
            signed_on=cmd["signed_on"],
        )
        return self.save(contract, budget)

    @command(s.RecordDeliverySchema)
    def record_delivery(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """RecordDelivery: goods delivered (or work completed) under a contract; lateness is measured."""
        contract = self.load_in_scope(ProcurementContract, cmd["contract_id"])
        delivery_id = new_id(cmd["delivery_id"], "DL")
        contract.record_delivery(delivery_id, cmd["quantity"], cmd["delivered_on"], china_today())
        return self.save(contract, answer={"delivery_id": delivery_id})

    @command(s.InspectDeliverySchema)
    def inspect_delivery(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """InspectDelivery: acceptance (验收) spends the accepted value on the budget line."""
        contract = self.load_in_scope(ProcurementContract, cmd["contract_id"])
        request = self.store.load(PurchaseRequest, contract.request_id)
        budget = self.store.load(BudgetLine, request.budget_line_id)
        contract.inspect_delivery(
            delivery_id=cmd["delivery_id"],
            accepted_quantity=cmd["accepted_quantity"],
            defective_quantity=cmd["defective_quantity"],
            inspected_on=cmd["inspected_on"],
            budget=budget,
            today=china_today(),
        )
        return self.save(contract, budget)

    # -- canteen-ingredient price watch --------------------------------------------------------------

    @command(s.StartPriceWatchSchema)
    def start_price_watch(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """StartPriceWatch: watch a canteen ingredient of the catalog against its reference price."""
        item = self.store.find(CatalogItem, cmd["item_code"]) or CatalogItem(cmd["item_code"])
        watch = IngredientPriceWatch.start(item, cmd["reference_price_fen"], china_today())
        return self.save(watch)

    @command(s.SetReferencePriceSchema)
    def set_reference_price(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """SetReferencePrice: a new reference price (参考价)."""
        watch = self.store.load(IngredientPriceWatch, cmd["item_code"])
        watch.set_reference_price(cmd["reference_price_fen"], cmd["effective_on"])
        return self.save(watch)

    @command(s.RecordPriceObservationSchema)
    def record_price_observation(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """RecordPriceObservation: a market price; a large move raises an alert."""
        watch = self.store.load(IngredientPriceWatch, cmd["item_code"])
        watch.observe(cmd["observed_on"], cmd["price_fen"], cmd["market"], china_today(), price_rules())
        alerts = _payloads(watch.pending_events, "PriceMoveAlerted")
        return self.save(watch, answer={"alerts": alerts})

    # -- queries (read models) -----------------------------------------------------------------------

    def _page(self, query: dict[str, Any], items: list[dict[str, Any]]) -> dict[str, Any]:
        return {"items": items, "limit": query["limit"], "offset": query["offset"]}

    @command(s.ListCatalogItemsSchema)
    def list_catalog_items(self, query: dict[str, Any]) -> dict[str, Any]:
        """The catalog, by kind or category."""
        with self.read_models.engine.connect() as conn:
            return self._page(query, read_model.catalog_items(conn, query))

    @command(s.GetBudgetLinesSchema)
    def get_budget_lines(self, query: dict[str, Any]) -> dict[str, Any]:
        """An agency's budget lines: budget, committed, spent, remaining."""
        with self.read_models.engine.connect() as conn:
            return self._page(query, read_model.budget_lines_of(conn, query))

    @command(s.ListTendersSchema)
    def list_tenders(self, query: dict[str, Any]) -> dict[str, Any]:
        """Tenders by district, status or item, with their award (and its reason) or failure."""
        with self.read_models.engine.connect() as conn:
            return self._page(query, read_model.tender_list(conn, query))

    @command()
    def get_tender(self, query: dict[str, Any]) -> dict[str, Any]:
        """One tender from its stream: lots, bids with their evaluation and flags, the winner."""
        tender = self.store.load(Tender, str(query.get("tender_id")))
        return {"id": tender.id, "version": tender.version, **tender.snapshot_state()}

    @command(s.OcdsQuerySchema)
    def ocds_release_package(self, query: dict[str, Any]) -> dict[str, Any]:
        """Every tender (of ``district``, or the one ``tender_id``) as an OCDS 1.1 release package: one release
        each, with the contracts signed from its lots (ids ``<tender_id>.<request_id>``) and their deliveries."""
        now = utc_now().isoformat(timespec="seconds")
        uri = f"urn:ocds:{settings().ocds_ocid_prefix}:release-package"
        return ocds.release_package(self._ocds_releases(query, now), uri, now)

    @command(s.OcdsQuerySchema)
    def ocds_record_package(self, query: dict[str, Any]) -> dict[str, Any]:
        """The same tenders as an OCDS 1.1 record package: one record each, its release as compiled release."""
        now = utc_now().isoformat(timespec="seconds")
        uri = f"urn:ocds:{settings().ocds_ocid_prefix}:record-package"
        return ocds.record_package(self._ocds_releases(query, now), uri, now)

    def _ocds_releases(self, query: dict[str, Any], now: str) -> list[dict[str, Any]]:
        with self.read_models.engine.connect() as conn:
            chosen = read_model.tenders.c.tender_id == query["tender_id"] if query.get("tender_id") else sa.true()
            in_district = read_model.tenders.c.district == query["district"] if query.get("district") else sa.true()
            statement = sa.select(read_model.tenders.c.tender_id).where(chosen, in_district).order_by("tender_id")
            ids = [row.tender_id for row in conn.execute(statement)]
        releases = []
        for tender_id, tender in self.store.find_many(Tender, ids).items():
            contract_ids = [f"{tender.id}.{lot['request_id']}" for lot in tender.lots]
            signed = self.store.find_many(ProcurementContract, contract_ids)
            contracts = [{"id": c.id, **c.snapshot_state()} for c in signed.values()]
            state = {"id": tender_id, **tender.snapshot_state()}
            releases.append(ocds.tender_release(settings().ocds_ocid_prefix, state, contracts, now))
        return releases

    @command(s.GetContractSchema)
    def get_contract(self, query: dict[str, Any]) -> dict[str, Any]:
        """One contract from its stream: supplier, quantity and price, clauses, deliveries and what was accepted."""
        contract = self.store.load(ProcurementContract, query["contract_id"])
        state = contract.snapshot_state()
        return {"id": contract.id, "version": contract.version, **state, "outstanding": contract.outstanding_quantity}

    @command(s.ProposeBatchesSchema)
    def propose_batches(self, query: dict[str, Any]) -> dict[str, Any]:
        """Open requests of several agencies for the same item and year: candidates for one tender."""
        with self.read_models.engine.connect() as conn:
            return {"items": read_model.batch_proposals(conn, query)}

    @command(s.ListAbnormalQuotesSchema)
    def list_abnormal_quotes(self, query: dict[str, Any]) -> dict[str, Any]:
        """Abnormal-quote findings (恶意报价) with their evidence."""
        with self.read_models.engine.connect() as conn:
            return self._page(query, read_model.abnormal_quote_list(conn, query))

    @command(s.SupplierPerformanceSchema)
    def supplier_performance(self, query: dict[str, Any]) -> dict[str, Any]:
        """On-time and defect rates per supplier (供应商履约评价)."""
        with self.read_models.engine.connect() as conn:
            return self._page(query, read_model.supplier_performance_of(conn, query))

    @command(s.ListPriceAlertsSchema)
    def list_price_alerts(self, query: dict[str, Any]) -> dict[str, Any]:
        """Large price moves of canteen ingredients."""
        with self.read_models.engine.connect() as conn:
            return self._page(query, read_model.price_alert_list(conn, query))
