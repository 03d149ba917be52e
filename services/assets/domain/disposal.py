"""Disposal (资产处置): application → approval → auction through the public resource trading centre
(公共资源交易中心), scrap (报废) or transfer (无偿划转) → completion with proceeds. Nothing is disposed without
approval, and a disposed asset leaves the ledger for good.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import ClassVar, Final, Self

from services.common.kernel.aggregate import Aggregate
from services.common.kernel.errors import RuleViolation, WrongStatus, require_status
from services.common.kernel.events import register_fen_upcaster

from .asset_events import AssetNotHeld
from .base import AssetsEvent, require_distinct, require_one_of
from .ledger import Asset

DISPOSAL_METHODS: Final = ("auction", "scrap", "transfer")
"""拍卖 (auction, through the public resource trading centre: 应进必进), 报废 (scrap), 无偿划转 (transfer, free of
charge, to a recipient outside the ledger). Moves between the city's agencies go through the public goods
warehouse instead."""


PROCEEDS_BY_METHOD: Final[dict[str, tuple[str, Callable[[int], bool]]]] = {
    "auction": ("> 0", lambda fen: fen > 0),
    "scrap": (">= 0", lambda fen: fen >= 0),
    "transfer": ("0", lambda fen: fen == 0),
}
"""What proceeds each method may record: an auction earns something, scrap may earn salvage, a transfer is free."""


@dataclass(frozen=True)
class DisposalApplied(AssetsEvent):
    """An agency applied to dispose of assets it holds, with the method, reason and their book value."""

    schema_version: ClassVar[int] = 2
    legacy_cents: ClassVar[dict[str, str]] = {"book_value_cents": "book_value_fen"}

    disposal_id: str
    agency_id: str
    district: str
    method: str
    reason: str
    recipient: str | None
    asset_ids: list[str]
    book_value_fen: int
    applied_on: str


@dataclass(frozen=True)
class DisposalApproved(AssetsEvent):
    """The administration approved the disposal."""

    disposal_id: str
    approved_by: str
    approved_on: str


@dataclass(frozen=True)
class DisposalRejected(AssetsEvent):
    """The administration refused the disposal."""

    disposal_id: str
    rejected_by: str
    reason: str
    rejected_on: str


@dataclass(frozen=True)
class DisposalCompleted(AssetsEvent):
    """The assets were auctioned, scrapped or transferred; the proceeds are recorded."""

    schema_version: ClassVar[int] = 2
    legacy_cents: ClassVar[dict[str, str]] = {"proceeds_cents": "proceeds_fen"}

    disposal_id: str
    method: str
    asset_ids: list[str]
    proceeds_fen: int
    trading_centre_ref: str | None
    recipient: str | None
    completed_on: str


class DisposalNotApproved(WrongStatus):
    """Nothing is disposed of without approval."""

    code = "disposal_not_approved"


class AuctionOutsideTradingCentre(RuleViolation):
    """An auction goes through the public resource trading centre: its lot reference is required."""

    code = "auction_outside_trading_centre"


class RecipientMismatch(RuleViolation):
    """A transfer (无偿划转), and only a transfer, names its recipient."""

    code = "recipient_mismatch"


class AssetsDifferFromApplication(RuleViolation):
    """A disposal completes exactly the assets that were applied for and approved."""

    code = "assets_differ_from_application"


class ProceedsMismatch(RuleViolation):
    """Proceeds that do not fit the method: an auction earns something, a transfer nothing."""

    code = "proceeds_mismatch"


def _require_held(assets: Sequence[Asset], agency_id: str) -> None:
    """Refuse assets the agency does not hold (any more: one allocated elsewhere since the application)."""
    foreign = [a.id for a in assets if a.agency_id != agency_id]
    if foreign:
        raise AssetNotHeld(
            f"{', '.join(foreign)} not held by {agency_id}",
            fields={"asset_ids": ["an agency disposes only of assets it holds"]},
            details={"not_held": foreign, "agency_id": agency_id},
        )


class Disposal(Aggregate):
    """A disposal of one or more assets of an agency."""

    stream_type: ClassVar[str] = "Disposal"

    def _init_state(self) -> None:
        self.status = ""
        self.method = ""
        self.recipient: str | None = None
        self.asset_ids: list[str] = []

    @classmethod
    def apply(
        cls,
        *,
        disposal_id: str,
        agency_id: str,
        district: str,
        assets: Sequence[Asset],
        method: str,
        reason: str,
        today: date,
        recipient: str | None = None,
    ) -> Self:
        """Apply to dispose of assets the agency holds; a transfer names its recipient."""
        require_one_of("method", method, DISPOSAL_METHODS)
        if (method == "transfer") != bool(recipient):
            raise RecipientMismatch(
                "a transfer, and only a transfer, names its recipient",
                fields={"recipient": ["required for a transfer" if method == "transfer" else f"not for {method}"]},
            )
        ids = [a.id for a in assets]
        require_distinct(ids)
        for asset in assets:
            asset.check_disposable()
        _require_held(assets, agency_id)
        value = sum(a.book_value_fen(today) for a in assets)
        disposal = cls(disposal_id)
        disposal._record(
            DisposalApplied(
                disposal_id=disposal_id,
                agency_id=agency_id,
                district=district,
                method=method,
                reason=reason,
                recipient=recipient,
                asset_ids=ids,
                book_value_fen=value,
                applied_on=today.isoformat(),
            )
        )
        return disposal

    def approve(self, approved_by: str, today: date) -> None:
        """Approve an applied disposal."""
        require_status(f"disposal {self.id}", self.status, "applied")
        self._record(DisposalApproved(self.id, approved_by, today.isoformat()))

    def reject(self, rejected_by: str, reason: str, today: date) -> None:
        """Refuse an applied disposal."""
        require_status(f"disposal {self.id}", self.status, "applied")
        self._record(DisposalRejected(self.id, rejected_by, reason, today.isoformat()))

    def complete(
        self, assets: Sequence[Asset], proceeds_fen: int, today: date, trading_centre_ref: str | None = None
    ) -> None:
        """Dispose of every asset of the approved application and record the proceeds."""
        if self.status != "approved":
            raise DisposalNotApproved(
                f"disposal {self.id} is {self.status}, not approved",
                details={"status": self.status, "expected": ["approved"]},
            )
        if sorted(a.id for a in assets) != sorted(self.asset_ids):
            raise AssetsDifferFromApplication(
                "a disposal completes exactly the assets applied for",
                fields={"asset_ids": ["differ from the application"]},
                details={"applied": self.asset_ids},
            )
        self._check_proceeds(proceeds_fen, trading_centre_ref)
        _require_held(assets, self.agency_id or "")
        for asset in assets:
            asset.dispose(self.id, self.method, today)
        self._record(
            DisposalCompleted(
                disposal_id=self.id,
                method=self.method,
                asset_ids=list(self.asset_ids),
                proceeds_fen=proceeds_fen,
                trading_centre_ref=trading_centre_ref,
                recipient=self.recipient,
                completed_on=today.isoformat(),
            )
        )

    def _check_proceeds(self, proceeds_fen: int, trading_centre_ref: str | None) -> None:
        if self.method == "auction" and not trading_centre_ref:
            raise AuctionOutsideTradingCentre(
                "an auction goes through the public resource trading centre",
                fields={"trading_centre_ref": ["required for an auction"]},
            )
        expected, fits = PROCEEDS_BY_METHOD[self.method]
        if not fits(proceeds_fen):
            raise ProceedsMismatch(
                f"proceeds of {proceeds_fen} do not fit a {self.method}",
                fields={"proceeds_fen": [f"must be {expected} for a {self.method}"]},
                details={"method": self.method, "proceeds_fen": proceeds_fen},
            )

    def _on_DisposalApplied(self, event: DisposalApplied) -> None:
        self.status, self.agency_id, self.district = "applied", event.agency_id, event.district
        self.method, self.recipient, self.asset_ids = event.method, event.recipient, list(event.asset_ids)

    def _on_DisposalApproved(self, event: DisposalApproved) -> None:
        self.status = "approved"

    def _on_DisposalRejected(self, event: DisposalRejected) -> None:
        self.status = "rejected"

    def _on_DisposalCompleted(self, event: DisposalCompleted) -> None:
        self.status = "completed"


register_fen_upcaster(DisposalApplied, 1)
register_fen_upcaster(DisposalCompleted, 1)
