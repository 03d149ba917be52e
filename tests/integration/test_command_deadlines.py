"""A command that reaches its service after the caller's deadline is not done (so the caller's 503 is true)."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest

from services.common.kernel.events import Metadata
from services.common.runtime.rpc import ServiceError
from services.common.write.deadlines import COMMIT_MARGIN_SECONDS
from tests.integration.harness import ServiceHarness, office_space, register_agency
from tests.support import agency_code


def _office_space(tmp_path: Path, deadline: float | None, key: str | None = None) -> ServiceHarness:
    return office_space(tmp_path, deadline=deadline, idempotency_key=key)


def test_a_command_past_its_deadline_is_refused_and_stores_nothing(tmp_path: Path) -> None:
    office = _office_space(tmp_path, deadline=time.time() - 5)  # the gateway gave up 5 s ago
    with pytest.raises(ServiceError) as refused:
        office.service.register_agency(register_agency("AG-LATE"))
    assert (refused.value.code, refused.value.http_status) == ("deadline_exceeded", 503)
    assert office.store.last_position() == 0


def test_a_command_with_less_than_the_commit_margin_left_is_not_committed(tmp_path: Path) -> None:
    # it starts in time, but the caller will have given up before a commit and its answer could get back
    office = _office_space(tmp_path, deadline=time.time() + COMMIT_MARGIN_SECONDS / 2)
    with pytest.raises(ServiceError) as refused:
        office.service.register_agency(register_agency("AG-TIGHT"))
    assert refused.value.code == "deadline_exceeded"
    assert office.store.last_position() == 0


def test_a_command_in_time_is_done(tmp_path: Path) -> None:
    office = _office_space(tmp_path, deadline=time.time() + 10)
    answer = office.service.register_agency(register_agency("AG-ON-TIME"))
    assert answer["id"] == agency_code("320402", "AG-ON-TIME")
    assert office.store.last_position() == 1  # AgencyRegistered


def test_a_repeat_past_its_deadline_still_gets_the_recorded_answer(tmp_path: Path) -> None:
    # the first attempt was done; its answer was lost; the client's retry arrives late: it was done, say so
    office = _office_space(tmp_path, deadline=time.time() + 10, key="http:t:k-1")
    done = office.service.register_agency(register_agency("AG-ONCE"))
    office.service.context = lambda: Metadata(
        actor="city_admin:test", deadline=time.time() - 5, idempotency_key="http:t:k-1"
    )
    assert office.service.register_agency(register_agency("AG-ONCE")) == done
    assert office.store.last_position() == 1


def test_a_command_that_waited_for_the_write_lock_past_its_deadline_is_not_committed(tmp_path: Path) -> None:
    # it starts in time (3 s left), but another writer (a second instance, a backup) holds the store's write
    # lock for 4 s: by the time it could commit, its caller has given up, so it must not commit
    office = _office_space(tmp_path, deadline=time.time() + 3)
    holder = sqlite3.connect(tmp_path / "office_space.db", isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    release = threading.Timer(4, holder.rollback)
    release.start()
    try:
        with pytest.raises(ServiceError) as refused:
            office.service.register_agency(register_agency("AG-WAITED"))
    finally:
        release.join()
        holder.close()
    assert refused.value.code == "deadline_exceeded"
    assert office.store.last_position() == 0
    assert office.store.recorded_answer("AG-WAITED") is None


def test_the_outcome_of_a_command_is_what_its_store_recorded_under_its_key(tmp_path: Path) -> None:
    # what the gateway asks when a command's answer did not come in time: done (its answer), refused under the
    # caller's key (the refusal, to answer again), or nothing recorded (not done: 503 stands)
    office = _office_space(tmp_path, deadline=time.time() + 10, key="http:t:done")
    done = office.service.register_agency(register_agency("AG-DONE"))
    office.service.context = lambda: Metadata(
        actor="city_admin:test", deadline=time.time() + 10, idempotency_key="http:t:no"
    )
    with pytest.raises(ServiceError):
        office.service.register_agency({**register_agency("AG-BAD"), "authorised_headcount": -1})
    office.service.context = lambda: Metadata(actor="gateway", deadline=time.time() + 3)
    assert office.service.command_outcome({"key": "http:t:done"}) == {"answer": done, "refusal": None}
    refused = office.service.command_outcome({"key": "http:t:no"})
    assert refused["answer"] is None and refused["refusal"]["code"] == "validation_failed"
    assert office.service.command_outcome({"key": "http:t:never"}) == {"answer": None, "refusal": None}
