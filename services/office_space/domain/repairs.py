"""Major and medium repair projects (大中修项目): application → necessity review → approval → execution."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import ClassVar, Self

from services.common.aggregate import Aggregate
from services.common.errors import InvalidState, RuleViolation, require_positive, require_status
from services.office_space.domain.base import OfficeSpaceEvent

REPAIR_CATEGORIES = ("major", "medium")
"""大修, 中修."""


@dataclass(frozen=True)
class RepairApplied(OfficeSpaceEvent):
    """An agency applied for a repair project with its scope and budget."""

    project_id: str
    agency_id: str
    district: str
    building_id: str
    category: str
    scope: str
    budget: float
    applied_on: str


@dataclass(frozen=True)
class NecessityReviewed(OfficeSpaceEvent):
    """The necessity review (必要性审核) concluded."""

    project_id: str
    necessary: bool
    opinion: str
    reviewed_by: str


@dataclass(frozen=True)
class RepairApproved(OfficeSpaceEvent):
    """The project was approved with a budget."""

    project_id: str
    approved_budget: float
    approved_by: str


@dataclass(frozen=True)
class RepairRejected(OfficeSpaceEvent):
    """The project was refused."""

    project_id: str
    reason: str
    rejected_by: str


@dataclass(frozen=True)
class RepairExecutionStarted(OfficeSpaceEvent):
    """Works began."""

    project_id: str
    started_on: str


@dataclass(frozen=True)
class RepairChangeRecorded(OfficeSpaceEvent):
    """A change during execution, with its reason; one outside the approved plan (方案外增项、变更) is flagged."""

    project_id: str
    description: str
    reason: str
    amount: float
    outside_plan: bool
    flagged: bool
    changes_total: float


@dataclass(frozen=True)
class RepairCompleted(OfficeSpaceEvent):
    """Works finished with their final cost."""

    project_id: str
    completed_on: str
    final_cost: float


class RepairProject(Aggregate):
    """A major or medium repair project of an office building."""

    stream_type: ClassVar[str] = "RepairProject"

    def _init_state(self) -> None:
        self.status = ""
        self.budget = 0.0
        self.approved_budget = 0.0
        self.changes_total = 0.0
        self.necessary: bool | None = None

    @classmethod
    def apply(
        cls,
        project_id: str,
        agency_id: str,
        district: str,
        building_id: str,
        category: str,
        scope: str,
        budget: float,
        today: date,
    ) -> Self:
        """Apply for a project with its scope and budget."""
        require_positive("budget", budget)
        project = cls(project_id)
        project._record(
            RepairApplied(project_id, agency_id, district, building_id, category, scope, budget, today.isoformat())
        )
        return project

    def review_necessity(self, necessary: bool, opinion: str, reviewed_by: str) -> None:
        """Conclude the necessity review."""
        require_status(f"project {self.id}", self.status, "applied")
        self._record(NecessityReviewed(self.id, necessary, opinion, reviewed_by))

    def approve(self, approved_budget: float, approved_by: str) -> None:
        """Approve a project the review found necessary, with a budget."""
        require_status(f"project {self.id}", self.status, "reviewed")
        if not self.necessary:
            raise InvalidState(
                "the necessity review found the project unnecessary", fields={"project_id": ["not necessary"]}
            )
        require_positive("approved_budget", approved_budget)
        self._record(RepairApproved(self.id, approved_budget, approved_by))

    def reject(self, reason: str, rejected_by: str) -> None:
        """Refuse the project (before or after the review)."""
        require_status(f"project {self.id}", self.status, "applied", "reviewed")
        self._record(RepairRejected(self.id, reason, rejected_by))

    def start_execution(self, today: date) -> None:
        """Begin works: only an approved project."""
        require_status(f"project {self.id}", self.status, "approved")
        self._record(RepairExecutionStarted(self.id, today.isoformat()))

    def record_change(self, description: str, reason: str, amount: float, outside_plan: bool) -> None:
        """Record a change during execution with its reason; flagged (to be reported) when outside the plan."""
        require_status(f"project {self.id}", self.status, "executing")
        if not reason.strip():
            raise RuleViolation("a change needs its reason", fields={"reason": ["required"]})
        total = round(self.changes_total + amount, 2)
        self._record(RepairChangeRecorded(self.id, description, reason, amount, outside_plan, outside_plan, total))

    def complete(self, final_cost: float, today: date) -> None:
        """Finish the works."""
        require_status(f"project {self.id}", self.status, "executing")
        self._record(RepairCompleted(self.id, today.isoformat(), final_cost))

    def _on_RepairApplied(self, event: RepairApplied) -> None:
        self.status, self.agency_id, self.district, self.budget = (
            "applied",
            event.agency_id,
            event.district,
            event.budget,
        )

    def _on_NecessityReviewed(self, event: NecessityReviewed) -> None:
        self.status, self.necessary = "reviewed", event.necessary

    def _on_RepairApproved(self, event: RepairApproved) -> None:
        self.status, self.approved_budget = "approved", event.approved_budget

    def _on_RepairRejected(self, event: RepairRejected) -> None:
        self.status = "rejected"

    def _on_RepairExecutionStarted(self, event: RepairExecutionStarted) -> None:
        self.status = "executing"

    def _on_RepairChangeRecorded(self, event: RepairChangeRecorded) -> None:
        self.changes_total = event.changes_total

    def _on_RepairCompleted(self, event: RepairCompleted) -> None:
        self.status = "completed"
