"""How far a projection is behind a store, end to end: the one rule behind ``/api/v1/projections``'s ``stores``
and the ``gov_store_projection_lag_seconds`` gauge.

Measured from the **store**, not from the topic: an outbox that cannot publish, a relay that stopped or a broker
that lost the events leave the topic quiet and its consumers "caught up", while the store holds commands nobody
sees. A projection is behind a store by the age of the oldest event of the store it has not applied: the store's
first event recorded after the newest one the projection applied (``EventStore.first_recorded_after``). Pure:
the times are handed in, nothing is read here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

NOTHING_APPLIED = ""
"""The moment of a projection that applied nothing of a topic yet (every recorded time sorts after it)."""


@dataclass(frozen=True)
class ProjectedTopics:
    """What one projector reads and, per topic, when the newest event it applied was recorded."""

    projector: str
    topics: tuple[str, ...]
    last_event_at: Mapping[str, str]

    def applied_up_to(self, topic: str) -> str:
        """When the newest event of ``topic`` it applied was recorded (``NOTHING_APPLIED`` if none)."""
        return self.last_event_at.get(topic) or NOTHING_APPLIED


def is_behind(store_last_event_at: str | None, applied_up_to: str) -> bool:
    """Whether the store holds an event recorded after the newest the projection applied. Times are ISO 8601
    with the same offset, as the stores record them (``recorded_at``), so they compare as text."""
    return bool(store_last_event_at) and applied_up_to < str(store_last_event_at)


def behind_seconds(
    store_last_event_at: str | None, applied_up_to: str | None, now: datetime, first_unapplied_at: str | None = None
) -> float:
    """Seconds a projection is behind a store: 0 when it applied the store's newest event (or the store is empty),
    else the age of the oldest event it has not applied, ``first_unapplied_at`` (the store's first event recorded
    after ``applied_up_to``). Without that time, the age of the store's newest event: a lower bound (under a
    steady stream of commands it stays near 0 however far behind the projection is)."""
    if not is_behind(store_last_event_at, applied_up_to or NOTHING_APPLIED):
        return 0.0
    since = first_unapplied_at or str(store_last_event_at)
    return max((now - datetime.fromisoformat(since)).total_seconds(), 0.0)


def moments_to_look_up(
    store_heads: Mapping[str, str | None], projectors: Iterable[ProjectedTopics]
) -> dict[str, set[str]]:
    """Per topic, the moments (``applied_up_to`` of each projector behind that store) whose first later event
    the store is to be asked for; a store no projector is behind is not asked at all."""
    wanted: dict[str, set[str]] = {}
    for projected in projectors:
        for topic in projected.topics:
            if topic in store_heads and is_behind(store_heads[topic], projected.applied_up_to(topic)):
                wanted.setdefault(topic, set()).add(projected.applied_up_to(topic))
    return wanted


def projection_lags(
    store_heads: Mapping[str, str | None],
    projectors: Iterable[ProjectedTopics],
    now: datetime,
    first_after: Mapping[tuple[str, str], str | None] | None = None,
) -> dict[tuple[str, str], float]:
    """Per (store's topic, projector): how far the projector is behind that store, for every store it reads.

    ``store_heads`` maps each topic whose store answered to its newest event's time (None: an empty store); a
    topic missing there (its service did not answer) is measured for no projector (unknown, not fresh).
    ``first_after[topic, moment]``: the store's first event recorded after ``moment`` (``moments_to_look_up``)."""
    found = first_after or {}
    lags: dict[tuple[str, str], float] = {}
    for projected in projectors:
        for topic in projected.topics:
            if topic in store_heads:
                applied = projected.applied_up_to(topic)
                first = found.get((topic, applied))
                lags[topic, projected.projector] = behind_seconds(store_heads[topic], applied, now, first)
    return lags
