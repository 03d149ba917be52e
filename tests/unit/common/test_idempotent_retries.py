"""A client's retry of a command (same idempotency key) racing its first attempt gets the recorded answer."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from services.common.kernel.errors import AlreadyExists, VersionConflict
from services.common.kernel.events import Metadata
from services.common.runtime.rpc import _run_with_retries
from services.common.write.store import RecordedCommand


@dataclass
class FakeStore:
    """A command log that gets the first attempt's answer while the retry is running."""

    answers: dict[str, dict[str, Any]] = field(default_factory=dict)

    def recorded_command(self, key: str) -> RecordedCommand | None:
        answer = self.answers.get(key)
        return RecordedCommand(answer, None, None) if answer else None


@dataclass
class FakeService:
    store: FakeStore
    key: str | None

    def context(self) -> Metadata:
        return Metadata(idempotency_key=self.key)


FIRST_ANSWER = {"id": "A1", "version": 1, "event_ids": ["e-1"]}


def _first_attempt_commits_meanwhile(error: Exception) -> Any:
    def register(service: FakeService, _data: dict[str, Any]) -> dict[str, Any]:
        service.store.answers["k-1"] = FIRST_ANSWER  # the first attempt commits while this one runs ...
        raise error  # ... so this one finds the agency it registered

    return register


@pytest.mark.parametrize("error", [AlreadyExists("Agency A1 already exists"), VersionConflict("moved on")])
def test_a_retry_racing_its_first_attempt_answers_what_the_first_attempt_recorded(error: Exception) -> None:
    service = FakeService(FakeStore(), "k-1")
    assert _run_with_retries(_first_attempt_commits_meanwhile(error), service, {}, retries=2) == FIRST_ANSWER


def test_without_a_recorded_answer_the_refusal_stands() -> None:
    def refuse(_service: FakeService, _data: dict[str, Any]) -> None:
        raise AlreadyExists("Agency A1 already exists")

    with pytest.raises(AlreadyExists):
        _run_with_retries(refuse, FakeService(FakeStore(), "k-2"), {}, retries=2)
    with pytest.raises(AlreadyExists):  # a command without a key is never answered from the log
        _run_with_retries(
            _first_attempt_commits_meanwhile(AlreadyExists("exists")), FakeService(FakeStore(), None), {}, 2
        )
