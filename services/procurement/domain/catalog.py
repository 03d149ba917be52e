"""The centralized-procurement catalog (集中采购目录): goods, services and works by category."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Self

from services.common.kernel.aggregate import Aggregate
from services.common.kernel.errors import NotFound, RuleViolation, WrongStatus, require_status

from .base import CATEGORIES, ProcurementEvent


@dataclass(frozen=True)
class CatalogItemListed(ProcurementEvent):
    """An item entered the catalog, with the rules its category carries."""

    item_code: str
    name: str
    category: str
    kind: str
    unit: str
    green_clauses_required: bool
    idle_first: bool


@dataclass(frozen=True)
class CatalogItemWithdrawn(ProcurementEvent):
    """An item left the catalog; no new request may name it."""

    item_code: str
    reason: str


class UnknownCategory(RuleViolation):
    """The category code is not one of the catalog's categories."""

    code = "unknown_category"


class CatalogItemNotFound(NotFound):
    """The catalog has no such item."""

    code = "catalog_item_not_found"


class CatalogItemWithdrawnError(WrongStatus):
    """The item was withdrawn from the catalog."""

    code = "catalog_item_withdrawn"


class CatalogItem(Aggregate):
    """One item of the catalog; its category decides green clauses and the idle-first check."""

    stream_type: ClassVar[str] = "CatalogItem"

    def _init_state(self) -> None:
        self.status = ""
        self.name = ""
        self.category = ""
        self.unit = ""
        self.green_clauses_required = False
        self.idle_first = False

    @classmethod
    def list_item(
        cls, item_code: str, name: str, category: str, unit: str, green_clauses_required: bool = False
    ) -> Self:
        """List an item; its category may require green clauses even when not asked for."""
        rules = CATEGORIES.get(category)
        if rules is None:
            raise UnknownCategory(
                f"category {category} is not in the catalog",
                fields={"category": ["unknown category code"]},
                details={"known": sorted(CATEGORIES)},
            )
        item = cls(item_code)
        item._record(
            CatalogItemListed(
                item_code=item_code,
                name=name,
                category=category,
                kind=rules.kind,
                unit=unit,
                green_clauses_required=green_clauses_required or rules.green_clauses_required,
                idle_first=rules.idle_first,
            )
        )
        return item

    def withdraw(self, reason: str) -> None:
        """Take the item out of the catalog."""
        require_status(f"catalog item {self.id}", self.status, "listed")
        self._record(CatalogItemWithdrawn(item_code=self.id, reason=reason))

    def require_orderable(self) -> None:
        """Refuse a request for an item that is not (or no longer) in the catalog."""
        if not self.status:
            raise CatalogItemNotFound(f"catalog item {self.id} does not exist", fields={"item_code": ["not listed"]})
        if self.status == "withdrawn":
            raise CatalogItemWithdrawnError(
                f"catalog item {self.id} was withdrawn", fields={"item_code": ["withdrawn from the catalog"]}
            )

    def _on_CatalogItemListed(self, event: CatalogItemListed) -> None:
        self.status = "listed"
        self.name = event.name
        self.category = event.category
        self.unit = event.unit
        self.green_clauses_required = event.green_clauses_required
        self.idle_first = event.idle_first

    def _on_CatalogItemWithdrawn(self, event: CatalogItemWithdrawn) -> None:
        self.status = "withdrawn"
