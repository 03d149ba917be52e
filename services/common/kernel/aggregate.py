"""The event-sourced aggregate base: commands check rules and record events; events change state.

A subclass names its ``stream_type``, sets its empty state in ``_init_state`` (never in ``__init__``), offers commands as methods (or classmethods for creation) that
check the rules of docs/domain.md and call ``self._record(SomeEvent(...))``, and applies each event in a
method ``_on_<EventType>(event)``. State is only ever changed there, so loading from the store
(``rehydrate``) and deciding a command go through the same code.

Snapshots: ``snapshot_state()`` returns the instance's public attributes (which must be JSON-native);
override it together with ``restore_state()`` when an aggregate keeps richer state. A snapshot that lacks an
attribute the aggregate keeps now (taken before a release added it to ``_init_state``) does not fit
(``snapshot_fits``): the store ignores it and replays the stream from its first event, so the new state is
never left at its empty value.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any, ClassVar, Self

from services.common.kernel.events import Event


class Aggregate:
    """Base of every aggregate: identity, version, events not yet stored."""

    stream_type: ClassVar[str] = ""
    snapshot_every: ClassVar[int | None] = None
    """Store a snapshot every N events of a stream (None: the store's ``SNAPSHOT_EVERY``)."""

    def __init__(self, stream_id: str) -> None:
        self.id = stream_id
        self.version = 0
        self.district: str | None = None
        self.agency_id: str | None = None
        self._pending: list[Event] = []
        self._district_before: str | None = None
        self._init_state()

    def _record(self, event: Event) -> None:
        """Apply a new event and keep it for the store (the district it had before the command's first one
        is kept too: the caller's scope is checked against it, ``district_before``)."""
        if not self._pending:
            self._district_before = self.district
        self._apply(event)
        self._pending.append(event)

    @property
    def district_before(self) -> str | None:
        """The district the aggregate had before the events pending now (None for one they create).

        A command is in a district's scope only if every aggregate it changes was that district's before it
        and is after it: the district after alone would let a command move another district's aggregate into
        the caller's (``services.common.kernel.scope.require_changes_in_scope``).
        """
        return self._district_before if self._pending else self.district

    def _apply(self, event: Event) -> None:
        handler = getattr(self, f"_on_{event.event_type}", None)
        if handler is None:
            raise NotImplementedError(f"{type(self).__name__} has no _on_{event.event_type}")
        handler(event)
        self.version += 1

    @property
    def pending_events(self) -> list[Event]:
        """Events recorded since the aggregate was loaded, in order."""
        return list(self._pending)

    @property
    def loaded_version(self) -> int:
        """The version the aggregate had when it was loaded: the expected version for the append."""
        return self.version - len(self._pending)

    def mark_stored(self) -> None:
        """Forget pending events once the store has them."""
        self._pending.clear()

    @classmethod
    def rehydrate(
        cls, stream_id: str, events: Iterable[Event], snapshot: tuple[int, dict[str, Any]] | None = None
    ) -> Self:
        """Rebuild an aggregate from an optional snapshot (version, state) and the events after it."""
        aggregate = cls(stream_id)
        if snapshot is not None:
            version, state = snapshot
            aggregate.restore_state(state)
            aggregate.version = version
        for event in events:
            aggregate._apply(event)
        return aggregate

    @classmethod
    def snapshot_fits(cls, state: dict[str, Any]) -> bool:
        """Whether a stored snapshot holds every attribute this aggregate keeps now."""
        return _kept_attributes(cls) <= state.keys()

    def _init_state(self) -> None:
        """Set the attributes an empty aggregate has before its first event (override as needed)."""

    def snapshot_state(self) -> dict[str, Any]:
        """The state to store in a snapshot (JSON-native)."""
        return {
            k: copy.deepcopy(v) for k, v in vars(self).items() if not k.startswith("_") and k not in ("id", "version")
        }

    def restore_state(self, state: dict[str, Any]) -> None:
        """Restore what ``snapshot_state`` produced."""
        for key, value in state.items():
            setattr(self, key, copy.deepcopy(value))


_kept: dict[type[Aggregate], frozenset[str]] = {}


def _kept_attributes(cls: type[Aggregate]) -> frozenset[str]:
    """The attributes an empty ``cls`` snapshots (worked out once per class: every load with a snapshot asks)."""
    kept = _kept.get(cls)
    if kept is None:
        kept = _kept[cls] = frozenset(cls("").snapshot_state())
    return kept
