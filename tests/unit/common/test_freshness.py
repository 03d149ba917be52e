"""How far each projection is behind each store it reads, end to end (services.common.freshness)."""

from __future__ import annotations

from datetime import UTC, datetime

from services.common.freshness import ProjectedTopics, behind_seconds, projection_lags

NOW = datetime(2026, 12, 6, 2, 0, 0, tzinfo=UTC)
AT_0159 = "2026-12-06T01:59:00.000000+00:00"
AT_0150 = "2026-12-06T01:50:00.000000+00:00"


def test_a_projection_that_applied_the_stores_newest_event_is_not_behind() -> None:
    assert behind_seconds(AT_0159, AT_0159, NOW) == 0.0


def test_a_projection_short_of_the_stores_newest_event_is_behind_by_that_events_age() -> None:
    # the store's newest event 01:59:00, the projection's newest 01:50:00: 02:00:00 - 01:59:00 = 60 s
    assert behind_seconds(AT_0159, AT_0150, NOW) == 60.0


def test_an_empty_store_is_never_behind() -> None:
    assert behind_seconds(None, None, NOW) == 0.0


def test_every_projector_is_measured_against_every_store_it_reads_and_no_other() -> None:
    datacenter = ProjectedTopics("datacenter", ("energy.events", "office_space.events"), {"energy.events": AT_0159})
    views = ProjectedTopics("vehicles-views", ("office_space.events",), {"office_space.events": AT_0150})
    heads = {"energy.events": AT_0159, "office_space.events": AT_0150, "vehicles.events": AT_0159}
    assert projection_lags(heads, [datacenter, views], NOW) == {
        ("energy.events", "datacenter"): 0.0,  # applied energy's newest event
        ("office_space.events", "datacenter"): 600.0,  # applied nothing of it: 02:00 - 01:50 = 600 s
        ("office_space.events", "vehicles-views"): 0.0,  # applied office_space's newest event
    }  # vehicles.events is read by neither: no series for it


def test_a_store_that_did_not_answer_is_measured_for_no_projector() -> None:
    datacenter = ProjectedTopics("datacenter", ("energy.events", "vehicles.events"), {})
    # energy did not answer: unknown, not "0 s behind"; vehicles' store is 02:00 - 01:59 = 60 s ahead
    assert projection_lags({"vehicles.events": AT_0159}, [datacenter], NOW) == {("vehicles.events", "datacenter"): 60.0}
