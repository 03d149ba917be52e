"""The assets service's commands, read models and data-center figures on a real store (SQLite and PostgreSQL),
without brokers: the service runs in-process (``worker_factory``), its projections are fed the stored events
directly, and so are the other side's: procurement's ``DeliveryAccepted`` comes in, our ``PurchaseAuthorised``
goes to procurement's ``ReceivedAuthorisations``."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from services.assets import read_model
from services.assets.service import AssetsService
from services.common.base import contracts
from services.common.base.db import create_db_engine
from services.common.base.metrics import OPEN_ANOMALIES
from services.common.kernel.clock import china_today, iso
from services.common.kernel.events import Envelope
from services.common.runtime.rpc import ServiceError
from services.gateway.views import assets as datacenter
from services.gateway.views import prepare_database
from services.gateway.views.agencies import agencies_table
from services.procurement import read_model as procurement_views
from tests.integration.harness import ServiceHarness

TODAY: date
"""Today in Beijing time, the calendar the services count days in."""


def read_the_clock() -> None:
    """Today, read as the module is imported and again as each test starts (``tests/conftest.py``)."""
    global TODAY
    TODAY = china_today()


read_the_clock()


AGENCIES = (("AG-1", "320402"), ("AG-2", "320402"), ("AG-3", "320404"), ("WH-CITY", "320400"))
"""Three agencies and the administration that keeps the city's public goods warehouse (市级公物仓)."""


class Harness(ServiceHarness):
    """The service with a real store and read models; ``project()`` applies what was stored to the service's
    views and to a data-center database of the gateway's."""

    def __init__(self, url: str, gateway_url: str) -> None:
        migrations = ["assets_views", "assets_inbox", "procurement_views"]
        super().__init__(url, "assets", AssetsService, read_model.AssetsViews(), migrations, AGENCIES)
        self.gateway = create_db_engine(gateway_url)
        prepare_database(self.gateway)
        now = iso(datetime.now(UTC))
        with self.gateway.begin() as conn:
            conn.execute(
                agencies_table.insert(),
                [r | {"version": 1, "registered_at": now, "updated_at": now} for r in self.agency_rows],
            )

    def project(self) -> list[Envelope]:  # type: ignore[override]
        envelopes = self.store.read_all(after=self.position, limit=100_000)
        for engine in (self.engine, self.gateway):
            with engine.begin() as conn:
                for env in envelopes:
                    read_model.AssetsViews().apply(conn, env)
        self.position = envelopes[-1].position or self.position if envelopes else self.position
        return envelopes

    def refused(self, method: str, body: dict[str, Any]) -> ServiceError:
        before = self.store.last_position()
        with pytest.raises(ServiceError) as refused:
            getattr(self.service, method)(body)
        assert self.store.last_position() == before  # nothing stored
        return refused.value

    def asset(
        self, agency: str = "AG-1", category: str = "furniture", acquired: date = date(2020, 1, 1), **extra: Any
    ) -> str:
        body = {"agency_id": agency, "category": category, "name": "办公桌", "location": "R301"}
        body |= {"original_value_fen": 180_000, "acquired_on": acquired.isoformat()} | extra
        return str(self.service.register_asset(body)["id"])

    def handed_in(self, condition: str = "good", **extra: Any) -> str:
        asset_id = self.asset(**extra)
        self.service.mark_asset_idle({"asset_id": asset_id, "reason": "机构撤并"})
        self.service.hand_in_asset({"asset_id": asset_id, "condition": condition, "warehouse_id": "WH-CITY"})
        return asset_id


@pytest.fixture
def assets(db_url: str, tmp_path: Path) -> Harness:
    return Harness(db_url, f"sqlite:///{tmp_path / 'gateway.db'}")


def _envelope(domain: str, event_type: str, payload: dict[str, Any], district: str = "320402") -> Envelope:
    now = iso(datetime.now(UTC))
    return Envelope(
        event_id=str(uuid.uuid4()),
        event_type=event_type,
        schema_version=2,
        stream_type="ProcurementContract",
        stream_id=payload.get("contract_id", "x"),
        stream_version=3,
        occurred_at=now,
        recorded_at=now,
        district=district,
        agency_id=payload.get("agency_id"),
        actor="city_admin:buyer",
        correlation_id="corr-delivery-1",
        causation_id=None,
        payload=payload,
        domain=domain,
    )


def test_a_request_takes_idle_stock_first_and_authorises_buying_only_the_rest(assets: Harness) -> None:
    kept = assets.handed_in("good")
    assets.handed_in("poor")  # not good enough for the request
    assets.project()
    body = {"agency_id": "AG-2", "category": "furniture", "quantity": 3, "min_condition": "fair", "location": "R9"}
    answer = assets.service.request_assets(body | {"request_id": "WR-1"})
    assert (answer["allocated_asset_ids"], answer["purchase_authorised"]) == ([kept], 2)
    (authorised,) = [e for e in assets.project() if e.event_type == "PurchaseAuthorised"]
    assert authorised.payload == {
        "request_id": "WR-1",
        "agency_id": "AG-2",
        "district": "320402",
        "category": "furniture",
        "asset_category": "furniture",
        "quantity": 2,
        "idle_items_checked": 2,
        "idle_items_fitting": 1,
        "authorised_on": TODAY.isoformat(),
    }
    taken = assets.service.get_asset({"asset_id": kept})
    assert (taken["status"], taken["agency_id"], taken["location"]) == ("in_use", "AG-2", "R9")
    again = assets.service.request_assets(body | {"request_id": "WR-2", "quantity": 1})
    assert (again["allocated_asset_ids"], again["purchase_authorised"]) == ([], 1)  # taken items are not offered twice


def test_procurement_records_our_purchase_authorisation_under_the_request_id(assets: Harness) -> None:
    body = {"agency_id": "AG-1", "category": "computers", "quantity": 2, "location": "R1", "request_id": "WR-PC"}
    assets.service.request_assets(body)
    (authorised,) = [e for e in assets.project() if e.event_type == "PurchaseAuthorised"]
    with assets.engine.begin() as conn:
        procurement_views.ReceivedAuthorisations().apply(conn, authorised)
        row = procurement_views.received_authorisation(conn, "WR-PC")
    assert row is not None and (row["category"], row["quantity"], row["agency_id"]) == ("equipment", 2, "AG-1")


def test_an_accepted_delivery_becomes_ledger_entries_once(assets: Harness) -> None:
    example = json.loads(contracts.schema_path("procurement", "DeliveryAccepted", 1).read_text(encoding="utf-8"))
    payload = example["examples"][0] | {
        "agency_id": "AG-1",
        "quantity": 3,
        "contract_id": "CT-9",
        "delivery_id": "DL-1",
    }
    contracts.validate_payload("procurement", "DeliveryAccepted", 1, payload)
    accepted = _envelope("procurement", "DeliveryAccepted", payload)
    with assets.engine.begin() as conn:
        read_model.ReceivedDeliveries().apply(conn, accepted)
    assets.service.register_received_deliveries()
    entered = assets.project()
    assert [e.event_type for e in entered] == ["AssetRegistered"] * 3
    assert {(e.actor, e.causation_id, e.correlation_id) for e in entered} == {
        ("system:procurement", accepted.event_id, "corr-delivery-1")
    }
    first = entered[0].payload
    assert (first["category"], first["min_service_life_years"], first["original_value_fen"]) == (
        "furniture",
        15,
        158_000,
    )
    assert (first["contract_id"], first["delivery_id"], first["acquired_on"]) == (
        "CT-9",
        "DL-1",
        payload["accepted_on"],
    )
    # a crash after the append but before the inbox row was marked: the next round changes nothing
    with assets.engine.begin() as conn:
        conn.execute(read_model.received_deliveries.update().values(status="pending"))
    assets.service.register_received_deliveries()
    assert assets.project() == []
    page = {"agency_id": None, "district": None, "status": None, "category": None, "delivery_id": "DL-1"}
    listed = assets.service.list_assets(page | {"limit": 10, "offset": 0})["items"]
    assert len(listed) == 3 and {a["status"] for a in listed} == {"in_use"}


def test_a_delivery_of_consumables_is_skipped_and_left_out_of_the_ledger(assets: Harness) -> None:
    payload = {
        "contract_id": "CT-2", "delivery_id": "DL-2", "agency_id": "AG-1", "district": "320402", "supplier_id": "S-1",
        "item_code": "A-paper", "category": "office_supplies", "quantity": 50, "defective_quantity": 0,
        "unit_value_fen": 2_300, "accepted_on": TODAY.isoformat(),
    }  # fmt: skip
    with assets.engine.begin() as conn:
        read_model.ReceivedDeliveries().apply(conn, _envelope("procurement", "DeliveryAccepted", payload))
    assets.service.register_received_deliveries()
    assert assets.project() == []
    with assets.engine.connect() as conn:
        assert conn.execute(sa.select(read_model.received_deliveries.c.status)).scalar_one() == "skipped"


def test_a_stocktake_compares_counts_with_the_ledger_and_reconciliation_corrects_it(assets: Harness) -> None:
    a1, a2 = assets.asset(location="R301"), assets.asset(location="R302")
    assets.project()
    opened = assets.service.open_stocktake({"agency_id": "AG-1", "stocktake_id": "ST-1"})
    assert opened["expected_items"] == 2
    assets.service.record_stocktake_counts({"stocktake_id": "ST-1", "location": "R301", "asset_ids": [a1, a2]})
    closed = assets.service.close_stocktake_counting({"stocktake_id": "ST-1"})
    assert closed["finding_ids"] == ["ST-1-F1"]
    assets.project()
    with assets.gateway.connect() as conn:
        (item,) = datacenter.open_items(conn, agency_id="AG-1")
        assert (item["kind"], item["system"], item["district"]) == ("stocktake_wrong_place", "assets", "320402")
        assert datacenter.assets_by_agency(conn, agency_id="AG-1")["AG-1"]["open_stocktake_differences"] == 1
    fix = {"stocktake_id": "ST-1", "finding_id": "ST-1-F1", "resolution": "ledger_corrected", "note": "台账更正"}
    assets.service.reconcile_finding(fix)
    assert assets.service.get_asset({"asset_id": a2})["location"] == "R301"
    assets.project()
    with assets.gateway.connect() as conn:
        assert datacenter.open_items(conn, agency_id="AG-1") == []


def test_a_district_operator_counts_only_its_own_districts_stocktakes(assets: Harness) -> None:
    assets.asset(agency="AG-3")
    assets.project()
    assets.service.open_stocktake({"agency_id": "AG-3", "stocktake_id": "ST-3"})
    assets.scope = "320402"
    error = assets.refused("record_stocktake_counts", {"stocktake_id": "ST-3", "location": "R1", "asset_ids": []})
    assert (error.code, error.http_status) == ("not_in_scope", 403)


def test_the_data_center_figures_per_agency_and_the_warehouse(assets: Harness) -> None:
    in_use = assets.asset(acquired=date(TODAY.year - 5, TODAY.month, 1), category="computers")
    idle = assets.asset(agency="AG-2")
    assets.service.mark_asset_idle({"asset_id": idle, "reason": "闲置"})
    stocked = assets.handed_in()
    due = (TODAY + timedelta(days=7)).isoformat()
    loan = {"agency_id": "AG-2", "purpose": "conference", "occasion": "大会", "asset_ids": [stocked], "due_on": due}
    assets.service.lend_assets(loan | {"loan_id": "LN-1"})
    assets.service.register_stock_item(
        {
            "sku": "SKU-1",
            "name": "A4 纸",
            "unit": "box",
            "sites": ["central", "east"],
            "reorder_points": {"central": 10},
        }
    )
    assets.service.receive_goods(
        {"sku": "SKU-1", "site": "central", "quantity": 30, "unit_cost_fen": 2_000, "reference": "in"}
    )
    answer = assets.service.issue_goods({"sku": "SKU-1", "site": "central", "quantity": 20, "agency_id": "AG-1"})
    assert answer["reorder_sites"] == ["central"]
    assets.project()
    with assets.gateway.connect() as conn:
        figures = datacenter.assets_by_agency(conn, district="320402")
        warehouse = datacenter.warehouse_figures(conn)
        items = datacenter.open_items(conn)
    ag1, ag2 = figures["AG-1"], figures["AG-2"]
    assert (ag1["in_use_count"], ag1["in_use_original_value_fen"]) == (1, 180_000)
    # computers: 72 months; the 1st of this month five years ago through this month = 61 months charged (the month
    # of acquisition counts): 180 000 - 180 000 * 61 // 72 = 180 000 - 152 500 = 27 500
    assert ag1["in_use_book_value_fen"] == 27_500
    assert ag1["goods_issued_value_fen"] == 40_000
    assert (ag2["idle_assets_count"], ag2["idle_count"], ag2["borrowed_items_outstanding"]) == (1, 1, 1)
    assert "WH-CITY" not in figures  # the city's warehouse keeper is of another district
    with assets.gateway.connect() as conn:
        assert datacenter.assets_by_agency(conn, agency_id="WH-CITY")["WH-CITY"]["on_loan_count"] == 1
    assert warehouse["stock_value_fen"] == 20_000 and warehouse["items_at_or_below_reorder_point"] == 1
    assert [i["kind"] for i in items] == ["reorder_point"]
    assets.service.report_open_anomalies()
    assert OPEN_ANOMALIES.labels("assets", "reorder_point")._value.get() == 1
    assert in_use in {a["asset_id"] for a in assets.service.list_assets(_page(agency_id="AG-1"))["items"]}


def test_overdue_loans_are_flagged_and_listed(assets: Harness) -> None:
    stocked = assets.handed_in()
    loan = {"agency_id": "AG-2", "purpose": "temporary_body", "occasion": "专班", "asset_ids": [stocked]}
    assets.service.lend_assets(loan | {"loan_id": "LN-9", "due_on": (TODAY + timedelta(days=1)).isoformat()})
    assets.project()
    assert assets.service.flag_overdue_loans({})["flagged_loan_ids"] == []
    later = TODAY + timedelta(days=5)
    with assets.gateway.connect() as conn:
        (item,) = datacenter.open_items(conn, kind="overdue_loan", today=later)
        assert (item["agency_id"], item["opened_on"]) == ("AG-2", (TODAY + timedelta(days=2)).isoformat())
        assert datacenter.assets_by_agency(conn, agency_id="AG-2", today=later)["AG-2"]["overdue_loans"] == 1


def test_a_worn_warehouse_asset_is_disposed_of_after_approval_and_never_lent_again(assets: Harness) -> None:
    asset_id = assets.handed_in()
    body = {"agency_id": "WH-CITY", "asset_ids": [asset_id], "method": "auction", "reason": "损坏无修复价值"}
    assets.service.apply_disposal(body | {"disposal_id": "DP-1"})
    error = assets.refused("complete_disposal", {"disposal_id": "DP-1", "proceeds_fen": 3_000})
    assert error.code == "disposal_not_approved"
    assets.service.decide_disposal({"disposal_id": "DP-1", "approve": True})
    error = assets.refused("complete_disposal", {"disposal_id": "DP-1", "proceeds_fen": 3_000})
    assert error.code == "auction_outside_trading_centre"
    done = {"disposal_id": "DP-1", "proceeds_fen": 3_000, "trading_centre_ref": "CZGGZY-2026-1"}
    assets.service.complete_disposal(done)
    due = (TODAY + timedelta(days=3)).isoformat()
    loan = {"agency_id": "AG-2", "purpose": "conference", "occasion": "会", "asset_ids": [asset_id], "due_on": due}
    assert assets.refused("lend_assets", loan).code == "asset_disposed"
    assets.project()
    with assets.gateway.connect() as conn:
        keeper = datacenter.assets_by_agency(conn, agency_id="WH-CITY")["WH-CITY"]
    assert (keeper["disposed_count"], keeper["disposal_proceeds_fen"], keeper["assets_count"]) == (1, 3_000, 0)


def _page(**given: Any) -> dict[str, Any]:
    base = {"agency_id": None, "district": None, "status": None, "category": None, "delivery_id": None}
    return base | {"limit": 100, "offset": 0} | given
