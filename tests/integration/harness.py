"""A domain service in-process on a real store and real read models, without brokers.

The service runs as a nameko worker (``worker_factory``) with its real dependencies: the event store and
the read-model database (SQLite or PostgreSQL). ``project()`` applies what was stored to the service's
own views, as its projector would from the topic. Publishing is not under test here (the relay has tests
of its own), so the relay is ``QuietRelay``: it is woken and does nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from nameko.testing.services import worker_factory

from services.common.base.db import create_db_engine, migrate
from services.common.base.personal import KeyStore
from services.common.base.settings import settings
from services.common.kernel.events import Metadata
from services.common.read.agencies import known_agencies_table
from services.common.read.projector import Projection
from services.common.write.store import EventStore
from services.office_space import read_model as office_space_views
from services.office_space.service import OfficeSpaceService
from tests.support import agency_code


class QuietRelay:
    """Stands in for the outbox relay: the events stay in the store, where the tests read them."""

    def __init__(self) -> None:
        self.woken = 0

    def wake(self) -> None:
        """Count the wake-ups (the service wakes the relay after each append)."""
        self.woken += 1


class ServiceHarness:
    """``service`` (a nameko worker of ``service_class``) on ``url``'s store and read models, knowing
    ``agencies`` ((agency id, district) pairs) as if office space had announced them."""

    def __init__(
        self,
        url: str,
        domain: str,
        service_class: type,
        projection: Projection,
        migrations: Iterable[str],
        agencies: Iterable[tuple[str, str]],
        headcount: int = 20,
        **dependencies: Any,
    ) -> None:
        self.store = EventStore.open(url, domain)
        self.engine = create_db_engine(url)
        migrate(self.engine, "projector", "known_agencies", "personal_keys", *migrations)
        # as in a deployment, the store seals personal fields (here under a key store in the same database)
        keys = KeyStore.from_settings(self.engine, settings())
        self.store.personal = lambda: keys
        self.views = projection
        self.position = 0
        self.scope: str | None = None
        self.relay = QuietRelay()
        self.service = worker_factory(
            service_class,
            store=self.store,
            relay=self.relay,
            context=lambda: Metadata(actor="city_admin:test", scope_district=self.scope),
            read_models=SimpleNamespace(engine=self.engine),
            **dependencies,
        )
        self.agency_rows = [
            {"agency_id": a, "name": a, "district": d, "kind": "party_government"}
            | {"admin_level": "county", "authorised_headcount": headcount}
            for a, d in agencies
        ]
        with self.engine.begin() as conn:
            conn.execute(known_agencies_table.insert(), self.agency_rows)

    def project(self) -> None:
        """Apply every event stored since the last call to the service's views."""
        with self.engine.begin() as conn:
            for env in self.store.read_all(after=self.position, limit=100_000):
                self.views.apply(conn, env)
                self.position = env.position or self.position


def office_space(directory: Path, **meta: Any) -> ServiceHarness:
    """The office-space service on a SQLite store in ``directory``, its commands sent with ``meta`` (``Metadata``'s
    fields: a deadline, an idempotency key) by the city's administrator."""
    harness = ServiceHarness(
        f"sqlite:///{directory / 'office_space.db'}",
        "office_space",
        OfficeSpaceService,
        office_space_views.OfficeSpaceViews(),
        ["office_space_views"],
        [("AG-KNOWN", "320402")],
    )
    harness.service.context = lambda: Metadata(actor="city_admin:test", **meta)
    return harness


def register_agency(key: str) -> dict[str, Any]:
    """An office-space ``register_agency`` command for a county agency of 天宁区 coded from ``key``."""
    return {
        "agency_id": agency_code("320402", key),
        "name": "天宁区教育局",
        "district": "320402",
        "kind": "party_government",
        "admin_level": "county",
        "authorised_headcount": 40,
    }
