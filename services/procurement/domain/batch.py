"""Batch procurement (批量集中采购): the requests of several agencies for one item gathered into one tender."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

BATCH_MIN_AGENCIES: Final = 2
"""A batch gathers the requests of at least two agencies for the same item and year."""


@dataclass(frozen=True)
class OpenRequest:
    """A submitted, not yet tendered request as the batch planner sees it."""

    request_id: str
    agency_id: str
    item_code: str
    year: int
    quantity: int


@dataclass(frozen=True)
class BatchProposal:
    """Requests of several agencies for one item and year that one tender can serve."""

    item_code: str
    year: int
    request_ids: tuple[str, ...]
    agency_ids: tuple[str, ...]
    quantity: int


def propose_batches(requests: Sequence[OpenRequest], min_agencies: int = BATCH_MIN_AGENCIES) -> list[BatchProposal]:
    """Group open requests by catalog item and year where enough agencies ask for the same item."""
    groups: dict[tuple[str, int], list[OpenRequest]] = defaultdict(list)
    for request in requests:
        groups[(request.item_code, request.year)].append(request)
    return [
        BatchProposal(
            item_code=item_code,
            year=year,
            request_ids=tuple(r.request_id for r in group),
            agency_ids=tuple(sorted({r.agency_id for r in group})),
            quantity=sum(r.quantity for r in group),
        )
        for (item_code, year), group in sorted(groups.items())
        if len({r.agency_id for r in group}) >= min_agencies
    ]
