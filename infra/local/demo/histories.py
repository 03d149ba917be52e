"""The city's backdated facts: a vehicle's year of trips and costs (``vehicle_history``), and the past that comes
in through the importer as a real city's would (``history_files``, ``fleet_files``, ``ledger_files``, written
by ``write_history``; docs/import.md)."""

from __future__ import annotations

import csv
import json
import math
import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from infra.local.demo.city import (
    CHARGERS,
    DESTINATIONS_COUNTY,
    DESTINATIONS_FAR,
    DESTINATIONS_LOCAL,
    EPOCH,
    GARAGES,
    INSURERS,
    PURPOSES,
    STATIONS,
    YEAR_DAYS,
    Agency,
    Asset,
    Vehicle,
    district_names,
    person_name,
)
from infra.local.demo.draws import draw, iso, kind_of_day, local_time, stable_hash
from services.common.kernel.districts import CITY_CODE
from services.common.kernel.money import fen_from_yuan


@dataclass
class Step:
    """One command of a vehicle's history (or a GPS track for a district topic)."""

    name: str
    path: str
    body: dict[str, Any]
    key: str
    gps_district: str | None = None
    track: tuple[str, str, datetime, datetime, int] | None = None  # made when sent (``gps_track``)


class Fleet:
    """Where every vehicle's trip requester may come from (city-wide dispatch: any agency)."""

    def __init__(self, agencies: list[Agency]) -> None:
        self.agencies = agencies


def vehicle_history(vehicle: Vehicle, fleet: Fleet, today: date, seed: int) -> tuple[float, list[Step]]:
    """The vehicle's odometer at the start of its history window and the window's commands, in time order.

    The simulation runs day by day from ``EPOCH`` (or the acquisition) with numbers drawn from the vehicle and
    the date only, so the same date always gives the same trip, fuel and odometer on every run.
    """
    vh = stable_hash(vehicle.vehicle_id)
    start = max(EPOCH, vehicle.acquired_on)
    window = max(today - timedelta(days=YEAR_DAYS), vehicle.acquired_on)
    end = vehicle.disposed_on or today
    model = vehicle.model
    years = max(0.0, (start - vehicle.acquired_on).days / 365.0)
    odometer = round(years * (9000 + 6000 * draw(vh, 1)), 1) if vehicle.acquisition_kind == "existing" else 12.0
    rate = model.norm / 100.0 * (0.88 + 0.18 * draw(vh, 2))  # real consumption per km (L, or kWh)
    fuel_used = battery_used = 0.0
    fill_at = 0.55 + 0.2 * draw(vh, 3)
    last_service_km, last_service_day = odometer, start
    window_odometer = odometer
    steps: list[Step] = []
    day = start

    def refuel(day: date, when: datetime, suffix: str, quantity: float, odometer: float) -> None:
        o = day.toordinal()
        if "overfill" in vehicle.flags and draw(vh, o, 11) < 0.25:
            quantity = model.tank * 1.18 if model.tank else quantity  # jerry cans filled on the fuel card
        if "rollback" in vehicle.flags and draw(vh, o, 12) < 0.25:
            odometer = max(0.0, odometer - 1000)  # a reading typed wrong
        price = 7.35 + 0.6 * draw(o // 14, 5) if model.energy_type != "diesel" else 7.05 + 0.5 * draw(o // 14, 6)
        body: dict[str, Any] = {
            "fuel": "diesel" if model.energy_type == "diesel" else "gasoline",
            "quantity": round(quantity, 2),
            "amount_fen": fen_from_yuan(round(round(quantity, 2) * price, 2)),
            "station": STATIONS[(vh + o) % len(STATIONS)],
            "designated": draw(vh, o, 14) < 0.95,
            "odometer_km": round(odometer, 1),
            "refuelled_at": iso(when),
            "record_id": f"FU-{vehicle.vehicle_id}-{day:%Y%m%d}{suffix}",
        }
        steps.append(Step("vehicles.record_fuel", f"/vehicles/{vehicle.vehicle_id}/fuel", body, body["record_id"]))

    def charge(day: date, when: datetime, suffix: str, used: float, odometer: float) -> None:
        o = day.toordinal()
        quantity = round(used * 1.08, 2)  # what the charger meters: the battery's intake and its losses
        body: dict[str, Any] = {
            "quantity_kwh": quantity,
            "amount_fen": fen_from_yuan(round(quantity * (0.95 + 0.4 * draw(vh, o, 15)), 2)),
            "station": CHARGERS[(vh + o) % len(CHARGERS)],
            "designated": draw(vh, o, 16) < 0.93,
            "odometer_km": odometer,
            "charged_at": iso(when),
            "record_id": f"CH-{vehicle.vehicle_id}-{day:%Y%m%d}{suffix}",
        }
        steps.append(
            Step("vehicles.record_charging", f"/vehicles/{vehicle.vehicle_id}/charging", body, body["record_id"])
        )

    electric = model.energy_type == "battery_electric"
    hybrid = model.energy_type == "plug_in_hybrid"
    while day < end:
        o = day.toordinal()
        emit = day >= window
        if day == window:
            window_odometer = odometer
        kind = kind_of_day(day)
        chance = vehicle.trips_per_month / 21.7 * (1.0 if kind == "workday" else 0.015)
        if draw(vh, o, 10) < chance:
            distance, destination = _trip_plan(vehicle, day)
            thirsty = "thirsty" in vehicle.flags and day >= today - timedelta(days=75)
            per_km = rate * (1.5 if thirsty else 1.0)
            fuel = distance * per_km * (0.55 if hybrid else 1.0) if model.tank else 0.0
            power = distance * (per_km if electric else 0.072) if model.battery else 0.0
            if hybrid and model.battery:  # a plug-in hybrid runs on petrol once its battery is spent
                power = min(power, model.battery * 0.8)
            # a trip that would run the tank or battery low starts with a top-up
            if model.tank and fuel_used > 0 and fuel_used + fuel > model.tank * 0.9:
                if emit:
                    refuel(day, local_time(day, 7, 35), "-AM", fuel_used, odometer)
                fuel_used = 0.0
            if model.battery and battery_used > 0 and battery_used + power > model.battery * 0.85:
                if emit:
                    charge(day, local_time(day, 7, 20), "-AM", battery_used, odometer)
                battery_used = 0.0
            trip_steps = _trip(vehicle, fleet, day, odometer, distance, destination)
            if emit:
                steps += trip_steps
            odometer = round(odometer + distance, 1)
            fuel_used += fuel
            battery_used = min(battery_used + power, model.battery * 0.95) if model.battery else 0.0
        if model.tank and fuel_used >= model.tank * fill_at:
            if emit:
                refuel(day, local_time(day, 17, 40 + int(15 * draw(vh, o, 13))), "", fuel_used, odometer)
            fuel_used = 0.0
        if model.battery and battery_used >= model.battery * (0.5 if electric else 0.6):
            if emit:
                charge(day, local_time(day, 18, 5), "", battery_used, odometer)
            battery_used = 0.0
        if kind == "workday" and (
            odometer - last_service_km >= 7500 or (day - last_service_day).days >= 180 + int(20 * draw(vh, 17))
        ):
            last_service_km, last_service_day = odometer, day
            if emit:
                steps.append(_repair(vehicle, day, odometer, "maintenance", 500 + 900 * draw(vh, o, 18), "定期保养"))
        if kind == "workday" and draw(vh, o, 19) < 0.0035:
            amount = 300 + 1500 * draw(vh, o, 20) ** 2  # a garage visit; outliers are the "garage" vehicles
            if emit:
                steps.append(_repair(vehicle, day, odometer, "repair", amount, "故障维修"))
        garage = "garage" in vehicle.flags and kind == "workday" and _last_month(today) == (day.year, day.month)
        if garage and emit and draw(vh, o, 21) < 0.25:
            steps.append(_repair(vehicle, day, odometer, "repair", 3000 + 6000 * draw(vh, o, 22), "变速箱维修"))
        if (day.month, day.day) == (vehicle.acquired_on.month, min(vehicle.acquired_on.day, 28)) and emit:
            premium = round(2800 + 3200 * draw(vh, day.year, 23), 2)
            body: dict[str, Any] = {
                "kind": "insurance",
                "payee": INSURERS[vh % len(INSURERS)],
                "designated": True,
                "amount_fen": fen_from_yuan(premium),
                "occurred_on": day.isoformat(),
                "covers_from": day.isoformat(),
                "covers_to": (day.replace(year=day.year + 1) - timedelta(days=1)).isoformat(),
                "record_id": f"INS-{vehicle.vehicle_id}-{day.year}",
            }
            steps.append(
                Step("vehicles.record_expense", f"/vehicles/{vehicle.vehicle_id}/expenses", body, body["record_id"])
            )
        day += timedelta(days=1)
    return window_odometer, steps


def _last_month(today: date) -> tuple[int, int]:
    first = today.replace(day=1) - timedelta(days=1)
    return first.year, first.month


def _repair(vehicle: Vehicle, day: date, odometer: float, kind: str, amount: float, what: str) -> Step:
    vh = stable_hash(vehicle.vehicle_id)
    body: dict[str, Any] = {
        "kind": kind,
        "vendor": GARAGES[(vh + day.toordinal()) % len(GARAGES)],
        "designated": draw(vh, day.toordinal(), 24) < 0.9,
        "amount_fen": fen_from_yuan(round(amount, 2)),
        "description": what,
        "odometer_km": odometer,
        "occurred_on": day.isoformat(),
        "record_id": f"{'MT' if kind == 'maintenance' else 'RP'}-{vehicle.vehicle_id}-{day:%Y%m%d}",
    }
    return Step("vehicles.record_repair", f"/vehicles/{vehicle.vehicle_id}/repairs", body, body["record_id"])


def _trip_plan(vehicle: Vehicle, day: date) -> tuple[float, str]:
    """Where the vehicle goes on ``day`` and how far (km): in town, to the county towns, or out of the city
    (never far for a battery electric vehicle)."""
    vh, o = stable_hash(vehicle.vehicle_id), day.toordinal()
    r = draw(vh, o, 30)
    if r < 0.62:
        distance, destination = 15 + 55 * draw(vh, o, 31), DESTINATIONS_LOCAL[(vh + o) % len(DESTINATIONS_LOCAL)]
    elif r < 0.93 or vehicle.model.energy_type == "battery_electric":
        distance, destination = 70 + 120 * draw(vh, o, 31), DESTINATIONS_COUNTY[(vh + o) % len(DESTINATIONS_COUNTY)]
    else:
        distance, destination = 260 + 160 * draw(vh, o, 31), DESTINATIONS_FAR[(vh + o) % len(DESTINATIONS_FAR)]
    return round(distance, 1), destination


def _trip(vehicle: Vehicle, fleet: Fleet, day: date, odometer: float, distance: float, destination: str) -> list[Step]:
    """One trip of a day: request, dispatch, (approval), start, finish, its GPS track (and a toll)."""
    vh, o = stable_hash(vehicle.vehicle_id), day.toordinal()
    kind = kind_of_day(day)
    evening = kind == "workday" and draw(vh, o, 32) < 0.004
    start_minute = 19 * 60 + 30 if evening else 8 * 60 + int(90 * draw(vh, o, 33))
    hours = distance / 38 + 0.5 + 2.5 * draw(vh, o, 34)
    finish_minute = min(start_minute + int(hours * 60), 23 * 60 + 30 if evening else 18 * 60 + 40)
    finish_minute = max(finish_minute, start_minute + int(distance / 60 * 60) + 10)
    started = local_time(day) + timedelta(minutes=start_minute)
    finished = local_time(day) + timedelta(minutes=finish_minute)
    outside = kind != "workday" or evening
    approved = outside and draw(vh, o, 35) < 0.6
    requester = vehicle.agency
    if draw(vh, o, 36) < 0.03:  # city-wide dispatch: another district's agency asks, this vehicle serves
        others = [a for a in fleet.agencies if a.district != vehicle.agency.district]
        if others:
            requester = others[(vh + o) % len(others)]
    trip_id = f"TR-{vehicle.vehicle_id}-{day:%Y%m%d}"
    base = f"/trips/{trip_id}"
    steps = [
        Step(
            "vehicles.request_trip",
            "/trips",
            {
                "trip_id": trip_id,
                "agency_id": requester.agency_id,
                "purpose": PURPOSES[(vh + o) % len(PURPOSES)],
                "destination": destination,
                "passengers": 1 + (vh + o) % 4,
                "planned_start": iso(started - timedelta(minutes=10)),
                "planned_end": iso(finished + timedelta(minutes=20)),
            },
            f"{trip_id}.request",
        ),
        Step(
            "vehicles.dispatch_trip",
            f"{base}/dispatch",
            # one driver per vehicle: the district's id of the driver and the name (sealed by the platform)
            {
                "vehicle_id": vehicle.vehicle_id,
                "driver_id": f"D-{vh % 100_000_000:08d}",
                "driver": person_name(random.Random(vh)),
            },
            f"{trip_id}.dispatch",
        ),
    ]
    if approved:
        reason = "节假日应急值守用车" if kind != "workday" else "晚间会议接送，经分管领导批准"
        steps.append(Step("vehicles.approve_trip", f"{base}/approval", {"reason": reason}, f"{trip_id}.approval"))
    steps.append(
        Step(
            "vehicles.start_trip",
            f"{base}/start",
            {"odometer_km": odometer, "started_at": iso(started)},
            f"{trip_id}.start",
        )
    )
    steps.append(
        Step(
            "vehicles.finish_trip",
            f"{base}/finish",
            {"odometer_km": round(odometer + distance, 1), "finished_at": iso(finished)},
            f"{trip_id}.finish",
        )
    )
    if draw(vh, o, 37) >= 0.004:  # a few trips' terminals never upload: flagged without GPS
        steps.append(
            Step(
                "vehicles.record_gps_points",
                f"{base}/gps",
                {"trip_id": trip_id, "vehicle_id": vehicle.vehicle_id},
                f"{trip_id}.gps",
                gps_district=vehicle.agency.district,
                track=(vehicle.agency.district, destination, started, finished, vh + o),
            )
        )
    if distance > 150 and draw(vh, o, 38) < 0.6:
        body: dict[str, Any] = {
            "kind": "toll",
            "payee": "江苏交通控股有限公司",
            "amount_fen": fen_from_yuan(round(distance * 0.45, 2)),
            "occurred_on": day.isoformat(),
            "record_id": f"TL-{vehicle.vehicle_id}-{day:%Y%m%d}",
        }
        steps.append(
            Step("vehicles.record_expense", f"/vehicles/{vehicle.vehicle_id}/expenses", body, body["record_id"])
        )
    return steps


def gps_track(
    district: str, destination: str, started: datetime, finished: datetime, salt: int
) -> list[dict[str, Any]]:
    """A GPS track out and back, a point every five minutes."""
    lat0, lon0 = district_names(district, "")[1]
    angle = 2 * math.pi * draw(stable_hash(destination), 1)
    reach = 0.05 + 0.5 * draw(stable_hash(destination), 2)
    lat1, lon1 = lat0 + reach * math.sin(angle), lon0 + reach * math.cos(angle)
    minutes = int((finished - started).total_seconds() // 60)
    points = []
    for m in range(0, minutes + 1, 5):
        x = m / max(minutes, 1)
        f = 1 - abs(2 * x - 1)  # out, then back
        jitter = (draw(salt, m) - 0.5) * 0.002
        points.append(
            {
                "at": iso(started + timedelta(minutes=m)),
                "lat": round(lat0 + (lat1 - lat0) * f + jitter, 5),
                "lon": round(lon0 + (lon1 - lon0) * f - jitter, 5),
            }
        )
    return points[:5000]


HISTORY_BIDS = [
    ("H1", "SUP-JS-0011", 23600, True),
    ("H2", "SUP-JS-0012", 23900, True),
    ("H3", "SUP-JS-0013", 23300, True),
    ("H4", "SUP-JS-0014", 15200, False),
]
"""Last year's copy-paper bids (unit price in fen, compliant): H4 far below the others, flagged when bidding
closed and judged non-compliant; H3 wins."""


def history_files(agencies: list[Agency], year: int, seed: int, scale: float) -> dict[str, list[dict[str, Any]]]:
    """The city's procurement of ``year`` as importer files (file name → facts, docs/import.md): a budget line
    granted on 20 December of the year before to every other city agency, a copy-paper request of each on
    10 March, one batch tender (opened 15 March, closed 2 April, awarded 10 April), a contract per request
    signed 15 April, delivered on time on 12 May and accepted on 14 May. Every value is a function of the
    agencies and ``year``, and the files are named for the seed and scale, so a re-run sends the same rows
    under the same Idempotency-Keys."""
    city = [a for a in agencies if a.district == CITY_CODE]
    chosen = [a for a in city if a.seq % 2 == 1] or city
    if not chosen:
        return {}
    stem = f"demo{seed}s{scale:g}-{year}"
    lines: list[dict[str, Any]] = []
    for a in chosen:
        line = f"BL-{year}-{a.seq:04d}"
        lines.append(
            {"fact": "open_budget_line", "at": f"{year - 1}-12-20", "budget_line_id": line}
            | {"agency_id": a.agency_id, "year:int": year, "purpose": "办公用品购置"}
            | {"amount_fen:int": 1_000_000 + (a.seq % 7) * 100_000, "opened_on": f"{year - 1}-12-20"}
        )
        lines.append(
            {"fact": "submit_purchase_request", "at": f"{year}-03-10", "budget_line_id": line}
            | {"agency_id": a.agency_id, "request_id": f"PR-{year}-H{a.seq:04d}", "item_code": "A0501-A4PAPER"}
            | {"quantity:int": 10 + (a.seq % 5) * 2, "estimated_unit_price_fen:int": 24500}
            | {"submitted_on": f"{year}-03-10"}
        )
    tender = f"TD-{year}-PAPER"
    requests = [f"PR-{year}-H{a.seq:04d}" for a in chosen][:200]
    opened, closed, awarded = (
        f"{year}-03-15T09:00:00+08:00",
        f"{year}-04-02T10:00:00+08:00",
        f"{year}-04-10T10:00:00+08:00",
    )
    tendering: list[dict[str, Any]] = [
        {"fact": "open_tender", "at": opened, "tender_id": tender, "district": CITY_CODE, "request_ids": requests}
        | {"reference_unit_price_fen": 24500, "opened_at": opened, "closes_at": f"{year}-04-01T17:00:00+08:00"}
    ]
    for n, (bid, supplier, price, _) in enumerate(HISTORY_BIDS):
        at = f"{year}-03-{20 + n}T10:00:00+08:00"
        tendering.append(
            {"fact": "submit_bid", "at": at, "tender_id": tender, "bid_id": bid, "supplier_id": supplier}
            | {"unit_price_fen": price, "submitted_at": at}
        )
    tendering.append({"fact": "close_bidding", "at": closed, "tender_id": tender, "closed_at": closed})
    for n, (bid, _, _, compliant) in enumerate(HISTORY_BIDS):
        verdict = {"compliant": compliant} | ({} if compliant else {"reasons": ["报价明显低于成本且未能提供合理说明"]})
        tendering.append(
            {"fact": "evaluate_bid", "at": f"{year}-04-0{3 + n}", "tender_id": tender, "bid_id": bid} | verdict
        )
    tendering.append({"fact": "award_tender", "at": awarded, "tender_id": tender, "awarded_at": awarded})
    contracts: list[dict[str, Any]] = []
    for a, request in zip(chosen, requests, strict=False):
        contract, quantity = f"{tender}.{request}", 10 + (a.seq % 5) * 2
        contracts += [
            {"fact": "sign_contract", "at": f"{year}-04-15", "tender_id": tender, "request_id": request}
            | {"clauses": ["warranty", "recycling"], "delivery_due": f"{year}-05-15", "signed_on": f"{year}-04-15"},
            {"fact": "record_delivery", "at": f"{year}-05-12", "contract_id": contract, "delivery_id": "D1"}
            | {"quantity": quantity, "delivered_on": f"{year}-05-12"},
            {"fact": "inspect_delivery", "at": f"{year}-05-14", "contract_id": contract, "delivery_id": "D1"}
            | {"accepted_quantity": quantity, "defective_quantity": 0, "inspected_on": f"{year}-05-14"},
        ]
    return {
        f"{stem}-budget.csv": lines,
        f"{stem}-tender.jsonl": tendering,
        f"{stem}-contracts.jsonl": contracts,
    }


def past_vehicle(v: Vehicle, this_year: date) -> bool:
    """A vehicle acquired before this year: part of the city's past, which the importer brings in."""
    return v.acquired_on < this_year


def fleet_of(a: Agency) -> list[Vehicle]:
    """An agency's vehicles and the old ones they replace."""
    return [old for v in a.vehicles if (old := v.replaces) is not None] + list(a.vehicles)


def _odometer_of_old(old: Vehicle) -> float:
    """An old vehicle's odometer when it was registered: 90 000 to 120 000 km."""
    return round(90000 + 30000 * draw(stable_hash(old.vehicle_id), 1), 1)


def vehicle_body(v: Vehicle, odometer: float) -> dict[str, Any]:
    """``register_vehicle``'s body, the same through the API and the importer."""
    body: dict[str, Any] = {
        "vehicle_id": v.vehicle_id,
        "plate": v.plate,
        "agency_id": v.agency.agency_id,
        "energy_type": v.model.energy_type,
        "use_category": v.use_category,
        "model": v.model.name,
        "acquisition_kind": v.acquisition_kind,
        "acquired_on": v.acquired_on.isoformat(),
        "norm_per_100km": v.model.norm,
        "odometer_km": odometer,
    }
    if v.model.tank:
        body["tank_capacity"] = v.model.tank
    if v.model.battery:
        body["battery_capacity_kwh"] = v.model.battery
    if v.replaces is not None:
        body["replaces_vehicle_id"] = v.replaces.vehicle_id
    return body


def quota_body(a: Agency) -> dict[str, Any]:
    return {"quota": a.vehicle_quota, "reason": "按《常州市党政机关公务用车管理办法》核定编制"}


def disposal_body(old: Vehicle, today: date) -> dict[str, Any]:
    """``dispose_vehicle``'s body for an old vehicle replaced (auctioned), the same through the API and the
    importer."""
    return {
        "method": "auction",
        "proceeds_fen": fen_from_yuan(round(8000 + 12000 * draw(stable_hash(old.vehicle_id), 2), 2)),
        "disposed_on": (old.disposed_on or today).isoformat(),
        "reference": f"常公资拍〔{today.year}〕{old.seq or stable_hash(old.vehicle_id) % 900 + 100}号",
    }


def fleet_files(
    agencies: list[Agency], odometers: dict[str, float], today: date, seed: int, scale: float
) -> dict[str, list[dict[str, Any]]]:
    """The fleet's past as an importer file: for each agency with vehicles acquired before this year, its quota
    (on the day of its first such vehicle: the quota has no day of its own and comes before the vehicles it
    counts), then its old vehicles (registered on the day acquired, disposed on their day when it is before this
    year) and the vehicles acquired before this year (``odometers`` by vehicle id: their odometer when
    registered). Rows keep their order and keys on every run of the same seed, scale and year."""
    this_year = date(today.year, 1, 1)
    facts: list[dict[str, Any]] = []
    for a in agencies:
        pasts = [v for v in fleet_of(a) if past_vehicle(v, this_year)]
        if not a.vehicle_quota or not pasts:
            continue
        first = min(v.acquired_on for v in pasts).isoformat()
        facts.append({"fact": "set_vehicle_quota", "at": first, "agency_id": a.agency_id} | quota_body(a))
        for v in pasts:
            odometer = odometers[v.vehicle_id] if v.vehicle_id in odometers else _odometer_of_old(v)
            facts.append({"fact": "register_vehicle", "at": v.acquired_on.isoformat()} | vehicle_body(v, odometer))
            if v.disposed_on is not None and v.disposed_on < this_year:
                facts.append(
                    {"fact": "dispose_vehicle", "at": v.disposed_on.isoformat(), "vehicle_id": v.vehicle_id}
                    | disposal_body(v, today)
                )
    return {f"demo{seed}s{scale:g}-before{today.year}-fleet.jsonl": facts} if facts else {}


def asset_body(a: Agency, x: Asset) -> dict[str, Any]:
    """``register_asset``'s body, the same through the API and the importer."""
    return {
        "asset_id": x.asset_id,
        "agency_id": a.agency_id,
        "category": x.category,
        "name": x.name,
        "location": x.location,
        "original_value_fen": x.value_fen,
        "acquired_on": x.acquired_on.isoformat(),
        "condition": "good",
    }


def ledger_files(agencies: list[Agency], today: date, seed: int, scale: float) -> dict[str, list[dict[str, Any]]]:
    """The asset ledgers' past as an importer file: every asset acquired before this year, registered on the
    day it was acquired."""
    this_year = date(today.year, 1, 1)
    facts = [
        {"fact": "register_asset", "at": x.acquired_on.isoformat()} | asset_body(a, x)
        for a in agencies
        for x in a.assets
        if x.acquired_on < this_year
    ]
    return {f"demo{seed}s{scale:g}-before{today.year}-assets.jsonl": facts} if facts else {}


def write_history(folder: Path, files: dict[str, list[dict[str, Any]]]) -> list[Path]:
    """Write each file of ``history_files`` as the importer reads it: a CSV file with a header of every column
    (typed columns named ``name:type``, empty cells for facts without them), or one JSON object a line."""
    paths = []
    for name, facts in files.items():
        path = folder / name
        if name.endswith(".csv"):
            columns = list(dict.fromkeys(column for fact in facts for column in fact))
            with path.open("w", encoding="utf-8", newline="") as out:
                writer = csv.DictWriter(out, columns, restval="")
                writer.writeheader()
                writer.writerows(facts)
        else:
            path.write_text("".join(json.dumps(f, ensure_ascii=False) + "\n" for f in facts), encoding="utf-8")
        paths.append(path)
    return paths
