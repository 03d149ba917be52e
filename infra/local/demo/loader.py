"""The loader: every domain's phases in order, then what the platform's timers would do next, the wait for the
data center and the summary."""

from __future__ import annotations

import sys
import time
from collections import Counter
from datetime import timedelta
from typing import Any

from infra.local.demo.assets import AssetsLoader
from infra.local.demo.city import build_agencies, build_assets, build_meters, build_vehicles
from infra.local.demo.client import Phase, inbound_counts
from infra.local.demo.energy import EnergyLoader
from infra.local.demo.office_space import OfficeSpaceLoader
from infra.local.demo.procurement import ProcurementLoader
from infra.local.demo.vehicles import VehiclesLoader
from services.common.base.settings import settings

DATA_CENTER_KEYS = (
    "agencies",
    "staff_on_post",
    "floor_area_m2",
    "office_area_m2",
    "over_standard_persons",
    "vehicles_in_service",
    "vehicle_cost_fen",
    "vehicle_km",
    "new_energy_share",
    "assets_count",
    "idle_assets",
    "budget_fen",
    "spent_fen",
    "electricity_kwh",
    "water_m3",
    "energy_tce",
    "carbon_t",
    "open_findings",
)


class Loader(OfficeSpaceLoader, EnergyLoader, VehiclesLoader, AssetsLoader, ProcurementLoader):
    """Loads the city phase by phase and keeps the counts for the summary."""

    def load(self) -> dict[str, Any]:
        """Every phase, then the wait for the data center; the summary."""
        started = time.monotonic()
        self.check_gateway()
        config = settings()
        districts = config.districts
        self.agencies = build_agencies(districts, self.o.scale, self.o.seed, self.today)
        build_vehicles(self.agencies, self.o.scale, self.o.seed, self.today, self.o.trips_per_month)
        build_assets(self.agencies, self.o.seed, self.today)
        self.meters = build_meters(self.agencies, self.o.seed)
        self.keepers = {a.district: a for a in self.agencies if a.keeper}
        print(
            f"demo city (seed {self.o.seed}, scale {self.o.scale:g}): {len(districts)} districts, "
            f"{len(self.agencies)} agencies, {sum(len(a.vehicles) for a in self.agencies)} vehicles, "
            f"{len(self.meters)} meters, {self.o.days} days of readings",
            file=sys.stderr,
        )
        self.inbound_start = inbound_counts(self.api.metrics())
        self.load_agencies()
        self.load_office_space()
        self.load_meters()
        self.send_readings()
        self.load_vehicles()
        self.load_assets()
        self.load_catalog()
        self.load_history()
        self.load_procurement()
        self.wait_for_district_messages()
        self.run_checks()
        city = self.wait_for_data_center()
        return self.summary(city, time.monotonic() - started)

    def check_gateway(self) -> None:
        """Stop early, with a reason, when the gateway does not answer or refuses the token."""
        try:
            status, _ = self.api.raw("GET", self.api.base + "/projections")
        except OSError as exc:
            raise SystemExit(
                f"the gateway at {self.o.gateway} does not answer ({exc}); start it with `make run`"
            ) from None
        if status in (401, 403):
            raise SystemExit(f"the gateway refuses the token ({status}); pass --token or check var/admin.token")

    def wait_for_district_messages(self) -> None:
        """Wait until the gateway has handled (or refused) every district message this run sent."""
        sent = self.topics.sent if self.topics else 0
        if self.topics is not None:
            self.topics.close()
        self.counts["district_messages"] = sent
        if not sent:
            return
        phase = Phase("district messages", sent)
        base_handled, base_refused = self.inbound_start
        deadline = time.monotonic() + self.o.timeout
        done = 0
        refused: Counter[str] = Counter()
        while time.monotonic() < deadline:
            handled, refused_now = inbound_counts(self.api.metrics())
            refused = refused_now - base_refused
            now_done = max(0, handled - base_handled) + sum(refused.values())
            if now_done > done:
                phase.advance(now_done - done)
                done = now_done
            if done >= sent:
                break
            time.sleep(2.0)
        else:
            self.warnings.append(f"the gateway handled {done} of {sent} district messages within --timeout")
        self.district_refusals = refused
        self.phases.append(phase.finish())

    def run_checks(self) -> None:
        """What the platform's timers would do in the next hours, now: trips without GPS, repair outliers of the
        last months, energy anomalies of the last days, quota assessments; and the stock-takes are closed."""
        api = self.api
        phase = Phase("checks", None)
        api.phase = phase
        try:
            api.post("vehicles.check_trips_without_gps", "/vehicle-checks/trips-without-gps", {}, f"gps.{self.today}")
            for back in (1, 2):
                first = self.today.replace(day=1)
                for _ in range(back):
                    first = (first - timedelta(days=1)).replace(day=1)
                period = f"{first:%Y-%m}"
                api.post(
                    "vehicles.check_repair_outliers",
                    "/vehicle-checks/repair-outliers",
                    {"period": period},
                    f"repairs.{period}",
                )
            for back in range(min(self.o.days, 3), -1, -1):
                day = self.today - timedelta(days=back)
                api.post(
                    "energy.detect_anomalies",
                    "/energy/anomaly-detections",
                    {"day": day.isoformat()},
                    f"anomalies.{day}.{self.now:%H}",
                )
            for ident in self.quota_agencies:
                api.post(
                    "energy.assess_quota",
                    f"/energy/quotas/{ident}/{self.today.year}/assessment",
                    {"as_of": self.today.isoformat()},
                    f"{ident}.{self.today}",
                )
            for ident in getattr(self, "stocktakes", []):
                api.post("assets.close_stocktake", f"/stocktakes/{ident}/close", {}, ident)
        finally:
            api.phase = None
            self.phases.append(phase.finish())

    def wait_for_data_center(self) -> dict[str, Any] | None:
        """Wait until every projection has applied every event (positions still, no lag) and the city's
        figures show what was loaded; the city's figures (None when the endpoint does not answer)."""
        phase = Phase("data center", None)
        deadline = time.monotonic() + self.o.timeout
        previous: dict[str, Any] | None = None
        still = 0
        city: dict[str, Any] | None = None
        while time.monotonic() < deadline:
            status = self.api.get("/projections") or {}
            projectors = status.get("projectors", [])
            positions = {p.get("projector"): p.get("positions") for p in projectors}
            lag = sum(int(v or 0) for p in projectors for v in (p.get("lag_events") or {}).values())
            phase.advance(0)
            still = still + 1 if positions == previous and lag == 0 else 0
            previous = positions
            if still >= 2:
                city = self.api.get("/datacenter/city")
                figures = (city or {}).get("city") or {}
                if not city or figures.get("agencies", 0) >= len(self.agencies):
                    break
            time.sleep(2.0)
        else:
            self.warnings.append("the data center had not caught up within --timeout")
            city = self.api.get("/datacenter/city")
        self.phases.append(phase.finish())
        return city

    def summary(self, city: dict[str, Any] | None, elapsed: float) -> dict[str, Any]:
        """What was loaded, what the platform refused, what the data center shows."""
        figures = (city or {}).get("city") or {}
        shown = {k: figures.get(k) for k in DATA_CENTER_KEYS if k in figures}
        result = {
            "seed": self.o.seed,
            "scale": self.o.scale,
            "days": self.o.days,
            "elapsed_s": round(elapsed, 1),
            "loaded": dict(sorted(self.counts.items())),
            "commands": dict(self.api.outcomes),
            "refused": {f"{name}: {code}": n for (name, code), n in sorted(self.api.refusals.items())},
            "district_messages_refused": dict(getattr(self, "district_refusals", {})),
            "examples": self.api.examples,
            "warnings": self.warnings,
            "data_center": shown,
            "data_center_available": city is not None,
            "phases": self.phases,
            "dashboard": self.o.gateway.rstrip("/") + "/",
        }
        return result
