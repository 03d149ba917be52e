"""Command deadlines: a command is done only while its caller still waits for the answer.

The gateway gives every RPC it sends the moment it stops waiting (``deadline``, seconds since the epoch, from
its own ``RPC_TIMEOUT``) and sends it with the same AMQP expiration, so RabbitMQ drops a request nobody
consumed in time. A service that still gets one checks the deadline twice: before it starts, and in the event
store's transaction right before it commits — after the write lock is held, so a wait for the lock (a second
instance, a slow disk) counts — with ``COMMIT_MARGIN_SECONDS`` to spare for the commit itself. A request past its
deadline is refused (``DeadlineExceeded``, 503) without acting, so a 503 the caller sees means "not done" — the
window left is a commit that itself takes longer than the margin, which an ``Idempotency-Key`` on the retry closes
(README).
"""

from __future__ import annotations

import time

import structlog

from services.common.kernel.errors import DeadlineExceeded

log = structlog.get_logger()

COMMIT_MARGIN_SECONDS = 1.0
"""Time kept free before the caller's deadline for the commit and the answer's way back."""


def expired(deadline: float | None, now: float, margin: float = 0.0) -> bool:
    """Whether a command with ``deadline`` must not act at ``now`` (keeping ``margin`` seconds free before it);
    a command without a deadline (a district message, a call from a script) never expires."""
    return deadline is not None and now > deadline - margin


def refuse_if_expired(deadline: float | None, margin: float = 0.0) -> None:
    """DeadlineExceeded when the caller has stopped (or, ``margin`` seconds from now, will have stopped) waiting:
    the command is then not done, as the caller's 503 says."""
    if deadline is not None and expired(deadline, time.time(), margin):  # the clock read only for a deadline
        log.warning("command_past_deadline", deadline=deadline, margin=margin)
        raise DeadlineExceeded(
            "the command arrived after its caller stopped waiting; it was not done",
            details={"deadline": deadline},
        )
