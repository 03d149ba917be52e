"""Adopted factor tables (折标准煤系数, CO₂ 排放因子 as the administration adopts them): which table a year uses.

The conversion factors change: the national grid emission factor is published anew, a standard is revised.
A city administrator adopts a new table (``FactorTableAdopted``) with the years it is valid for: from
``valid_from`` on, up to ``valid_to`` when given (a grid factor published for one year). For a year Y the
figures use the newest table adopted whose validity includes Y — a table adopted later replaces the earlier
ones for the years it names — and the deployment's default table (built in, or ``ENERGY_FACTORS_FILE``)
when none does. A year's 2020 comparison uses the year's table on both sides, so a new factor never shows
as a saving.

A closed year is never rewritten by an adoption: its figures keep the table they were closed with, and the
data center shows the figures under the new table beside them as a proposed restatement (closing.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, ClassVar, Final

from services.common.kernel.aggregate import Aggregate

from .base import METER_KINDS, EnergyEvent
from .rollups import NON_ENERGY_KINDS, FactorTable, InvalidFactorTable
from .targets import BASELINE_YEAR

FACTOR_KINDS: Final = tuple(kind for kind in METER_KINDS if kind not in NON_ENERGY_KINDS)
"""The kinds an adopted table must convert: every energy kind a meter or a report can count."""
FIRST_VALID_YEAR: Final = BASELINE_YEAR
"""No figure of the platform is older than the 2020 baseline year: a table valid before it converts nothing."""
YEARS_AHEAD: Final = 1
"""A table may be adopted for next year at the latest (a factor published ahead of its year)."""


@dataclass(frozen=True)
class FactorTableAdopted(EnergyEvent):
    """A factor table was adopted for the years ``valid_from``..``valid_to`` (``None``: on from ``valid_from``)."""

    version: str
    tce_source: str
    co2_source: str
    kgce_per_unit: dict[str, float]
    kgco2_per_unit: dict[str, float]
    valid_from: int
    valid_to: int | None
    adopted_by: str
    adopted_on: str


@dataclass(frozen=True)
class AdoptedTable:
    """A factor table with the years it is valid for."""

    table: FactorTable
    valid_from: int
    valid_to: int | None = None

    def applies_to(self, year: int) -> bool:
        """Whether the table is valid for ``year``."""
        return self.valid_from <= year and (self.valid_to is None or year <= self.valid_to)

    def to_dict(self) -> dict[str, Any]:
        """The table and its validity as JSON-native values (what the API lists)."""
        return self.table.to_dict() | {"valid_from": self.valid_from, "valid_to": self.valid_to}


def table_for_year(adopted: Sequence[AdoptedTable], year: int, default: FactorTable) -> FactorTable:
    """The table the figures of ``year`` use: the newest adopted (``adopted`` in adoption order) valid for it,
    else ``default``."""
    for entry in reversed(adopted):
        if entry.applies_to(year):
            return entry.table
    return default


def _validity_problems(valid_from: Any, valid_to: Any, today: date) -> dict[str, list[str]]:
    """What is wrong with the years a table is valid for."""
    last = today.year + YEARS_AHEAD
    problems: dict[str, list[str]] = {}
    if type(valid_from) is not int or not FIRST_VALID_YEAR <= valid_from <= last:
        problems["valid_from"] = [f"a year from {FIRST_VALID_YEAR} to {last} is required"]
    if valid_to is not None and (type(valid_to) is not int or not FIRST_VALID_YEAR <= valid_to <= last):
        problems["valid_to"] = [f"a year from {FIRST_VALID_YEAR} to {last}, or null, is required"]
    elif valid_to is not None and "valid_from" not in problems and valid_to < valid_from:
        problems["valid_to"] = ["must not be before valid_from"]
    return problems


def _kind_problems(data: Mapping[str, Any]) -> dict[str, list[str]]:
    """Every energy kind present in both factor maps, and no other kind."""
    problems: dict[str, list[str]] = {}
    for name in ("kgce_per_unit", "kgco2_per_unit"):
        factors = data.get(name)
        if not isinstance(factors, Mapping):
            continue
        missing = [kind for kind in FACTOR_KINDS if kind not in factors]
        unknown = sorted(str(kind) for kind in factors if kind not in FACTOR_KINDS)
        found = [f"missing kinds: {', '.join(missing)}"] if missing else []
        found += [f"unknown kinds: {', '.join(unknown)}"] if unknown else []
        if found:
            problems[name] = found
    return problems


def checked_table(data: Mapping[str, Any], taken: Sequence[str], today: date) -> AdoptedTable:
    """A table to adopt from its JSON form with ``valid_from``/``valid_to``; InvalidFactorTable naming every
    field that is wrong: factors finite and above zero for every energy kind, a version not ``taken``, years
    in range."""
    table_fields = {k: v for k, v in data.items() if k not in ("valid_from", "valid_to")}
    problems = _validity_problems(data.get("valid_from"), data.get("valid_to"), today)
    try:
        table: FactorTable | None = FactorTable.from_dict(table_fields)
    except InvalidFactorTable as invalid:
        table, problems = None, dict(invalid.fields or {}) | problems
    for name, reasons in _kind_problems(table_fields).items():
        problems.setdefault(name, []).extend(reasons)
    if table is not None and table.version in taken:
        problems["version"] = [f"version {table.version} is already in use; a changed table needs a new version"]
    if problems or table is None:
        raise InvalidFactorTable("the factor table cannot be adopted", fields=problems)
    return AdoptedTable(table, data["valid_from"], data.get("valid_to"))


class FactorTables(Aggregate):
    """The city's adopted factor tables, in adoption order (one stream, so a version is adopted once)."""

    stream_type: ClassVar[str] = "FactorTables"
    STREAM_ID: ClassVar[str] = "energy-factor-tables"

    def _init_state(self) -> None:
        self.tables: list[dict[str, Any]] = []
        """Each adopted table's JSON form with its years (``AdoptedTable.to_dict``): a snapshot is JSON."""

    @property
    def adopted(self) -> list[AdoptedTable]:
        """The adopted tables, in adoption order."""
        return [adopted_from(data) for data in self.tables]

    def adopt(self, data: Mapping[str, Any], default: FactorTable, by: str, today: date) -> AdoptedTable:
        """Adopt a table for the years it names; its version is new (neither adopted nor the default's)."""
        taken = [default.version, *(entry.table.version for entry in self.adopted)]
        entry = checked_table(data, taken, today)
        self._record(
            FactorTableAdopted(
                **entry.table.to_dict(),
                valid_from=entry.valid_from,
                valid_to=entry.valid_to,
                adopted_by=by,
                adopted_on=today.isoformat(),
            )
        )
        return entry

    def for_year(self, year: int, default: FactorTable) -> FactorTable:
        """The table the figures of ``year`` use (``table_for_year``)."""
        return table_for_year(self.adopted, year, default)

    def _on_FactorTableAdopted(self, event: FactorTableAdopted) -> None:
        self.tables.append(adopted_from(vars(event)).to_dict())


def adopted_from(payload: Mapping[str, Any]) -> AdoptedTable:
    """The adopted table a ``FactorTableAdopted`` payload records (read models rebuild it from their rows)."""
    table = FactorTable(
        payload["version"],
        payload["tce_source"],
        payload["co2_source"],
        {str(k): float(v) for k, v in payload["kgce_per_unit"].items()},
        {str(k): float(v) for k, v in payload["kgco2_per_unit"].items()},
    )
    return AdoptedTable(table, int(payload["valid_from"]), payload.get("valid_to"))
