"""Reference district client: send inbound messages from files and follow the platform's topics.

    python -m tools.district_client send --district 320402 --type office_space.register_agency agencies.csv
    python -m tools.district_client follow office_space.events --from-beginning
    python -m tools.district_client follow office_space.events --read-as AgencyRegistered=1
    python -m tools.district_client rejections --district 320402

``send`` reads a JSON file (one payload or a list), a JSON-lines file (one payload a line) or a CSV file
(one payload a row; cells are typed by the message type's contract: integer, number, boolean and
array columns are parsed, others stay text), wraps every payload
in the inbound envelope and sends it to ``district.<code>.inbound`` with progress. Message ids are derived
from the file's name and the record's position, so sending the same file again is harmless: the platform
records each message once. ``follow`` prints every message of a topic as a JSON line; ``--read-as
EventType=N`` hands events of a newer version to a consumer written against version N, as version N
(``contracts.read_as``: the properties version N does not know are dropped).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kafka import TopicPartition

from services.common.base import contracts
from services.common.kernel.errors import ContractViolation
from services.common.read.broker import make_consumer, make_producer, require_topics, settle_positions
from services.common.read.inbound import inbound_topic, rejected_topic
from services.common.read.progress import Progress


def _property_types(message_type: str, version: int) -> dict[str, Any]:
    """The JSON types the payload contract gives each property (to read CSV cells right)."""
    path = contracts.inbound_schema_path(message_type, version)
    properties = json.loads(path.read_text(encoding="utf-8")).get("properties", {}) if path.exists() else {}
    return {name: spec.get("type") for name, spec in properties.items()}


def _cell(text: str, kind: Any) -> Any:
    """A CSV cell as its contract's type says: numbers, booleans and arrays are parsed, strings kept."""
    if kind in ("integer", "number", "boolean", "array", "object"):
        try:
            return json.loads(text)
        except ValueError:
            return text  # the platform will refuse it with a reason
    return text


def read_payloads(path: Path, message_type: str = "", version: int = 1) -> Iterator[dict[str, Any]]:
    """The payloads in a .json, .jsonl or .csv file (CSV cells typed by the message type's contract)."""
    if path.suffix == ".csv":
        types = _property_types(message_type, version)
        with path.open(encoding="utf-8-sig", newline="") as handle:
            for row in csv.DictReader(handle):
                yield {key: _cell(value, types.get(key)) for key, value in row.items() if value != ""}
    elif path.suffix == ".jsonl":
        with path.open(encoding="utf-8") as handle:
            yield from (json.loads(line) for line in handle if line.strip())
    else:
        data = json.loads(path.read_text(encoding="utf-8"))
        yield from (data if isinstance(data, list) else [data])


def envelope(
    district: str, message_type: str, message_id: str, payload: dict[str, Any], version: int = 1
) -> dict[str, Any]:
    """An inbound message around ``payload``."""
    return {
        "message_id": message_id,
        "message_type": message_type,
        "schema_version": version,
        "district": district,
        "sent_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "payload": payload,
    }


def send(
    bootstrap: str, district: str, message_type: str, path: Path, id_prefix: str | None = None, version: int = 1
) -> int:
    """Send every payload of ``path``; returns how many were sent (acknowledged by the broker).

    The district's topic must exist (the platform makes it): sending would otherwise make it, on Tansu, with a
    partition count of the broker's own."""
    require_topics(bootstrap, [inbound_topic(district)])
    producer = make_producer(bootstrap)
    prefix = id_prefix or path.stem
    progress = Progress(f"send {path.name}")
    futures = []
    for number, payload in enumerate(read_payloads(path, message_type, version), start=1):
        message = envelope(district, message_type, f"{prefix}-{number}", payload, version)
        value = json.dumps(message, ensure_ascii=False).encode()
        futures.append(producer.send(inbound_topic(district), key=message["message_id"].encode(), value=value))
        progress.advance()
    producer.flush()
    for future in futures:
        future.get(timeout=30)
    progress.finish()
    return len(futures)


def as_version(topic: str, value: bytes, read_as: dict[str, int]) -> str:
    """One outbound message as a JSON line, with events named in ``read_as`` given at that older version."""
    text = value.decode("utf-8", errors="replace")
    if not read_as:
        return text
    try:
        message = json.loads(text)
        wanted = read_as.get(message.get("event_type"))
        if wanted is None or message.get("schema_version", 0) <= wanted:
            return text
        domain = topic.split(".", 1)[0]
        payload = contracts.read_as(
            domain, message["event_type"], message["schema_version"], message["payload"], wanted
        )
    except (ValueError, AttributeError, KeyError, TypeError):
        return text  # not an envelope: printed as it is
    except ContractViolation as exc:
        print(f"{message.get('event_id')}: not readable as v{wanted}: {exc}", file=sys.stderr)
        return text
    return json.dumps({**message, "schema_version": wanted, "payload": payload}, ensure_ascii=False)


def follow(
    bootstrap: str,
    topic: str,
    from_beginning: bool,
    limit: int | None = None,
    idle_seconds: float | None = None,
    read_as: dict[str, int] | None = None,
) -> int:
    """Print the messages of ``topic`` as JSON lines; stop after ``limit`` or ``idle_seconds`` without any."""
    consumer = make_consumer(bootstrap)
    partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or [])]
    consumer.assign(partitions)
    settle_positions(consumer, partitions, consumer.seek_to_beginning if from_beginning else consumer.seek_to_end)
    printed, idle = 0, 0.0
    while limit is None or printed < limit:
        batch = consumer.poll(timeout_ms=500)
        idle = 0.0 if batch else idle + 0.5
        if idle_seconds is not None and idle >= idle_seconds:
            break
        for records in batch.values():
            for record in records:
                sys.stdout.write(as_version(topic, record.value, read_as or {}) + "\n")
                printed += 1
        sys.stdout.flush()
    return printed


def main(argv: list[str] | None = None) -> None:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap", default="127.0.0.1:9092", help="Kafka bootstrap servers")
    sub = parser.add_subparsers(dest="action", required=True)
    send_cmd = sub.add_parser("send", help="send inbound messages from a .json, .jsonl or .csv file")
    send_cmd.add_argument("--district", required=True)
    send_cmd.add_argument("--type", required=True, dest="message_type", help="e.g. office_space.register_agency")
    send_cmd.add_argument("--id-prefix", help="message ids are <prefix>-<n> (default: the file's name)")
    send_cmd.add_argument("--schema-version", type=int, default=1, help="the message type's contract version")
    send_cmd.add_argument("file", type=Path)
    follow_cmd = sub.add_parser("follow", help="print a topic's messages as JSON lines")
    follow_cmd.add_argument("topic")
    follow_cmd.add_argument("--from-beginning", action="store_true")
    follow_cmd.add_argument("--idle-seconds", type=float, help="stop after this long without a message")
    follow_cmd.add_argument(
        "--read-as",
        action="append",
        default=[],
        metavar="EventType=N",
        help="give newer versions of EventType as version N (for a consumer written against N)",
    )
    rejections = sub.add_parser("rejections", help="print a district's rejected messages")
    rejections.add_argument("--district", required=True)
    args = parser.parse_args(argv)
    if args.action == "send":
        count = send(args.bootstrap, args.district, args.message_type, args.file, args.id_prefix, args.schema_version)
        print(f"sent {count} messages to {inbound_topic(args.district)}", file=sys.stderr)
    elif args.action == "follow":
        pinned = {name: int(number) for name, _, number in (item.partition("=") for item in args.read_as)}
        follow(args.bootstrap, args.topic, args.from_beginning, idle_seconds=args.idle_seconds, read_as=pinned)
    else:
        follow(args.bootstrap, rejected_topic(args.district), from_beginning=True, idle_seconds=2.0)


if __name__ == "__main__":
    main()
