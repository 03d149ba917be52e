"""Marshmallow schemas for the commands and queries the procurement service accepts.

Money is integer fen (分); dates are ISO dates; times are ISO date-times with an offset.
Unknown fields are refused (marshmallow's default ``RAISE``).
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from services.common.kernel.validators import (
    DISTRICT_CODE,
    IDENTIFIER,
    MAX_OFFSET,
    Day,
    Moment,
    bounded_period,
    fen,
    flag,
    identifier,
    quantity,
    text,
)
from services.procurement.domain.base import CATEGORIES, CONTRACT_CLAUSES, KINDS
from services.procurement.domain.tenders import TENDER_STATUSES

MAX_ID_LENGTH = 64
"""The longest identifier (``IDENTIFIER``): a lot's contract id ``<tender_id>.<request_id>`` must fit it too."""
IDLE_FIRST_CATEGORIES = sorted(code for code, category in CATEGORIES.items() if category.idle_first)
MAX_QUANTITY = 1_000_000


class ListCatalogItemSchema(Schema):
    """ListCatalogItem: add an item to the catalog (集中采购目录)."""

    item_code = identifier()
    name = text(200)
    category = fields.String(required=True, validate=validate.OneOf(sorted(CATEGORIES)))
    unit = text(20)
    green_clauses_required = flag(load_default=False)


class WithdrawCatalogItemSchema(Schema):
    """WithdrawCatalogItem: take an item out of the catalog."""

    item_code = identifier()
    reason = text()


class OpenBudgetLineSchema(Schema):
    """OpenBudgetLine: grant an agency a budget line for a year."""

    budget_line_id = identifier(required=False)
    agency_id = identifier()
    year = quantity(2100, minimum=2000)
    purpose = text(200)
    amount_fen = fen(minimum=1)
    opened_on = Day(load_default=None)  # a past line brought in (granted that day); default today


class AdjustBudgetLineSchema(Schema):
    """AdjustBudgetLine: change a budget line's amount."""

    budget_line_id = identifier()
    amount_fen = fen()
    reason = text()
    adjusted_on = Day(load_default=None)  # a past adjustment brought in; default today


class RecordPurchaseAuthorisationSchema(Schema):
    """RecordPurchaseAuthorisation: the assets service authorised buying (no idle stock fits)."""

    authorisation_id = identifier()
    agency_id = identifier()
    district = fields.String(required=True, validate=DISTRICT_CODE)
    category = fields.String(required=True, validate=validate.OneOf(IDLE_FIRST_CATEGORIES))
    quantity = quantity(MAX_QUANTITY)
    authorised_on = Day(required=True)


class SubmitPurchaseRequestSchema(Schema):
    """SubmitPurchaseRequest: an agency asks to buy a catalog item on one of its budget lines."""

    request_id = identifier(required=False)
    agency_id = identifier()
    item_code = identifier()
    quantity = quantity(MAX_QUANTITY)
    estimated_unit_price_fen = fen(minimum=1)
    budget_line_id = identifier()
    authorisation_id = identifier(required=False)
    submitted_on = Day(load_default=None)  # a past request brought in (its year is that day's); default today


class CancelPurchaseRequestSchema(Schema):
    """CancelPurchaseRequest: withdraw a request not yet tendered."""

    request_id = identifier()
    reason = text()


class OpenTenderSchema(Schema):
    """OpenTender: tender one catalog item for one request or a batch of several agencies' requests."""

    tender_id = identifier(required=False)
    district = fields.String(required=True, validate=DISTRICT_CODE)
    request_ids = fields.List(
        fields.String(validate=IDENTIFIER), required=True, validate=validate.Length(min=1, max=200)
    )
    reference_unit_price_fen = fen(minimum=1)
    closes_at = Moment(required=True)
    opened_at = Moment(load_default=None)  # a past tender brought in; default now

    @validates_schema
    def _distinct_requests(self, data: dict[str, Any], **kwargs: Any) -> None:
        if len(set(data["request_ids"])) != len(data["request_ids"]):
            raise ValidationError("a request is named once", field_name="request_ids")


class SubmitBidSchema(Schema):
    """SubmitBid: a supplier quotes a unit price."""

    tender_id = identifier()
    bid_id = identifier(required=False)
    supplier_id = identifier()
    unit_price_fen = fen(minimum=1)
    submitted_at = Moment(load_default=None)  # a past bid brought in; default now


class CloseBiddingSchema(Schema):
    """CloseBidding: open the bids after the closing time and check them for abnormal quotes."""

    tender_id = identifier()
    closed_at = Moment(load_default=None)  # a past closing brought in; default now


class EvaluateBidSchema(Schema):
    """EvaluateBid: the evaluators judge a bid compliant or not, with reasons when not."""

    tender_id = identifier()
    bid_id = identifier()
    compliant = flag(required=True)
    reasons = fields.List(
        fields.String(validate=validate.Length(min=1, max=500)), load_default=list, validate=validate.Length(max=50)
    )

    @validates_schema
    def _reasons_when_not_compliant(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data.get("compliant") is False and not data.get("reasons"):
            raise ValidationError("required when the bid is not compliant", field_name="reasons")


class ClearAbnormalQuoteSchema(Schema):
    """ClearAbnormalQuote: accept a flagged bidder's justification of its price."""

    tender_id = identifier()
    bid_id = identifier()
    justification = text(2000)


class AwardTenderSchema(Schema):
    """AwardTender: award to the lowest compliant bid."""

    tender_id = identifier()
    awarded_at = Moment(load_default=None)  # a past award brought in; default now


class DeclareTenderFailedSchema(Schema):
    """DeclareTenderFailed: the tender failed (流标); its requests go back."""

    tender_id = identifier()
    reason = text()


class SignContractSchema(Schema):
    """SignContract: an agency signs the contract for its lot with the winner (one contract per lot, whose id is
    ``<tender_id>.<request_id>``)."""

    tender_id = identifier()
    request_id = identifier()
    clauses = fields.List(
        fields.String(validate=validate.OneOf(CONTRACT_CLAUSES)),
        required=True,
        validate=validate.Length(max=50),
    )
    delivery_due = Day(required=True)
    signed_on = Day(load_default=None)  # a past contract brought in; default today

    @validates_schema
    def _contract_id_fits(self, data: dict[str, Any], **kwargs: Any) -> None:
        if len(data["tender_id"]) + 1 + len(data["request_id"]) > MAX_ID_LENGTH:
            raise ValidationError(
                f"the contract id <tender_id>.<request_id> must fit {MAX_ID_LENGTH} characters", field_name="request_id"
            )


class OcdsQuerySchema(Schema):
    """Tenders as an OCDS 1.1 release package: every tender, a district's, or one."""

    district = fields.String(load_default=None, validate=DISTRICT_CODE)
    tender_id = identifier(required=False)


class GetContractSchema(Schema):
    """GetContract: one contract with its deliveries and their inspections."""

    contract_id = identifier()


class RecordDeliverySchema(Schema):
    """RecordDelivery: the supplier delivered (part of) a contract."""

    contract_id = identifier()
    delivery_id = identifier(required=False)
    quantity = quantity(MAX_QUANTITY)
    delivered_on = Day(required=True)


class InspectDeliverySchema(Schema):
    """InspectDelivery: acceptance (验收) of a delivery, counting defective items."""

    contract_id = identifier()
    delivery_id = identifier()
    accepted_quantity = quantity(MAX_QUANTITY, minimum=0)
    defective_quantity = quantity(MAX_QUANTITY, minimum=0)
    inspected_on = Day(required=True)

    @validates_schema
    def _something_inspected(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data.get("accepted_quantity", 0) + data.get("defective_quantity", 0) == 0:
            raise ValidationError("accepted and defective items cannot both be zero", field_name="accepted_quantity")


class StartPriceWatchSchema(Schema):
    """StartPriceWatch: watch the market price of a canteen ingredient."""

    item_code = identifier()
    reference_price_fen = fen(minimum=1)


class SetReferencePriceSchema(Schema):
    """SetReferencePrice: change an ingredient's reference price."""

    item_code = identifier()
    reference_price_fen = fen(minimum=1)
    effective_on = Day(required=True)


class RecordPriceObservationSchema(Schema):
    """RecordPriceObservation: a market price of an ingredient (市场调研)."""

    item_code = identifier()
    observed_on = Day(required=True)
    price_fen = fen(minimum=1)
    market = text(200)


class _PageSchema(Schema):
    """A page of a query's answer; numbers may come as query-string text. ``district`` limits the answer
    to one district (the gateway sets it to a district operator's own)."""

    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=MAX_OFFSET))
    district = fields.String(validate=DISTRICT_CODE, load_default=None)


class ListCatalogItemsSchema(_PageSchema):
    """ListCatalogItems: the catalog, optionally by kind or category."""

    kind = fields.String(validate=validate.OneOf(KINDS), load_default=None)
    category = fields.String(validate=validate.OneOf(sorted(CATEGORIES)), load_default=None)


class GetBudgetLinesSchema(_PageSchema):
    """GetBudgetLines: an agency's budget lines with budget, committed, spent and remaining."""

    agency_id = identifier()
    year = fields.Integer(validate=validate.Range(min=2000, max=2100), load_default=None)


class ListTendersSchema(_PageSchema):
    """ListTenders: tenders of a district, optionally by status or item."""

    status = fields.String(validate=validate.OneOf(TENDER_STATUSES), load_default=None)
    item_code = identifier(required=False)


class ProposeBatchesSchema(Schema):
    """ProposeBatches: open requests of several agencies that one tender could serve (批量集中采购)."""

    year = fields.Integer(required=True, validate=validate.Range(min=2000, max=2100))
    min_agencies = fields.Integer(load_default=2, validate=validate.Range(min=2, max=1000))
    district = fields.String(validate=DISTRICT_CODE, load_default=None)


class ListAbnormalQuotesSchema(_PageSchema):
    """ListAbnormalQuotes: flagged quotes, optionally of one district or supplier, since a time."""

    supplier_id = identifier(required=False)
    since = Moment(load_default=None)
    open_only = fields.Boolean(load_default=False)


class SupplierPerformanceSchema(_PageSchema):
    """SupplierPerformance: on-time and defect rates of suppliers over a period."""

    supplier_id = identifier(required=False)
    since = Day(load_default=None)
    until = Day(load_default=None)
    _period = bounded_period("since", "until", 3660)  # ten years at most


class ListPriceAlertsSchema(_PageSchema):
    """ListPriceAlerts: large price moves of canteen ingredients since a date."""

    item_code = identifier(required=False)
    since = Day(load_default=None)
    open_only = fields.Boolean(load_default=False)
