"""Special inspections (专项巡检): findings with rectification deadlines; overdue findings are visible."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any, ClassVar, Self

from services.common.kernel.aggregate import Aggregate
from services.common.kernel.errors import AlreadyExists, InvalidState, NotFound, RuleViolation
from services.common.kernel.events import Payload, register_upcaster
from services.common.kernel.facts import fact_day
from services.office_space.domain.base import OfficeSpaceEvent

FINDING_KINDS = ("over_standard", "idle", "departed_staff", "unapproved_lease", "safety", "other")
"""What an inspection can find: 超标准配置, 闲置, 退休调离后占用, 未经批准出租出借, 安全, other."""


@dataclass(frozen=True)
class InspectionOpened(OfficeSpaceEvent):
    """A special inspection of an agency's office space began."""

    inspection_id: str
    agency_id: str
    district: str
    topic: str
    inspected_on: str


@dataclass(frozen=True)
class InspectionFindingRecorded(OfficeSpaceEvent):
    """A finding with the deadline by which it must be rectified.

    v2 added ``found_on``, the day of the inspection that found it (the finding's date, from which its age
    counts, however late it is entered); v1 events read with null (dated the day they were recorded)."""

    schema_version: ClassVar[int] = 2

    inspection_id: str
    finding_id: str
    kind: str
    description: str
    deadline: str
    found_on: str | None = None


@register_upcaster("office_space", "InspectionFindingRecorded", 1)
def _finding_recorded_v1_to_v2(payload: Payload) -> Payload:
    return {**payload, "found_on": None}


@dataclass(frozen=True)
class FindingRectified(OfficeSpaceEvent):
    """A finding was rectified (整改)."""

    inspection_id: str
    finding_id: str
    rectified_on: str
    note: str


class Inspection(Aggregate):
    """A special inspection and its findings."""

    stream_type: ClassVar[str] = "Inspection"

    def _init_state(self) -> None:
        self.inspected_on = ""
        self.findings: dict[str, dict[str, Any]] = {}

    @classmethod
    def open(
        cls, *, inspection_id: str, agency_id: str, district: str, topic: str, inspected_on: date, today: date
    ) -> Self:
        """Record an inspection held on ``inspected_on`` (today or a past day brought in, never a future one):
        its findings' deadlines and ages count from that day."""
        day = fact_day("inspected_on", inspected_on, today)
        inspection = cls(inspection_id)
        inspection._record(InspectionOpened(inspection_id, agency_id, district, topic, day.isoformat()))
        return inspection

    def record_finding(self, finding_id: str, kind: str, description: str, deadline: date) -> None:
        """Record a finding; its rectification deadline comes after the inspection."""
        if finding_id in self.findings:
            raise AlreadyExists(f"finding {finding_id} exists", fields={"finding_id": ["already recorded"]})
        if deadline <= date.fromisoformat(self.inspected_on):
            raise RuleViolation("the deadline must come after the inspection", fields={"deadline": ["too early"]})
        self._record(
            InspectionFindingRecorded(
                inspection_id=self.id,
                finding_id=finding_id,
                kind=kind,
                description=description,
                deadline=deadline.isoformat(),
                found_on=self.inspected_on,
            )
        )

    def rectify(self, finding_id: str, note: str, today: date) -> None:
        """Close a finding as rectified."""
        finding = self.findings.get(finding_id)
        if finding is None:
            raise NotFound(f"finding {finding_id} not found", fields={"finding_id": ["unknown finding"]})
        if finding["rectified_on"]:
            raise InvalidState(f"finding {finding_id} is already rectified")
        self._record(FindingRectified(self.id, finding_id, today.isoformat(), note))

    def _on_InspectionOpened(self, event: InspectionOpened) -> None:
        self.agency_id, self.district, self.inspected_on = event.agency_id, event.district, event.inspected_on

    def _on_InspectionFindingRecorded(self, event: InspectionFindingRecorded) -> None:
        self.findings[event.finding_id] = {"kind": event.kind, "deadline": event.deadline, "rectified_on": None}

    def _on_FindingRectified(self, event: FindingRectified) -> None:
        self.findings[event.finding_id]["rectified_on"] = event.rectified_on


def overdue(findings: Iterable[dict[str, Any]], today: date) -> list[dict[str, Any]]:
    """Findings still open after their deadline, most overdue first, with ``days_overdue``."""
    late = [
        {**f, "days_overdue": (today - date.fromisoformat(f["deadline"])).days}
        for f in findings
        if not f.get("rectified_on") and date.fromisoformat(f["deadline"]) < today
    ]
    return sorted(late, key=lambda f: -f["days_overdue"])
