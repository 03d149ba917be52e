"""Market price watch for canteen ingredients (食材价格监测, seed 000, #1): reference prices, observations, alerts.

Knowing the market keeps suppliers from quoting maliciously and lets the canteen buy at the lowest price.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from statistics import fmean
from typing import Any, ClassVar, Final, Self

from services.common.kernel.aggregate import Aggregate
from services.common.kernel.errors import RuleViolation, require_positive, require_status
from services.common.kernel.events import register_fen_upcaster

from .base import ProcurementEvent
from .catalog import CatalogItem


@dataclass(frozen=True)
class PriceMoveRules:
    """How large a price move raises an alert, as a fraction of the basis it is compared with."""

    week_on_week_fraction: float = 0.15
    against_reference_fraction: float = 0.20


DEFAULT_PRICE_MOVE_RULES: Final = PriceMoveRules()
"""Alert when a price moves more than 15 % week on week, or strays more than 20 % from the reference price."""

HISTORY_DAYS: Final = 14
"""Days of observations a watch keeps: enough to compare with the week before."""


@dataclass(frozen=True)
class PriceWatchStarted(ProcurementEvent):
    """The administration began watching the market price of a canteen ingredient."""

    schema_version: ClassVar[int] = 2
    legacy_cents: ClassVar[dict[str, str]] = {"reference_price_cents": "reference_price_fen"}

    item_code: str
    name: str
    unit: str
    reference_price_fen: int
    started_on: str


@dataclass(frozen=True)
class ReferencePriceSet(ProcurementEvent):
    """The ingredient's reference price (参考价) was changed."""

    schema_version: ClassVar[int] = 2
    legacy_cents: ClassVar[dict[str, str]] = {
        "previous_price_cents": "previous_price_fen",
        "reference_price_cents": "reference_price_fen",
    }

    item_code: str
    previous_price_fen: int
    reference_price_fen: int
    effective_on: str


@dataclass(frozen=True)
class PriceObserved(ProcurementEvent):
    """A market price of the ingredient was observed (市场调研)."""

    schema_version: ClassVar[int] = 2
    legacy_cents: ClassVar[dict[str, str]] = {"price_cents": "price_fen"}

    item_code: str
    observed_on: str
    price_fen: int
    market: str


@dataclass(frozen=True)
class PriceMoveAlerted(ProcurementEvent):
    """A price moved more than allowed against last week's average or the reference price."""

    schema_version: ClassVar[int] = 2
    legacy_cents: ClassVar[dict[str, str]] = {"price_cents": "price_fen", "basis_cents": "basis_fen"}

    item_code: str
    kind: str
    observed_on: str
    price_fen: int
    basis_fen: float
    change: float
    threshold: float


class NotACanteenIngredient(RuleViolation):
    """Only canteen ingredients of the catalog are price-watched."""

    code = "not_a_canteen_ingredient"


class ObservationInFuture(RuleViolation):
    """A price cannot be observed after today."""

    code = "observation_in_future"


class IngredientPriceWatch(Aggregate):
    """The price history and reference price of one canteen ingredient."""

    stream_type: ClassVar[str] = "IngredientPriceWatch"

    def _init_state(self) -> None:
        self.status = ""
        self.reference_price_fen = 0
        self.observations: list[dict[str, Any]] = []

    @classmethod
    def start(cls, item: CatalogItem, reference_price_fen: int, today: date) -> Self:
        """Start watching a canteen ingredient of the catalog."""
        item.require_orderable()
        if item.category != "canteen_ingredients":
            raise NotACanteenIngredient(
                f"{item.id} is {item.category}, not a canteen ingredient", fields={"item_code": ["not an ingredient"]}
            )
        require_positive("reference_price_fen", reference_price_fen)
        watch = cls(item.id)
        watch._record(PriceWatchStarted(item.id, item.name, item.unit, reference_price_fen, today.isoformat()))
        return watch

    def set_reference_price(self, reference_price_fen: int, effective_on: date) -> None:
        """Change the reference price."""
        require_status(f"price watch {self.id}", self.status, "watching")
        require_positive("reference_price_fen", reference_price_fen)
        self._record(
            ReferencePriceSet(self.id, self.reference_price_fen, reference_price_fen, effective_on.isoformat())
        )

    def observe(
        self,
        observed_on: date,
        price_fen: int,
        market: str,
        today: date,
        rules: PriceMoveRules = DEFAULT_PRICE_MOVE_RULES,
    ) -> None:
        """Record a market price and alert on a large move week on week or against the reference."""
        require_status(f"price watch {self.id}", self.status, "watching")
        require_positive("price_fen", price_fen)
        if observed_on > today:
            raise ObservationInFuture(
                "a price cannot be observed after today", fields={"observed_on": ["in the future"]}
            )
        last_week = self.week_before(observed_on)
        self._record(PriceObserved(self.id, observed_on.isoformat(), price_fen, market))
        checks = [("against_reference", float(self.reference_price_fen), rules.against_reference_fraction)]
        if last_week:
            checks.insert(0, ("week_on_week", fmean(last_week), rules.week_on_week_fraction))
        for kind, basis, threshold in checks:
            change = round(price_fen / basis - 1, 4)
            if abs(change) > threshold:
                self._record(
                    PriceMoveAlerted(
                        item_code=self.id,
                        kind=kind,
                        observed_on=observed_on.isoformat(),
                        price_fen=price_fen,
                        basis_fen=basis,
                        change=change,
                        threshold=threshold,
                    )
                )

    def week_before(self, day: date) -> list[int]:
        """The prices observed in the seven days a week before ``day`` (day-13 to day-7)."""
        first, last = (day - timedelta(days=13)).isoformat(), (day - timedelta(days=7)).isoformat()
        return [o["price_fen"] for o in self.observations if first <= o["observed_on"] <= last]

    def _on_PriceWatchStarted(self, event: PriceWatchStarted) -> None:
        self.status = "watching"
        self.reference_price_fen = event.reference_price_fen

    def _on_ReferencePriceSet(self, event: ReferencePriceSet) -> None:
        self.reference_price_fen = event.reference_price_fen

    def _on_PriceObserved(self, event: PriceObserved) -> None:
        self.observations.append({"observed_on": event.observed_on, "price_fen": event.price_fen})
        latest = date.fromisoformat(max(o["observed_on"] for o in self.observations))
        horizon = (latest - timedelta(days=HISTORY_DAYS)).isoformat()
        self.observations = [o for o in self.observations if o["observed_on"] >= horizon]

    def _on_PriceMoveAlerted(self, event: PriceMoveAlerted) -> None:
        """Alerts are facts for the dashboard; they change nothing in the watch."""


register_fen_upcaster(PriceMoveAlerted, 1)
register_fen_upcaster(PriceObserved, 1)
register_fen_upcaster(PriceWatchStarted, 1)
register_fen_upcaster(ReferencePriceSet, 1)
