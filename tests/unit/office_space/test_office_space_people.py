"""A person's identity across agencies: one stream per person, so one post at a time (pure: no I/O)."""

from __future__ import annotations

import pytest

from services.common.kernel.errors import AlreadyExists, NotFound, RuleViolation
from services.office_space.domain.people import Person, PersonLeftPost, PersonTookPost, PostedElsewhere


def posted(at: str = "A1") -> Person:
    person = Person("P1")
    person.take_post(at, "320402", "below_section", "2021-03-01")
    person.mark_stored()
    return person


def test_a_person_on_post_at_one_agency_cannot_be_posted_at_another_and_the_refusal_names_it() -> None:
    person = posted("A1")
    with pytest.raises(PostedElsewhere) as refused:
        person.take_post("A2", "320402", "below_section", "2026-01-01")
    assert (refused.value.http_status, refused.value.details) == (409, {"person_id": "P1", "agency_id": "A1"})
    with pytest.raises(AlreadyExists):
        person.take_post("A1", "320402", "below_section", "2026-01-01")
    assert person.pending_events == []


def test_after_leaving_a_person_may_take_a_post_elsewhere() -> None:
    person = posted("A1")
    person.leave_post("A1", "left", "2026-03-31")
    person.take_post("A2", "320403", "below_section", "2026-04-01")
    left, took = person.pending_events
    assert isinstance(left, PersonLeftPost) and isinstance(took, PersonTookPost)
    assert (person.on_post_at, person.district) == ("A2", "320403")


def test_a_transfer_moves_a_person_from_the_agency_that_holds_them_to_another() -> None:
    person = posted("A1")
    with pytest.raises(RuleViolation, match="another agency"):
        person.require_transferable("A1", "A1")
    with pytest.raises(PostedElsewhere):
        person.require_transferable("A3", "A2")  # A3 does not hold them
    person.require_transferable("A1", "A2")
    person.leave_post("A1", "transferred", "2026-12-01")
    person.take_post("A2", "320402", "below_section", "2026-12-01", from_agency_id="A1")
    assert person.pending_events[-1].from_agency_id == "A1"  # type: ignore[attr-defined]


def test_only_the_agency_that_holds_a_person_records_them_leaving() -> None:
    with pytest.raises(NotFound):
        posted("A1").leave_post("A2", "retired", "2026-03-31")
