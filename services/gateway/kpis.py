"""The city's energy-intensity targets against 2020 and how an agency, district or city stands (pure).

Seed 001 (“十四五” plan): by 2025, against 2020, energy per m² of building −6 %, energy per capita −7 %, water
per capita −7 %, carbon per m² −7 %. The data center joins the two sides here: consumption comes from the
energy service (and the vehicles service's fuel and charging), floor area from office space, people from
the agency master data.

- Floor area: the gross floor area of the agency's buildings (建筑面积).
- People: staff on post (用能人数), or the authorised headcount where no staff are recorded.
- A year still running is annualised (its total so far × days in the year / days elapsed), so it compares
  with the 2020 annual totals; the answer says so (``annualised``).
- The 2020 intensity divides the 2020 totals by the floor area and people of 2020 when the baseline report
  gives them, else by today's.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

TARGETS_2025 = {
    "energy_per_m2_kgce": -0.06,
    "energy_per_capita_kgce": -0.07,
    "water_per_capita_m3": -0.07,
    "carbon_per_m2_kg": -0.07,
}
"""Change against 2020 each intensity must reach (a fraction: −0.06 is 6 % lower)."""

BASELINE_YEAR = 2020


def annualisation(year: int, today: date) -> float:
    """The factor that turns ``year``'s total so far into a full-year figure (1 for a finished year)."""
    if year < today.year:
        return 1.0
    if year > today.year:
        return 0.0
    start = date(year, 1, 1)
    days_in_year = (date(year + 1, 1, 1) - start).days
    return days_in_year / max((today - start).days + 1, 1)


def _ratio(numerator: float | None, denominator: float | None, scale: float = 1.0) -> float | None:
    if numerator is None or not denominator:
        return None
    return round(numerator * scale / denominator, 6)


def intensities(
    energy_tce: float | None,
    carbon_t: float | None,
    water_m3: float | None,
    area_m2: float | None,
    people: float | None,
) -> dict[str, float | None]:
    """Energy (kgce) and carbon (kg CO₂) per m², energy (kgce) and water (m³) per person."""
    return {
        "energy_per_m2_kgce": _ratio(energy_tce, area_m2, 1000.0),
        "energy_per_capita_kgce": _ratio(energy_tce, people, 1000.0),
        "water_per_capita_m3": _ratio(water_m3, people),
        "carbon_per_m2_kg": _ratio(carbon_t, area_m2, 1000.0),
    }


def people_of(figures: Mapping[str, Any]) -> float | None:
    """Staff on post, or the authorised headcount where no staff are recorded."""
    return figures.get("staff_on_post") or figures.get("authorised_headcount") or None


def against_2020(figures: Mapping[str, Any], factor: float) -> dict[str, Any]:
    """The intensity KPIs of one agency, district or city: now (annualised by ``factor``), in 2020, the
    change, the targets and whether each is met.

    ``figures`` holds ``energy_tce``, ``carbon_t``, ``water_m3`` (this year so far), ``floor_area_m2``,
    ``staff_on_post``/``authorised_headcount`` and ``baseline`` (the 2020 ``energy_tce``, ``carbon_t``,
    ``water_m3`` and, when reported, ``floor_area_m2`` and ``people``) — any of them may be missing.
    """
    area, people = figures.get("floor_area_m2"), people_of(figures)

    def annual(key: str) -> float | None:
        value = figures.get(key)
        return None if value is None else value * factor

    now = intensities(annual("energy_tce"), annual("carbon_t"), annual("water_m3"), area, people)
    base = figures.get("baseline") or {}
    then = intensities(
        base.get("energy_tce"),
        base.get("carbon_t"),
        base.get("water_m3"),
        base.get("floor_area_m2") or area,
        base.get("people") or people,
    )
    change = {key: _change(now[key], then[key]) for key in TARGETS_2025}
    return {
        **now,
        "baseline_2020": then,
        "change_vs_2020": change,
        "targets": dict(TARGETS_2025),
        "on_target": {key: _met(change[key], TARGETS_2025[key]) for key in TARGETS_2025},
    }


def _change(now: float | None, then: float | None) -> float | None:
    if now is None or not then:
        return None
    return round((now - then) / then, 4)


def _met(change: float | None, target: float) -> bool | None:
    return None if change is None else change <= target
