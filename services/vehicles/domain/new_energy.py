"""The new-energy share (新能源汽车占比): at least 30 % of new and replacement acquisitions (seed 000, #19).

"Below the target" is judged in whole vehicles with exact integer arithmetic: after an acquisition, the
district's new-energy acquisitions of the period times 100 must be at least the target percent times all its
acquisitions of the period. No allowance is made for small counts: a district acquires only a handful of
vehicles a year, so any rounding in their favour (one conventional vehicle out of one "rounds" to meeting
30 %) would exempt most districts most of the time. Consequently the first acquisitions of a period must
include new-energy ones before conventional ones can follow; where that is too strict in practice the policy
is set to ``flag`` (the acquisition is recorded with a finding) rather than ``refuse``. A new-energy
acquisition never lowers the share and is never refused; a conventional one is refused (or flagged) whenever
the share after it is below the target, whether or not the district was below before.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import ClassVar, Final

from services.common.kernel.aggregate import Aggregate
from services.common.kernel.errors import RuleViolation
from services.common.kernel.events import Payload, register_upcaster

from .base import VehiclesEvent, is_new_energy

NEW_ENERGY_TARGET_PERCENT: Final = 30
"""The target share of new-energy vehicles among new and replacement acquisitions, in percent."""

POLICY_MODES: Final = ("refuse", "flag")
"""What an acquisition that takes its district below the target meets: refusal, or a recorded finding."""

SHARE_LEVELS: Final = ("agency", "district", "city")
"""Levels the share is computed at."""


@dataclass(frozen=True)
class NewEnergyPolicy:
    """The new-energy share rule applied to acquisitions: its target and its mode (``refuse`` or ``flag``)."""

    target_percent: int = NEW_ENERGY_TARGET_PERCENT
    mode: str = "refuse"

    def __post_init__(self) -> None:
        if self.mode not in POLICY_MODES or not 0 <= self.target_percent <= 100:
            raise ValueError(f"policy mode must be one of {POLICY_MODES} and its target 0-100 %")


DEFAULT_NEW_ENERGY_POLICY: Final = NewEnergyPolicy()
"""30 %, refused below it; a deployment may choose ``flag``."""


@dataclass(frozen=True)
class AcquisitionRecord:
    """One new or replacement acquisition, as the share computation needs it."""

    agency_id: str
    district: str
    energy_type: str
    acquired_on: str


@dataclass(frozen=True)
class NewEnergyShare:
    """New-energy and all acquisitions of a group, the share (0-1) and whether it meets the target."""

    new_energy: int
    total: int
    share: float
    meets_target: bool


def meets_target(new_energy: int, total: int, target_percent: int = NEW_ENERGY_TARGET_PERCENT) -> bool:
    """Whether ``new_energy`` out of ``total`` acquisitions reaches the target (exact, in whole vehicles)."""
    return new_energy * 100 >= target_percent * total


def takes_district_below_target(new_energy: int, total: int, energy_type: str, policy: NewEnergyPolicy) -> bool:
    """Whether acquiring a vehicle of ``energy_type`` after ``new_energy`` of ``total`` acquisitions leaves the
    share below the target (a new-energy acquisition never does: it only raises the share)."""
    if is_new_energy(energy_type):
        return False
    return not meets_target(new_energy, total + 1, policy.target_percent)


def share_of(new_energy: int, total: int) -> float:
    """The new-energy share 0-1 (1.0 when there were no acquisitions: nothing to fall short of)."""
    return round(new_energy / total, 4) if total else 1.0


@dataclass(frozen=True)
class AcquisitionRecorded(VehiclesEvent):
    """A new or replacement vehicle entered the district's acquisitions of the year, with the share after it."""

    district: str
    year: int
    vehicle_id: str
    agency_id: str
    energy_type: str
    new_energy: bool
    acquisition_kind: str
    acquired_on: str
    new_energy_count: int
    total: int
    share: float


@dataclass(frozen=True)
class NewEnergyShareFellBelowTarget(VehiclesEvent):
    """Finding: a conventional acquisition took the district's new-energy share of the year below the target
    (recorded when the policy flags instead of refusing).

    v2 added ``acquired_on``, the acquisition's date (the finding's date, from which its age counts, however
    late the acquisition is entered); v1 events read with null (dated the day they were recorded)."""

    schema_version: ClassVar[int] = 2

    district: str
    year: int
    vehicle_id: str
    agency_id: str
    new_energy_count: int
    total: int
    share: float
    target_percent: int
    acquired_on: str | None = None


@register_upcaster("vehicles", "NewEnergyShareFellBelowTarget", 1)
def _fell_below_v1_to_v2(payload: Payload) -> Payload:
    return {**payload, "acquired_on": None}


@dataclass(frozen=True)
class NewEnergyShareRestored(VehiclesEvent):
    """The district's new-energy share of the year is back at or above the target (the finding closes)."""

    district: str
    year: int
    vehicle_id: str
    new_energy_count: int
    total: int
    share: float
    target_percent: int


class NewEnergyShareBelowTarget(RuleViolation):
    """A conventional acquisition would take the district's new-energy share below the target (refused)."""

    code = "new_energy_share_below_target"


def ledger_id(district: str, year: int) -> str:
    """The stream id of a district's acquisitions of a year."""
    return f"{district}-{year:04d}"


class AcquisitionLedger(Aggregate):
    """A district's new and replacement acquisitions of one year (新增及更新公务用车), against the new-energy
    target; one stream per district and year, so two concurrent acquisitions cannot both take the last
    conventional place."""

    stream_type: ClassVar[str] = "AcquisitionLedger"

    def _init_state(self) -> None:
        self.year = 0
        self.new_energy = 0
        self.total = 0
        self.below_target = False

    def record(
        self,
        district: str,
        year: int,
        vehicle_id: str,
        agency_id: str,
        energy_type: str,
        acquisition_kind: str,
        acquired_on: str,
        policy: NewEnergyPolicy,
    ) -> bool:
        """Count one acquisition; refused (``refuse``) or recorded with a finding (``flag``) when it takes the
        district below the target. Answers whether the district's share is below the target afterwards."""
        below = takes_district_below_target(self.new_energy, self.total, energy_type, policy)
        if below and policy.mode == "refuse":
            after = share_of(self.new_energy, self.total + 1)
            raise NewEnergyShareBelowTarget(
                f"a conventional vehicle would take district {district}'s new-energy share of {year} to "
                f"{after:.0%}, below {policy.target_percent} %",
                fields={
                    "energy_type": [f"the district needs new-energy vehicles to stay at {policy.target_percent} %"]
                },
                details={
                    "district": district,
                    "year": year,
                    "new_energy": self.new_energy,
                    "total_after": self.total + 1,
                    "share_after": after,
                    "target_percent": policy.target_percent,
                },
            )
        ne = is_new_energy(energy_type)
        ne_count, total = self.new_energy + ne, self.total + 1
        share = share_of(ne_count, total)
        self._record(
            AcquisitionRecorded(
                district=district,
                year=year,
                vehicle_id=vehicle_id,
                agency_id=agency_id,
                energy_type=energy_type,
                new_energy=ne,
                acquisition_kind=acquisition_kind,
                acquired_on=acquired_on,
                new_energy_count=ne_count,
                total=total,
                share=share,
            )
        )
        meets = meets_target(ne_count, total, policy.target_percent)
        if not meets and not self.below_target:
            self._record(
                NewEnergyShareFellBelowTarget(
                    district=district,
                    year=year,
                    vehicle_id=vehicle_id,
                    agency_id=agency_id,
                    new_energy_count=ne_count,
                    total=total,
                    share=share,
                    target_percent=policy.target_percent,
                    acquired_on=acquired_on,
                )
            )
        elif meets and self.below_target:
            self._record(
                NewEnergyShareRestored(
                    district=district,
                    year=year,
                    vehicle_id=vehicle_id,
                    new_energy_count=ne_count,
                    total=total,
                    share=share,
                    target_percent=policy.target_percent,
                )
            )
        return not meets

    def _on_AcquisitionRecorded(self, event: AcquisitionRecorded) -> None:
        self.district, self.year = event.district, event.year
        self.new_energy, self.total = event.new_energy_count, event.total

    def _on_NewEnergyShareFellBelowTarget(self, event: NewEnergyShareFellBelowTarget) -> None:
        self.below_target = True

    def _on_NewEnergyShareRestored(self, event: NewEnergyShareRestored) -> None:
        self.below_target = False


def new_energy_shares(
    records: Iterable[AcquisitionRecord],
    level: str,
    year: int | None = None,
    target_percent: int = NEW_ENERGY_TARGET_PERCENT,
) -> dict[str, NewEnergyShare]:
    """The share per agency, per district or for the city (key ``city``), of the acquisitions of ``year``
    (all years when None)."""
    if level not in SHARE_LEVELS:
        raise ValueError(f"level must be one of {SHARE_LEVELS}")
    counts: dict[str, list[int]] = {}
    for record in records:
        if year is not None and not record.acquired_on.startswith(f"{year:04d}-"):
            continue
        key = {"agency": record.agency_id, "district": record.district, "city": "city"}[level]
        tally = counts.setdefault(key, [0, 0])
        tally[0] += is_new_energy(record.energy_type)
        tally[1] += 1
    return {
        key: NewEnergyShare(ne, total, round(ne / total, 4), meets_target(ne, total, target_percent))
        for key, (ne, total) in sorted(counts.items())
    }
