"""Budget lines: no spending without a line and none above it (杜绝超预算、无预算支出)."""

from __future__ import annotations

import pytest

from services.common.kernel.errors import NotPositive
from services.procurement.domain.budget import (
    BudgetAlreadyCommitted,
    BudgetBelowUse,
    BudgetExceeded,
    NoBudgetCommitment,
    SpendingBeyondCommitment,
)
from tests.unit.procurement.builders import TODAY, budget


def test_a_commitment_above_what_remains_is_refused_with_the_figures() -> None:
    line = budget(amount_fen=100_000)
    line.commit("rq-1", 60_000)
    line.spend("rq-1", 10_000, "dl-1")
    with pytest.raises(BudgetExceeded) as refused:
        line.commit("rq-2", 40_001)
    assert refused.value.details == {
        "budget_line_id": "bl-ag-1-2024",
        "budget_fen": 100_000,
        "committed_fen": 50_000,
        "spent_fen": 10_000,
        "remaining_fen": 40_000,
        "requested_fen": 40_001,
    }


def test_a_commitment_of_exactly_what_remains_is_accepted() -> None:
    line = budget(amount_fen=100_000)
    line.commit("rq-1", 100_000)
    assert line.remaining_fen == 0


def test_a_request_reserves_once() -> None:
    line = budget()
    line.commit("rq-1", 1_000)
    with pytest.raises(BudgetAlreadyCommitted):
        line.commit("rq-1", 1_000)


def test_a_budget_line_of_zero_is_refused() -> None:
    with pytest.raises(NotPositive):
        budget(amount_fen=0)


def test_raising_a_commitment_must_fit_what_remains() -> None:
    line = budget(amount_fen=100_000)
    line.commit("rq-1", 80_000)
    with pytest.raises(BudgetExceeded):
        line.revise_commitment("rq-1", 100_001)
    line.revise_commitment("rq-1", 100_000)
    assert line.remaining_fen == 0


def test_lowering_a_commitment_frees_the_difference() -> None:
    line = budget(amount_fen=100_000)
    line.commit("rq-1", 80_000)
    line.revise_commitment("rq-1", 50_000)
    assert line.remaining_fen == 50_000


def test_releasing_a_commitment_gives_it_back() -> None:
    line = budget(amount_fen=100_000)
    line.commit("rq-1", 80_000)
    line.release("rq-1")
    assert (line.committed_fen, line.remaining_fen) == (0, 100_000)


def test_spending_without_a_commitment_is_refused() -> None:
    with pytest.raises(NoBudgetCommitment):
        budget().spend("rq-unknown", 1_000, "dl-1")


def test_spending_beyond_the_commitment_is_refused() -> None:
    line = budget()
    line.commit("rq-1", 5_000)
    with pytest.raises(SpendingBeyondCommitment) as refused:
        line.spend("rq-1", 5_001, "dl-1")
    assert refused.value.details["reserved_fen"] == 5_000


def test_spending_moves_money_from_committed_to_spent() -> None:
    line = budget(amount_fen=100_000)
    line.commit("rq-1", 5_000)
    line.spend("rq-1", 3_000, "dl-1")
    assert (line.committed_fen, line.spent_fen, line.remaining_fen) == (2_000, 3_000, 95_000)


def test_a_line_cannot_be_cut_below_what_is_committed_and_spent() -> None:
    line = budget(amount_fen=100_000)
    line.commit("rq-1", 60_000)
    line.spend("rq-1", 20_000, "dl-1")
    with pytest.raises(BudgetBelowUse) as refused:
        line.adjust(59_999, "调减", TODAY)
    assert refused.value.details["new_amount_fen"] == 59_999
    line.adjust(60_000, "调减", TODAY)
    assert line.amount_fen == 60_000
