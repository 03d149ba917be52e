"""The platform's Kafka interface as an AsyncAPI 3.0 document, generated from ``contracts/``.

    python -m tools.asyncapi > contracts/asyncapi.yaml

Channels: every domain's ``<domain>.events`` (what districts and other consumers subscribe to) and its
``.dlq``; every district's ``district.{district}.inbound`` and ``district.{district}.rejected``. Each
message's payload is the JSON Schema under ``contracts/`` with one example. A contract test keeps the
committed file equal to what this module generates, and ``make test`` checks it with the AsyncAPI parser.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml

from services.common.base import contracts
from services.common.base.settings import SERVICES, topic_for
from services.common.read.broker import HEADER_KEYS
from services.common.write.cloud_events import cloudevent_header_schema

TITLE = "Municipal Government Offices Affairs platform — event interface"


def _schema(path: Path) -> dict[str, Any]:
    """A contract as an AsyncAPI schema object (JSON Schema keywords it shares; no $schema/$id)."""
    schema = json.loads(path.read_text(encoding="utf-8"))
    return {k: v for k, v in schema.items() if k not in ("$schema", "$id", "examples")}


def _example(path: Path) -> dict[str, Any]:
    examples: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8")).get("examples", [])
    return examples[0] if examples else {}


def _event_message(domain: str, event_type: str, version: int, path: Path) -> dict[str, Any]:
    envelope = _schema(contracts.CONTRACTS_DIR / "envelope.v1.json")
    envelope["properties"] = {**envelope["properties"], "payload": _schema(path)}
    example = {
        **_example(contracts.CONTRACTS_DIR / "envelope.v1.json"),
        "domain": domain,
        "event_type": event_type,
        "schema_version": version,
        "payload": _example(path),
    }
    return {
        "name": event_type,
        "title": f"{event_type} v{version}",
        "summary": _schema(path).get("description", ""),
        "contentType": "application/json",
        "headers": {
            "type": "object",
            "description": "The platform's own headers and the CloudEvents 1.0 binary-mode attributes "
            "(services.common.write.cloud_events): any CloudEvents SDK reads the message as a CloudEvent whose data "
            "is the envelope.",
            "properties": {
                **{key: {"type": "string"} for key in HEADER_KEYS},
                **cloudevent_header_schema(domain, event_type, version),
            },
            "required": ["ce_id", "ce_source", "ce_type", "ce_specversion", "ce_time", "ce_subject"],
        },
        "payload": envelope,
        "examples": [{"name": f"{event_type}-v{version}", "payload": example}],
    }


def _inbound_message(message_type: str, version: int, path: Path) -> dict[str, Any]:
    envelope = _schema(contracts.CONTRACTS_DIR / "inbound" / "message.v1.json")
    envelope["properties"] = {
        **envelope["properties"],
        "message_type": {"const": message_type},
        "schema_version": {"const": version},
        "payload": _schema(path),
    }
    example = {
        **_example(contracts.CONTRACTS_DIR / "inbound" / "message.v1.json"),
        "message_type": message_type,
        "schema_version": version,
        "payload": _example(path),
    }
    return {
        "name": message_type,
        "title": f"{message_type} v{version}",
        "summary": _schema(path).get("description", ""),
        "contentType": "application/json",
        "payload": envelope,
        "examples": [{"name": f"{message_type}-v{version}", "payload": example}],
    }


REJECTION = {
    "name": "Rejection",
    "title": "A refused inbound message",
    "summary": "Why the platform refused a district's message (nothing of it was recorded), or the items of a "
    "batch it refused while recording the rest (reason partly_rejected).",
    "contentType": "application/json",
    "payload": {
        "type": "object",
        "required": ["district", "reason", "message", "fields", "source", "rejected_at"],
        "properties": {
            "message_id": {"type": ["string", "null"]},
            "message_type": {"type": ["string", "null"]},
            "district": {"type": "string", "pattern": "^[0-9]{6}$"},
            "reason": {
                "type": "string",
                "description": "malformed_json, too_large, invalid_message, wrong_district, not_in_scope, "
                "partly_rejected (a batch recorded but for the items in fields), or the owning service's error code",
            },
            "message": {"type": "string"},
            "fields": {"type": "object", "description": "field path → reasons"},
            "details": {
                "type": "object",
                "description": "the owning service's figures, e.g. a budget's remaining amount",
            },
            "source": {"type": "string", "description": "topic:partition:offset of the refused message"},
            "rejected_at": {"type": "string", "format": "date-time"},
        },
    },
    "examples": [
        {
            "name": "invalid-payload",
            "payload": {
                "message_id": "tn-2026-11-23-000002",
                "message_type": "office_space.register_agency",
                "district": "320402",
                "reason": "invalid_message",
                "message": "the payload does not match office_space.register_agency.v1.json",
                "fields": {"payload.name": ['"" is shorter than 1 character']},
                "source": "district.320402.inbound:1:17",
                "rejected_at": "2026-11-23T00:00:01.000000+00:00",
            },
        }
    ],
}

DEAD_LETTER = {
    "name": "DeadLetter",
    "title": "An event a consumer could not apply",
    "summary": "The original message, unchanged, with the reason in its headers.",
    "contentType": "application/json",
    "headers": {
        "type": "object",
        "properties": {k: {"type": "string"} for k in ("dlq_reason", "dlq_detail", "dlq_source", "dlq_projector")},
    },
    "payload": {"description": "the original message value, as it was on the source topic"},
}

DISTRICT = {"description": "Six-digit administrative division code of the district (辖市区), e.g. 320402."}


def document() -> dict[str, Any]:
    """The AsyncAPI 3.0 document."""
    messages: dict[str, Any] = {"Rejection": REJECTION, "DeadLetter": DEAD_LETTER}
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    by_domain: dict[str, list[str]] = {}
    for domain, event_type, version, path in contracts.available_schemas():
        key = f"{domain}.{event_type}.v{version}"
        messages[key] = _event_message(domain, event_type, version, path)
        by_domain.setdefault(domain, []).append(key)
    for domain in SERVICES:
        topic = topic_for(domain)
        channels[f"{domain}_events"] = {
            "address": topic,
            "title": f"{domain} events",
            "description": f"Every event of the {domain} service, keyed by stream id (one aggregate's events stay in order).",
            "messages": {
                k.replace(".", "_"): {"$ref": f"#/components/messages/{k}"} for k in by_domain.get(domain, [])
            },
        }
        channels[f"{domain}_dlq"] = {
            "address": f"{topic}.dlq",
            "description": "Events a consumer could not apply, with the reason.",
            "messages": {"DeadLetter": {"$ref": "#/components/messages/DeadLetter"}},
        }
        operations[f"publish_{domain}_events"] = {"action": "send", "channel": {"$ref": f"#/channels/{domain}_events"}}
    inbound = {}
    for path in sorted((contracts.CONTRACTS_DIR / "inbound").glob("*.v*.json")):
        name, _, number = path.name.removesuffix(".json").rpartition(".v")
        if name != "message":
            messages[f"inbound.{name}.v{number}"] = _inbound_message(name, int(number), path)
            inbound[f"{name.replace('.', '_')}_v{number}"] = {"$ref": f"#/components/messages/inbound.{name}.v{number}"}
    channels["district_inbound"] = {
        "address": "district.{district}.inbound",
        "description": "What a district's own systems send; every message is idempotent on its message_id.",
        "parameters": {"district": DISTRICT},
        "messages": inbound,
    }
    channels["district_rejected"] = {
        "address": "district.{district}.rejected",
        "description": "The platform's refusals of a district's messages, with reasons.",
        "parameters": {"district": DISTRICT},
        "messages": {"Rejection": {"$ref": "#/components/messages/Rejection"}},
    }
    operations["receive_district_messages"] = {"action": "receive", "channel": {"$ref": "#/channels/district_inbound"}}
    operations["send_district_rejections"] = {"action": "send", "channel": {"$ref": "#/channels/district_rejected"}}
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": TITLE,
            "version": "1.0.0",
            "description": "Outbound domain events, district inbound messages and their refusals. "
            "Generated from contracts/ by `python -m tools.asyncapi`.\n\n"
            "Versions: every message names its `schema_version`; the payload follows "
            "`contracts/events/<domain>/<EventType>.v<N>.json`. Events stored before a new version stay at "
            "their version on the topic. A version N+1 keeps every property of N with the same type (the "
            "compatibility gate refuses anything else), so a consumer written against N reads N+1 by ignoring "
            "the properties it does not know (the reference client: `follow --read-as EventType=N`). "
            "Inbound messages may be sent at any version that has a contract in `contracts/inbound/`.",
        },
        "defaultContentType": "application/json",
        "servers": {
            "local": {"host": "127.0.0.1:9092", "protocol": "kafka", "description": "Tansu started by make run"},
            "production": {
                "host": "kafka-1.gov.internal:9093",
                "protocol": "kafka-secure",
                "description": "Apache Kafka cluster, SASL_SSL (see infra/KAFKA.md)",
            },
        },
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages},
    }


def render() -> str:
    """The document as YAML."""
    return str(yaml.safe_dump(document(), allow_unicode=True, sort_keys=False, width=120))


if __name__ == "__main__":
    sys.stdout.write(render())
