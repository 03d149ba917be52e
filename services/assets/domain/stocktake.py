"""Stock-takes (盘点): what was counted per location against the ledger, so that the ledger matches reality
(账物相符). Differences become findings with their evidence; reconciliation closes them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, ClassVar, Final, Self

from services.common.kernel.aggregate import Aggregate
from services.common.kernel.errors import AlreadyExists, InvalidState, NotFound, require_status

from .base import AssetsEvent, require_one_of
from .ledger import Asset

LEDGER_CORRECTED: Final = "ledger_corrected"

RESOLUTIONS: Final[dict[str, tuple[str, ...]]] = {
    "missing": ("found", "loss_reported"),
    "wrong_place": (LEDGER_CORRECTED, "moved_back"),
    "surplus": ("registered", "returned_to_holder"),
}
"""How each kind of finding is reconciled. Missing (盘亏): found after all, or reported as a loss for disposal.
Wrong place: the ledger location corrected, or the item moved back. Surplus (盘盈): entered in the ledger, or
returned to the agency whose ledger holds it. Correcting the ledger relocates the asset in the same append."""


@dataclass(frozen=True)
class StockTakeOpened(AssetsEvent):
    """A stock-take of an agency began, with the ledger's assets and locations it is checked against."""

    stocktake_id: str
    agency_id: str
    district: str
    expected: dict[str, str]
    opened_on: str


@dataclass(frozen=True)
class ItemsCounted(AssetsEvent):
    """Items (by asset tag) were counted at a location."""

    stocktake_id: str
    location: str
    asset_ids: list[str]
    counted_on: str


@dataclass(frozen=True)
class StockTakeFindingRecorded(AssetsEvent):
    """A difference between ledger and count: missing, surplus or in the wrong place, with where each was."""

    stocktake_id: str
    finding_id: str
    agency_id: str
    kind: str
    asset_id: str
    ledger_location: str | None
    found_location: str | None
    recorded_on: str


@dataclass(frozen=True)
class CountingClosed(AssetsEvent):
    """Counting ended; ``findings`` differences were recorded (none: the ledger matches reality)."""

    stocktake_id: str
    expected_items: int
    counted_items: int
    findings: int
    closed_on: str


@dataclass(frozen=True)
class FindingReconciled(AssetsEvent):
    """A finding was closed with a resolution fitting its kind."""

    stocktake_id: str
    finding_id: str
    resolution: str
    note: str
    reconciled_on: str


def compare_counts(expected: Mapping[str, str], counted: Mapping[str, str]) -> list[dict[str, Any]]:
    """The differences between the ledger (asset → location) and the count (asset → location where found)."""
    findings: list[dict[str, Any]] = []
    for asset_id, ledger_location in sorted(expected.items()):
        found = counted.get(asset_id)
        if found != ledger_location:
            kind = "missing" if found is None else "wrong_place"
            findings.append(_finding(kind, asset_id, ledger_location, found))
    findings += [_finding("surplus", a, None, loc) for a, loc in sorted(counted.items()) if a not in expected]
    return findings


def _finding(kind: str, asset_id: str, ledger_location: str | None, found_location: str | None) -> dict[str, Any]:
    return {"kind": kind, "asset_id": asset_id, "ledger_location": ledger_location, "found_location": found_location}


class StockTake(Aggregate):
    """A stock-take of an agency's assets in use or idle: counting, then findings, then reconciliation."""

    stream_type: ClassVar[str] = "StockTake"

    def _init_state(self) -> None:
        self.status = ""
        self.expected: dict[str, str] = {}
        self.counted: dict[str, str] = {}
        self.findings: dict[str, dict[str, Any]] = {}

    @classmethod
    def open(cls, stocktake_id: str, agency_id: str, district: str, expected: Mapping[str, str], today: date) -> Self:
        """Begin a stock-take against the agency's ledger (its assets in use or idle, by location)."""
        stocktake = cls(stocktake_id)
        stocktake._record(StockTakeOpened(stocktake_id, agency_id, district, dict(expected), today.isoformat()))
        return stocktake

    def count(self, location: str, asset_ids: Sequence[str], today: date) -> None:
        """Record the items found at a location; an item is counted once in a stock-take."""
        require_status(f"stock-take {self.id}", self.status, "counting")
        repeats = {a for a in asset_ids if asset_ids.count(a) > 1}
        seen = sorted(repeats | (set(asset_ids) & self.counted.keys()))
        if seen:
            raise AlreadyExists(
                f"{', '.join(seen)} already counted",
                fields={"asset_ids": ["each item is counted once"]},
                details={"already_counted": {a: self.counted.get(a, location) for a in seen}},
            )
        self._record(ItemsCounted(self.id, location, list(asset_ids), today.isoformat()))

    def close_counting(self, today: date) -> list[str]:
        """End counting and record every difference as a finding; the finding ids."""
        require_status(f"stock-take {self.id}", self.status, "counting")
        differences = compare_counts(self.expected, self.counted)
        ids = [f"{self.id}-F{n}" for n in range(1, len(differences) + 1)]
        for finding_id, found in zip(ids, differences, strict=True):
            self._record(
                StockTakeFindingRecorded(
                    stocktake_id=self.id,
                    finding_id=finding_id,
                    agency_id=self.agency_id or "",
                    kind=found["kind"],
                    asset_id=found["asset_id"],
                    ledger_location=found["ledger_location"],
                    found_location=found["found_location"],
                    recorded_on=today.isoformat(),
                )
            )
        self._record(CountingClosed(self.id, len(self.expected), len(self.counted), len(ids), today.isoformat()))
        return ids

    def finding(self, finding_id: str) -> dict[str, Any]:
        """One finding (kind, asset, where the ledger and the count put it, its resolution); NotFound if none."""
        finding = self.findings.get(finding_id)
        if finding is None:
            raise NotFound(f"stock-take {self.id} has no finding {finding_id}", fields={"finding_id": ["unknown"]})
        return finding

    def reconcile(self, finding_id: str, resolution: str, note: str, today: date, asset: Asset | None = None) -> None:
        """Close a finding with a resolution fitting its kind. Correcting the ledger for an item found in the
        wrong place relocates ``asset`` (the finding's asset) to where it was counted, so ledger and reality
        match again."""
        require_status(f"stock-take {self.id}", self.status, "reconciling")
        finding = self.finding(finding_id)
        if finding["resolution"]:
            raise InvalidState(f"finding {finding_id} is already reconciled", details=finding)
        require_one_of("resolution", resolution, RESOLUTIONS[finding["kind"]])
        if resolution == LEDGER_CORRECTED:
            if asset is None or asset.id != finding["asset_id"]:
                raise InvalidState(
                    f"correcting the ledger needs asset {finding['asset_id']}", details={"finding": finding}
                )
            asset.relocate(finding["found_location"], today)
        self._record(FindingReconciled(self.id, finding_id, resolution, note, today.isoformat()))

    @property
    def open_findings(self) -> list[str]:
        """Findings not yet reconciled."""
        return sorted(f for f, v in self.findings.items() if not v["resolution"])

    def _on_StockTakeOpened(self, event: StockTakeOpened) -> None:
        self.status, self.agency_id, self.district = "counting", event.agency_id, event.district
        self.expected = dict(event.expected)

    def _on_ItemsCounted(self, event: ItemsCounted) -> None:
        self.counted.update(dict.fromkeys(event.asset_ids, event.location))

    def _on_StockTakeFindingRecorded(self, event: StockTakeFindingRecorded) -> None:
        self.findings[event.finding_id] = {
            "kind": event.kind,
            "asset_id": event.asset_id,
            "ledger_location": event.ledger_location,
            "found_location": event.found_location,
            "resolution": None,
        }

    def _on_CountingClosed(self, event: CountingClosed) -> None:
        self.status = "reconciling" if event.findings else "reconciled"

    def _on_FindingReconciled(self, event: FindingReconciled) -> None:
        self.findings[event.finding_id]["resolution"] = event.resolution
        if not self.open_findings:
            self.status = "reconciled"
