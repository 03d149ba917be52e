"""Nameko plumbing every service stands on: the base service, the ``@command`` wrapper, RPC that survives a
broker gone.

A domain service is a subclass of ``DomainService`` whose RPC methods are ``@rpc @command(Schema)``:
the wrapper validates the input with the marshmallow schema, binds actor and correlation id (from the
RPC context the gateway set) to logs and event metadata, counts and times the command, and turns any
``PlatformError`` into a ``ServiceError`` that crosses RPC intact for the gateway to map to HTTP.

The base class also runs the outbox relay (unless ``RELAY_IN_PROCESS=false``: then it runs alone, once
per store) and serves ``/metrics``, ``/health/live`` and ``/health/ready`` (``/health`` is ready) on the
service's own HTTP port (see ``services.common.runtime.health``).

Beside it: its store, relay and read models (``services.common.runtime.dependencies``), the district scope rule
(``services.common.kernel.scope``), the schemas every service shares and how a payload is loaded with one
(``services.common.kernel.schemas``), JSON responses (``services.common.runtime.responses``).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Any, TypeVar

import kombu.serialization
import nameko.amqp.publish
from amqp.exceptions import ConnectionError as AMQPConnectionError
from kombu.connection import Connection
from kombu.exceptions import OperationalError
from kombu.pools import producers
from marshmallow import Schema
from nameko.amqp.publish import Publisher
from nameko.constants import (
    AMQP_SSL_CONFIG_KEY,
    AMQP_URI_CONFIG_KEY,
    DEFAULT_SERIALIZER,
    DEFAULT_TRANSPORT_OPTIONS,
    LOGIN_METHOD_CONFIG_KEY,
    SERIALIZER_CONFIG_KEY,
)
from nameko.exceptions import deserialize_to_instance
from nameko.extensions import DependencyProvider
from nameko.messaging import QueueConsumer
from nameko.rpc import ReplyListener, Responder, Rpc, RpcConsumer, RpcProxy, get_rpc_exchange
from nameko.web.handlers import http
from werkzeug.wrappers import Request, Response

from services.common.base.db import commits_begun, local_store_failed
from services.common.base.jsontext import dumps_rpc, loads_rpc
from services.common.base.log import bind_context, get_logger
from services.common.base.metrics import COMMAND_LATENCY, COMMANDS, HTTP_REQUESTS, UP, render_metrics
from services.common.base.personal import KeyStore, digest_request, open_request
from services.common.base.settings import settings, topic_for
from services.common.kernel.aggregate import Aggregate
from services.common.kernel.decoding import scrub_text
from services.common.kernel.errors import (
    DuplicateCommand,
    IdempotencyKeyReused,
    PlatformError,
    ReplyTooLarge,
    RequestDeadLettered,
    ServiceUnavailable,
    VersionConflict,
)
from services.common.kernel.events import Metadata
from services.common.kernel.schemas import ActorQuerySchema, CommandKeySchema, load_command
from services.common.kernel.scope import require_addressed_in_scope, require_changes_in_scope
from services.common.read.projector import Projector
from services.common.runtime.dependencies import OutboxRelayRunner, StoreProvider, store_of
from services.common.runtime.health import HealthChecks, HealthProvider
from services.common.runtime.responses import json_response
from services.common.write.deadlines import refuse_if_expired
from services.common.write.store import EventStore, Idempotency

log = get_logger()

kombu.serialization.register(  # type: ignore[no-untyped-call]
    "json", dumps_rpc, loads_rpc, content_type="application/json", content_encoding="utf-8"
)
"""RPC bodies in every process that makes or answers a call (each imports this module), under nameko's ``json``
serializer: kombu's JSON, written and read by orjson where that gives the same values (``jsontext.dumps_rpc``,
``loads_rpc``). A district's request of 100,000 readings took 144 ms of JSON on its way (38 to write, 106 to read),
now 31; a command's 17 µs, now 6. Still JSON of the same values on the wire: a process with kombu's own codec reads
these bodies, and its bodies are read here."""

AggregateT = TypeVar("AggregateT", bound=Aggregate)
F = TypeVar("F", bound=Callable[..., Any])


BROKER_ERRORS = (OSError, AMQPConnectionError, OperationalError)
"""What sending to a RabbitMQ that went away raises."""


class BrokerTolerantQueueConsumer(QueueConsumer):  # type: ignore[misc]
    """nameko's consumer of a process's RPC queues (a service's requests, the gateway's answers), except that a
    message that cannot be acknowledged (or requeued) because RabbitMQ just closed its connection does not end
    the process.

    nameko gives such an acknowledgement up only on amqp's own ``ConnectionError``. The socket's errors
    (``ConnectionResetError``, ``BrokenPipeError``) and kombu's ``OperationalError`` escaped from the thread that
    handles the message, and an error escaping any of nameko's threads kills the container. A RabbitMQ restarted
    under load thus killed the gateway, which was acknowledging an answer as RabbitMQ closed the connection: its
    HTTP port closed and every district's command was refused until the process was started again (found by
    ``tests/faults/test_rabbitmq_restart.py``).

    Given up, the message stays unacknowledged: RabbitMQ delivers it again on the next connection, or it went
    with a queue the restart emptied. A request delivered again is answered from its key (``BrokerTolerantRpc``);
    an answer is still handed to its caller, and one delivered again finds no caller and is dropped.
    """

    def ack_message(self, message: Any) -> None:
        try:
            super().ack_message(message)
        except BROKER_ERRORS as exc:
            log.warning("amqp_ack_lost", error=repr(exc)[:200], routing_key=message.delivery_info.get("routing_key"))

    def requeue_message(self, message: Any) -> None:
        try:
            super().requeue_message(message)
        except BROKER_ERRORS as exc:
            log.warning(
                "amqp_requeue_lost", error=repr(exc)[:200], routing_key=message.delivery_info.get("routing_key")
            )


class _BrokerTolerantReplyListener(ReplyListener):  # type: ignore[misc]
    queue_consumer = BrokerTolerantQueueConsumer()


class BrokerTolerantRpcProxy(RpcProxy):  # type: ignore[misc]
    """nameko's ``RpcProxy``, whose answers are consumed by the ``BrokerTolerantQueueConsumer``: a RabbitMQ gone
    while an answer is acknowledged costs that acknowledgement, not the caller's process."""

    rpc_reply_listener = _BrokerTolerantReplyListener()


_PRODUCER_POOL_KEYS: dict[tuple[str, bool, str, str | None, str], Connection] = {}


@contextlib.contextmanager
def _pooled_producer(
    amqp_uri: str,
    confirms: bool = True,
    ssl: Any = None,
    login_method: str | None = None,
    transport_options: dict[str, Any] | None = None,
) -> Iterator[Any]:
    """nameko's ``get_producer`` (a producer of kombu's pool for these connection settings), with the pool's key
    made once per settings instead of once per message.

    kombu finds the pool by the settings of a ``Connection`` (its ``__eqhash__``) and nameko builds that
    ``Connection`` anew for every message it publishes (each RPC request of the gateway, each answer of a
    service), which costs more than finding the pool: 0.1-0.2 ms of CPU per message. The key is never
    connected itself (the pool clones it), so keeping it changes nothing else: the same pool, the same
    connections, the same reconnection when RabbitMQ goes away."""
    options = dict(DEFAULT_TRANSPORT_OPTIONS if transport_options is None else transport_options)
    options["confirm_publish"] = confirms
    settings_key = (amqp_uri, confirms, repr(ssl), login_method, repr(sorted(options.items())))
    key = _PRODUCER_POOL_KEYS.get(settings_key)
    if key is None:
        key = _PRODUCER_POOL_KEYS[settings_key] = Connection(  # type: ignore[no-untyped-call]
            amqp_uri, transport_options=options, ssl=ssl, login_method=login_method
        )
    with producers[key].acquire(block=True) as producer:
        yield producer


def keep_producer_pool_keys() -> None:
    """Make every nameko publisher of this process (RPC requests and answers, events) find its producer pool
    with a key made once (``_pooled_producer``). Called when a service process starts (``runner``)."""
    nameko.amqp.publish.get_producer = _pooled_producer


class _UnconfirmedPublisher(Publisher):  # type: ignore[misc]
    use_confirms = False


class _Responder(Responder):  # type: ignore[misc]
    """nameko's answer to an RPC, sent without waiting for RabbitMQ's publisher confirm: a lost answer is
    given up anyway (below), so the confirm would only cost a round trip per command."""

    publisher_cls = _UnconfirmedPublisher


MAX_REPLY_BYTES = 4 * 1024 * 1024
"""Largest RPC answer sent (4 MiB, as the largest district message): a larger one is answered
``reply_too_large`` instead, so no answer can exceed what RabbitMQ and the gateway take."""


def bounded_reply(result: Any, exc_info: Any, serializer: str, limit: int = MAX_REPLY_BYTES) -> tuple[Any, Any]:
    """(result, exc_info) to send: as given, or ``ReplyTooLarge`` in place of a result over ``limit`` bytes."""
    if exc_info is not None:
        return result, exc_info
    try:
        size = len(kombu.serialization.dumps(result, serializer)[2])  # type: ignore[no-untyped-call]
    except Exception:  # unserializable: nameko's own check answers that
        return result, exc_info
    if size <= limit:
        return result, exc_info
    log.warning("rpc_reply_too_large", size_bytes=size, limit_bytes=limit)
    error = ServiceError.from_error(
        ReplyTooLarge(
            f"the answer is {size} bytes, over the {limit}-byte limit of an answer: ask for less (filters, a limit)",
            details={"size_bytes": size, "limit_bytes": limit},
        )
    )
    return None, (type(error), error, None)


MAX_REDELIVERIES = 2
"""How many times a request whose service died handling it is handled again (3 tries in all) before it is
dead-lettered: one request must not kill its service on every restart."""


class _BrokerTolerantRpcConsumer(RpcConsumer):  # type: ignore[misc]
    queue_consumer = BrokerTolerantQueueConsumer()

    def handle_message(self, body: Any, message: Any) -> None:
        """Handle a request, unless RabbitMQ delivered it again more than ``MAX_REDELIVERIES`` times (its service
        died each time it handled it): then it is dead-lettered (kept in the store, answered
        ``request_dead_lettered``, acknowledged) and the service lives on."""
        if message.delivery_info.get("redelivered") and self._dead_letter(body, message):
            return
        super().handle_message(body, message)

    def _dead_letter(self, body: Any, message: Any) -> bool:
        correlation_id = message.properties.get("correlation_id")
        store = next((d.store for d in self.container.dependencies if isinstance(d, StoreProvider)), None)
        if not correlation_id or store is None:
            return False
        routing_key = str(message.delivery_info.get("routing_key", ""))
        try:
            redeliveries = store.count_redelivery(correlation_id, routing_key)
            if redeliveries > MAX_REDELIVERIES:
                store.dead_letter_request(correlation_id, body)  # its personal fields sealed there
        except Exception as exc:
            if not local_store_failed(exc):
                raise
            # The store cannot write (a full disk, a lock held too long, a connection lost): raised here, outside
            # any worker, it ended the container and the service (found by the fault campaign). Handled instead,
            # the request meets the same store in its worker and is answered an error; the count resumes with the
            # store, and a request due to be dead-lettered is counted (and dead-lettered) at its next delivery.
            log.warning("rpc_redelivery_not_counted", correlation_id=correlation_id, error=repr(exc)[:300])
            return False
        if redeliveries <= MAX_REDELIVERIES:
            log.warning("rpc_request_redelivered", correlation_id=correlation_id, redeliveries=redeliveries)
            return False
        log.error("rpc_request_dead_lettered", correlation_id=correlation_id, routing_key=routing_key)
        error = ServiceError.from_error(
            RequestDeadLettered(
                f"the request was delivered {redeliveries + 1} times and its service died handling it each time;"
                " it was not done and is kept for inspection",
                details={"deliveries": redeliveries + 1, "routing_key": routing_key},
            )
        )
        self.handle_result(message, None, (type(error), error, None))
        return True

    def handle_result(self, message: Any, result: Any, exc_info: Any) -> tuple[Any, Any]:
        """Answer (bounded), then acknowledge; a failure to answer is contained, never the container's end.

        A broker gone: the request stays unacknowledged and is delivered again (see ``BrokerTolerantRpc``). Any
        other failure (an answer RabbitMQ refuses, a serializer error): logged, and the request acknowledged, so
        it is not delivered again and again to a service it would kill each time; its caller times out (503), and
        its retry with the same ``Idempotency-Key`` gets the recorded answer of a command that was done.
        """
        config = self.container.config
        serializer = config.get(SERIALIZER_CONFIG_KEY, DEFAULT_SERIALIZER)
        result, exc_info = bounded_reply(result, exc_info, serializer)
        responder = _Responder(
            config[AMQP_URI_CONFIG_KEY],
            get_rpc_exchange(config),
            serializer,
            message,
            ssl=config.get(AMQP_SSL_CONFIG_KEY),
            login_method=config.get(LOGIN_METHOD_CONFIG_KEY),
        )
        try:
            result, exc_info = responder.send_response(result, exc_info)
            self.queue_consumer.ack_message(message)
        except BROKER_ERRORS as exc:
            log.warning("rpc_answer_lost", error=repr(exc), reply_to=message.properties.get("reply_to"))
        except Exception:
            log.exception("rpc_answer_failed", reply_to=message.properties.get("reply_to"))
            try:
                self.queue_consumer.ack_message(message)
            except Exception:  # the channel went with it: RabbitMQ delivers the request again
                log.warning("rpc_request_not_acknowledged", reply_to=message.properties.get("reply_to"))
        return result, exc_info


class BrokerTolerantRpc(Rpc):  # type: ignore[misc]
    """nameko's ``@rpc``, except that a RabbitMQ gone while a worker answers does not kill the service.

    nameko lets the error of sending the answer (or acknowledging the request) end the worker with an
    error, which kills the whole service container: a RabbitMQ restart under load took down every service
    that was answering. Here the answer is given up instead. The command is stored by then and RabbitMQ
    delivers the unacknowledged request again: with an idempotency key it is answered from the command log
    (as the caller retrying after its timeout is) instead of acting twice; without one it runs again, as
    after any crash between commit and acknowledgement.
    """

    rpc_consumer = _BrokerTolerantRpcConsumer()


@deserialize_to_instance
class ServiceError(Exception):
    """A PlatformError as it crosses nameko RPC, intact.

    nameko turns every non-string value in an exception's arguments into a string, so the error travels
    as one JSON document (code, HTTP status, message, field reasons, details with their figures).
    """

    def __init__(self, document: str) -> None:
        super().__init__(document)
        data = json.loads(document)
        self.code: str = data["code"]
        self.http_status: int = data["http_status"]
        self.message: str = data["message"]
        self.fields: dict[str, Any] = data["fields"]
        self.details: dict[str, Any] = data["details"]

    @classmethod
    def from_error(cls, error: PlatformError) -> ServiceError:
        """Wrap a domain or plumbing error for the wire."""
        document = {
            "code": error.code,
            "http_status": error.http_status,
            "message": error.message,
            "fields": error.fields,
            "details": error.details,
        }
        return cls(json.dumps(document, ensure_ascii=False, default=str))

    def __str__(self) -> str:
        return self.message

    def to_body(self) -> dict[str, Any]:
        """The JSON body the gateway answers with."""
        body: dict[str, Any] = {"error": self.code, "message": self.message, "fields": self.fields}
        if self.details:
            body["details"] = self.details
        return body

    def document(self) -> dict[str, Any]:
        """The error as the document it travels as (recorded for a refused command's key)."""
        return {
            "code": self.code,
            "http_status": self.http_status,
            "message": self.message,
            "fields": self.fields,
            "details": self.details,
        }


class CommandContext(DependencyProvider):  # type: ignore[misc]
    """Gives a worker the metadata (actor, correlation id) the caller put in the RPC context."""

    def get_dependency(self, worker_ctx: Any) -> Callable[[], Metadata]:
        data = worker_ctx.data

        def metadata() -> Metadata:
            return Metadata(
                actor=data.get("actor") or "system",
                correlation_id=data.get("correlation_id") or worker_ctx.call_id,
                causation_id=data.get("causation_id"),
                idempotency_key=data.get("idempotency_key"),
                scope_district=data.get("scope_district"),
                request_key=data.get("request_key"),
                deadline=data.get("deadline"),
                edge_refusal=data.get("edge_refusal"),
            )

        return metadata


def command(schema: type[Schema] | None = None, retries: int = 2) -> Callable[[F], F]:
    """Make a method an RPC command: validate input, bind context, count and time it, ship errors intact.

    A command that loses an optimistic-concurrency race (``VersionConflict``) is run again from the start
    (reload, decide, append) up to ``retries`` times before the conflict is answered; commands on
    contended aggregates (a budget line, an agency's fleet) thus succeed under concurrent writers while
    a stale write is still never silently applied.
    """

    def decorate(fn: F) -> F:
        name = fn.__name__

        @functools.wraps(fn)
        def wrapper(self: Any, payload: dict[str, Any] | None = None) -> Any:
            meta: Metadata = self.context()
            started = time.perf_counter()
            outcome = "error"
            fingerprint: _Fingerprint | None = None
            current = _FINGERPRINT.set(None)
            begun = commits_begun()
            with bind_context(correlation_id=meta.correlation_id, actor=meta.actor, command=name):
                try:
                    # personal values sealed by the gateway for the way (``personal.seal_for_transit``): clear again
                    payload = open_request(self.store.personal, self.name, payload)
                    fingerprint = _Fingerprint(
                        self.name, name, payload, self.store.personal, worked_out=bool(meta.command_key)
                    )
                    _FINGERPRINT.set(fingerprint)
                    data = load_command(schema, payload)
                    key = meta.command_key
                    recorded = replayed(self.store, key, fingerprint.value()) if key else None
                    if recorded is None and meta.edge_refusal:
                        raise _platform_error(meta.edge_refusal)  # refused at the gateway: recorded below
                    if not recorded:
                        refuse_if_expired(meta.deadline)
                    result = recorded or _run_with_retries(fn, self, data, retries)
                    outcome = "ok"
                    if isinstance(result, dict) and "event_ids" in result:
                        log.info("command_handled", stream_id=result.get("id"), event_ids=result["event_ids"])
                    return result
                except PlatformError as error:
                    outcome = error.code
                    log.info("command_refused", error=error.code, message=error.message)
                    shipped = ServiceError.from_error(error)
                    if meta.idempotency_key and fingerprint and _recorded_as_refusal(error):
                        self.store.record_refusal(meta.idempotency_key, fingerprint.value(), shipped.document())
                    raise shipped from None
                except ServiceError as replay:  # a refusal recorded for the key, answered again
                    outcome = replay.code
                    raise
                except Exception as failure:
                    if not local_store_failed(failure) or commits_begun() != begun:
                        raise  # a commit was sent: what it wrote may be stored (an unknown outcome)
                    # The service's own database failed before anything of the command was sent to be committed:
                    # it was not done, and asked again later it will be (README, "Answers and retries").
                    outcome = ServiceUnavailable.code
                    log.warning("command_store_failed", error=repr(failure)[:300])
                    raise ServiceError.from_error(
                        ServiceUnavailable(
                            f"the {self.name} service's database did not answer; nothing was stored: ask again"
                        )
                    ) from None
                finally:
                    _FINGERPRINT.reset(current)
                    COMMANDS.labels(self.name, name, outcome).inc()
                    COMMAND_LATENCY.labels(self.name, name).observe(time.perf_counter() - started)

        return BrokerTolerantRpc.decorator(expected_exceptions=(ServiceError,))(wrapper)  # type: ignore[no-any-return]

    return decorate


def _platform_error(document: str) -> PlatformError:
    """A refusal made elsewhere (its ``ServiceError`` document) as the service's own error, with its code and
    status, so it is recorded and answered like one."""
    data = json.loads(document)
    kind = type("EdgeRefusal", (PlatformError,), {"code": str(data["code"]), "http_status": int(data["http_status"])})
    error: PlatformError = kind(data["message"], fields=data.get("fields") or {}, details=data.get("details") or {})
    return error


class _Fingerprint:
    """The fingerprint of the command a worker runs, worked out when first asked for.

    A command with a key (``Metadata.command_key``) has it worked out at once, before the command runs. One
    without asks for it only when the service keys it itself (a readings batch's ``message_id``), before it
    acts; most never do, and hashing a 100,000-reading batch as canonical JSON takes a tenth of a second.
    """

    __slots__ = ("_of", "_value")

    def __init__(
        self, service: str, command: str, payload: Any, keys: Callable[[], KeyStore] | None, *, worked_out: bool
    ) -> None:
        self._of = (service, command, payload, keys)
        self._value: str | None = None
        if worked_out:
            self.value()

    def value(self) -> str:
        if self._value is None:
            self._value = command_fingerprint(*self._of)
        return self._value


_FINGERPRINT: ContextVar[_Fingerprint | None] = ContextVar("command_fingerprint", default=None)
"""The fingerprint of the command the current worker runs (recorded with its answer by ``save``)."""


def command_fingerprint(service: str, command: str, payload: Any, keys: Callable[[], KeyStore] | None = None) -> str:
    """What an idempotency key is bound to: SHA-256 of the service, the command and its payload as canonical
    JSON (keys sorted). The same key sent again with another command or another payload is not a repeat.

    A personal value of the payload (a staff or driver's name, a GPS batch) enters it as its keyed digest under
    its subject's key (``personal.digest_request``, with ``keys``, the platform's key store): the fingerprint is
    kept for ever beside the event's clear fields, and a plain hash of a name there is found again by trying a
    list of names. Once the subject is erased, the same command is no longer recognised as a repeat."""
    text = json.dumps(
        [service, command, digest_request(keys, service, payload)], sort_keys=True, ensure_ascii=False, default=str
    )
    try:
        encoded = text.encode()
    except UnicodeEncodeError:  # a lone surrogate (the command is refused, but its refusal is keyed too)
        encoded = scrub_text(text).encode()
    return hashlib.sha256(encoded).hexdigest()


def current_fingerprint() -> str | None:
    """The fingerprint of the command being handled (None outside a command)."""
    fingerprint = _FINGERPRINT.get()
    return None if fingerprint is None else fingerprint.value()


def _recorded_as_refusal(error: PlatformError) -> bool:
    """Whether a refusal is final for its key: a client error, but not one a concurrent or later attempt can
    undo (a version conflict or a duplicate raced by the same key's other attempt, a service unavailable, an
    agency a lagging view does not know yet: ``PlatformError.final``).

    A domain rule's conflict (409: a vehicle double-booked, an id another command holds) is recorded like any
    refusal: it may go away (that other trip is cancelled), and the key must still get the answer it got. An
    "already exists" raced by the same key's own attempt never gets here: the answer that attempt recorded
    is found first (``_recorded_meanwhile``)."""
    if isinstance(error, IdempotencyKeyReused | VersionConflict | DuplicateCommand) or not error.final:
        return False
    return 400 <= error.http_status < 500


def replayed(store: EventStore, key: str | None, fingerprint: str | None) -> dict[str, Any] | None:
    """The answer recorded for ``key`` (None when there is none); the recorded refusal raised again; and
    ``IdempotencyKeyReused`` (422) when the key was recorded for another command or payload."""
    recorded = store.recorded_command(key) if key else None
    if recorded is None:
        return None
    if recorded.fingerprint and fingerprint and recorded.fingerprint != fingerprint:
        raise IdempotencyKeyReused(
            "this Idempotency-Key was used for another command or body",
            fields={"Idempotency-Key": ["already used for another command or body"]},
        )
    if recorded.refusal is not None:
        raise ServiceError(json.dumps(recorded.refusal, ensure_ascii=False))
    return recorded.answer


def rpc_proxy(service: str) -> RpcProxy:
    """The gateway's RPC proxy of ``service``: its requests expire in RabbitMQ after ``RPC_TIMEOUT`` (the
    gateway's wait for an answer), so a request still queued when the caller gave up is never delivered; its
    answers are acknowledged by the ``BrokerTolerantQueueConsumer``."""
    return BrokerTolerantRpcProxy(service, expiration=settings().rpc_timeout)


def _run_with_retries(fn: Callable[..., Any], service: Any, data: dict[str, Any], retries: int) -> Any:
    for attempt in range(retries + 1):
        try:
            return fn(service, data)
        except PlatformError as error:
            # The same key's command was stored meanwhile (the caller retried while its first attempt still
            # ran, e.g. waiting for a lock): its answer stands, not the "already exists" its own effect causes.
            recorded = _recorded_meanwhile(service)
            if recorded is not None:
                return recorded
            if not isinstance(error, VersionConflict) or attempt == retries:
                raise
            log.info("command_retried_after_conflict", attempt=attempt + 1)
    raise AssertionError("unreachable")


def _recorded_meanwhile(service: Any) -> dict[str, Any] | None:
    context = getattr(service, "context", None)
    key = context().command_key if context else None
    return replayed(service.store, key, current_fingerprint()) if key else None


class DomainService:
    """Base of every domain service: store, relay, command context, ``/metrics`` and ``/health``."""

    name: str = ""
    context = CommandContext()
    store = StoreProvider()
    relay = OutboxRelayRunner()
    health_checks: HealthChecks = HealthProvider(lambda container: store_of(container).engine)

    def save(
        self, *aggregates: Aggregate, answer: dict[str, Any] | None = None, following: tuple[Aggregate, ...] = ()
    ) -> dict[str, Any]:
        """Append the aggregates' events in one transaction, wake the relay, answer version and event ids.

        ``answer`` adds to (or, for commands about many aggregates, replaces) the default answer of the
        first aggregate's id and version. A command that carried an idempotency key has its answer
        recorded in the same transaction, so repeating it answers the same without acting again.
        ``following`` are aggregates changed only as the consequence of a change to ``aggregates`` (a
        cancelled trip frees its vehicle, even one of another district): the caller's scope is checked on
        ``aggregates`` alone.
        """
        meta: Metadata = self.context()
        require_changes_in_scope(meta.scope_district, aggregates)
        first = aggregates[0]
        result = {"id": first.id, "version": first.version, **(answer or {})}
        command = meta.command_key and Idempotency(meta.command_key, self.name, result, current_fingerprint())
        envelopes = self.store.save_all((*aggregates, *following), meta, command or None)
        self.relay.wake()
        return {**result, "event_ids": [e.event_id for e in envelopes]}

    def load_in_scope(self, cls: type[AggregateT], stream_id: str) -> AggregateT:
        """The aggregate a command addresses (its URL's id), refused at once when it is outside the caller's
        district, before any rule of the command judges its state: a refusal about its state (``wrong_status``,
        ``already counted``) would tell another district that it exists (no existence oracle, docs/hostile-input.md).
        The rule and its refusal: ``services.common.kernel.scope``."""
        aggregate: AggregateT = self.store.load(cls, stream_id)
        require_addressed_in_scope(self.context().scope_district, aggregate)
        return aggregate

    AUDIT_KEYS = (
        "event_id",
        "event_type",
        "domain",
        "stream_type",
        "stream_id",
        "stream_version",
        "recorded_at",
        "district",
        "agency_id",
        "actor",
        "correlation_id",
    )
    """What the audit trail shows of each event (not its payload)."""

    @command(ActorQuerySchema)
    def events_by_actor(self, query: dict[str, Any]) -> list[dict[str, Any]]:
        """The latest events this service recorded for ``actor``, newest first (the audit trail)."""
        found = self.store.events_by_actor(query["actor"], query["limit"])
        return [{k: getattr(e, k) for k in self.AUDIT_KEYS} for e in found]

    @command(CommandKeySchema)
    def command_outcome(self, query: dict[str, Any]) -> dict[str, Any]:
        """What became of the command recorded under ``key`` (a caller's idempotency key or the gateway's request
        key): ``answer`` when it was done, ``refusal`` when it was refused under the caller's key, neither when
        nothing was recorded. The gateway asks when a command's answer did not come in time."""
        recorded = self.store.recorded_command(query["key"])
        if recorded is None:
            return {"answer": None, "refusal": None}
        return {"answer": recorded.answer, "refusal": recorded.refusal}

    @command()
    def store_head(self, query: dict[str, Any]) -> dict[str, Any]:
        """The newest event of this service's store and how far its relay got: what the gateway measures the data
        center's freshness from, end to end (an outbox that cannot publish shows there, not only on the topic); and,
        under ``projected``, what the service's own read models applied of each topic they read (the gateway
        measures them against the stores too: ``gov_store_projection_lag_seconds``)."""
        last = self.store.last_position()
        views: Projector | None = getattr(self, "read_models", None)
        projected = {}
        if views is not None:  # the service's own read models: how far they are behind the stores they read
            status = views.status()
            projected[views.name] = {"topics": views.topics, "last_event_at": status["topics_last_event_at"]}
        return {
            "last_position": last,
            "last_event_at": self.store.recorded_at(last) if last else None,
            "relay_position": self.store.relay_position(topic_for(self.name)),
            "projected": projected,
        }

    @command()
    def first_recorded_after(self, query: dict[str, Any]) -> dict[str, str | None]:
        """For each moment of ``query["moments"]`` (a projection's newest applied event's time, "" for none), when
        this store's first event recorded after it was recorded: the oldest event that projection has not
        applied, whose age is how far it is behind (``services.common.read.freshness``)."""
        return {moment: self.store.first_recorded_after(moment) for moment in query.get("moments", [])}

    @http("GET", "/metrics")  # type: ignore[untyped-decorator]
    def metrics(self, request: Request) -> Response:
        """Prometheus metrics of this service."""
        UP.labels(self.name).set(1)
        HTTP_REQUESTS.labels(self.name, "/metrics", "GET", "200").inc()
        body, content_type = render_metrics()
        return Response(body, content_type=content_type)

    @http("GET", "/health/live")  # type: ignore[untyped-decorator]
    def health_live(self, request: Request) -> Response:
        """Liveness: the process answers."""
        HTTP_REQUESTS.labels(self.name, "/health/live", "GET", "200").inc()
        return json_response(self.health_checks.live())

    @http("GET", "/health/ready")  # type: ignore[untyped-decorator]
    def health_ready(self, request: Request) -> Response:
        """Readiness: database, RabbitMQ and Kafka answer; 503 naming what failed otherwise."""
        report = self.health_checks.ready()
        HTTP_REQUESTS.labels(self.name, "/health/ready", "GET", str(report.status_code)).inc()
        return json_response(report.body(), report.status_code)

    @http("GET", "/health")  # type: ignore[untyped-decorator]
    def health(self, request: Request) -> Response:
        """The same as ``/health/ready``."""
        report = self.health_checks.ready()
        HTTP_REQUESTS.labels(self.name, "/health", "GET", str(report.status_code)).inc()
        return json_response(report.body(), report.status_code)
