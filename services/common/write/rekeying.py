"""Re-keying a store's history: personal values stored in clear before sealing, rewritten as tokens.

Sealing (``EventStore.append``, ``personal.seal_payload``) reaches the events written since it was added. A store
that ran before keeps the values its older events were written with, in clear: ``StaffPosted.v1.name``,
``TripDispatched.v1.driver`` (a name and no driver id), ``GpsPointsRecorded.v1.points`` (a list of fixes). An
erasure destroys a key, and a clear value has none, so those values outlive any erasure. ``Rekeying`` walks the
store in position order, in batches, and rewrites each such event into its sealed form, with the same sealing
code the store appends with:

- an event version whose marked fields are all sealed fields (``personal.sealed_fields``) keeps its type and
  version; its clear values become tokens (``StaffPosted.v1``);
- a version whose marked field cannot hold a token is rewritten as the version that succeeds it and can
  (``SEALED_FORMS``): ``TripDispatched.v1`` as ``v2`` with a driver id (``DriverIds``: the district's mapping, or a
  pseudonymous ``D-<district>-L<nnnn>`` per district and name), ``GpsPointsRecorded.v1`` as ``GpsBatchRecorded.v1``
  (the same fields, the points list as its token), which every reader already takes.

An event keeps its id, stream, stream version and position: only ``event_type``, ``schema_version`` and
``payload`` change. The snapshots of a rewritten stream are deleted in the same transaction (they may hold the
clear values; the next load replays the stream and the next append takes a new one). Each batch is one
transaction, and a value that is a token already is never sealed again, so a run killed anywhere is finished by
running it again, and a finished run run again changes nothing. A value whose subject was erased meanwhile cannot
be sealed any more: it is replaced by ``ERASED_TEXT``, as a reader would show it.

The topics, backups and projections still hold the clear copies: docs/personal-data.md ("Re-keying a store
that ran before sealing") gives the whole procedure; ``python -m services.common.runtime.rekey`` is its command.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from services.common.base import contracts
from services.common.base.jsontext import dumps_stored
from services.common.base.log import get_logger
from services.common.base.personal import (
    ERASED,
    ERASED_TEXT,
    KeyStore,
    PersonalMark,
    Subject,
    SubjectErased,
    contract_marks,
    is_token,
    seal_payload,
    sealed_fields,
)
from services.common.kernel.cells import formula_safe, formula_unsafe
from services.common.kernel.validators import IDENTIFIER_PATTERN
from services.common.write.store import EventStore, events_table, snapshots_table

log = get_logger()

SEALED_FORMS: dict[tuple[str, str, int], tuple[str, int]] = {
    # v1 names no driver: v2 is v1 with the driver's id, under whose key the name is sealed
    ("vehicles", "TripDispatched", 1): ("TripDispatched", 2),
    # an array cannot hold a token: the batch succeeding it has the same fields, ``points`` the token of the list
    ("vehicles", "GpsPointsRecorded", 1): ("GpsBatchRecorded", 1),
}
"""The sealed form of each event version whose marked fields are not all sealed fields (a marked field with no
subject id, or of a type that cannot hold a token). ``forms`` fails on a marked version missing here."""

LEGACY_DRIVER_ID = re.compile(r"^D-(?P<district>[0-9]{6})-L(?P<number>[0-9]{4,})$")
"""The pseudonymous driver ids the re-keying gives the drivers of v1 dispatches that a district did not map:
``D-<district>-L<nnnn>``, numbered per district in the order the names first appear (never made from the name)."""


def forms(domain: str) -> dict[tuple[str, int], tuple[str, int]]:
    """Every event version of ``domain`` with a marked personal field, and the version it is rewritten as (itself
    when its marked fields are all sealed fields). ValueError for a marked version with no sealed form."""
    found: dict[tuple[str, int], tuple[str, int]] = {}
    for schema_domain, event_type, version, _ in contracts.available_schemas():
        if schema_domain != domain or not (marks := contract_marks(domain, event_type, version)):
            continue
        if set(sealed_fields(domain, event_type, version)) == set(marks):
            found[(event_type, version)] = (event_type, version)
            continue
        target = SEALED_FORMS.get((domain, event_type, version))
        if target is None or set(sealed_fields(domain, *target)) != set(contract_marks(domain, *target)):
            raise ValueError(f"{domain}/{event_type}.v{version} has marked fields and no sealed form to rewrite it as")
        found[(event_type, version)] = target
    return found


class DriverIds:
    """The driver id of each (district, name) of a v1 dispatch: the district's own (``given``, from its mapping
    file) or else a pseudonymous one, ``D-<district>-L<nnnn>``.

    A rerun must give a driver seen before the same id: ``recall`` reads the ids given by earlier runs back from
    the dispatches they rewrote (their names decrypted with the key store), and numbering goes on after the
    highest. ``used`` is the mapping to hand to the district, so that it can name a legacy driver by id."""

    def __init__(self, given: Mapping[tuple[str | None, str], str] | None = None) -> None:
        self.given = dict(given or {})
        for driver_id in self.given.values():
            if not IDENTIFIER_PATTERN.fullmatch(driver_id):
                raise ValueError(f"not a driver id: {driver_id!r} (1 to 64 of A-Z a-z 0-9 _ . -)")
        self.known: dict[tuple[str, str], str] = {}
        self.highest: dict[str, int] = {}
        self.used: dict[tuple[str, str], str] = {}

    @classmethod
    def from_csv(cls, lines: Iterable[str]) -> DriverIds:
        """A district's mapping file: CSV with the columns ``name`` and ``driver_id``, and ``district`` when the
        file covers several districts (without it, a name maps to its id in every district)."""
        reader = csv.DictReader(lines)
        columns = set(reader.fieldnames or ())
        if not {"name", "driver_id"} <= columns:
            raise ValueError("a driver mapping is CSV with the columns name, driver_id (and district)")
        given: dict[tuple[str | None, str], str] = {}
        for row in reader:  # cells as ``mapping_csv`` wrote them: a name starting as a formula after a ``'``
            district, name = formula_unsafe(row.get("district") or "") or None, formula_unsafe(row["name"] or "")
            given[(district, name)] = formula_unsafe((row["driver_id"] or "").strip())
        return cls(given)

    def recall(self, driver_id: str, name: str | None) -> None:
        """Take in a dispatch rewritten by an earlier run: its driver id (a pseudonymous one names its district) and
        its name (None once erased: the id's number stays taken)."""
        match = LEGACY_DRIVER_ID.match(driver_id)
        if match is None:
            return
        district = match["district"]
        self.highest[district] = max(self.highest.get(district, 0), int(match["number"]))
        if isinstance(name, str):
            self.known.setdefault((district, name), driver_id)
            self.used[(district, name)] = driver_id

    def assign(self, district: str, name: str) -> str:
        """The driver id of ``name`` in ``district``: given, known, or the district's next pseudonymous one."""
        driver_id = self.given.get((district, name)) or self.given.get((None, name)) or self.known.get((district, name))
        if driver_id is None:
            number = self.highest.get(district, 0) + 1
            self.highest[district] = number
            driver_id = f"D-{district}-L{number:04d}"
            self.known[(district, name)] = driver_id
        self.used[(district, name)] = driver_id
        return driver_id

    def mapping_csv(self) -> str:
        """``used`` as CSV (``district,name,driver_id``), for the district to keep: it holds the clear names, each
        one that starts as a formula after a ``'`` (``cells.formula_safe``: the file is opened in a spreadsheet),
        which ``from_csv`` takes off again."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(("district", "name", "driver_id"))
        for (district, name), driver_id in sorted(self.used.items()):
            writer.writerow([formula_safe(v) for v in (district, name, driver_id)])
        return buffer.getvalue()


@dataclass
class RekeyReport:
    """What a run did (or, dry, would do)."""

    examined: int = 0
    """Events of a marked version read."""
    rewritten: dict[str, int] = field(default_factory=dict)
    """Events rewritten, by ``<type>.v<n>`` as stored before (``-> <type>.v<n>`` when the version changed)."""
    erased: int = 0
    """Clear values of subjects erased meanwhile, replaced by ``ERASED_TEXT``."""
    snapshots_dropped: int = 0
    batches: int = 0

    @property
    def total(self) -> int:
        return sum(self.rewritten.values())


@dataclass(frozen=True)
class _Rewrite:
    position: int
    stream: tuple[str, str]
    before: str
    event_type: str
    schema_version: int
    payload: str
    label: str
    erased: int


def _is_clear(value: Any) -> bool:
    """A stored personal value still in clear: not a token, not the erased marker, not empty."""
    return value not in (None, "", [], ERASED_TEXT) and not is_token(value)


class Rekeying:
    """Re-keys the clear personal values of ``store`` under ``keys`` (see the module's docstring).

    ``after_batch`` is called with the number of each committed batch (the test of a run killed half-way raises
    from it)."""

    def __init__(
        self,
        store: EventStore,
        keys: KeyStore,
        drivers: DriverIds | None = None,
        batch: int = 500,
        after_batch: Callable[[int], None] | None = None,
    ) -> None:
        self.store = store
        self.keys = keys
        self.domain = store.domain
        self.drivers = drivers or DriverIds()
        self.batch = batch
        self.after_batch = after_batch
        self.forms = forms(self.domain)

    def run(self, dry_run: bool = False) -> RekeyReport:
        """Walk the whole store; with ``dry_run``, count what would be rewritten and write nothing (no key made)."""
        report = RekeyReport()
        if not self.forms:
            log.info("rekey_nothing_marked", domain=self.domain)
            return report
        self._recall_drivers()
        t = events_table.c
        types = sorted({event_type for event_type, _ in self.forms})
        last = self.store.last_position()
        query = (
            sa.select(t.position, t.stream_type, t.stream_id, t.event_type, t.schema_version, t.district, t.payload)
            .where(t.position > sa.bindparam("after"), t.event_type.in_(types))
            .order_by(t.position)
            .limit(self.batch)
        )
        after = 0
        log.info("rekey_started", domain=self.domain, last_position=last, dry_run=dry_run, batch=self.batch)
        while True:
            with self.store.reader.connect() as conn:
                rows: list[sa.Row[Any]] = list(conn.execute(query, {"after": after}))
            if not rows:
                break
            marked = [row for row in rows if (row.event_type, row.schema_version) in self.forms]
            report.examined += len(marked)
            rewrites = [r for row in marked if (r := self._rewrite(row, dry_run)) is not None]
            if rewrites and not dry_run:
                rewrites, dropped = self._write(rewrites)
                report.snapshots_dropped += dropped
            for rewrite in rewrites:
                report.rewritten[rewrite.label] = report.rewritten.get(rewrite.label, 0) + 1
                report.erased += rewrite.erased
            after = int(rows[-1].position)
            report.batches += 1
            log.info(
                "rekey_batch",
                domain=self.domain,
                batch=report.batches,
                position=after,
                last_position=last,
                examined=report.examined,
                rewritten=report.total,
                dry_run=dry_run,
            )
            if self.after_batch is not None:
                self.after_batch(report.batches)
        log.info(
            "rekey_finished",
            domain=self.domain,
            examined=report.examined,
            rewritten=report.total,
            by_type=report.rewritten,
            erased=report.erased,
            snapshots_dropped=report.snapshots_dropped,
            dry_run=dry_run,
        )
        return report

    def _recall_drivers(self) -> None:
        """The driver ids earlier runs gave: from the sealed dispatches carrying a pseudonymous id."""
        targets = {target for source, target in self.forms.items() if source != target}
        for event_type, version in sorted(targets):
            marks = sealed_fields(self.domain, event_type, version)
            drivers = {name: mark for name, mark in marks.items() if mark.subject == "driver"}
            if not drivers:
                continue
            t = events_table.c
            query = sa.select(t.payload).where(t.event_type == event_type, t.schema_version == version)
            with self.store.reader.connect() as conn:
                for row in conn.execute(query):
                    payload = json.loads(row.payload)
                    for name, mark in drivers.items():
                        driver_id, value = payload.get(mark.subject_field or ""), payload.get(name)
                        if isinstance(driver_id, str) and LEGACY_DRIVER_ID.match(driver_id):
                            clear = self.keys.decrypt_field(value, name) if is_token(value) else value
                            self.drivers.recall(driver_id, None if clear is ERASED else str(clear))

    def _rewrite(self, row: sa.Row[Any], dry_run: bool) -> _Rewrite | None:
        """The sealed form of one stored event, or None when it holds no clear personal value."""
        event_type, version = self.forms[(row.event_type, row.schema_version)]
        payload = json.loads(row.payload)
        marks = sealed_fields(self.domain, event_type, version)
        clear = {name: mark for name, mark in marks.items() if _is_clear(payload.get(name))}
        if not clear:
            return None
        for name, mark in clear.items():
            subject_field = str(mark.subject_field)
            if payload.get(subject_field) is None:
                payload[subject_field] = self._assign(mark, row, payload, name)
        erased = 0
        if not dry_run:
            payload, erased = self._seal(event_type, version, payload, clear)
            contracts.validate_payload(self.domain, event_type, version, payload)
        before = f"{row.event_type}.v{row.schema_version}"
        after = f"{event_type}.v{version}"
        return _Rewrite(
            position=int(row.position),
            stream=(row.stream_type, row.stream_id),
            before=row.payload,
            event_type=event_type,
            schema_version=version,
            payload=dumps_stored(payload),
            label=before if before == after else f"{before} -> {after}",
            erased=erased,
        )

    def _assign(self, mark: PersonalMark, row: sa.Row[Any], payload: dict[str, Any], name: str) -> str:
        """An id for the subject of a value stored without one (only drivers of v1 dispatches have none)."""
        if mark.subject != "driver":
            raise ValueError(f"event at position {row.position}: no {mark.subject_field} to seal {name} under")
        district = str(payload.get("district") or row.district)
        return self.drivers.assign(district, str(payload[name]))

    def _seal(
        self, event_type: str, version: int, payload: dict[str, Any], clear: Mapping[str, PersonalMark]
    ) -> tuple[dict[str, Any], int]:
        """The payload sealed by ``personal.seal_payload``; a value of a subject erased meanwhile becomes
        ``ERASED_TEXT`` (it can be sealed under no key, and must not stay in clear)."""
        try:
            return seal_payload(self.keys, self.domain, event_type, version, payload), 0
        except SubjectErased:
            gone = {
                name
                for name, mark in clear.items()
                if self.keys.is_erased(Subject(mark.subject, str(payload[str(mark.subject_field)])))
            }
            sealed = seal_payload(self.keys, self.domain, event_type, version, {**payload, **dict.fromkeys(gone)})
            return {**sealed, **dict.fromkeys(gone, ERASED_TEXT)}, len(gone)

    def _write(self, rewrites: list[_Rewrite]) -> tuple[list[_Rewrite], int]:
        """Store one batch's rewrites and drop their streams' snapshots, in one transaction; the rewrites stored
        and how many snapshots were dropped. An event changed since it was read (by a run alongside) is left as
        that run wrote it."""
        t = events_table
        s = snapshots_table.c
        stored, dropped = [], 0
        with self.store.engine.begin() as conn:
            for rewrite in rewrites:
                changed = conn.execute(
                    t.update()
                    .where(t.c.position == rewrite.position, t.c.payload == rewrite.before)
                    .values(
                        event_type=rewrite.event_type, schema_version=rewrite.schema_version, payload=rewrite.payload
                    )
                )
                if changed.rowcount:
                    stored.append(rewrite)
            for stream_type, stream_id in sorted({r.stream for r in stored}):
                result = conn.execute(
                    snapshots_table.delete().where(s.stream_type == stream_type, s.stream_id == stream_id)
                )
                dropped += result.rowcount
        return stored, dropped
