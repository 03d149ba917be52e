"""A person's identity across agencies (人员身份): one stream per person id, so a person on post at one agency
cannot be posted at another without a transfer.

Staff are held by their agency (``Agency.staff``), one aggregate per agency; nothing there stops the same
person id from being posted at two agencies at once, and a projection keyed by person id then could not apply
the second post. The person's own stream is the consistency boundary: every post, departure and transfer
appends to it in the same transaction as the agencies' events, with the store's optimistic concurrency, so
of two concurrent posts of one person only one commits (the other gets a version conflict and, retried, is
refused naming the agency that holds the person).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from services.common.kernel.aggregate import Aggregate
from services.common.kernel.errors import AlreadyExists, NotFound, RuleViolation
from services.office_space.domain.base import OfficeSpaceEvent


@dataclass(frozen=True)
class PersonTookPost(OfficeSpaceEvent):
    """The person took up a post at ``agency_id`` (by a posting, or by a transfer from ``from_agency_id``)."""

    person_id: str
    agency_id: str
    district: str
    rank: str
    posted_on: str
    from_agency_id: str | None


@dataclass(frozen=True)
class PersonLeftPost(OfficeSpaceEvent):
    """The person left their post at ``agency_id`` (retired, transferred or left) on ``departed_on``."""

    person_id: str
    agency_id: str
    reason: str
    departed_on: str


class PostedElsewhere(AlreadyExists):
    """The person is on post at another agency: a transfer moves them (409, naming that agency)."""

    code = "posted_elsewhere"


class Person(Aggregate):
    """One person: at which agency they are on post now, if any."""

    stream_type: ClassVar[str] = "Person"

    def _init_state(self) -> None:
        self.on_post_at: str | None = None
        self.rank = ""

    def require_free_for(self, agency_id: str) -> None:
        """Refuse when the person is on post at an agency other than ``agency_id`` (409 naming it)."""
        if self.on_post_at is not None and self.on_post_at != agency_id:
            raise PostedElsewhere(
                f"{self.id} is on post at {self.on_post_at}: transfer them instead",
                fields={"person_id": [f"on post at {self.on_post_at}"]},
                details={"person_id": self.id, "agency_id": self.on_post_at},
            )

    def take_post(
        self, agency_id: str, district: str, rank: str, posted_on: str, from_agency_id: str | None = None
    ) -> None:
        """The person takes up a post at ``agency_id``; refused while on post elsewhere."""
        self.require_free_for(agency_id)
        if self.on_post_at == agency_id:
            raise AlreadyExists(
                f"{self.id} is already on post at {agency_id}", fields={"person_id": ["already on post"]}
            )
        self._record(
            PersonTookPost(
                person_id=self.id,
                agency_id=agency_id,
                district=district,
                rank=rank,
                posted_on=posted_on,
                from_agency_id=from_agency_id,
            )
        )

    def leave_post(self, agency_id: str, reason: str, departed_on: str) -> None:
        """The person leaves their post at ``agency_id``."""
        if self.on_post_at != agency_id:
            raise NotFound(f"{self.id} is not on post at {agency_id}", fields={"person_id": ["not on post"]})
        self._record(PersonLeftPost(person_id=self.id, agency_id=agency_id, reason=reason, departed_on=departed_on))

    def require_transferable(self, from_agency_id: str, to_agency_id: str) -> None:
        """A transfer moves a person on post at ``from_agency_id`` to another agency."""
        require_another_agency(from_agency_id, to_agency_id)
        if self.on_post_at is not None and self.on_post_at != from_agency_id:
            self.require_free_for(from_agency_id)

    def _on_PersonTookPost(self, event: PersonTookPost) -> None:
        self.on_post_at, self.rank = event.agency_id, event.rank
        self.agency_id, self.district = event.agency_id, event.district

    def _on_PersonLeftPost(self, event: PersonLeftPost) -> None:
        self.on_post_at = None


def require_another_agency(from_agency_id: str, to_agency_id: str) -> None:
    """A transfer goes from one agency to another."""
    if from_agency_id == to_agency_id:
        raise RuleViolation("a transfer goes to another agency", fields={"to_agency_id": ["same agency"]})
