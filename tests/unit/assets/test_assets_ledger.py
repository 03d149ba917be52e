"""The asset ledger: registration, service-life table, book value, deliveries, statuses, replacement rules."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest

from services.assets.domain.asset_events import (
    AcquiredInFuture,
    AssetAlreadyDisposed,
    AssetRegistered,
    NotAFixedAsset,
    RepairAssessmentRequired,
    RepairBeforeReplacement,
    ReplacementApproved,
    ReplacementBeforeServiceLife,
    UnusableAssetRefused,
)
from services.assets.domain.base import (
    SERVICE_LIFE_2016,
    AssetCategory,
    NotOneOf,
    ServiceLifeTable,
    UnknownCategory,
    delivery_asset_ids,
)
from services.assets.domain.ledger import AcceptedDelivery, Asset, LocationUnchanged
from services.common.kernel.errors import InvalidState, NotPositive, WrongStatus
from tests.unit.assets.builders import DISTRICT, TODAY, asset, delivery, idle, in_warehouse


def test_an_asset_is_registered_with_the_service_life_of_its_category_and_table_version() -> None:
    desk = Asset.register(
        asset_id="a1",
        agency_id="ag-1",
        district=DISTRICT,
        category="furniture",
        name="办公桌",
        location="R1",
        original_value_fen=100,
        acquired_on=date(2026, 1, 1),
        condition="new",
        table=SERVICE_LIFE_2016,
        today=TODAY,
    )
    pc = Asset.register(
        asset_id="a2",
        agency_id="ag-1",
        district=DISTRICT,
        category="computers",
        name="台式机",
        location="R1",
        original_value_fen=100,
        acquired_on=date(2026, 1, 1),
        condition="new",
        table=SERVICE_LIFE_2016,
        today=TODAY,
    )
    assert (desk.min_service_life_years, pc.min_service_life_years) == (15, 6)
    assert desk.service_life_version == "2016" and desk.status == "in_use"


def test_the_service_life_table_is_configurable() -> None:
    table = ServiceLifeTable("test", "local rule", {"furniture": AssetCategory(10, "furniture")})
    desk = Asset.register(
        asset_id="a1",
        agency_id="ag-1",
        district=DISTRICT,
        category="furniture",
        name="办公桌",
        location="R1",
        original_value_fen=100,
        acquired_on=date(2026, 1, 1),
        condition="new",
        table=table,
        today=TODAY,
    )
    assert (desk.min_service_life_years, desk.service_life_version) == (10, "test")


def test_an_unknown_category_is_refused() -> None:
    with pytest.raises(UnknownCategory) as refused:
        Asset.register(
            asset_id="a1",
            agency_id="ag-1",
            district=DISTRICT,
            category="yachts",
            name="x",
            location="R1",
            original_value_fen=100,
            acquired_on=TODAY,
            condition="new",
            table=SERVICE_LIFE_2016,
            today=TODAY,
        )
    assert "category" in refused.value.fields


def test_an_asset_needs_a_positive_original_value_and_a_known_condition() -> None:
    with pytest.raises(NotPositive):
        Asset.register(
            asset_id="a1",
            agency_id="ag-1",
            district=DISTRICT,
            category="furniture",
            name="x",
            location="R1",
            original_value_fen=0,
            acquired_on=TODAY,
            condition="new",
            table=SERVICE_LIFE_2016,
            today=TODAY,
        )
    with pytest.raises(NotOneOf):
        Asset.register(
            asset_id="a1",
            agency_id="ag-1",
            district=DISTRICT,
            category="furniture",
            name="x",
            location="R1",
            original_value_fen=10,
            acquired_on=TODAY,
            condition="shiny",
            table=SERVICE_LIFE_2016,
            today=TODAY,
        )


def test_an_asset_cannot_be_acquired_after_it_is_registered() -> None:
    with pytest.raises(AcquiredInFuture):
        Asset.register(
            asset_id="a1",
            agency_id="ag-1",
            district=DISTRICT,
            category="furniture",
            name="x",
            location="R1",
            original_value_fen=10,
            acquired_on=date(2026, 11, 24),
            condition="new",
            table=SERVICE_LIFE_2016,
            today=TODAY,
        )


def test_an_accepted_delivery_becomes_one_ledger_entry_per_accepted_item() -> None:
    assets = Asset.register_from_delivery(delivery(quantity=3), SERVICE_LIFE_2016)
    assert [a.id for a in assets] == delivery_asset_ids("ct-1", "dv-1", 3)
    assert len({a.id for a in assets}) == 3
    first = assets[0].pending_events[0]
    assert isinstance(first, AssetRegistered)
    assert (first.category, first.original_value_fen, first.acquired_on) == ("furniture", 158_000, "2026-05-11")
    assert (first.contract_id, first.delivery_id, first.condition) == ("ct-1", "dv-1", "new")


def test_delivered_equipment_takes_its_category_from_the_item_code() -> None:
    assert (
        Asset.register_from_delivery(delivery("equipment", "A02010601-laser"), SERVICE_LIFE_2016)[0].category
        == "printers"
    )
    assert (
        Asset.register_from_delivery(delivery("equipment", "A02010104-pc"), SERVICE_LIFE_2016)[0].category
        == "computers"
    )


def test_delivered_equipment_of_no_listed_kind_enters_as_general_office_equipment() -> None:
    (scanner,) = Asset.register_from_delivery(delivery("equipment", "A020204-scanner", 1), SERVICE_LIFE_2016)
    assert (scanner.category, scanner.min_service_life_years) == ("office_equipment", 6)


def test_equipment_whose_item_code_fits_no_category_of_a_table_without_catch_all_is_refused() -> None:
    table = ServiceLifeTable(
        "t",
        "x",
        {
            "computers": AssetCategory(6, "equipment", ("A020101",)),
            "printers": AssetCategory(6, "equipment", ("A0201060",)),
        },
    )
    with pytest.raises(UnknownCategory):
        Asset.register_from_delivery(delivery("equipment", "B99-widget"), table)


def test_the_same_delivery_always_gives_the_same_asset_ids_and_other_contracts_other_ids() -> None:
    assert delivery_asset_ids("ct-1", "dv-1", 2) == delivery_asset_ids("ct-1", "dv-1", 2)
    assert not set(delivery_asset_ids("ct-1", "dv-1", 2)) & set(delivery_asset_ids("ct-2", "dv-1", 2))


def test_a_service_life_table_is_read_from_its_json_form_and_refuses_a_life_under_a_year() -> None:
    table = ServiceLifeTable.from_dict(SERVICE_LIFE_2016.as_dict())
    assert table == SERVICE_LIFE_2016
    with pytest.raises(ValueError):
        ServiceLifeTable.from_dict(
            {
                "version": "x",
                "source": "y",
                "categories": {"furniture": {"min_service_life_years": 0, "procurement_category": "furniture"}},
            }
        )


def test_a_delivery_of_consumables_is_not_entered_in_the_asset_ledger() -> None:
    with pytest.raises(NotAFixedAsset):
        Asset.register_from_delivery(delivery("office_supplies", "A-paper"), SERVICE_LIFE_2016)


def test_procurement_delivery_payload_is_read() -> None:
    payload = {
        "contract_id": "ct-1", "delivery_id": "dv-1", "agency_id": "ag-1", "district": DISTRICT,
        "supplier_id": "s-1", "item_code": "A06-chair", "category": "furniture", "quantity": 2,
        "defective_quantity": 1, "unit_value_fen": 50_000, "accepted_on": "2026-05-11",
    }  # fmt: skip
    assets = Asset.register_from_delivery(AcceptedDelivery.from_payload(payload), SERVICE_LIFE_2016)
    assert len(assets) == 2 and assets[0].acquired_on == "2026-05-11"


def test_only_an_asset_in_use_becomes_idle_and_only_an_idle_one_is_put_back_in_use() -> None:
    a = asset()
    with pytest.raises(WrongStatus):
        a.put_back_in_use("R2", TODAY)
    a.mark_idle("机构撤并", TODAY)
    with pytest.raises(WrongStatus):
        a.mark_idle("again", TODAY)
    a.put_back_in_use("R2", TODAY)
    assert (a.status, a.location) == ("in_use", "R2")


def test_relocating_to_the_same_place_is_refused() -> None:
    a = asset(location="R301")
    with pytest.raises(LocationUnchanged):
        a.relocate("R301", TODAY)
    a.relocate("R302", TODAY)
    assert a.location == "R302"


def test_only_idle_assets_are_handed_in_to_the_warehouse() -> None:
    with pytest.raises(WrongStatus):
        asset().hand_in("wh-city", DISTRICT, "good", TODAY)
    a = idle()
    a.hand_in("wh-city", DISTRICT, "fair", TODAY)
    assert (a.status, a.agency_id, a.condition) == ("in_warehouse", "wh-city", "fair")


def test_the_warehouse_refuses_unusable_assets() -> None:
    with pytest.raises(UnusableAssetRefused):
        idle().hand_in("wh-city", DISTRICT, "unusable", TODAY)


def test_a_disposed_asset_cannot_be_used_moved_repaired_or_disposed_again() -> None:
    a = asset()
    a.dispose("dp-1", "scrap", TODAY)
    acts: tuple[Callable[[], None], ...] = (
        lambda: a.relocate("R9", TODAY),
        lambda: a.mark_idle("x", TODAY),
        lambda: a.record_repair(10, "good", TODAY),
        lambda: a.apply_for_replacement("x", TODAY),
        lambda: a.dispose("dp-2", "scrap", TODAY),
        lambda: a.put_back_in_use("R1", TODAY),
        lambda: a.hand_in("wh-city", DISTRICT, "good", TODAY),
    )
    for act in acts:
        with pytest.raises(AssetAlreadyDisposed):
            act()


def test_a_disposed_warehouse_asset_cannot_be_lent() -> None:
    a = in_warehouse()
    a.dispose("dp-1", "scrap", TODAY)
    with pytest.raises(AssetAlreadyDisposed):
        a.lend("ln-1", "ag-2", date(2026, 12, 1), TODAY)


def test_an_asset_on_loan_cannot_be_disposed() -> None:
    a = in_warehouse()
    a.lend("ln-1", "ag-2", date(2026, 12, 1), TODAY)
    with pytest.raises(WrongStatus):
        a.check_disposable()


def test_disposal_records_the_book_value_of_the_day() -> None:
    a = asset(category="computers", acquired_on=date(2023, 11, 23), value_fen=720_000)
    a.dispose("dp-1", "auction", TODAY)
    assert a.pending_events[-1].book_value_fen == 360_000  # type: ignore[attr-defined]


def test_furniture_is_not_replaced_before_its_service_life() -> None:
    desk = asset(acquired_on=date(2011, 11, 24))  # 15 years on 2026-11-24
    with pytest.raises(ReplacementBeforeServiceLife) as refused:
        desk.apply_for_replacement("旧了", TODAY)
    assert refused.value.details["eligible_on"] == "2026-11-24"
    desk.apply_for_replacement("旧了", date(2026, 11, 24))
    assert desk.replacement == {"status": "applied"}


def test_a_computer_is_replaceable_after_six_years() -> None:
    pc = asset(category="computers", acquired_on=date(2020, 11, 23))
    pc.apply_for_replacement("运行缓慢", TODAY)
    assert pc.replacement is not None


def test_a_replacement_is_decided_only_after_a_repair_assessment() -> None:
    desk = asset(acquired_on=date(2000, 1, 1))
    desk.apply_for_replacement("破损", TODAY)
    with pytest.raises(RepairAssessmentRequired):
        desk.approve_replacement("admin", TODAY)


def test_a_usable_asset_is_not_replaced() -> None:
    desk = asset(acquired_on=date(2000, 1, 1))
    desk.apply_for_replacement("款式旧", TODAY)
    desk.assess_repair(usable=True, repairable=True, estimated_repair_fen=0, assessed_by="tech", today=TODAY)
    with pytest.raises(RepairBeforeReplacement) as refused:
        desk.approve_replacement("admin", TODAY)
    assert refused.value.details["usable"] is True


def test_a_repairable_asset_is_repaired_before_it_is_replaced() -> None:
    desk = asset(acquired_on=date(2000, 1, 1))
    desk.apply_for_replacement("抽屉坏", TODAY)
    desk.assess_repair(usable=False, repairable=True, estimated_repair_fen=8_000, assessed_by="tech", today=TODAY)
    with pytest.raises(RepairBeforeReplacement):
        desk.approve_replacement("admin", TODAY)
    desk.record_repair(8_000, "fair", TODAY)
    assert desk.replacement is None and desk.condition == "fair"


def test_an_asset_neither_usable_nor_repairable_may_be_replaced() -> None:
    desk = asset(acquired_on=date(2000, 1, 1))
    desk.apply_for_replacement("桌面断裂", TODAY)
    desk.assess_repair(usable=False, repairable=False, estimated_repair_fen=0, assessed_by="tech", today=TODAY)
    desk.approve_replacement("admin", TODAY)
    assert isinstance(desk.pending_events[-1], ReplacementApproved)
    assert desk.replacement is not None and desk.replacement["status"] == "approved"


def test_an_assessment_needs_an_open_application_and_one_application_at_a_time() -> None:
    desk = asset(acquired_on=date(2000, 1, 1))
    with pytest.raises(WrongStatus):
        desk.assess_repair(False, False, 0, "tech", TODAY)
    desk.apply_for_replacement("x", TODAY)
    with pytest.raises(InvalidState):
        desk.apply_for_replacement("again", TODAY)


def test_after_a_refusing_assessment_a_new_application_may_follow() -> None:
    desk = asset(acquired_on=date(2000, 1, 1))
    desk.apply_for_replacement("x", TODAY)
    desk.assess_repair(True, False, 0, "tech", TODAY)
    desk.apply_for_replacement("worse now", date(2027, 6, 1))
    assert desk.replacement == {"status": "applied"}
