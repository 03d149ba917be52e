"""Error types shared by every service, mapped once (at the gateway edge) to HTTP status and body.

Every error is a ``PlatformError`` with a stable ``code``, a human ``message`` and optional per-field
reasons. The constructor arguments are JSON-safe so the error crosses nameko RPC intact: nameko sends
``exc.args`` and rebuilds the same type on the calling side for classes registered with
``register_remote_error`` (done in ``services.common.runtime.rpc``; this module stays free of nameko).
"""

from __future__ import annotations

from datetime import date
from typing import Any, ClassVar

MAX_FIELD_REASONS = 100
"""Field reasons an error lists at most; the rest are counted (``details.fields_omitted``)."""

MAX_REASON_CHARACTERS = 500
"""The longest field reason (or message) kept whole; a longer one ends in ``…``."""


def bounded_reasons(fields: dict[str, Any], most: int = MAX_FIELD_REASONS) -> tuple[dict[str, Any], int]:
    """``fields`` (a field's reasons, nested as marshmallow nests a list's or an object's) with at most ``most``
    reasons, each at most ``MAX_REASON_CHARACTERS`` long, and how many were left out.

    A request or a district's message of a hundred thousand bad items (GPS points, readings) drew a reason for
    each: an answer or a rejection of tens of megabytes, which the rejected topic could not take (the district's
    consumer failed on it for ever) and an HTTP client was sent for a body of one."""
    left, omitted = most, 0

    def count(value: Any) -> int:
        if isinstance(value, dict):
            return sum(count(v) for v in value.values())
        if isinstance(value, list | tuple):
            return sum(count(v) for v in value)
        return 1

    def walk(value: Any) -> Any:
        nonlocal left, omitted
        if isinstance(value, dict | list | tuple):
            pairs = value.items() if isinstance(value, dict) else enumerate(value)
            kept: dict[Any, Any] = {}
            for key, inner in pairs:
                if left <= 0:
                    omitted += count(inner)
                else:
                    kept[key] = walk(inner)
            return kept if isinstance(value, dict) else list(kept.values())
        left -= 1
        return short_reason(value) if isinstance(value, str) else value

    kept = walk(fields)
    return kept, omitted


def with_bounded_reasons(
    fields: dict[str, Any] | None, details: dict[str, Any] | None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """An error's ``fields`` bounded (``bounded_reasons``) and its ``details``, with ``fields_omitted`` when any
    reason was left out: what every error of the platform carries (``PlatformError``, an inbound ``Rejected``)."""
    kept, omitted = bounded_reasons(fields or {})
    return kept, {**(details or {}), "fields_omitted": omitted} if omitted else details or {}


def short_reason(text: str) -> str:
    """``text`` of at most ``MAX_REASON_CHARACTERS`` (ending in ``…`` when cut)."""
    return text if len(text) <= MAX_REASON_CHARACTERS else text[: MAX_REASON_CHARACTERS - 1] + "…"


class PlatformError(Exception):
    """Base of every error the platform raises on purpose. Its field reasons are bounded (``bounded_reasons``)."""

    code: ClassVar[str] = "error"
    http_status: ClassVar[int] = 400
    final: ClassVar[bool] = True
    """Whether the refusal stands for its idempotency key (recorded and answered again to it): False for one
    that a later attempt may not meet (a read model that lags behind, a race), see ``rpc._recorded_as_refusal``."""

    def __init__(
        self, message: str, fields: dict[str, Any] | None = None, details: dict[str, Any] | None = None
    ) -> None:
        kept, noted = with_bounded_reasons(fields, details)
        super().__init__(message, kept, noted)
        self.message = message
        self.fields: dict[str, Any] = kept
        self.details: dict[str, Any] = noted

    def __str__(self) -> str:
        return self.message

    def to_body(self) -> dict[str, Any]:
        """The JSON body the gateway answers with."""
        body: dict[str, Any] = {"error": self.code, "message": self.message, "fields": self.fields}
        if self.details:
            body["details"] = self.details
        return body


class ValidationFailed(PlatformError):
    """Input does not have the required shape or values; ``fields`` says which and why."""

    code = "validation_failed"
    http_status = 422


class BadRequest(PlatformError):
    """The request cannot be read at all (malformed JSON, wrong content type)."""

    code = "bad_request"
    http_status = 400


class PayloadTooLarge(PlatformError):
    """A body or batch above the documented limits."""

    code = "payload_too_large"
    http_status = 413


class UnsupportedMediaType(PlatformError):
    """A body declared as something other than JSON (``Content-Type``)."""

    code = "unsupported_media_type"
    http_status = 415


class NotFound(PlatformError):
    """The aggregate or resource does not exist."""

    code = "not_found"
    http_status = 404


class AlreadyExists(PlatformError):
    """An aggregate with this identity already exists."""

    code = "already_exists"
    http_status = 409


class VersionConflict(PlatformError):
    """The stream moved on since it was read (optimistic concurrency); reload and retry."""

    code = "version_conflict"
    http_status = 409


class DuplicateCommand(PlatformError):
    """A command with this idempotency key was handled already (its recorded answer stands)."""

    code = "duplicate_command"
    http_status = 409


class IdempotencyKeyReused(PlatformError):
    """An idempotency key sent again with another command or another body: not a repeat, and not run."""

    code = "idempotency_key_reused"
    http_status = 422


class RuleViolation(PlatformError):
    """A domain rule refuses the command; subclasses name the rule."""

    code = "rule_violation"
    http_status = 422


class InvalidState(RuleViolation):
    """The command does not apply to the aggregate in its current state."""

    code = "invalid_state"


class ContractViolation(PlatformError):
    """An event does not match its JSON Schema in ``contracts/``."""

    code = "contract_violation"
    http_status = 500


class Unauthenticated(PlatformError):
    """No valid bearer token (missing, unknown, expired or forged)."""

    code = "unauthenticated"
    http_status = 401


class Forbidden(PlatformError):
    """The principal's role does not allow the action."""

    code = "forbidden"
    http_status = 403


class NotInScope(Forbidden):
    """The principal's district scope does not cover the agency or district concerned."""

    code = "not_in_scope"


class ServiceUnavailable(PlatformError):
    """A dependency (service, broker, database) did not answer in time."""

    code = "service_unavailable"
    http_status = 503


class TooManyRequests(PlatformError):
    """The caller has as many requests being served as one caller may (``GATEWAY_IN_FLIGHT_PER_TOKEN``): nothing was
    done; ask again once one of them is answered (``Retry-After``)."""

    code = "too_many_requests"
    http_status = 429


class ReplyTooLarge(PlatformError):
    """A service's answer is larger than an RPC reply may be (``services.common.runtime.rpc.MAX_REPLY_BYTES``): the
    caller gets this instead of the answer, and the service lives on."""

    code = "reply_too_large"
    http_status = 502


class RequestDeadLettered(PlatformError):
    """An RPC request its service died handling, delivered again more than ``rpc.MAX_REDELIVERIES`` times: it is
    not handled any more (not done), and kept in the service's store (``rpc_redeliveries``)."""

    code = "request_dead_lettered"
    http_status = 500


class DeadlineExceeded(ServiceUnavailable):
    """A command reached its service after its caller stopped waiting: it was not done
    (``services.common.write.deadlines``)."""

    code = "deadline_exceeded"


class WrongStatus(InvalidState):
    """The aggregate is not in a status where the command applies."""

    code = "wrong_status"


class NotPositive(RuleViolation):
    """A quantity, price or amount that must be above zero is not."""

    code = "must_be_positive"


def require_status(what: str, status: str, *allowed: str) -> None:
    """Refuse unless ``status`` is one of ``allowed``."""
    if status not in allowed:
        raise WrongStatus(
            f"{what} is {status or 'not created'}, expected {' or '.join(allowed)}",
            details={"status": status, "expected": list(allowed)},
        )


def require_positive(field: str, value: float) -> None:
    """Refuse a quantity, price or amount that is zero or negative."""
    if value <= 0:
        raise NotPositive(f"{field} must be above zero", fields={field: ["must be > 0"]}, details={field: value})


class DateInFuture(RuleViolation):
    """A fact dated after today: the date a fact took effect (a release, a departure, a vacancy) is never
    later than the day it is recorded."""

    code = "date_in_future"


def require_not_future(field: str, day: date, today: date) -> None:
    """Refuse a fact's effective date that lies after ``today`` (a Beijing date)."""
    if day > today:
        raise DateInFuture(
            f"{field} {day.isoformat()} is after today ({today.isoformat()})",
            fields={field: ["must not be in the future"]},
            details={field: day.isoformat(), "today": today.isoformat()},
        )
