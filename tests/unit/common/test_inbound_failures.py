"""Which failures of a district message's handling reject it, and which leave it to be tried again."""

from __future__ import annotations

import sqlite3

import sqlalchemy as sa
from nameko.exceptions import RemoteError

from services.common.kernel.errors import DeadlineExceeded, RequestDeadLettered, RuleViolation, ServiceUnavailable
from services.common.read.inbound import Rejected, as_rejection
from services.common.runtime.rpc import ServiceError


def test_a_store_that_cannot_write_leaves_the_message_to_be_tried_again() -> None:
    # the owning service's SQLite on a full disk: "database or disk is full" / "disk I/O error"
    error = RemoteError("OperationalError", "(sqlite3.OperationalError) disk I/O error")
    assert as_rejection(error) is error  # not a Rejected: the consumer defers the message


def test_the_gateways_own_database_failing_leaves_the_message_to_be_tried_again() -> None:
    error = sa.exc.OperationalError("SELECT …", {}, sqlite3.OperationalError("database is locked"))
    assert as_rejection(error) is error


def test_any_other_failure_of_the_service_rejects_the_message_with_its_reason() -> None:
    refusal = as_rejection(RemoteError("KeyError", "'agency_id'"))
    assert isinstance(refusal, Rejected)
    assert refusal.code == "processing_failed"


def test_an_answer_of_the_owning_service_that_says_not_done_leaves_the_message_to_be_tried_again() -> None:
    # its database failed before anything was stored, or the message reached it after its deadline: a 503
    for answered in (ServiceUnavailable("its database did not answer"), DeadlineExceeded("too late")):
        error = ServiceError.from_error(answered)
        assert as_rejection(error) is error


def test_a_refusal_of_the_owning_service_rejects_the_message_with_its_code() -> None:
    # a rule, and a request its service died handling three times (500: asked again it would die again)
    for refused in (RuleViolation("the room is full"), RequestDeadLettered("died handling it")):
        refusal = as_rejection(ServiceError.from_error(refused))
        assert isinstance(refusal, Rejected)
        assert refusal.code == refused.code
