"""How far each projection is behind each store it reads, end to end (services.common.read.freshness)."""

from __future__ import annotations

from datetime import UTC, datetime

from services.common.read.freshness import ProjectedTopics, behind_seconds, moments_to_look_up, projection_lags

NOW = datetime(2026, 12, 6, 2, 0, 0, tzinfo=UTC)
AT_0159 = "2026-12-06T01:59:00.000000+00:00"
AT_0150 = "2026-12-06T01:50:00.000000+00:00"


def test_a_projection_that_applied_the_stores_newest_event_is_not_behind() -> None:
    assert behind_seconds(AT_0159, AT_0159, NOW) == 0.0


def test_a_projection_short_of_the_stores_newest_event_is_behind_by_that_events_age() -> None:
    # the store's newest event 01:59:00, the projection's newest 01:50:00: 02:00:00 - 01:59:00 = 60 s
    assert behind_seconds(AT_0159, AT_0150, NOW) == 60.0


def test_under_a_steady_stream_the_lag_is_the_age_of_the_oldest_event_not_applied() -> None:
    # commands keep coming (the newest at 01:59:59) while the projection applied nothing after 01:50:00; the
    # store's first event after that was recorded 01:50:01: 02:00:00 - 01:50:01 = 599 s, not the newest's 1 s
    assert behind_seconds("2026-12-06T01:59:59.000000+00:00", AT_0150, NOW, "2026-12-06T01:50:01.000000+00:00") == 599.0


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


def test_only_the_stores_a_projector_is_behind_are_asked_for_their_first_unapplied_event() -> None:
    datacenter = ProjectedTopics("datacenter", ("energy.events", "office_space.events"), {"energy.events": AT_0159})
    views = ProjectedTopics("vehicles-views", ("office_space.events",), {"office_space.events": AT_0150})
    heads = {"energy.events": AT_0159, "office_space.events": AT_0159}
    # energy: applied its newest, not asked; office_space: the data center applied nothing (""), the views 01:50
    assert moments_to_look_up(heads, [datacenter, views]) == {"office_space.events": {"", AT_0150}}
    first_after = {
        ("office_space.events", ""): "2026-12-06T01:40:00.000000+00:00",
        ("office_space.events", AT_0150): AT_0159,
    }
    assert projection_lags(heads, [datacenter, views], NOW, first_after) == {
        ("energy.events", "datacenter"): 0.0,
        ("office_space.events", "datacenter"): 1200.0,  # 02:00 - 01:40 = 20 min
        ("office_space.events", "vehicles-views"): 60.0,  # 02:00 - 01:59 = 60 s
    }
