"""Drop and rebuild the data center's projections from offset 0, with progress.

    python -m services.gateway.rebuild          # the gateway must be stopped (make stop, or stop its process)

The gateway's own projector would otherwise keep applying events while the tables are replayed. From
``services.common.read.projector.PREFETCH_FROM`` events on, a reader process reads the topics on the
other core while this one applies them (``services.common.read.prefetch``); on SQLite the rebuild's connection
keeps a page cache of ``REBUILD_SQLITE_CACHE_MB``, so the growing tables' indexes are not read back from the
file for every event. Before it applies anything, the process freezes what its imports and migrations made
(``gc.freeze``): a batch's envelopes outlive the young collections, so the collector's full collections come
every few batches, and each walked those few hundred thousand objects, which none of them ever frees (some 3 µs
of CPU per event, a tenth of the applying).

The platform's modules are imported in the functions: the reader process, spawned, imports this module again as
its main, and needs none of them (importing the projections there cost it a third of a second of CPU).
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from services.common.base.memory import startup_objects_frozen

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

REBUILD_SQLITE_CACHE_MB = 128
"""The rebuild's SQLite page cache (the gateway's own connections keep SQLite's 2 MB: memory per service)."""


def reset_data_center(engine: Engine) -> None:
    """Empty the projections and their offsets: the gateway replays from offset 0 when it starts."""
    from services.gateway import views

    views.prepare_database(engine)
    views.data_center_projector(engine).reset()


def main(argv: list[str] | None = None) -> None:
    """Rebuild every data-center projection."""
    from services.common.base.db import create_db_engine
    from services.common.base.log import configure_logging, get_logger
    from services.common.base.settings import settings
    from services.common.runtime.processes import healthy
    from services.gateway import views

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="rebuild even though a gateway answers on its port")
    args = parser.parse_args(argv)
    config = settings()
    configure_logging("gateway-rebuild", config.log_level)
    if healthy(config.port("gateway")) and not args.force:
        raise SystemExit("the gateway is running: stop it first (make stop), or pass --force")
    engine = create_db_engine(config.database_url("gateway"), sqlite_cache_mb=REBUILD_SQLITE_CACHE_MB)
    views.prepare_database(engine)
    projector = views.data_center_projector(engine)
    startup_objects_frozen()  # what the process holds from here on is the rebuild's own (the module docstring says why)
    count = projector.rebuild()
    get_logger().info("rebuild_finished", records=count)


if __name__ == "__main__":
    main()
