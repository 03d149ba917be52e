"""Closed years (公共机构能源资源消费统计 关账): a year's energy figures, frozen with the methods they used.

Once a year is over and its statistics are reported, the administration closes it: the figures of every
agency (as the data center summed them: use per kind year to date and annualised, coverage, the 2020
baseline, vehicle use, and their tce and CO₂) are recorded with the versions of the conversion factors,
the sufficiency rules and the targets they were computed with. Later changes — a new factor table, a late
reading, a corrected report — never rewrite a closed year silently: the data center shows what they would
change beside the closed figures (a proposed restatement), and only an explicit restatement, with its
reason, records new figures and versions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, ClassVar, Final, Self

from services.common.kernel.aggregate import Aggregate
from services.common.kernel.errors import RuleViolation, require_status

from .base import EnergyEvent
from .reports import SourceRequired, YearNotOver

METHOD_KEYS: Final = ("factors_version", "sufficiency_version", "targets_version")
"""The versions a closed year names: conversion factors, sufficiency rules, targets."""


@dataclass(frozen=True)
class EnergyYearClosed(EnergyEvent):
    """A year's energy figures were closed: ``figures`` per agency id, with the ``versions`` of the methods."""

    year: int
    figures: dict[str, dict[str, float]]
    versions: dict[str, str]
    closed_by: str
    closed_on: str


@dataclass(frozen=True)
class EnergyYearRestated(EnergyEvent):
    """A closed year's figures were restated (new factors, late data), by explicit decision and with a reason;
    ``previous_versions`` are the versions it replaces."""

    year: int
    figures: dict[str, dict[str, float]]
    versions: dict[str, str]
    previous_versions: dict[str, str]
    reason: str
    restated_by: str
    restated_on: str


class MethodVersionsRequired(RuleViolation):
    """Closed figures name the versions of the factors, the sufficiency rules and the targets they used."""

    code = "method_versions_required"


class NothingToRestate(RuleViolation):
    """A restatement must change the figures or the methods of the closed year."""

    code = "nothing_to_restate"


def _checked_versions(versions: Mapping[str, Any]) -> dict[str, str]:
    missing = [key for key in METHOD_KEYS if not isinstance(versions.get(key), str) or not versions[key].strip()]
    if missing:
        raise MethodVersionsRequired(
            "the versions of the methods are required", fields={f"versions.{key}": ["required"] for key in missing}
        )
    return {key: str(versions[key]) for key in sorted(versions)}


class ClosedYear(Aggregate):
    """The energy figures of one year, once closed: open → closed (restated any number of times)."""

    stream_type: ClassVar[str] = "ClosedYear"

    def _init_state(self) -> None:
        self.status = ""
        self.year = 0
        self.figures: dict[str, dict[str, float]] = {}
        self.versions: dict[str, str] = {}

    @staticmethod
    def stream_id_for(year: int) -> str:
        """One closing per year, for the whole city."""
        return f"energy-{year}"

    @classmethod
    def close(
        cls, year: int, figures: Mapping[str, Mapping[str, float]], versions: Mapping[str, Any], by: str, today: date
    ) -> Self:
        """Close a year that is over with its figures and the versions of the methods they used."""
        if year >= today.year:
            raise YearNotOver(f"{year} is not over", fields={"year": ["not over yet"]}, details={"year": year})
        checked = _checked_versions(versions)
        closing = cls(cls.stream_id_for(year))
        frozen = {agency: dict(values) for agency, values in sorted(figures.items())}
        closing._record(
            EnergyYearClosed(year=year, figures=frozen, versions=checked, closed_by=by, closed_on=today.isoformat())
        )
        return closing

    def restate(
        self,
        figures: Mapping[str, Mapping[str, float]],
        versions: Mapping[str, Any],
        reason: str,
        by: str,
        today: date,
    ) -> None:
        """Replace the closed figures and versions, saying why; refused when nothing would change."""
        require_status(f"closed year {self.year}", self.status, "closed")
        checked = _checked_versions(versions)
        if not reason.strip():
            raise SourceRequired("reason is required", fields={"reason": ["required"]})
        frozen = {agency: dict(values) for agency, values in sorted(figures.items())}
        if frozen == self.figures and checked == self.versions:
            raise NothingToRestate(
                f"the figures and methods of {self.year} are those closed", details={"versions": self.versions}
            )
        self._record(
            EnergyYearRestated(
                year=self.year,
                figures=frozen,
                versions=checked,
                previous_versions=dict(self.versions),
                reason=reason,
                restated_by=by,
                restated_on=today.isoformat(),
            )
        )

    def _on_EnergyYearClosed(self, event: EnergyYearClosed) -> None:
        self.status = "closed"
        self.year = event.year
        self.figures = {agency: dict(values) for agency, values in event.figures.items()}
        self.versions = dict(event.versions)

    def _on_EnergyYearRestated(self, event: EnergyYearRestated) -> None:
        self.figures = {agency: dict(values) for agency, values in event.figures.items()}
        self.versions = dict(event.versions)
