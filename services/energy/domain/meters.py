"""Meters (计量器具) and the ingestion of their cumulative readings: the hot path of the service.

A ``Meter`` is a metering point of a building: its device can be replaced and counting goes on. Readings
are cumulative counters sent every five minutes; one call takes a batch of readings of ONE meter (the
service splits a multi-meter batch by meter), rejects bad readings one by one with reasons, ignores
repeated ones, derives the consumption of every interval and records the whole batch as ONE
``MeterReadingsRecorded`` event. The loop works on plain tuples and lists: no object per reading.

Readings must arrive in time order per meter (a batch may be unsorted; it is sorted first). A reading
older than the last recorded one is a duplicate when the meter recorded the same value at that moment in
the last day (``DUPLICATE_WINDOW_S``), a conflict when it recorded another value, and otherwise refused:
the consumption across the gap it would fall into was already counted at the gap's end, so totals stay
right and only the shape inside the gap is lost.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from operator import attrgetter, itemgetter
from typing import Any, ClassVar, Final, Self

from services.common.aggregate import Aggregate
from services.common.errors import NotFound, RuleViolation

from .base import (
    METER_UNITS,
    SUB_ITEMS,
    EnergyEvent,
    epoch_of,
    iso_of_epoch,
    require_not_future,
    require_status,
    utc_iso,
)
from .readings import (
    DEFAULT_INGESTION_RULES,
    IngestionOutcome,
    IngestionRules,
    RejectedReading,
    canonical_time,
    counter_delta,
    rejection,
    value_problem,
)

DUPLICATE_WINDOW_S: Final = 86_400
"""How long a meter remembers the readings it recorded, so a re-sent batch (a district back-filling a
day twice) is ignored rather than refused."""


@dataclass(frozen=True)
class MeterInstalled(EnergyEvent):
    """A meter was installed at a building of an agency, its counter starting at ``initial_reading``."""

    meter_id: str
    serial_no: str
    kind: str
    unit: str
    agency_id: str
    district: str
    building_id: str
    sub_item: str
    multiplier: float
    rollover_limit: float
    initial_reading: float
    installed_at: str


@dataclass(frozen=True)
class MeterReplaced(EnergyEvent):
    """The meter's device was replaced: the old one's final reading closes its count, the new one's starts."""

    meter_id: str
    old_serial_no: str
    new_serial_no: str
    replaced_at: str
    old_final_reading: float
    final_consumption: float
    new_initial_reading: float
    multiplier: float
    rollover_limit: float


@dataclass(frozen=True)
class MeterReadingsRecorded(EnergyEvent):
    """A batch of readings of one meter: ``readings`` are ``[at, value, consumption]`` in time order.

    ``consumption`` is the interval's use ending at ``at`` (counter difference × multiplier, in the
    meter's unit); ``gaps`` are ``[from, to, seconds]`` intervals longer than expected; ``rollovers``
    the moments the counter passed its limit.
    """

    meter_id: str
    kind: str
    building_id: str
    sub_item: str
    readings: list[list[Any]]
    gaps: list[list[Any]]
    rollovers: list[str]


class UnknownMeter(NotFound):
    """No meter has this id (checked by the service before loading)."""

    code = "unknown_meter"


class UnknownMeterKind(RuleViolation):
    """The kind is not one of the platform's meter kinds."""

    code = "unknown_meter_kind"


class SubItemNotAllowed(RuleViolation):
    """Itemised metering applies to electricity meters only, with the known sub-items."""

    code = "sub_item_not_allowed"


class NotPositive(RuleViolation):
    """A multiplier or counter limit must be above zero."""

    code = "must_be_positive"


class ReadingOutOfRange(RuleViolation):
    """A counter reading must lie between zero and the counter's limit."""

    code = "reading_out_of_range"


class CounterWentBackwards(RuleViolation):
    """A final reading below the last recorded one, without a rollover."""

    code = "counter_went_backwards"


class NotAfterLastReading(RuleViolation):
    """A replacement must come after the meter's last reading."""

    code = "not_after_last_reading"


def _require_positive(name: str, value: float) -> None:
    if not value > 0:
        raise NotPositive(f"{name} must be above zero", fields={name: ["must be > 0"]}, details={name: value})


def _require_in_range(name: str, value: float, limit: float) -> None:
    if not 0 <= value < limit:
        raise ReadingOutOfRange(
            f"{name} must lie in [0, {limit})", fields={name: ["outside the counter's range"]}, details={name: value}
        )


class Meter(Aggregate):
    """A metering point (计量点) of a building: kind, sub-item, multiplier, and where its counter stands."""

    stream_type: ClassVar[str] = "Meter"
    snapshot_every: ClassVar[int | None] = 10
    """A snapshot every 10 batches: a meter reporting every 5 minutes loads from a snapshot and a few batches."""

    def _init_state(self) -> None:
        self.status = ""
        self.serial_no = ""
        self.kind = ""
        self.unit = ""
        self.building_id = ""
        self.sub_item = ""
        self.multiplier = 1.0
        self.rollover_limit = 0.0
        self.last_at = ""
        self.last_epoch = 0
        self.last_value = 0.0
        self.recent: list[list[Any]] = []

    @classmethod
    def install(
        cls,
        meter_id: str,
        serial_no: str,
        kind: str,
        agency_id: str,
        district: str,
        building_id: str,
        sub_item: str,
        multiplier: float,
        rollover_limit: float,
        initial_reading: float,
        installed_at: datetime,
        now: datetime,
    ) -> Self:
        """Install a meter; only electricity meters are itemised below a main meter."""
        if kind not in METER_UNITS:
            raise UnknownMeterKind(f"unknown meter kind {kind}", fields={"kind": ["unknown kind"]})
        if sub_item not in SUB_ITEMS or (sub_item != "none" and kind != "electricity"):
            raise SubItemNotAllowed(
                f"a {kind} meter cannot be sub-item {sub_item}",
                fields={"sub_item": ["only electricity meters are itemised"]},
                details={"kind": kind, "sub_item": sub_item},
            )
        _require_positive("multiplier", multiplier)
        _require_positive("rollover_limit", rollover_limit)
        _require_in_range("initial_reading", initial_reading, rollover_limit)
        require_not_future("installed_at", installed_at, now)
        meter = cls(meter_id)
        meter._record(
            MeterInstalled(
                meter_id,
                serial_no,
                kind,
                METER_UNITS[kind],
                agency_id,
                district,
                building_id,
                sub_item,
                multiplier,
                rollover_limit,
                initial_reading,
                utc_iso(installed_at),
            )
        )
        return meter

    def replace(
        self,
        new_serial_no: str,
        old_final_reading: float,
        new_initial_reading: float,
        replaced_at: datetime,
        now: datetime,
        multiplier: float | None = None,
        rollover_limit: float | None = None,
        rules: IngestionRules = DEFAULT_INGESTION_RULES,
    ) -> None:
        """Replace the device: count up to the old one's final reading, go on from the new one's initial reading."""
        require_status(f"meter {self.id}", self.status, "installed")
        multiplier = self.multiplier if multiplier is None else multiplier
        rollover_limit = self.rollover_limit if rollover_limit is None else rollover_limit
        _require_positive("multiplier", multiplier)
        _require_positive("rollover_limit", rollover_limit)
        _require_in_range("old_final_reading", old_final_reading, self.rollover_limit)
        _require_in_range("new_initial_reading", new_initial_reading, rollover_limit)
        require_not_future("replaced_at", replaced_at, now)
        if replaced_at.timestamp() <= self.last_epoch:
            raise NotAfterLastReading(
                "the replacement must come after the last reading",
                fields={"replaced_at": ["not after the last reading"]},
                details={"last_reading_at": self.last_at},
            )
        delta = counter_delta(self.last_value, old_final_reading, self.rollover_limit, rules.rollover_margin)
        if delta is None:
            raise CounterWentBackwards(
                "the old meter's final reading is below its last recorded reading",
                fields={"old_final_reading": ["below the last reading"]},
                details={"last_value": self.last_value, "old_final_reading": old_final_reading},
            )
        self._record(
            MeterReplaced(
                self.id,
                self.serial_no,
                new_serial_no,
                utc_iso(replaced_at),
                old_final_reading,
                round(delta * self.multiplier, 6),
                new_initial_reading,
                multiplier,
                rollover_limit,
            )
        )

    def record_readings(
        self, readings: Sequence[Any], now: datetime, rules: IngestionRules = DEFAULT_INGESTION_RULES
    ) -> IngestionOutcome:
        """Record a batch of ``[timestamp, value]`` readings; refuse bad ones one by one, ignore repeats."""
        require_status(f"meter {self.id}", self.status, "installed")
        rejected: list[RejectedReading] = []
        parsed = self._parse(readings, int(now.timestamp()) + rules.future_tolerance_s, rejected)
        parsed.sort(key=itemgetter(0))
        accepted, gaps, rollovers, duplicates = self._sequence(parsed, readings, rules, rejected)
        if accepted:
            self._record(
                MeterReadingsRecorded(self.id, self.kind, self.building_id, self.sub_item, accepted, gaps, rollovers)
            )
        rejected.sort(key=attrgetter("position"))
        return IngestionOutcome(len(accepted), duplicates, len(gaps), rejected, gaps)

    def _parse(
        self, readings: Sequence[Any], latest_epoch: int, rejected: list[RejectedReading]
    ) -> list[tuple[int, str, float, int]]:
        """Readings whose own shape is right, as (epoch, canonical timestamp, value, index)."""
        parsed: list[tuple[int, str, float, int]] = []
        limit = self.rollover_limit
        for index, item in enumerate(readings):
            if (type(item) is not list and type(item) is not tuple) or len(item) != 2:
                rejected.append(rejection(index, item, "malformed", "a reading is a [timestamp, value] pair"))
                continue
            moment, value = canonical_time(item[0]), item[1]
            kind = type(value)
            # the common case in one test (NaN and infinities fail the range comparison)
            if (
                moment is not None
                and moment[0] <= latest_epoch
                and (kind is float or kind is int)
                and 0 <= value < limit
            ):
                parsed.append((moment[0], moment[1], value, index))
            elif moment is None:
                rejected.append(rejection(index, item, "malformed_timestamp", "not an ISO-8601 time with offset"))
            elif moment[0] > latest_epoch:
                rejected.append(rejection(index, item, "in_future", "timestamp is in the future"))
            else:
                problem = value_problem(value, limit) or "malformed_value"
                rejected.append(rejection(index, item, problem, f"value must be a number in [0, {limit})"))
        return parsed

    def _sequence(
        self,
        parsed: list[tuple[int, str, float, int]],
        readings: Sequence[Any],
        rules: IngestionRules,
        rejected: list[RejectedReading],
    ) -> tuple[list[list[Any]], list[list[Any]], list[str], int]:
        """Walk the sorted readings along the counter: (accepted, gaps, rollovers, duplicates)."""
        last_epoch, last_value, last_at = self.last_epoch, self.last_value, self.last_at
        multiplier, limit, margin = self.multiplier, self.rollover_limit, rules.rollover_margin
        gap_threshold = rules.expected_interval_s + rules.gap_tolerance_s
        accepted: list[list[Any]] = []
        gaps: list[list[Any]] = []
        rollovers: list[str] = []
        recorded: dict[str, float] | None = None
        duplicates = 0
        for epoch, at, value, index in parsed:
            if epoch <= last_epoch:
                if recorded is None:
                    recorded = {r[0]: r[1] for r in self.recent} | {r[0]: r[1] for r in accepted}
                seen = recorded.get(at)
                if seen == value:
                    duplicates += 1
                elif seen is None:
                    message = f"not after the meter's last reading at {last_at}"
                    rejected.append(rejection(index, readings[index], "before_last_reading", message))
                else:
                    message = f"{seen} is already recorded at this time"
                    rejected.append(rejection(index, readings[index], "conflicts_with_recorded_value", message))
                continue
            # the common case inline; counter_delta only when the counter did not move forward
            delta = value - last_value if value >= last_value else counter_delta(last_value, value, limit, margin)
            if delta is None:
                message = f"counter went back from {last_value} without a replacement or rollover"
                rejected.append(rejection(index, readings[index], "counter_went_backwards", message))
                continue
            if value < last_value:
                rollovers.append(at)
            if epoch - last_epoch > gap_threshold:
                gaps.append([last_at, at, epoch - last_epoch])
            accepted.append([at, value, round(delta * multiplier, 6)])
            if recorded is not None:
                recorded[at] = value
            last_epoch, last_value, last_at = epoch, value, at
        return accepted, gaps, rollovers, duplicates

    def snapshot_state(self) -> dict[str, Any]:
        """The state as JSON-native values; the readings kept are copied shallowly (pairs never change)."""
        state = {k: v for k, v in vars(self).items() if not k.startswith("_") and k not in ("id", "version")}
        state["recent"] = list(self.recent)
        return state

    def restore_state(self, state: dict[str, Any]) -> None:
        """Restore a snapshot as it comes from the store (fresh from JSON: no copy needed)."""
        for key, value in state.items():
            setattr(self, key, value)

    def _on_MeterInstalled(self, event: MeterInstalled) -> None:
        self.status = "installed"
        self.agency_id = event.agency_id
        self.district = event.district
        self.serial_no = event.serial_no
        self.kind = event.kind
        self.unit = event.unit
        self.building_id = event.building_id
        self.sub_item = event.sub_item
        self.multiplier = event.multiplier
        self.rollover_limit = event.rollover_limit
        self.last_at = event.installed_at
        self.last_epoch = epoch_of(event.installed_at)
        self.last_value = event.initial_reading

    def _on_MeterReplaced(self, event: MeterReplaced) -> None:
        self.serial_no = event.new_serial_no
        self.multiplier = event.multiplier
        self.rollover_limit = event.rollover_limit
        self.last_at = event.replaced_at
        self.last_epoch = epoch_of(event.replaced_at)
        self.last_value = event.new_initial_reading

    def _on_MeterReadingsRecorded(self, event: MeterReadingsRecorded) -> None:
        recent = self.recent
        recent.extend([r[0], r[1]] for r in event.readings)
        self.last_at, self.last_value = event.readings[-1][0], event.readings[-1][1]
        self.last_epoch = epoch_of(self.last_at)
        del recent[: bisect_left(recent, [iso_of_epoch(self.last_epoch - DUPLICATE_WINDOW_S)])]
