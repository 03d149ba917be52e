"""Marshmallow schemas for the commands and queries the assets service accepts.

Category codes are checked against the deployment's service-life table by the domain (``UnknownCategory``,
422 naming the known codes), since the table is configurable; everything else is checked here.
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from services.assets.domain.base import CONDITIONS, STATUSES
from services.assets.domain.disposal import DISPOSAL_METHODS
from services.assets.domain.stocktake import RESOLUTIONS
from services.assets.domain.warehouse import LOAN_PURPOSES
from services.common.kernel.validators import (
    DISTRICT_CODE,
    IDENTIFIER,
    MAX_OFFSET,
    Day,
    fen,
    identifier,
    quantity,
    text,
)

MAX_ITEMS = 500
CATEGORY_CODE = validate.Regexp(r"^[a-z][a-z0-9_]{0,39}$", error="must be a category code such as furniture")
ALL_RESOLUTIONS = sorted({r for rs in RESOLUTIONS.values() for r in rs})


def _ids(minimum: int = 1, maximum: int = MAX_ITEMS) -> fields.List:
    return fields.List(
        fields.String(validate=IDENTIFIER), required=True, validate=validate.Length(min=minimum, max=maximum)
    )


def _condition(default: str | None = None) -> fields.String:
    if default is None:
        return fields.String(required=True, validate=validate.OneOf(CONDITIONS))
    return fields.String(load_default=default, validate=validate.OneOf(CONDITIONS))


class _PageSchema(Schema):
    """A page of a query's answer (numbers may come as query-string text)."""

    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=MAX_OFFSET))


# -- the ledger ------------------------------------------------------------------------------------------


class RegisterAssetSchema(Schema):
    """RegisterAsset: enter an asset (资产) of an agency in the ledger; the category sets its minimum service life."""

    asset_id = identifier(required=False)
    agency_id = identifier()
    category = fields.String(required=True, validate=CATEGORY_CODE)
    name = text(200)
    location = text(100)
    original_value_fen = fen(minimum=1)
    acquired_on = Day(required=True)
    condition = _condition("good")


class AssetIdSchema(Schema):
    """One asset."""

    asset_id = identifier()


class RelocateAssetSchema(Schema):
    """RelocateAsset: the asset is now at another location of its agency."""

    asset_id = identifier()
    location = text(100)


class MarkAssetIdleSchema(Schema):
    """MarkAssetIdle: the agency no longer uses the asset (闲置)."""

    asset_id = identifier()
    reason = text()


class PutAssetBackInUseSchema(Schema):
    """PutAssetBackInUse: an idle asset is used again, at a location."""

    asset_id = identifier()
    location = text(100)


class HandInAssetSchema(Schema):
    """HandInAsset: hand an idle, usable asset in to the public goods warehouse (公物仓), in the condition found;
    ``warehouse_id`` is the agency keeping the warehouse (the administration, or a district's centre)."""

    asset_id = identifier()
    warehouse_id = identifier()
    condition = _condition()


class ApplyReplacementSchema(Schema):
    """ApplyForReplacement: ask to replace an asset (refused before its minimum service life)."""

    asset_id = identifier()
    reason = text()


class AssessRepairSchema(Schema):
    """AssessRepair: whether the asset is still usable, or repairable and at what cost (before any replacement)."""

    asset_id = identifier()
    usable = fields.Boolean(required=True)
    repairable = fields.Boolean(required=True)
    estimated_repair_fen = fen(required=False, default=0)


class RecordRepairSchema(Schema):
    """RecordRepair: the asset was repaired at a cost, in the condition it is now in."""

    asset_id = identifier()
    cost_fen = fen()
    condition = _condition()


# -- the public goods warehouse ----------------------------------------------------------------------------


class RequestAssetsSchema(Schema):
    """RequestAssets: an agency asks for assets of a category; idle warehouse stock first, a purchase authorised
    only for what no idle item covers. ``replaces_asset_id`` names an asset whose replacement was approved."""

    request_id = identifier(required=False)
    agency_id = identifier()
    category = fields.String(required=True, validate=CATEGORY_CODE)
    quantity = quantity(1000)
    min_condition = fields.String(load_default="fair", validate=validate.OneOf(CONDITIONS[:-1]))
    location = text(100)
    replaces_asset_id = identifier(required=False)


class LendAssetsSchema(Schema):
    """LendAssets: the warehouse lends assets to an agency for a conference or a temporary body until a date."""

    loan_id = identifier(required=False)
    agency_id = identifier()
    purpose = fields.String(required=True, validate=validate.OneOf(LOAN_PURPOSES))
    occasion = text(200)
    asset_ids = _ids()
    due_on = Day(required=True)
    lent_on = Day(load_default=None)  # a past day brought in (the loan may be overdue); default today


class ReturnLoanItemsSchema(Schema):
    """ReturnLoanItems: lent assets came back, each in the condition found (its former one when not given)."""

    loan_id = identifier()
    asset_ids = _ids()
    conditions = fields.Dict(
        keys=fields.String(validate=IDENTIFIER),
        values=fields.String(validate=validate.OneOf(CONDITIONS)),
        load_default=dict,
    )
    returned_on = Day(load_default=None)  # a past day brought in; default today


class FlagOverdueLoansSchema(Schema):
    """FlagOverdueLoans: record a finding for every loan with assets still out after its due date."""


# -- disposal ----------------------------------------------------------------------------------------------


class ApplyDisposalSchema(Schema):
    """ApplyDisposal: an agency applies to dispose of assets it holds (拍卖 auction, 报废 scrap, 划转 transfer)."""

    disposal_id = identifier(required=False)
    agency_id = identifier()
    asset_ids = _ids()
    method = fields.String(required=True, validate=validate.OneOf(DISPOSAL_METHODS))
    reason = text()
    recipient = text(200, required=False)


class DecideDisposalSchema(Schema):
    """DecideDisposal: the administration approves (``{"approve": true}``) or rejects with a reason."""

    disposal_id = identifier()
    approve = fields.Boolean(required=True)
    reason = text(required=False)

    @validates_schema
    def _reason_when_rejected(self, data: dict[str, Any], **kwargs: Any) -> None:
        if not data.get("approve") and not data.get("reason"):
            raise ValidationError("a rejection states its reason", field_name="reason")


class CompleteDisposalSchema(Schema):
    """CompleteDisposal: the approved disposal was carried out; proceeds (fen) and the trading centre's lot."""

    disposal_id = identifier()
    proceeds_fen = fen()
    trading_centre_ref = text(100, required=False)


# -- stock-takes -------------------------------------------------------------------------------------------


class OpenStocktakeSchema(Schema):
    """OpenStocktake: a stock-take (盘点) of an agency's assets in use or idle, against its ledger."""

    stocktake_id = identifier(required=False)
    agency_id = identifier()


class RecordStocktakeCountsSchema(Schema):
    """RecordStocktakeCounts: the asset tags counted at one location (also a district inbound message)."""

    stocktake_id = identifier()
    location = text(100)
    asset_ids = _ids(0, 5000)
    counted_on = Day(load_default=None)


class StocktakeIdSchema(Schema):
    """One stock-take."""

    stocktake_id = identifier()


class ReconcileFindingSchema(Schema):
    """ReconcileFinding: close a stock-take finding with a resolution fitting its kind."""

    stocktake_id = identifier()
    finding_id = identifier()
    resolution = fields.String(required=True, validate=validate.OneOf(ALL_RESOLUTIONS))
    note = fields.String(load_default="", validate=validate.Length(max=500))


# -- warehouse stock ---------------------------------------------------------------------------------------


class RegisterStockItemSchema(Schema):
    """RegisterStockItem: an item (SKU) kept at the central warehouse and outlying points, reorder points per site."""

    sku = identifier()
    name = text(200)
    unit = text(40)
    sites = fields.List(fields.String(validate=IDENTIFIER), required=True, validate=validate.Length(min=1, max=50))
    reorder_points = fields.Dict(
        keys=fields.String(validate=IDENTIFIER),
        values=fields.Integer(strict=True, validate=validate.Range(min=0, max=10_000_000)),
        load_default=dict,
    )


class ReceiveGoodsSchema(Schema):
    """ReceiveGoods: goods in (入库) at a site, at a unit cost (fen)."""

    sku = identifier()
    site = identifier()
    quantity = quantity(10_000_000)
    unit_cost_fen = fen(minimum=1)
    reference = text(100)


class IssueGoodsSchema(Schema):
    """IssueGoods: goods out (出库) from a site to an agency."""

    sku = identifier()
    site = identifier()
    quantity = quantity(10_000_000)
    agency_id = identifier()


class TransferGoodsSchema(Schema):
    """TransferGoods: goods moved (调拨) between the central warehouse and an outlying point."""

    sku = identifier()
    from_site = identifier()
    to_site = identifier()
    quantity = quantity(10_000_000)


class SetReorderPointSchema(Schema):
    """SetReorderPoint: a site's reorder point."""

    sku = identifier()
    site = identifier()
    reorder_point = quantity(10_000_000, minimum=0)


# -- queries -----------------------------------------------------------------------------------------------


class ListAssetsSchema(_PageSchema):
    """The ledger by agency, district, status, category or procurement delivery, with today's book value."""

    agency_id = identifier(required=False)
    district = fields.String(load_default=None, validate=DISTRICT_CODE)
    status = fields.String(load_default=None, validate=validate.OneOf(STATUSES))
    category = fields.String(load_default=None, validate=CATEGORY_CODE)
    delivery_id = identifier(required=False)


class AssetsReportSchema(Schema):
    """Per holder: assets by status with original and book value; overdue loans; open stock-take differences."""

    agency_id = identifier(required=False)
    district = fields.String(load_default=None, validate=DISTRICT_CODE)


class IdleStockSchema(Schema):
    """The public goods warehouse's idle stock by category and minimum condition."""

    category = fields.String(load_default=None, validate=CATEGORY_CODE)
    min_condition = fields.String(load_default=None, validate=validate.OneOf(CONDITIONS[:-1]))


class ListLoansSchema(_PageSchema):
    """Loans by borrower or district; ``overdue_only`` keeps those with assets still out after the due date."""

    agency_id = identifier(required=False)
    district = fields.String(load_default=None, validate=DISTRICT_CODE)
    overdue_only = fields.Boolean(load_default=False)


class ListFindingsSchema(_PageSchema):
    """Stock-take findings (missing, surplus, wrong place); open ones unless ``open_only=false``."""

    agency_id = identifier(required=False)
    district = fields.String(load_default=None, validate=DISTRICT_CODE)
    open_only = fields.Boolean(load_default=True)


class StockLevelsSchema(Schema):
    """Warehouse stock per item and site, with reorder points and value; ``below_reorder_only`` for reorders."""

    sku = identifier(required=False)
    site = identifier(required=False)
    below_reorder_only = fields.Boolean(load_default=False)
