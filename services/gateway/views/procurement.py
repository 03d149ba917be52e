"""The data center's procurement figures (集中采购): the procurement read model (catalog, budget lines, requests,
tenders and their lots, abnormal quotes, awards, deliveries, price alerts), kept in the gateway database too,
and what procurement adds to the agency profile, the district and city roll-ups and the one list of open
findings.

Money is integer fen (分) everywhere, so every per-agency figure sums exactly into district and city totals.
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa

from services.common.kernel.clock import china_date
from services.common.read.projector import Projection
from services.procurement.read_model import (
    ProcurementViews,
    abnormal_quotes,
    budget_lines,
    open_requests,
    price_alerts,
    tender_lots,
)

PROJECTIONS: list[Projection] = [ProcurementViews()]
MIGRATIONS = ("procurement_views",)

SYSTEM = "procurement"
OPEN_ITEM_KINDS = ("abnormal_quote", "price_alert")
"""Kinds of open procurement findings: an abnormal quote (恶意报价) of a tender serving the agency, and a large
price move of a canteen ingredient (食材价格异动, city-wide: no agency or district)."""

FIGURES = (
    "budget_lines",
    "budget_fen",
    "committed_fen",
    "spent_fen",
    "remaining_fen",
    "requests_waiting",
    "open_abnormal_quotes",
)


def procurement_by_agency(
    conn: sa.Connection, district: str | None = None, agency_id: str | None = None, year: int | None = None
) -> dict[str, dict[str, Any]]:
    """Per agency (keyed by agency_id): procurement figures of ``year`` (every year summed when None).

    Every number is summable across agencies:

    - ``budget_lines``: budget lines (预算) granted to the agency (count);
    - ``budget_fen``: their current amounts (fen, 分);
    - ``committed_fen``: reserved for purchase requests and contracts not yet accepted (fen);
    - ``spent_fen``: spent on accepted deliveries (fen);
    - ``remaining_fen``: budget − committed − spent (fen; never negative: the budget rule refuses more);
    - ``requests_waiting``: purchase requests submitted and not (yet) in a tender (count; any year when
      ``year`` is None, else requests of that budget year);
    - ``open_abnormal_quotes``: open abnormal-quote findings on tenders serving the agency's requests of the
      year (count; a finding of a batch tender counts once for each agency it serves).

    Each entry also carries ``district`` (the agency's, as the procurement events recorded it).
    """
    result: dict[str, dict[str, Any]] = {}

    def entry(agency: str, where: str) -> dict[str, Any]:
        return result.setdefault(agency, {"district": where, **dict.fromkeys(FIGURES, 0)})

    b = budget_lines.c
    money = sa.select(
        b.agency_id,
        b.district,
        sa.func.count().label("budget_lines"),
        sa.func.sum(b.amount_fen).label("budget_fen"),
        sa.func.sum(b.committed_fen).label("committed_fen"),
        sa.func.sum(b.spent_fen).label("spent_fen"),
    ).group_by(b.agency_id, b.district)
    for row in conn.execute(_scoped(money, b, district, agency_id, year)):
        figures = entry(row.agency_id, row.district)
        for name in ("budget_lines", "budget_fen", "committed_fen", "spent_fen"):
            figures[name] += int(getattr(row, name) or 0)
        figures["remaining_fen"] = figures["budget_fen"] - figures["committed_fen"] - figures["spent_fen"]

    r = open_requests.c
    waiting = (
        sa.select(r.agency_id, r.district, sa.func.count().label("n"))
        .where(r.status == "submitted")
        .group_by(r.agency_id, r.district)
    )
    for row in conn.execute(_scoped(waiting, r, district, agency_id, year)):
        entry(row.agency_id, row.district)["requests_waiting"] += row.n

    lots, q = tender_lots.c, abnormal_quotes.c
    flagged = (
        sa.select(r.agency_id, r.district, sa.func.count(sa.distinct(q.finding_id)).label("n"))
        .select_from(
            abnormal_quotes.join(tender_lots, lots.tender_id == q.tender_id).join(
                open_requests, r.request_id == lots.request_id
            )
        )
        .where(q.closed_at.is_(None))
        .group_by(r.agency_id, r.district)
    )
    for row in conn.execute(_scoped(flagged, r, district, agency_id, year)):
        entry(row.agency_id, row.district)["open_abnormal_quotes"] += row.n
    return dict(sorted(result.items()))


def _scoped(query: Any, columns: Any, district: str | None, agency_id: str | None, year: int | None) -> Any:
    if district:
        query = query.where(columns.district == district)
    if agency_id:
        query = query.where(columns.agency_id == agency_id)
    if year is not None:
        query = query.where(columns.year == year)
    return query


def open_items(
    conn: sa.Connection, district: str | None = None, agency_id: str | None = None, kind: str | None = None
) -> list[dict[str, Any]]:
    """Open procurement findings as ``{system, kind, agency_id, district, opened_on, detail, id}``, oldest first.

    ``abnormal_quote``: one item per open finding and agency its tender serves (``id`` is
    ``<finding id>:<agency id>``), ``detail`` names the tender, the check, the suppliers and the evidence.
    ``price_alert``: city-wide, so only listed when neither ``district`` nor ``agency_id`` is asked for
    (``agency_id`` and ``district`` are None). ``opened_on`` is an ISO date. See ``services.procurement.read_model``
    for when each closes.
    """
    items: list[dict[str, Any]] = []
    if kind in (None, "abnormal_quote"):
        items += _open_abnormal_quotes(conn, district, agency_id)
    if kind in (None, "price_alert") and not district and not agency_id:
        items += _open_price_alerts(conn)
    return sorted(items, key=lambda i: (i["opened_on"], i["id"]))


def _open_abnormal_quotes(conn: sa.Connection, district: str | None, agency_id: str | None) -> list[dict[str, Any]]:
    lots, q = tender_lots.c, abnormal_quotes.c
    query = (
        sa.select(abnormal_quotes, lots.agency_id, lots.district.label("agency_district"))
        .select_from(abnormal_quotes.join(tender_lots, lots.tender_id == q.tender_id))
        .where(q.closed_at.is_(None))
        .distinct()
    )
    if district:
        query = query.where(lots.district == district)
    if agency_id:
        query = query.where(lots.agency_id == agency_id)
    return [
        {
            "system": SYSTEM,
            "kind": "abnormal_quote",
            "agency_id": row.agency_id,
            "district": row.agency_district,
            "opened_on": china_date(row.flagged_at),
            "detail": (
                f"tender {row.tender_id}: {row.kind} quote by {', '.join(json.loads(row.supplier_ids))} "
                f"(bids {', '.join(json.loads(row.bid_ids))}; evidence {row.evidence})"
            ),
            "id": f"{row.finding_id}:{row.agency_id}",
        }
        for row in conn.execute(query)
    ]


def _open_price_alerts(conn: sa.Connection) -> list[dict[str, Any]]:
    query = sa.select(price_alerts).where(price_alerts.c.closed_on.is_(None))
    return [
        {
            "system": SYSTEM,
            "kind": "price_alert",
            "agency_id": None,
            "district": None,
            "opened_on": row.observed_on,
            "detail": (
                f"{row.item_code}: {row.price_fen} fen on {row.observed_on}, {row.change:+.1%} against "
                f"{row.kind.replace('_', ' ')} ({row.basis_fen:.0f} fen; threshold {row.threshold:.0%})"
            ),
            "id": row.alert_id,
        }
        for row in conn.execute(query)
    ]
