"""Retention of GPS tracks: a finished trip's points are kept ``GPS_RETENTION_DAYS`` (365 by default), then expire.

A track is sealed under the key of its subject (``track``, the trip id; docs/personal-data.md), so expiring it is
a key-store operation: erasing that key makes every copy of the points (the vehicles store, the
``vehicles.events`` topic, backups, any projection rebuilt from them) read 已删除 at once, while the trip's
figures (point count, length, first and last fix, start and finish), which are clear fields, stay.

The vehicles service runs ``expire_tracks`` once a day (``VehiclesService.expire_gps_tracks_daily``); the same
job from a shell::

    python -m services.vehicles.retention [--dry-run] [--days N]
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from prometheus_client import Counter, Gauge
from sqlalchemy.engine import Engine

from services.common.base.db import create_db_engine
from services.common.base.log import get_logger
from services.common.base.personal import KeyStore, Subject, platform_key_store
from services.common.base.settings import settings
from services.common.kernel.clock import utc_now
from services.vehicles import read_model

log = get_logger()

TRACKS_EXPIRED = Counter("gov_gps_tracks_expired_total", "GPS tracks whose key was erased at the end of retention")
OLDEST_TRACK_AGE = Gauge(
    "gov_gps_oldest_kept_track_age_seconds", "Time since the finish of the oldest trip whose GPS track is kept"
)

PROGRESS_EVERY = 500
"""A progress line every so many expired tracks."""


@dataclass(frozen=True)
class RetentionRun:
    """One run of the job: the cut-off (trips finished before it expire), the tracks expired (or, in a dry run,
    that would be), and the finish of the oldest trip whose track is kept (None when none is)."""

    cutoff: str
    expired: list[str]
    oldest_kept_finished: str | None
    dry_run: bool


def expire_tracks(
    views: Engine,
    keys: KeyStore,
    now: datetime,
    days: int,
    dry_run: bool = False,
) -> RetentionRun:
    """Erase the track key of every completed trip that finished more than ``days`` before ``now`` (from the
    vehicles read model's ``trips``), skipping those already erased; a dry run erases nothing. Sets
    ``gov_gps_oldest_kept_track_age_seconds`` and counts ``gov_gps_tracks_expired_total``."""
    cutoff = (now - timedelta(days=days)).astimezone(UTC).isoformat(timespec="seconds")
    with views.connect() as conn:
        finished = read_model.tracks_finished(conn)
    gone = keys.erased_ids("track")  # expired before, or erased on request
    due = [trip_id for trip_id, at in finished if at < cutoff and trip_id not in gone]
    log.info("gps_retention_started", cutoff=cutoff, due=len(due), dry_run=dry_run)
    for done, trip_id in enumerate(due, 1):
        if not dry_run:
            keys.erase(Subject("track", trip_id))
            TRACKS_EXPIRED.inc()
        if done % PROGRESS_EVERY == 0 or done == len(due):
            log.info("gps_retention_progress", done=done, total=len(due), dry_run=dry_run)
    expired = set(due)
    kept = [at for trip_id, at in finished if trip_id not in gone and trip_id not in expired]
    oldest = kept[0] if kept else None
    age = (now - datetime.fromisoformat(oldest)).total_seconds() if oldest else 0.0
    if not dry_run:
        OLDEST_TRACK_AGE.set(max(age, 0.0))
    log.info("gps_retention_done", cutoff=cutoff, expired=len(due), oldest_kept=oldest, dry_run=dry_run)
    return RetentionRun(cutoff, due, oldest, dry_run)


def main(argv: list[str] | None = None) -> int:
    """The job from a shell, on the configured vehicles database and key store."""
    parser = argparse.ArgumentParser(prog="python -m services.vehicles.retention", description=__doc__)
    parser.add_argument("--dry-run", action="store_true", help="list the tracks that would expire, erase nothing")
    parser.add_argument("--days", type=int, default=None, help="retention in days (default GPS_RETENTION_DAYS)")
    args = parser.parse_args(argv)
    config = settings()
    days = args.days if args.days is not None else config.gps_retention_days
    views = create_db_engine(config.database_url("vehicles"))
    run = expire_tracks(views, platform_key_store(), utc_now(), days, dry_run=args.dry_run)
    verb = "would expire" if run.dry_run else "expired"
    print(f"{verb} {len(run.expired)} GPS tracks of trips finished before {run.cutoff}")
    for trip_id in run.expired:
        print(f"  {trip_id}")
    print(f"oldest kept track: trip finished {run.oldest_kept_finished or '-'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
