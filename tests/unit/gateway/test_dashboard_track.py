"""The dashboard draws a trip's GeoJSON track as an SVG polyline without map tiles: its projection, run in Node
on positions worked by hand (the page itself is checked in Chromium by ``tests/e2e/test_dashboard.py``)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

DASHBOARD = Path(__file__).resolve().parents[3] / "services" / "gateway" / "dashboard" / "index.html"
NODE = shutil.which("node")


def _project(coords: list[list[float]], width: int, height: int, pad: int) -> list[list[float]]:
    """The page's own ``projectTrack`` run on ``coords`` (``[longitude, latitude]`` each)."""
    if NODE is None:
        pytest.skip("node is not installed")
    page = DASHBOARD.read_text(encoding="utf-8")
    function = re.search(r"^function projectTrack\(.*?^}$", page, re.S | re.M)
    assert function, "the dashboard has no projectTrack"
    script = f"{function.group(0)}\nconsole.log(JSON.stringify(projectTrack({json.dumps(coords)}, {width}, {height}, {pad})));"
    out = subprocess.run([NODE, "-e", script], capture_output=True, text=True, check=True, timeout=30).stdout
    return [[round(x, 1), round(y, 1)] for x, y in json.loads(out)]


def test_a_track_due_south_fills_the_height_centred_north_up() -> None:
    # 0.004° of latitude, no longitude: scale = (360 − 2·20) / 0.004 = 80 000 px/°, the line is 320 px tall,
    # centred: x = 640 / 2 = 320, the northern end at y = 20 (top margin), the southern at 360 − 20 = 340
    assert _project([[119.97, 31.78], [119.97, 31.776]], 640, 360, 20) == [[320.0, 20.0], [320.0, 340.0]]


def test_east_west_degrees_shrink_by_the_cosine_of_the_latitude() -> None:
    # at 60° N, cos = 0.5: 0.02° of longitude is 0.01 projected units, as long as 0.01° of latitude; a 300×300
    # box less 2·50 margin: scale = 200 / 0.01 = 20 000 px; the square's corners sit at 50 and 250
    square = [[10.0, 59.995], [10.02, 59.995], [10.02, 60.005]]
    assert _project(square, 300, 300, 50) == [[50.0, 250.0], [250.0, 250.0], [250.0, 50.0]]


def test_one_fix_is_drawn_in_the_middle() -> None:
    assert _project([[119.97, 31.78]], 640, 360, 24) == [[320.0, 180.0]]


def test_the_track_panel_is_on_the_page_with_chinese_first_labels() -> None:
    page = DASHBOARD.read_text(encoding="utf-8")
    assert 'data-testid="trip-track"' in page and 'data-i18n="trip_track">行程轨迹<' in page
    assert "/track" in page and "http" not in page  # the track's own GeoJSON, nothing fetched from elsewhere (no tiles)
