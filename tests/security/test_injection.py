"""Hostile strings in every string field of representative commands: each is refused with a 4xx or stored
exactly as sent (in the event store, and in the data center's directory for agency names); never a 5xx.

Raw bytes that are not UTF-8 (an overlong encoding of ``/``) make the body unreadable: 400.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest
import sqlalchemy as sa

from services.common.base.db import create_db_engine
from services.common.base.personal import KEY_STORE, KeyStore, is_token
from services.common.base.settings import load_settings
from services.common.write.store import events_table
from services.gateway.web import RouteSpec
from tests.security.support import (
    DISTRICT_A,
    ROUTES,
    World,
    operation,
    request_for,
    resolve,
    wait_for,
)
from tests.support import agency_code

REPRESENTATIVE = ("register_agency", "post_staff", "register_building", "install_meter", "open_budget_line")
"""One creating command of each service (those that exist)."""

HOSTILE = {
    "sql": "x'); DROP TABLE events; --",
    "sql_or": "' OR '1'='1' --",
    "path": "../../../../etc/passwd",
    "path_windows": "..\\..\\windows\\win.ini",
    "script": "<script>alert('x')</script>",
    "nul": "before\x00after",
    "control": "\x1b[2J\r\n\t",
    "unicode": "\u200f\u200b\ufeff𠜎𝒳",  # a right-to-left mark, zero-width space, BOM, astral characters: text
    "bidi": "abc\u202egnp.exe",  # a right-to-left override: refused (it shows as abcexe.png)
    "template": "{{7*7}} ${jndi:ldap://127.0.0.1/x} %s%n",
    "long": "长" * 70_000,
}
COUNTER = itertools.count()


def _commands() -> list[RouteSpec]:
    return [spec for attr, spec in ROUTES if attr in REPRESENTATIVE and spec.body is not None]


def _string_fields(spec: RouteSpec) -> list[str]:
    schema = resolve(operation(spec)["requestBody"]["content"]["application/json"]["schema"])
    names = []
    for name, prop in schema.get("properties", {}).items():
        kind = prop.get("type")
        kinds = kind if isinstance(kind, list) else [kind]
        if "string" in kinds and "enum" not in prop and "format" not in prop:
            names.append(name)
    return names


def _send(world: World, spec: RouteSpec, field: str, value: str) -> tuple[int, Any, dict[str, Any]]:
    """The command with ``value`` in ``field`` and fresh ids elsewhere; once more with fresh required ids
    when the first try only collided with an earlier one (409)."""
    admin = world.tokens["city_admin"]
    for attempt in range(2):
        n = next(COUNTER)
        path, body = request_for(spec, DISTRICT_A, fresh=f"-i{n}")
        if attempt:
            schema = resolve(operation(spec)["requestBody"]["content"]["application/json"]["schema"])
            for name in schema.get("required", []):
                if name.endswith("_id") and name != field and not name.endswith("agency_id"):
                    body[name] = f"{body[name]}-i{n}"
        body[field] = value
        status, answer, _ = world.platform.request("POST", path, body, admin)
        if status != 409:
            break
    return status, answer, body


def test_there_are_representative_commands() -> None:
    assert len(_commands()) >= 3


@pytest.mark.parametrize("spec", _commands(), ids=lambda spec: spec.url)
def test_hostile_strings_are_refused_or_stored_verbatim(world: World, spec: RouteSpec) -> None:
    stored: list[tuple[list[str], str, str]] = []  # (the command's event ids, field, value)
    fields = _string_fields(spec)
    assert fields
    for field in fields:
        for kind, value in HOSTILE.items():
            status, answer, _ = _send(world, spec, field, value)
            assert status < 500, f"{field}={kind}: {status} {answer}"
            assert status != 401 and status != 403, answer
            if 200 <= status < 300:
                stored.append((answer["event_ids"], field, value))
            else:
                assert set(answer) >= {"error", "message", "fields"}, answer
    assert stored, "no hostile string was accepted: the verbatim check did not run"
    assert spec.service
    engine = create_db_engine(
        world.platform.database_urls.get(spec.service) or f"sqlite:///{world.platform.var_dir / (spec.service + '.db')}"
    )
    ids = {event_id for event_ids, _, _ in stored for event_id in event_ids}
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(events_table.c.event_id, events_table.c.payload).where(events_table.c.event_id.in_(ids))
        ).all()
    engine.dispose()
    payloads = {row.event_id: json.loads(row.payload) for row in rows}
    config = load_settings(dict(world.platform.env))
    keys = KeyStore.from_settings(create_db_engine(config.database_url(KEY_STORE)), config)
    for event_ids, field, value in stored:
        assert set(event_ids) <= set(payloads)
        # one of the command's events carries the field (posting staff also records the person's own stream,
        # which holds no name); a personal field is stored sealed: what it holds is what its token opens to
        written = [s for event_id in event_ids for s in _strings(payloads[event_id])]
        written += [keys.decrypt_field(s) for s in written if is_token(s)]
        assert value in written, f"{field}: {value!r} was not stored as sent"
    keys.engine.dispose()


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def test_an_agency_name_comes_back_from_the_data_center_exactly_as_sent(world: World) -> None:
    admin = world.tokens["city_admin"]
    for kind in ("sql", "script", "unicode", "path"):
        agency_id = agency_code(DISTRICT_A, f"INJ-{kind}")
        name = HOSTILE[kind]
        body = {
            "agency_id": agency_id,
            "name": name,
            "district": DISTRICT_A,
            "kind": "party_government",
            "admin_level": "city",
            "authorised_headcount": 3,
        }
        status, answer, _ = world.platform.request("POST", "/api/v1/agencies", body, admin)
        assert status == 201, answer
        assert wait_for(world.platform, f"/api/v1/agencies/{agency_id}", admin)["name"] == name
    status, listing, _ = world.platform.request("GET", "/api/v1/agencies?limit=500", token=admin)
    assert status == 200 and HOSTILE["sql"] in {item["name"] for item in listing["items"]}


def test_nul_characters_are_refused_at_the_edge(world: World) -> None:
    """PostgreSQL cannot store NUL in text: accepted, it would be in the event store but fail every
    projection of it. The gateway refuses it in bodies, URLs and query strings (422, naming where); other
    control characters (but tab, LF, CR) likewise, and bidirectional overrides."""
    admin = world.tokens["city_admin"]
    body = {"agency_id": "INJ-NUL", "name": HOSTILE["nul"], "district": DISTRICT_A, "kind": "party_government"}
    status, answer, _ = world.platform.request("POST", "/api/v1/agencies", body, admin)
    assert (status, answer["error"], answer["fields"]) == (422, "validation_failed", {"name": ["contains NUL"]})
    body["name"] = HOSTILE["control"]
    status, answer, _ = world.platform.request("POST", "/api/v1/agencies", body, admin)
    assert (status, answer["fields"]) == (422, {"name": ["contains the control character U+001B"]})
    body["name"] = HOSTILE["bidi"]  # text that shows other than it reads ("Trojan Source")
    status, answer, _ = world.platform.request("POST", "/api/v1/agencies", body, admin)
    reason = "contains the bidirectional control U+202E (text shown other than it reads)"
    assert (status, answer["fields"]) == (422, {"name": [reason]})
    for path in ("/api/v1/agencies/A%00B", "/api/v1/agencies?district=%00"):
        status, answer, _ = world.platform.request("GET", path, token=admin)
        assert (status, answer["error"]) == (422, "validation_failed"), path


def test_hostile_ids_in_urls_and_query_strings_are_refused_not_failed(world: World) -> None:
    admin = world.tokens["city_admin"]
    for path in (
        "/api/v1/agencies/%27%20OR%20%271%27%3D%271",
        "/api/v1/agencies/..%2F..%2Fetc%2Fpasswd",
        "/api/v1/agencies/%00",
        "/api/v1/agencies/%3Cscript%3E",
        "/api/v1/agencies?district=320402%27%20OR%201%3D1--",
        "/api/v1/agencies?limit=1;DROP%20TABLE%20agencies",
        "/api/v1/datacenter/findings?agency_id=%27%20OR%20%271%27%3D%271",
        "/api/v1/datacenter/agencies/%E2%80%AE%F0%A0%9C%8E",
    ):
        status, body, _ = world.platform.request("GET", path, token=admin)
        assert 400 <= status < 500, f"{path}: {status} {body}"


def test_bodies_that_are_not_utf8_or_not_objects_are_refused(world: World) -> None:
    admin = world.tokens["city_admin"]
    overlong_slash = b'{"agency_id": "OVERLONG", "name": "\xc0\xaf\xc0\xafetc", "district": "320402"}'
    for raw in (overlong_slash, b"\xff\xfe{}", b"[1, 2, 3]", b'"a string"', b"null", b'{"name": "a"' + b"}" * 1000):
        status, body, _ = world.platform.request("POST", "/api/v1/agencies", token=admin, raw=raw)
        assert status in (400, 422), f"{raw[:40]!r}: {status} {body}"
