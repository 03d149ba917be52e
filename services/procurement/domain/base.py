"""What every procurement aggregate shares: the event base and the category table (status and positivity
checks are the common ones in ``services.common.kernel.errors``).

Money is integer fen (分) everywhere in this domain, so sums of budgets, bids and contracts are exact.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Final

from services.common.kernel.events import Event


@dataclass(frozen=True)
class ProcurementEvent(Event):
    """Base of the procurement service's events."""

    domain: ClassVar[str] = "procurement"


@dataclass(frozen=True)
class Category:
    """A procurement category of the catalog: its kind and the rules that attach to it."""

    kind: str
    green_clauses_required: bool = False
    idle_first: bool = False


KINDS: Final = ("goods", "services", "works")
"""Kinds of the centralized-procurement catalog: 货物, 服务, 工程."""

CATEGORIES: Final[dict[str, Category]] = {
    "furniture": Category("goods", green_clauses_required=True, idle_first=True),
    "equipment": Category("goods", idle_first=True),
    "office_supplies": Category("goods"),
    "canteen_ingredients": Category("goods"),
    "printing": Category("services", green_clauses_required=True),
    "vehicle_repair": Category("services", green_clauses_required=True),
    "property_services": Category("services"),
    "decoration": Category("works", green_clauses_required=True),
    "repair_works": Category("works"),
}
"""Category codes of the catalog (集中采购目录). Furniture, printing, vehicle repair and decoration need the
green clauses in their contracts (seed 000, #2); furniture and equipment are met from idle stock first
(公物仓, seed 000, #12), so buying them needs the assets service's authorisation. The category codes are shared
with the assets service, whose purchase authorisations name them."""

GREEN_CLAUSES: Final = ("low_voc", "environmental")
"""The green clauses (绿色采购条款): low-VOC materials (低挥发性原辅材料) and environmental terms (环保条款)."""

CONTRACT_CLAUSES: Final = (*GREEN_CLAUSES, "energy_efficiency", "warranty", "recycling", "food_safety")
"""Clause codes a contract may carry."""
