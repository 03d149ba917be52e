"""Batch procurement (批量集中采购): similar requests of several agencies proposed as one tender."""

from __future__ import annotations

from services.procurement.domain.batch import BatchProposal, OpenRequest, propose_batches


def test_requests_of_several_agencies_for_the_same_item_and_year_are_batched() -> None:
    requests = [
        OpenRequest("rq-1", "ag-1", "A-printer", 2024, 3),
        OpenRequest("rq-2", "ag-2", "A-printer", 2024, 5),
        OpenRequest("rq-3", "ag-2", "A-printer", 2024, 1),
        OpenRequest("rq-4", "ag-3", "A-paper", 2024, 40),
        OpenRequest("rq-5", "ag-4", "A-printer", 2025, 2),
    ]
    assert propose_batches(requests) == [
        BatchProposal("A-printer", 2024, ("rq-1", "rq-2", "rq-3"), ("ag-1", "ag-2"), 9),
    ]


def test_requests_of_a_single_agency_are_not_a_batch() -> None:
    requests = [OpenRequest("rq-1", "ag-1", "A-printer", 2024, 3), OpenRequest("rq-2", "ag-1", "A-printer", 2024, 2)]
    assert propose_batches(requests) == []


def test_the_minimum_number_of_agencies_is_configurable() -> None:
    requests = [OpenRequest(f"rq-{n}", f"ag-{n}", "A-aircon", 2024, 1) for n in range(2)]
    assert propose_batches(requests, min_agencies=3) == []
    assert len(propose_batches(requests, min_agencies=2)) == 1
