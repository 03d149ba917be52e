"""An agency's fleet against its vehicle quota (编制): registration beyond the quota is refused, disposal frees it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Self

from services.common.kernel.aggregate import Aggregate
from services.common.kernel.errors import AlreadyExists, InvalidState, NotFound, RuleViolation

from .base import VehiclesEvent


@dataclass(frozen=True)
class FleetEstablished(VehiclesEvent):
    """An agency's fleet was set up with its vehicle quota (公务用车编制)."""

    agency_id: str
    district: str
    quota: int
    reason: str


@dataclass(frozen=True)
class VehicleQuotaRevised(VehiclesEvent):
    """The agency's vehicle quota changed."""

    agency_id: str
    quota: int
    previous_quota: int
    reason: str


@dataclass(frozen=True)
class VehicleAdmittedToFleet(VehiclesEvent):
    """A registered vehicle took one place of the agency's quota."""

    agency_id: str
    vehicle_id: str
    plate: str
    replaces_vehicle_id: str | None
    vehicles: int
    quota: int


@dataclass(frozen=True)
class VehicleLeftFleet(VehiclesEvent):
    """A vehicle left the agency's fleet (disposed) and freed its place in the quota."""

    agency_id: str
    vehicle_id: str
    plate: str
    reason: str


class QuotaExceeded(RuleViolation):
    """The agency's fleet is at its vehicle quota (超编)."""

    code = "quota_exceeded"


class NotReplaceable(RuleViolation):
    """A replacement (更新) must name a vehicle of the same agency that was disposed and not yet replaced."""

    code = "not_replaceable"


class QuotaBelowFleet(RuleViolation):
    """A quota below the vehicles the agency holds: dispose of vehicles first."""

    code = "quota_below_fleet"


class NoQuotaYet(InvalidState):
    """The administration has not set the agency's vehicle quota (编制) yet: nothing can be registered."""

    code = "no_vehicle_quota"


def _require_quota_not_negative(quota: int) -> None:
    if quota < 0:
        raise RuleViolation("a quota cannot be negative", fields={"quota": ["must be >= 0"]})


class AgencyFleet(Aggregate):
    """The vehicles an agency holds against its quota; one stream per agency, so concurrent registrations
    conflict on its version instead of both taking the last place."""

    stream_type: ClassVar[str] = "AgencyFleet"

    def _init_state(self) -> None:
        self.established = False
        self.quota = 0
        self.vehicles: dict[str, str] = {}  # vehicle id → plate, of the vehicles counted against the quota
        self.replaceable: dict[str, str] = {}  # disposed vehicle id → plate, not replaced yet

    @classmethod
    def establish(cls, agency_id: str, district: str, quota: int, reason: str) -> Self:
        """Set up an agency's fleet with its vehicle quota."""
        _require_quota_not_negative(quota)
        fleet = cls(agency_id)
        fleet._record(FleetEstablished(agency_id, district, quota, reason))
        return fleet

    def revise_quota(self, quota: int, reason: str) -> None:
        """Change the quota; never below the vehicles the agency holds."""
        self.require_quota()
        _require_quota_not_negative(quota)
        if quota < len(self.vehicles):
            raise QuotaBelowFleet(
                f"the agency holds {len(self.vehicles)} vehicles, more than a quota of {quota}",
                fields={"quota": [f"below the {len(self.vehicles)} vehicles held"]},
                details={"quota": quota, "vehicles": len(self.vehicles)},
            )
        self._record(VehicleQuotaRevised(self.id, quota, self.quota, reason))

    def admit(self, vehicle_id: str, plate: str, replaces_vehicle_id: str | None = None) -> None:
        """Count a vehicle against the quota; refused when the quota is full or the plate is already held.

        A replacement names the disposed vehicle it replaces; the disposal already freed that place.
        """
        self.require_quota()
        if vehicle_id in self.vehicles or plate in self.vehicles.values():
            raise AlreadyExists(f"{plate} is already in the fleet of {self.id}", fields={"plate": ["already held"]})
        if replaces_vehicle_id is not None and replaces_vehicle_id not in self.replaceable:
            raise NotReplaceable(
                f"{replaces_vehicle_id} is not a disposed, unreplaced vehicle of {self.id}",
                fields={"replaces_vehicle_id": ["not a disposed vehicle of this agency awaiting replacement"]},
            )
        if len(self.vehicles) >= self.quota:
            raise QuotaExceeded(
                f"agency {self.id} holds {len(self.vehicles)} vehicles, its quota is {self.quota}",
                fields={"agency_id": ["vehicle quota reached"]},
                details={"quota": self.quota, "vehicles": len(self.vehicles)},
            )
        self._record(
            VehicleAdmittedToFleet(
                agency_id=self.id,
                vehicle_id=vehicle_id,
                plate=plate,
                replaces_vehicle_id=replaces_vehicle_id,
                vehicles=len(self.vehicles) + 1,
                quota=self.quota,
            )
        )

    def release(self, vehicle_id: str, reason: str) -> None:
        """A vehicle leaves the fleet and frees its place."""
        if vehicle_id not in self.vehicles:
            raise NotFound(f"{vehicle_id} is not in the fleet of {self.id}", fields={"vehicle_id": ["not in fleet"]})
        self._record(VehicleLeftFleet(self.id, vehicle_id, self.vehicles[vehicle_id], reason))

    def require_quota(self) -> None:
        """Refuse while the administration has not set the agency's quota."""
        if not self.established:
            raise NoQuotaYet(f"agency {self.id} has no vehicle quota yet", details={"agency_id": self.id})

    def _on_FleetEstablished(self, event: FleetEstablished) -> None:
        self.established = True
        self.agency_id, self.district, self.quota = event.agency_id, event.district, event.quota

    def _on_VehicleQuotaRevised(self, event: VehicleQuotaRevised) -> None:
        self.quota = event.quota

    def _on_VehicleAdmittedToFleet(self, event: VehicleAdmittedToFleet) -> None:
        self.vehicles[event.vehicle_id] = event.plate
        if event.replaces_vehicle_id is not None:
            del self.replaceable[event.replaces_vehicle_id]

    def _on_VehicleLeftFleet(self, event: VehicleLeftFleet) -> None:
        self.replaceable[event.vehicle_id] = self.vehicles.pop(event.vehicle_id)
