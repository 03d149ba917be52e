"""Dead letters: list them with their reasons, and re-publish them to their source topic after a fix.

A projector sends a message it cannot apply to ``<topic>.dlq`` with the reason in its headers
(``dlq_reason``, ``dlq_detail``, ``dlq_source`` = ``topic:partition:offset``, ``dlq_projector``).
Once the cause is fixed (a projection bug deployed, an upcaster added), ``--replay`` sends every dead
letter not replayed yet back to its source topic, with its original key (so the same partition) and
a ``dlq_replayed_from`` header; the projectors then apply it (an event already applied meanwhile is
ignored by ``event_id``). How far the DLQ has been replayed is committed in Kafka, per partition, as
the offsets of the consumer group ``gov-dlq-replay``, so a second ``--replay`` sends only newer ones. A dead
letter whose clear personal fields were withheld (header ``dlq_redacted``: an event stored before sealing,
docs/personal-data.md) is replayed from its original, read at ``dlq_source``::

    python -m services.common.runtime.dlq office_space.events.dlq             # list (the default)
    python -m services.common.runtime.dlq office_space.events --list          # the same: .dlq is implied
    python -m services.common.runtime.dlq office_space.events.dlq --replay    # re-publish what was not replayed
    python -m services.common.runtime.dlq office_space.events.dlq --replay --from-beginning --reason projection_failed
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, TextIO

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.structs import OffsetAndMetadata

from services.common.base.log import configure_logging, get_logger
from services.common.base.settings import settings
from services.common.read.broker import HEADER_KEYS, header, make_consumer, make_producer
from services.common.read.projector import DLQ_REDACTED_HEADER
from services.common.write.cloud_events import cloudevent_headers_of

REPLAY_GROUP = "gov-dlq-replay"
"""The consumer group whose committed offsets on a DLQ topic say how far it was replayed."""

log = get_logger()


@dataclass(frozen=True)
class DeadLetterRecord:
    """One message of a dead-letter topic and why it is there."""

    partition: int
    offset: int
    timestamp_ms: int
    key: bytes | None
    value: bytes
    reason: str
    detail: str
    source: str
    projector: str | None
    event_id: str | None
    event_type: str | None
    redacted: tuple[str, ...] = ()
    """The personal fields withheld from ``value`` (``dlq_redacted``): the original is at ``source``."""

    @property
    def source_topic(self) -> str:
        """The topic the message was read from (``dlq_source`` is ``topic:partition:offset``)."""
        return self.source.rsplit(":", 2)[0]

    def describe(self) -> str:
        """One line for an operator."""
        when = datetime.fromtimestamp(self.timestamp_ms / 1000, UTC).isoformat(timespec="seconds")
        event = f"{self.event_type or '?'} {self.event_id or '?'}"
        return (
            f"{self.partition}:{self.offset}  {when}  {self.reason}  from {self.source}  {event}  {self.detail[:200]}"
        )


def dlq_topic_of(topic: str) -> str:
    """The dead-letter topic of ``topic`` (``topic`` itself when it already is one)."""
    return topic if topic.endswith(".dlq") else f"{topic}.dlq"


def _consumer(bootstrap: str) -> KafkaConsumer:
    return make_consumer(bootstrap, group_id=REPLAY_GROUP, client_id="gov-dlq")


def _partitions(consumer: KafkaConsumer, topic: str) -> list[TopicPartition]:
    return [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]


def replayed_up_to(bootstrap: str, dlq_topic: str) -> dict[int, int]:
    """Per partition, the offset up to which the DLQ has been replayed (0 when never)."""
    consumer = _consumer(bootstrap)
    try:
        return {tp.partition: consumer.committed(tp) or 0 for tp in _partitions(consumer, dlq_topic)}
    finally:
        consumer.close()


def read_dead_letters(bootstrap: str, dlq_topic: str, start: dict[int, int] | None = None) -> list[DeadLetterRecord]:
    """Every dead letter of ``dlq_topic`` (from the offsets in ``start``, else the beginning), in order."""
    consumer = _consumer(bootstrap)
    try:
        tps = _partitions(consumer, dlq_topic)
        if not tps:
            return []
        consumer.assign(tps)
        ends = consumer.end_offsets(tps)
        for tp in tps:
            consumer.seek(tp, (start or {}).get(tp.partition, 0))
        records: list[DeadLetterRecord] = []
        while any(consumer.position(tp) < ends[tp] for tp in tps):
            batch = consumer.poll(timeout_ms=500, max_records=2000)
            for tp in sorted(batch, key=lambda t: t.partition):
                records.extend(_dead_letter(r) for r in batch[tp] if r.offset < ends[tp])
        return sorted(records, key=lambda r: (r.partition, r.offset))
    finally:
        consumer.close()


def _dead_letter(record: Any) -> DeadLetterRecord:
    headers = record.headers
    data = _json_object(record.value)
    return DeadLetterRecord(
        partition=record.partition,
        offset=record.offset,
        timestamp_ms=record.timestamp,
        key=record.key,
        value=record.value,
        reason=header(headers, "dlq_reason") or "unknown",
        detail=header(headers, "dlq_detail") or "",
        source=header(headers, "dlq_source") or f"{record.topic.removesuffix('.dlq')}:?:?",
        projector=header(headers, "dlq_projector"),
        event_id=_text(data.get("event_id")),
        event_type=_text(data.get("event_type")),
        redacted=tuple(filter(None, (header(headers, DLQ_REDACTED_HEADER) or "").split(","))),
    )


def _json_object(value: bytes | None) -> dict[str, Any]:
    try:
        data = json.loads(value or b"")
    except (ValueError, UnicodeDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def replay(
    bootstrap: str,
    dlq_topic: str,
    from_beginning: bool = False,
    reason: str | None = None,
    producer: KafkaProducer | None = None,
) -> list[DeadLetterRecord]:
    """Re-publish the dead letters not replayed yet (or all) to their source topics; the ones sent.

    ``reason`` limits the replay to one reason; the others are passed over (and not replayed by the
    next ``replay`` either, unless ``from_beginning``). The replay position is committed only after
    the broker acknowledged every message: a replay killed midway sends some again, never loses one.
    """
    start = {} if from_beginning else replayed_up_to(bootstrap, dlq_topic)
    letters = read_dead_letters(bootstrap, dlq_topic, start)
    chosen = [letter for letter in letters if reason is None or letter.reason == reason]
    chosen = [_with_original(bootstrap, letter) if letter.redacted else letter for letter in chosen]
    producer = producer or make_producer(bootstrap)
    futures = [producer.send(letter.source_topic, **_message(dlq_topic, letter)) for letter in chosen]
    producer.flush()
    for future in futures:
        future.get(timeout=30)
    _commit(bootstrap, dlq_topic, letters)
    for letter in chosen:
        log.info("dead_letter_replayed", topic=letter.source_topic, event_id=letter.event_id, reason=letter.reason)
    return chosen


def _with_original(bootstrap: str, letter: DeadLetterRecord, timeout_s: float = 10.0) -> DeadLetterRecord:
    """The dead letter with its original value, read at ``dlq_source`` (its own value withholds personal fields);
    LookupError when the source no longer holds it (a replay must not publish a withheld value as the event)."""
    topic, partition, offset = letter.source.rsplit(":", 2)
    if not (partition.isdigit() and offset.isdigit()):
        raise LookupError(f"dead letter {letter.partition}:{letter.offset} names no source record ({letter.source})")
    tp = TopicPartition(topic, int(partition))
    consumer = make_consumer(bootstrap, client_id="gov-dlq")
    try:
        consumer.assign([tp])
        consumer.seek(tp, int(offset))
        deadline = datetime.now(UTC).timestamp() + timeout_s
        while datetime.now(UTC).timestamp() < deadline:
            records = consumer.poll(timeout_ms=500, max_records=1).get(tp, [])
            if records:  # the record at the offset, or the next one when it is gone (retention, compaction)
                if records[0].offset == int(offset):
                    return replace(letter, value=records[0].value, redacted=())
                break
    finally:
        consumer.close()
    raise LookupError(f"the original of dead letter {letter.partition}:{letter.offset} is gone from {letter.source}")


def _message(dlq_topic: str, letter: DeadLetterRecord) -> dict[str, Any]:
    data = _json_object(letter.value)
    headers = [(k, str(data[k]).encode()) for k in HEADER_KEYS if data.get(k) is not None]
    headers += cloudevent_headers_of(data)  # CloudEvents 1.0 binary mode, as the relay sent it
    headers.append(("dlq_replayed_from", f"{dlq_topic}:{letter.partition}:{letter.offset}".encode()))
    return {"key": letter.key, "value": letter.value, "headers": headers}


def _commit(bootstrap: str, dlq_topic: str, letters: Iterable[DeadLetterRecord]) -> None:
    newest: dict[int, int] = {}
    for letter in letters:
        newest[letter.partition] = max(newest.get(letter.partition, 0), letter.offset + 1)
    if not newest:
        return
    consumer = _consumer(bootstrap)
    try:
        offsets = {TopicPartition(dlq_topic, p): OffsetAndMetadata(o, "", -1) for p, o in newest.items()}
        consumer.commit(offsets)
    finally:
        consumer.close()


def main(argv: list[str] | None = None, out: TextIO = sys.stdout) -> int:
    """List or replay one dead-letter topic; the number of dead letters listed or replayed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("topic", help="the dead-letter topic (<domain>.events.dlq) or its source topic")
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--list", action="store_true", help="list the dead letters and their reasons (default)")
    action.add_argument("--replay", action="store_true", help="re-publish them to their source topic")
    parser.add_argument("--from-beginning", action="store_true", help="replay every one, not only new ones")
    parser.add_argument("--reason", help="only the dead letters of this reason (e.g. projection_failed)")
    args = parser.parse_args(argv)
    config = settings()
    configure_logging("dlq", config.log_level)
    topic = dlq_topic_of(args.topic)
    if args.replay:
        sent = replay(config.kafka_bootstrap, topic, args.from_beginning, args.reason)
        for letter in sent:
            print(f"replayed {letter.describe()}", file=out)
        print(f"{len(sent)} dead letters of {topic} re-published", file=out)
        return len(sent)
    done = replayed_up_to(config.kafka_bootstrap, topic)
    letters = [r for r in read_dead_letters(config.kafka_bootstrap, topic) if args.reason in (None, r.reason)]
    for letter in letters:
        mark = "replayed" if letter.offset < done.get(letter.partition, 0) else "pending "
        print(f"{mark} {letter.describe()}", file=out)
    print(f"{len(letters)} dead letters in {topic}", file=out)
    return len(letters)


if __name__ == "__main__":
    main()
