"""``make demo``: the demo-city loader fills a running platform through its API and district topics, and the
data center then shows what it loaded."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from infra.local.demo import city, histories
from services.common.kernel.clock import CHINA_STANDARD_TIME as CST
from tests.e2e.conftest import Platform

ROOT = Path(__file__).resolve().parents[2]
SCALE, DAYS, SEED = "0.01", "1", "7"

pytestmark = [pytest.mark.broker, pytest.mark.slow]


@pytest.mark.parametrize("platform", ["sqlite"], indirect=True)  # the loader talks HTTP and Kafka only
def test_demo_city_reaches_the_data_center(platform: Platform, tmp_path: Path) -> None:
    summary_file = tmp_path / "summary.json"
    argv = [sys.executable, "-m", "infra.local.demo", "--scale", SCALE, "--days", DAYS, "--seed", SEED]
    argv += ["--gateway", platform.gateway, "--bootstrap", platform.bootstrap, "--token", platform.token()]
    argv += ["--trips-per-month", "0.5", "--timeout", "120", "--summary-json", str(summary_file)]
    run = subprocess.run(argv, env=platform.env, capture_output=True, text=True, timeout=240, cwd=ROOT)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    summary: dict[str, Any] = json.loads(summary_file.read_text())
    loaded = summary["loaded"]
    assert summary["refused"] == {} and summary["district_messages_refused"] == {}
    assert loaded["agencies"] >= 7 and loaded["vehicles"] >= 1 and loaded["meters"] >= 7 * 6
    assert loaded["district_messages"] >= loaded["readings_batches"] > 0
    assert '"progress": "vehicles' in run.stderr  # a progress line per phase (JSON lines off a terminal)

    # the same city, rebuilt from the same options: what the data center must show for each of its agencies
    today = datetime.now(CST).date()
    agencies = city.build_agencies(_districts(platform), float(SCALE), int(SEED), today)
    city.build_vehicles(agencies, float(SCALE), int(SEED), today, 0.5)
    city.build_assets(agencies, int(SEED), today)
    meters = city.build_meters(agencies, int(SEED))
    assert len(agencies) == loaded["agencies"] and len(meters) == loaded["meters"]
    assert {a.district for a in agencies} == set(_districts(platform))

    token = platform.token(role="viewer", name="demo-check")
    rows = {}
    for agency in agencies:
        status, body, _ = platform.request("GET", f"/api/v1/datacenter/agencies/{agency.agency_id}", token=token)
        assert status == 200, body
        rows[agency.agency_id] = body
        assert body["name"] == agency.name and body["district"] == agency.district
        departed = sum(1 for p in agency.staff if p.departed_on)
        assert body["staff_on_post"] == len(agency.staff) - departed
        assert body["vehicles_in_service"] == len(agency.vehicles)
        assert body["electricity_kwh"] > 0
    assets = sum(len(a.assets) for a in agencies)
    assert assets - 3 <= sum(r["assets_count"] for r in rows.values()) <= assets  # a disposal takes up to 3
    status, listed, _ = platform.request("GET", f"/api/v1/meters?agency_id={agencies[0].agency_id}", token=token)
    assert status == 200 and len(listed) == sum(1 for m in meters if m.agency is agencies[0])

    # last year's procurement came in through the importer, every row accepted, each fact on its own day
    history = histories.history_files(agencies, today.year - 1, int(SEED), float(SCALE))
    assert loaded["history_rows"] == sum(len(facts) for facts in history.values()) > 0
    first = next(f for f in next(iter(history.values())) if f["fact"] == "submit_purchase_request")
    path = f"/api/v1/budget-lines?agency_id={first['agency_id']}&year={today.year - 1}"
    status, lines, _ = platform.request("GET", path, token=token)
    assert status == 200, lines
    (line,) = lines["items"]
    # H3 won at 23 300 fen a box; every box accepted on 14 May: spent = quantity × 23 300, nothing committed
    assert (line["spent_fen"], line["committed_fen"]) == (first["quantity:int"] * 23_300, 0)

    # so did the assets and vehicles acquired before this year, their quotas and past disposals
    past = histories.fleet_files(agencies, {}, today, int(SEED), float(SCALE))
    past |= histories.ledger_files(agencies, today, int(SEED), float(SCALE))
    assert loaded["past_rows"] == sum(len(facts) for facts in past.values()) > 0

    # run again: every command is answered as before, nothing is refused and nothing is counted twice
    again = subprocess.run(argv, env=platform.env, capture_output=True, text=True, timeout=240, cwd=ROOT)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    for agency in agencies:
        status, body, _ = platform.request("GET", f"/api/v1/datacenter/agencies/{agency.agency_id}", token=token)
        assert status == 200
        for key in ("staff_on_post", "vehicles_in_service", "assets_count", "vehicle_km", "vehicle_cost_fen"):
            assert body[key] == rows[agency.agency_id][key], key


def _districts(platform: Platform) -> dict[str, str]:
    """The platform's districts, as its settings read them."""
    code = "import json; from services.common.base.settings import settings; print(json.dumps(settings().districts))"
    out = subprocess.run([sys.executable, "-c", code], env=platform.env, capture_output=True, text=True, check=True)
    return dict(json.loads(out.stdout))
