"""Which agencies' figures an applied energy or office-space event changed: what lets the data center gather and
derive again only those.

Energy readings arrive all day, a batch of them concerns a few agencies, and the figures the dashboard reads
are kept per agency (``services/gateway/figures.py``). This projection stamps, per topic and in the same
transaction as the rows the other projections change and the projector's offsets, the agencies each event
concerns:

- a meter's readings (``MeterReadingsRecorded``, ``LateReadingsRecorded``) change the day and year rows of the
  event's agency and the year of the meter, which counts for the agency the meter is installed at
  (``energy_by_agency``): both are stamped;
- an agency's new authorised headcount (``AuthorisedHeadcountChanged``) changes that one column of the agency
  directory, which only the office-space figures read: the agency is stamped;
- any other event of those topics (a meter installed, a report, a quota, an anomaly, a factor table, a closed
  year; an agency, building, room or staff member) stamps ``*``: every agency's figures read from what the
  topic's projections write are gathered again.

A stamp is the event's id (unique), so a kept snapshot of the stamps differs from the table's after any event
applied since; a reset stamps ``*`` with a new id, so nothing kept before a rebuild is taken for current.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from services.common.base.settings import topic_for
from services.common.kernel.events import Envelope
from services.common.read import sql
from services.common.read.projector import Projection
from services.gateway.views import energy as energy_view

metadata = sa.MetaData()
figure_changes = sa.Table(
    "dc_figure_changes",
    metadata,
    sa.Column("topic", sa.String(200), primary_key=True),
    sa.Column("agency_id", sa.String(64), primary_key=True),
    sa.Column("stamp", sa.String(64), nullable=False),
)

EVERY_AGENCY = "*"
"""The ``agency_id`` of a stamp that concerns every agency."""

ENERGY = topic_for("energy")
OFFICE = topic_for("office_space")

PER_METER = frozenset({("energy", "MeterReadingsRecorded"), ("energy", "LateReadingsRecorded")})
"""Energy events that change only the figures of their agency and of their meter's agency."""
PER_AGENCY = frozenset({("office_space", "AuthorisedHeadcountChanged")})
"""Events that change only the agency directory's row of their payload's agency."""

_METER_AGENCY = sa.select(energy_view.meters.c.agency_id).where(energy_view.meters.c.meter_id == sa.bindparam("m"))
_STAMP = (
    sa.update(figure_changes)
    .where(figure_changes.c.topic == sa.bindparam("t"), figure_changes.c.agency_id == sa.bindparam("a"))
    .values(stamp=sa.bindparam("s"))
)


class FigureChanges(Projection):
    """Stamps the agencies whose figures each applied energy or office-space event changed (``*``: all of them)."""

    topics = (ENERGY, OFFICE)
    tables = (figure_changes,)

    def handles(self) -> frozenset[str]:
        """Every event type the data center's other projections of these topics apply."""
        found: frozenset[str] | None = self.__dict__.get("_handles")
        if found is None:
            from services.gateway import views  # the package lists this module's projection too

            others = [p for p in views.data_center_projections() if p is not self and set(p.topics) & set(self.topics)]
            found = self.__dict__["_handles"] = frozenset().union(*(p.handles() for p in others))
        return found

    def __getattr__(self, name: str) -> Callable[[sa.Connection, Any], None]:
        if name.startswith("on_") and name[3:] in self.handles():
            return self._stamp
        if name.startswith("many_") and name[5:] in self.handles() and name[5:] not in _READS_OTHERS:
            return self._stamp_all
        raise AttributeError(name)

    def apply(self, conn: sa.Connection, env: Envelope) -> None:
        """Stamp what ``env`` changed (any event type the other projections of these topics apply)."""
        if env.event_type in self.handles():
            self._stamp(conn, env)

    def _stamp(self, conn: sa.Connection, env: Envelope) -> None:
        for agency in sorted(_concerned(conn, env)):
            _stamped(conn, f"{env.domain}.events", agency, env.event_id)

    def _stamp_all(self, conn: sa.Connection, envs: list[Envelope]) -> None:
        """The batch form of every type whose stamps are the event's alone (not ``PER_METER``): each agency
        stamped once, with the last of the events that concern it — what stamping them one by one leaves."""
        last: dict[tuple[str, str], str] = {}
        for env in envs:
            for agency in _concerned(conn, env):
                last[f"{env.domain}.events", agency] = env.event_id
        for (topic, agency), stamp in sorted(last.items()):
            _stamped(conn, topic, agency, stamp)

    def reset(self, conn: sa.Connection) -> None:
        """Forget every stamp, and stamp every agency anew (what was kept before a rebuild is not current)."""
        super().reset(conn)
        for topic in self.topics:
            _stamped(conn, topic, EVERY_AGENCY, str(uuid.uuid4()))


_READS_OTHERS = frozenset(kind for _, kind in PER_METER)
"""Event types whose stamps read another projection's rows (the meter's agency): stamped one event at a time,
after the other projections applied that event, never in a batch form."""


def _concerned(conn: sa.Connection, env: Envelope) -> set[str]:
    """The agencies whose figures ``env`` changed (``*``: all of them)."""
    kind = (env.domain, env.event_type)
    if kind in PER_METER:
        agencies = {str(env.agency_id)}
        installed_at = conn.execute(_METER_AGENCY, {"m": env.payload["meter_id"]}).scalar()
        if installed_at is not None:
            agencies.add(str(installed_at))
        return agencies
    if kind in PER_AGENCY:
        return {str(env.payload["agency_id"])}
    return {EVERY_AGENCY}


def _stamped(conn: sa.Connection, topic: str, agency_id: str, stamp: str) -> None:
    if not sql.run(conn, _STAMP, {"t": topic, "a": agency_id, "s": stamp}):
        sql.insert(conn, figure_changes, {"topic": topic, "agency_id": agency_id, "stamp": stamp})


def stamps(conn: sa.Connection) -> dict[str, dict[str, str]]:
    """Per topic, the stamps by agency (``*``: every agency), as the last applied batch left them."""
    c = figure_changes.c
    found: dict[str, dict[str, str]] = {ENERGY: {}, OFFICE: {}}
    for topic, agency, stamp in conn.execute(sa.select(c.topic, c.agency_id, c.stamp)):
        found.setdefault(str(topic), {})[str(agency)] = str(stamp)
    return found


def changed(kept: dict[str, str] | None, now: dict[str, str]) -> set[str] | None:
    """The agencies whose stamps differ between ``kept`` and ``now``; None when every agency's figures may
    have changed (nothing kept, or ``*`` stamped since)."""
    if kept is None or kept.get(EVERY_AGENCY) != now.get(EVERY_AGENCY):
        return None
    return {agency for agency in kept.keys() | now.keys() if kept.get(agency) != now.get(agency)}


PROJECTIONS: list[Projection] = [FigureChanges()]
