"""Which failures of a district message's handling reject it, and which leave it to be tried again."""

from __future__ import annotations

import sqlite3

import sqlalchemy as sa
from nameko.exceptions import RemoteError

from services.common.read.inbound import Rejected, as_rejection


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
