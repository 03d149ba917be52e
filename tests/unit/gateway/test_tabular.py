"""The CSV/XLSX export of listings and reports (``services.gateway.tabular``): headers, cells, round trips."""

from __future__ import annotations

import ast
import csv
import io
from pathlib import Path

from openpyxl import load_workbook

from services.gateway import glossary, tabular

ANSWER = {
    "limit": 2,
    "items": [
        {"agency_id": "A1", "office_area_m2": 18.5, "cost_fen": 123456, "over": True, "tags": ["x", "y"]},
        {"agency_id": "A2", "office_area_m2": 9, "cost_fen": None, "figures": {"energy_tce": 1.25}},
    ],
}


def test_headers_are_chinese_by_default_with_units_and_english_on_request() -> None:
    assert tabular.header("office_area_m2", "zh") == "办公室面积 (m²)"
    assert tabular.header("office_area_m2", "en") == "Office area (m²)"
    assert tabular.header("cost_fen", "zh") == "费用 (分)"
    assert tabular.header("figures.energy_tce", "zh") == "figures·能耗 (tce)"
    # _co2_t must win over _t: "emissions_co2_t" is tonnes of CO₂, not a field "emissions_co2" in tonnes
    assert tabular.header("emissions_co2_t", "en") == "Emissions (t CO₂)"
    assert tabular.header("unknown_field", "zh") == "unknown_field"


def test_no_two_fields_share_a_chinese_header() -> None:
    # two fields of one row under the same header could not be told apart in the spreadsheet
    assert len(set(tabular.GLOSSARY.values())) == len(tabular.GLOSSARY)


def test_columns_follow_the_rows_first_seen_and_nested_objects_flatten() -> None:
    columns, rows = tabular.table(ANSWER, "items")
    assert columns == ["agency_id", "office_area_m2", "cost_fen", "over", "tags", "figures.energy_tce"]
    assert rows[0]["tags"] == "x; y"
    assert rows[1]["figures.energy_tce"] == 1.25


def test_an_answer_without_the_list_is_one_row_and_a_keyed_object_one_row_a_key() -> None:
    assert tabular.rows_of({"year": 2026, "total_fen": 5}, "items") == [{"year": 2026, "total_fen": 5}]
    keyed = {"version": "v1", "categories": {"A01": {"years": 6}, "A02": 8}}
    assert tabular.rows_of(keyed, "categories") == [{"code": "A01", "years": 6}, {"code": "A02", "value": 8}]


def test_csv_has_a_bom_and_spells_cells_as_json_does() -> None:
    response = tabular.export(ANSWER, "items", "csv", "en", "list_agencies")
    text = b"".join(response.response).decode()  # type: ignore[arg-type]
    assert text.startswith("\ufeff")
    lines = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    assert lines[0] == ["Agency id", "Office area (m²)", "Cost (fen)", "Over", "Tags", "Figures·Energy (tce)"]
    assert lines[1] == ["A1", "18.5", "123456", "true", "x; y", ""]
    assert lines[2] == ["A2", "9", "", "", "", "1.25"]
    assert response.headers["Content-Disposition"] == 'attachment; filename="list_agencies.csv"'


def test_a_csv_text_cell_never_starts_as_a_formula_and_numbers_stay_numbers() -> None:
    names = ['=HYPERLINK("http://x","点击")', "+1", "-2+3", "@SUM(A1)", "\tx", "天宁区-教育局", "a=b"]
    answer = {"items": [{"name": name, "count": -5, "tags": ["-x", "y"]} for name in names]}
    text = b"".join(tabular.export(answer, "items", "csv", "en", "rooms").response).decode()  # type: ignore[arg-type]
    lines = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    assert [line[0] for line in lines[1:]] == [
        '\'=HYPERLINK("http://x","点击")',
        "'+1",
        "'-2+3",
        "'@SUM(A1)",
        "'\tx",
        "天宁区-教育局",  # a formula character inside the text is harmless
        "a=b",
    ]
    assert {line[1] for line in lines[1:]} == {"-5"}  # a number, not text: read as the number it is
    assert {line[2] for line in lines[1:]} == {"'-x; y"}  # the cell's start is what counts


def test_xlsx_parses_back_to_the_same_cells_and_never_makes_a_formula() -> None:
    answer = {"items": [{"name": "=HYPERLINK(1)", "area_m2": 12.75, "count": 3}]}
    data = tabular.export(answer, "items", "xlsx", "zh", "rooms").get_data()
    sheet = load_workbook(io.BytesIO(data)).active
    assert sheet is not None
    values = list(sheet.iter_rows(values_only=True))
    assert values == [("名称", "面积 (m²)", "个数"), ("=HYPERLINK(1)", 12.75, 3)]
    assert sheet["A2"].data_type == "s"  # text, not a formula Excel would run


def test_the_glossary_page_lists_every_field_with_its_headers() -> None:
    page = (Path(__file__).resolve().parents[3] / "docs" / "glossary.md").read_text(encoding="utf-8")
    assert page == glossary.markdown(), "regenerate: python -m services.gateway.glossary > docs/glossary.md"
    assert "| `office_area` | 办公室面积 | Office area |" in page


def test_ids_and_codes_keying_an_object_are_data_not_fields_to_name() -> None:
    assert tabular.unnamed_parts("by_holder.11320402MB0000078R.book_value_fen") == []
    assert tabular.unnamed_parts("districts.320481.some_new_field_m2") == ["some_new_field"]


def test_a_csv_made_again_writes_only_its_new_rows_and_equals_one_made_whole() -> None:
    kept = tabular.KeptLines()
    first = tabular.csv_of(ANSWER, "items", "zh", kept)
    assert first == tabular.export(ANSWER, "items", "csv", "zh", "a").get_data()
    a1, a2 = ANSWER["items"]  # type: ignore[index]
    # the same first row (the same object: kept), a new second one: only its line is written again
    changed = {"items": [a1, {**a2, "cost_fen": 7}]}
    second = tabular.csv_of(changed, "items", "zh", kept)
    assert second == tabular.export(changed, "items", "csv", "zh", "a").get_data()
    assert second.split(b"\r\n")[1] == first.split(b"\r\n")[1]
    assert second.split(b"\r\n")[2].split(b",")[2] == b"7"
    # a kept row's line is not taken when the columns moved (a new row brings one): every line again
    kept.made[3][id(a1)] = (a1, kept.made[3][id(a1)][1], b"stale\r\n")
    wider = {"items": [{"new_figure": 1, **a1}, a1]}
    assert tabular.csv_of(wider, "items", "zh", kept) == tabular.export(wider, "items", "csv", "zh", "a").get_data()
    # nor when the language changed
    kept.made[3][id(a1)] = (a1, kept.made[3][id(a1)][1], b"stale\r\n")
    assert tabular.csv_of(wider, "items", "en", kept) == tabular.export(wider, "items", "csv", "en", "a").get_data()
    # a line is the kept row's own while the columns stand (the stale text shows it was taken, not written)
    kept.made[3][id(a1)] = (a1, kept.made[3][id(a1)][1], b"stale\r\n")
    assert b"stale" in tabular.csv_of(wider, "items", "en", kept)
    # and so is the header line, written once while the columns and the language stand
    columns, lang, _, lines = kept.made
    kept.made = (columns, lang, "\ufeffstale header\r\n".encode(), lines)
    assert tabular.csv_of(wider, "items", "en", kept).startswith("\ufeffstale header\r\n".encode())
    assert tabular.csv_of(wider, "items", "zh", kept) == tabular.export(wider, "items", "csv", "zh", "a").get_data()


def _evidence_keys() -> dict[str, set[str]]:
    """The keys of every finding's evidence the domains build (``evidence = {...}`` or ``evidence={...}``), by
    module: a finding's evidence is flattened into columns of its export (``evidence.<key>``)."""
    found: dict[str, set[str]] = {}
    for path in sorted(Path("services").glob("*/domain/*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            assigned = isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "evidence" for t in node.targets)
            passed = isinstance(node, ast.keyword) and node.arg == "evidence"
            value = getattr(node, "value", None) if assigned or passed else None
            if isinstance(value, ast.Dict):
                keys = {k.value for k in value.keys if isinstance(k, ast.Constant) and isinstance(k.value, str)}
                found.setdefault(str(path), set()).update(keys)
    return found


def test_every_key_of_a_findings_evidence_has_a_header() -> None:
    """The export test walks the routes with the findings its data makes; a kind of finding it made none of
    (a meter's flat line, a supplier ring) still exports its evidence in the city's data: every key named."""
    keys = _evidence_keys()
    assert "services/energy/domain/anomalies.py" in keys and "services/procurement/domain/quotes.py" in keys
    unnamed = {path: sorted(k for k in found if tabular.unnamed_parts(f"evidence.{k}")) for path, found in keys.items()}
    assert {path: gaps for path, gaps in unnamed.items() if gaps} == {}
