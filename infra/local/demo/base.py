"""What every loading phase shares: the command line's options, the thread pool, the district-topic producer and
the importer's way in for the city's past."""

from __future__ import annotations

import json
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from infra.local import importer
from infra.local.demo.city import Agency, Meter
from infra.local.demo.client import EXISTS_CODES, Api, Phase, Topics
from infra.local.demo.histories import write_history
from services.common.kernel.clock import CHINA_STANDARD_TIME as CST


@dataclass
class Options:
    """The command line."""

    gateway: str
    bootstrap: str
    token: str
    scale: float
    days: int
    seed: int
    workers: int
    trips_per_month: float
    readings_via: str
    timeout: float
    summary_json: Path | None
    history_dir: Path | None


class Base:
    """The loader's state and the means every domain's phases share."""

    # set by the phases (``Loader.load`` and the domains' own) and read by later ones
    agencies: list[Agency]
    meters: list[Meter]
    keepers: dict[str, Agency]
    quota_agencies: list[str]
    authorisation: tuple[Agency, str, int] | None

    def __init__(self, options: Options) -> None:
        self.o = options
        self.api = Api(options.gateway, options.token, options.seed)
        self.topics: Topics | None = None
        self.now = datetime.now(CST)
        self.today = self.now.date()
        self.counts: Counter[str] = Counter()
        self.phases: list[dict[str, Any]] = []
        self.inbound_start = (0, Counter[str]())
        self.warnings: list[str] = []
        self.quantities: dict[str, int] = {}

    def run(self, label: str, total: int, tasks: Iterable[Callable[[], None]]) -> None:
        """Run ``tasks`` (each a sequence of commands) on the thread pool with a progress bar of ``total``."""
        phase = Phase(label, total)
        self.api.phase = phase
        try:
            with ThreadPoolExecutor(self.o.workers) as pool:
                futures = [pool.submit(task) for task in tasks]
                for future in as_completed(futures):
                    future.result()
        finally:
            self.api.phase = None
            self.phases.append(phase.finish())

    def topic(self) -> Topics:
        """The producer of district messages (made on first use)."""
        if self.topics is None:
            self.topics = Topics(self.o.bootstrap)
        return self.topics

    def import_past(self, label: str, files: dict[str, list[dict[str, Any]]]) -> importer.Summary:
        """Facts of the city's past through the importer: the files written (to ``--history-dir``, or a
        temporary directory), read, ordered and sent by ``infra.local.importer`` with this run's token. A row the
        platform refuses is a refusal of the demo (``history.<fact>``); one already there (a re-run whose keys
        have expired) is not."""
        with tempfile.TemporaryDirectory(prefix="demo-history-") as scratch:
            folder = self.o.history_dir or Path(scratch)
            folder.mkdir(parents=True, exist_ok=True)
            rows = importer.read_rows(write_history(folder, files))
            gateway = importer.Gateway(self.o.gateway, self.o.token, min(self.o.timeout, 120.0))
            # the state of this run only: another platform (or a fresh one) receives every row, and a re-run on
            # this one is answered by the gateway from the rows' Idempotency-Keys
            phase = Phase(label, len(rows))
            summary = importer.run(rows, gateway, Path(scratch) / "import-state.json", progress_every=100)
            phase.advance(summary.total)
            self.phases.append(phase.finish())
        refused = Counter(
            {
                (f"history.{fact}", code): n
                for reason, n in summary.refusals.items()
                for fact, _, code in [reason.partition(": ")]
                if code not in EXISTS_CODES
            }
        )
        self.api.refusals.update(refused)
        if refused:
            self.api.examples += [json.dumps(e, ensure_ascii=False) for e in summary.examples[:4]]
        return summary
