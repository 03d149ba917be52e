"""Every domain service's own view of the agency master data (单位), learned from office-space events.

Services never read the office-space database: each keeps ``known_agencies`` in its own store database,
filled by the ``KnownAgencies`` projection (run by ``service_views``). Commands that name an agency look
it up with ``known_agency``, which waits briefly for an agency registered moments ago to arrive
(events are eventually consistent) and then refuses an unknown one with a 422.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from services.common.base.db import register_migrations
from services.common.base.settings import topic_for
from services.common.kernel.errors import RuleViolation
from services.common.kernel.events import Envelope
from services.common.read import sql
from services.common.read.projector import Projection

register_migrations("known_agencies", Path(__file__).parent / "migrations" / "known_agencies")

metadata = sa.MetaData()
known_agencies_table = sa.Table(
    "known_agencies",
    metadata,
    sa.Column("agency_id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("district", sa.String(6), nullable=False),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("admin_level", sa.String(20), nullable=False),
    sa.Column("authorised_headcount", sa.Integer(), nullable=False),
)

AGENCY_WAIT_SECONDS = 3.0
"""How long a command waits for an agency registered moments ago to reach this service's view."""


class UnknownAgency(RuleViolation):
    """The agency is not (yet) in the master data this service has learned."""

    code = "unknown_agency"
    final = False  # the service's view of office space may only lag: a retry of the same key may find it


@dataclass(frozen=True)
class KnownAgency:
    """What a service knows of an agency."""

    agency_id: str
    name: str
    district: str
    kind: str
    admin_level: str
    authorised_headcount: int


class KnownAgencies(Projection):
    """Keeps ``known_agencies`` up to date from the office-space topic."""

    topics = (topic_for("office_space"),)
    tables = (known_agencies_table,)

    def on_AgencyRegistered(self, conn: sa.Connection, env: Envelope) -> None:
        """A new agency."""
        p = env.payload
        sql.insert(
            conn,
            known_agencies_table,
            {k: p[k] for k in ("agency_id", "name", "district", "kind", "admin_level", "authorised_headcount")},
        )

    def on_AuthorisedHeadcountChanged(self, conn: sa.Connection, env: Envelope) -> None:
        """A new authorised headcount (编制)."""
        p = env.payload
        sql.update(
            conn,
            known_agencies_table,
            {"agency_id": p["agency_id"]},
            {"authorised_headcount": p["authorised_headcount"]},
        )


def find_agency(engine: Engine, agency_id: str) -> KnownAgency | None:
    """The agency as this service knows it, or None."""
    with engine.connect() as conn:
        row = conn.execute(sa.select(known_agencies_table).where(known_agencies_table.c.agency_id == agency_id)).first()
    return KnownAgency(**row._asdict()) if row else None


def known_agency(
    engine: Engine, agency_id: str, field: str = "agency_id", wait: float = AGENCY_WAIT_SECONDS
) -> KnownAgency:
    """The agency ``agency_id``; waits up to ``wait`` seconds for it, then refuses with UnknownAgency."""
    deadline = time.monotonic() + wait
    while (agency := find_agency(engine, agency_id)) is None:
        if time.monotonic() >= deadline:
            raise UnknownAgency(f"agency {agency_id} is not registered", fields={field: ["unknown agency"]})
        time.sleep(0.1)
    return agency
