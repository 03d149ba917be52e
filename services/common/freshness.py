"""How far a projection is behind a store, end to end: the one rule behind ``/api/v1/projections``'s ``stores``
and the ``gov_store_projection_lag_seconds`` gauge.

Measured from the **store** (its newest recorded event), not from the topic: an outbox that cannot publish, a
relay that stopped or a broker that lost the events leave the topic quiet and its consumers "caught up", while the
store holds commands nobody sees. Pure: the times are handed in, nothing is read here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class ProjectedTopics:
    """What one projector reads and, per topic, when the newest event it applied was recorded."""

    projector: str
    topics: tuple[str, ...]
    last_event_at: Mapping[str, str]


def behind_seconds(store_last_event_at: str | None, projected_last_event_at: str | None, now: datetime) -> float:
    """Seconds a projection is behind a store: 0 when it applied the store's newest event (or the store is empty),
    else the age of the store's newest event (the oldest event not applied is at least that old, so this is a
    lower bound that grows for as long as nothing reaches the projection).

    Times are ISO 8601 with an offset, as the stores record them (``recorded_at``), so they compare as text."""
    if not store_last_event_at:
        return 0.0
    if projected_last_event_at is not None and projected_last_event_at >= store_last_event_at:
        return 0.0
    return max((now - datetime.fromisoformat(store_last_event_at)).total_seconds(), 0.0)


def projection_lags(
    store_heads: Mapping[str, str | None], projectors: Iterable[ProjectedTopics], now: datetime
) -> dict[tuple[str, str], float]:
    """Per (store's topic, projector): how far the projector is behind that store, for every store it reads.

    ``store_heads`` maps each topic whose store answered to its newest event's time (None: an empty store); a
    topic missing there (its service did not answer) is measured for no projector (unknown, not fresh)."""
    lags: dict[tuple[str, str], float] = {}
    for projected in projectors:
        for topic in projected.topics:
            if topic in store_heads:
                lags[topic, projected.projector] = behind_seconds(
                    store_heads[topic], projected.last_event_at.get(topic), now
                )
    return lags
