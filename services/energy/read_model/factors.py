"""The default conversion factor table (折标准煤系数, CO₂ 排放因子) this deployment converts with: the table of
every year no adopted table is valid for (``FactorTableAdopted``, ``domain/factor_tables.py``).

The built-in ``FACTORS_2022`` unless ``ENERGY_FACTORS_FILE`` names a JSON file of another table, e.g. a
newer national grid emission factor once published::

    {"version": "GB/T2589-2020+grid2023", "tce_source": "...", "co2_source": "...",
     "kgce_per_unit": {"electricity": 0.1229, "natural_gas": 1.2143, "heat": 34.12, "fuel": 1.2385},
     "kgco2_per_unit": {"electricity": 0.5366, "natural_gas": 2.1622, "heat": 110.0, "fuel": 2.6315}}

Every answer that converts names the table's version and sources; the energy service and the gateway's
data center read the same file, so their tce and CO₂ agree. A table that is not valid stops the process
at start rather than converting with wrong factors.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from services.common.base.settings import settings
from services.energy.domain.rollups import FACTORS_2022, FactorTable


def load_factor_table(path: Path | None) -> FactorTable:
    """The table in the JSON file ``path`` (InvalidFactorTable when it is not one), or ``FACTORS_2022``."""
    if path is None:
        return FACTORS_2022
    return FactorTable.from_dict(json.loads(path.read_text(encoding="utf-8")))


@cache
def configured_factors() -> FactorTable:
    """The default table of this process (read once)."""
    return load_factor_table(settings().energy_factors_file)
