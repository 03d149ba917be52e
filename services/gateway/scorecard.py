"""The conservation-oriented agency scorecard (节约型机关评价) and its coverage against the city's goals.

An agency is judged by configurable criteria over its data-center figures: each criterion names a figure,
a comparison and a threshold, and a weight. A criterion whose figure has no data (an agency without
vehicles has no new-energy share) does not apply; the score is the weight passed over the weight that
applies, out of 100, and no score is given when less than half the weight applies. An agency with a score
of at least ``pass_score`` counts as a conservation-oriented agency. Coverage is the share of eligible
agencies — party and government agencies at county level and above (县级以上党政机关) — that count, against
the goals of 70 % (2020, seed 000) and 85 % (2025, seed 001).

The criteria are data (``SCORECARD_2025`` or the JSON file ``SCORECARD_FILE``), versioned and naming their
source, so the administration changes them without a release. Pure functions: no I/O but reading that file.
"""

from __future__ import annotations

import json
import operator
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

COVERAGE_GOALS = {"goal_2020": 0.70, "goal_2025": 0.85}
"""节约型机关创建覆盖率: 70 % of county-level-and-above party and government agencies (2020), 85 % by 2025."""

ELIGIBLE_KINDS = ("party_government",)
ELIGIBLE_LEVELS = ("city", "county")

SCORECARD_2025: dict[str, Any] = {
    "version": "2025-1",
    "source": "常州市机关事务管理局：节约型机关创建评价（据“十四五”公共机构节约能源资源工作规划与城市目标整理，可配置）",
    "pass_score": 80,
    "criteria": [
        {
            "id": "energy_per_m2",
            "name_zh": "单位建筑面积能耗较2020年下降不少于6%",
            "name_en": "Energy per m² at least 6 % below 2020",
            "weight": 20,
            "figure": "change_vs_2020.energy_per_m2_kgce",
            "op": "<=",
            "threshold": -0.06,
        },
        {
            "id": "energy_per_capita",
            "name_zh": "人均综合能耗较2020年下降不少于7%",
            "name_en": "Energy per capita at least 7 % below 2020",
            "weight": 20,
            "figure": "change_vs_2020.energy_per_capita_kgce",
            "op": "<=",
            "threshold": -0.07,
        },
        {
            "id": "water_per_capita",
            "name_zh": "人均用水量较2020年下降不少于7%",
            "name_en": "Water per capita at least 7 % below 2020",
            "weight": 15,
            "figure": "change_vs_2020.water_per_capita_m3",
            "op": "<=",
            "threshold": -0.07,
        },
        {
            "id": "within_energy_quota",
            "name_zh": "年度能耗预计不超定额",
            "name_en": "Energy forecast within the annual quota",
            "weight": 10,
            "figure": "quota_exceeded_forecast",
            "op": "==",
            "threshold": False,
        },
        {
            "id": "office_space_within_standard",
            "name_zh": "办公用房无超标准配置",
            "name_en": "No office room above the area standard",
            "weight": 10,
            "figure": "over_standard_persons",
            "op": "==",
            "threshold": 0,
        },
        {
            "id": "new_energy_share",
            "name_zh": "新增及更新公务用车新能源比例不低于30%",
            "name_en": "New-energy share of new and replacement vehicles at least 30 %",
            "weight": 10,
            "figure": "new_energy_share",
            "op": ">=",
            "threshold": 0.30,
        },
        {
            "id": "no_overdue_findings",
            "name_zh": "无超过30天未整改的问题和能耗异常",
            "name_en": "No finding or anomaly open for more than 30 days",
            "weight": 15,
            "figure": "open_items_over_30_days",
            "op": "==",
            "threshold": 0,
        },
    ],
}

_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "<=": operator.le,
    "<": operator.lt,
    ">=": operator.ge,
    ">": operator.gt,
    "==": operator.eq,
}


@dataclass(frozen=True)
class Criterion:
    """One criterion: ``figure`` (a dotted path into the agency's figures) ``op`` ``threshold``."""

    id: str
    name_zh: str
    name_en: str
    weight: float
    figure: str
    op: str
    threshold: Any

    def value(self, figures: Mapping[str, Any]) -> Any:
        """The figure this criterion reads, or None when the agency has no data for it."""
        value: Any = figures
        for part in self.figure.split("."):
            value = value.get(part) if isinstance(value, Mapping) else None
        return value

    def passed(self, value: Any) -> bool:
        """Whether ``value`` meets the criterion."""
        return bool(_OPS[self.op](value, self.threshold))

    def describe(self) -> dict[str, Any]:
        """The criterion as the API shows it."""
        return {
            "id": self.id,
            "name_zh": self.name_zh,
            "name_en": self.name_en,
            "weight": self.weight,
            "rule": f"{self.figure} {self.op} {json.dumps(self.threshold)}",
        }


@dataclass(frozen=True)
class Scorecard:
    """A versioned set of criteria and the score that passes."""

    version: str
    source: str
    pass_score: float
    criteria: tuple[Criterion, ...]

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Scorecard:
        """Build from a configuration object (``SCORECARD_2025``'s form); ValueError when it is unusable."""
        try:
            criteria = tuple(Criterion(**c) for c in config["criteria"])
            card = cls(str(config["version"]), str(config["source"]), float(config["pass_score"]), criteria)
        except (KeyError, TypeError) as exc:
            raise ValueError(f"scorecard configuration is incomplete: {exc}") from None
        unknown = sorted({c.op for c in criteria} - set(_OPS))
        if unknown or not criteria or any(c.weight <= 0 for c in criteria):
            raise ValueError(f"scorecard criteria need positive weights and an operator of {sorted(_OPS)}")
        return card

    def score(self, figures: Mapping[str, Any]) -> dict[str, Any]:
        """The agency's score (0–100, None without enough data), whether it counts, and each criterion."""
        results, applicable, passed = {}, 0.0, 0.0
        for criterion in self.criteria:
            value = criterion.value(figures)
            ok = None if value is None else criterion.passed(value)
            results[criterion.id] = {"value": value, "passed": ok}
            if ok is not None:
                applicable += criterion.weight
                passed += criterion.weight if ok else 0.0
        total = sum(c.weight for c in self.criteria)
        score = round(100 * passed / applicable, 1) if applicable and applicable * 2 >= total else None
        return {
            "score": score,
            "conservation_agency": None if score is None else score >= self.pass_score,
            "criteria": results,
        }

    def describe(self) -> dict[str, Any]:
        """The scorecard as the API shows it."""
        return {
            "version": self.version,
            "source": self.source,
            "pass_score": self.pass_score,
            "criteria": [c.describe() for c in self.criteria],
        }


def load_scorecard(path: Path | None) -> Scorecard:
    """The scorecard of ``path`` (JSON) or, without one, ``SCORECARD_2025``."""
    config = json.loads(path.read_text(encoding="utf-8")) if path else SCORECARD_2025
    return Scorecard.from_config(config)


def eligible(agency: Mapping[str, Any]) -> bool:
    """Whether the agency counts towards coverage: a party or government agency at county level or above."""
    return agency.get("kind") in ELIGIBLE_KINDS and agency.get("admin_level") in ELIGIBLE_LEVELS


def coverage(agencies: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Eligible agencies, how many count as conservation-oriented, the share, against the goals."""
    judged = [a for a in agencies if eligible(a)]
    counted = sum(1 for a in judged if a.get("conservation_agency"))
    share = round(counted / len(judged), 4) if judged else None
    return {
        "eligible": len(judged),
        "conservation": counted,
        "coverage": share,
        **COVERAGE_GOALS,
        "meets_goal_2025": None if share is None else share >= COVERAGE_GOALS["goal_2025"],
    }
