"""Depreciation (docs/kpis/assets.md): straight line from the month of acquisition, nothing in the month of
disposal, never below zero, by the depreciation-life table and not the minimum-service-life table."""

from __future__ import annotations

from datetime import date

import pytest

from services.assets.domain.asset_events import AssetDisposed, AssetRegistered
from services.assets.domain.base import SERVICE_LIFE_2016, AssetCategory, ServiceLifeTable, UnknownCategory
from services.assets.domain.depreciation import DEPRECIATION_LIFE_2017, DepreciationLifeTable, depreciate
from services.assets.domain.disposal import Disposal
from services.assets.domain.ledger import Asset
from services.common.kernel.events import event_from_payload

from .builders import DISTRICT, TODAY, asset


@pytest.mark.parametrize(
    ("on", "months", "book_value"),
    [
        # 120 000 fen over 6 years = 72 months, acquired 10 January 2020
        (date(2019, 12, 31), 0, 120_000),  # before acquisition: nothing charged
        (date(2020, 1, 10), 1, 118_334),  # the month of acquisition is charged: 120 000 * 1 // 72 = 1 666
        (date(2020, 1, 31), 1, 118_334),  # still one month
        (date(2020, 2, 1), 2, 116_667),  # 120 000 * 2 // 72 = 3 333
        (date(2022, 12, 31), 36, 60_000),  # January 2020 .. December 2022 = 36 months: half the value
        (date(2025, 12, 1), 72, 0),  # January 2020 .. December 2025 = 72 months: fully depreciated
        (date(2030, 1, 1), 72, 0),  # and never below zero, no residual value
    ],
)
def test_book_value_is_straight_line_from_the_month_of_acquisition(on: date, months: int, book_value: int) -> None:
    d = depreciate(120_000, date(2020, 1, 10), 6, "2017", on)
    assert (d.months_depreciated, d.book_value_fen) == (months, book_value)
    assert d.accumulated_depreciation_fen == 120_000 - book_value
    assert d.remaining_life_months == 72 - months


def test_an_asset_bought_on_the_last_day_of_a_month_is_depreciated_that_month() -> None:
    # 7 200 fen over 6 years, bought 31 January 2026: January is charged, 7 200 // 72 = 100
    d = depreciate(7_200, date(2026, 1, 31), 6, "2017", date(2026, 1, 31))
    assert (d.months_depreciated, d.accumulated_depreciation_fen, d.book_value_fen) == (1, 100, 7_100)


def test_a_fully_depreciated_asset_stays_at_zero_and_says_so() -> None:
    d = depreciate(99_999, date(2000, 6, 30), 15, "2017", date(2026, 12, 6))
    assert (d.book_value_fen, d.accumulated_depreciation_fen, d.remaining_life_months) == (0, 99_999, 0)
    assert d.fully_depreciated
    assert not depreciate(99_999, date(2026, 6, 30), 15, "2017", date(2026, 12, 6)).fully_depreciated


def test_the_month_of_disposal_is_not_charged() -> None:
    # 72 000 over 72 months from March 2026, disposed 5 June 2026: March, April, May charged (3 * 1 000)
    after = depreciate(72_000, date(2026, 3, 15), 6, "2017", date(2026, 12, 6), disposed_on=date(2026, 6, 5))
    assert (after.months_depreciated, after.book_value_fen) == (3, 69_000)
    # disposed in the month it was bought: nothing charged
    same = depreciate(72_000, date(2026, 3, 15), 6, "2017", date(2026, 3, 31), disposed_on=date(2026, 3, 20))
    assert same.book_value_fen == 72_000


def test_an_asset_disposed_leaves_with_its_book_value_after_the_month_before() -> None:
    pc = asset("pc-1", category="computers", acquired_on=date(2026, 1, 31), value_fen=7_200)
    disposal = Disposal.apply(
        disposal_id="dp-1", agency_id="ag-1", district=DISTRICT, assets=[pc], method="scrap", reason="损坏", today=TODAY
    )
    disposal.approve("city_admin:wang", TODAY)
    disposal.complete([pc], 0, TODAY)
    disposed = next(e for e in pc.pending_events if isinstance(e, AssetDisposed))
    # January .. October 2026 charged (November, the month of disposal, is not): 10 * 100 = 1 000
    assert disposed.book_value_fen == 6_200
    # and the asset's depreciation stays there afterwards
    assert pc.depreciation(date(2027, 5, 1)).book_value_fen == 6_200


def test_depreciation_uses_the_depreciation_life_table_not_the_minimum_service_life() -> None:
    # a deployment whose replacement rule says furniture may be replaced after 10 years; depreciation stays 15
    short_service = ServiceLifeTable("test", "test", {"furniture": AssetCategory(10, "furniture", ("A06",))})
    desk = Asset.register(
        asset_id="d1",
        agency_id="ag-1",
        district=DISTRICT,
        category="furniture",
        name="办公桌",
        location="R1",
        original_value_fen=180_000,
        acquired_on=date(2026, 1, 5),
        condition="new",
        table=short_service,
        today=TODAY,
    )
    registered = desk.pending_events[0]
    assert isinstance(registered, AssetRegistered)
    assert (registered.min_service_life_years, registered.service_life_version) == (10, "test")
    assert (registered.depreciation_life_years, registered.depreciation_life_version) == (15, "2017")
    # 180 000 over 180 months, January .. November 2026 = 11 months: 180 000 - 11 000
    assert desk.book_value_fen(TODAY) == 169_000
    assert desk.depreciation(TODAY).depreciation_life_version == "2017"


def test_a_deployment_table_names_its_version_and_must_cover_the_category() -> None:
    table = DepreciationLifeTable.from_dict({"version": "2030", "source": "x", "categories": {"computers": 4}})
    assert table.as_dict() == {"version": "2030", "source": "x", "categories": {"computers": 4}}
    pc = Asset.register(
        asset_id="p1",
        agency_id="ag-1",
        district=DISTRICT,
        category="computers",
        name="PC",
        location="R1",
        original_value_fen=4_800,
        acquired_on=date(2026, 11, 1),
        condition="new",
        table=SERVICE_LIFE_2016,
        today=TODAY,
        depreciation=table,
    )
    # 4 800 over 48 months, November 2026 charged: 100
    assert (pc.book_value_fen(TODAY), pc.depreciation(TODAY).depreciation_life_version) == (4_700, "2030")
    with pytest.raises(UnknownCategory):
        Asset.register(
            asset_id="f1",
            agency_id="ag-1",
            district=DISTRICT,
            category="furniture",
            name="x",
            location="R1",
            original_value_fen=10,
            acquired_on=date(2026, 11, 1),
            condition="new",
            table=SERVICE_LIFE_2016,
            today=TODAY,
            depreciation=table,
        )
    with pytest.raises(ValueError):
        DepreciationLifeTable.from_dict({"version": "0", "source": "x", "categories": {"computers": 0}})


def test_the_2017_table_is_kept_apart_from_the_2016_service_lives() -> None:
    assert DEPRECIATION_LIFE_2017.version != SERVICE_LIFE_2016.version
    assert "财会〔2017〕4号" in DEPRECIATION_LIFE_2017.source and "财资〔2016〕27号" in SERVICE_LIFE_2016.source
    assert set(DEPRECIATION_LIFE_2017.years) == set(SERVICE_LIFE_2016.categories)


def test_a_v1_registration_reads_with_the_depreciation_life_of_its_category() -> None:
    v1 = {
        "asset_id": "AS-1",
        "agency_id": "ag-1",
        "district": DISTRICT,
        "category": "furniture",
        "name": "办公桌",
        "location": "R1",
        "original_value_cents": 180_000,
        "acquired_on": "2011-03-01",
        "condition": "good",
        "min_service_life_years": 15,
        "service_life_version": "2016",
        "contract_id": None,
        "delivery_id": None,
        "registered_on": "2026-11-23",
    }
    event = event_from_payload("assets", "AssetRegistered", 1, v1)
    assert isinstance(event, AssetRegistered)
    assert (event.depreciation_life_years, event.depreciation_life_version) == (15, "2017")
    unknown = event_from_payload("assets", "AssetRegistered", 1, {**v1, "category": "lab", "min_service_life_years": 8})
    assert isinstance(unknown, AssetRegistered)
    assert (unknown.depreciation_life_years, unknown.depreciation_life_version) == (8, "service-life")
