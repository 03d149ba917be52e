"""What the vehicle aggregates share: the event base, energy types and carriers, use categories, errors."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Final

from services.common.kernel.errors import InvalidState, RuleViolation
from services.common.kernel.events import Event


@dataclass(frozen=True)
class VehiclesEvent(Event):
    """Base of the vehicles service's events."""

    domain: ClassVar[str] = "vehicles"


ENERGY_CARRIERS: Final[dict[str, tuple[str, ...]]] = {
    "gasoline": ("gasoline",),
    "diesel": ("diesel",),
    "hybrid_electric": ("gasoline",),
    "plug_in_hybrid": ("gasoline", "electricity"),
    "battery_electric": ("electricity",),
    "fuel_cell": ("hydrogen",),
}
"""Energy types (能源类型) and the carriers each takes in, the first being the one its consumption norm is
stated in: 汽油, 柴油, 油电混合 (not plug-in: not new energy), 插电式混合动力 (range extenders included),
纯电动, 燃料电池."""

ENERGY_TYPES: Final = tuple(ENERGY_CARRIERS)
"""The energy types the platform knows."""

NEW_ENERGY_TYPES: Final = frozenset({"battery_electric", "plug_in_hybrid", "fuel_cell"})
"""New-energy vehicles (新能源汽车): battery electric, plug-in hybrid and fuel cell."""

CARRIER_UNITS: Final[dict[str, str]] = {"gasoline": "L", "diesel": "L", "hydrogen": "kg", "electricity": "kWh"}
"""The unit each energy carrier is bought and measured in."""

FUELS: Final = ("gasoline", "diesel", "hydrogen")
"""Carriers bought at a station as fuel (加油、加氢); electricity is charging (充电)."""

USE_CATEGORIES: Final = (
    "confidential_communication",
    "emergency",
    "law_enforcement",
    "special_technical",
    "general",
    "other",
)
"""Use categories of official vehicles: 机要通信, 应急保障, 执法执勤, 特种专业技术, 一般公务, other."""

ACQUISITION_KINDS: Final = ("new", "replacement", "existing")
"""How a vehicle came into the fleet: 新增 (added), 更新 (replacing a disposed one of the same agency), or
存量 (already held when the platform took it over: counted against the quota, not in the new-energy share)."""

SHARE_ACQUISITION_KINDS: Final = frozenset({"new", "replacement"})
"""The acquisitions the new-energy share is computed over (新增及更新)."""


def is_new_energy(energy_type: str) -> bool:
    """Whether the energy type is a new-energy one."""
    return energy_type in NEW_ENERGY_TYPES


def norm_unit(energy_type: str) -> str:
    """The unit of the consumption norm of an energy type (per 100 km)."""
    return CARRIER_UNITS[ENERGY_CARRIERS[energy_type][0]]


class VehicleIsDisposed(InvalidState):
    """A disposed vehicle can do nothing more."""

    code = "vehicle_disposed"


class VehicleIsSealed(InvalidState):
    """A sealed vehicle (封存) cannot be dispatched or driven during its sealed period."""

    code = "vehicle_sealed"


class VehicleBusy(InvalidState):
    """The vehicle is on another trip."""

    code = "vehicle_busy"


class WrongEnergyCarrier(RuleViolation):
    """The vehicle does not take this energy carrier (diesel into a gasoline car, charging a gasoline car)."""

    code = "wrong_energy_carrier"


def carriers_of(energy_type: str) -> tuple[str, ...]:
    """The energy carriers a vehicle of ``energy_type`` takes in."""
    return ENERGY_CARRIERS[energy_type]


def norm_carrier(energy_type: str) -> str:
    """The carrier the consumption norm of ``energy_type`` is stated in (gasoline for a plug-in hybrid)."""
    return ENERGY_CARRIERS[energy_type][0]
