"""The agency directory: every agency of the city with its master data, from the office-space events."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from services.common.base.settings import topic_for
from services.common.kernel.events import Envelope
from services.common.read import sql
from services.common.read.projector import Projection

metadata = sa.MetaData()
agencies_table = sa.Table(
    "dc_agencies",
    metadata,
    sa.Column("agency_id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("district", sa.String(6), nullable=False, index=True),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("admin_level", sa.String(20), nullable=False),
    sa.Column("authorised_headcount", sa.Integer(), nullable=False),
    sa.Column("version", sa.Integer(), nullable=False),
    sa.Column("registered_at", sa.String(40), nullable=False),
    sa.Column("updated_at", sa.String(40), nullable=False),
)


class AgencyDirectory(Projection):
    """Every agency of the city with its master data (from the office-space service)."""

    topics = (topic_for("office_space"),)
    tables = (agencies_table,)

    def on_AgencyRegistered(self, conn: sa.Connection, env: Envelope) -> None:
        """A new agency."""
        self.many_AgencyRegistered(conn, [env])

    def many_AgencyRegistered(self, conn: sa.Connection, envs: list[Envelope]) -> None:
        """New agencies (one insert of them all)."""
        sql.insert(conn, agencies_table, [_agency_row(env) for env in envs])

    def on_AuthorisedHeadcountChanged(self, conn: sa.Connection, env: Envelope) -> None:
        """A new authorised headcount."""
        sql.update(
            conn,
            agencies_table,
            {"agency_id": env.payload["agency_id"]},
            {
                "authorised_headcount": env.payload["authorised_headcount"],
                "version": env.stream_version,
                "updated_at": env.recorded_at,
            },
        )


def _agency_row(env: Envelope) -> dict[str, Any]:
    p = env.payload
    return {
        "agency_id": p["agency_id"],
        "name": p["name"],
        "district": p["district"],
        "kind": p["kind"],
        "admin_level": p["admin_level"],
        "authorised_headcount": p["authorised_headcount"],
        "version": env.stream_version,
        "registered_at": env.occurred_at,
        "updated_at": env.recorded_at,
    }


_AGENCY_BY_ID = sa.select(agencies_table).where(agencies_table.c.agency_id == sa.bindparam("agency_id"))


def agency_row(conn: sa.Connection, agency_id: str) -> dict[str, Any] | None:
    """One agency of the directory, or None."""
    row = conn.execute(_AGENCY_BY_ID, {"agency_id": agency_id}).first()
    return row._asdict() if row else None


def agency_rows(conn: sa.Connection, district: str | None, limit: int, offset: int) -> list[dict[str, Any]]:
    """Agencies of the directory, optionally of one district, by name."""
    query = sa.select(agencies_table).order_by(agencies_table.c.district, agencies_table.c.name)
    if district:
        query = query.where(agencies_table.c.district == district)
    return [row._asdict() for row in conn.execute(query.limit(limit).offset(offset))]


PROJECTIONS: list[Projection] = [AgencyDirectory()]
