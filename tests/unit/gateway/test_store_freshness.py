"""The data center's freshness measured from each service's store, not from its topic."""

from __future__ import annotations

from datetime import UTC, datetime

from services.gateway.datacenter import store_freshness

NOW = datetime(2026, 12, 6, 2, 0, 0, tzinfo=UTC)


def _head(last_position: int, last_event_at: str | None, relay_position: int) -> dict[str, object]:
    return {"last_position": last_position, "last_event_at": last_event_at, "relay_position": relay_position}


def test_a_projection_that_applied_the_stores_newest_event_is_not_behind() -> None:
    at = "2026-12-06T01:00:00.000000+00:00"
    got = store_freshness(_head(40, at, 40), at, NOW)
    assert (got["lag_seconds"], got["unpublished_events"]) == (0.0, 0)


def test_an_outbox_that_cannot_publish_shows_as_lag_though_the_topic_has_none() -> None:
    # the store's newest event was recorded 01:59:15, 45 s before now; the relay is stuck at position 37 of 40;
    # the data center applied everything on the topic (its newest event 01:50:00): lag 45 s, 40 - 37 = 3 unpublished
    got = store_freshness(_head(40, "2026-12-06T01:59:15.000000+00:00", 37), "2026-12-06T01:50:00.000000+00:00", NOW)
    assert (got["lag_seconds"], got["unpublished_events"]) == (45.0, 3)


def test_a_projection_that_applied_nothing_yet_is_behind_by_the_stores_newest_event() -> None:
    # 2:00:00 - 1:58:00 = 120 s
    got = store_freshness(_head(2, "2026-12-06T01:58:00.000000+00:00", 2), None, NOW)
    assert got["lag_seconds"] == 120.0


def test_an_empty_store_is_never_behind() -> None:
    assert store_freshness(_head(0, None, 0), None, NOW)["lag_seconds"] == 0.0


def test_a_service_that_did_not_answer_is_reported_unavailable_not_fresh() -> None:
    got = store_freshness(None, "2026-12-06T01:00:00.000000+00:00", NOW)
    assert got == {"available": False, "lag_seconds": None, "unpublished_events": None}
