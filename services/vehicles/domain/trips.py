"""Trips (用车): request → dispatch → start → finish, GPS tracks in batches, and the flags on use.

City-wide dispatch (市域一体化保障): a trip of one district may be served by a vehicle of another. The trip
stays the requesting district's stream and names the vehicle's district; both districts see it, and both may
write it (``shared_districts``): the requester asks and cancels, the vehicle's district (its driver and its
telematics) reports start, finish and GPS.

Flags, each an event with its evidence and open until resolved with a note:

- use on a public holiday, a weekend or outside working hours (节假日、八小时外用车) without a recorded
  approval, judged in Beijing time on the actual start and finish by ``services.common.kernel.holidays``;
- a finished trip with no GPS point once a grace period has passed (无轨迹出车).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from itertools import pairwise
from typing import ClassVar, Final, Self

from services.common.kernel.aggregate import Aggregate
from services.common.kernel.clock import CHINA_STANDARD_TIME, iso_as_given
from services.common.kernel.errors import AlreadyExists, RuleViolation, require_status
from services.common.kernel.events import Payload, register_upcaster
from services.common.kernel.holidays import day_kind

from .base import VehiclesEvent

TRIP_STATUSES: Final = ("requested", "dispatched", "in_progress", "completed", "cancelled")
"""申请, 已派车, 出车中, 已完成, 已取消."""

TRIP_FLAGS: Final = ("outside_hours", "without_gps")
"""What a trip can be flagged for: 非工作时间用车未审批, 无GPS轨迹."""

GPS_WINDOW_MARGIN: Final = timedelta(minutes=15)
"""GPS points may be up to this long before the start or after the finish (terminal clocks drift)."""

MAX_GPS_POINTS: Final = 5000
"""Largest GPS batch accepted at once (one event per batch)."""


@dataclass(frozen=True)
class WorkingHours:
    """The hours of a working day when official trips need no approval (Beijing time)."""

    start: time = time(7, 0)
    end: time = time(19, 0)


DEFAULT_WORKING_HOURS: Final = WorkingHours()
"""07:00-19:00: the office day with the commute to and from it; ``VEHICLE_WORKING_HOURS`` changes it."""


@dataclass(frozen=True)
class VehicleOnDuty:
    """What a trip records of the vehicle dispatched to it."""

    vehicle_id: str
    plate: str
    agency_id: str
    district: str


@dataclass(frozen=True)
class TripRequested(VehiclesEvent):
    """An agency asked for a vehicle for an official trip."""

    trip_id: str
    agency_id: str
    district: str
    purpose: str
    destination: str
    passengers: int
    planned_start: str
    planned_end: str


@dataclass(frozen=True)
class TripDispatched(VehiclesEvent):
    """A vehicle and a driver were assigned to the trip; ``city_wide`` when the vehicle belongs to another
    district. ``driver`` is personal (docs/personal-data.md): the store keeps it as a token under the key of
    ``driver_id``; v1 carried the name in clear and no id (upcast with ``driver_id`` None)."""

    schema_version: ClassVar[int] = 2

    trip_id: str
    agency_id: str
    district: str
    vehicle_id: str
    plate: str
    vehicle_agency_id: str
    vehicle_district: str
    city_wide: bool
    driver_id: str | None
    driver: str
    dispatched_at: str


@register_upcaster("vehicles", "TripDispatched", 1)
def _dispatched_v1_to_v2(payload: Payload) -> Payload:
    """v1 named the driver in clear and had no driver id: the name stays as it was stored (readers show a clear
    legacy value to entitled readers only), the id is None."""
    return {**payload, "driver_id": None}


@dataclass(frozen=True)
class TripCancelled(VehiclesEvent):
    """The trip was called off before it started."""

    trip_id: str
    agency_id: str
    reason: str
    cancelled_at: str


@dataclass(frozen=True)
class TripOutsideHoursApproved(VehiclesEvent):
    """Use on a holiday, a weekend or outside working hours was approved for this trip (审批)."""

    trip_id: str
    agency_id: str
    approved_by: str
    reason: str


@dataclass(frozen=True)
class TripStarted(VehiclesEvent):
    """The vehicle left on the trip."""

    trip_id: str
    agency_id: str
    vehicle_id: str
    odometer_km: float
    started_at: str


@dataclass(frozen=True)
class GpsPointsRecorded(VehiclesEvent):
    """A batch of the trip's GPS track: ``points`` are ``[at, latitude, longitude]`` in time order."""

    trip_id: str
    vehicle_id: str
    points: list[list[str | float]]
    count: int
    first_at: str
    last_at: str
    distance_km: float


@dataclass(frozen=True)
class GpsBatchRecorded(VehiclesEvent):
    """A batch of the trip's GPS track, personal (subject: the track, by ``trip_id``): ``points`` holds the list
    ``[at, latitude, longitude]`` in time order when recorded and is stored as its token (the event store seals
    it, docs/personal-data.md). ``count``, the times and ``distance_km`` are computed from the clear points here
    and stay in clear, so the trip's figures survive the track's erasure. Succeeds ``GpsPointsRecorded`` (clear
    points, still read for the trips recorded before it)."""

    trip_id: str
    vehicle_id: str
    points: list[list[str | float]] | str
    count: int
    first_at: str
    last_at: str
    distance_km: float


GPS_BATCH_EVENTS: Final = ("GpsPointsRecorded", "GpsBatchRecorded")
"""The event types that carry a batch of a trip's track (clear before sealing, a token since)."""


@dataclass(frozen=True)
class TripFinished(VehiclesEvent):
    """The vehicle came back; the distance is the odometer's."""

    trip_id: str
    agency_id: str
    district: str
    vehicle_id: str
    vehicle_agency_id: str
    vehicle_district: str
    start_km: float
    finish_km: float
    distance_km: float
    started_at: str
    finished_at: str
    gps_points: int


@dataclass(frozen=True)
class TripOutsideHoursFlagged(VehiclesEvent):
    """Flag: the trip ran on a holiday, a weekend or outside working hours without approval."""

    trip_id: str
    agency_id: str
    district: str
    vehicle_id: str
    reasons: list[str]
    days: list[str]
    started_at: str
    finished_at: str
    working_hours: str


@dataclass(frozen=True)
class TripWithoutGpsFlagged(VehiclesEvent):
    """Flag: a finished trip has no GPS point although the grace period for uploads has passed."""

    trip_id: str
    agency_id: str
    district: str
    vehicle_id: str
    finished_at: str
    grace_hours: float
    flagged_at: str


@dataclass(frozen=True)
class TripFlagResolved(VehiclesEvent):
    """A flag of the trip was closed: explained, approved afterwards, or the track arrived."""

    trip_id: str
    agency_id: str
    flag: str
    note: str
    resolved_at: str


class OdometerBelowStart(RuleViolation):
    """A trip cannot finish with less on the odometer than it started with."""

    code = "odometer_below_start"


class InvalidGpsPoints(RuleViolation):
    """GPS points outside the trip's time, out of range, or too many at once."""

    code = "invalid_gps_points"


def _at(moment: str) -> datetime:
    return datetime.fromisoformat(moment)


def outside_hours(started_at: datetime, finished_at: datetime, hours: WorkingHours) -> tuple[list[str], list[str]]:
    """Why a trip from ``started_at`` to ``finished_at`` needs approval: the reasons (``holiday``, ``weekend``,
    ``outside_hours``) and the Beijing-time days concerned; two empty lists when it kept to working time."""
    start, end = started_at.astimezone(CHINA_STANDARD_TIME), finished_at.astimezone(CHINA_STANDARD_TIME)
    reasons: set[str] = set()
    days: list[str] = []
    day = start.date()
    while day <= end.date():
        midnight = datetime.combine(day, time(0), CHINA_STANDARD_TIME)
        first, last = max(start, midnight), min(end, midnight + timedelta(days=1))
        if first < last or day == start.date():
            kind = day_kind(day)
            if kind == "workday" and (
                first < datetime.combine(day, hours.start, CHINA_STANDARD_TIME)
                or last > datetime.combine(day, hours.end, CHINA_STANDARD_TIME)
            ):
                kind = "outside_hours"
            if kind != "workday":
                reasons.add(kind)
                days.append(day.isoformat())
        day += timedelta(days=1)
    return sorted(reasons), days


def track_km(points: list[list[str | float]]) -> float:
    """The length of a GPS track (great-circle distance between consecutive points), in km to 0.001."""
    total = 0.0
    for (_, lat1, lon1), (_, lat2, lon2) in pairwise(points):
        p1, p2 = math.radians(float(lat1)), math.radians(float(lat2))
        dp, dl = p2 - p1, math.radians(float(lon2) - float(lon1))
        a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
        total += 2 * 6371.0088 * math.asin(math.sqrt(a))
    return round(total, 3)


class Trip(Aggregate):
    """One official trip of an agency."""

    stream_type: ClassVar[str] = "Trip"

    def _init_state(self) -> None:
        self.status = ""
        self.planned_start = ""
        self.planned_end = ""
        self.vehicle_id: str | None = None
        self.vehicle_agency_id: str | None = None
        self.vehicle_district: str | None = None
        self.driver_id: str | None = None
        self.driver: str | None = None  # a personal-data token (a clear name on a trip dispatched before v2)
        self.start_km: float | None = None
        self.started_at: str | None = None
        self.finished_at: str | None = None
        self.gps_points = 0
        self.approved = False
        self.open_flags: list[str] = []
        self.flagged: list[str] = []

    @property
    def shared_districts(self) -> frozenset[str]:
        """Districts besides the requester's that may write the trip: that of the vehicle serving it."""
        return frozenset({self.vehicle_district}) if self.vehicle_district else frozenset()

    @classmethod
    def request(
        cls,
        *,
        trip_id: str,
        agency_id: str,
        district: str,
        purpose: str,
        destination: str,
        passengers: int,
        planned_start: datetime,
        planned_end: datetime,
    ) -> Self:
        """Ask for a vehicle from ``planned_start`` to ``planned_end``."""
        if planned_end <= planned_start:
            raise RuleViolation("a trip ends after it starts", fields={"planned_end": ["not after planned_start"]})
        if passengers < 0:
            raise RuleViolation("passengers cannot be negative", fields={"passengers": ["must be >= 0"]})
        trip = cls(trip_id)
        trip._record(
            TripRequested(
                trip_id=trip_id,
                agency_id=agency_id,
                district=district,
                purpose=purpose,
                destination=destination,
                passengers=passengers,
                planned_start=iso_as_given(planned_start),
                planned_end=iso_as_given(planned_end),
            )
        )
        return trip

    def planned_days(self) -> tuple[str, str]:
        """The first and last Beijing-time day of the planned trip (what a seal is checked against)."""
        first = _at(self.planned_start).astimezone(CHINA_STANDARD_TIME).date()
        last = _at(self.planned_end).astimezone(CHINA_STANDARD_TIME).date()
        return first.isoformat(), last.isoformat()

    def dispatch(self, vehicle: VehicleOnDuty, driver_id: str, driver: str, dispatched_at: datetime) -> None:
        """Assign a vehicle (the caller checked it may be dispatched: in service, not sealed on the trip's days)
        and a driver (``driver``: the name, as a token once the caller sealed it)."""
        require_status(f"trip {self.id}", self.status, "requested")
        city_wide = vehicle.district != self.district
        self._record(
            TripDispatched(
                trip_id=self.id,
                agency_id=str(self.agency_id),
                district=str(self.district),
                vehicle_id=vehicle.vehicle_id,
                plate=vehicle.plate,
                vehicle_agency_id=vehicle.agency_id,
                vehicle_district=vehicle.district,
                city_wide=city_wide,
                driver_id=driver_id,
                driver=driver,
                dispatched_at=iso_as_given(dispatched_at),
            )
        )

    def cancel(self, reason: str, cancelled_at: datetime) -> None:
        """Call the trip off before it starts."""
        require_status(f"trip {self.id}", self.status, "requested", "dispatched")
        self._record(TripCancelled(self.id, str(self.agency_id), reason, iso_as_given(cancelled_at)))

    def approve_outside_hours(self, approved_by: str, reason: str) -> None:
        """Approve use on a holiday, a weekend or outside working hours, before the trip is over."""
        require_status(f"trip {self.id}", self.status, "requested", "dispatched", "in_progress")
        if self.approved:
            raise AlreadyExists(f"trip {self.id} is already approved", fields={"trip_id": ["already approved"]})
        self._record(TripOutsideHoursApproved(self.id, str(self.agency_id), approved_by, reason))

    def start(self, odometer_km: float, started_at: datetime) -> None:
        """The vehicle leaves (the vehicle itself records its departure)."""
        require_status(f"trip {self.id}", self.status, "dispatched")
        self._record(
            TripStarted(self.id, str(self.agency_id), str(self.vehicle_id), odometer_km, iso_as_given(started_at))
        )

    def record_gps(self, points: list[list[str | float]]) -> None:
        """Add a batch of the track, ``[at, latitude, longitude]`` each; refused whole when a point lies outside
        the trip's time (with ``GPS_WINDOW_MARGIN``) or the range of coordinates."""
        require_status(f"trip {self.id}", self.status, "in_progress", "completed")
        if not points or len(points) > MAX_GPS_POINTS:
            raise InvalidGpsPoints(
                f"a batch holds 1 to {MAX_GPS_POINTS} points", fields={"points": ["1 to 5000 points"]}
            )
        first = _at(str(self.started_at)) - GPS_WINDOW_MARGIN
        last = _at(self.finished_at) + GPS_WINDOW_MARGIN if self.finished_at else None
        wrong: dict[str, list[str]] = {}
        ordered = sorted(points, key=lambda p: _at(str(p[0])))
        for index, (at, lat, lon) in enumerate(ordered):
            moment = _at(str(at))
            if moment < first or (last is not None and moment > last):
                wrong[f"points.{index}"] = ["outside the trip's time"]
            elif not (-90 <= float(lat) <= 90 and -180 <= float(lon) <= 180):
                wrong[f"points.{index}"] = ["latitude or longitude out of range"]
        if wrong:
            raise InvalidGpsPoints(
                f"{len(wrong)} GPS points do not belong to trip {self.id}", fields=dict(list(wrong.items())[:20])
            )
        canonical: list[list[str | float]] = [
            [iso_as_given(_at(str(at))), float(lat), float(lon)] for at, lat, lon in ordered
        ]
        self._record(
            GpsBatchRecorded(
                trip_id=self.id,
                vehicle_id=str(self.vehicle_id),
                points=canonical,
                count=len(canonical),
                first_at=str(canonical[0][0]),
                last_at=str(canonical[-1][0]),
                distance_km=track_km(canonical),
            )
        )
        if "without_gps" in self.open_flags:
            self._record(
                TripFlagResolved(
                    self.id, str(self.agency_id), "without_gps", "GPS points arrived", str(canonical[-1][0])
                )
            )

    def finish(self, odometer_km: float, finished_at: datetime, hours: WorkingHours = DEFAULT_WORKING_HOURS) -> float:
        """The vehicle is back: the distance is the odometer's; use outside working time without approval is
        flagged. Answers the distance."""
        require_status(f"trip {self.id}", self.status, "in_progress")
        start_km, started = float(self.start_km or 0), _at(str(self.started_at))
        if odometer_km < start_km:
            raise OdometerBelowStart(
                f"the trip started at {start_km} km", fields={"odometer_km": [f"below the start reading {start_km}"]}
            )
        if finished_at <= started:
            raise RuleViolation("a trip finishes after it starts", fields={"finished_at": ["not after started_at"]})
        distance = round(odometer_km - start_km, 1)
        self._record(
            TripFinished(
                trip_id=self.id,
                agency_id=str(self.agency_id),
                district=str(self.district),
                vehicle_id=str(self.vehicle_id),
                vehicle_agency_id=str(self.vehicle_agency_id),
                vehicle_district=str(self.vehicle_district),
                start_km=start_km,
                finish_km=odometer_km,
                distance_km=distance,
                started_at=str(self.started_at),
                finished_at=iso_as_given(finished_at),
                gps_points=self.gps_points,
            )
        )
        reasons, days = outside_hours(started, finished_at, hours)
        if reasons and not self.approved:
            self._record(
                TripOutsideHoursFlagged(
                    trip_id=self.id,
                    agency_id=str(self.agency_id),
                    district=str(self.district),
                    vehicle_id=str(self.vehicle_id),
                    reasons=reasons,
                    days=days,
                    started_at=str(self.started_at),
                    finished_at=iso_as_given(finished_at),
                    working_hours=f"{hours.start:%H:%M}-{hours.end:%H:%M}",
                )
            )
        return distance

    def flag_missing_gps(self, now: datetime, grace_hours: float) -> bool:
        """Flag a finished trip still without GPS ``grace_hours`` after it finished (once); answers whether it did."""
        if self.status != "completed" or self.gps_points or "without_gps" in self.flagged:
            return False
        if now < _at(str(self.finished_at)) + timedelta(hours=grace_hours):
            return False
        self._record(
            TripWithoutGpsFlagged(
                trip_id=self.id,
                agency_id=str(self.agency_id),
                district=str(self.district),
                vehicle_id=str(self.vehicle_id),
                finished_at=str(self.finished_at),
                grace_hours=grace_hours,
                flagged_at=iso_as_given(now),
            )
        )
        return True

    def resolve_flag(self, flag: str, note: str, resolved_at: datetime) -> None:
        """Close an open flag with its explanation."""
        if flag not in self.open_flags:
            raise RuleViolation(f"trip {self.id} has no open flag {flag}", fields={"flag": ["not open on this trip"]})
        self._record(TripFlagResolved(self.id, str(self.agency_id), flag, note, iso_as_given(resolved_at)))

    # -- state ---------------------------------------------------------------------------------------

    def _on_TripRequested(self, event: TripRequested) -> None:
        self.agency_id, self.district = event.agency_id, event.district
        self.planned_start, self.planned_end = event.planned_start, event.planned_end
        self.status = "requested"

    def _on_TripDispatched(self, event: TripDispatched) -> None:
        self.vehicle_id, self.vehicle_agency_id = event.vehicle_id, event.vehicle_agency_id
        self.vehicle_district = event.vehicle_district
        self.driver_id, self.driver = event.driver_id, event.driver
        self.status = "dispatched"

    def _on_TripCancelled(self, event: TripCancelled) -> None:
        self.status = "cancelled"

    def _on_TripOutsideHoursApproved(self, event: TripOutsideHoursApproved) -> None:
        self.approved = True

    def _on_TripStarted(self, event: TripStarted) -> None:
        self.start_km, self.started_at = event.odometer_km, event.started_at
        self.status = "in_progress"

    def _on_GpsPointsRecorded(self, event: GpsPointsRecorded) -> None:
        self.gps_points += event.count

    def _on_GpsBatchRecorded(self, event: GpsBatchRecorded) -> None:
        self.gps_points += event.count

    def _on_TripFinished(self, event: TripFinished) -> None:
        self.finished_at = event.finished_at
        self.status = "completed"

    def _on_TripOutsideHoursFlagged(self, event: TripOutsideHoursFlagged) -> None:
        self.open_flags.append("outside_hours")
        self.flagged.append("outside_hours")

    def _on_TripWithoutGpsFlagged(self, event: TripWithoutGpsFlagged) -> None:
        self.open_flags.append("without_gps")
        self.flagged.append("without_gps")

    def _on_TripFlagResolved(self, event: TripFlagResolved) -> None:
        self.open_flags.remove(event.flag)
