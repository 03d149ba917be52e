"""A dead process is started again, later each time it dies in a row, at once again once it was stable."""

from __future__ import annotations

from services.common.runtime.supervision import MAX_DELAY_SECONDS, Restarts, after_death, restart_delay


def test_the_delay_doubles_with_each_death_in_a_row_up_to_a_minute() -> None:
    # 1, 2, 4, 8, 16, 32, then 64 capped at 60
    assert [restart_delay(n) for n in range(1, 9)] == [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0]
    assert MAX_DELAY_SECONDS == 60.0


def test_a_process_dying_soon_after_its_restart_counts_one_more_in_a_row() -> None:
    # started at 100 s, dead at 105 s (5 s < 60 s of stability): third death in a row, 4 s wait
    counted, delay = after_death(Restarts(in_a_row=2, started_at=100.0), died_at=105.0)
    assert (counted.in_a_row, delay) == (3, 4.0)


def test_a_process_that_ran_stably_is_restarted_after_the_first_delay() -> None:
    # started at 100 s, dead at 400 s (300 s >= 60 s): its earlier deaths are forgotten
    counted, delay = after_death(Restarts(in_a_row=6, started_at=100.0), died_at=400.0)
    assert (counted.in_a_row, delay) == (1, 1.0)
