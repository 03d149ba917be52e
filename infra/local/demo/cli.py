"""Load a realistic demo city into a running platform: ``make demo`` (after ``make run``).

The command line (``python -m infra.local.demo``): its options, with the platform's settings as defaults, and
the summary for people."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from infra.local.demo.base import Options
from infra.local.demo.loader import Loader
from services.common.base.settings import settings


def parse(argv: list[str] | None = None) -> Options:
    """The command line, with the platform's settings as defaults."""
    config = settings()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the full sizes (0.05: a quick demo)")
    parser.add_argument("--days", type=int, default=30, help="days of 5-minute meter readings (default 30)")
    parser.add_argument("--seed", type=int, default=2026, help="the city's random seed (same seed, same city)")
    parser.add_argument(
        "--gateway", default=f"http://{config.http_host}:{config.port('gateway')}", help="the gateway's base URL"
    )
    parser.add_argument("--bootstrap", default=config.kafka_bootstrap, help="Kafka bootstrap servers")
    parser.add_argument("--token", help="bearer token (default: var/admin.token)")
    parser.add_argument("--workers", type=int, default=12, help="concurrent HTTP commands")
    parser.add_argument("--trips-per-month", type=float, default=1.0, help="dispatched trips per vehicle and month")
    parser.add_argument(
        "--readings-via",
        choices=("topics", "http"),
        default="topics",
        help="send meter readings on the district topics (default) or to POST /api/v1/meter-readings",
    )
    parser.add_argument("--timeout", type=float, default=3600, help="seconds to wait for the platform to catch up")
    parser.add_argument("--summary-json", type=Path, help="also write the summary to this file")
    parser.add_argument(
        "--history-dir", type=Path, help="keep the history files the importer is fed here (default: a temporary one)"
    )
    args = parser.parse_args(argv)
    token = args.token
    if token is None:
        path = config.var_dir / "admin.token"
        if not path.exists():
            parser.error(f"no token: {path} does not exist (start the platform with `make run`) and no --token")
        token = path.read_text().strip()
    if not 0 < args.scale <= 10 or not 0 < args.days <= 366:
        parser.error("--scale must be in (0, 10] and --days in 1..366")
    return Options(
        args.gateway,
        args.bootstrap,
        token,
        args.scale,
        args.days,
        args.seed,
        args.workers,
        args.trips_per_month,
        args.readings_via,
        args.timeout,
        args.summary_json,
        args.history_dir,
    )


def print_summary(result: dict[str, Any]) -> None:
    """The summary for people."""
    out = sys.stdout
    loaded = result["loaded"]
    out.write(f"\nloaded in {result['elapsed_s'] / 60:.1f} min (seed {result['seed']}, scale {result['scale']:g}):\n")
    for name, value in loaded.items():
        out.write(f"  {name:<22} {value:>12,}\n")
    out.write(f"commands: {result['commands']}\n")
    if result["refused"]:
        out.write("refused by the platform:\n")
        for what, n in result["refused"].items():
            out.write(f"  {what}: {n}\n")
        for example in result["examples"][:5]:
            out.write(f"    e.g. {example}\n")
    if result["district_messages_refused"]:
        out.write(f"district messages refused: {result['district_messages_refused']}\n")
    for warning in result["warnings"]:
        out.write(f"warning: {warning}\n")
    if result["data_center"]:
        out.write("the data center shows (city, this year):\n")
        for key, value in result["data_center"].items():
            out.write(f"  {key:<22} {value}\n")
    elif not result["data_center_available"]:
        out.write("the data center's city figures did not answer (GET /api/v1/datacenter/city)\n")
    out.write(f"dashboard: {result['dashboard']}  (token: var/admin.token)\n")


def main(argv: list[str] | None = None) -> int:
    """Load the city; 0 when nothing was refused."""
    options = parse(argv)
    result = Loader(options).load()
    print_summary(result)
    if options.summary_json:
        options.summary_json.write_text(json.dumps(result, ensure_ascii=False, indent=1, default=str))
    return 0 if not result["refused"] and not result["warnings"] else 1
