"""A command is not done once its caller stopped waiting for it."""

from __future__ import annotations

from services.common.write.deadlines import COMMIT_MARGIN_SECONDS, expired


def test_a_command_before_its_deadline_is_done() -> None:
    assert not expired(deadline=1000.0, now=999.0)


def test_a_command_after_its_deadline_is_not_done() -> None:
    assert expired(deadline=1000.0, now=1000.5)


def test_a_commit_needs_the_margin_free_before_the_deadline() -> None:
    # 1000 - 1.0 margin = 999.0: at 999.5 the caller may give up before the commit and its answer are through
    assert COMMIT_MARGIN_SECONDS == 1.0
    assert expired(deadline=1000.0, now=999.5, margin=COMMIT_MARGIN_SECONDS)
    assert not expired(deadline=1000.0, now=998.5, margin=COMMIT_MARGIN_SECONDS)


def test_a_command_without_a_deadline_never_expires() -> None:
    # a district message or a script's call: nobody waits with a timeout
    assert not expired(deadline=None, now=10**12)
