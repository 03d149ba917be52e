"""What the assets aggregates share: the event base, statuses and conditions, the service-life table.

Money is integer fen (分), as in the procurement service whose deliveries become ledger entries.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, ClassVar, Final

from services.common.kernel.errors import RuleViolation
from services.common.kernel.events import Event


@dataclass(frozen=True)
class AssetsEvent(Event):
    """Base of the assets service's events."""

    domain: ClassVar[str] = "assets"


STATUSES: Final = ("in_use", "idle", "in_warehouse", "on_loan", "disposed")
"""Asset statuses: 在用, 闲置, 在公物仓, 出借, 已处置."""

CONDITIONS: Final = ("new", "good", "fair", "poor", "unusable")
"""Physical condition, best first: 全新, 良好, 一般, 较差, 无法使用."""


class UnknownCategory(RuleViolation):
    """The asset category is not in the service-life table (or a delivered item fits none of its categories)."""

    code = "unknown_asset_category"


class DistinctAssetsRequired(RuleViolation):
    """A loan or a disposal names at least one asset, each once."""

    code = "distinct_assets_required"


class NegativeAmount(RuleViolation):
    """A cost or a reorder point below zero."""

    code = "must_not_be_negative"


def require_distinct(asset_ids: list[str]) -> None:
    """Refuse an empty list of assets or one naming an asset twice."""
    if not asset_ids or len(set(asset_ids)) != len(asset_ids):
        raise DistinctAssetsRequired(
            "name at least one asset, each once", fields={"asset_ids": ["at least one, no repeats"]}
        )


def require_not_negative(field_name: str, value: int) -> None:
    """Refuse a cost or a reorder point below zero."""
    if value < 0:
        raise NegativeAmount(
            f"{field_name} cannot be negative", fields={field_name: [">= 0"]}, details={field_name: value}
        )


class NotOneOf(RuleViolation):
    """A code (condition, method, purpose, resolution) outside its enumeration."""

    code = "not_one_of"


def require_one_of(field_name: str, value: str, allowed: Collection[str]) -> None:
    """Refuse ``value`` unless it is one of ``allowed``."""
    if value not in allowed:
        raise NotOneOf(
            f"{field_name} {value!r} is not one of {', '.join(allowed)}",
            fields={field_name: [f"one of {', '.join(allowed)}"]},
            details={field_name: value},
        )


@dataclass(frozen=True)
class AssetCategory:
    """An asset category: its minimum service life (最低使用年限) and its place in procurement's catalog."""

    min_service_life_years: int
    procurement_category: str
    item_code_prefixes: tuple[str, ...] = ()


@dataclass(frozen=True)
class ServiceLifeTable:
    """A versioned table of minimum service lives by asset category, with its source: a replacement rule (an asset
    is not replaced before it), never the depreciation life (``DepreciationLifeTable``, a table of its own)."""

    version: str
    source: str
    categories: dict[str, AssetCategory] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ServiceLifeTable:
        """A table from its JSON form: ``{"version", "source", "categories": {code: {"min_service_life_years",
        "procurement_category", "item_code_prefixes"}}}``; every service life at least one year."""
        categories = {
            str(code): AssetCategory(
                int(entry["min_service_life_years"]),
                str(entry["procurement_category"]),
                tuple(str(p) for p in entry.get("item_code_prefixes", ())),
            )
            for code, entry in dict(data["categories"]).items()
        }
        if not categories or any(c.min_service_life_years < 1 for c in categories.values()):
            raise ValueError("a service-life table needs categories of at least one year")
        return cls(str(data["version"]), str(data["source"]), categories)

    @property
    def codes(self) -> list[str]:
        """The category codes of the table, sorted."""
        return sorted(self.categories)

    def as_dict(self) -> dict[str, Any]:
        """The table in its JSON form (what ``from_dict`` reads)."""
        return {
            "version": self.version,
            "source": self.source,
            "categories": {
                code: {
                    "min_service_life_years": c.min_service_life_years,
                    "procurement_category": c.procurement_category,
                    "item_code_prefixes": list(c.item_code_prefixes),
                }
                for code, c in sorted(self.categories.items())
            },
        }

    def category(self, code: str) -> AssetCategory:
        """The category ``code``; UnknownCategory when the table has none."""
        if code not in self.categories:
            raise UnknownCategory(
                f"asset category {code!r} is not in service-life table {self.version}",
                fields={"category": [f"one of {', '.join(sorted(self.categories))}"]},
            )
        return self.categories[code]

    def category_for_item(self, procurement_category: str, item_code: str) -> str | None:
        """The asset category of a delivered catalog item: by longest item-code prefix, else the catch-all
        category (one without prefixes) or the only category of its procurement category; None when that
        procurement category holds no fixed assets."""
        candidates = {c: v for c, v in self.categories.items() if v.procurement_category == procurement_category}
        if not candidates:
            return None
        matches = [(len(p), c) for c, v in candidates.items() for p in v.item_code_prefixes if item_code.startswith(p)]
        if matches:
            return max(matches)[1]
        catch_all = sorted(c for c, v in candidates.items() if not v.item_code_prefixes)
        if catch_all or len(candidates) == 1:
            return (catch_all or list(candidates))[0]
        raise UnknownCategory(
            f"item {item_code} of {procurement_category} fits none of {', '.join(sorted(candidates))}",
            fields={"item_code": ["no asset category has a matching item-code prefix"]},
            details={"procurement_category": procurement_category, "candidates": sorted(candidates)},
        )


SERVICE_LIFE_2016: Final = ServiceLifeTable(
    version="2016",
    source="中央行政单位通用办公设备家具配置标准（财资〔2016〕27号）",
    categories={
        "furniture": AssetCategory(15, "furniture", ("A06",)),
        "computers": AssetCategory(6, "equipment", ("A020101",)),
        "printers": AssetCategory(6, "equipment", ("A02010601",)),
        "copiers": AssetCategory(6, "equipment", ("A020201",)),
        "office_equipment": AssetCategory(6, "equipment"),
    },
)
"""Minimum service lives (docs/domain.md: furniture 15 years, computers 6). Procurement categories are the catalog codes
of the procurement service; item-code prefixes are those of the government procurement item catalogue
(政府采购品目分类目录): A06 家具用具, A020101 计算机设备, A02010601 打印设备, A020201 复印机. Other delivered
equipment enters as ``office_equipment`` (其他通用办公设备) at the standard's usual six years. A deployment replaces
the table with ``ASSET_SERVICE_LIFE_FILE`` (``ServiceLifeTable.from_dict``)."""


def delivery_asset_ids(contract_id: str, delivery_id: str, quantity: int) -> list[str]:
    """The asset ids of the items of one accepted delivery: the same every time the delivery is read, so that
    entering it twice is refused by the store (delivery ids are unique per contract only, hence the digest)."""
    digest = hashlib.sha256(f"{contract_id}/{delivery_id}".encode()).hexdigest()[:12]
    return [f"AS-{digest}-{n}" for n in range(1, quantity + 1)]


def add_years(day: date, years: int) -> date:
    """The same calendar day ``years`` later (29 February becomes 28 February)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def condition_fits(condition: str, minimum: str) -> bool:
    """Whether ``condition`` is at least as good as ``minimum``."""
    return CONDITIONS.index(condition) <= CONDITIONS.index(minimum)


def days_overdue(due_on: str, today: date) -> int:
    """Days past an ISO due date (0 when not yet due)."""
    return max((today - date.fromisoformat(due_on)).days, 0)
