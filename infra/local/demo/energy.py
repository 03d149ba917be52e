"""Loading energy: meters, annual reports and quotas, and ``--days`` of 5-minute readings on the district topics
(or through ``POST /meter-readings``)."""

from __future__ import annotations

import functools
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from datetime import date, timedelta

from infra.local.demo.base import Base
from infra.local.demo.city import OFF_DAY_SHARE, Agency, Meter
from infra.local.demo.client import Phase, decoded
from infra.local.demo.draws import iso, local_time

METERS_PER_MESSAGE = 100
"""Meters per readings message on a district topic (a day of 5-minute readings: 28,800 readings, ~1.2 MB)."""


METERS_PER_REQUEST = 300
"""Meters per ``POST /meter-readings`` batch with ``--readings-via http`` (86,400 readings a day)."""


def _readings_id(seed: int, district: str, chunk: int, day: date, last: int) -> str:
    """A batch's message id: a whole day is named by the day, a day in progress by its last slot too, so a
    re-run sends a finished day under the name it had and a grown one under a new name."""
    tail = "" if last == 287 else f"-{(last + 1) * 5 // 60:02d}{(last + 1) * 5 % 60:02d}"
    return f"demo{seed}-rd-{district}-{chunk:03d}-{day:%Y%m%d}{tail}"


class EnergyLoader(Base):
    """The energy phases of ``Loader``."""

    def load_meters(self) -> None:
        """Meters installed at the start of the readings window, the 2020 annual reports (the baseline) and this
        year's energy quota of about a quarter of the agencies."""
        self.window_start = self.today - timedelta(days=self.o.days)
        installed_at = iso(local_time(self.window_start))
        by_agency: dict[str, list[Meter]] = {}
        for m in self.meters:
            by_agency.setdefault(m.agency.agency_id, []).append(m)
        quota_agencies = [a for a in self.agencies if a.seq % 4 == 1 and a.agency_id in by_agency]

        def install(m: Meter) -> None:
            self.api.post(
                "energy.install_meter",
                "/meters",
                {
                    "meter_id": m.meter_id,
                    "serial_no": m.serial_no,
                    "kind": m.kind,
                    "agency_id": m.agency.agency_id,
                    "district": m.agency.district,
                    "building_id": m.building.building_id,
                    "sub_item": m.sub_item,
                    "multiplier": m.multiplier,
                    "initial_reading": m.initial(self.window_start),
                    "installed_at": installed_at,
                },
                m.meter_id,
            )

        def report(a: Agency) -> None:
            mains = [m for m in by_agency.get(a.agency_id, []) if m.sub_item == "none"]
            rng = random.Random(f"{self.o.seed}:baseline:{a.agency_id}")
            totals: dict[str, float] = {}
            for m in mains:
                year = m.daily * (250 + 115 * OFF_DAY_SHARE[m.profile]) * rng.uniform(1.08, 1.25)
                totals[m.kind] = round(totals.get(m.kind, 0.0) + year, 1)
            self.baseline_tce[a.agency_id] = (
                totals.get("electricity", 0) * 0.1229 + totals.get("natural_gas", 0) * 1.2143
            ) / 1000
            self.api.post(
                "energy.report_annual_consumption",
                "/energy/annual-reports",
                {
                    "agency_id": a.agency_id,
                    "district": a.district,
                    "year": 2020,
                    "totals": totals,
                    "source": "2020年度公共机构能源资源消费统计年报",
                },
                f"{a.agency_id}.2020",
            )

        def quota(a: Agency) -> None:
            limit = round(max(self.baseline_tce.get(a.agency_id, 1.0), 0.5) * (0.9 + 0.06 * (a.seq % 3)), 2)
            self.api.post(
                "energy.set_quota",
                "/energy/quotas",
                {
                    "agency_id": a.agency_id,
                    "district": a.district,
                    "year": self.today.year,
                    "basis": "absolute",
                    "limit": limit,
                },
                f"{a.agency_id}.{self.today.year}",
            )

        self.baseline_tce: dict[str, float] = {}
        reporters = [a for a in self.agencies if a.agency_id in by_agency]
        tasks: list[Callable[[], None]] = [functools.partial(install, m) for m in self.meters]
        tasks += [functools.partial(report, a) for a in reporters]
        self.run("energy meters", len(tasks), tasks)
        self.run("energy quotas", len(quota_agencies), [functools.partial(quota, a) for a in quota_agencies])
        self.quota_agencies = [a.agency_id for a in quota_agencies]
        self.counts["meters"] = len(self.meters)
        self.counts["annual_reports"] = len(reporters)
        self.counts["energy_quotas"] = len(quota_agencies)

    def send_readings(self) -> None:
        """``--days`` of 5-minute readings of every meter up to now, day by day, in batches of many meters:
        as messages on the district topics (``energy.record_readings``), or ``POST /meter-readings``."""
        end = self.now.replace(second=0, microsecond=0)
        end -= timedelta(minutes=end.minute % 5)
        days = [self.window_start + timedelta(days=n) for n in range((self.today - self.window_start).days + 1)]
        via_http = self.o.readings_via == "http"
        size = METERS_PER_REQUEST if via_http else METERS_PER_MESSAGE
        chunks: list[tuple[str, int, list[Meter]]] = []
        by_district: dict[str, list[Meter]] = {}
        for m in self.meters:
            by_district.setdefault(m.agency.district, []).append(m)
        for district, meters in sorted(by_district.items()):
            for n in range(0, len(meters), size):
                chunks.append((district, n // size, meters[n : n + size]))
        slots_total = 0
        plan: list[tuple[date, int]] = []
        for day in days:
            last = int((end - local_time(day)).total_seconds() // 300) - 1 if day == self.today else 287
            if last >= 0:
                plan.append((day, last))
                slots_total += last + 1
        total = slots_total * len(self.meters)
        phase = Phase(f"readings ({'http' if via_http else 'topics'})", total)
        stamps_cache: dict[date, list[str]] = {}
        sent: Counter[str] = Counter()
        lock = threading.Lock()

        def stamps(day: date) -> list[str]:
            marks = stamps_cache.get(day)
            if marks is None:
                base = local_time(day)
                marks = stamps_cache[day] = [iso(base + timedelta(minutes=5 * (s + 1))) for s in range(288)]
            return marks

        def done(meters: list[Meter], last: int, count: int) -> None:
            with lock:
                sent["messages"] += 1
                sent["readings"] += count
            phase.advance(len(meters) * (last + 1))

        def batch(day: date, last: int, meters: list[Meter]) -> tuple[str, int]:
            marks = stamps(day)
            parts, count = [], 0
            for m in meters:
                values = m.readings(day, last)
                count += len(values)
                readings = ",".join(f'["{marks[s]}",{v!r}]' for s, v in values)
                parts.append(f'{{"meter_id":"{m.meter_id}","readings":[{readings}]}}')
            return ",".join(parts), count

        if via_http:

            def post(day: date, last: int, district: str, n: int, meters: list[Meter]) -> None:
                body, count = batch(day, last, meters)
                message_id = _readings_id(self.o.seed, district, n, day, last)
                self._post_readings(message_id, body)
                done(meters, last, count)

            with ThreadPoolExecutor(2) as pool:
                for day, last in plan:
                    futures = [pool.submit(post, day, last, d, n, ms) for d, n, ms in chunks]
                    for future in as_completed(futures):
                        future.result()
        else:
            topics = self.topic()
            for day, last in plan:
                for district, n, meters in chunks:
                    body, count = batch(day, last, meters)
                    message_id = _readings_id(self.o.seed, district, n, day, last)
                    topics.send(
                        district,
                        "energy.record_readings",
                        message_id,
                        f'{{"message_id":"{message_id}","meters":[{body}]}}',
                        f"readings-{district}-{n}",
                    )
                    done(meters, last, count)
            topics.flush()
        self.phases.append(phase.finish())
        self.counts["readings"] = sent["readings"]
        self.counts["readings_batches"] = sent["messages"]

    def _post_readings(self, message_id: str, body: str) -> None:
        data = f'{{"message_id":"{message_id}","meters":[{body}]}}'.encode()
        for attempt in range(30):
            try:
                status, raw = self.api.raw("POST", self.api.base + "/meter-readings", data)
            except OSError:
                status, raw = 0, b""
            if status == 200:
                answer = decoded(raw)
                if isinstance(answer, dict) and answer.get("rejected"):
                    for reason, n in (answer.get("rejected_by_reason") or {}).items():
                        self.api.refusals[("energy.record_readings", reason)] += n
                return
            if status not in (0, 502, 503, 504):
                self.api.refusals[("energy.record_readings", str(status))] += 1
                self.api.examples.append(f"readings {message_id}: {status} {raw[:300]!r}")
                return
            time.sleep(min(10, 1 + attempt))
