"""``readcache.SharedRounds``: a question about other processes' present state (``/api/v1/projections``) is
answered by one round at a time; every asker gets the first round begun after it asked, shared with the askers
that came while the round before it ran."""

from __future__ import annotations

import eventlet
import pytest
import sqlalchemy as sa

from services.common.kernel.errors import ServiceUnavailable
from services.gateway.readcache import SharedRounds, rounds_of


def test_askers_during_a_round_share_the_next_one_and_no_answer_predates_its_asker() -> None:
    rounds = SharedRounds()
    clock = {"now": 0}
    begun: list[int] = []

    def compute() -> int:
        begun.append(clock["now"])
        eventlet.sleep(0.05)
        return begun[-1]  # the moment its round began

    def ask_at(moment: int) -> tuple[int, int]:
        clock["now"] = moment
        return moment, rounds.ask(compute)

    first = eventlet.spawn(ask_at, 1)
    eventlet.sleep(0.01)  # the first round runs: these ten come while it does
    during = [eventlet.spawn(ask_at, 2 + n) for n in range(10)]
    answers = [first.wait(), *(g.wait() for g in during)]

    assert rounds.rounds == 2  # eleven askers, two rounds
    assert begun == [1, 11]  # the second round begun after the last of the ten asked
    assert all(answer >= asked for asked, answer in answers)  # each answer's round began after its asker asked
    assert answers[0] == (1, 1) and {answer for _, answer in answers[1:]} == {11}
    clock["now"] = 20
    assert rounds.ask(compute) == 20 and rounds.rounds == 3  # asked alone later: a round of its own


def test_a_rounds_error_is_each_of_its_askers_error_and_the_next_round_is_tried_afresh() -> None:
    rounds = SharedRounds()
    failing = {"yes": True}

    def compute() -> str:
        eventlet.sleep(0.02)
        if failing["yes"]:
            raise ServiceUnavailable("a store did not answer")
        return "fine"

    blocker = eventlet.spawn(rounds.ask, compute)
    eventlet.sleep(0.005)
    sharers = [eventlet.spawn(rounds.ask, compute) for _ in range(3)]
    with pytest.raises(ServiceUnavailable):
        blocker.wait()
    for sharer in sharers:
        with pytest.raises(ServiceUnavailable, match="did not answer"):
            sharer.wait()
    assert rounds.rounds == 2
    failing["yes"] = False
    assert rounds.ask(compute) == "fine" and rounds.rounds == 3


def test_a_round_stopped_midway_fails_its_sharers_instead_of_handing_them_an_older_answer() -> None:
    rounds = SharedRounds()

    def answer_after(seconds: float, answer: str) -> str:
        eventlet.sleep(seconds)
        return answer

    first = eventlet.spawn(rounds.ask, lambda: answer_after(0.05, "older"))
    eventlet.sleep(0.01)
    # two askers while the first round runs: the next round is theirs; the one that begins it is stopped midway
    beginner = eventlet.spawn(rounds.ask, lambda: answer_after(5, "newer"))
    sharer = eventlet.spawn(rounds.ask, lambda: answer_after(5, "newer"))
    assert first.wait() == "older"
    eventlet.sleep(0.01)  # the beginner's round runs
    beginner.kill()
    with pytest.raises(ServiceUnavailable, match="round was stopped"):  # never the round before's answer
        sharer.wait()
    assert rounds.ask(lambda: "afresh") == "afresh"


def test_each_gateway_database_has_its_own_rounds_of_a_question() -> None:
    one, other = sa.create_engine("sqlite://"), sa.create_engine("sqlite://")
    assert rounds_of(one, "projections") is rounds_of(one, "projections")
    assert rounds_of(one, "projections") is not rounds_of(other, "projections")
    assert rounds_of(one, "projections") is not rounds_of(one, "another question")
