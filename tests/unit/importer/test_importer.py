"""The history importer's reading of files: typed CSV cells, the order the facts happened, paths and keys."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from infra.local.importer import ImportFileError, read_rows, route


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_rows_of_all_files_are_sent_in_the_order_the_facts_happened(tmp_path: Path) -> None:
    units = _write(
        tmp_path,
        "units.csv",
        "fact,at,property_id,unit_id,area_m2:float,monthly_fixed_cost_fen:int,added_on\n"
        "add_property_unit,2020-01-01,OP-1,U1,100,100000,2020-01-01\n"
        "add_property_unit,2025-12-10,OP-1,U3,50,80000,2025-12-10\n",
    )
    props = _write(
        tmp_path,
        "properties.json",
        json.dumps([{"fact": "register_property", "at": "2020-01-01", "property_id": "OP-1", "name": "商铺"}]),
    )
    lets = _write(
        tmp_path,
        "tenancies.jsonl",
        '{"fact": "vacate_unit", "at": "2025-09-10", "property_id": "OP-1", "unit_id": "U1", "vacated_on": "2025-09-10"}\n',
    )
    rows = read_rows([props, units, lets])
    # 2020-01-01 twice: the files' order given (properties before units) breaks the tie; then 2025-09-10, 2025-12-10
    assert [(r.ref, r.fact) for r in rows] == [
        ("properties.json:1", "register_property"),
        ("units.csv:1", "add_property_unit"),
        ("tenancies.jsonl:1", "vacate_unit"),
        ("units.csv:2", "add_property_unit"),
    ]
    unit = rows[1]
    assert unit.body == {
        "property_id": "OP-1",
        "unit_id": "U1",
        "area_m2": 100.0,
        "monthly_fixed_cost_fen": 100_000,
        "added_on": "2020-01-01",
    }
    assert route(unit) == (
        "/operating-properties/OP-1/units",
        {"unit_id": "U1", "area_m2": 100.0, "monthly_fixed_cost_fen": 100_000, "added_on": "2020-01-01"},
    )
    assert unit.key == "import.units.csv.1"  # the same on every run: the gateway answers a repeat once


def test_a_file_that_is_no_history_is_refused_before_anything_is_sent(tmp_path: Path) -> None:
    with pytest.raises(ImportFileError, match="unknown fact 'drop_table'"):
        read_rows([_write(tmp_path, "a.csv", "fact,at\ndrop_table,2020-01-01\n")])
    with pytest.raises(ImportFileError, match="'at' must be"):
        read_rows([_write(tmp_path, "b.csv", "fact,at\nregister_property,\n")])
    with pytest.raises(ImportFileError, match="is not int"):
        read_rows([_write(tmp_path, "c.csv", "fact,at,amount_fen:int\nreceive_rent,2025-01-01,12.5\n")])
    (row,) = read_rows([_write(tmp_path, "d.csv", "fact,at,property_id\nvacate_unit,2025-01-01,OP-1\n")])
    with pytest.raises(ImportFileError, match="vacate_unit needs unit_id"):
        route(row)
