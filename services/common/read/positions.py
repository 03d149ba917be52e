"""Where a consumer or a relay stands on the broker's logs, decided from what they recorded and what the broker
has now (pure: no I/O; the callers fetch the topic ids and offsets).

A Kafka offset means something only on the log it was read from. A broker that starts empty (Tansu keeps
topics in memory), or a topic deleted and created again, gives the same topic name a new **topic id** and a
log that starts again at 0: an offset stored for the old log then points into the middle of the new one, and
the messages before it are skipped without anyone noticing. So every stored position is kept with the topic
id it belongs to, and checked against the log's start and end whenever partitions are assigned:

- another topic id than recorded, or a stored offset before the log's start: the partition is read from its
  start (every consumer ignores events it applied already, by ``event_id``); a stored offset past the log's
  end counts only for a topic whose id was not recorded yet (offsets stored before ids were), because
- Tansu reports a partition's end as the base offset of its last record batch + 1, not as the offset after its
  last record: a consumer that read a batch of five stands four past the reported end of the very same log.
  The topic id, not the end, tells a consumer that its log is another one;
- a relay whose topic has another id, or a partition that ends before its mark, knows the broker lost events
  its position counts as published, and publishes its store again. Its mark is the offset of the first event
  of its last acknowledged round on that partition, + 1: at or below the end Tansu and Kafka both report.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

TOPIC_RECREATED = "topic_recreated"
"""The topic has another id than the one the position was recorded on."""
BEYOND_END = "beyond_end"
"""The stored position is past the log's end: the log is shorter than it was."""
BEFORE_START = "before_start"
"""The stored position is before the log's start: retention removed what it points to."""


@dataclass(frozen=True)
class Start:
    """Where to read a partition from: ``offset`` None means from the log's start; ``reason`` says why a stored
    offset was not used (None when it was, or when there was none)."""

    offset: int | None
    reason: str | None = None


def consumer_starts(
    stored: Mapping[tuple[str, int], int],
    recorded_ids: Mapping[str, str],
    topic_ids: Mapping[str, str],
    beginnings: Mapping[tuple[str, int], int],
    ends: Mapping[tuple[str, int], int],
) -> dict[tuple[str, int], Start]:
    """Where to read each (topic, partition) of ``ends`` from.

    ``stored`` are the offsets kept by the consumer, ``recorded_ids`` the topic ids they were kept for (a topic
    without one, as recorded before ids were kept, is judged by its offsets alone), ``topic_ids`` the broker's
    ids now, ``beginnings`` and ``ends`` each partition's log start and (as the broker reports it) end now.
    """
    starts: dict[tuple[str, int], Start] = {}
    for key, end in ends.items():
        topic = key[0]
        offset = stored.get(key)
        recorded = recorded_ids.get(topic)
        if offset is None:
            starts[key] = Start(None)
        elif recorded and topic_ids.get(topic) and recorded != topic_ids[topic]:
            starts[key] = Start(None, TOPIC_RECREATED)
        elif offset > end and not recorded:
            starts[key] = Start(None, BEYOND_END)
        elif offset < beginnings.get(key, 0):
            starts[key] = Start(None, BEFORE_START)
        else:
            starts[key] = Start(offset)
    return starts


def relay_lost(recorded_id: str | None, marks: Mapping[int, int], topic_id: str, ends: Mapping[int, int]) -> str | None:
    """Why the broker no longer has every event a relay had acknowledged (None when it has them).

    ``recorded_id`` and ``marks`` are what the relay recorded (the topic id, and per partition the offset of the
    first event of its last acknowledged round there, + 1); ``topic_id`` and ``ends`` what the broker has now.
    """
    if recorded_id and recorded_id != topic_id:
        return TOPIC_RECREATED
    if any(ends.get(partition, 0) < mark for partition, mark in marks.items()):
        return BEYOND_END
    return None
