"""The data center's kept answers (``services.gateway.readcache``): kept while the projection's version stands,
computed again when it moves, computed once for readers asking together."""

from __future__ import annotations

import threading

from services.gateway.readcache import AnswerCache

V1 = (("office_space.events", 0, 10, "2026-12-06T01:00:00.000000+00:00"),)
V2 = (("office_space.events", 0, 11, "2026-12-06T01:00:01.000000+00:00"),)


def test_an_answer_is_kept_while_the_projection_version_stands_and_computed_again_when_it_moves() -> None:
    cache = AnswerCache()
    calls: list[int] = []

    def compute() -> int:
        calls.append(1)
        return len(calls)

    assert cache.answer("city", V1, compute) == 1
    assert cache.answer("city", V1, compute) == 1  # kept: the projection applied nothing new
    assert cache.answer("city", V2, compute) == 2  # one more event applied: computed again
    assert cache.answer("agencies", V2, compute) == 3  # another question is another answer
    assert cache.computed == 3


def test_the_least_recently_asked_question_is_dropped_beyond_the_size() -> None:
    cache = AnswerCache(size=2)
    cache.answer("a", V1, lambda: "a1")
    cache.answer("b", V1, lambda: "b1")
    cache.answer("a", V1, lambda: "a2")  # a asked again: b is now the least recent
    cache.answer("c", V1, lambda: "c1")  # b dropped
    assert cache.answer("a", V1, lambda: "a3") == "a1"
    assert cache.answer("b", V1, lambda: "b2") == "b2"


def test_readers_asking_the_same_question_together_compute_it_once() -> None:
    cache = AnswerCache()
    started, release = threading.Event(), threading.Event()
    calls: list[int] = []

    def compute() -> str:
        calls.append(1)
        started.set()
        release.wait(10)
        return "figures"

    found: list[str] = []
    first = threading.Thread(target=lambda: found.append(cache.answer("city", V1, compute)))
    first.start()
    started.wait(10)  # the first reader holds the question's lock while it computes
    others = [threading.Thread(target=lambda: found.append(cache.answer("city", V1, compute))) for _ in range(8)]
    for reader in others:
        reader.start()
    release.set()
    for reader in [first, *others]:
        reader.join(10)
    assert found == ["figures"] * 9
    assert len(calls) == 1


def test_answers_beyond_the_bytes_are_dropped_least_recently_asked_first_downloads_counted() -> None:
    cache = AnswerCache(size=10, max_bytes=100)
    exports: dict[str, tuple[bytes, str]] = {}
    cache.answer("a", V1, lambda: ({"items": []}, b"x" * 40, exports))
    cache.answer("b", V1, lambda: ({"items": []}, b"y" * 40, {}))
    assert cache.kept_bytes() == 80  # 40 + 40 of JSON
    exports["csv"] = (b"z" * 30, "text/csv")  # a's download, made after it was kept: 110 bytes now
    cache.answer("c", V1, lambda: ({"items": []}, b"w" * 10, {}))  # 120 > 100: a (the least recent) dropped
    assert cache.kept_bytes() == 50  # b's 40 + c's 10
    assert cache.answer("a", V1, lambda: "a again") == "a again"


def test_the_last_answer_asked_is_kept_whatever_it_weighs() -> None:
    cache = AnswerCache(size=10, max_bytes=100)
    cache.answer("big", V1, lambda: (b"x" * 500,))
    assert cache.answer("big", V1, lambda: "computed again") == (b"x" * 500,)
