"""The data center's projections (机关事务大数据中心), built in the gateway from every service's events.

Each module of this package owns some projections (its ``PROJECTIONS`` list) and their tables; tables are
created by an Alembic tree of the same name under ``services/gateway/migrations/`` (``core`` holds the
tokens and the agency directory). Every projection applies events in ``on_<EventType>`` methods and can be
dropped and rebuilt from offset 0 (``python -m services.gateway.rebuild``).
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from services.common.base.db import migrate, register_migrations
from services.common.base.settings import settings
from services.common.read.projector import Projection, Projector

VIEW_MODULES = ("agencies", "office_space", "vehicles", "assets", "procurement", "energy", "changes")
"""The modules whose ``PROJECTIONS`` make up the data center, in the order they are applied."""

MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"


def prepare_database(engine: Engine) -> None:
    """Create or upgrade every gateway table: projector offsets, tokens, every projection's tables.

    A view module may also name (in ``MIGRATIONS``) the trees of read models it shares with a service.
    """
    trees = sorted(p.name for p in MIGRATIONS.iterdir() if (p / "versions").is_dir())
    for tree in trees:
        register_migrations(f"gateway_{tree}", MIGRATIONS / tree)
    shared = [name for module in _modules() for name in getattr(module, "MIGRATIONS", ())]
    migrate(engine, "projector", *(f"gateway_{tree}" for tree in trees), *shared)


def _modules() -> list[Any]:
    return [importlib.import_module(f"services.gateway.views.{name}") for name in VIEW_MODULES]


def data_center_projections() -> list[Projection]:
    """Every projection the gateway's data-center projector maintains."""
    return [p for module in _modules() for p in module.PROJECTIONS]


def data_center_projector(engine: Engine, bootstrap: str | None = None, service: str = "gateway") -> Projector:
    """The projector that builds every data-center projection in the gateway database ``engine``."""
    config = settings()
    return Projector(
        "datacenter",
        engine,
        data_center_projections(),
        bootstrap or config.kafka_bootstrap,
        service,
        partitions=config.topic_partitions,
    )
