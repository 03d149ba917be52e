"""The history importer's reading of files: typed CSV cells, the order the facts happened, paths and keys."""

from __future__ import annotations

import io
import json
import re
import threading
from datetime import date, datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from openpyxl import Workbook

from infra.local.importer import TYPES, Gateway, ImportFileError, read_rows, route, run


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


@pytest.mark.parametrize(
    ("column", "cell", "reason"),
    [
        ("amount_fen:int", "１２", "ASCII digits"),  # full-width digits: int() read them as 12
        ("amount_fen:int", "1_000", "ASCII digits"),  # int() read it as 1000
        ("amount_fen:int", " 12", "ASCII digits"),
        ("area_m2:float", "nan", "finite"),
        ("area_m2:float", "inf", "finite"),
        ("designated:bool", "ture", "true or false"),  # a typo was read as False
        ("designated:bool", "是", "true or false"),
    ],
)
def test_a_typed_cell_is_read_as_written_or_refused(tmp_path: Path, column: str, cell: str, reason: str) -> None:
    """A typed cell takes what the platform takes from any client (``kernel.schemas.plain_number_text``): a
    number in ASCII digits, finite; a boolean written as one, never a typo read as False."""
    with pytest.raises(ImportFileError, match=f"is not .*{reason}"):
        read_rows([_write(tmp_path, "t.csv", f"fact,at,{column}\nreceive_rent,2025-01-01,{cell}\n")])


def test_typed_cells_written_plainly_are_read() -> None:
    assert TYPES["int"]("-12") == -12 and TYPES["float"]("12.5") == 12.5 and TYPES["float"]("1e3") == 1000.0
    assert [TYPES["bool"](v) for v in ("true", "FALSE", "1", "0", "yes", "No")] == [
        True,
        False,
        True,
        False,
        True,
        False,
    ]


def _workbook(tmp_path: Path, name: str, sheets: dict[str, list[list[object]]]) -> Path:
    """A workbook built here as a city's staff would fill it: one sheet per template, Excel's own cell types."""
    book = Workbook()
    book.remove(book.active)
    for title, lines in sheets.items():
        sheet = book.create_sheet(title)
        for line in lines:
            sheet.append(line)
    path = tmp_path / name
    book.save(path)
    return path


def test_a_workbook_is_read_sheet_by_sheet_as_the_csv_templates_with_excel_cell_types(tmp_path: Path) -> None:
    book = _workbook(
        tmp_path,
        "city.xlsx",
        {
            "units": [
                ["fact", "at", "property_id", "unit_id", "area_m2:float", "monthly_fixed_cost_fen:int", "added_on"],
                # Excel keeps 100 and 100000 as numbers, the days as date cells, the unit's id 7 as a number
                ["add_property_unit", datetime(2020, 1, 1), "OP-1", 7, 100, 100000, datetime(2020, 1, 1)],
                [None, None, None, None, None, None, None],  # a blank line between blocks is passed over
                ["add_property_unit", "2025-12-10", "OP-1", "U3", 50.5, 80000.0, date(2025, 12, 10)],
            ],
            "租约": [
                ["fact", "at", "property_id", "unit_id", "tenant", "monthly_rent_fen:int", "start_on", "end_on"],
                ["let_unit", datetime(2020, 1, 1, 9, 30), "OP-1", 7, "某书店", 500000, date(2020, 1, 1), None],
            ],
        },
    )
    props = _write(tmp_path, "properties.csv", "fact,at,property_id,name\nregister_property,2020-01-01,OP-1,商铺\n")
    rows = read_rows([props, book])
    # 2020-01-01 twice (the file given first wins), then 09:30 that day (a date-time cell, China Standard Time),
    # then 2025-12-10 (the units sheet's third line, the blank second one not counted as a row)
    assert [(r.ref, r.fact, r.at) for r in rows] == [
        ("properties.csv:1", "register_property", "2020-01-01"),
        ("city.xlsx:units:1", "add_property_unit", "2020-01-01"),
        ("city.xlsx:租约:1", "let_unit", "2020-01-01T09:30:00+08:00"),
        ("city.xlsx:units:2", "add_property_unit", "2025-12-10"),
    ]
    assert rows[1].body == {
        "property_id": "OP-1",
        "unit_id": "7",  # an untyped column is text, as in a CSV file: 7, not 7.0
        "area_m2": 100.0,
        "monthly_fixed_cost_fen": 100_000,
        "added_on": "2020-01-01",
    }
    assert rows[3].body["area_m2"] == 50.5 and rows[3].body["monthly_fixed_cost_fen"] == 80_000
    assert rows[2].body == {
        "property_id": "OP-1",
        "unit_id": "7",
        "tenant": "某书店",
        "monthly_rent_fen": 500_000,
        "start_on": "2020-01-01",
    }
    assert rows[1].key == "import.city.xlsx:units.1"
    # a sheet named in Chinese is no ASCII key: its key is a stable hash the gateway takes
    assert rows[2].key.startswith("import.") and rows[2].key == read_rows([book])[1].key  # the same on every run
    assert re.fullmatch(r"[A-Za-z0-9_.:-]{1,100}", rows[2].key)


def test_a_workbook_that_is_no_history_is_refused_before_anything_is_sent(tmp_path: Path) -> None:
    bad = _workbook(
        tmp_path, "bad.xlsx", {"rent": [["fact", "at", "amount_fen:int"], ["receive_rent", "2025-01-01", 12.5]]}
    )
    with pytest.raises(ImportFileError, match="is not int"):
        read_rows([bad])
    with pytest.raises(ImportFileError, match="not an XLSX workbook"):
        read_rows([_write(tmp_path, "fake.xlsx", "fact,at\n")])


def test_an_agency_the_service_has_not_learned_yet_is_asked_again_with_the_same_key(tmp_path: Path) -> None:
    """A row naming an agency an earlier row registered may reach a service that has not learned it yet
    (``unknown_agency``): the importer sends it again with its key instead of reporting it refused."""
    answers = [(422, {"error": "unknown_agency"}), (422, {"error": "unknown_agency"}), (201, {"id": "BL-1"})]
    keys: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            keys.append(self.headers["Idempotency-Key"])
            status, body = answers.pop(0)
            raw = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        rows = read_rows([_write(tmp_path, "lines.csv", "fact,at,agency_id\nopen_budget_line,2024-12-20,AG-1\n")])
        gateway = Gateway(f"http://127.0.0.1:{server.server_port}", "token")
        summary = run(rows, gateway, tmp_path / "state.json", out=io.StringIO())
    finally:
        server.shutdown()
    assert (summary.accepted, summary.refused) == (1, 0)
    assert keys == ["import.lines.csv.1"] * 3  # twice refused as passing, then accepted: one key
