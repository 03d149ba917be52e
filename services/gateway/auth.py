"""Authentication and district scope: bearer tokens, roles, principals.

A token reads ``gov_<token_id>_<secret>``; only the SHA-256 of the secret is stored (the secret is 256
random bits, so a plain hash is enough and lookups stay fast), compared in constant time.

Roles (docs/architecture.md, "Security"):

- ``city_admin``: reads and writes everything, approves exceptions;
- ``district_operator``: writes, and reads details of, its own district's agencies only;
- ``viewer``: reads city-wide figures and details, writes nothing;
- ``ops``: reads health, metrics and projection status, and may rebuild projections.

A verified token is remembered for ``TOKEN_CACHE_SECONDS`` (and never past its expiry), so a busy client
costs one lookup every few seconds instead of one per request; a revoked token is refused within that time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from services.common.base.db import reader, unavailable_when_store_fails
from services.common.base.settings import settings
from services.common.kernel.clock import iso, utc_now
from services.common.kernel.errors import (
    AlreadyExists,
    Forbidden,
    Unauthenticated,
    ValidationFailed,
)
from services.common.kernel.scope import require_in_scope

ROLES = ("city_admin", "district_operator", "viewer", "ops")
WRITERS = frozenset({"city_admin", "district_operator"})
READERS = frozenset({"city_admin", "district_operator", "viewer"})
OPERATORS = frozenset({"city_admin", "ops"})
CITY_ADMINS = frozenset({"city_admin"})

metadata = sa.MetaData()
tokens_table = sa.Table(
    "api_tokens",
    metadata,
    sa.Column("token_id", sa.String(32), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("role", sa.String(40), nullable=False),
    sa.Column("district", sa.String(6)),
    sa.Column("secret_hash", sa.String(64), nullable=False),
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Column("expires_at", sa.String(40)),
    sa.Column("revoked_at", sa.String(40)),
)


@dataclass(frozen=True)
class Principal:
    """Who is calling: a named token with a role and, for district operators, a district."""

    token_id: str
    name: str
    role: str
    district: str | None

    @property
    def actor(self) -> str:
        """How the principal is recorded as the actor of events."""
        return f"{self.role}:{self.name}"

    def require(self, roles: frozenset[str]) -> None:
        """Refuse (403) when the role is not among ``roles``."""
        if self.role not in roles:
            raise Forbidden(f"role {self.role} may not do this", details={"allowed_roles": sorted(roles)})

    def require_district(self, district: str | None) -> None:
        """Refuse (403) a district operator acting outside its own district."""
        require_in_scope(
            self.visible_district(),
            district,
            message=f"{self.name} acts for district {self.district} only",
            fields={"district": [f"outside your district {self.district}"]},
        )

    def visible_district(self) -> str | None:
        """The district a listing is limited to (None: the whole city)."""
        return self.district if self.role == "district_operator" else None


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


MAX_TOKEN_DAYS = 3650
"""Longest lifetime of a token given ``days`` (ten years); a token made without ``days`` does not expire."""


def check_token_request(name: str, role: str, district: str | None, days: int | None) -> None:
    """Refuse (``ValidationFailed``) a token that may not be made, before anything is stored (see
    ``create_token``)."""
    if role not in ROLES:
        raise ValidationFailed("unknown role", fields={"role": [f"one of {', '.join(ROLES)}"]})
    if (role == "district_operator") != (district is not None):
        raise ValidationFailed(
            "district operators, and only they, have a district",
            fields={"district": ["required for district_operator only"]},
        )
    if district is not None and district not in settings().districts:
        raise ValidationFailed(
            f"the city has no district {district}",
            fields={"district": [f"one of {', '.join(sorted(settings().districts))}"]},
        )
    if days is not None and not 1 <= days <= MAX_TOKEN_DAYS:
        raise ValidationFailed(
            "a token's lifetime is 1 to 3650 days (leave it out for a token that does not expire)",
            fields={"days": [f"between 1 and {MAX_TOKEN_DAYS}"]},
        )
    if not 1 <= len(name) <= 100 or not name.isprintable():
        raise ValidationFailed("a token's name is 1-100 printable characters", fields={"name": ["1-100 printable"]})


def create_token(engine: Engine, name: str, role: str, district: str | None = None, days: int | None = None) -> str:
    """Create a token and return it; it is shown once and only its hash is kept.

    Refused (``ValidationFailed``): an unknown role; a district for any role but district operators, none
    for them, or one the city (``settings().districts``) does not have; ``days`` outside 1 to
    ``MAX_TOKEN_DAYS`` (``0`` used to make a token that never expires); a name that is empty, longer than
    100 characters or holds control characters. ``AlreadyExists``: a token of the same role and district
    already has the name (revoked ones included): the name is what events record as their actor
    (``role:name``), so it must say which token acted.
    """
    check_token_request(name, role, district, days)
    token_id, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
    now = utc_now()
    expires = iso(now + timedelta(days=days)) if days is not None else None
    t = tokens_table
    with engine.begin() as conn:
        same = (t.c.name == name) & (t.c.role == role)
        same &= t.c.district.is_(None) if district is None else t.c.district == district
        if conn.execute(sa.select(t.c.token_id).where(same)).first() is not None:
            raise AlreadyExists(
                f"a {role} token named {name} exists already" + (f" in district {district}" if district else ""),
                fields={"name": ["taken for this role and district"]},
            )
        conn.execute(
            t.insert(),
            {
                "token_id": token_id,
                "name": name,
                "role": role,
                "district": district,
                "secret_hash": _hash(secret),
                "created_at": iso(now),
                "expires_at": expires,
            },
        )
    return f"gov_{token_id}_{secret}"


def revoke_token(engine: Engine, token_id: str) -> bool:
    """Revoke a token; False when there is no such token."""
    with engine.begin() as conn:
        t = tokens_table
        return bool(conn.execute(t.update().where(t.c.token_id == token_id).values(revoked_at=iso(utc_now()))).rowcount)


TOKEN_CACHE_SECONDS = 2.0
"""How long a verified token is trusted without looking it up again (a revocation takes effect within it)."""

_TOKEN_BY_ID = sa.select(tokens_table).where(tokens_table.c.token_id == sa.bindparam("token_id"))
_verified: dict[str, tuple[float, Principal]] = {}
"""Recently verified tokens: the full header value → (monotonic time it may be trusted until, principal)."""


def authenticate(engine: Engine, authorization: str | None) -> Principal:
    """The principal of an ``Authorization: Bearer ...`` header; Unauthenticated when it is not valid."""
    if not authorization or not authorization.startswith("Bearer "):
        raise Unauthenticated("a bearer token is required")
    now = time.monotonic()
    cached = _verified.get(authorization)
    if cached is not None and cached[0] > now:
        return cached[1]
    parts = authorization[len("Bearer ") :].strip().split("_", 2)
    if len(parts) != 3 or parts[0] != "gov":
        raise Unauthenticated("malformed token")
    _, token_id, secret = parts
    # before anything was read or sent: the request may simply be sent again
    with (
        unavailable_when_store_fails("the gateway's database did not answer; nothing was done"),
        reader(engine).connect() as conn,
    ):
        row = conn.execute(_TOKEN_BY_ID, {"token_id": token_id}).first()
    if row is None or not hmac.compare_digest(row.secret_hash, _hash(secret)):
        raise Unauthenticated("unknown token")
    if row.revoked_at:
        raise Unauthenticated("revoked token")
    trusted_for = TOKEN_CACHE_SECONDS
    if row.expires_at:
        remaining = (datetime.fromisoformat(row.expires_at) - utc_now()).total_seconds()
        if remaining <= 0:
            raise Unauthenticated("expired token")
        trusted_for = min(trusted_for, remaining)
    principal = Principal(token_id=row.token_id, name=row.name, role=row.role, district=row.district)
    if len(_verified) >= 10_000:  # many distinct tokens: start over rather than grow without bound
        _verified.clear()
    _verified[authorization] = (now + trusted_for, principal)
    return principal
