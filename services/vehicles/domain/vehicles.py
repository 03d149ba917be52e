"""The official vehicle (公务用车): registration, energy and cost records with their anomaly checks, the
odometer, sealing for holidays (封存), trips as the vehicle sees them, and disposal (处置).

One stream per vehicle. Its costs are events of its own stream (``costs.py``), so the checks that need the
vehicle's history — the odometer never going back, consumption from refuel to refuel — decide on the state
the stream holds, never on a read model.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import ClassVar, Final, Self

from services.common.kernel.aggregate import Aggregate
from services.common.kernel.clock import CHINA_STANDARD_TIME
from services.common.kernel.errors import AlreadyExists, RuleViolation, require_positive
from services.common.kernel.events import register_fen_upcaster
from services.common.kernel.facts import fact_day

from .anomalies import (
    DEFAULT_ANOMALY_RULES,
    AnomalyNotOpen,
    AnomalyRules,
    FuelConsumptionAboveNorm,
    FuelConsumptionMeasured,
    OdometerRollbackDetected,
    RefuelExceededCapacity,
    RepairOutlier,
    RepairOutlierFlagged,
    VehicleAnomalyResolved,
    above_norm,
    anomaly_id,
    exceeds_capacity,
    per_100km,
)
from .base import (
    ACQUISITION_KINDS,
    CARRIER_UNITS,
    ENERGY_TYPES,
    FUELS,
    USE_CATEGORIES,
    VehicleBusy,
    VehicleIsDisposed,
    VehicleIsSealed,
    VehiclesEvent,
    WrongEnergyCarrier,
    carriers_of,
    is_new_energy,
    norm_carrier,
    norm_unit,
)
from .costs import EXPENSE_KINDS, REPAIR_KINDS, ChargingRecorded, ExpenseRecorded, FuelRecorded, RepairRecorded
from .plates import validate_plate

DISPOSAL_METHODS: Final = ("auction", "scrap", "transfer")
"""How a vehicle leaves the fleet: 拍卖 (through the public resource trading centre), 报废, 划转."""

VEHICLE_STATUSES: Final = ("in_service", "disposed")
"""Stored statuses; "sealed" is a period a vehicle in service is in (see ``Vehicle.seal_covering``)."""


@dataclass(frozen=True)
class VehicleRegistered(VehiclesEvent):
    """A vehicle entered an agency's fleet, with what its anomaly checks measure it against."""

    vehicle_id: str
    plate: str
    agency_id: str
    district: str
    energy_type: str
    new_energy: bool
    use_category: str
    model: str
    acquisition_kind: str
    acquired_on: str
    replaces_vehicle_id: str | None
    norm_per_100km: float
    norm_unit: str
    tank_capacity: float | None
    battery_capacity_kwh: float | None
    odometer_km: float


@dataclass(frozen=True)
class VehicleSealed(VehiclesEvent):
    """The vehicle is sealed (封存) for a period, e.g. a public holiday: it is neither dispatched nor driven."""

    vehicle_id: str
    agency_id: str
    seal_id: str
    sealed_from: str
    sealed_until: str
    reason: str


@dataclass(frozen=True)
class VehicleUnsealed(VehiclesEvent):
    """A seal ended early: the vehicle may be used from ``unsealed_on``."""

    vehicle_id: str
    agency_id: str
    seal_id: str
    unsealed_on: str


@dataclass(frozen=True)
class VehicleDisposed(VehiclesEvent):
    """The vehicle was disposed of (auctioned with its proceeds, scrapped or transferred) and left the fleet."""

    schema_version: ClassVar[int] = 2
    legacy_cents: ClassVar[dict[str, str]] = {"proceeds_cents": "proceeds_fen"}

    vehicle_id: str
    agency_id: str
    district: str
    plate: str
    method: str
    proceeds_fen: int
    disposed_on: str
    reference: str


@dataclass(frozen=True)
class VehicleDepartedOnTrip(VehiclesEvent):
    """The vehicle left on a trip with this odometer reading."""

    vehicle_id: str
    trip_id: str
    odometer_km: float
    started_at: str


@dataclass(frozen=True)
class OdometerReplaced(VehiclesEvent):
    """The vehicle's odometer (its instrument) was replaced: readings go on from the new one's."""

    vehicle_id: str
    agency_id: str
    replacement_id: str
    old_reading_km: float
    new_reading_km: float
    replaced_on: str
    reason: str


@dataclass(frozen=True)
class VehicleBookedForTrip(VehiclesEvent):
    """The vehicle was dispatched to a trip: it is held for the trip's planned time."""

    vehicle_id: str
    trip_id: str
    planned_start: str
    planned_end: str


@dataclass(frozen=True)
class VehicleBookingReleased(VehiclesEvent):
    """The trip the vehicle was held for was called off: its planned time is free again."""

    vehicle_id: str
    trip_id: str
    reason: str


@dataclass(frozen=True)
class VehicleReturnedFromTrip(VehiclesEvent):
    """The vehicle came back from a trip with this odometer reading."""

    vehicle_id: str
    trip_id: str
    odometer_km: float
    distance_km: float
    finished_at: str


class CapacityRequired(RuleViolation):
    """A vehicle that takes a fuel needs its tank capacity, an electric one its battery capacity."""

    code = "capacity_required"


class DuplicateRecord(AlreadyExists):
    """A fuel, charging, repair, expense or odometer-replacement record with this id is already on the vehicle."""

    code = "duplicate_record"


class NotOnThisTrip(RuleViolation):
    """The vehicle is not on the trip named."""

    code = "not_on_this_trip"


class VehicleDoubleBooked(VehicleBusy):
    """The vehicle is held for another trip whose planned time overlaps this one's: a conflict with another
    record (409, as the README promises), not invalid input — it goes away when that trip is cancelled."""

    code = "vehicle_double_booked"
    http_status = 409


class SealNotFound(RuleViolation):
    """The vehicle has no seal with this id that has not ended."""

    code = "seal_not_found"


def local_day(moment: str) -> date:
    """The Beijing-time date of an ISO-8601 datetime with offset."""
    return datetime.fromisoformat(moment).astimezone(CHINA_STANDARD_TIME).date()


def _day_of(moment: str) -> str:
    """An ISO date as is, or the Beijing-time date of an ISO datetime."""
    return moment if len(moment) == 10 else local_day(moment).isoformat()


class Vehicle(Aggregate):
    """One official vehicle of an agency."""

    stream_type: ClassVar[str] = "Vehicle"

    def _init_state(self) -> None:
        self.plate = ""
        self.energy_type = ""
        self.use_category = ""
        self.acquisition_kind = ""
        self.acquired_on = ""
        self.status = ""
        self.norm_per_100km = 0.0
        self.tank_capacity: float | None = None
        self.battery_capacity_kwh: float | None = None
        self.odometer_km = 0.0
        self.active_trip: str | None = None
        self.bookings: dict[str, list[str]] = {}  # trip id → [planned start, planned end] (ISO datetimes)
        self.seals: dict[str, list[str]] = {}  # seal id → [first day, last day] (ISO dates, inclusive)
        self.record_ids: list[str] = []
        self.measure_from_km: float | None = None  # consumption window: odometer at its opening fill-up
        self.measure_quantity = 0.0  # the norm carrier bought since then
        self.open_anomalies: dict[str, str] = {}  # anomaly id → kind
        self.flagged_repairs: list[str] = []  # "metric:period" already flagged
        self.disposed_on: str | None = None

    # -- registration --------------------------------------------------------------------------------

    @classmethod
    def register(
        cls,
        *,
        vehicle_id: str,
        plate: str,
        agency_id: str,
        district: str,
        energy_type: str,
        use_category: str,
        model: str,
        acquisition_kind: str,
        acquired_on: str,
        norm_per_100km: float,
        tank_capacity: float | None = None,
        battery_capacity_kwh: float | None = None,
        odometer_km: float = 0.0,
        replaces_vehicle_id: str | None = None,
        today: date | None = None,
    ) -> Self:
        """Register a vehicle: a valid plate that fits its energy type, and the capacities its carriers need.
        ``acquired_on`` may be long past (a fleet brought in), never after ``today`` (the service always gives it)."""
        if today is not None:
            fact_day("acquired_on", date.fromisoformat(acquired_on), today)
        _one_of("energy_type", energy_type, ENERGY_TYPES)
        _one_of("use_category", use_category, USE_CATEGORIES)
        _one_of("acquisition_kind", acquisition_kind, ACQUISITION_KINDS)
        if (acquisition_kind == "replacement") != (replaces_vehicle_id is not None):
            raise RuleViolation(
                "a replacement names the vehicle it replaces, and only a replacement does",
                fields={"replaces_vehicle_id": ["required for a replacement, and only for one"]},
            )
        normal = validate_plate(plate, energy_type)
        require_positive("norm_per_100km", norm_per_100km)
        carriers = carriers_of(energy_type)
        if any(c in FUELS for c in carriers) and not tank_capacity:
            raise CapacityRequired(
                "a vehicle that takes fuel needs its tank capacity", fields={"tank_capacity": ["required"]}
            )
        if "electricity" in carriers and not battery_capacity_kwh:
            raise CapacityRequired(
                "an electric vehicle needs its battery capacity", fields={"battery_capacity_kwh": ["required"]}
            )
        vehicle = cls(vehicle_id)
        vehicle._record(
            VehicleRegistered(
                vehicle_id=vehicle_id,
                plate=normal,
                agency_id=agency_id,
                district=district,
                energy_type=energy_type,
                new_energy=is_new_energy(energy_type),
                use_category=use_category,
                model=model,
                acquisition_kind=acquisition_kind,
                acquired_on=acquired_on,
                replaces_vehicle_id=replaces_vehicle_id,
                norm_per_100km=norm_per_100km,
                norm_unit=norm_unit(energy_type),
                tank_capacity=tank_capacity if any(c in FUELS for c in carriers) else None,
                battery_capacity_kwh=battery_capacity_kwh if "electricity" in carriers else None,
                odometer_km=odometer_km,
            )
        )
        return vehicle

    # -- energy and costs ----------------------------------------------------------------------------

    def record_fuel(
        self,
        record_id: str,
        fuel: str,
        quantity: float,
        amount_fen: int,
        station: str,
        designated: bool,
        odometer_km: float | None,
        refuelled_at: str,
        rules: AnomalyRules = DEFAULT_ANOMALY_RULES,
    ) -> list[str]:
        """A refuel (加油, 加氢); answers the anomalies it raised (larger than the tank, odometer back,
        consumption over the norm)."""
        self._require_record(record_id, refuelled_at, "quantity", quantity)
        if fuel not in FUELS or fuel not in carriers_of(self.energy_type):
            raise WrongEnergyCarrier(
                f"a {self.energy_type} vehicle does not take {fuel}",
                fields={"fuel": [f"the vehicle takes {', '.join(carriers_of(self.energy_type))}"]},
            )
        unit = CARRIER_UNITS[fuel]
        self._record(
            FuelRecorded(
                vehicle_id=self.id,
                agency_id=str(self.agency_id),
                district=str(self.district),
                record_id=record_id,
                energy_kind=fuel,
                quantity=quantity,
                unit=unit,
                amount_fen=amount_fen,
                station=station,
                designated=designated,
                odometer_km=odometer_km,
                refuelled_at=refuelled_at,
            )
        )
        capacity = float(self.tank_capacity or 0)
        return self._after_energy(
            record_id=record_id,
            carrier=fuel,
            quantity=quantity,
            capacity=capacity,
            tolerance=rules.tank_tolerance,
            odometer_km=odometer_km,
            rules=rules,
            at=refuelled_at,
        )

    def record_charging(
        self,
        record_id: str,
        quantity_kwh: float,
        amount_fen: int,
        station: str,
        designated: bool,
        odometer_km: float | None,
        charged_at: str,
        rules: AnomalyRules = DEFAULT_ANOMALY_RULES,
    ) -> list[str]:
        """A charge (充电); answers the anomalies it raised."""
        self._require_record(record_id, charged_at, "quantity", quantity_kwh)
        if "electricity" not in carriers_of(self.energy_type):
            raise WrongEnergyCarrier(
                f"a {self.energy_type} vehicle is not charged", fields={"vehicle_id": ["not an electric vehicle"]}
            )
        self._record(
            ChargingRecorded(
                vehicle_id=self.id,
                agency_id=str(self.agency_id),
                district=str(self.district),
                record_id=record_id,
                energy_kind="electricity",
                quantity=quantity_kwh,
                unit="kWh",
                amount_fen=amount_fen,
                station=station,
                designated=designated,
                odometer_km=odometer_km,
                charged_at=charged_at,
            )
        )
        capacity = float(self.battery_capacity_kwh or 0)
        return self._after_energy(
            record_id=record_id,
            carrier="electricity",
            quantity=quantity_kwh,
            capacity=capacity,
            tolerance=rules.charging_loss_allowance,
            odometer_km=odometer_km,
            rules=rules,
            at=charged_at,
        )

    def record_repair(
        self,
        record_id: str,
        kind: str,
        vendor: str,
        designated: bool,
        amount_fen: int,
        description: str,
        odometer_km: float | None,
        occurred_on: str,
    ) -> list[str]:
        """Repair or maintenance paid for (at a designated workshop, 定点维修, or not)."""
        _one_of("kind", kind, REPAIR_KINDS)
        self._require_record(record_id, occurred_on, "amount_fen", amount_fen)
        self._record(
            RepairRecorded(
                vehicle_id=self.id,
                agency_id=str(self.agency_id),
                district=str(self.district),
                record_id=record_id,
                kind=kind,
                vendor=vendor,
                designated=designated,
                amount_fen=amount_fen,
                description=description,
                odometer_km=odometer_km,
                occurred_on=occurred_on,
            )
        )
        return self._check_odometer(odometer_km, "repair", record_id, occurred_on)

    def record_expense(
        self,
        record_id: str,
        kind: str,
        payee: str,
        designated: bool | None,
        amount_fen: int,
        occurred_on: str,
        covers_from: str | None = None,
        covers_to: str | None = None,
        today: date | None = None,
    ) -> None:
        """Insurance (at a designated insurer or not), rental or tolls; a premium or rent may cover a period.
        Paid on ``occurred_on``, never after ``today`` (the service always gives it); the cover period is planned
        and may run ahead, within 1900..2100."""
        _one_of("kind", kind, EXPENSE_KINDS)
        if today is not None:
            fact_day("occurred_on", date.fromisoformat(occurred_on), today)
            for name, day in (("covers_from", covers_from), ("covers_to", covers_to)):
                if day is not None:
                    fact_day(name, date.fromisoformat(day), today, planned=True)
        self._require_record(record_id, occurred_on, "amount_fen", amount_fen)
        if (covers_from is None) != (covers_to is None) or (covers_from and covers_to and covers_to < covers_from):
            raise RuleViolation(
                "a covered period needs both ends, the last not before the first",
                fields={"covers_to": ["give both covers_from and covers_to, covers_to >= covers_from"]},
            )
        self._record(
            ExpenseRecorded(
                vehicle_id=self.id,
                agency_id=str(self.agency_id),
                district=str(self.district),
                record_id=record_id,
                kind=kind,
                payee=payee,
                designated=designated,
                amount_fen=amount_fen,
                occurred_on=occurred_on,
                covers_from=covers_from,
                covers_to=covers_to,
            )
        )

    def _require_record(self, record_id: str, when: str, field: str, value: float) -> None:
        if self.status == "disposed" and self.disposed_on is not None and _day_of(when) > self.disposed_on:
            raise VehicleIsDisposed(f"vehicle {self.id} was disposed on {self.disposed_on}")
        if record_id in self.record_ids:
            raise DuplicateRecord(
                f"record {record_id} is already on vehicle {self.id}", fields={"record_id": ["duplicate"]}
            )
        require_positive(field, value)

    def _is_rollback(self, odometer_km: float | None) -> bool:
        return odometer_km is not None and odometer_km < self.odometer_km

    def _check_odometer(self, odometer_km: float | None, source: str, source_id: str, at: str) -> list[str]:
        """After a record was applied (a lower reading never lowers the odometer): a reading below the vehicle's
        last one is an anomaly with both readings."""
        if odometer_km is None or odometer_km >= self.odometer_km:
            return []
        aid = anomaly_id("odometer_rollback", self.id, source_id)
        self._record(
            OdometerRollbackDetected(
                anomaly_id=aid,
                vehicle_id=self.id,
                agency_id=str(self.agency_id),
                district=str(self.district),
                last_km=self.odometer_km,
                reported_km=odometer_km,
                source=source,
                source_id=source_id,
                detected_at=at,
            )
        )
        return [aid]

    def _after_energy(
        self,
        record_id: str,
        carrier: str,
        quantity: float,
        capacity: float,
        tolerance: float,
        odometer_km: float | None,
        rules: AnomalyRules,
        at: str,
    ) -> list[str]:
        rollback = self._is_rollback(odometer_km)
        raised = self._check_odometer(odometer_km, "fuel" if carrier in FUELS else "charging", record_id, at)
        if capacity and exceeds_capacity(quantity, capacity, tolerance):
            aid = anomaly_id("refuel_above_capacity", self.id, record_id)
            self._record(
                RefuelExceededCapacity(
                    anomaly_id=aid,
                    vehicle_id=self.id,
                    agency_id=str(self.agency_id),
                    district=str(self.district),
                    record_id=record_id,
                    energy_kind=carrier,
                    quantity=quantity,
                    unit=CARRIER_UNITS[carrier],
                    capacity=capacity,
                    tolerance=tolerance,
                    detected_at=at,
                )
            )
            raised.append(aid)
        if not rollback and odometer_km is not None:
            raised += self._measure(record_id, carrier, odometer_km, rules, at)
        return raised

    def _measure(self, record_id: str, carrier: str, odometer_km: float, rules: AnomalyRules, at: str) -> list[str]:
        """Close the consumption window when it spans at least ``min_measure_km``; flag it when over the norm."""
        start = self.measure_from_km
        if carrier != norm_carrier(self.energy_type) or start is None or odometer_km - start < rules.min_measure_km:
            return []
        unit, quantity = CARRIER_UNITS[carrier], round(self.measure_quantity, 3)
        measured = per_100km(quantity, odometer_km - start)
        common = (
            self.id,
            str(self.agency_id),
            str(self.district),
            carrier,
            unit,
            start,
            odometer_km,
            quantity,
            measured,
        )
        self._record(FuelConsumptionMeasured(*common, self.norm_per_100km, at))
        if not above_norm(measured, self.norm_per_100km, rules.consumption_factor):
            return []
        aid = anomaly_id("consumption_above_norm", self.id, record_id)
        self._record(FuelConsumptionAboveNorm(aid, *common, self.norm_per_100km, rules.consumption_factor, at))
        return [aid]

    def replace_odometer(
        self, replacement_id: str, old_reading_km: float, new_reading_km: float, replaced_on: str, reason: str
    ) -> None:
        """Replace the odometer (仪表更换): the old one's last reading is not below the vehicle's last, and readings
        go on from the new one's, so a lower reading after it is no rollback; the consumption window restarts
        (fuel bought on the old scale is not measured against the new one). Never during a trip."""
        self._require_in_service()
        self._require_not_on_trip()
        if replacement_id in self.record_ids:
            raise DuplicateRecord(f"vehicle {self.id} already has a record {replacement_id}")
        if old_reading_km < self.odometer_km:
            raise RuleViolation(
                f"the old odometer's last reading {old_reading_km:g} km is below the vehicle's last {self.odometer_km:g} km",
                fields={"old_reading_km": [f"must be >= {self.odometer_km:g}"]},
            )
        if new_reading_km < 0:
            raise RuleViolation("an odometer reads 0 km or more", fields={"new_reading_km": ["must be >= 0"]})
        self._record(
            OdometerReplaced(
                vehicle_id=self.id,
                agency_id=str(self.agency_id),
                replacement_id=replacement_id,
                old_reading_km=old_reading_km,
                new_reading_km=new_reading_km,
                replaced_on=replaced_on,
                reason=reason,
            )
        )

    # -- sealing, trips, disposal --------------------------------------------------------------------

    def seal(self, seal_id: str, sealed_from: str, sealed_until: str, reason: str) -> None:
        """Seal the vehicle (封存) for the days ``sealed_from`` to ``sealed_until``, both included."""
        self._require_in_service()
        if sealed_until < sealed_from:
            raise RuleViolation(
                "a seal ends on or after its first day", fields={"sealed_until": ["before sealed_from"]}
            )
        if seal_id in self.seals:
            raise AlreadyExists(f"seal {seal_id} exists on vehicle {self.id}", fields={"seal_id": ["duplicate"]})
        self._record(
            VehicleSealed(
                vehicle_id=self.id,
                agency_id=str(self.agency_id),
                seal_id=seal_id,
                sealed_from=sealed_from,
                sealed_until=sealed_until,
                reason=reason,
            )
        )

    def unseal(self, seal_id: str, unsealed_on: str) -> None:
        """End a seal early: the vehicle may be used from ``unsealed_on``."""
        period = self.seals.get(seal_id)
        if period is None or period[1] < unsealed_on:
            raise SealNotFound(f"vehicle {self.id} has no seal {seal_id} in force on or after {unsealed_on}")
        self._record(VehicleUnsealed(self.id, str(self.agency_id), seal_id, unsealed_on))

    def seal_covering(self, first_day: str, last_day: str) -> str | None:
        """The id of a seal covering any day from ``first_day`` to ``last_day`` (ISO dates), or None."""
        for seal_id, (start, end) in sorted(self.seals.items()):
            if start <= last_day and first_day <= end:
                return seal_id
        return None

    def require_dispatchable(self, first_day: str, last_day: str) -> None:
        """Refuse a disposed vehicle, or one sealed on any day of the trip (a sealed vehicle is not dispatched)."""
        self._require_in_service()
        seal_id = self.seal_covering(first_day, last_day)
        if seal_id is not None:
            start, end = self.seals[seal_id]
            raise VehicleIsSealed(
                f"vehicle {self.plate} is sealed from {start} to {end}",
                fields={"vehicle_id": [f"sealed {start} to {end}"]},
                details={"seal_id": seal_id, "sealed_from": start, "sealed_until": end},
            )

    def book(self, trip_id: str, planned_start: str, planned_end: str) -> None:
        """Hold the vehicle for a trip it is dispatched to: never a disposed vehicle, one sealed on any day of the
        trip, or one held for another trip whose planned time overlaps (it cannot be in two places at once)."""
        self.require_dispatchable(local_day(planned_start).isoformat(), local_day(planned_end).isoformat())
        start, end = datetime.fromisoformat(planned_start), datetime.fromisoformat(planned_end)
        for other, (other_start, other_end) in sorted(self.bookings.items()):
            if (
                other != trip_id
                and datetime.fromisoformat(other_start) < end
                and start < datetime.fromisoformat(other_end)
            ):
                raise VehicleDoubleBooked(
                    f"vehicle {self.plate} is dispatched to trip {other} from {other_start} to {other_end}",
                    fields={"vehicle_id": [f"dispatched to trip {other} at an overlapping time"]},
                    details={"trip_id": other, "planned_start": other_start, "planned_end": other_end},
                )
        self._record(VehicleBookedForTrip(self.id, trip_id, planned_start, planned_end))

    def release(self, trip_id: str, reason: str) -> None:
        """Free the time the vehicle was held for a trip that was called off (nothing when it was not held)."""
        if trip_id in self.bookings:
            self._record(VehicleBookingReleased(self.id, trip_id, reason))

    def depart(self, trip_id: str, odometer_km: float, started_at: str) -> list[str]:
        """Leave on a trip: never while on another or sealed; an odometer below the last reading is an anomaly."""
        day = local_day(started_at).isoformat()
        self.require_dispatchable(day, day)
        self._require_not_on_trip(but=trip_id)
        self._record(VehicleDepartedOnTrip(self.id, trip_id, odometer_km, started_at))
        return self._check_odometer(odometer_km, "trip_start", f"{trip_id}.start", started_at)

    def return_from(self, trip_id: str, odometer_km: float, distance_km: float, finished_at: str) -> list[str]:
        """Come back from the trip the vehicle is on."""
        if self.active_trip != trip_id:
            raise NotOnThisTrip(
                f"vehicle {self.id} is not on trip {trip_id}", details={"active_trip": self.active_trip}
            )
        self._record(VehicleReturnedFromTrip(self.id, trip_id, odometer_km, distance_km, finished_at))
        return self._check_odometer(odometer_km, "trip_finish", f"{trip_id}.finish", finished_at)

    def dispose(self, method: str, proceeds_fen: int, disposed_on: str, reference: str) -> None:
        """Dispose of the vehicle: an auction (公车拍卖) records its proceeds; never while on a trip."""
        _one_of("method", method, DISPOSAL_METHODS)
        self._require_in_service()
        self._require_not_on_trip()
        if method == "auction" and proceeds_fen <= 0:
            raise RuleViolation("an auction has proceeds", fields={"proceeds_fen": ["must be > 0 for an auction"]})
        if proceeds_fen < 0:
            raise RuleViolation("proceeds cannot be negative", fields={"proceeds_fen": ["must be >= 0"]})
        self._record(
            VehicleDisposed(
                vehicle_id=self.id,
                agency_id=str(self.agency_id),
                district=str(self.district),
                plate=self.plate,
                method=method,
                proceeds_fen=proceeds_fen,
                disposed_on=disposed_on,
                reference=reference,
            )
        )

    # -- anomalies -----------------------------------------------------------------------------------

    def flag_repair_outlier(self, outlier: RepairOutlier, period: str, flagged_on: str) -> str | None:
        """Record that the vehicle's repairs of ``period`` are far above the fleet's (once per metric and period)."""
        key = f"{outlier.metric}:{period}"
        if key in self.flagged_repairs:
            return None
        aid = anomaly_id("repair_outlier", self.id, key)
        self._record(
            RepairOutlierFlagged(
                anomaly_id=aid,
                vehicle_id=self.id,
                agency_id=str(self.agency_id),
                district=str(self.district),
                metric=outlier.metric,
                period=period,
                value=outlier.value,
                fleet_median=outlier.fleet_median,
                fleet_mad=outlier.fleet_mad,
                robust_z=outlier.robust_z,
                threshold=outlier.threshold,
                fleet_size=outlier.fleet_size,
                flagged_on=flagged_on,
            )
        )
        return aid

    def resolve_anomaly(self, anomaly: str, note: str, resolved_on: str) -> None:
        """Close an open anomaly with what was found (a receipt error, a leak repaired, an explanation)."""
        if anomaly not in self.open_anomalies:
            raise AnomalyNotOpen(
                f"vehicle {self.id} has no open anomaly {anomaly}", fields={"anomaly_id": ["not open"]}
            )
        kind = self.open_anomalies[anomaly]
        self._record(
            VehicleAnomalyResolved(
                anomaly_id=anomaly,
                vehicle_id=self.id,
                agency_id=str(self.agency_id),
                kind=kind,
                note=note,
                resolved_on=resolved_on,
            )
        )

    def _require_not_on_trip(self, but: str | None = None) -> None:
        """Refuse while the vehicle is on a trip (other than ``but``)."""
        if self.active_trip is not None and self.active_trip != but:
            raise VehicleBusy(
                f"vehicle {self.plate} is on trip {self.active_trip}", details={"trip_id": self.active_trip}
            )

    def _require_in_service(self) -> None:
        if self.status == "disposed":
            raise VehicleIsDisposed(f"vehicle {self.plate} was disposed on {self.disposed_on}")

    # -- state ---------------------------------------------------------------------------------------

    def _on_VehicleRegistered(self, event: VehicleRegistered) -> None:
        self.plate, self.agency_id, self.district = event.plate, event.agency_id, event.district
        self.energy_type, self.use_category = event.energy_type, event.use_category
        self.acquisition_kind, self.acquired_on = event.acquisition_kind, event.acquired_on
        self.norm_per_100km = event.norm_per_100km
        self.tank_capacity, self.battery_capacity_kwh = event.tank_capacity, event.battery_capacity_kwh
        self.odometer_km = event.odometer_km
        self.status = "in_service"

    def _count_energy(self, record_id: str, carrier: str, quantity: float, odometer_km: float | None) -> None:
        """Keep the consumption window: a first valid reading opens it, later refuels fill it."""
        self.record_ids.append(record_id)
        valid = odometer_km is not None and odometer_km >= self.odometer_km
        if carrier == norm_carrier(self.energy_type):
            if self.measure_from_km is None:
                if valid:
                    self.measure_from_km, self.measure_quantity = odometer_km, 0.0
            else:
                self.measure_quantity += quantity
        self._read_odometer(odometer_km)

    def _read_odometer(self, odometer_km: float | None) -> None:
        if odometer_km is not None and odometer_km > self.odometer_km:
            self.odometer_km = odometer_km

    def _on_FuelRecorded(self, event: FuelRecorded) -> None:
        self._count_energy(event.record_id, event.energy_kind, event.quantity, event.odometer_km)

    def _on_ChargingRecorded(self, event: ChargingRecorded) -> None:
        self._count_energy(event.record_id, event.energy_kind, event.quantity, event.odometer_km)

    def _on_RepairRecorded(self, event: RepairRecorded) -> None:
        self.record_ids.append(event.record_id)
        self._read_odometer(event.odometer_km)

    def _on_ExpenseRecorded(self, event: ExpenseRecorded) -> None:
        self.record_ids.append(event.record_id)

    def _on_FuelConsumptionMeasured(self, event: FuelConsumptionMeasured) -> None:
        self.measure_from_km, self.measure_quantity = event.to_km, 0.0

    def _on_FuelConsumptionAboveNorm(self, event: FuelConsumptionAboveNorm) -> None:
        self.open_anomalies[event.anomaly_id] = "consumption_above_norm"

    def _on_RefuelExceededCapacity(self, event: RefuelExceededCapacity) -> None:
        self.open_anomalies[event.anomaly_id] = "refuel_above_capacity"

    def _on_OdometerRollbackDetected(self, event: OdometerRollbackDetected) -> None:
        self.open_anomalies[event.anomaly_id] = "odometer_rollback"

    def _on_RepairOutlierFlagged(self, event: RepairOutlierFlagged) -> None:
        self.open_anomalies[event.anomaly_id] = "repair_outlier"
        self.flagged_repairs.append(f"{event.metric}:{event.period}")

    def _on_VehicleAnomalyResolved(self, event: VehicleAnomalyResolved) -> None:
        del self.open_anomalies[event.anomaly_id]

    def _on_VehicleSealed(self, event: VehicleSealed) -> None:
        self.seals[event.seal_id] = [event.sealed_from, event.sealed_until]

    def _on_VehicleUnsealed(self, event: VehicleUnsealed) -> None:
        start, _ = self.seals[event.seal_id]
        if event.unsealed_on <= start:
            del self.seals[event.seal_id]
        else:
            last = date.fromordinal(date.fromisoformat(event.unsealed_on).toordinal() - 1).isoformat()
            self.seals[event.seal_id] = [start, last]

    def _on_VehicleDepartedOnTrip(self, event: VehicleDepartedOnTrip) -> None:
        self.active_trip = event.trip_id
        self._read_odometer(event.odometer_km)

    def _on_OdometerReplaced(self, event: OdometerReplaced) -> None:
        self.record_ids.append(event.replacement_id)
        self.odometer_km = event.new_reading_km
        self.measure_from_km, self.measure_quantity = None, 0.0

    def _on_VehicleBookedForTrip(self, event: VehicleBookedForTrip) -> None:
        self.bookings[event.trip_id] = [event.planned_start, event.planned_end]

    def _on_VehicleBookingReleased(self, event: VehicleBookingReleased) -> None:
        self.bookings.pop(event.trip_id, None)

    def _on_VehicleReturnedFromTrip(self, event: VehicleReturnedFromTrip) -> None:
        self.active_trip = None
        self.bookings.pop(event.trip_id, None)
        self._read_odometer(event.odometer_km)

    def _on_VehicleDisposed(self, event: VehicleDisposed) -> None:
        self.status, self.disposed_on = "disposed", event.disposed_on


def _one_of(field: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise RuleViolation(
            f"{field} must be one of {', '.join(allowed)}", fields={field: [f"one of {', '.join(allowed)}"]}
        )


register_fen_upcaster(VehicleDisposed, 1)
