"""CloudEvents 1.0 binary-mode headers of every event published on Kafka.

Event tooling (Knative, Argo Events, the CloudEvents SDKs) reads a Kafka message as a CloudEvent when its
headers carry the CloudEvents attributes with the ``ce_`` prefix (the Kafka protocol binding, binary mode).
The message value stays the platform's envelope JSON (the event's ``data``), so existing consumers, which
read the value and the platform's own headers, see nothing change.

The attributes are mapped from the envelope in this one function, applied where the relay produces
(``services.common.runtime.relay``), and again where a dead letter is replayed to its topic
(``services.common.runtime.dlq``, which rebuilds a message's headers from its value):

- ``ce_id`` — ``event_id`` (unique across the platform, so ``source`` + ``id`` is unique too);
- ``ce_source`` — ``/<domain>/<stream_type>``, the service and the kind of record that emitted it;
- ``ce_type`` — ``cn.gov.offices.<domain>.<event_type>.v<schema_version>``: reverse-DNS, versioned, so a
  consumer routes on the type and never mistakes a v1 payload for a v2 one;
- ``ce_specversion`` — ``1.0``;
- ``ce_time`` — ``occurred_at`` (RFC 3339, UTC);
- ``ce_subject`` — ``stream_id``, the record the event is about (also the message key);
- ``content-type`` — ``application/json`` (the binding's ``datacontenttype`` header).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

SPEC_VERSION = "1.0"
TYPE_PREFIX = "cn.gov.offices"


ENVELOPE_KEYS = ("event_id", "domain", "stream_type", "event_type", "schema_version", "occurred_at", "stream_id")
"""The envelope fields the attributes are mapped from."""


def cloudevent_headers_of(value: Mapping[str, Any]) -> list[tuple[str, bytes]]:
    """The CloudEvents headers of a message value that is an envelope; none for anything else (a message
    replayed from a dead-letter topic may be a poison message that is no envelope at all, or one whose fields are
    lists or objects)."""
    return cloudevent_headers(value) if all(isinstance(value.get(k), str | int) for k in ENVELOPE_KEYS) else []


def cloudevent_headers(envelope: Mapping[str, Any]) -> list[tuple[str, bytes]]:
    """The CloudEvents binary-mode Kafka headers of a published envelope (or a stored event row)."""
    source, kind = _source_and_type(
        envelope["domain"], envelope["stream_type"], envelope["event_type"], envelope["schema_version"]
    )
    return [
        ("ce_id", str(envelope["event_id"]).encode()),
        ("ce_source", source),
        ("ce_type", kind),
        ("ce_specversion", _SPEC_VERSION),
        ("ce_time", str(envelope["occurred_at"]).encode()),
        ("ce_subject", str(envelope["stream_id"]).encode()),
        ("content-type", _CONTENT_TYPE),
    ]


_SPEC_VERSION = SPEC_VERSION.encode()
_CONTENT_TYPE = b"application/json"


@functools.lru_cache(maxsize=1024)
def _source_and_type(domain: str, stream_type: str, event_type: str, version: int) -> tuple[bytes, bytes]:
    """``ce_source`` and ``ce_type`` of a kind of event, encoded once (the relay sends thousands a second, of a few
    dozen kinds; bounded, as a dead letter replayed may name anything)."""
    return f"/{domain}/{stream_type}".encode(), f"{TYPE_PREFIX}.{domain}.{event_type}.v{version}".encode()


def cloudevent_header_schema(domain: str, event_type: str, version: int) -> dict[str, dict[str, str]]:
    """The JSON Schema of each CloudEvents header of one event type (for the AsyncAPI document)."""
    return {
        "ce_id": {"type": "string", "description": "CloudEvents id: the envelope's event_id."},
        "ce_source": {"type": "string", "pattern": f"^/{domain}/", "description": "/<domain>/<stream_type>."},
        "ce_type": {"const": f"{TYPE_PREFIX}.{domain}.{event_type}.v{version}", "description": "CloudEvents type."},
        "ce_specversion": {"const": SPEC_VERSION, "description": "CloudEvents 1.0, Kafka binary mode."},
        "ce_time": {"type": "string", "format": "date-time", "description": "The envelope's occurred_at."},
        "ce_subject": {"type": "string", "description": "The envelope's stream_id (the message key)."},
        "content-type": {"const": "application/json", "description": "CloudEvents datacontenttype."},
    }
