"""A closed year followed by a factor change, for the reference city of ``test_energy_figures`` (溧阳市): every
figure read through the public API and compared with a value worked out on paper.

溧阳市发展和改革委员会 (LY-K, 1,000 m²): an electricity meter installed on 1 January 2021 and read on 1 January
2022 (+100,000 kWh, the whole of 2021); its 2020 report: 120,000 kWh. 2021 is closed under the default table
(GB/T2589-2020+grid2022: 0.1229 kgce/kWh, 0.5703 kgCO₂/kWh); then the city adopts a table for 2021 only with
electricity at 0.3 kgce/kWh (等价值) and 0.5366 kgCO₂/kWh. Being for 2021 only, it leaves every other year — and
the other fidelity modules on the same platform — under the default table.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from services.common.kernel.clock import china_today
from tests.e2e.conftest import Platform
from tests.fidelity.test_energy_figures import TAG, City, _midnight
from tests.support import eventually

DEFAULT_VERSION = "GB/T2589-2020+grid2022"
NEW_VERSION = f"test-等价值+grid2021-{TAG}"  # a version is adopted once per platform


def _table(**changes: Any) -> dict[str, Any]:
    """The table of the module docstring (only electricity differs from the default), valid for 2021 only."""
    return {
        "version": NEW_VERSION,
        "tce_source": "GB/T 2589-2020 综合能耗计算通则: electricity 0.3 kgce/kWh (等价值); others 当量值 as grid2022",
        "co2_source": "electricity: national grid average 0.5366 tCO₂/MWh (2021); others as grid2022",
        "kgce_per_unit": {"electricity": 0.3, "natural_gas": 1.2143, "heat": 34.12, "fuel": 1.2385},
        "kgco2_per_unit": {"electricity": 0.5366, "natural_gas": 2.1622, "heat": 110.0, "fuel": 2.6315},
        "valid_from": 2021,
        "valid_to": 2021,
    } | changes


def test_a_factor_table_adopted_for_a_closed_year_is_a_proposed_restatement_until_applied(platform: Platform) -> None:
    c = City(platform)
    k = c.agency("K", "溧阳市发展和改革委员会", 1_000)
    k1 = c.meter(k, "M-K1", _midnight(2021, 1, 1))
    c.readings(k1, [[_midnight(2022, 1, 1), 100_000]])
    c.report_2020(k, {"electricity": 120_000})

    def profile(accept: Callable[[Any], bool]) -> Any:
        status, body, _ = eventually(lambda: c.profile(k, 2021), lambda a: a[0] == 200 and accept(a[1]))
        assert status == 200, body
        return body

    before = profile(
        lambda b: b["energy_by_kind"]["electricity_kwh"] == 100_000 and b["baseline_2020"]["energy_per_m2_kgce"]
    )
    # 100,000 kWh × 0.1229 = 12.29 tce / 1,000 m² = 12.29 kgce/m²; × 0.5703 = 57.03 t CO₂ = 57.03 kg/m²
    assert (before["energy_per_m2_kgce"], before["carbon_per_m2_kg"]) == (12.29, 57.03)
    # 2020: 120,000 × 0.1229 = 14.748 kgce/m²; 12.29 / 14.748 − 1 = −0.166667 → −0.1667
    assert before["baseline_2020"]["energy_per_m2_kgce"] == 14.748
    assert before["change_vs_2020"]["energy_per_m2_kgce"] == -0.1667
    assert before["methods"]["factors_version"] == DEFAULT_VERSION
    c.post("/api/v1/datacenter/energy-years/2021/close", {})
    profile(lambda b: b["closed_year"] is not None)

    # a table that cannot be adopted: every field named at once, nothing recorded
    status, refused, _ = platform.request(
        "POST",
        "/api/v1/energy/factor-tables",
        _table(kgce_per_unit={"electricity": 0, "natural_gas": 1.2143, "fuel": 1.2385}, valid_from=2019),
        c.admin,
    )
    assert status == 422, refused
    assert refused["fields"] == {
        "kgce_per_unit": ["factors must be numbers above zero: electricity", "missing kinds: heat"],
        "valid_from": [f"a year from 2020 to {china_today().year + 1} is required"],  # next year at the latest
    }
    status, refused, _ = platform.request(
        "POST", "/api/v1/energy/factor-tables", _table(version=DEFAULT_VERSION), c.admin
    )
    assert (status, list(refused["fields"])) == (422, ["version"]), refused

    adopted = c.post("/api/v1/energy/factor-tables", _table())
    assert (adopted["version"], adopted["valid_from"], adopted["valid_to"]) == (NEW_VERSION, 2021, 2021)
    assert adopted["event_ids"]
    status, again, _ = platform.request("POST", "/api/v1/energy/factor-tables", _table(), c.admin)
    assert (status, list(again["fields"])) == (422, ["version"]), again  # a version is adopted once

    shown = profile(lambda b: b["proposed_restatement"] is not None)
    # the closed figures stay, naming the table they were closed with
    assert (shown["energy_per_m2_kgce"], shown["carbon_per_m2_kg"]) == (12.29, 57.03)
    assert shown["closed_year"]["versions"]["factors_version"] == DEFAULT_VERSION
    assert shown["methods"]["factors_version"] == DEFAULT_VERSION
    proposed = shown["proposed_restatement"]
    # under the new table: 100,000 × 0.3 = 30 tce / 1,000 m² = 30 kgce/m²; × 0.5366 = 53.66 t = 53.66 kg/m²
    assert (proposed["energy_per_m2_kgce"], proposed["carbon_per_m2_kg"]) == (30.0, 53.66)
    assert (proposed["energy_tce"], proposed["carbon_t"]) == (30.0, 53.66)
    # 2020 converts with the same table: 120,000 × 0.3 = 36; 30 / 36 − 1 = −0.166667 — a factor is no saving
    assert proposed["change_vs_2020"]["energy_per_m2_kgce"] == -0.1667
    assert proposed["methods"]["factors_version"] == NEW_VERSION

    # the energy service converts 2021 with the new table too
    path = f"/api/v1/energy/target-totals?year=2021&agency_id={k}"
    status, totals, _ = platform.request("GET", path, token=c.admin)
    assert status == 200 and totals[0]["current"]["energy_tce"] == 30.0, totals  # 100,000 × 0.3 / 1000

    c.post("/api/v1/datacenter/energy-years/2021/restatement", {"reason": "采用2021年电网排放因子"}, 200)
    restated = profile(lambda b: b["energy_per_m2_kgce"] == 30.0)
    assert (restated["carbon_per_m2_kg"], restated["proposed_restatement"]) == (53.66, None)
    assert restated["closed_year"]["versions"]["factors_version"] == NEW_VERSION
    assert restated["methods"]["factors_version"] == NEW_VERSION
    assert restated["closed_year"]["reason"] == "采用2021年电网排放因子"

    # 2022 is outside the table's years: the default table still applies
    status, next_year, _ = c.profile(k, 2022)
    assert status == 200 and next_year["methods"]["factors_version"] == DEFAULT_VERSION, next_year
    status, listed, _ = platform.request("GET", "/api/v1/energy/factor-tables", token=c.admin)
    assert status == 200 and listed["default"]["version"] == DEFAULT_VERSION, listed
    assert [(t["version"], t["valid_from"], t["valid_to"]) for t in listed["items"]] == [(NEW_VERSION, 2021, 2021)]
