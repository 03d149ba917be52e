"""Events of an asset in the ledger and the errors its rules raise."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from services.common.kernel.errors import RuleViolation, WrongStatus
from services.common.kernel.events import Payload, register_fen_upcaster, register_upcaster

from .base import AssetsEvent
from .depreciation import DEPRECIATION_LIFE_2017


@dataclass(frozen=True)
class AssetRegistered(AssetsEvent):
    """An asset entered the ledger, with the minimum service life of its category (when it may be replaced) and
    its depreciation life (over which its book value falls to 0), each with the version of its table; from a
    delivery when named.

    v2 added ``depreciation_life_years`` and ``depreciation_life_version``: until then the minimum service life
    was used as the depreciation life, a different rule (docs/kpis/assets.md). v1 events read as v2 with the life
    of their category in the 2017 depreciation-life table.
    """

    schema_version: ClassVar[int] = 3
    legacy_cents: ClassVar[dict[str, str]] = {"original_value_cents": "original_value_fen"}

    asset_id: str
    agency_id: str
    district: str
    category: str
    name: str
    location: str
    original_value_fen: int
    acquired_on: str
    condition: str
    min_service_life_years: int
    service_life_version: str
    contract_id: str | None
    delivery_id: str | None
    registered_on: str
    depreciation_life_years: int
    depreciation_life_version: str


@register_upcaster("assets", "AssetRegistered", 1)
def _asset_registered_v1_to_v2(payload: Payload) -> Payload:
    """A v1 asset takes its category's life from the 2017 table; a category that table lacks (a deployment's own
    service-life table) keeps its minimum service life, under the version "service-life" that says so (as the
    read-model migration as0002 does for rows projected before)."""
    years = DEPRECIATION_LIFE_2017.life_years(str(payload["category"]))
    if years is None:
        return {
            **payload,
            "depreciation_life_years": payload["min_service_life_years"],
            "depreciation_life_version": "service-life",
        }
    return {**payload, "depreciation_life_years": years, "depreciation_life_version": DEPRECIATION_LIFE_2017.version}


@dataclass(frozen=True)
class AssetRelocated(AssetsEvent):
    """The asset moved to another location of its agency."""

    asset_id: str
    from_location: str
    to_location: str
    relocated_on: str


@dataclass(frozen=True)
class AssetBecameIdle(AssetsEvent):
    """The agency no longer uses the asset (闲置)."""

    asset_id: str
    agency_id: str
    reason: str
    idle_since: str


@dataclass(frozen=True)
class AssetPutBackInUse(AssetsEvent):
    """An idle asset is used again by its agency."""

    asset_id: str
    agency_id: str
    location: str
    put_in_use_on: str


@dataclass(frozen=True)
class AssetHandedIn(AssetsEvent):
    """An agency handed an idle asset in to the public goods warehouse (公物仓), which now keeps it: the warehouse
    is kept by an agency of the master data (the administration, or a district's centre), of its district."""

    asset_id: str
    from_agency_id: str
    warehouse_id: str
    district: str
    condition: str
    handed_in_on: str


@dataclass(frozen=True)
class AssetAllocated(AssetsEvent):
    """The warehouse gave an idle asset to an agency to meet its request (调剂)."""

    asset_id: str
    request_id: str
    warehouse_id: str
    to_agency_id: str
    district: str
    location: str
    allocated_on: str


@dataclass(frozen=True)
class AssetLent(AssetsEvent):
    """The warehouse lent the asset for a conference or a temporary body, until a due date."""

    asset_id: str
    loan_id: str
    borrower_agency_id: str
    due_on: str
    lent_on: str


@dataclass(frozen=True)
class AssetReturned(AssetsEvent):
    """A lent asset came back to the warehouse, in the condition found."""

    asset_id: str
    loan_id: str
    condition: str
    returned_on: str


@dataclass(frozen=True)
class ReplacementApplied(AssetsEvent):
    """The agency asked to replace an asset past its minimum service life."""

    asset_id: str
    agency_id: str
    reason: str
    acquired_on: str
    min_service_life_years: int
    eligible_on: str
    applied_on: str


@dataclass(frozen=True)
class RepairAssessed(AssetsEvent):
    """The repair assessment before any replacement: whether it is still usable, or repairable and at what cost."""

    schema_version: ClassVar[int] = 2
    legacy_cents: ClassVar[dict[str, str]] = {"estimated_repair_cents": "estimated_repair_fen"}

    asset_id: str
    usable: bool
    repairable: bool
    estimated_repair_fen: int
    assessed_by: str
    assessed_on: str


@dataclass(frozen=True)
class ReplacementApproved(AssetsEvent):
    """The replacement was approved: the asset is neither usable nor repairable."""

    asset_id: str
    agency_id: str
    category: str
    approved_by: str
    approved_on: str


@dataclass(frozen=True)
class ReplacementOrdered(AssetsEvent):
    """A warehouse request now replaces the asset: its approved replacement is used, once."""

    asset_id: str
    request_id: str
    ordered_on: str


@dataclass(frozen=True)
class AssetRepaired(AssetsEvent):
    """The asset was repaired (it closes any replacement application)."""

    schema_version: ClassVar[int] = 2
    legacy_cents: ClassVar[dict[str, str]] = {"cost_cents": "cost_fen"}

    asset_id: str
    cost_fen: int
    condition: str
    repaired_on: str


@dataclass(frozen=True)
class AssetDisposed(AssetsEvent):
    """The asset left the ledger through an approved disposal, with its book value on that day."""

    schema_version: ClassVar[int] = 2
    legacy_cents: ClassVar[dict[str, str]] = {"book_value_cents": "book_value_fen"}

    asset_id: str
    agency_id: str
    disposal_id: str
    method: str
    book_value_fen: int
    disposed_on: str


class AssetAlreadyDisposed(WrongStatus):
    """A disposed asset cannot be used, moved, lent, repaired or disposed again."""

    code = "asset_disposed"


class AssetNotHeld(RuleViolation):
    """An agency acts only on assets it holds (disposes of them, replaces them)."""

    code = "asset_not_held"


class AcquiredInFuture(RuleViolation):
    """An asset cannot be acquired after the day it is registered."""

    code = "acquired_in_future"


class UnusableAssetRefused(RuleViolation):
    """The public goods warehouse takes only idle assets that can still be used (闲置且具有使用价值)."""

    code = "unusable_asset_refused"


class NotAFixedAsset(RuleViolation):
    """The delivered catalog item is not of a category kept in the asset ledger."""

    code = "not_a_fixed_asset"


class ReplacementBeforeServiceLife(RuleViolation):
    """An asset is not replaced before its minimum service life (不达使用年限的一律不予更新)."""

    code = "replacement_before_service_life"


class ReplacementNotApproved(RuleViolation):
    """A request to replace an asset needs that asset's approved replacement, used once."""

    code = "replacement_not_approved"


class RepairAssessmentRequired(RuleViolation):
    """A replacement is decided only after a repair assessment."""

    code = "repair_assessment_required"


class RepairBeforeReplacement(RuleViolation):
    """Use if usable, repair before replacing (能用则用，能修先修)."""

    code = "repair_before_replacement"


register_fen_upcaster(AssetDisposed, 1)
register_fen_upcaster(AssetRegistered, 2)
register_fen_upcaster(AssetRepaired, 1)
register_fen_upcaster(RepairAssessed, 1)
