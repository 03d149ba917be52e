"""The fault campaign's city: a load across all five services, and the checks made against their stores.

- ``seed_city``: the seeded agencies get a vehicle quota, and each service is waited for until it knows the
  seeded agencies and buildings (it learns them from office-space events), so the load is not refused for
  reasons the faults have nothing to do with.
- ``CityLoad``: office-space commands, vehicles registered, assets entered in the ledger, budget lines opened
  and meters installed, each creating something with an id of its own. Every fifth command is sent once only
  (``retry=False``): its answer is what the client is left with, so a 503 can be checked to mean "not done".
- ``check_stores``: every command answered 2xx is in its service's store exactly once (and its answered event
  ids are stored); a command answered 503 or 4xx left nothing; one with no answer, or another 5xx, is there at
  most once; nothing is stored that nobody asked for; every stored event is on its topic; no event was
  dead-lettered.
- ``check_rebuild``: the data center in the gateway database equals one rebuilt from the topics into an empty
  database, table by table, once the platform is quiet.
"""

from __future__ import annotations

import dataclasses
import time
from collections import Counter
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from services.common.base.db import create_db_engine
from services.common.base.settings import SERVICES
from services.common.runtime.dlq import read_dead_letters
from services.gateway import views
from tests.faults.harness import (
    CONVERGE_SECONDS,
    DOMAIN,
    Command,
    FaultPlatform,
    Load,
    Outcome,
    Seed,
    event_id_of,
    key_of,
    new_command,
    send,
    store_events,
)
from tests.support import owned_vehicle, read_topic

OFFICE_SPACE_KINDS = ("agency", "staff", "room", "headcount")
KINDS = (*OFFICE_SPACE_KINDS, "vehicle", "asset", "budget_line", "meter")
ONCE_EVERY = 5
"""Every fifth command of the load is sent once, not retried."""
YEAR = 2026


def vehicle_body(vehicle_id: str, agency: str, n: int) -> dict[str, Any]:
    """A vehicle already owned (counted in the quota), with a plate of its own (苏D and five digits)."""
    return owned_vehicle(vehicle_id, agency, f"苏D{n % 100_000:05d}")


def asset_body(asset_id: str, agency: str, number: int) -> dict[str, Any]:
    return {
        "asset_id": asset_id,
        "agency_id": agency,
        "category": "furniture",
        "name": "办公桌",
        "location": "301",
        "original_value_fen": 100 * number,
        "acquired_on": "2024-03-01",
    }


def budget_line_body(line_id: str, agency: str, number: int) -> dict[str, Any]:
    return {"budget_line_id": line_id, "agency_id": agency, "year": YEAR, "purpose": "办公用品", "amount_fen": number}


def meter_body(meter_id: str, agency: str, building: str) -> dict[str, Any]:
    return {
        "meter_id": meter_id,
        "serial_no": f"SN-{meter_id}",
        "kind": "electricity",
        "agency_id": agency,
        "district": "320402",
        "building_id": building,
        "initial_reading": 1000,
        "installed_at": f"{YEAR}-01-01T00:00:00+08:00",
    }


def city_command(kind: str, key: str, agency: str, building: str, n: int, number: int) -> Command:
    """A command of another service than office space, creating ``key``."""
    if kind == "vehicle":
        return new_command(kind, key, "/api/v1/vehicles", vehicle_body(key, agency, n), service="vehicles")
    if kind == "asset":
        return new_command(kind, key, "/api/v1/assets", asset_body(key, agency, number), service="assets")
    if kind == "budget_line":
        body = budget_line_body(key, agency, 1000 * number)
        return new_command(kind, key, "/api/v1/budget-lines", body, service="procurement")
    assert kind == "meter", kind
    return new_command(kind, key, "/api/v1/meters", meter_body(key, agency, building), service="energy")


def _not_known_yet(outcome: Outcome) -> bool:
    """A 422 because the service has not yet read the agency or building from office-space events."""
    return outcome.status == 422 and "unknown" in str(outcome.body)


def seed_city(platform: FaultPlatform, token: str, seed: Seed, timeout: float = 90) -> None:
    """Give the seeded agencies a vehicle quota and one record in every other service, each sent until the
    service knows the agency (and building), so the load's commands are judged on their merits alone."""
    deadline = time.monotonic() + timeout
    for i, (agency, building) in enumerate(zip(seed.agencies, seed.buildings, strict=True)):
        reason = f"chaos quota {agency}"
        quota = new_command(
            "quota",
            reason,
            f"/api/v1/agencies/{agency}/vehicle-quota",
            {"quota": 10_000, "reason": reason},
            service="vehicles",
        )
        commands = [quota] + [
            city_command(kind, f"S{kind}-{agency}", agency, building, 90_000 + i, 100) for kind in KINDS[4:]
        ]
        for command in commands:
            while _not_known_yet(outcome := send(platform, token, command, deadline)):
                assert time.monotonic() < deadline, f"{command.service} never learned {agency}: {outcome.body}"
                time.sleep(0.3)
            seed.outcomes.append(outcome)
    refused = [o for o in seed.outcomes if not o.accepted]
    assert not refused, f"the seed was refused: {[(o.command.key, o.status, o.body) for o in refused]}"


class CityLoad(Load):
    """The load of the campaign: commands of every service in turn; every fifth one sent once only."""

    def command(self, n: int, number: int) -> Command:
        kind = KINDS[n % len(KINDS)]
        if kind in OFFICE_SPACE_KINDS:
            command = self.office_space_command(kind, n, number)
        else:
            i = n % len(self.seed.agencies)
            key = f"C{kind}-{self.tag}-{n}"
            command = city_command(kind, key, self.seed.agencies[i], self.seed.buildings[i], n, number)
        return dataclasses.replace(command, retry=n % ONCE_EVERY != ONCE_EVERY - 1)


# -- the checks --------------------------------------------------------------------------------------


def _times_allowed(outcome: Outcome) -> tuple[int, ...]:
    """How many times an outcome's command may be in its store: a retried command must have been accepted."""
    if outcome.accepted:
        return (1,)
    if not outcome.command.retry and (outcome.status == 503 or 400 <= outcome.status < 500):
        return (0,)  # 503: "not done" (README, Answers and retries); 4xx: refused
    if not outcome.command.retry:
        return (0, 1)  # no answer, or 500/502: unknown
    return ()  # a retried command that was never accepted: the platform did not recover


def check_stores(
    platform: FaultPlatform, outcomes: list[Outcome], district_agencies: Collection[str] = ()
) -> dict[str, int]:
    """Assert what every command's answer promised against the stores and the topics; the stored events by
    service."""
    stored_by_service: dict[str, int] = {}
    wrong: list[str] = []
    for service in SERVICES:
        events = store_events(platform, service)
        ids = [e.event_id for e in events]
        assert len(ids) == len(set(ids)), f"an event id is stored twice in {service}"
        per_key = Counter(k for k in map(key_of, events) if k)
        mine = [o for o in outcomes if o.command.service == service]
        for outcome in mine:
            key = (outcome.command.kind, outcome.command.key)
            if per_key[key] not in _times_allowed(outcome):
                wrong.append(
                    f"{service} {key}: answered {outcome.status} {str(outcome.body)[:120]} after {outcome.attempts}"
                    f" attempts (retried: {outcome.command.retry}), in the store {per_key[key]} times"
                )
            elif outcome.accepted and not set(outcome.body["event_ids"]) <= set(ids):
                wrong.append(f"{service} {key}: answered event ids are not stored")
        issued = {(o.command.kind, o.command.key) for o in mine}
        if service == DOMAIN:
            issued |= {("agency", agency) for agency in district_agencies}
            wrong += [
                f"district agency {a} stored {per_key['agency', a]} times"
                for a in district_agencies
                if per_key["agency", a] != 1
            ]
        unasked = sorted(set(per_key) - issued)
        assert not unasked, f"{service}: events nobody asked for: {unasked[:10]}"
        _wait_on_topic(platform, f"{service}.events", set(ids))
        letters = read_dead_letters(platform.bootstrap, f"{service}.events.dlq")
        assert not letters, f"{service}: dead letters {[letter.describe() for letter in letters[:5]]}"
        stored_by_service[service] = len(ids)
    assert not wrong, f"{len(wrong)} commands broke their answer's promise: " + "; ".join(wrong[:10])
    return stored_by_service


def _wait_on_topic(platform: FaultPlatform, topic: str, stored: set[str]) -> None:
    deadline = time.monotonic() + CONVERGE_SECONDS
    while True:
        on_kafka = {event_id_of(r.value) for r in read_topic(platform.bootstrap, topic)}
        missing = stored - on_kafka
        if not missing or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert not missing, f"{len(missing)} stored events never reached {topic}, e.g. {sorted(missing)[:5]}"


BOOKKEEPING = ("projector_", "alembic_version", "api_tokens", "idempotency_keys")
"""Tables of the gateway database that are not projections (positions, seen ids, migrations, tokens, the
commands each idempotency key was first sent with)."""


def projection_tables(engine: Engine) -> list[str]:
    """The data center's projection tables in ``engine``."""
    return sorted(t for t in sa.inspect(engine).get_table_names() if not t.startswith(BOOKKEEPING))


STAMPED = {"dc_figure_changes": "topic, agency_id"}
"""Tables compared on some columns: a figure-change stamp is an event's id or, after a reset, a new one
(``services/gateway/views/changes.py``); which agencies are stamped must agree, not the stamps."""


def table_rows(engine: Engine, table: str) -> list[tuple[Any, ...]]:
    """Every row of ``table``, sorted (so two databases built in another order compare equal)."""
    with engine.connect() as conn:
        rows = conn.execute(sa.text(f'SELECT {STAMPED.get(table, "*")} FROM "{table}"')).all()
    return sorted((tuple(row) for row in rows), key=repr)


def rebuilt_data_center(platform: FaultPlatform, path: Path) -> Engine:
    """A data center rebuilt from the platform's topics into the empty SQLite database ``path``."""
    engine = create_db_engine(f"sqlite:///{path}")
    views.prepare_database(engine)
    views.data_center_projector(engine, platform.bootstrap).rebuild()
    return engine


def differences(live: Engine, rebuilt: Engine) -> Iterator[str]:
    """The projection tables whose rows differ between the two databases."""
    for table in projection_tables(rebuilt):
        got, want = table_rows(live, table), table_rows(rebuilt, table)
        if got != want:
            yield f"{table}: {len(got)} rows live, {len(want)} rebuilt"


def check_rebuild(platform: FaultPlatform, path: Path) -> int:
    """Assert the live data center equals a rebuild from the topics, waiting for it to catch up; the number of
    projection tables compared."""
    rebuilt = rebuilt_data_center(platform, path)
    try:
        deadline = time.monotonic() + CONVERGE_SECONDS
        while (wrong := list(differences(platform.engine("gateway"), rebuilt))) and time.monotonic() < deadline:
            time.sleep(1)
        assert not wrong, f"the data center differs from its rebuild: {wrong}"
        return len(projection_tables(rebuilt))
    finally:
        rebuilt.dispose()
