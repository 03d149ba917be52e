"""Re-key a service's store: the personal values it kept in clear from before sealing, rewritten as tokens.

    python -m services.common.runtime.rekey vehicles --dry-run                 # count, write nothing
    python -m services.common.runtime.rekey vehicles --drivers 320402.csv      # the district's driver ids
    python -m services.common.runtime.rekey vehicles --republish               # ... then publish it all again

Run with the service stopped (its relay and its projector too). The store's events are rewritten in batches
(``services.common.write.rekeying``), each batch in one transaction: a run killed anywhere is finished by running
it again, and a second run changes nothing. The drivers of v1 dispatches get the district's ids (``--drivers``:
CSV ``name,driver_id``, with ``district`` for several districts) or pseudonymous ones (``D-<district>-L<nnnn>``);
the mapping used, clear names included, goes to standard output (or ``--mapping-out``) for the district to keep:
it is how an operator later names a legacy driver to erase. Progress and counts are logged (standard error).

``--republish`` (after a complete run, once the topic has been deleted and made anew) resets the relay's
recorded position, so the service's relay publishes the re-keyed store from position 0, and drops the service's
own read models (``read_models``), which replay the topics from offset 0 when the service starts: they hold the
clear values too, and a re-read by event id would skip the re-keyed events. The data center is rebuilt with
``python -m services.gateway.rebuild``. docs/personal-data.md gives the whole procedure.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from services.common.base.log import configure_logging, get_logger
from services.common.base.personal import platform_key_store
from services.common.base.settings import SERVICES, settings, topic_for
from services.common.runtime.runner import service_class
from services.common.write.rekeying import DriverIds, Rekeying, RekeyReport
from services.common.write.store import EventStore

log = get_logger()


def reset_views(service: str) -> None:
    """Drop the rows, offsets and seen event ids of ``service``'s own read models (no broker needed): they are
    replayed from offset 0 when the service starts."""
    runner = getattr(service_class(service), "read_models", None)
    if runner is None:
        return
    projector = runner.factory(service)
    projector.reset()
    log.info("rekey_views_reset", service=service, projector=projector.name)


def main(argv: list[str] | None = None) -> RekeyReport:
    """Re-key one service's store."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("service", choices=SERVICES)
    parser.add_argument("--dry-run", action="store_true", help="count what would be rewritten, write nothing")
    parser.add_argument("--batch", type=int, default=500, help="events per transaction (500)")
    parser.add_argument("--drivers", type=Path, help="CSV name,driver_id[,district]: the district's driver ids")
    parser.add_argument("--mapping-out", type=Path, help="write the driver mapping here instead of standard output")
    parser.add_argument(
        "--republish", action="store_true", help="then reset the relay to position 0 and drop the service's views"
    )
    args = parser.parse_args(argv)
    config = settings()
    configure_logging(f"{args.service}-rekey", config.log_level)
    store = EventStore.open(config.database_url(args.service), args.service, config.snapshot_every)
    drivers = DriverIds.from_csv(args.drivers.read_text(encoding="utf-8").splitlines()) if args.drivers else None
    rekeying = Rekeying(store, platform_key_store(), drivers, batch=args.batch)
    report = rekeying.run(dry_run=args.dry_run)
    if rekeying.drivers.used:
        mapping = rekeying.drivers.mapping_csv()
        if args.mapping_out:
            args.mapping_out.write_text(mapping, encoding="utf-8")
        else:
            sys.stdout.write(mapping)
    if args.republish and not args.dry_run:
        topic = topic_for(args.service)
        reached = store.reset_relay(topic)
        log.info("rekey_relay_reset", topic=topic, position_was=reached)
        reset_views(args.service)
    return report


if __name__ == "__main__":
    main()
