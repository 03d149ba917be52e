"""Event replay and snapshots: every aggregate rebuilds the same state from its events or its snapshot."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from services.common.kernel.aggregate import Aggregate
from services.common.kernel.events import event_from_payload, registered_event_types
from services.procurement.domain.catalog import CatalogItem
from services.procurement.domain.contracts import ProcurementContract
from services.procurement.domain.price_watch import IngredientPriceWatch
from services.procurement.domain.quotes import PastAward
from services.procurement.domain.tenders import Tender
from tests.unit.procurement.builders import (
    AFTER_CLOSE,
    CLOSES_AT,
    LATER,
    NOW,
    TODAY,
    authorisation,
    budget,
    desk,
    evaluate_all,
    submit,
)


def full_story() -> list[Aggregate]:
    """One life of every aggregate, together emitting every procurement event type."""
    item, line, auth = desk(), budget(), authorisation(quantity=10)
    line.adjust(2_000_000, "追加预算", TODAY)
    request = submit(item, quantity=10, price=5_000, line=line, auth=auth)
    failed = Tender.open(
        tender_id="td-0",
        district="320400",
        requests=[request],
        reference_unit_price_fen=5_000,
        closes_at=CLOSES_AT,
        now=NOW,
    )
    failed.declare_failed("流标", [request], AFTER_CLOSE)
    tender = Tender.open(
        tender_id="td-1",
        district="320400",
        requests=[request],
        reference_unit_price_fen=5_000,
        closes_at=CLOSES_AT,
        now=NOW,
    )
    for n, (supplier, price) in enumerate({"A": 4_000, "B": 4_000, "C": 2_500}.items()):
        tender.submit_bid(f"b-{supplier}", supplier, price, NOW + timedelta(minutes=n))
    past = [PastAward(f"td-p{n}", f"2023-0{n}-01T00:00:00+00:00", w, ("A", "B")) for n, w in enumerate("ABA", 1)]
    tender.close_bidding(AFTER_CLOSE, past_awards=past)
    evaluate_all(tender, non_compliant=("b-C",))
    tender.clear_abnormal_quote("b-A", "成本清单已核")
    tender.award(AFTER_CLOSE)
    contract = ProcurementContract.sign(
        contract_id="ct-1",
        tender=tender,
        request_id=request.id,
        clauses=["low_voc", "environmental"],
        delivery_due=TODAY,
        budget=line,
        today=TODAY,
    )
    contract.record_delivery("dl-1", 10, TODAY + timedelta(days=2), LATER)
    contract.inspect_delivery("dl-1", 0, 10, TODAY + timedelta(days=2), line, LATER)
    contract.record_delivery("dl-2", 10, TODAY + timedelta(days=3), LATER)
    contract.inspect_delivery("dl-2", 10, 0, TODAY + timedelta(days=3), line, LATER)
    other_line = budget("ag-9")
    brochure = CatalogItem.list_item("P-1", "宣传册印刷", "printing", "job")
    other = submit(brochure, quantity=1, agency_id="ag-9", line=other_line)
    other.cancel("不再需要", other_line)
    withdrawn = CatalogItem.list_item("A-old", "旧品目", "office_supplies", "box")
    withdrawn.withdraw("并入新品目")
    pork = CatalogItem.list_item("I-pork", "猪肉", "canteen_ingredients", "kg")
    watch = IngredientPriceWatch.start(pork, 1_000, TODAY)
    watch.set_reference_price(1_100, TODAY)
    watch.observe(TODAY, 1_500, "湖塘农贸市场", TODAY)
    return [item, line, auth, request, failed, tender, contract, other, other_line, brochure, withdrawn, watch]


STORY = full_story()


def test_the_story_emits_every_procurement_event_type() -> None:
    emitted = {e.event_type for a in STORY for e in a.pending_events}
    assert emitted == {t for d, t, _ in registered_event_types() if d == "procurement"}


@pytest.mark.parametrize("aggregate", STORY, ids=lambda a: f"{a.stream_type}:{a.id}")
def test_replaying_the_events_rebuilds_the_same_state(aggregate: Aggregate) -> None:
    events = [
        event_from_payload("procurement", e.event_type, e.schema_version, json.loads(json.dumps(e.payload())))
        for e in aggregate.pending_events
    ]
    replayed = type(aggregate).rehydrate(aggregate.id, events)
    assert (replayed.version, replayed.snapshot_state()) == (aggregate.version, aggregate.snapshot_state())


@pytest.mark.parametrize("aggregate", STORY, ids=lambda a: f"{a.stream_type}:{a.id}")
def test_a_snapshot_round_trips_through_json(aggregate: Aggregate) -> None:
    state = json.loads(json.dumps(aggregate.snapshot_state()))
    restored = type(aggregate).rehydrate(aggregate.id, [], snapshot=(aggregate.version, state))
    assert (restored.version, restored.snapshot_state()) == (aggregate.version, aggregate.snapshot_state())
