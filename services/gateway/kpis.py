"""The city's energy-intensity targets against 2020 and how an agency, district or city stands (pure).

Seed 001 (“十四五” plan): by 2025, against 2020, energy per m² of building −6 %, energy per capita −7 %, water
per capita −7 %, carbon per m² −7 %. The data center joins the two sides here: consumption comes from the
energy service (and the vehicles service's fuel and charging), floor area from office space, people from
the agency master data. docs/kpis/energy.md defines every figure.

- Both sides are full-year figures: a year's metered use is annualised per meter by the days its readings
  cover (``services.energy.domain.coverage``), never by the calendar; a year's annual report counts whole.
  Vehicle fuel and charging are a log of refuellings, complete up to today: a running year's is annualised
  by the days elapsed.
- Floor area: the gross floor area of the agency's buildings (建筑面积). People: staff on post (用能人数); a
  per-capita figure is null (``nobody_on_post``) when nobody is on post, never divided by another number.
- The 2020 intensity divides the 2020 totals by the 2020 floor area and people served when the 2020 report
  gives them, else by today's; ``denominators`` says which.
- Every indicator comes in two scopes: with vehicles (the headline figures) and buildings only
  (``buildings_only``). Each has a verdict (``verdicts``): on or off target only when both sides have the
  same kinds and enough coverage; else ``incomplete``, ``insufficient_data``, ``no_data`` or
  ``no_baseline``, and the change is null with the reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from services.common.kernel.ratios import ratio
from services.energy.read_model import BASELINE_YEAR as DOMAIN_BASELINE_YEAR
from services.energy.read_model import DEFAULT_SUFFICIENCY, TARGETS, Coverage, SufficiencyRules, judge

TARGETS_2025: Final = {
    "energy_per_m2_kgce": TARGETS["energy_per_m2"],
    "energy_per_capita_kgce": TARGETS["energy_per_capita"],
    "water_per_capita_m3": TARGETS["water_per_capita"],
    "carbon_per_m2_kg": TARGETS["carbon_per_m2"],
}
"""Change against 2020 each intensity must reach (a fraction: −0.06 is 6 % lower), under the data center's
names: the domain's ``TARGETS`` (one table, seed 001)."""

BASELINE_YEAR: Final = DOMAIN_BASELINE_YEAR
"""The baseline year: the domain's (one constant)."""

BUILDING_KINDS: Final = ("electricity", "natural_gas", "heat", "fuel")
"""Energy kinds of buildings (meters or annual statistics)."""
VEHICLE_KINDS: Final = ("vehicle_gasoline", "vehicle_diesel", "vehicle_charging")
"""Energy kinds of official vehicles (the vehicles service's log; the 2020 report's vehicle fuel)."""

KINDS_OF: Final[dict[str, dict[str, tuple[str, ...]]]] = {
    "with_vehicles": {
        "energy_per_m2_kgce": BUILDING_KINDS + VEHICLE_KINDS,
        "energy_per_capita_kgce": BUILDING_KINDS + VEHICLE_KINDS,
        "water_per_capita_m3": ("water",),
        "carbon_per_m2_kg": BUILDING_KINDS + VEHICLE_KINDS,
    },
    "buildings_only": {
        "energy_per_m2_kgce": BUILDING_KINDS,
        "energy_per_capita_kgce": BUILDING_KINDS,
        "water_per_capita_m3": ("water",),
        "carbon_per_m2_kg": BUILDING_KINDS,
    },
}
"""The kinds each indicator is made of, per scope: like-for-like is judged over these."""


INTENSITY_DIGITS: Final = 6
"""Decimals an intensity (per m², per person) is given to."""


def intensities(
    energy_tce: float | None,
    carbon_t: float | None,
    water_m3: float | None,
    area_m2: float | None,
    people: float | None,
) -> dict[str, float | None]:
    """Energy (kgce) and carbon (kg CO₂) per m², energy (kgce) and water (m³) per person."""
    return {
        "energy_per_m2_kgce": ratio(energy_tce, area_m2, 1000.0, digits=INTENSITY_DIGITS),
        "energy_per_capita_kgce": ratio(energy_tce, people, 1000.0, digits=INTENSITY_DIGITS),
        "water_per_capita_m3": ratio(water_m3, people, digits=INTENSITY_DIGITS),
        "carbon_per_m2_kg": ratio(carbon_t, area_m2, 1000.0, digits=INTENSITY_DIGITS),
    }


def _null_reasons(
    values: Mapping[str, float | None], use: Mapping[str, float | None], area: float | None, people: float | None
) -> dict[str, str]:
    """Why each null intensity is null: no use recorded, no floor area, nobody on post."""
    reasons = {}
    for key, value in values.items():
        if value is not None:
            continue
        per_m2 = key.endswith("per_m2_kgce") or key.endswith("per_m2_kg")
        if use[key] is None:
            reasons[key] = "no_water_data" if key.startswith("water") else "no_energy_data"
        elif per_m2 and not area:
            reasons[key] = "no_floor_area"
        elif not per_m2 and not people:
            reasons[key] = "nobody_on_post"
    return reasons


def _side(figures: Mapping[str, Any], scope: str, area: float | None, people: float | None) -> dict[str, Any]:
    """One year's intensities of one scope and why any is null."""
    energy_key, carbon_key = (
        ("energy_tce", "carbon_t") if scope == "with_vehicles" else ("building_energy_tce", "building_carbon_t")
    )
    energy, carbon, water = figures.get(energy_key), figures.get(carbon_key), figures.get("water_m3")
    values = intensities(energy, carbon, water, area, people)
    use = {
        "energy_per_m2_kgce": energy,
        "energy_per_capita_kgce": energy,
        "water_per_capita_m3": water,
        "carbon_per_m2_kg": carbon,
    }
    return {"values": values, "null_reasons": _null_reasons(values, use, area, people)}


def against_2020(
    figures: Mapping[str, Any],
    coverage: Mapping[str, Coverage],
    baseline_coverage: Mapping[str, Coverage],
    rules: SufficiencyRules = DEFAULT_SUFFICIENCY,
) -> dict[str, Any]:
    """The intensity KPIs of one agency, district or city against 2020, with vehicles and buildings only.

    ``figures`` holds full-year (annualised) ``energy_tce``, ``carbon_t`` (with vehicles),
    ``building_energy_tce``, ``building_carbon_t``, ``water_m3``; ``floor_area_m2``, ``staff_on_post``; and
    ``baseline`` with the same 2020 figures and, when the 2020 report gives them, ``floor_area_m2`` and
    ``people``. Any may be missing (None: no data). ``coverage`` and ``baseline_coverage`` give each kind
    present in the year and in 2020 (the ``VEHICLE_KINDS`` included) with its coverage.
    """
    area, people = figures.get("floor_area_m2") or None, figures.get("staff_on_post") or None
    base = figures.get("baseline") or {}
    base_area, base_people = base.get("floor_area_m2") or None, base.get("people") or None
    denominators = {
        "floor_area_m2": "2020" if base_area else "current",
        "people": "2020" if base_people else "current",
    }
    result: dict[str, Any] = {}
    for scope in ("with_vehicles", "buildings_only"):
        now = _side(figures, scope, area, people)
        then = _side(base, scope, base_area or area, base_people or people)
        change: dict[str, float | None] = {}
        change_reasons: dict[str, str] = {}
        verdicts: dict[str, dict[str, object]] = {}
        for key, target in TARGETS_2025.items():
            raw = _change(now["values"][key], then["values"][key])
            verdict = judge(raw, target, coverage, baseline_coverage, KINDS_OF[scope][key], rules)
            verdicts[key] = verdict.as_dict()
            change[key] = raw if verdict.judged else None
            if not verdict.judged:
                specific = now["null_reasons"].get(key) or then["null_reasons"].get(key)
                change_reasons[key] = specific if verdict.verdict == "no_data" and specific else verdict.verdict
        part = {
            **now["values"],
            "null_reasons": now["null_reasons"],
            "baseline_2020": then["values"],
            "baseline_2020_null_reasons": then["null_reasons"],
            "change_vs_2020": change,
            "change_vs_2020_null_reasons": change_reasons,
            "verdicts": verdicts,
            "on_target": {key: _met(verdicts[key]["verdict"]) for key in TARGETS_2025},
        }
        if scope == "with_vehicles":
            result |= part
        else:
            result["buildings_only"] = part
    return result | {
        "targets": dict(TARGETS_2025),
        "denominators": denominators,
        "sufficiency": {"min_days": rules.min_days, "min_share": rules.min_share, "version": rules.version},
    }


def _change(now: float | None, then: float | None) -> float | None:
    if now is None or not then:
        return None
    return round((now - then) / then, 4)


def _met(verdict: object) -> bool | None:
    """True or False only for a judged comparison (the dashboard's 达标 / 未达标), else None."""
    return {"on_target": True, "off_target": False}.get(str(verdict))
