"""The projections that keep the assets read models: the service's own events and procurement's deliveries."""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa

from services.common.base.settings import topic_for
from services.common.kernel.events import Envelope
from services.common.read import sql
from services.common.read.projector import Projection

from .tables import (
    assets,
    disposals,
    findings,
    goods_issued,
    loans,
    received_deliveries,
    requests,
    stock_items,
    stock_levels,
    stocktakes,
)

_ANSWER_REORDER_SIGNAL = (
    stock_levels.update()
    .where(
        stock_levels.c.sku == sa.bindparam("sku"),
        stock_levels.c.site == sa.bindparam("site"),
        stock_levels.c.on_hand > stock_levels.c.reorder_point,
    )
    .values(below_since=None)
)
"""A site's stock back above its reorder point: the reorder signal is answered (built once: ``services.common.read.sql``)."""
_ISSUED_TO = sa.select(goods_issued.c.sku).where(
    goods_issued.c.agency_id == sa.bindparam("agency_id"), goods_issued.c.sku == sa.bindparam("sku")
)
"""Whether an agency has been issued goods of a SKU."""


class AssetsViews(Projection):
    """The ledger, warehouse requests, loans, stock-takes and findings, disposals, and warehouse stock."""

    topics = (topic_for("assets"),)
    tables = (assets, requests, loans, stocktakes, findings, disposals, stock_items, stock_levels, goods_issued)

    # -- the ledger ---------------------------------------------------------------------------------

    def _asset(self, conn: sa.Connection, asset_id: str, **values: Any) -> None:
        sql.update(conn, assets, {"asset_id": asset_id}, values)

    def on_AssetRegistered(self, conn: sa.Connection, env: Envelope) -> None:
        p = env.payload
        keys = ("asset_id", "agency_id", "district", "category", "name", "location", "condition")
        more = ("original_value_fen", "acquired_on", "min_service_life_years", "contract_id", "delivery_id")
        more += ("depreciation_life_years", "depreciation_life_version")
        sql.insert(conn, assets, {k: p[k] for k in (*keys, *more)} | {"status": "in_use"})

    def on_AssetRelocated(self, conn: sa.Connection, env: Envelope) -> None:
        self._asset(conn, env.payload["asset_id"], location=env.payload["to_location"])

    def on_AssetBecameIdle(self, conn: sa.Connection, env: Envelope) -> None:
        self._asset(conn, env.payload["asset_id"], status="idle")

    def on_AssetPutBackInUse(self, conn: sa.Connection, env: Envelope) -> None:
        self._asset(conn, env.payload["asset_id"], status="in_use", location=env.payload["location"])

    def on_AssetHandedIn(self, conn: sa.Connection, env: Envelope) -> None:
        p = env.payload
        held = {"agency_id": p["warehouse_id"], "district": p["district"], "location": p["warehouse_id"]}
        held["condition"] = p["condition"]
        self._asset(conn, p["asset_id"], status="in_warehouse", **held)

    def on_AssetAllocated(self, conn: sa.Connection, env: Envelope) -> None:
        p = env.payload
        held = {"agency_id": p["to_agency_id"], "district": p["district"], "location": p["location"]}
        self._asset(conn, p["asset_id"], status="in_use", **held)

    def on_AssetLent(self, conn: sa.Connection, env: Envelope) -> None:
        self._asset(conn, env.payload["asset_id"], status="on_loan", loan_id=env.payload["loan_id"])

    def on_AssetReturned(self, conn: sa.Connection, env: Envelope) -> None:
        p = env.payload
        self._asset(conn, p["asset_id"], status="in_warehouse", loan_id=None, condition=p["condition"])

    def on_ReplacementApplied(self, conn: sa.Connection, env: Envelope) -> None:
        self._asset(conn, env.payload["asset_id"], replacement="applied")

    def on_RepairAssessed(self, conn: sa.Connection, env: Envelope) -> None:
        self._asset(conn, env.payload["asset_id"], replacement="assessed")

    def on_ReplacementApproved(self, conn: sa.Connection, env: Envelope) -> None:
        self._asset(conn, env.payload["asset_id"], replacement="approved")

    def on_ReplacementOrdered(self, conn: sa.Connection, env: Envelope) -> None:
        self._asset(conn, env.payload["asset_id"], replacement="ordered")

    def on_AssetRepaired(self, conn: sa.Connection, env: Envelope) -> None:
        self._asset(conn, env.payload["asset_id"], replacement=None, condition=env.payload["condition"])

    def on_AssetDisposed(self, conn: sa.Connection, env: Envelope) -> None:
        self._asset(conn, env.payload["asset_id"], status="disposed", disposed_on=env.payload["disposed_on"])

    # -- the public goods warehouse -----------------------------------------------------------------

    def on_WarehouseRequestOpened(self, conn: sa.Connection, env: Envelope) -> None:
        p = env.payload
        keys = ("request_id", "agency_id", "district", "category", "quantity", "replaces_asset_id", "opened_on")
        counts = {"allocated": 0, "purchase_authorised": 0, "status": "open"}
        sql.insert(conn, requests, {k: p[k] for k in keys} | counts)

    def on_RequestFulfilledFromIdleStock(self, conn: sa.Connection, env: Envelope) -> None:
        key = {"request_id": env.payload["request_id"]}
        sql.add(conn, requests, key, {"allocated": len(env.payload["asset_ids"])})
        sql.update(conn, requests, key, {"status": "fulfilled"})

    def on_PurchaseAuthorised(self, conn: sa.Connection, env: Envelope) -> None:
        values = {"purchase_authorised": env.payload["quantity"], "status": "purchase_authorised"}
        sql.update(conn, requests, {"request_id": env.payload["request_id"]}, values)

    def on_LoanIssued(self, conn: sa.Connection, env: Envelope) -> None:
        p = env.payload
        keys = ("loan_id", "borrower_agency_id", "district", "purpose", "occasion", "due_on", "lent_on")
        ids = json.dumps(p["asset_ids"])
        sql.insert(
            conn,
            loans,
            {k: p[k] for k in keys}
            | {"asset_ids": ids, "outstanding_asset_ids": ids, "outstanding": len(p["asset_ids"])},
        )

    def on_LoanItemsReturned(self, conn: sa.Connection, env: Envelope) -> None:
        p = env.payload
        left = p["outstanding_asset_ids"]
        values = {"outstanding_asset_ids": json.dumps(left), "outstanding": len(left)}
        sql.update(conn, loans, {"loan_id": p["loan_id"]}, values | {"returned_on": None if left else p["returned_on"]})

    def on_LoanOverdueFlagged(self, conn: sa.Connection, env: Envelope) -> None:
        sql.update(conn, loans, {"loan_id": env.payload["loan_id"]}, {"flagged_on": env.payload["flagged_on"]})

    # -- stock-takes --------------------------------------------------------------------------------

    def on_StockTakeOpened(self, conn: sa.Connection, env: Envelope) -> None:
        p = env.payload
        row = {k: p[k] for k in ("stocktake_id", "agency_id", "district", "opened_on")}
        sql.insert(conn, stocktakes, row | {"status": "counting", "expected_items": len(p["expected"])})

    def on_StockTakeFindingRecorded(self, conn: sa.Connection, env: Envelope) -> None:
        p = env.payload
        keys = ("finding_id", "stocktake_id", "agency_id", "kind", "asset_id", "ledger_location", "found_location")
        sql.insert(
            conn, findings, {k: p[k] for k in keys} | {"district": env.district, "recorded_on": p["recorded_on"]}
        )

    def on_CountingClosed(self, conn: sa.Connection, env: Envelope) -> None:
        p = env.payload
        status = "reconciling" if p["findings"] else "reconciled"
        values = {"counted_items": p["counted_items"], "findings": p["findings"], "closed_on": p["closed_on"]}
        sql.update(conn, stocktakes, {"stocktake_id": p["stocktake_id"]}, {"status": status, **values})

    def on_FindingReconciled(self, conn: sa.Connection, env: Envelope) -> None:
        p = env.payload
        resolved = {"resolution": p["resolution"], "reconciled_on": p["reconciled_on"]}
        sql.update(conn, findings, {"finding_id": p["finding_id"]}, resolved)
        still_open = sa.select(sa.func.count()).where(
            findings.c.stocktake_id == p["stocktake_id"], findings.c.resolution.is_(None)
        )
        if conn.execute(still_open).scalar_one() == 0:
            sql.update(conn, stocktakes, {"stocktake_id": p["stocktake_id"]}, {"status": "reconciled"})

    # -- disposals ----------------------------------------------------------------------------------

    def on_DisposalApplied(self, conn: sa.Connection, env: Envelope) -> None:
        p = env.payload
        keys = ("disposal_id", "agency_id", "district", "method", "book_value_fen", "applied_on")
        sql.insert(conn, disposals, {k: p[k] for k in keys} | {"status": "applied", "asset_count": len(p["asset_ids"])})

    def on_DisposalApproved(self, conn: sa.Connection, env: Envelope) -> None:
        p = env.payload
        decided = {"status": "approved", "decided_on": p["approved_on"]}
        sql.update(conn, disposals, {"disposal_id": p["disposal_id"]}, decided)

    def on_DisposalRejected(self, conn: sa.Connection, env: Envelope) -> None:
        p = env.payload
        decided = {"status": "rejected", "decided_on": p["rejected_on"]}
        sql.update(conn, disposals, {"disposal_id": p["disposal_id"]}, decided)

    def on_DisposalCompleted(self, conn: sa.Connection, env: Envelope) -> None:
        p = env.payload
        done = {"status": "completed", "proceeds_fen": p["proceeds_fen"], "completed_on": p["completed_on"]}
        sql.update(conn, disposals, {"disposal_id": p["disposal_id"]}, done)

    # -- warehouse stock ----------------------------------------------------------------------------

    def _level(self, conn: sa.Connection, sku: str, site: str, **values: Any) -> None:
        key = {"sku": sku, "site": site}
        sql.update(conn, stock_levels, key, values)
        sql.run(conn, _ANSWER_REORDER_SIGNAL, key)

    def on_ReorderPointReached(self, conn: sa.Connection, env: Envelope) -> None:
        p = env.payload
        self._level(conn, p["sku"], p["site"], below_since=p["reached_on"])

    def on_StockItemRegistered(self, conn: sa.Connection, env: Envelope) -> None:
        p = env.payload
        sql.insert(conn, stock_items, {k: p[k] for k in ("sku", "name", "unit")} | {"average_unit_cost_fen": 0})
        levels = [
            {"sku": p["sku"], "site": s, "on_hand": 0, "reorder_point": p["reorder_points"][s]} for s in p["sites"]
        ]
        sql.insert(conn, stock_levels, levels)

    def on_ReorderPointSet(self, conn: sa.Connection, env: Envelope) -> None:
        p = env.payload
        self._level(conn, p["sku"], p["site"], reorder_point=p["reorder_point"])

    def on_GoodsReceived(self, conn: sa.Connection, env: Envelope) -> None:
        p = env.payload
        self._level(conn, p["sku"], p["site"], on_hand=p["on_hand_after"])
        sql.update(conn, stock_items, {"sku": p["sku"]}, {"average_unit_cost_fen": p["average_unit_cost_fen"]})

    def on_GoodsIssued(self, conn: sa.Connection, env: Envelope) -> None:
        p = env.payload
        self._level(conn, p["sku"], p["site"], on_hand=p["on_hand_after"])
        key = {"agency_id": p["agency_id"], "sku": p["sku"]}
        if conn.execute(_ISSUED_TO, key).first() is None:
            sql.insert(conn, goods_issued, key | {"quantity": 0, "value_fen": 0})
        sql.add(conn, goods_issued, key, {"quantity": p["quantity"], "value_fen": p["value_fen"]})

    def on_GoodsTransferred(self, conn: sa.Connection, env: Envelope) -> None:
        p = env.payload
        self._level(conn, p["sku"], p["from_site"], on_hand=p["from_on_hand_after"])
        self._level(conn, p["sku"], p["to_site"], on_hand=p["to_on_hand_after"])


class ReceivedDeliveries(Projection):
    """The procurement service's accepted deliveries, waiting to be entered in the ledger (an inbox)."""

    topics = (topic_for("procurement"),)
    tables = (received_deliveries,)

    def on_DeliveryAccepted(self, conn: sa.Connection, env: Envelope) -> None:
        """Keep the accepted delivery; the service's timer enters its items."""
        p = env.payload
        sql.insert(
            conn,
            received_deliveries,
            {
                "event_id": env.event_id,
                "contract_id": p["contract_id"],
                "delivery_id": p["delivery_id"],
                "payload": json.dumps(p, ensure_ascii=False),
                "correlation_id": env.correlation_id,
                "received_at": env.recorded_at,
                "status": "pending",
            },
        )
