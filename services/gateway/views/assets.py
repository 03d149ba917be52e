"""The data center's assets figures (国有资产, 公物仓): the assets read model (ledger, requests, loans, stock-takes,
disposals, warehouse stock), kept in the gateway database too, and the per-agency figures and open items the
agency profile, the district and city roll-ups and the one list of open findings are made of.

Money is integer fen (分, the same unit as the data center's ``_fen``). Book values are those of
``services.assets.domain.depreciation.depreciate`` (docs/kpis/assets.md) on the day asked (``today``, default the current
Beijing date), computed when read, so they are never stale.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa

from services.assets.read_model import (
    DEPRECIATION_COLUMNS,
    NEEDS_REORDER,
    STATUSES,
    AssetsViews,
    assets,
    days_overdue,
    disposals,
    findings,
    goods_issued,
    loans,
    stock_items,
    stock_levels,
    with_book_value,
)
from services.common.kernel.clock import china_today
from services.common.read.projector import Projection
from services.gateway.views.agencies import agencies_table

PROJECTIONS: list[Projection] = [AssetsViews()]
MIGRATIONS = ("assets_views",)

HELD = tuple(s for s in STATUSES if s != "disposed")
"""The statuses of assets still on the ledger: in use, idle, in the warehouse, on loan."""

OPEN_ITEM_KINDS = ("stocktake_missing", "stocktake_surplus", "stocktake_wrong_place", "overdue_loan", "reorder_point")
"""Kinds of open items this system contributes to the data center's list of open findings."""


def _empty_figures() -> dict[str, int]:
    figures = {f"{status}_{what}": 0 for status in HELD for what in ("count", "original_value_fen", "book_value_fen")}
    return figures | {
        "assets_count": 0,
        "original_value_fen": 0,
        "book_value_fen": 0,
        "idle_assets_count": 0,
        "idle_assets_book_value_fen": 0,
        "disposed_count": 0,
        "disposal_proceeds_fen": 0,
        "borrowed_items_outstanding": 0,
        "overdue_loans": 0,
        "overdue_loan_items": 0,
        "open_stocktake_differences": 0,
        "goods_issued_value_fen": 0,
    }


def assets_by_agency(
    conn: sa.Connection, district: str | None = None, agency_id: str | None = None, today: date | None = None
) -> dict[str, dict[str, int]]:
    """Per holder (agency id): plain summable numbers, money in fen, counts in items (件) or loans.

    - ``<status>_count``, ``<status>_original_value_fen``, ``<status>_book_value_fen`` for each status still on
      the ledger (``in_use``, ``idle``, ``in_warehouse``, ``on_loan``): assets the holder keeps, their original value
      (原值) and straight-line book value (账面价值) on ``today``; ``assets_count``, ``original_value_fen`` and
      ``book_value_fen`` are their totals over those statuses.
    - ``idle_assets_count`` and ``idle_assets_book_value_fen``: assets the agency no longer uses and has not yet
      handed in (闲置资产), to show beside its idle rooms: what could be reallocated before anything is bought.
    - ``disposed_count``: assets disposed of (处置) by the holder; ``disposal_proceeds_fen``: proceeds of its
      completed disposals.
    - ``borrowed_items_outstanding``: warehouse items the agency has on loan now; ``overdue_loans`` and
      ``overdue_loan_items``: its loans with items still out after the due date, and those items.
    - ``open_stocktake_differences``: stock-take findings (missing, surplus, wrong place) not yet reconciled.
    - ``goods_issued_value_fen``: warehouse stock (仓储) issued to the agency, at moving average cost.

    Assets handed in to a public goods warehouse are held by the agency keeping it (the administration, or a
    district's centre): its ``in_warehouse_*`` and ``on_loan_*`` figures are the warehouse's stock;
    ``warehouse_figures`` gives them city-wide by category.
    ``district`` limits to holders (and borrowers, and agencies of the directory for goods issued) of a district.
    """
    day = today or china_today()
    result: dict[str, dict[str, int]] = {}

    def figures(holder: str) -> dict[str, int]:
        return result.setdefault(holder, _empty_figures())

    _ledger(conn, district, agency_id, day, figures)
    _disposals(conn, district, agency_id, figures)
    _loans(conn, district, agency_id, day, figures)
    _differences(conn, district, agency_id, figures)
    _goods(conn, district, agency_id, figures)
    return result


def _where(query: Any, agency_column: Any, district_column: Any, district: str | None, agency_id: str | None) -> Any:
    if agency_id:
        query = query.where(agency_column == agency_id)
    if district:
        query = query.where(district_column == district)
    return query


def _ledger(conn: sa.Connection, district: str | None, agency_id: str | None, day: date, figures: Any) -> None:
    a = assets.c
    query = _where(sa.select(a.agency_id, *DEPRECIATION_COLUMNS), a.agency_id, a.district, district, agency_id)
    for row in with_book_value((r._asdict() for r in conn.execute(query)), day):
        f = figures(row["agency_id"])
        if row["status"] == "disposed":
            f["disposed_count"] += 1
            continue
        status, value, book = row["status"], row["original_value_fen"], row["book_value_fen"]
        f[f"{status}_count"] += 1
        f[f"{status}_original_value_fen"] += value
        f[f"{status}_book_value_fen"] += book
        f["assets_count"] += 1
        f["original_value_fen"] += value
        f["book_value_fen"] += book
        if status == "idle":
            f["idle_assets_count"] += 1
            f["idle_assets_book_value_fen"] += book


def _disposals(conn: sa.Connection, district: str | None, agency_id: str | None, figures: Any) -> None:
    d = disposals.c
    query = sa.select(d.agency_id, sa.func.sum(d.proceeds_fen).label("proceeds")).where(d.status == "completed")
    query = _where(query, d.agency_id, d.district, district, agency_id).group_by(d.agency_id)
    for row in conn.execute(query):
        figures(row.agency_id)["disposal_proceeds_fen"] += int(row.proceeds or 0)


def _loans(conn: sa.Connection, district: str | None, agency_id: str | None, day: date, figures: Any) -> None:
    t = loans.c
    query = _where(
        sa.select(t.borrower_agency_id, t.outstanding, t.due_on), t.borrower_agency_id, t.district, district, agency_id
    )
    for row in conn.execute(query.where(t.outstanding > 0)):
        f = figures(row.borrower_agency_id)
        f["borrowed_items_outstanding"] += row.outstanding
        if days_overdue(row.due_on, day) > 0:
            f["overdue_loans"] += 1
            f["overdue_loan_items"] += row.outstanding


def _differences(conn: sa.Connection, district: str | None, agency_id: str | None, figures: Any) -> None:
    t = findings.c
    query = sa.select(t.agency_id, sa.func.count().label("n")).where(t.resolution.is_(None))
    for row in conn.execute(_where(query, t.agency_id, t.district, district, agency_id).group_by(t.agency_id)):
        figures(row.agency_id)["open_stocktake_differences"] += row.n


def _goods(conn: sa.Connection, district: str | None, agency_id: str | None, figures: Any) -> None:
    g = goods_issued.c
    query = sa.select(g.agency_id, sa.func.sum(g.value_fen).label("value")).group_by(g.agency_id)
    if district:
        query = query.join_from(goods_issued, agencies_table, agencies_table.c.agency_id == g.agency_id).where(
            agencies_table.c.district == district
        )
    if agency_id:
        query = query.where(g.agency_id == agency_id)
    for row in conn.execute(query):
        figures(row.agency_id)["goods_issued_value_fen"] += int(row.value or 0)


def warehouse_figures(conn: sa.Connection, today: date | None = None) -> dict[str, Any]:
    """The city's public goods warehouse and warehouse stock, in plain numbers (money in fen):

    - ``idle_stock``: per asset category, items in the public goods warehouse available for reallocation
      (``count``, ``original_value_fen``, ``book_value_fen`` on ``today``); ``on_loan_items``: items lent out now.
    - ``stock_value_fen``: warehouse stock (仓储) at moving average cost, in total and ``by_site`` (the central
      warehouse and each outlying point); ``items_at_or_below_reorder_point``: item-site pairs to replenish.
    """
    day = today or china_today()
    a = assets.c
    query = sa.select(a.category, *DEPRECIATION_COLUMNS).where(a.status.in_(("in_warehouse", "on_loan")))
    rows = with_book_value((r._asdict() for r in conn.execute(query)), day)
    idle: dict[str, dict[str, int]] = {}
    on_loan = 0
    for row in rows:
        if row["status"] == "on_loan":
            on_loan += 1
            continue
        f = idle.setdefault(row["category"], {"count": 0, "original_value_fen": 0, "book_value_fen": 0})
        f["count"] += 1
        f["original_value_fen"] += row["original_value_fen"]
        f["book_value_fen"] += row["book_value_fen"]
    levels, items = stock_levels.c, stock_items.c
    stock = conn.execute(
        sa.select(levels.site, levels.on_hand, items.average_unit_cost_fen, NEEDS_REORDER.label("reorder")).join_from(
            stock_levels, stock_items, levels.sku == items.sku
        )
    ).all()
    by_site: dict[str, int] = {}
    for level in stock:
        by_site[level.site] = by_site.get(level.site, 0) + level.on_hand * level.average_unit_cost_fen
    return {
        "idle_stock": dict(sorted(idle.items())),
        "on_loan_items": on_loan,
        "stock_value_fen": sum(by_site.values()),
        "by_site": dict(sorted(by_site.items())),
        "items_at_or_below_reorder_point": sum(1 for level in stock if level.reorder),
    }


def open_items(
    conn: sa.Connection,
    district: str | None = None,
    agency_id: str | None = None,
    kind: str | None = None,
    today: date | None = None,
) -> list[dict[str, Any]]:
    """Open anomalies of the assets system, oldest first, each ``{system, kind, agency_id, district, opened_on,
    detail, id}``: unreconciled stock-take differences (``stocktake_missing``, ``stocktake_surplus``,
    ``stocktake_wrong_place``, opened when counting closed), loans with items out after their due date
    (``overdue_loan``, opened the day after it was due), and warehouse stock at or below its reorder point
    (``reorder_point``, opened when it got there; city-wide, no agency or district, listed only when neither is
    asked for)."""
    day = today or china_today()
    found: list[dict[str, Any]] = []
    if kind is None or kind.startswith("stocktake_"):
        found += _open_differences(conn, district, agency_id, kind)
    if kind in (None, "overdue_loan"):
        found += _overdue_loans(conn, district, agency_id, day)
    if kind in (None, "reorder_point") and not district and not agency_id:
        found += _reorders(conn, day)
    return sorted(found, key=lambda item: (item["opened_on"], item["id"]))


def _item(
    kind: str, agency_id: str | None, district: str | None, opened_on: str, detail: str, key: str
) -> dict[str, Any]:
    return {
        "system": "assets",
        "kind": kind,
        "agency_id": agency_id,
        "district": district,
        "opened_on": opened_on,
        "detail": detail,
        "id": key,
    }


def _open_differences(
    conn: sa.Connection, district: str | None, agency_id: str | None, kind: str | None
) -> list[dict[str, Any]]:
    t = findings.c
    query = _where(sa.select(findings).where(t.resolution.is_(None)), t.agency_id, t.district, district, agency_id)
    if kind:
        query = query.where(t.kind == kind.removeprefix("stocktake_"))
    return [
        _item(
            f"stocktake_{r.kind}",
            r.agency_id,
            r.district,
            r.recorded_on,
            f"stock-take {r.stocktake_id}: asset {r.asset_id} {r.kind.replace('_', ' ')}"
            f" (ledger: {r.ledger_location or '-'}, found: {r.found_location or '-'})",
            f"assets:finding:{r.finding_id}",
        )
        for r in conn.execute(query)
    ]


def _overdue_loans(conn: sa.Connection, district: str | None, agency_id: str | None, day: date) -> list[dict[str, Any]]:
    t = loans.c
    query = sa.select(loans).where(t.outstanding > 0, t.due_on < day.isoformat())
    rows = conn.execute(_where(query, t.borrower_agency_id, t.district, district, agency_id)).all()
    return [
        _item(
            "overdue_loan",
            r.borrower_agency_id,
            r.district,
            (date.fromisoformat(r.due_on) + timedelta(days=1)).isoformat(),
            f"loan {r.loan_id} ({r.purpose}: {r.occasion}): {r.outstanding} item(s) out, due {r.due_on},"
            f" {days_overdue(r.due_on, day)} day(s) overdue: {', '.join(json.loads(r.outstanding_asset_ids)[:10])}",
            f"assets:loan:{r.loan_id}",
        )
        for r in rows
    ]


def _reorders(conn: sa.Connection, day: date) -> list[dict[str, Any]]:
    levels, items = stock_levels.c, stock_items.c
    query = (
        sa.select(
            levels.sku, levels.site, levels.on_hand, levels.reorder_point, levels.below_since, items.name, items.unit
        )
        .join_from(stock_levels, stock_items, levels.sku == items.sku)
        .where(NEEDS_REORDER)
    )
    return [
        _item(
            "reorder_point",
            None,
            None,
            r.below_since or day.isoformat(),
            f"{r.name} at {r.site}: {r.on_hand} {r.unit} on hand, reorder point {r.reorder_point}",
            f"assets:stock:{r.sku}:{r.site}",
        )
        for r in conn.execute(query)
    ]
