"""The district scope rule, in one place: a district operator acts and reads only within its own district; the
city's roles (a caller without a scope district) see and act on everything.

A caller's scope is a district code (``Metadata.scope_district`` in a service, ``Principal.visible_district()``
at the gateway) or None for the city. A record is in scope when it is the scope's district or shares itself
with it (a trip served city-wide by another district's vehicle is both districts'); a record without a
district is the city's alone. An aggregate a command changes must be in scope as it was before the command
and as it is after it (``aggregate_in_scope``); aggregates changed only as the consequence of another change
(``following``, see ``DomainService.save``) are not checked.

Every refusal is ``NotInScope`` (403), made by ``refusal``: the gateway answers a district operator's refusal
about a record its URL names as 404, alike with a missing record (no existence oracle).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any

from services.common.kernel.aggregate import Aggregate
from services.common.kernel.errors import NotInScope


def in_scope(scope: str | None, district: str | None, shared: Collection[str | None] = ()) -> bool:
    """Whether a record of ``district`` (shared with the districts ``shared``) is within ``scope``: always for
    the city (None); for a district, when the record is that district's or shared with it."""
    return scope is None or district == scope or scope in shared


def aggregate_in_scope(scope: str | None, aggregate: Aggregate) -> bool:
    """Whether ``aggregate`` is within ``scope`` both as it was before the events pending on it and as it is
    after them (one it creates: after them only), its ``shared_districts`` counting as its own."""
    shared = getattr(aggregate, "shared_districts", ())
    before = aggregate.district_before
    states = {aggregate.district} if before is None else {before, aggregate.district}
    return all(in_scope(scope, state, shared) for state in states)


def refusal(
    scope: str | None,
    message: str | None = None,
    *,
    fields: dict[str, Any] | None = None,
    details: dict[str, Any] | None = None,
) -> NotInScope:
    """The refusal (403 ``not_in_scope``) of something outside ``scope``; ``message`` defaults to saying whose
    district the caller acts for."""
    return NotInScope(message or f"the caller acts for district {scope} only", fields=fields, details=details)


def require_in_scope(
    scope: str | None,
    district: str | None,
    shared: Collection[str | None] = (),
    *,
    message: str | None = None,
    fields: dict[str, Any] | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Refuse (``refusal``) a record of ``district`` (shared with ``shared``) outside ``scope``."""
    if not in_scope(scope, district, shared):
        raise refusal(scope, message, fields=fields, details=details)


def require_changes_in_scope(scope: str | None, aggregates: Iterable[Aggregate]) -> None:
    """Refuse (403) to change an aggregate outside the caller's district scope, as it was BEFORE the command
    and as it is after: a district may neither take another district's aggregate (the warehouse's asset
    allocated to itself) nor give its own away. Moving an aggregate between districts is the city's.
    Only aggregates with pending events count; the refusal names them (at most 20) in ``outside``."""
    if scope is None:
        return
    outside = sorted({a.id for a in aggregates if a.pending_events and not aggregate_in_scope(scope, a)})
    if outside:
        raise refusal(scope, details={"scope_district": scope, "outside": outside[:20]})


def require_addressed_in_scope(scope: str | None, aggregate: Aggregate) -> None:
    """Refuse (403) the aggregate a command addresses (its URL's id) when it is outside the caller's district,
    before any rule of the command judges its state: a refusal about its state would tell another district
    that it exists. The refusal names it in ``outside``, as ``require_changes_in_scope`` does, so the gateway
    answers it as missing."""
    if not aggregate_in_scope(scope, aggregate):
        raise refusal(scope, details={"scope_district": scope, "outside": [aggregate.id]})


def within(scope: str | None, records: Iterable[Any], district_of: str = "district") -> list[Any]:
    """The records (dicts or objects with a ``district_of`` key or attribute) within ``scope``, in order."""
    return [r for r in records if in_scope(scope, _get(r, district_of))]


def _get(record: Any, name: str) -> Any:
    return record.get(name) if isinstance(record, dict) else getattr(record, name)
