"""The data-center dashboard in headless Chromium (Debian's ``chromium``): the page served at ``/`` loads with
no console error and shows the numbers the API returns for the same token, in Chinese by default and in
English after the switch; a district operator's page shows its district only.

Chromium is driven through the DevTools protocol over ``--remote-debugging-pipe`` (fds 3 and 4, messages
separated by NUL bytes), so nothing is installed at test time and no websocket client is needed. The
screenshots land in the test's tmp dir (``dashboard-zh.png``, ``dashboard-en.png``).
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import select
import shutil
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from services.common.kernel.clock import CHINA_STANDARD_TIME
from tests.e2e.conftest import Platform
from tests.support import agency_code, eventually, metric_samples

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

SNAPSHOT = """(() => {
  const value = (el) => (el ? el.dataset.value : null);
  const text = (el) => (el ? el.textContent.trim() : null);
  const kpi = (id) => { const el = document.querySelector(`[data-testid="${id}"]`); return { value: value(el), text: text(el) }; };
  const row = (el) => el && Object.fromEntries([...el.querySelectorAll("[data-field]")].map((c) => [c.dataset.field, { value: c.dataset.value, text: text(c) }]));
  return {
    lang: document.documentElement.lang,
    loads: document.body.dataset.loads,
    heading: text(document.getElementById("overview-title")),
    kpi_label: text(document.querySelector('[data-testid="kpi-agencies"]').closest(".card").querySelector(".label")),
    switch_label: text(document.querySelector('[data-testid="lang-switch"]')),
    freshness: text(document.querySelector('[data-testid="freshness"]')),
    agencies: kpi("kpi-agencies"),
    office_area: kpi("kpi-office-area"),
    area_pp_hover: document.querySelector('[data-testid="kpi-area-per-person"]').closest(".card").title,
    districts: Object.fromEntries([...document.querySelectorAll('[data-testid="district-row"]')].map((r) => [r.dataset.district, row(r)])),
    agency_rows: Object.fromEntries([...document.querySelectorAll('[data-testid="agency-row"]')].map((r) => [r.dataset.agency, row(r)])),
    findings: Object.fromEntries([...document.querySelectorAll('[data-testid="finding-row"]')].map((r) => [r.dataset.findingId, row(r)])),
  };
})()"""


class Chromium:
    """Headless Chromium with one page, driven over the DevTools protocol on a pipe."""

    def __init__(self, binary: str, profile: Path, width: int = 1440, height: int = 1000) -> None:
        to_child, from_child = os.pipe(), os.pipe()
        child_in = fcntl.fcntl(to_child[0], fcntl.F_DUPFD_CLOEXEC, 10)
        child_out = fcntl.fcntl(from_child[1], fcntl.F_DUPFD_CLOEXEC, 10)
        os.close(to_child[0])
        os.close(from_child[1])

        def pipe_fds() -> None:  # in the child: the protocol wants its input on fd 3 and its output on fd 4
            os.dup2(child_in, 3)
            os.dup2(child_out, 4)

        argv = [binary, "--headless=new", "--disable-gpu", "--no-sandbox", "--no-first-run", "--remote-debugging-pipe"]
        argv += [f"--user-data-dir={profile}", f"--window-size={width},{height}", "--lang=zh-CN", "about:blank"]
        self.process = subprocess.Popen(
            argv,
            preexec_fn=pipe_fds,
            close_fds=False,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(child_in)
        os.close(child_out)
        self._out = os.fdopen(to_child[1], "wb", buffering=0)
        self._in = os.fdopen(from_child[0], "rb", buffering=0)
        self._buffer = b""
        self._id = 0
        self.events: list[dict[str, Any]] = []
        target = self.call("Target.createTarget", {"url": "about:blank"}, page=False)["targetId"]
        self.session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True}, page=False)[
            "sessionId"
        ]
        for domain in ("Runtime", "Log", "Page"):
            self.call(f"{domain}.enable")
        self.call(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
        )

    def call(self, method: str, params: dict[str, Any] | None = None, page: bool = True, timeout: float = 30) -> Any:
        """Send one command (to the page's session unless ``page`` is False) and return its result; events that
        arrive meanwhile are kept in ``events``."""
        self._id += 1
        message: dict[str, Any] = {"id": self._id, "method": method, "params": params or {}}
        if page:
            message["sessionId"] = self.session
        self._out.write(json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            while b"\0" not in self._buffer:
                if not select.select([self._in], [], [], max(0.0, deadline - time.monotonic()))[0]:
                    raise TimeoutError(f"chromium did not answer {method}")
                chunk = self._in.read(1 << 20)
                if not chunk:
                    raise EOFError("chromium closed the DevTools pipe")
                self._buffer += chunk
            raw, self._buffer = self._buffer.split(b"\0", 1)
            answer = json.loads(raw)
            if answer.get("id") != self._id:
                self.events.append(answer)
            elif "error" in answer:
                raise RuntimeError(f"{method}: {answer['error']}")
            else:
                return answer.get("result", {})

    def js(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page."""
        result = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True})
        if "exceptionDetails" in result:
            raise RuntimeError(result["exceptionDetails"].get("exception", {}).get("description", expression))
        return result["result"].get("value")

    def wait(self, expression: str, timeout: float = 20) -> Any:
        """Poll ``expression`` until it is truthy (or ``timeout`` passes); its last value."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                value = self.js(expression)
            except RuntimeError:  # the page is between documents
                value = None
            if value or time.monotonic() > deadline:
                return value
            time.sleep(0.1)

    def open(self, url: str) -> None:
        """Navigate and wait until the dashboard has rendered its first load."""
        self.call("Page.navigate", {"url": url})
        assert self.wait("document.readyState === 'complete' && document.body.dataset.ready === '1'"), self.problems()

    def screenshot(self, path: Path) -> None:
        """A PNG of the whole page."""
        self.js("window.scrollTo(0, 0)")
        size = self.js("[document.documentElement.scrollWidth, document.documentElement.scrollHeight]")
        clip = {"x": 0, "y": 0, "width": size[0], "height": size[1], "scale": 1}
        data = self.call("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True, "clip": clip})
        path.write_bytes(base64.b64decode(data["data"]))

    def problems(self) -> list[str]:
        """Console errors, uncaught exceptions and failed loads the page reported."""
        found = []
        for event in self.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                found.append("console: " + " ".join(str(a.get("value", a.get("description"))) for a in params["args"]))
            elif method == "Runtime.exceptionThrown":
                details = params["exceptionDetails"]
                found.append("exception: " + str(details.get("exception", {}).get("description", details.get("text"))))
            elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
                found.append(f"log: {params['entry'].get('text')} {params['entry'].get('url', '')}")
        return found

    def close(self) -> None:
        with contextlib.suppress(OSError, TimeoutError, RuntimeError):
            self.call("Browser.close", page=False, timeout=5)
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
        self._out.close()
        self._in.close()


@pytest.fixture
def chromium(tmp_path: Path) -> Iterator[Chromium]:
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is required in CI (apt-get install chromium fonts-noto-cjk)")
        pytest.skip("chromium is not installed (apt-get install chromium fonts-noto-cjk)")
    browser = Chromium(CHROMIUM, tmp_path / "chromium-profile")
    try:
        yield browser
    finally:
        browser.close()


def _ok(platform: Platform, method: str, path: str, body: Any, token: str) -> Any:
    status, answer, _ = platform.request(method, path, body, token)
    assert status in (200, 201), (path, status, answer)
    return answer


_eventually = partial(eventually, timeout=20, interval=0.2)
"""``tests.support.eventually`` with this module's patience."""


@pytest.fixture(scope="module")
def offices(platform: Platform) -> dict[str, Any]:
    """Two agencies in two districts with staff and office rooms; an open inspection finding for the first
    (once per platform, for both tests)."""
    admin = platform.token()
    tag = uuid.uuid4().hex[:8]
    first, second = agency_code("320402", f"DA-{tag}"), agency_code("320404", f"DB-{tag}")
    for agency, name, district, rooms in (
        (first, "天宁区机关事务管理中心", "320402", (("R1", 12), ("R2", 9), ("R3", 20.5))),
        (second, "钟楼区教育局", "320404", (("R1", 15),)),
    ):
        master = {"agency_id": agency, "name": name, "district": district, "kind": "party_government"}
        _ok(
            platform, "POST", "/api/v1/agencies", {**master, "admin_level": "county", "authorised_headcount": 30}, admin
        )
        _eventually(
            partial(platform.request, "GET", f"/api/v1/agencies/{agency}", token=admin), lambda answer: answer[0] == 200
        )
        staff = {"person_id": f"P1-{agency}", "name": "王芳", "rank": "section_principal", "posted_on": "2022-04-01"}
        _ok(platform, "POST", f"/api/v1/agencies/{agency}/staff", staff, admin)
        building = {
            "building_id": f"B-{agency}",
            "agency_id": agency,
            "name": "综合楼",
            "address": "和平北路9号",
            "gross_floor_area_m2": 1800,
        }
        _ok(platform, "POST", "/api/v1/buildings", building, admin)
        for room, area in rooms:
            body: dict[str, Any] = {
                "room_id": f"{room}-{agency}",
                "number": room,
                "usable_area_m2": area,
                "use": "office",
            }
            _ok(platform, "POST", f"/api/v1/buildings/B-{agency}/rooms", body, admin)
    allocation = {"person_id": f"P1-{first}", "agency_id": first}
    _ok(platform, "POST", f"/api/v1/buildings/B-{first}/rooms/R1-{first}/allocations", allocation, admin)
    inspection = {
        "inspection_id": f"I-{tag}",
        "agency_id": first,
        "topic": "办公用房专项巡检",
        "inspected_on": "2026-01-05",
    }
    _ok(platform, "POST", "/api/v1/inspections", inspection, admin)
    finding = {
        "finding_id": f"F-{tag}",
        "kind": "idle",
        "description": "3号楼302室闲置超过一年",
        "deadline": "2026-02-01",
    }
    _ok(platform, "POST", f"/api/v1/inspections/I-{tag}/findings", finding, admin)

    def projected() -> bool:
        listed = _ok(platform, "GET", f"/api/v1/datacenter/agencies?district=320402&agency_id={first}", None, admin)
        found = _ok(platform, "GET", f"/api/v1/datacenter/findings?agency_id={first}", None, admin)["items"]
        return bool(listed["items"]) and listed["items"][0]["office_area_m2"] == 41.5 and len(found) == 1

    assert _eventually(projected, bool), "the data center did not project the new agencies"
    return {"admin": admin, "first": first, "second": second, "finding": f"F-{tag}"}


def _number(text: str) -> float:
    """A number as the page shows it (grouping commas, maybe a percent sign) as a float."""
    return float(text.replace(",", "").replace("%", "").strip())


def _same(shown: dict[str, Any], expected: Any) -> bool:
    """Whether a ``{value, text}`` of the page carries ``expected`` (the raw value exactly, the text rounded)."""
    if expected is None:
        return bool(shown["value"] == "" and shown["text"] == "—")
    return bool(float(shown["value"]) == float(expected) and abs(_number(shown["text"]) - float(expected)) < 0.51)


def _mismatches(page: dict[str, Any], api: dict[str, Any], offices: dict[str, Any]) -> list[str]:
    """What the page shows differently from the API (empty when they agree)."""
    city, first = api["city"], offices["first"]
    wrong = []
    if not _same(page["agencies"], city["city"]["agencies"]):
        wrong.append(f"agencies: {page['agencies']} != {city['city']['agencies']}")
    if not _same(page["office_area"], city["city"]["office_area_m2"]):
        wrong.append(f"office area: {page['office_area']} != {city['city']['office_area_m2']}")
    for district in city["districts"]:
        shown = page["districts"].get(district["district"])
        for field in ("agencies", "staff_on_post", "office_area_m2", "open_findings"):
            if shown is None or not _same(shown[field], district[field]):
                wrong.append(f"district {district['district']} {field}: {shown and shown[field]} != {district[field]}")
    agency = next(a for a in api["agencies"]["items"] if a["agency_id"] == first)
    shown = page["agency_rows"].get(first)
    if shown is None or not _same(shown["office_area_m2"], agency["office_area_m2"]):
        wrong.append(f"agency {first}: {shown} != {agency['office_area_m2']}")
    finding = next(f for f in api["findings"]["items"] if f["agency_id"] == first)
    shown = page["findings"].get(finding["id"])
    if shown is None or shown["detail"]["text"] != finding["detail"] or shown["kind"]["value"] != finding["kind"]:
        wrong.append(f"finding {finding['id']}: {shown}")
    return wrong


def _read_api(platform: Platform, token: str) -> dict[str, Any]:
    return {
        name: _ok(platform, "GET", f"/api/v1/datacenter/{name}", None, token)
        for name in ("city", "agencies", "findings")
    }


def _consistent(browser: Chromium, platform: Platform, token: str, offices: dict[str, Any]) -> dict[str, Any]:
    """What the page shows, once it agrees with the API (refreshing the page while other tests' events settle)."""
    for _ in range(5):
        api = _read_api(platform, token)
        page: dict[str, Any] = browser.js(SNAPSHOT)
        if not _mismatches(page, api, offices):
            return page
        browser.js("document.getElementById('refresh').click()")
        browser.wait(f"document.body.dataset.loads !== '{page['loads']}'")
    assert _mismatches(page, api, offices) == []
    return page


def test_the_dashboard_shows_the_api_figures_in_chinese_and_after_the_switch_in_english(
    platform: Platform, offices: dict[str, Any], chromium: Chromium, tmp_path: Path
) -> None:
    token, first = offices["admin"], offices["first"]
    chromium.open(f"{platform.gateway}/#token={token}")
    page = _consistent(chromium, platform, token, offices)
    assert (page["lang"], page["heading"], page["kpi_label"], page["switch_label"]) == (
        "zh-CN",
        "全市概况",
        "单位数",
        "English",
    )
    assert page["freshness"].startswith("数据更新于")
    # the moment in Beijing time, the city's calendar, whatever the browser's zone (this one's is the machine's)
    as_of = datetime.fromisoformat(chromium.js("document.getElementById('freshness').dataset.asOf"))
    shown = page["freshness"]
    assert f"{as_of.astimezone(CHINA_STANDARD_TIME):%Y/%m/%d %H:%M:%S}（北京时间）" in shown, shown
    # hovering shows the catalogue's definition (docs/kpis/office_space.md)
    assert page["area_pp_hover"].startswith("人均办公面积 = 在用办公面积 ÷ 在岗人数")
    assert chromium.js("location.hash") == ""  # the token does not stay in the address bar

    chromium.js(f"document.querySelector('[data-testid=agency-row][data-agency=\"{first}\"]').click()")
    assert chromium.wait(
        f"document.getElementById('profile').dataset.agency === '{first}' && !document.getElementById('profile').hidden"
    )
    profile = _ok(platform, "GET", f"/api/v1/datacenter/agencies/{first}", None, token)
    shown = chromium.js(
        "(() => { const el = document.querySelector('[data-testid=profile-office-area]'); return {value: el.dataset.value, text: el.textContent}; })()"
    )
    assert _same(shown, profile["office_area_m2"])
    assert chromium.js(f"!!document.querySelector('[data-testid=profile-finding-row][data-agency=\"{first}\"]')")
    chromium.screenshot(tmp_path / "dashboard-zh.png")

    chromium.js("document.querySelector('[data-testid=lang-switch]').click()")
    assert chromium.wait("document.documentElement.lang === 'en' && document.body.dataset.lang === 'en'")
    page = _consistent(chromium, platform, token, offices)
    assert (page["heading"], page["kpi_label"], page["switch_label"]) == ("City overview", "Agencies", "中文")
    assert page["freshness"].startswith("Data as of") and "(Beijing time)" in page["freshness"]
    chromium.screenshot(tmp_path / "dashboard-en.png")

    chromium.open(f"{platform.gateway}/")  # the language is remembered
    assert chromium.js("document.documentElement.lang") == "en"
    assert chromium.problems() == []


def test_a_district_operator_sees_the_totals_and_its_own_districts_agencies_and_findings(
    platform: Platform, offices: dict[str, Any], chromium: Chromium
) -> None:
    operator = platform.token("district_operator", district="320402", name="op-dashboard")
    chromium.open(f"{platform.gateway}/#token={operator}&lang=zh")
    page = _consistent(chromium, platform, operator, offices)
    assert {"320402", "320404"} <= set(page["districts"])
    assert offices["first"] in page["agency_rows"] and offices["second"] not in page["agency_rows"]
    rows = chromium.js(
        "[...document.querySelectorAll('[data-testid=agency-row] td:nth-child(2)')].map((td) => td.textContent)"
    )
    assert set(rows) == {"天宁区"}
    assert chromium.problems() == []


def _trip_with_track(platform: Platform, admin: str, agency: str) -> str:
    """A trip of ``agency`` started with a vehicle of its own and five GPS fixes heading due south."""
    quota = {"quota": 2, "reason": "2026年公务用车编制"}
    status, body, _ = _eventually(
        lambda: platform.request("POST", f"/api/v1/agencies/{agency}/vehicle-quota", quota, admin),
        lambda r: r[0] != 422,  # the vehicles service learns the agency from office-space events
    )
    assert status == 200, body
    vehicle = f"VH-{uuid.uuid4().hex[:10]}"
    car = {"vehicle_id": vehicle, "plate": "苏D" + uuid.uuid4().hex[:5].upper(), "agency_id": agency}
    car |= {"energy_type": "gasoline", "use_category": "general", "model": "大众帕萨特 1.4T"}
    car |= {"acquisition_kind": "existing", "acquired_on": "2023-06-01", "norm_per_100km": 8, "tank_capacity": 55}
    _ok(platform, "POST", "/api/v1/vehicles", car | {"odometer_km": 20_000}, admin)
    trip = f"TRIP-{uuid.uuid4().hex[:10]}"
    body = {"trip_id": trip, "agency_id": agency, "purpose": "防汛检查", "destination": "武进区湖塘镇"}
    body |= {"planned_start": "2026-03-02T09:00:00+08:00", "planned_end": "2026-03-02T12:00:00+08:00"}
    _ok(platform, "POST", "/api/v1/trips", body, admin)
    _ok(
        platform,
        "POST",
        f"/api/v1/trips/{trip}/dispatch",
        {"vehicle_id": vehicle, "driver_id": "D-1", "driver": "王师傅"},
        admin,
    )
    start = {"odometer_km": 20_000, "started_at": "2026-03-02T09:00:00+08:00"}
    _ok(platform, "POST", f"/api/v1/trips/{trip}/start", start, admin)
    points = [{"at": f"2026-03-02T09:{m:02d}:00+08:00", "lat": 31.78 - m * 0.001, "lon": 119.97} for m in range(5)]
    _ok(platform, "POST", f"/api/v1/trips/{trip}/gps", {"points": points}, admin)
    return trip


def test_a_trips_gps_track_is_drawn_as_a_line_without_map_tiles(
    platform: Platform, offices: dict[str, Any], chromium: Chromium
) -> None:
    token = offices["admin"]
    trip = _trip_with_track(platform, token, offices["first"])
    chromium.open(f"{platform.gateway}/#token={token}&lang=zh")
    assert chromium.js("document.querySelector('[data-testid=trip-track] h2').textContent") == "行程轨迹"
    chromium.js(f"document.getElementById('track-trip').value = '{trip}'")
    chromium.js("document.getElementById('track-show').click()")
    assert chromium.wait(f"document.getElementById('track-chart').dataset.trip === '{trip}'"), chromium.problems()
    # five fixes due south over 0.004° of latitude in a 640×360 box with a 24 px margin: one vertical line at
    # x = 320 from y = 24 (north, the start) to y = 336 (south, the end), 78 px a fix (312 / 4)
    points = chromium.js("document.querySelector('[data-testid=track-line]').getAttribute('points')")
    assert points == "320.0,24.0 320.0,102.0 320.0,180.0 320.0,258.0 320.0,336.0"
    start = chromium.js("[...document.querySelectorAll('[data-testid=track-start]')].map((c) => c.getAttribute('cy'))")
    assert start == ["24.0"]
    hint = chromium.js("document.getElementById('track-hint').textContent")
    assert hint.startswith(f"{trip} · 5 个定位点")  # 0.004° of latitude ≈ 0.445 km
    assert "0.44 公里" in hint or "0.45 公里" in hint
    chromium.js("document.querySelector('[data-testid=lang-switch]').click()")
    assert chromium.wait("document.getElementById('track-hint').textContent.includes('5 fixes')")
    chromium.js("document.getElementById('track-trip').value = 'NO-SUCH-TRIP'")
    chromium.js("document.getElementById('track-show').click()")
    assert chromium.wait("document.getElementById('track-hint').textContent.startsWith('Trip not found')")
    assert chromium.js("document.querySelectorAll('#track-chart svg').length") == 0
    # nothing but the gateway was asked for (no map tiles): every resource the page loaded is on its own origin
    origins = chromium.js("[...new Set(performance.getEntriesByType('resource').map((e) => new URL(e.name).origin))]")
    assert origins == [platform.gateway.rstrip("/")]
    assert [p for p in chromium.problems() if "404" not in p] == []


def test_an_erased_or_masked_track_says_so_and_keeps_its_figures(
    platform: Platform, offices: dict[str, Any], chromium: Chromium
) -> None:
    """After an erasure the panel says the track was erased (已删除), never "no GPS track", and still shows the
    trip's five fixes; a viewer, who reads figures and not persons, is told the track is not shown to the role."""
    admin = offices["admin"]
    trip = _trip_with_track(platform, admin, offices["first"])

    def show(token: str, visit: str) -> tuple[str, str]:
        # a query of its own per visit: a navigation that changed the fragment alone would keep the page (and token)
        chromium.open(f"{platform.gateway}/?visit={visit}#token={token}&lang=zh")
        chromium.js(f"document.getElementById('track-trip').value = '{trip}'")
        chromium.js("document.getElementById('track-show').click()")
        assert chromium.wait(f"document.getElementById('track-chart').dataset.trip === '{trip}'"), chromium.problems()
        hint = chromium.js("document.getElementById('track-hint').textContent")
        shown = chromium.js("document.querySelector('#track-chart svg text')?.dataset.testid || 'track-line'")
        return hint, shown

    viewer = platform.token("viewer", name=f"viewer-{trip}")
    hint, shown = show(viewer, "viewer")
    assert shown == "track-masked" and hint.startswith(f"{trip} · 5 个定位点"), (hint, shown)
    assert "当前角色不显示" in chromium.js("document.getElementById('track-chart').textContent")
    _ok(platform, "POST", "/api/v1/personal-data/erasures", {"subject": "track", "id": trip}, admin)
    hint, shown = show(admin, "erased")
    assert shown == "track-erased" and hint.startswith(f"{trip} · 5 个定位点"), (hint, shown)
    assert "轨迹已删除" in chromium.js("document.getElementById('track-chart').textContent")
    assert chromium.js("document.querySelectorAll('[data-testid=track-line]').length") == 0
    assert [p for p in chromium.problems() if "404" not in p] == []


def _throttled(platform: Platform) -> float:
    """The gateway's count of requests answered 429 (every role)."""
    return sum(value for _, value in metric_samples(platform.gateway, THROTTLED))


THROTTLED = "gov_http_requests_throttled_total"


def test_requests_answered_429_are_asked_again_after_retry_after_and_the_page_shows_its_figures(
    platform: Platform, offices: dict[str, Any], chromium: Chromium
) -> None:
    """The gateway serves a token's requests a few at once and answers the rest 429 with ``Retry-After``: the page
    asks those again after the wait instead of showing them failed. The token's every place is taken by requests
    whose bodies are late to arrive (held sockets: the gateway counts a request from its headers on), the page's
    first loads are answered 429, the places are given back, and the page then shows the API's figures with no
    failure notice."""
    token = platform.token(name=f"throttled-{offices['first']}")  # a token of its own: no other test's requests
    port = int(platform.gateway.rsplit(":", 1)[1])
    held: list[socket.socket] = []
    head = (
        "POST /api/v1/agencies HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {token}\r\nContent-Length: 1000\r\n\r\n"
    ).encode()
    try:
        for _ in range(64):  # at most GATEWAY_IN_FLIGHT_PER_TOKEN (16 by default) are held; the rest answered 429
            connection = socket.create_connection(("127.0.0.1", port), timeout=10)
            connection.sendall(head)
            held.append(connection)
            if platform.request("GET", "/api/v1/datacenter/city", token=token)[0] == 429:
                break
        assert platform.request("GET", "/api/v1/datacenter/city", token=token)[0] == 429, "the token is not throttled"
        before = _throttled(platform)

        def give_back_once_the_page_was_throttled() -> None:
            # the page's five first loads answered 429 (the check above counted one): the places are given back
            _eventually(lambda: _throttled(platform) - before >= 5, bool)
            for connection in held:
                connection.close()

        releaser = threading.Thread(target=give_back_once_the_page_was_throttled, daemon=True)
        releaser.start()
        chromium.open(f"{platform.gateway}/?visit=throttled#token={token}&lang=zh")
        releaser.join(30)
        assert _throttled(platform) - before >= 5
        notice = chromium.js(
            "document.getElementById('notice').hidden || document.getElementById('notice').textContent"
        )
        assert notice is True, f"the page's first load shows failures: {notice}"
        _consistent(chromium, platform, token, offices)
    finally:
        for connection in held:
            connection.close()
    assert [p for p in chromium.problems() if "429" not in p] == []
