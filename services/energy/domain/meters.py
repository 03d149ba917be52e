"""Meters (计量器具) and the ingestion of their cumulative readings: the hot path of the service.

A ``Meter`` is a metering point of a building: its device can be replaced and counting goes on. Readings
are cumulative counters sent every five minutes; one call takes a batch of readings of ONE meter (the
service splits a multi-meter batch by meter), rejects bad readings one by one with reasons, ignores
repeated ones, derives the consumption of every interval and records the whole batch as ONE
``MeterReadingsRecorded`` event. The loop works on plain tuples and lists: no object per reading.

Readings normally arrive in time order per meter (a batch may be unsorted; it is sorted first). A reading
older than the last recorded one (a district's buffer sent late, a month re-sent after a partial failure)
is, at any age:

- a duplicate when the meter recorded the same value at that moment (ignored, never refused);
- ``conflicting_reading`` when it recorded another value there (refused, naming both values);
- accepted when it falls inside a gap (an interval longer than expected): it splits the gap, its interval's
  use is taken off the reading that closed the gap and put where it belongs (``LateReadingsRecorded``), so
  the totals of the days and months concerned move and the year's total does not;
- otherwise refused as ``before_last_reading`` (a moment between two close readings that was never read).

The meter keeps its readings of the last day (``DUPLICATE_WINDOW_S``) and its open gaps; a reading older
than that and outside a gap is judged against the readings the service passes in (``history``, from the
meter's own stream: the slow path, taken only for such readings).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from operator import attrgetter, itemgetter
from typing import Any, ClassVar, Final, Self

from services.common.kernel.aggregate import Aggregate
from services.common.kernel.clock import iso_seconds
from services.common.kernel.errors import NotFound, RuleViolation, require_status
from services.common.kernel.events import Payload, register_upcaster

from .base import METER_UNITS, SUB_ITEMS, EnergyEvent, epoch_of, iso_of_epoch, require_not_future
from .readings import (
    DEFAULT_INGESTION_RULES,
    DEFAULT_READING_INTERVAL,
    READING_INTERVALS,
    IngestionOutcome,
    IngestionRules,
    RejectedReading,
    cached_time,
    canonical_time,
    counter_delta,
    rejection,
    rules_for,
    value_problem,
)

DUPLICATE_WINDOW_S: Final = 86_400
"""How long a meter remembers the readings it recorded, so a re-sent batch (a district back-filling a
day twice) is ignored rather than refused."""

MAX_OPEN_GAPS: Final = 256
"""How many open gaps a meter keeps (the newest, by their end): a gap closes, and is dropped, once late
readings leave no part of it longer than expected; beyond this many, the oldest are forgotten so a meter's
state does not grow for ever (a meter offline every other hour for weeks). A late reading inside a
forgotten gap is refused as ``before_last_reading``, as any moment the meter cannot place: 256 gaps reach
back far enough for a district's buffer re-sent after a failure (docs/energy-periods.md)."""


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
    reading_interval: str = DEFAULT_READING_INTERVAL

    schema_version: ClassVar[int] = 2
    """v2 added ``reading_interval`` (how often the meter is read); v1 events read as v2 with ``5min``."""


@register_upcaster("energy", "MeterInstalled", 1)
def _meter_installed_v1_to_v2(payload: Payload) -> Payload:
    return {**payload, "reading_interval": DEFAULT_READING_INTERVAL}


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


@dataclass(frozen=True)
class LateReadingsRecorded(EnergyEvent):
    """Readings older than the meter's last one, each inside a gap, were recorded (docs/domain.md: late data).

    ``readings`` are ``[at, value, consumption]`` in time order, ``consumption`` the use since the reading
    before it; ``adjustments`` are ``[at, consumption]`` to add to the stored reading that closed each gap
    (negative: that use now belongs to the late readings); ``filled`` the ``[from, to]`` gaps that were split
    and ``gaps`` the ``[from, to, seconds]`` parts of them still longer than expected.
    """

    meter_id: str
    kind: str
    building_id: str
    sub_item: str
    readings: list[list[Any]]
    adjustments: list[list[Any]]
    filled: list[list[str]]
    gaps: list[list[Any]]


class UnknownMeter(NotFound):
    """No meter has this id (checked by the service before loading)."""

    code = "unknown_meter"


class UnknownReadingInterval(RuleViolation):
    """The reading interval is not one the platform knows (5min, hourly, daily, monthly)."""

    code = "unknown_reading_interval"


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
        self.reading_interval = DEFAULT_READING_INTERVAL
        self.recent: list[list[Any]] = []
        self.holes: list[list[Any]] = []
        """Open gaps: ``[from_at, from_value, to_at, to_value, multiplier, rollover_limit]``."""

    @classmethod
    def install(
        cls,
        *,
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
        reading_interval: str = DEFAULT_READING_INTERVAL,
    ) -> Self:
        """Install a meter, read every ``reading_interval``; only electricity meters are itemised below a main
        meter."""
        if reading_interval not in READING_INTERVALS:
            raise UnknownReadingInterval(
                f"unknown reading interval {reading_interval}",
                fields={"reading_interval": [f"one of {', '.join(READING_INTERVALS)}"]},
            )
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
                meter_id=meter_id,
                serial_no=serial_no,
                kind=kind,
                unit=METER_UNITS[kind],
                agency_id=agency_id,
                district=district,
                building_id=building_id,
                sub_item=sub_item,
                multiplier=multiplier,
                rollover_limit=rollover_limit,
                initial_reading=initial_reading,
                installed_at=iso_seconds(installed_at),
                reading_interval=reading_interval,
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
                meter_id=self.id,
                old_serial_no=self.serial_no,
                new_serial_no=new_serial_no,
                replaced_at=iso_seconds(replaced_at),
                old_final_reading=old_final_reading,
                final_consumption=round(delta * self.multiplier, 6),
                new_initial_reading=new_initial_reading,
                multiplier=multiplier,
                rollover_limit=rollover_limit,
            )
        )

    def record_readings(
        self,
        readings: Sequence[Any],
        now: datetime,
        rules: IngestionRules = DEFAULT_INGESTION_RULES,
        history: Mapping[str, float] | None = None,
        recorded_since: Callable[[str], Mapping[str, float]] | None = None,
    ) -> IngestionOutcome:
        """Record a batch of ``[timestamp, value]`` readings; refuse bad ones one by one, ignore repeats,
        fill gaps with late readings. ``history`` maps the canonical timestamps of readings the meter
        recorded to their values (see ``history_wanted_from``); or ``recorded_since(moment)`` reads them from
        ``moment`` on, asked only when the batch holds such readings."""
        require_status(f"meter {self.id}", self.status, "installed")
        rules = rules_for(self.reading_interval, rules)
        rejected: list[RejectedReading] = []
        latest_epoch = int(now.timestamp()) + rules.future_tolerance_s
        ordinary = self._ordinary(readings, latest_epoch, rules)
        if ordinary is not None:
            accepted, gaps = ordinary
            if accepted:
                self._record_batch(accepted, gaps, [])
            return IngestionOutcome(len(accepted), 0, len(gaps), rejected, gaps)
        if history is None and recorded_since is not None:
            wanted = self.history_wanted_from(readings)
            history = recorded_since(wanted) if wanted else None
        parsed = self._parse(readings, latest_epoch, rejected)
        parsed.sort(key=itemgetter(0))
        late = [p for p in parsed if p[0] <= self.last_epoch]
        if late:
            parsed = [p for p in parsed if p[0] > self.last_epoch]
        accepted, gaps, rollovers, duplicates = self._sequence(parsed, readings, rules, rejected)
        if accepted:
            self._record_batch(accepted, gaps, rollovers)
        filled = 0
        if late:
            filled, late_duplicates = self._fill(late, readings, rules, rejected, history or {})
            duplicates += late_duplicates
        rejected.sort(key=attrgetter("position"))
        return IngestionOutcome(len(accepted) + filled, duplicates, len(gaps), rejected, gaps)

    def _record_batch(self, accepted: list[list[Any]], gaps: list[list[Any]], rollovers: list[str]) -> None:
        self._record(
            MeterReadingsRecorded(
                meter_id=self.id,
                kind=self.kind,
                building_id=self.building_id,
                sub_item=self.sub_item,
                readings=accepted,
                gaps=gaps,
                rollovers=rollovers,
            )
        )

    def _ordinary(
        self, readings: Sequence[Any], latest_epoch: int, rules: IngestionRules
    ) -> tuple[list[list[Any]], list[list[Any]]] | None:
        """The ordinary batch judged in one pass, as (accepted, gaps); None for any other, which the general
        path (``_parse``, ``_sequence``, ``_fill``) judges from the start.

        Ordinary: every reading a ``[timestamp, value]`` list with a well-formed time, in strictly increasing
        time order after the meter's last reading and not in the future, its value a number at or above the
        one before it and below the counter's limit. Such a batch refuses nothing, repeats nothing, rolls
        nothing over and fills no gap, so the general path would sort nothing and accept every reading with the
        same consumption and gaps: this loop is that path without its per-reading tuples, sort and filters
        (a district's day of 100,000 readings is nearly always ordinary).
        """
        last_epoch, last_value, last_at = self.last_epoch, self.last_value, self.last_at
        multiplier, limit = self.multiplier, self.rollover_limit
        gap_threshold = rules.expected_interval_s + rules.gap_tolerance_s
        accepted: list[list[Any]] = []
        gaps: list[list[Any]] = []
        for item in readings:
            if type(item) is not list or len(item) != 2:
                return None
            raw, value = item
            # canonical_time without its call: a short text through the cache, anything else the general path's
            moment = cached_time(raw) if type(raw) is str and len(raw) <= 40 else None
            kind = type(value)
            # NaN fails the comparison; a value at or above last_value (never below 0) is at least 0
            if moment is None or (kind is not float and kind is not int) or not last_value <= value < limit:
                return None
            epoch, at = moment
            if not last_epoch < epoch <= latest_epoch:
                return None
            if epoch - last_epoch > gap_threshold:
                gaps.append([last_at, at, epoch - last_epoch])
            accepted.append([at, value, round((value - last_value) * multiplier, 6)])
            last_epoch, last_value, last_at = epoch, value, at
        return accepted, gaps

    def history_wanted_from(self, readings: Sequence[Any]) -> str | None:
        """The earliest moment of the batch the meter cannot judge from what it keeps (older than its last
        day of readings and outside its gaps): the service then passes the recorded readings from there
        on as ``history``. None for the ordinary batch."""
        horizon = self.last_epoch - DUPLICATE_WINDOW_S
        wanted: tuple[int, str] | None = None
        for item in readings:
            if type(item) not in (list, tuple) or len(item) != 2:
                continue
            moment = canonical_time(item[0])
            if moment is None or moment[0] >= horizon or self._hole_of(moment[0]) is not None:
                continue
            if wanted is None or moment[0] < wanted[0]:
                wanted = moment
        return None if wanted is None else wanted[1]

    def _hole_of(self, epoch: int) -> list[Any] | None:
        for hole in self.holes:
            if epoch_of(hole[0]) < epoch < epoch_of(hole[2]):
                return hole
        return None

    def _fill(
        self,
        late: list[tuple[int, str, float, int]],
        readings: Sequence[Any],
        rules: IngestionRules,
        rejected: list[RejectedReading],
        history: Mapping[str, float],
    ) -> tuple[int, int]:
        """Judge readings older than the last one: duplicates, conflicts, and gap fills (one event)."""
        known = {r[0]: r[1] for r in self.recent} | {h[0]: h[1] for h in self.holes} | {h[2]: h[3] for h in self.holes}
        known |= dict(history)
        holes = [list(h) for h in self.holes]
        gap_threshold = rules.expected_interval_s + rules.gap_tolerance_s
        inserted: list[list[Any]] = []
        adjustments: dict[str, float] = {}
        filled: list[list[str]] = []
        duplicates = 0
        for epoch, at, value, index in late:
            seen = known.get(at)
            if seen is not None:
                if seen == value:
                    duplicates += 1
                else:
                    message = f"{seen} is already recorded at this time, not {value}"
                    rejected.append(rejection(index, readings[index], "conflicting_reading", message, seen))
                continue
            hole = next((h for h in holes if epoch_of(h[0]) < epoch < epoch_of(h[2])), None)
            if hole is None:
                message = f"not after the meter's last reading at {self.last_at} and not inside a gap"
                rejected.append(rejection(index, readings[index], "before_last_reading", message))
                continue
            from_at, from_value, to_at, to_value, multiplier, limit = hole
            before = counter_delta(from_value, value, limit, rules.rollover_margin)
            after = counter_delta(value, to_value, limit, rules.rollover_margin)
            whole = counter_delta(from_value, to_value, limit, rules.rollover_margin)
            if before is None or after is None or whole is None or abs(before + after - whole) > 1e-9 * max(1, whole):
                message = f"{value} does not lie between {from_value} at {from_at} and {to_value} at {to_at}"
                rejected.append(rejection(index, readings[index], "counter_went_backwards", message))
                continue
            used = round(before * multiplier, 6)
            inserted.append([at, value, used])
            adjustments[to_at] = round(adjustments.get(to_at, 0.0) - used, 6)
            if [from_at, to_at] not in filled and not any(f[1] == to_at for f in filled):
                filled.append([from_at, to_at])
            holes.remove(hole)
            holes += [
                [from_at, from_value, at, value, multiplier, limit],
                [at, value, to_at, to_value, multiplier, limit],
            ]
            known[at] = value
        if not inserted:
            return 0, duplicates
        remaining = sorted(
            [h[0], h[2], epoch_of(h[2]) - epoch_of(h[0])]
            for h in holes
            if h not in self.holes and epoch_of(h[2]) - epoch_of(h[0]) > gap_threshold
        )
        self._record(
            LateReadingsRecorded(
                meter_id=self.id,
                kind=self.kind,
                building_id=self.building_id,
                sub_item=self.sub_item,
                readings=inserted,
                adjustments=[[at, delta] for at, delta in sorted(adjustments.items())],
                filled=sorted(filled),
                gaps=remaining,
            )
        )
        return len(inserted), duplicates

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
                    message = f"{seen} is already recorded at this time, not {value}"
                    rejected.append(rejection(index, readings[index], "conflicting_reading", message, seen))
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
        self.reading_interval = event.reading_interval

    def _on_MeterReplaced(self, event: MeterReplaced) -> None:
        self.serial_no = event.new_serial_no
        self.multiplier = event.multiplier
        self.rollover_limit = event.rollover_limit
        self.last_at = event.replaced_at
        self.last_epoch = epoch_of(event.replaced_at)
        self.last_value = event.new_initial_reading

    def _on_MeterReadingsRecorded(self, event: MeterReadingsRecorded) -> None:
        if event.gaps:
            ends = {gap[1] for gap in event.gaps}
            previous = [self.last_at, self.last_value]
            for reading in event.readings:
                if reading[0] in ends:
                    self.holes.append([*previous, reading[0], reading[1], self.multiplier, self.rollover_limit])
                previous = [reading[0], reading[1]]
            self.holes = bounded_gaps(self.holes)
        recent = self.recent
        recent += [r[:2] for r in event.readings]  # [at, value]
        self.last_at, self.last_value = event.readings[-1][0], event.readings[-1][1]
        self.last_epoch = epoch_of(self.last_at)
        del recent[: bisect_left(recent, [iso_of_epoch(self.last_epoch - DUPLICATE_WINDOW_S)])]

    def _on_LateReadingsRecorded(self, event: LateReadingsRecorded) -> None:
        values = {r[0]: r[1] for r in event.readings}
        split = {tuple(f) for f in event.filled}
        kept, parts = [], []
        for hole in self.holes:
            if (hole[0], hole[2]) in split:
                values |= {hole[0]: hole[1], hole[2]: hole[3]}
                parts.append(hole)
            else:
                kept.append(hole)
        for start, end, _ in event.gaps:
            origin = next(h for h in parts if h[0] <= start and end <= h[2])
            kept.append([start, values[start], end, values[end], origin[4], origin[5]])
        self.holes = bounded_gaps(kept)
        horizon = iso_of_epoch(self.last_epoch - DUPLICATE_WINDOW_S)
        fresh = [[r[0], r[1]] for r in event.readings if r[0] >= horizon]
        if fresh:
            self.recent = sorted(self.recent + fresh)


def bounded_gaps(holes: list[list[Any]], limit: int = MAX_OPEN_GAPS) -> list[list[Any]]:
    """The open gaps a meter keeps: at most ``limit``, the newest by their end (``MAX_OPEN_GAPS``)."""
    if len(holes) <= limit:
        return holes
    return sorted(holes, key=lambda hole: epoch_of(hole[2]))[-limit:]
