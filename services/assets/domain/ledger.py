"""The asset ledger (资产台账): one aggregate per asset, its status, location, book value, replacement and disposal.

The asset's status is the one truth the public goods warehouse, loans and disposals act on: they call the commands
here and the service stores the asset's events with theirs, so two requests cannot take the same idle item.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, ClassVar, Final, Self

from services.common.kernel.aggregate import Aggregate
from services.common.kernel.errors import InvalidState, RuleViolation, require_positive, require_status

from .asset_events import (
    AcquiredInFuture,
    AssetAllocated,
    AssetAlreadyDisposed,
    AssetBecameIdle,
    AssetDisposed,
    AssetHandedIn,
    AssetLent,
    AssetPutBackInUse,
    AssetRegistered,
    AssetRelocated,
    AssetRepaired,
    AssetReturned,
    NotAFixedAsset,
    RepairAssessed,
    RepairAssessmentRequired,
    RepairBeforeReplacement,
    ReplacementApplied,
    ReplacementApproved,
    ReplacementBeforeServiceLife,
    ReplacementNotApproved,
    ReplacementOrdered,
    UnusableAssetRefused,
)
from .base import (
    CONDITIONS,
    ServiceLifeTable,
    add_years,
    delivery_asset_ids,
    require_not_negative,
    require_one_of,
)
from .depreciation import DEPRECIATION_LIFE_2017, Depreciation, DepreciationLifeTable, depreciate

RECEIVING_LOCATION: Final = "receiving"
"""Where delivered items are entered until the agency records where they are used."""


@dataclass(frozen=True)
class AcceptedDelivery:
    """The part of procurement's ``DeliveryAccepted`` event the ledger needs."""

    contract_id: str
    delivery_id: str
    agency_id: str
    district: str
    item_code: str
    category: str
    quantity: int
    unit_value_fen: int
    accepted_on: date

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> AcceptedDelivery:
        """Read procurement's ``DeliveryAccepted`` payload: v2 (``unit_value_fen``) or, kept in the inbox before
        v2, v1 (``unit_value_cents``, the same fen)."""
        names = ("contract_id", "delivery_id", "agency_id", "district", "item_code", "category")
        return cls(
            **{n: str(payload[n]) for n in names},
            quantity=int(payload["quantity"]),
            unit_value_fen=int(payload.get("unit_value_fen", payload.get("unit_value_cents"))),
            accepted_on=date.fromisoformat(payload["accepted_on"]),
        )


class LocationUnchanged(RuleViolation):
    """Relocating an asset to where the ledger already has it."""

    code = "location_unchanged"


class Asset(Aggregate):
    """A state-owned asset (国有资产) in the ledger: in use, idle, in the warehouse, on loan or disposed."""

    stream_type: ClassVar[str] = "Asset"

    def _init_state(self) -> None:
        self.status = ""
        self.category = ""
        self.name = ""
        self.location = ""
        self.condition = ""
        self.original_value_fen = 0
        self.acquired_on = ""
        self.min_service_life_years = 0
        self.service_life_version = ""
        self.depreciation_life_years = 0
        self.depreciation_life_version = ""
        self.disposed_on: str | None = None
        self.loan_id: str | None = None
        self.replacement: dict[str, Any] | None = None
        self.disposal_id: str | None = None

    @classmethod
    def register(
        cls,
        *,
        asset_id: str,
        agency_id: str,
        district: str,
        category: str,
        name: str,
        location: str,
        original_value_fen: int,
        acquired_on: date,
        condition: str,
        table: ServiceLifeTable,
        today: date,
        depreciation: DepreciationLifeTable = DEPRECIATION_LIFE_2017,
    ) -> Self:
        """Enter an asset in the ledger with the minimum service life of its category (``table``) and its
        depreciation life (``depreciation``, a table of its own)."""
        life = table.category(category).min_service_life_years
        require_positive("original_value_fen", original_value_fen)
        require_one_of("condition", condition, CONDITIONS)
        if acquired_on > today:
            raise AcquiredInFuture(
                "an asset cannot be acquired after it is registered",
                fields={"acquired_on": ["must not be after today"]},
                details={"acquired_on": acquired_on.isoformat(), "today": today.isoformat()},
            )
        asset = cls(asset_id)
        asset._record(
            AssetRegistered(
                asset_id=asset_id,
                agency_id=agency_id,
                district=district,
                category=category,
                name=name,
                location=location,
                original_value_fen=original_value_fen,
                acquired_on=acquired_on.isoformat(),
                condition=condition,
                min_service_life_years=life,
                service_life_version=table.version,
                contract_id=None,
                delivery_id=None,
                registered_on=today.isoformat(),
                depreciation_life_years=depreciation.life_years_of(category),
                depreciation_life_version=depreciation.version,
            )
        )
        return asset

    @classmethod
    def register_from_delivery(
        cls,
        delivery: AcceptedDelivery,
        table: ServiceLifeTable,
        location: str = RECEIVING_LOCATION,
        depreciation: DepreciationLifeTable = DEPRECIATION_LIFE_2017,
    ) -> list[Self]:
        """Enter each accepted item of a procurement delivery as a new asset (ids from ``delivery_asset_ids``)."""
        category = table.category_for_item(delivery.category, delivery.item_code)
        if category is None:
            raise NotAFixedAsset(
                f"{delivery.category} items are not kept in the asset ledger",
                fields={"category": ["not a fixed-asset category"]},
                details={"category": delivery.category, "item_code": delivery.item_code},
            )
        require_positive("quantity", delivery.quantity)
        assets = []
        for asset_id in delivery_asset_ids(delivery.contract_id, delivery.delivery_id, delivery.quantity):
            asset = cls(asset_id)
            asset._record(
                AssetRegistered(
                    asset_id=asset.id,
                    agency_id=delivery.agency_id,
                    district=delivery.district,
                    category=category,
                    name=delivery.item_code,
                    location=location,
                    original_value_fen=delivery.unit_value_fen,
                    acquired_on=delivery.accepted_on.isoformat(),
                    condition="new",
                    min_service_life_years=table.category(category).min_service_life_years,
                    service_life_version=table.version,
                    contract_id=delivery.contract_id,
                    delivery_id=delivery.delivery_id,
                    registered_on=delivery.accepted_on.isoformat(),
                    depreciation_life_years=depreciation.life_years_of(category),
                    depreciation_life_version=depreciation.version,
                )
            )
            assets.append(asset)
        return assets

    @property
    def eligible_for_replacement_on(self) -> date:
        """The day the asset reaches its minimum service life."""
        return add_years(date.fromisoformat(self.acquired_on), self.min_service_life_years)

    def depreciation(self, today: date) -> Depreciation:
        """The asset's depreciation on ``today`` (none after the month before its disposal)."""
        return depreciate(
            original_value_fen=self.original_value_fen,
            acquired_on=date.fromisoformat(self.acquired_on),
            life_years=self.depreciation_life_years,
            life_version=self.depreciation_life_version,
            on=today,
            disposed_on=date.fromisoformat(self.disposed_on) if self.disposed_on else None,
        )

    def book_value_fen(self, today: date) -> int:
        """The straight-line book value on ``today``."""
        return self.depreciation(today).book_value_fen

    def relocate(self, location: str, today: date) -> None:
        """Record that the asset is now at another location of its agency."""
        self._require_status("in_use", "idle")
        if location == self.location:
            raise LocationUnchanged(f"asset {self.id} is already at {location}", fields={"location": ["unchanged"]})
        self._record(AssetRelocated(self.id, self.location, location, today.isoformat()))

    def mark_idle(self, reason: str, today: date) -> None:
        """The agency stops using the asset (闲置)."""
        self._require_status("in_use")
        self._record(AssetBecameIdle(self.id, self.agency_id or "", reason, today.isoformat()))

    def put_back_in_use(self, location: str, today: date) -> None:
        """The agency uses an idle asset again."""
        self._require_status("idle")
        self._record(AssetPutBackInUse(self.id, self.agency_id or "", location, today.isoformat()))

    def hand_in(self, warehouse_id: str, district: str, condition: str, today: date) -> None:
        """Hand an idle, still usable asset in to the public goods warehouse, whose keeper (an agency of
        ``district``) becomes its holder."""
        self._require_status("idle")
        require_one_of("condition", condition, CONDITIONS)
        if condition == "unusable":
            raise UnusableAssetRefused(
                f"asset {self.id} cannot be used: dispose of it instead",
                fields={"condition": ["the warehouse takes usable assets only"]},
            )
        self._record(
            AssetHandedIn(
                asset_id=self.id,
                from_agency_id=self.agency_id or "",
                warehouse_id=warehouse_id,
                district=district,
                condition=condition,
                handed_in_on=today.isoformat(),
            )
        )

    def allocate_from_warehouse(
        self, request_id: str, to_agency_id: str, district: str, location: str, today: date
    ) -> None:
        """Give the asset from the warehouse to an agency (called by ``WarehouseRequest``)."""
        self._require_status("in_warehouse")
        self._record(
            AssetAllocated(
                asset_id=self.id,
                request_id=request_id,
                warehouse_id=self.agency_id or "",
                to_agency_id=to_agency_id,
                district=district,
                location=location,
                allocated_on=today.isoformat(),
            )
        )

    def lend(self, loan_id: str, borrower_agency_id: str, due_on: date, today: date) -> None:
        """Lend the asset from the warehouse (called by ``WarehouseLoan``)."""
        self._require_status("in_warehouse")
        self._record(AssetLent(self.id, loan_id, borrower_agency_id, due_on.isoformat(), today.isoformat()))

    def return_from_loan(self, loan_id: str, condition: str, today: date) -> None:
        """Take the asset back from the loan it is on (called by ``WarehouseLoan``)."""
        self._require_status("on_loan")
        require_one_of("condition", condition, CONDITIONS)
        if loan_id != self.loan_id:
            raise InvalidState(
                f"asset {self.id} is on loan {self.loan_id}, not {loan_id}", details={"loan_id": self.loan_id}
            )
        self._record(AssetReturned(self.id, loan_id, condition, today.isoformat()))

    def apply_for_replacement(self, reason: str, today: date) -> None:
        """Ask to replace the asset: refused before its minimum service life or while an application is open."""
        self._require_status("in_use", "idle")
        if self.replacement is not None and self.replacement["status"] in ("applied", "approved", "ordered"):
            raise InvalidState(
                f"asset {self.id} already has a replacement {self.replacement['status']}",
                details={"replacement": self.replacement["status"]},
            )
        eligible_on = self.eligible_for_replacement_on
        if today < eligible_on:
            raise ReplacementBeforeServiceLife(
                f"asset {self.id} reaches its {self.min_service_life_years}-year service life on {eligible_on}",
                fields={"asset_id": ["below its minimum service life"]},
                details={
                    "acquired_on": self.acquired_on,
                    "min_service_life_years": self.min_service_life_years,
                    "eligible_on": eligible_on.isoformat(),
                    "service_life_version": self.service_life_version,
                },
            )
        self._record(
            ReplacementApplied(
                asset_id=self.id,
                agency_id=self.agency_id or "",
                reason=reason,
                acquired_on=self.acquired_on,
                min_service_life_years=self.min_service_life_years,
                eligible_on=eligible_on.isoformat(),
                applied_on=today.isoformat(),
            )
        )

    def assess_repair(
        self, usable: bool, repairable: bool, estimated_repair_fen: int, assessed_by: str, today: date
    ) -> None:
        """Record the repair assessment an open replacement application needs."""
        self._require_replacement("applied")
        require_not_negative("estimated_repair_fen", estimated_repair_fen)
        self._record(
            RepairAssessed(
                asset_id=self.id,
                usable=usable,
                repairable=repairable,
                estimated_repair_fen=estimated_repair_fen,
                assessed_by=assessed_by,
                assessed_on=today.isoformat(),
            )
        )

    def approve_replacement(self, approved_by: str, today: date) -> None:
        """Approve the replacement: only after an assessment found the asset neither usable nor repairable."""
        self._require_status("in_use", "idle")
        status = self._require_replacement("applied", "assessed")
        if status == "applied":
            raise RepairAssessmentRequired(
                f"asset {self.id} has not been assessed for repair", fields={"asset_id": ["repair assessment first"]}
            )
        assessment = self.replacement or {}
        if assessment["usable"] or assessment["repairable"]:
            raise RepairBeforeReplacement(
                f"asset {self.id} is {'still usable' if assessment['usable'] else 'repairable'}",
                fields={"asset_id": ["use if usable, repair before replacing"]},
                details={k: assessment[k] for k in ("usable", "repairable", "estimated_repair_fen")},
            )
        self._record(ReplacementApproved(self.id, self.agency_id or "", self.category, approved_by, today.isoformat()))

    def order_replacement(self, request_id: str, agency_id: str, category: str, today: date) -> None:
        """Use the approved replacement for a warehouse request of the same agency and category, once."""
        approved = self.replacement is not None and self.replacement["status"] == "approved"
        if not approved or self.agency_id != agency_id or self.category != category:
            raise ReplacementNotApproved(
                f"asset {self.id} has no approved replacement by {agency_id} for {category}",
                fields={"replaces_asset_id": ["needs an approved replacement of the same agency and category"]},
                details={"agency_id": self.agency_id, "category": self.category, "replacement": self.replacement},
            )
        self._record(ReplacementOrdered(self.id, request_id, today.isoformat()))

    def record_repair(self, cost_fen: int, condition: str, today: date) -> None:
        """Record a repair; it closes any replacement application."""
        self._require_status("in_use", "idle", "in_warehouse")
        require_one_of("condition", condition, CONDITIONS)
        require_not_negative("cost_fen", cost_fen)
        self._record(AssetRepaired(self.id, cost_fen, condition, today.isoformat()))

    def check_disposable(self) -> None:
        """Refuse unless the asset may be disposed of: not disposed already, not out on loan."""
        self._require_status("in_use", "idle", "in_warehouse")

    def dispose(self, disposal_id: str, method: str, today: date) -> None:
        """Take the asset out of the ledger (called by an approved ``Disposal``)."""
        self.check_disposable()
        # The disposal month is not charged (当月减少当月不再计提): the book value leaving the ledger is the one
        # after the month before.
        book_value = depreciate(
            self.original_value_fen,
            date.fromisoformat(self.acquired_on),
            self.depreciation_life_years,
            self.depreciation_life_version,
            today,
            disposed_on=today,
        ).book_value_fen
        self._record(
            AssetDisposed(
                asset_id=self.id,
                agency_id=self.agency_id or "",
                disposal_id=disposal_id,
                method=method,
                book_value_fen=book_value,
                disposed_on=today.isoformat(),
            )
        )

    def _require_status(self, *allowed: str) -> None:
        if self.status == "disposed":
            raise AssetAlreadyDisposed(
                f"asset {self.id} was disposed of", details={"status": "disposed", "disposal_id": self.disposal_id}
            )
        require_status(f"asset {self.id}", self.status, *allowed)

    def _require_replacement(self, *allowed: str) -> str:
        status = self.replacement["status"] if self.replacement else "none"
        require_status(f"replacement of asset {self.id}", status, *allowed)
        return str(status)

    def _on_AssetRegistered(self, event: AssetRegistered) -> None:
        self.status, self.agency_id, self.district = "in_use", event.agency_id, event.district
        self.category, self.name, self.location, self.condition = (
            event.category,
            event.name,
            event.location,
            event.condition,
        )
        self.original_value_fen, self.acquired_on = event.original_value_fen, event.acquired_on
        self.min_service_life_years, self.service_life_version = (
            event.min_service_life_years,
            event.service_life_version,
        )
        self.depreciation_life_years = event.depreciation_life_years
        self.depreciation_life_version = event.depreciation_life_version

    def _on_AssetRelocated(self, event: AssetRelocated) -> None:
        self.location = event.to_location

    def _on_AssetBecameIdle(self, event: AssetBecameIdle) -> None:
        self.status = "idle"

    def _on_AssetPutBackInUse(self, event: AssetPutBackInUse) -> None:
        self.status, self.location = "in_use", event.location

    def _on_AssetHandedIn(self, event: AssetHandedIn) -> None:
        self.status, self.agency_id, self.district = "in_warehouse", event.warehouse_id, event.district
        self.condition, self.location = event.condition, event.warehouse_id

    def _on_AssetAllocated(self, event: AssetAllocated) -> None:
        self.status, self.agency_id, self.district = "in_use", event.to_agency_id, event.district
        self.location = event.location

    def _on_AssetLent(self, event: AssetLent) -> None:
        self.status, self.loan_id = "on_loan", event.loan_id

    def _on_AssetReturned(self, event: AssetReturned) -> None:
        self.status, self.loan_id, self.condition = "in_warehouse", None, event.condition

    def _on_ReplacementApplied(self, event: ReplacementApplied) -> None:
        self.replacement = {"status": "applied"}

    def _on_RepairAssessed(self, event: RepairAssessed) -> None:
        self.replacement = {
            "status": "assessed",
            "usable": event.usable,
            "repairable": event.repairable,
            "estimated_repair_fen": event.estimated_repair_fen,
        }

    def _on_ReplacementApproved(self, event: ReplacementApproved) -> None:
        self.replacement = {**(self.replacement or {}), "status": "approved"}

    def _on_ReplacementOrdered(self, event: ReplacementOrdered) -> None:
        self.replacement = {**(self.replacement or {}), "status": "ordered", "request_id": event.request_id}

    def _on_AssetRepaired(self, event: AssetRepaired) -> None:
        self.condition, self.replacement = event.condition, None

    def _on_AssetDisposed(self, event: AssetDisposed) -> None:
        self.status, self.disposal_id, self.disposed_on = "disposed", event.disposal_id, event.disposed_on
