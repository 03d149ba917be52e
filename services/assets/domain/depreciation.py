"""Depreciation of fixed assets (固定资产折旧): the one place book value, accumulated depreciation and remaining
depreciation life are worked out, and the versioned depreciation-life table they use.

The rules (docs/kpis/assets.md cites them):

- 《政府会计准则第3号——固定资产》 and its 应用指南 (财会〔2017〕4号): straight-line (年限平均法), monthly, **no
  residual value** (预计净残值为零); an asset added in a month is depreciated from that month (当月增加的固定资产，
  当月开始计提折旧), an asset that leaves in a month is not depreciated that month (当月减少的固定资产，当月不再
  计提折旧); once fully depreciated it is depreciated no more and its book value stays 0 (提足折旧后不再计提).
- The depreciation life of a category is the 应用指南's 政府固定资产折旧年限表. It is a different table from the
  minimum service life of 财资〔2016〕27号 (``ServiceLifeTable``), which only says when an asset may be replaced;
  the two happen to agree for office furniture and equipment today but are versioned and changed apart.

Money is integer fen (分, the ``_fen`` fields). The accumulated depreciation is
``original × months ÷ life months`` rounded down to the fen, so it reaches the original value exactly in the
last month and the book value is never negative.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Final

from .base import UnknownCategory


@dataclass(frozen=True)
class DepreciationLifeTable:
    """A versioned table of depreciation lives (折旧年限, years) by asset category, with its source."""

    version: str
    source: str
    years: dict[str, int] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DepreciationLifeTable:
        """A table from its JSON form ``{"version", "source", "categories": {code: years}}``; every life at least
        one year."""
        years = {str(code): int(y) for code, y in dict(data["categories"]).items()}
        if not years or any(y < 1 for y in years.values()):
            raise ValueError("a depreciation-life table needs categories of at least one year")
        return cls(str(data["version"]), str(data["source"]), years)

    def as_dict(self) -> dict[str, Any]:
        """The table in its JSON form (what ``from_dict`` reads)."""
        return {"version": self.version, "source": self.source, "categories": dict(sorted(self.years.items()))}

    def life_years(self, category: str) -> int | None:
        """The depreciation life of ``category``; None when the table has no such category."""
        return self.years.get(category)

    def life_years_of(self, category: str) -> int:
        """The depreciation life of ``category``; UnknownCategory when the table has none (a deployment whose
        service-life table has categories this table lacks must supply its own, ``ASSET_DEPRECIATION_LIFE_FILE``)."""
        years = self.years.get(category)
        if years is None:
            raise UnknownCategory(
                f"asset category {category!r} is not in depreciation-life table {self.version}",
                fields={"category": [f"one of {', '.join(sorted(self.years))}"]},
            )
        return years


DEPRECIATION_LIFE_2017: Final = DepreciationLifeTable(
    version="2017",
    source="《政府会计准则第3号——固定资产》应用指南（财会〔2017〕4号）附：政府固定资产折旧年限表",
    years={
        "furniture": 15,  # 家具、用具及装具 — 家具: 15 年
        "computers": 6,  # 通用设备 — 计算机设备: 6 年
        "printers": 6,  # 通用设备 — 办公设备: 6 年
        "copiers": 6,  # 通用设备 — 办公设备: 6 年
        "office_equipment": 6,  # 通用设备 — 办公设备: 6 年
    },
)
"""The depreciation lives of the asset categories of ``SERVICE_LIFE_2016`` (the 应用指南 gives the shortest life an
agency may use; the platform uses that life)."""


@dataclass(frozen=True)
class Depreciation:
    """An asset's depreciation on one day: every figure of docs/kpis/assets.md for one asset."""

    original_value_fen: int
    depreciation_life_years: int
    depreciation_life_version: str
    months_depreciated: int
    accumulated_depreciation_fen: int
    book_value_fen: int
    remaining_life_months: int

    @property
    def fully_depreciated(self) -> bool:
        """Whether every month of the depreciation life has been charged (book value 0)."""
        return self.remaining_life_months == 0


def months_depreciated(acquired_on: date, on: date, life_months: int, disposed_on: date | None = None) -> int:
    """Months charged by ``on``: from the month of acquisition through the month of ``on`` (当月增加当月计提), but
    not the month of disposal or any later one (当月减少当月不再计提); never more than the life."""
    last = on if disposed_on is None or on < disposed_on else disposed_on
    through_month_of_last = (last.year - acquired_on.year) * 12 + last.month - acquired_on.month + 1
    if disposed_on is not None and last == disposed_on:
        through_month_of_last -= 1
    return min(max(through_month_of_last, 0), life_months)


def depreciate(
    original_value_fen: int,
    acquired_on: date,
    life_years: int,
    life_version: str,
    on: date,
    disposed_on: date | None = None,
) -> Depreciation:
    """The asset's straight-line depreciation on ``on`` (see the module docstring for the rules)."""
    life_months = life_years * 12
    months = months_depreciated(acquired_on, on, life_months, disposed_on)
    accumulated = original_value_fen * months // life_months
    return Depreciation(
        original_value_fen=original_value_fen,
        depreciation_life_years=life_years,
        depreciation_life_version=life_version,
        months_depreciated=months,
        accumulated_depreciation_fen=accumulated,
        book_value_fen=original_value_fen - accumulated,
        remaining_life_months=life_months - months,
    )
