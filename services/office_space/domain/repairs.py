"""Major and medium repair projects (大中修项目): application → necessity review → approval → execution."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import ClassVar, Self

from services.common.kernel.aggregate import Aggregate
from services.common.kernel.errors import InvalidState, RuleViolation, require_status
from services.common.kernel.events import register_fen_upcaster
from services.common.kernel.money import MAX_FEN, require_fen
from services.office_space.domain.base import OfficeSpaceEvent

REPAIR_CATEGORIES = ("major", "medium")
"""大修, 中修."""


@dataclass(frozen=True)
class RepairApplied(OfficeSpaceEvent):
    """An agency applied for a repair project with its scope and budget (v2: fen; v1's float yuan still published)."""

    schema_version: ClassVar[int] = 2
    legacy_yuan: ClassVar[dict[str, str]] = {"budget": "budget_fen"}

    project_id: str
    agency_id: str
    district: str
    building_id: str
    category: str
    scope: str
    budget_fen: int
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
    """The project was approved with a budget (v2: fen; v1's float yuan still published)."""

    schema_version: ClassVar[int] = 2
    legacy_yuan: ClassVar[dict[str, str]] = {"approved_budget": "approved_budget_fen"}

    project_id: str
    approved_budget_fen: int
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
    """A change during execution, with its reason and amount (negative: a saving); one outside the approved plan
    (方案外增项、变更) is flagged. v2: fen; v1's float yuan still published."""

    schema_version: ClassVar[int] = 2
    legacy_yuan: ClassVar[dict[str, str]] = {"amount": "amount_fen", "changes_total": "changes_total_fen"}

    project_id: str
    description: str
    reason: str
    amount_fen: int
    outside_plan: bool
    flagged: bool
    changes_total_fen: int


@dataclass(frozen=True)
class RepairCompleted(OfficeSpaceEvent):
    """Works finished with their final cost (v2: fen; v1's float yuan still published)."""

    schema_version: ClassVar[int] = 2
    legacy_yuan: ClassVar[dict[str, str]] = {"final_cost": "final_cost_fen"}

    project_id: str
    completed_on: str
    final_cost_fen: int


register_fen_upcaster(RepairApplied)


register_fen_upcaster(RepairApproved)


register_fen_upcaster(RepairChangeRecorded)


register_fen_upcaster(RepairCompleted)


class RepairProject(Aggregate):
    """A major or medium repair project of an office building."""

    stream_type: ClassVar[str] = "RepairProject"

    def _init_state(self) -> None:
        self.status = ""
        self.budget_fen = 0
        self.approved_budget_fen = 0
        self.changes_total_fen = 0
        self.necessary: bool | None = None

    @classmethod
    def apply(
        cls,
        *,
        project_id: str,
        agency_id: str,
        district: str,
        building_id: str,
        category: str,
        scope: str,
        budget_fen: int,
        today: date,
    ) -> Self:
        """Apply for a project with its scope and budget (fen)."""
        require_fen("budget_fen", budget_fen, minimum=1)
        project = cls(project_id)
        project._record(
            RepairApplied(
                project_id=project_id,
                agency_id=agency_id,
                district=district,
                building_id=building_id,
                category=category,
                scope=scope,
                budget_fen=budget_fen,
                applied_on=today.isoformat(),
            )
        )
        return project

    def review_necessity(self, necessary: bool, opinion: str, reviewed_by: str) -> None:
        """Conclude the necessity review."""
        require_status(f"project {self.id}", self.status, "applied")
        self._record(NecessityReviewed(self.id, necessary, opinion, reviewed_by))

    def approve(self, approved_budget_fen: int, approved_by: str) -> None:
        """Approve a project the review found necessary, with a budget."""
        require_status(f"project {self.id}", self.status, "reviewed")
        if not self.necessary:
            raise InvalidState(
                "the necessity review found the project unnecessary", fields={"project_id": ["not necessary"]}
            )
        require_fen("approved_budget_fen", approved_budget_fen, minimum=1)
        self._record(
            RepairApproved(project_id=self.id, approved_budget_fen=approved_budget_fen, approved_by=approved_by)
        )

    def reject(self, reason: str, rejected_by: str) -> None:
        """Refuse the project (before or after the review)."""
        require_status(f"project {self.id}", self.status, "applied", "reviewed")
        self._record(RepairRejected(self.id, reason, rejected_by))

    def start_execution(self, today: date) -> None:
        """Begin works: only an approved project."""
        require_status(f"project {self.id}", self.status, "approved")
        self._record(RepairExecutionStarted(self.id, today.isoformat()))

    def record_change(self, description: str, reason: str, amount_fen: int, outside_plan: bool) -> None:
        """Record a change during execution with its reason; flagged (to be reported) when outside the plan."""
        require_status(f"project {self.id}", self.status, "executing")
        if not reason.strip():
            raise RuleViolation("a change needs its reason", fields={"reason": ["required"]})
        require_fen("amount_fen", amount_fen, minimum=-MAX_FEN)
        self._record(
            RepairChangeRecorded(
                project_id=self.id,
                description=description,
                reason=reason,
                amount_fen=amount_fen,
                outside_plan=outside_plan,
                flagged=outside_plan,
                changes_total_fen=self.changes_total_fen + amount_fen,
            )
        )

    def complete(self, final_cost_fen: int, today: date) -> None:
        """Finish the works with their final cost (fen)."""
        require_status(f"project {self.id}", self.status, "executing")
        require_fen("final_cost_fen", final_cost_fen)
        self._record(RepairCompleted(project_id=self.id, completed_on=today.isoformat(), final_cost_fen=final_cost_fen))

    def _on_RepairApplied(self, event: RepairApplied) -> None:
        self.status, self.agency_id, self.district, self.budget_fen = (
            "applied",
            event.agency_id,
            event.district,
            event.budget_fen,
        )

    def _on_NecessityReviewed(self, event: NecessityReviewed) -> None:
        self.status, self.necessary = "reviewed", event.necessary

    def _on_RepairApproved(self, event: RepairApproved) -> None:
        self.status, self.approved_budget_fen = "approved", event.approved_budget_fen

    def _on_RepairRejected(self, event: RepairRejected) -> None:
        self.status = "rejected"

    def _on_RepairExecutionStarted(self, event: RepairExecutionStarted) -> None:
        self.status = "executing"

    def _on_RepairChangeRecorded(self, event: RepairChangeRecorded) -> None:
        self.changes_total_fen = event.changes_total_fen

    def _on_RepairCompleted(self, event: RepairCompleted) -> None:
        self.status = "completed"
