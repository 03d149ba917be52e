"""Number plates (号牌) by GA 36-2018: conventional seven-character plates and eight-character new-energy plates.

- Conventional (blue/yellow): province abbreviation, issuing-authority letter, five letters or digits; police
  plates (警用) end in 警 after four.
- Small new-energy (green): province, letter, then six: the first a class letter, the second a letter or digit,
  four digits. GA 36-2018 gives D (纯电动) and F (非纯电动); the later extension of the series adds A, B, C, E
  (pure electric) and G, H, J, K (not pure electric).
- Large new-energy: province, letter, five digits and a sixth position D or F.

I and O are never used (they read as 1 and 0). An eight-character plate belongs to a new-energy vehicle of the
class its letter names (plug-in hybrids and fuel cells are 非纯电动). A new-energy vehicle may still carry a
conventional plate issued before green plates existed, so that is accepted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar, Final

from services.common.kernel.aggregate import Aggregate
from services.common.kernel.errors import AlreadyExists, RuleViolation

from .base import VehiclesEvent

PROVINCES: Final = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
"""Province abbreviations (省份简称) that open a plate."""

PURE_ELECTRIC_LETTERS: Final = frozenset("DABCE")
"""New-energy class letters of battery electric vehicles (纯电动)."""

NOT_PURE_ELECTRIC_LETTERS: Final = frozenset("FGHJK")
"""New-energy class letters of other new-energy vehicles (非纯电动: plug-in hybrid, fuel cell)."""

_L = "A-HJ-NP-Z"
_CONVENTIONAL = re.compile(rf"^[{PROVINCES}][{_L}](?:[{_L}0-9]{{5}}|[{_L}0-9]{{4}}警)$")
_SMALL_NEW_ENERGY = re.compile(rf"^[{PROVINCES}][{_L}](?P<cls>[DABCEFGHJK])[{_L}0-9][0-9]{{4}}$")
_LARGE_NEW_ENERGY = re.compile(rf"^[{PROVINCES}][{_L}][0-9]{{5}}(?P<cls>[DF])$")


class InvalidPlate(RuleViolation):
    """The plate is not a valid GA 36-2018 plate."""

    code = "invalid_plate"


class PlateDoesNotMatchEnergyType(RuleViolation):
    """A new-energy plate on a vehicle of another energy type, or of the other new-energy class."""

    code = "plate_energy_mismatch"


def normalise_plate(plate: str) -> str:
    """The plate without separators (spaces, ·, -) and with capital letters: ``苏D·D12345`` → ``苏DD12345``."""
    return re.sub(r"[\s·•\-]", "", plate).upper()


def validate_plate(plate: str, energy_type: str) -> str:
    """The normalised plate, refused when malformed or when its new-energy class does not fit ``energy_type``."""
    normal = normalise_plate(plate)
    if _CONVENTIONAL.match(normal):
        return normal
    match = _SMALL_NEW_ENERGY.match(normal) or _LARGE_NEW_ENERGY.match(normal)
    if match is None:
        raise InvalidPlate(
            f"{plate} is not a valid plate",
            fields={"plate": ["province, letter and 5 characters, or 6 for a new-energy plate (GA 36-2018)"]},
        )
    expected = ("battery_electric",) if match["cls"] in PURE_ELECTRIC_LETTERS else ("plug_in_hybrid", "fuel_cell")
    if energy_type not in expected:
        raise PlateDoesNotMatchEnergyType(
            f"{normal} is a new-energy plate for {' or '.join(expected)} vehicles",
            fields={"plate": [f"a plate of class {match['cls']} is for {' or '.join(expected)} vehicles"]},
            details={"plate": normal, "energy_type": energy_type, "expected": list(expected)},
        )
    return normal


@dataclass(frozen=True)
class PlateAssigned(VehiclesEvent):
    """A plate was taken by a registered vehicle (one vehicle per plate city-wide)."""

    plate: str
    vehicle_id: str
    agency_id: str
    district: str


@dataclass(frozen=True)
class PlateReleased(VehiclesEvent):
    """A disposed vehicle gave its plate up."""

    plate: str
    vehicle_id: str


class PlateRegistration(Aggregate):
    """Who holds a plate, city-wide; one stream per plate, so two registrations of one plate conflict."""

    stream_type: ClassVar[str] = "Plate"

    def _init_state(self) -> None:
        self.vehicle_id: str | None = None

    def assign(self, vehicle_id: str, agency_id: str, district: str) -> None:
        """Give the plate to ``vehicle_id``; refused while another vehicle holds it."""
        if self.vehicle_id is not None:
            raise AlreadyExists(
                f"plate {self.id} is held by vehicle {self.vehicle_id}",
                fields={"plate": ["already registered"]},
                details={"plate": self.id, "vehicle_id": self.vehicle_id},
            )
        self._record(PlateAssigned(self.id, vehicle_id, agency_id, district))

    def release(self, vehicle_id: str) -> None:
        """The vehicle holding the plate left the fleet."""
        if self.vehicle_id == vehicle_id:
            self._record(PlateReleased(self.id, vehicle_id))

    def _on_PlateAssigned(self, event: PlateAssigned) -> None:
        self.vehicle_id, self.agency_id, self.district = event.vehicle_id, event.agency_id, event.district

    def _on_PlateReleased(self, event: PlateReleased) -> None:
        self.vehicle_id = None
