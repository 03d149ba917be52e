"""The conservation targets against 2020 are ONE table in the domain, judged in ONE place (the data center).

Seed 001 (常机管〔2021〕52号): by 2025, energy per m² −6 %, energy per person −7 %, water per person −7 %,
carbon per m² −7 %. The judging itself (coverage, like-for-like, the verdict) is tested in
tests/unit/gateway/test_datacenter_kpis.py against ``kpis.against_2020``.
"""

from __future__ import annotations

import importlib
import pkgutil

import services.energy.domain as energy_domain
from services.energy.domain.targets import BASELINE_YEAR, TARGETS
from services.gateway import kpis


def test_the_targets_are_the_seed_figures() -> None:
    assert TARGETS == {
        "energy_per_m2": -0.06,
        "energy_per_capita": -0.07,
        "water_per_capita": -0.07,
        "carbon_per_m2": -0.07,
    }
    assert BASELINE_YEAR == 2020


def test_the_data_center_judges_with_the_domain_table_and_no_second_judge_exists() -> None:
    assert kpis.TARGETS_2025 == {
        "energy_per_m2_kgce": -0.06,
        "energy_per_capita_kgce": -0.07,
        "water_per_capita_m3": -0.07,
        "carbon_per_m2_kg": -0.07,
    }
    assert kpis.BASELINE_YEAR is BASELINE_YEAR
    # the former second way of judging (a linear path to 2025, no coverage) is gone for good: no module of the
    # energy domain has it
    modules = [
        importlib.import_module(m.name) for m in pkgutil.iter_modules(energy_domain.__path__, "services.energy.domain.")
    ]
    assert "services.energy.domain.targets" in {m.__name__ for m in modules}
    assert [m.__name__ for m in modules if hasattr(m, "assess_targets")] == []
