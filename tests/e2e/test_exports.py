"""Every listing and report route answers CSV and XLSX with the same figures as its JSON, and a trip's track
answers GeoJSON (docs/formats.md).

The demo city fills a running platform; then every route declared with a table (``RouteSpec.table``) is
asked for JSON, CSV and XLSX, and each JSON row's every plain value is found, unchanged, in its column of
the CSV (as JSON spells it) and of the XLSX (parsed back with openpyxl, numbers as numbers).
"""

from __future__ import annotations

import csv
import io
import json
import math
import subprocess
import sys
import urllib.error
import urllib.request
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import geojson
import pytest
from openpyxl import load_workbook

from services.common.kernel.clock import china_today
from services.gateway import tabular
from services.gateway.service import GatewayService
from services.gateway.web import RouteSpec, route_specs
from tests.e2e.conftest import Platform

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.broker, pytest.mark.slow]


def _table_routes() -> list[RouteSpec]:
    return [spec for _, spec in route_specs(GatewayService) if spec.table is not None and spec.method == "GET"]


def _leaves(row: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Every plain value of a JSON row by its dotted path (lists left out: they are one joined cell)."""
    found: dict[str, Any] = {}
    for key, value in row.items():
        if isinstance(value, dict):
            found.update(_leaves(value, f"{prefix}{key}."))
        elif not isinstance(value, list):
            found[f"{prefix}{key}"] = value
    return found


def _json_rows(body: Any, table: str) -> list[dict[str, Any]]:
    if isinstance(body, list):
        return body
    found = body.get(table)
    if isinstance(found, list):
        return found
    if isinstance(found, dict):
        return [{"code": k, **(v if isinstance(v, dict) else {"value": v})} for k, v in found.items()]
    return [body]


def _get(platform: Platform, path: str, token: str, accept: str | None = None) -> tuple[int, bytes, str]:
    request = urllib.request.Request(platform.gateway + path, headers={"Authorization": f"Bearer {token}"})
    if accept:
        request.add_header("Accept", accept)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read(), response.headers["Content-Type"]
    except urllib.error.HTTPError as error:
        return error.code, error.read(), error.headers["Content-Type"]


def _compared(route: str, rows: list[dict[str, Any]], raw_csv: bytes, cells: list[tuple[Any, ...]]) -> list[str]:
    """What differs between JSON rows and their CSV and XLSX forms (nothing: an empty list)."""
    lines = list(csv.reader(io.StringIO(raw_csv.decode("utf-8-sig"))))
    if not rows:  # nothing to list: a header of no columns at most
        return [] if len(lines) <= 1 and len(cells) <= 1 else [f"{route}: no JSON rows, {len(lines)} CSV lines"]
    if not len(lines) == len(cells) == len(rows) + 1 or list(cells[0]) != lines[0]:
        return [f"{route}: {len(rows)} JSON rows, {len(lines)} CSV lines, {len(cells)} XLSX rows"]
    problems = []
    column = {title: i for i, title in enumerate(lines[0])}
    for row, line, xrow in zip(rows, lines[1:], cells[1:], strict=True):
        for key, value in _leaves(row).items():
            at = column.get(tabular.header(key, "zh"))
            if key == "as_of" and at is not None and _close_in_time(value, line[at], xrow[at]):
                continue  # the answer's own time: each of the three requests is answered at its own second
            if at is None or line[at] != _csv_text(value) or not _same_in_xlsx(value, xrow[at]):
                problems.append(f"{route} {key}: JSON {value!r}, CSV {line[at] if at is not None else '-'!r}")
    return problems


def _close_in_time(*stamps: Any) -> bool:
    """Whether ISO times (an answer's ``as_of``, asked three times) lie within a minute of one another."""
    try:
        moments = [datetime.fromisoformat(str(stamp)) for stamp in stamps]
    except ValueError:
        return False
    return max(moments) - min(moments) <= timedelta(minutes=1)


def _same_in_xlsx(value: Any, cell: Any) -> bool:
    """A JSON value as openpyxl reads its cell back: booleans as text, "" as empty, floats to the 15
    significant digits a spreadsheet keeps."""
    if isinstance(value, bool):
        return cell == ("true" if value else "false")
    if isinstance(value, float) and isinstance(cell, int | float):
        return math.isclose(value, cell, rel_tol=1e-15, abs_tol=0.0)
    return cell == (None if value == "" else value)


def _csv_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    return "'" + value if value.startswith(("=", "+", "-", "@", "\t", "\r")) else str(value)  # never a formula


@pytest.mark.parametrize("platform", ["sqlite"], indirect=True)
def test_every_table_route_exports_csv_and_xlsx_equal_to_its_json(platform: Platform) -> None:
    argv = [sys.executable, "-m", "infra.local.demo", "--scale", "0.01", "--days", "1"]
    argv += ["--seed", "7", "--gateway", platform.gateway, "--bootstrap", platform.bootstrap]
    argv += ["--token", platform.token(), "--trips-per-month", "0.5", "--timeout", "120"]
    run = subprocess.run(argv, env=platform.env, capture_output=True, text=True, timeout=240, cwd=ROOT)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    token = platform.token()
    status, agencies, _ = platform.request("GET", "/api/v1/agencies", token=token)
    status, vehicles, _ = platform.request("GET", "/api/v1/vehicles", token=token)
    vehicle_rows = vehicles["vehicles"]
    assert status == 200 and agencies["items"] and vehicle_rows
    today = china_today()
    year = today.year
    queries = {  # the routes whose query needs something: one realistic query each
        "/api/v1/audit": "actor=e2e",
        "/api/v1/budget-lines": f"agency_id={agencies['items'][0]['agency_id']}",
        "/api/v1/energy/consumption": f"period=month&by=agency&from={today - timedelta(days=40)}&to={today}",
        "/api/v1/energy/target-totals": f"year={year}",
        "/api/v1/purchase-requests/batch-proposals": f"year={year}",
    }
    ids = {
        "vehicle_id": vehicle_rows[0].get("vehicle_id") or vehicle_rows[0]["id"],
        "agency_id": agencies["items"][0]["agency_id"],
    }
    exported: dict[str, int] = {}
    problems: list[str] = []  # every route's mismatches at once, not the first one only
    unnamed: dict[str, set[str]] = {}  # column names without a Chinese header, by route
    for spec in _table_routes():
        path = spec.url
        if spec.url_params:
            names = [name for name, _ in spec.url_params]
            if any(name not in ids for name in names):
                continue  # operating properties: the demo city has none (checked in the unit tests' shapes)
            for name in names:
                path = path.replace(f"<{name}>", ids[name])
        query = queries.get(spec.url, "")
        sep = "&" if query else ""
        status, raw, kind = _get(platform, f"{path}?{query}", token)
        if status != 200 or not kind.startswith("application/json"):
            problems.append(f"{spec.url}: JSON {status} {raw[:300]!r}")
            continue
        body = json.loads(raw)
        declared = (spec.table or "items").split(",")
        lists = [k for k, v in body.items() if isinstance(v, list)] if isinstance(body, dict) else []
        if lists and not set(lists) <= set(declared):
            problems.append(f"{spec.url}: declares tables {declared}, its answer's lists are {lists}")
        names = declared + (["summary"] if len(declared) > 1 and set(body) - set(declared) else [])
        _, raw_xlsx, kind = _get(platform, f"{path}?{query}", token, accept=tabular.XLSX)
        assert kind == tabular.XLSX, spec.url
        book = load_workbook(io.BytesIO(raw_xlsx))
        assert len(book.worksheets) == len(names), spec.url  # one sheet a table
        exported[spec.url] = 0
        for name, sheet in zip(names, book.worksheets, strict=True):
            if name == "summary":
                rows = [{k: v for k, v in body.items() if k not in declared and not isinstance(v, list)}]
            else:
                rows = _json_rows(body, name)
            chosen = f"&table={name}" if len(names) > 1 else ""
            _, raw_csv, kind = _get(platform, f"{path}?{query}{sep}format=csv{chosen}", token)
            assert kind.startswith("text/csv"), spec.url
            problems += _compared(f"{spec.url} {name}", rows, raw_csv, list(sheet.iter_rows(values_only=True)))
            for column in tabular.table_of(body, spec.table or "items", name)[0]:
                unnamed.setdefault(spec.url, set()).update(tabular.unnamed_parts(column))
            exported[spec.url] += len(rows)

    assert problems == [], "\n".join(problems)
    # every export header is Chinese: the glossary names every column (docs/glossary.md lists it)
    gaps = sorted({name for names in unnamed.values() for name in names})
    assert gaps == [], "add to tabular.GLOSSARY and docs/glossary.md: " + json.dumps(gaps)

    skipped = {spec.url for spec in _table_routes()} - set(exported)
    assert skipped == {"/api/v1/operating-properties/<property_id>/performance"}
    for listing in ("/api/v1/agencies", "/api/v1/vehicles", "/api/v1/meters", "/api/v1/datacenter/agencies"):
        assert exported[listing] > 0, listing

    # a trip's GPS track as GeoJSON, valid by the geojson package, every recorded point on the line
    status, trips, _ = platform.request("GET", "/api/v1/trips?limit=500", token=token)
    tracked = [trip for trip in trips["items"] if trip.get("gps_points")]
    assert status == 200 and tracked, "the demo city records GPS for its trips"
    trip = tracked[0]
    status, raw, kind = _get(platform, f"/api/v1/trips/{trip['trip_id']}/track", token)
    assert status == 200 and kind.startswith("application/geo+json"), raw[:300]
    feature = geojson.loads(raw.decode())
    assert feature.is_valid, feature.errors()
    coordinates = feature["geometry"]["coordinates"]
    assert feature["properties"]["points"] == trip["gps_points"] == len(coordinates) > 1
    assert all(-180 <= lon <= 180 and -90 <= lat <= 90 for lon, lat in coordinates)

    # English headers on request, units in them
    _, raw_en, _ = _get(platform, "/api/v1/datacenter/agencies?format=csv&lang=en", token)
    header = next(csv.reader(io.StringIO(raw_en.decode("utf-8-sig"))))
    assert "Electricity (kWh)" in header and "Agency id" in header
