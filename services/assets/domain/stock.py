"""Warehouse stock (仓储): goods in, out and transferred between the central warehouse and its outlying points
("1+N" 建库模式, seed 000 #28), never below zero, with reorder points and stock value at moving average cost.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import ClassVar, Final, Self

from services.common.kernel.aggregate import Aggregate
from services.common.kernel.errors import NotFound, RuleViolation, require_positive
from services.common.kernel.events import register_fen_upcaster

from .base import AssetsEvent, require_not_negative

CENTRAL_SITE: Final = "central"
"""The central warehouse (市行政中心仓库); every other site is an outlying point (延伸点) supplied through it."""


@dataclass(frozen=True)
class StockItemRegistered(AssetsEvent):
    """A stock item (SKU) kept at the central warehouse and outlying points, with reorder points per site."""

    sku: str
    name: str
    unit: str
    sites: list[str]
    reorder_points: dict[str, int]
    registered_on: str


@dataclass(frozen=True)
class ReorderPointSet(AssetsEvent):
    """A site's reorder point changed."""

    sku: str
    site: str
    reorder_point: int


@dataclass(frozen=True)
class GoodsReceived(AssetsEvent):
    """Goods came in (入库) at a unit cost; the moving average cost after the receipt is recorded."""

    schema_version: ClassVar[int] = 2
    legacy_cents: ClassVar[dict[str, str]] = {
        "unit_cost_cents": "unit_cost_fen",
        "average_unit_cost_cents": "average_unit_cost_fen",
    }

    sku: str
    site: str
    quantity: int
    unit_cost_fen: int
    reference: str
    on_hand_after: int
    average_unit_cost_fen: int
    received_on: str


@dataclass(frozen=True)
class GoodsIssued(AssetsEvent):
    """Goods went out (出库) to an agency, valued at the moving average cost."""

    schema_version: ClassVar[int] = 2
    legacy_cents: ClassVar[dict[str, str]] = {"value_cents": "value_fen"}

    sku: str
    site: str
    quantity: int
    agency_id: str
    on_hand_after: int
    value_fen: int
    issued_on: str


@dataclass(frozen=True)
class GoodsTransferred(AssetsEvent):
    """Goods moved (调拨) between the central warehouse and an outlying point."""

    sku: str
    from_site: str
    to_site: str
    quantity: int
    from_on_hand_after: int
    to_on_hand_after: int
    transferred_on: str


@dataclass(frozen=True)
class ReorderPointReached(AssetsEvent):
    """A site's stock fell to or below its reorder point: time to replenish."""

    sku: str
    site: str
    on_hand: int
    reorder_point: int
    reached_on: str


class UnknownSite(NotFound):
    """The site is not one where the item is kept."""

    code = "unknown_site"


class InsufficientStock(RuleViolation):
    """Stock never goes below zero."""

    code = "insufficient_stock"


class CentralSiteRequired(RuleViolation):
    """Every item is kept at the central warehouse (and the outlying points it supplies), each site once."""

    code = "central_site_required"


class TransferNotThroughCentral(RuleViolation):
    """Transfers run between the central warehouse and an outlying point ("1+N"), not point to point."""

    code = "transfer_not_through_central"


class StockItem(Aggregate):
    """One stock item across the central warehouse and its outlying points."""

    stream_type: ClassVar[str] = "StockItem"

    def _init_state(self) -> None:
        self.name = ""
        self.unit = ""
        self.on_hand: dict[str, int] = {}
        self.reorder_points: dict[str, int] = {}
        self.average_unit_cost_fen = 0

    @classmethod
    def register(
        cls, *, sku: str, name: str, unit: str, sites: Sequence[str], reorder_points: Mapping[str, int], today: date
    ) -> Self:
        """Register an item kept at the central warehouse and the given outlying points."""
        if CENTRAL_SITE not in sites or len(set(sites)) != len(sites):
            raise CentralSiteRequired(
                f"sites must be distinct and include {CENTRAL_SITE}", fields={"sites": [f"include {CENTRAL_SITE}"]}
            )
        unknown = sorted(set(reorder_points) - set(sites))
        if unknown:
            raise UnknownSite(f"no site {', '.join(unknown)}", fields={"reorder_points": ["unknown site"]})
        for point in reorder_points.values():
            require_not_negative("reorder_points", point)
        points = {site: reorder_points.get(site, 0) for site in sites}
        item = cls(sku)
        item._record(
            StockItemRegistered(
                sku=sku, name=name, unit=unit, sites=list(sites), reorder_points=points, registered_on=today.isoformat()
            )
        )
        return item

    def set_reorder_point(self, site: str, reorder_point: int, today: date) -> None:
        """Change a site's reorder point; raising it to the stock on hand or above signals a reorder."""
        was_above = self._on_hand(site) > self.reorder_points[site]
        require_not_negative("reorder_point", reorder_point)
        self._record(ReorderPointSet(self.id, site, reorder_point))
        self._check_reorder(site, was_above, today)

    def receive(self, site: str, quantity: int, unit_cost_fen: int, reference: str, today: date) -> None:
        """Goods in at a unit cost; the average cost moves."""
        on_hand = self._on_hand(site)
        require_positive("quantity", quantity)
        require_positive("unit_cost_fen", unit_cost_fen)
        total = sum(self.on_hand.values())
        average = round((total * self.average_unit_cost_fen + quantity * unit_cost_fen) / (total + quantity))
        self._record(
            GoodsReceived(
                sku=self.id,
                site=site,
                quantity=quantity,
                unit_cost_fen=unit_cost_fen,
                reference=reference,
                on_hand_after=on_hand + quantity,
                average_unit_cost_fen=average,
                received_on=today.isoformat(),
            )
        )

    def issue(self, site: str, quantity: int, agency_id: str, today: date) -> None:
        """Goods out to an agency; never more than the site holds."""
        was_above = self._take(site, quantity)
        value = quantity * self.average_unit_cost_fen
        after = self.on_hand[site] - quantity
        self._record(
            GoodsIssued(
                sku=self.id,
                site=site,
                quantity=quantity,
                agency_id=agency_id,
                on_hand_after=after,
                value_fen=value,
                issued_on=today.isoformat(),
            )
        )
        self._check_reorder(site, was_above, today)

    def transfer(self, from_site: str, to_site: str, quantity: int, today: date) -> None:
        """Move goods between the central warehouse and an outlying point."""
        self._on_hand(to_site)  # refuses an unknown destination before anything else
        if CENTRAL_SITE not in (from_site, to_site) or from_site == to_site:
            raise TransferNotThroughCentral(
                f"transfer {from_site} → {to_site} does not run through {CENTRAL_SITE}",
                fields={"to_site": [f"one end must be {CENTRAL_SITE}, the other an outlying point"]},
            )
        was_above = self._take(from_site, quantity)
        self._record(
            GoodsTransferred(
                sku=self.id,
                from_site=from_site,
                to_site=to_site,
                quantity=quantity,
                from_on_hand_after=self.on_hand[from_site] - quantity,
                to_on_hand_after=self.on_hand[to_site] + quantity,
                transferred_on=today.isoformat(),
            )
        )
        self._check_reorder(from_site, was_above, today)

    def stock_value_fen(self, site: str | None = None) -> int:
        """The value of the stock at moving average cost, of one site or of all."""
        quantity = self._on_hand(site) if site is not None else sum(self.on_hand.values())
        return quantity * self.average_unit_cost_fen

    def _on_hand(self, site: str) -> int:
        if site not in self.on_hand:
            raise UnknownSite(
                f"{self.id} is not kept at {site}",
                fields={"site": [f"one of {', '.join(self.on_hand)}"]},
            )
        return self.on_hand[site]

    def _take(self, site: str, quantity: int) -> bool:
        """Check that ``quantity`` can leave ``site``; whether the site was above its reorder point."""
        on_hand = self._on_hand(site)
        require_positive("quantity", quantity)
        if quantity > on_hand:
            raise InsufficientStock(
                f"{site} holds {on_hand} {self.unit} of {self.id}, not {quantity}",
                fields={"quantity": [f"at most {on_hand}"]},
                details={"site": site, "on_hand": on_hand, "requested": quantity},
            )
        return on_hand > self.reorder_points[site]

    def _check_reorder(self, site: str, was_above: bool, today: date) -> None:
        on_hand, point = self.on_hand[site], self.reorder_points[site]
        if was_above and on_hand <= point:
            self._record(ReorderPointReached(self.id, site, on_hand, point, today.isoformat()))

    def _on_StockItemRegistered(self, event: StockItemRegistered) -> None:
        self.name, self.unit = event.name, event.unit
        self.on_hand = dict.fromkeys(event.sites, 0)
        self.reorder_points = dict(event.reorder_points)

    def _on_ReorderPointSet(self, event: ReorderPointSet) -> None:
        self.reorder_points[event.site] = event.reorder_point

    def _on_GoodsReceived(self, event: GoodsReceived) -> None:
        self.on_hand[event.site] = event.on_hand_after
        self.average_unit_cost_fen = event.average_unit_cost_fen

    def _on_GoodsIssued(self, event: GoodsIssued) -> None:
        self.on_hand[event.site] = event.on_hand_after

    def _on_GoodsTransferred(self, event: GoodsTransferred) -> None:
        self.on_hand[event.from_site] = event.from_on_hand_after
        self.on_hand[event.to_site] = event.to_on_hand_after

    def _on_ReorderPointReached(self, event: ReorderPointReached) -> None:
        """The alert changes no stock; it is kept for the dashboard."""


register_fen_upcaster(GoodsIssued, 1)
register_fen_upcaster(GoodsReceived, 1)
