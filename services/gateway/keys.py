"""An idempotency key means one command across the whole platform, not only within one service (docs/hostile-input.md).

Each service records the keys of its own commands (``services.common.write.store``, ``command_log``) and refuses a
key it recorded for another command or body (422 ``idempotency_key_reused``). It cannot see the others'
records: a key first used on office space and sent again to vehicles would run there, a command the client
never meant, and a district's message id first used for one message type would run again under another type.
So the gateway, the one caller that sees every command, binds each key to the first command it sends with it
(the owning service, the command and its payload, hashed as the services hash them:
``rpc.command_fingerprint``) before sending, and refuses the key for anything else.

A binding is made before the command runs and kept whatever the answer: the same key with the same command is
sent on (its service answers from its own record, or runs it when the first attempt never arrived).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from services.common.base.db import fetch, insert_if_absent, unavailable_when_store_fails
from services.common.base.personal import platform_key_store
from services.common.kernel.clock import iso, utc_now
from services.common.kernel.errors import IdempotencyKeyReused
from services.common.runtime.rpc import command_fingerprint

metadata = sa.MetaData()
keys_table = sa.Table(
    "idempotency_keys",
    metadata,
    sa.Column("idempotency_key", sa.String(300), primary_key=True),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column("command", sa.String(200), nullable=False),
    sa.Column("bound_at", sa.String(40), nullable=False),
)

_BOUND = sa.select(keys_table.c.fingerprint).where(keys_table.c.idempotency_key == sa.bindparam("key"))


def bind(engine: Engine, key: str, service: str, command: str, payload: Any) -> None:
    """Bind ``key`` to ``service.command(payload)`` unless it is bound already; ``IdempotencyKeyReused`` (422)
    when it is bound to another command, another service's or another payload."""
    # a passing failure: the command is not sent, its retry binds the key
    with unavailable_when_store_fails("the gateway's database did not answer; the command was not sent"):
        # a personal value enters it as its keyed digest (``rpc.command_fingerprint``): the key store may fail too
        fingerprint = command_fingerprint(service, command, payload, platform_key_store)
        bound = _bound(engine, key, fingerprint, f"{service}.{command}")
    if bound != fingerprint:
        raise IdempotencyKeyReused(
            "this Idempotency-Key was used for another command or body",
            fields={"Idempotency-Key": ["already used for another command or body"]},
        )


def _bound(engine: Engine, key: str, fingerprint: str, command: str) -> str | None:
    """The fingerprint ``key`` is bound to: ``fingerprint``, bound now, or the one it was bound to before (one
    statement each, outside any transaction: every command sent through the gateway binds its key)."""
    row = {"idempotency_key": key, "fingerprint": fingerprint, "command": command, "bound_at": iso(utc_now())}
    if insert_if_absent(engine, keys_table, row):
        return fingerprint
    # bound before: by this command (a repeat) or another
    _, rows = fetch(engine, _BOUND, {"key": key})
    return str(rows[0][0]) if rows else None
