"""The nameko dependencies a domain service runs with besides its commands: its event store
(``StoreProvider``), its outbox relay (``OutboxRelayRunner``) and its own read models (``service_views``,
run by a ``ProjectorRunner``, as the gateway's data center is)."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

from nameko.extensions import DependencyProvider

from services.common.base.db import create_db_engine, migrate
from services.common.base.log import get_logger
from services.common.base.personal import platform_key_store
from services.common.base.settings import settings, topic_for
from services.common.read.agencies import KnownAgencies
from services.common.read.projector import Projection, Projector
from services.common.runtime.relay import OutboxRelay
from services.common.runtime.relay import connect as connect_relay
from services.common.write.store import EventStore

log = get_logger()

WOKEN_RELAY_IDLE_SECONDS = 1.0
"""The least a relay run by its service sleeps when nothing is new (``RELAY_IDLE_SECONDS`` if longer): every commit
of the service wakes it (``OutboxRelayRunner.wake``), so looking on its own only finds what another process appended
to the store. Each look costs a round (the store read, the backlog gauges, a green-thread wake-up), five times a
second at the standalone relay's 0.2 s, in every service of an idle platform."""


class StoreProvider(DependencyProvider):  # type: ignore[misc]
    """The service's event store, opened (and migrated) once per container."""

    def setup(self) -> None:
        name = self.container.service_name
        config = settings()
        self.store = EventStore.open(config.database_url(name), name, config.snapshot_every)
        self.store.personal = platform_key_store  # opened on the first personal field appended

    def get_dependency(self, worker_ctx: Any) -> EventStore:
        return self.store


class OutboxRelayRunner(DependencyProvider):  # type: ignore[misc]
    """Runs the service's outbox relay in a managed thread; ``wake()`` publishes without waiting (and without it,
    the relay looks for new events every ``WOKEN_RELAY_IDLE_SECONDS`` at least).

    With ``RELAY_IN_PROCESS=false`` it does nothing: the store's relay runs as a process of its own
    (``python -m services.common.runtime.relay <service>``), exactly once per store however many replicas of
    the service serve commands, and finds new events by polling every ``RELAY_IDLE_SECONDS``.

    The relay meets Kafka in its own thread, trying again every second while the broker cannot be reached:
    a service started before its broker, or whose broker goes away while it starts, runs (and reports
    Kafka in ``/health/ready``) instead of dying; its commands are stored and published once Kafka is back.
    """

    def setup(self) -> None:
        self.stop_event = threading.Event()
        self.relay: OutboxRelay | None = None

    def start(self) -> None:
        if not settings().relay_in_process:
            log.info("relay_not_in_process", reason="RELAY_IN_PROCESS=false")
            return
        self.container.spawn_managed_thread(self._run, identifier="outbox-relay")

    def _run(self) -> None:
        config = settings()
        self.relay = connect_relay(store_of(self.container), topic_for(self.container.service_name), self.stop_event)
        if self.relay is not None:
            idle = max(config.relay_idle_seconds, WOKEN_RELAY_IDLE_SECONDS)
            self.relay.run(self.stop_event, idle, config.relay_linger_seconds)

    def stop(self) -> None:
        self.stop_event.set()
        if self.relay:
            self.relay.wakeup.set()

    def get_dependency(self, worker_ctx: Any) -> OutboxRelayRunner:
        return self

    def wake(self) -> None:
        """Tell the relay there is something new to publish."""
        if self.relay:
            self.relay.wakeup.set()


class ProjectorRunner(DependencyProvider):  # type: ignore[misc]
    """Runs a projector (a service's own read model of other services' events) in a managed thread.

    ``PROJECTOR_PARTITIONS`` limits it to some partitions (several processes then share the topics by
    ranges); with ``PROJECTORS_IN_PROCESS=false`` the projector is made (its status is readable) but not
    run: the replicas that serve requests leave applying events to the projector processes.
    """

    def __init__(self, factory: Callable[[str], Projector]) -> None:
        self.factory = factory

    def setup(self) -> None:
        self.stop_event = threading.Event()
        self.projector: Projector | None = None

    def start(self) -> None:
        config = settings()
        self.projector = self.factory(self.container.service_name)
        self.projector.partition_filter = config.projector_partitions
        if not config.projectors_in_process:
            log.info("projector_not_in_process", projector=self.projector.name, reason="PROJECTORS_IN_PROCESS=false")
            return
        self.container.spawn_managed_thread(
            functools.partial(self.projector.run, self.stop_event), identifier="projector"
        )

    def stop(self) -> None:
        self.stop_event.set()

    def get_dependency(self, worker_ctx: Any) -> Projector | None:
        return self.projector


def service_views(*projections: Projection, migrations: tuple[str, ...] = ()) -> ProjectorRunner:
    """A runner of the service's own read models (always including ``KnownAgencies``) in its database.

    ``migrations`` names the Alembic trees (``register_migrations``) that create the projections' tables.
    """

    def factory(service: str) -> Projector:
        config = settings()
        engine = create_db_engine(config.database_url(service))
        migrate(engine, "projector", "known_agencies", *migrations)
        every = [KnownAgencies(), *projections]
        return Projector(
            f"{service}-views", engine, every, config.kafka_bootstrap, service, partitions=config.topic_partitions
        )

    return ProjectorRunner(factory)


def store_of(container: Any) -> EventStore:
    for dependency in container.dependencies:
        if isinstance(dependency, StoreProvider):
            return dependency.store
    raise RuntimeError("a service running a relay needs a StoreProvider")
