"""The data center's per-agency figures kept between batches: after new events only what they changed is
gathered and derived again.

``datacenter.agency_rows`` gathers every agency's summable figures from five systems' views, and ``derive``
turns each row into the figures the API shows; at city scale that costs hundreds of milliseconds, and energy
readings arrive all day. So here each system's part is kept per scope (year, today, district, agency) with the
**version of what it reads**:

- a part read from the views of some topics is kept with those topics' offset rows (the projector writes them in
  the same transaction as the rows; ``TOPICS_OF``): a batch of another topic leaves it as it is;
- the energy and office-space topics are followed finer, by the stamps of ``views/changes.py`` (written in the
  same transaction too): a batch of readings names the agencies whose energy figures it changed, and only theirs
  are gathered again (``energy_by_agency`` of one agency); an agency's new authorised headcount names the agency,
  and only its office-space row is gathered again; any other event of those topics stamps every agency, and the
  parts that read what its projections write are gathered in full;
- the open items are kept per system and kind, each with the version of what its system reads.

The rows are then assembled exactly as ``agency_rows`` assembles them (``datacenter.assemble``), and each
agency's figures and scorecard result are derived again only when its row differs from the one they were
derived from (``derive`` is a pure function of the row, the year, today, the factor table and the scorecard,
all of which key what is kept). The answers are the same as a full computation's: ``tests/integration/
test_figures_incremental.py`` applies random event sequences and compares them.

A closed year's figures (frozen, with the live ones beside them) are computed in full: they are read rarely.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from services.common.base.settings import topic_for
from services.common.read.projector import offsets_table
from services.energy.read_model import FactorTable
from services.gateway import datacenter as dc
from services.gateway.scorecard import Scorecard
from services.gateway.views import assets as assets_view
from services.gateway.views import changes
from services.gateway.views import energy as energy_view
from services.gateway.views import office_space as space_view
from services.gateway.views import procurement as procurement_view
from services.gateway.views import vehicles as vehicles_view

OFFICE, VEHICLES, ASSETS, PROCUREMENT = (topic_for(d) for d in ("office_space", "vehicles", "assets", "procurement"))

TOPICS_OF: dict[str, tuple[str, ...]] = {
    "space": (OFFICE,),
    "energy": (OFFICE,),  # and the energy stamps
    "vehicles": (VEHICLES,),
    "assets": (ASSETS, PROCUREMENT, OFFICE),
    "procurement": (PROCUREMENT, ASSETS),
    "items:office_space": (OFFICE,),
    "items:vehicles": (VEHICLES,),
    "items:assets": (ASSETS, PROCUREMENT, OFFICE),
    "items:procurement": (PROCUREMENT, ASSETS),
    "items:energy": (OFFICE,),  # and the energy stamps (any change gathers them again: anomalies are few)
    "names": (OFFICE,),
}
"""Each part and the topics whose projections write the tables it reads (the office-space read model, the agency
directory and the energy view's floor areas from ``office_space.events``; the assets and procurement read models
each also follow the other's topic)."""

MAX_TOUCHED = 30
"""Above this many agencies stamped since, every agency's energy figures are gathered at once (cheaper)."""

KEPT_SCOPES = 16
"""Scopes (year, today, district, agency) whose parts are kept; the least recently read is dropped first."""

SHARED_FIGURES = 2048
"""Distinct nested figures kept to be shared by the agencies' entries (``KeptFigures.shared``), each under its
``repr`` (a few hundred bytes); beyond this many the table starts again (what entries share stays shared)."""

_o = offsets_table.c
_OFFSETS = sa.select(_o.topic, _o.partition, _o.next_offset, _o.updated_at).where(_o.projector == "datacenter")


@dataclass
class _Part:
    version: Any
    data: Any


@dataclass
class _Derived:
    row: dict[str, Any]
    entry: dict[str, Any]


@dataclass
class _Scope:
    """What is kept for one scope and scorecard."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    parts: dict[str, _Part] = field(default_factory=dict)
    factors: FactorTable | None = None
    derived: dict[str, _Derived] = field(default_factory=dict)
    rows: list[dict[str, Any]] | None = None
    items: list[dict[str, Any]] | None = None
    """The open items ``rows`` were assembled with (a listing is a new list whenever it changed)."""
    listed: dict[tuple[Any, ...], list[dict[str, Any]]] = field(default_factory=dict)


class KeptFigures:
    """The parts and derived figures of the scopes last read, in one database."""

    def __init__(self, size: int = KEPT_SCOPES) -> None:
        self.size = size
        self._scopes: OrderedDict[Hashable, _Scope] = OrderedDict()
        self._guard = threading.Lock()
        self.gathered: dict[str, int] = {}
        """How often each part was gathered in full, and ``energy:agency`` for one agency's: what tests count."""
        self.derived = 0
        """Agencies derived (not found kept)."""
        self._shared: dict[Hashable, Any] = {}

    def _scope(self, key: Hashable) -> _Scope:
        with self._guard:
            found = self._scopes.get(key)
            if found is None:
                found = self._scopes[key] = _Scope()
            self._scopes.move_to_end(key)
            while len(self._scopes) > self.size:
                self._scopes.popitem(last=False)
            return found

    def _count(self, name: str) -> None:
        self.gathered[name] = self.gathered.get(name, 0) + 1

    # -- gathering ---------------------------------------------------------------------------------

    def _part(
        self,
        kept: _Scope,
        name: str,
        version: Any,
        gather: Callable[[], Any],
        refresh: Callable[[_Part], tuple[Any, set[str]] | None] | None = None,
    ) -> tuple[Any, set[str] | None]:
        """Part ``name`` at ``version`` and the agencies it changed for (None: maybe every one): kept (none),
        refreshed from the kept one for some agencies (``refresh``), or gathered (every one)."""
        part = kept.parts.get(name)
        if part is not None and part.version == version:
            return part.data, set()
        refreshed = refresh(part) if refresh is not None and part is not None else None
        if refreshed is None:
            self._count(name)
            data, changed = gather(), None
        else:
            data, changed = refreshed
        kept.parts[name] = _Part(version, data)
        return data, changed

    def _space(
        self, conn: sa.Connection, kept: _Scope, scope: dc.Scope, stamps: dict[str, str]
    ) -> tuple[list[dict[str, Any]], set[str] | None]:
        def refresh(part: _Part) -> tuple[list[dict[str, Any]], set[str]] | None:
            touched = changes.changed(part.version, stamps)
            if touched is None or len(touched) > MAX_TOUCHED:
                return None
            again: dict[str, dict[str, Any] | None] = {}
            for agency in sorted(touched):
                if scope.agency_id and agency != scope.agency_id:
                    continue
                self._count("space:agency")
                found = space_view.space_by_agency(conn, scope.district, agency)
                again[agency] = found[0] if found else None
            listed = {row["agency_id"] for row in part.data}
            if any(agency not in listed for agency, row in again.items() if row is not None):
                return None  # an agency new to the scope: its place in the order is the query's
            data = [again.get(row["agency_id"], row) if row["agency_id"] in again else row for row in part.data]
            return [row for row in data if row is not None], set(again)

        return self._part(
            kept, "space", stamps, lambda: space_view.space_by_agency(conn, scope.district, scope.agency_id), refresh
        )

    def _energy(
        self, conn: sa.Connection, kept: _Scope, scope: dc.Scope, table: FactorTable, offsets: Any, stamps: Any
    ) -> tuple[dict[str, dict[str, Any]], set[str] | None]:
        def gather(agency_id: str | None) -> dict[str, dict[str, Any]]:
            return energy_view.energy_by_agency(conn, scope.district, agency_id, scope.year, scope.today, table)

        def refresh(part: _Part) -> tuple[dict[str, dict[str, Any]], set[str]] | None:
            kept_offsets, kept_stamps = part.version
            touched = changes.changed(kept_stamps, stamps) if kept_offsets == offsets else None
            if touched is None or len(touched) > MAX_TOUCHED:
                return None
            data = dict(part.data)
            for agency in sorted(touched):
                if scope.agency_id and agency != scope.agency_id:
                    continue
                self._count("energy:agency")
                data.pop(agency, None)
                data.update(gather(agency))
            return data, touched

        return self._part(kept, "energy", (offsets, stamps), lambda: gather(scope.agency_id), refresh)

    def rows(self, conn: sa.Connection, kept: _Scope, scope: dc.Scope, table: FactorTable) -> list[dict[str, Any]]:
        """``agency_rows`` of ``scope`` (live figures), from the parts kept or gathered again; an agency's row is
        assembled again only when a part changed for it."""
        offsets = _offsets(conn)
        stamps = changes.stamps(conn)
        office = stamps[changes.OFFICE]
        changed: set[str] | None = set()

        def take(found: tuple[Any, set[str] | None]) -> Any:
            nonlocal changed
            data, for_agencies = found
            changed = None if changed is None or for_agencies is None else changed | for_agencies
            return data

        def version(name: str) -> Any:
            return _version(name, offsets, stamps)

        d, a, year = scope.district, scope.agency_id, scope.year
        space = take(self._space(conn, kept, scope, office))
        energy = take(self._energy(conn, kept, scope, table, version("energy"), stamps[changes.ENERGY]))
        vehicles = take(
            self._part(
                kept, "vehicles", version("vehicles"), lambda: vehicles_view.datacenter_figures(conn, d, a, year)
            )
        )
        assets = take(
            self._part(kept, "assets", version("assets"), lambda: assets_view.assets_by_agency(conn, d, a, scope.today))
        )
        procurement = take(
            self._part(
                kept,
                "procurement",
                version("procurement"),
                lambda: procurement_view.procurement_by_agency(conn, d, a, year),
            )
        )
        listing = self._scope((scope, "items"))  # the findings' own, shared: one copy of the items per scope
        with listing.lock:
            items, _ = self._items(conn, listing, scope, None, offsets, stamps)
        if items is not kept.items:  # listed again (by this read or by the findings') since these rows were made
            changed, kept.items = None, items
        if changed is None or kept.rows is None:
            kept.rows = dc.assemble(space, energy, vehicles, assets, procurement, items)
        elif changed:
            again = [row for row in space if row["agency_id"] in changed]
            fresh = {r["agency_id"]: r for r in dc.assemble(again, energy, vehicles, assets, procurement, items)}
            kept.rows = [fresh.get(row["agency_id"], row) for row in kept.rows]
        return kept.rows

    def _items(
        self,
        conn: sa.Connection,
        kept: _Scope,
        scope: dc.Scope,
        kind: str | None,
        offsets: dict[str, tuple[Any, ...]],
        stamps: dict[str, dict[str, str]],
        system: str | None = None,
        min_age_days: int = 0,
    ) -> tuple[list[dict[str, Any]], set[str] | None]:
        """``datacenter.open_items`` of ``scope`` from each system's items kept or gathered again, and whether
        they changed (None) or not (an empty set)."""
        found: dict[str, list[dict[str, Any]]] = {}
        changed: set[str] | None = set()
        for name, source in dc.ITEM_SOURCES.items():
            if system not in (None, name):
                continue
            part = f"items:{name}"
            version: Any = _version(part, offsets, stamps)
            if name == "energy":  # anomalies: readings never change them, every other energy event stamps *
                version = (version, stamps[changes.ENERGY].get(changes.EVERY_AGENCY))
            found[name], again = self._part(
                kept,
                f"{part}:{kind}",
                version,
                lambda source=source: source(conn, scope.district, scope.agency_id, kind),
            )
            changed = None if again is None else changed
        names, again = self._part(kept, "names", _version("names", offsets, stamps), lambda: dc.agency_names(conn))
        changed = None if again is None else changed
        listing = (kind, system, min_age_days)
        if changed is None or listing not in kept.listed:
            if changed is None:
                kept.listed.clear()  # the other listings were made of items no longer current
            kept.listed[listing] = dc.listed_items(found, names, scope, min_age_days)
            changed = None
        return kept.listed[listing], changed

    # -- judging -------------------------------------------------------------------------------------

    def judge(self, conn: sa.Connection, scope: dc.Scope, card: Scorecard, key: Hashable) -> dc.Judged:
        """``datacenter.judge`` of ``scope`` with ``card`` (``key`` names the scorecard's file): each agency
        derived again only when its row changed."""
        closed = energy_view.closed_year(conn, scope.year)
        table = energy_view.factors_for(conn, scope.year)
        if closed is not None:
            return dc.judge(conn, scope, card)
        kept = self._scope((scope, key))
        with kept.lock:
            if kept.factors != table:
                kept.parts.clear()
                kept.derived.clear()
                kept.rows = kept.items = None
                kept.factors = table
            rows = self.rows(conn, kept, scope, table)
            judged = []
            derived: dict[str, _Derived] = {}
            for row in rows:
                agency = row["agency_id"]
                found = kept.derived.get(agency)
                if found is None or (found.row is not row and found.row != row):
                    self.derived += 1
                    found = _Derived(row, self.shared(dc.judged_agency(row, scope, table, card)))
                derived[agency] = found
                judged.append(found.entry)
            kept.derived = derived
        return dc.Judged(None, table, rows, [], judged)

    def shared(self, entry: dict[str, Any]) -> dict[str, Any]:
        """``entry`` with each of its nested figures (a dict or a list: coverage, verdicts, targets, methods, the
        scorecard's criteria...) replaced by an equal one another entry holds already, of any scope: most agencies
        have the same ones, each a few hundred bytes, and a city's entries are kept in every scope read. Equal by
        ``repr``, which tells apart what Python's equality does not and an answer does (``1``, ``1.0`` and ``True``;
        ``0.0`` and ``-0.0``; a list and a tuple; a date and its text). An entry's figures are never changed in
        place (a changed agency is a new entry)."""
        if len(self._shared) > SHARED_FIGURES:
            self._shared.clear()
        for key, value in entry.items():
            if isinstance(value, dict | list):
                entry[key] = self._shared.setdefault(repr(value), value)
        return entry

    def open_items(
        self,
        conn: sa.Connection,
        scope: dc.Scope,
        kind: str | None = None,
        system: str | None = None,
        min_age_days: int = 0,
    ) -> list[dict[str, Any]]:
        """``datacenter.open_items``, each system's items kept until what it reads changes."""
        kept = self._scope((scope, "items"))
        with kept.lock:
            found, _ = self._items(conn, kept, scope, kind, _offsets(conn), changes.stamps(conn), system, min_age_days)
            return found

    def trend(self, conn: sa.Connection, scope: dc.Scope, months: int) -> list[dict[str, Any]]:
        """``datacenter.energy_trend`` of ``scope``: each agency's monthly use kept, gathered again only for the
        agencies a batch of readings stamped (any other energy event: every agency's)."""
        kept = self._scope((scope, "trend", months))
        first = dc.month_start(scope.today, months - 1)
        with kept.lock:
            stamps = changes.stamps(conn)[changes.ENERGY]
            tables = energy_view.factor_tables_by_year(conn)

            def refresh(part: _Part) -> tuple[dict[str, Any], set[str]] | None:
                touched = changes.changed(part.version, stamps)
                if touched is None or len(touched) > MAX_TOUCHED:
                    return None
                data = dict(part.data)
                for agency in sorted(touched):
                    self._count("trend:agency")
                    data.pop(agency, None)
                    data.update(dc.monthly_use(conn, scope, first, agency))
                return data, touched

            use, _ = self._part(kept, "trend", stamps, lambda: dc.monthly_use(conn, scope, first), refresh)
            return dc.trend_of(use, scope, months, tables)

    def clear(self) -> None:
        """Forget everything kept."""
        with self._guard:
            self._scopes.clear()


def _version(part: str, offsets: dict[str, tuple[Any, ...]], stamps: dict[str, dict[str, str]]) -> tuple[Any, ...]:
    """What ``part`` reads is at: the offsets of its topics, and for the office-space topic its ``*`` stamp (the
    only other office-space stamps are of an agency's authorised headcount, which only the space part reads)."""
    every = stamps[changes.OFFICE].get(changes.EVERY_AGENCY)
    return tuple(every if topic == OFFICE else offsets.get(topic, ()) for topic in TOPICS_OF[part])


def _offsets(conn: sa.Connection) -> dict[str, tuple[Any, ...]]:
    """The data center projector's offset rows per topic."""
    found: dict[str, list[tuple[Any, ...]]] = {}
    for row in conn.execute(_OFFSETS):
        found.setdefault(row.topic, []).append(tuple(row))
    return {topic: tuple(sorted(rows)) for topic, rows in found.items()}


def figures_of(engine: Engine) -> KeptFigures:
    """The figures kept for the projections in ``engine``'s database (one per database, kept on its engine)."""
    made: KeptFigures | None = engine.__dict__.get("_data_center_figures")
    if made is None:
        made = engine.__dict__["_data_center_figures"] = KeptFigures()
    return made
