"""Every listing and report as CSV or XLSX: one mechanism for all the gateway's table routes.

Government users live in spreadsheets, so a route declared with ``api(..., table=...)`` (every listing and
report) also answers ``?format=csv`` / ``?format=xlsx`` (or ``Accept: text/csv`` / the XLSX media type),
with the same figures as its JSON:

- the rows are the answer's list named by the route's ``table`` (``"items"`` for listings); an answer
  without that list (a report of one object) is one row;
- a row's nested objects become ``parent.child`` columns, lists of plain values one cell joined by ``; ``,
  lists of objects one cell of JSON text, so nothing of the JSON is lost or changed;
- the columns are the rows' keys in first-seen order; their headers are Chinese by default (``?lang=en``
  for English), from ``GLOSSARY`` by the key's name, with the unit its suffix declares (``area_m2`` →
  ``面积 (m²)``): a key never named in the glossary keeps its own name, so a new field still exports;
- CSV is streamed row by row (UTF-8 with a byte-order mark, which Excel needs to read Chinese); XLSX is
  built with openpyxl's write-only workbook, numbers kept as numbers.

Why one mechanism and not per-endpoint writers: the columns follow the JSON, so an export cannot drift
from the JSON it is supposed to equal (``tests/e2e/test_exports.py`` checks every table route).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterator
from typing import Any

from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.wrappers import Request, Response

from services.common.kernel.cells import formula_safe
from services.common.kernel.errors import BadRequest
from services.gateway.glossary import GLOSSARY

CSV = "text/csv"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MEDIA_TYPES = {"csv": CSV, "xlsx": XLSX}
"""``?format=`` value → media type of the answer (``json`` is the default and the JSON answer)."""

EXPORT_PARAMETERS = ("format", "lang", "table")
"""Query parameters of the export itself, taken off the query before the route validates it."""

UNITS: tuple[tuple[str, str, str], ...] = (
    ("_fen", "分", "fen"),
    ("_yuan", "元", "yuan"),
    ("_m2", "m²", "m²"),
    ("_m3", "m³", "m³"),
    ("_kwh", "kWh", "kWh"),
    ("_tce", "tce", "tce"),
    ("_kgce", "kgce", "kgce"),
    ("_co2_t", "t CO₂", "t CO₂"),
    ("_t", "t", "t"),
    ("_kg", "kg", "kg"),
    ("_km", "km", "km"),
    ("_litres", "L", "L"),
    ("_l", "L", "L"),
    ("_pct", "%", "%"),
    ("_percent", "%", "%"),
    ("_days", "天", "days"),
    ("_months", "月", "months"),
    ("_years", "年", "years"),
    ("_hours", "小时", "hours"),
    ("_minutes", "分钟", "minutes"),
    ("_per_person", "每人", "per person"),
)
"""Key suffix → unit (Chinese, English), longest first where one suffix ends another (``_co2_t``/``_t``)."""


def requested_format(request: Request) -> str:
    """``json``, ``csv`` or ``xlsx``: ``?format=`` first, else the first of the ``Accept`` header's export
    media types, else JSON (so a client sending ``Accept: */*`` keeps getting JSON). 400 for an unknown
    ``?format=``."""
    asked = request.args.get("format")
    if asked is not None:
        if asked not in ("json", *MEDIA_TYPES):
            raise BadRequest(f"unknown format {asked[:20]!r}", fields={"format": ["one of json, csv, xlsx"]})
        return asked
    accepted = request.accept_mimetypes
    for name, media_type in MEDIA_TYPES.items():
        if accepted.quality(media_type) > 0 and media_type in {value for value, _ in accepted}:
            return name
    return "json"


def requested_language(request: Request) -> str:
    """``zh`` (the default) or ``en`` for the headers; 400 for any other ``?lang=``."""
    lang = request.args.get("lang", "zh")
    if lang not in ("zh", "en"):
        raise BadRequest(f"unknown language {lang[:20]!r}", fields={"lang": ["zh or en"]})
    return lang


def without_export_parameters(request: Request) -> None:
    """Take ``format`` and ``lang`` off the request's query, so the route's query schema (which refuses
    unknown parameters) sees only its own."""
    kept = [(k, v) for k, v in request.args.items(multi=True) if k not in EXPORT_PARAMETERS]
    request.args = ImmutableMultiDict(kept)


def header(key: str, lang: str) -> str:
    """The column header of ``key``: its name and its unit, e.g. ``面积 (m²)`` or ``Area (m²)``.

    A nested key (``parent.child``) is headed by each part's name, joined by ``·``."""
    return "·".join(_part_header(part, lang) for part in key.split("."))


FIELD_NAME = re.compile(r"[a-z][a-z0-9_]*")
"""What a field name looks like (snake case); other key parts are data (ids, codes)."""


def unnamed_parts(key: str) -> list[str]:
    """The field names among a column key's parts (without their unit suffix) the glossary has no Chinese name
    for; a part that is data, not a field name (an agency id or district code keying an object), is left out."""
    bases = (_split_unit(part)[0] for part in key.split("."))
    return [base for base in bases if FIELD_NAME.fullmatch(base) and base not in GLOSSARY]


def _split_unit(key: str) -> tuple[str, tuple[str, str] | None]:
    for suffix, zh, en in UNITS:
        if key.endswith(suffix) and len(key) > len(suffix):
            return key[: -len(suffix)], (zh, en)
    return key, None


def _part_header(key: str, lang: str) -> str:
    base, units = _split_unit(key)
    unit = None if units is None else units[0 if lang == "zh" else 1]
    name = GLOSSARY.get(base, base) if lang == "zh" else base.replace("_", " ")
    if lang == "en" and name:
        name = name[0].upper() + name[1:]
    return f"{name} ({unit})" if unit else name


def rows_of(body: Any, table: str) -> list[dict[str, Any]]:
    """The rows of an answer: its list named ``table`` (an object of that name keyed by code: one row a
    key, the key in column ``code``), or the answer itself as one row."""
    found = body.get(table) if isinstance(body, dict) else None
    if isinstance(found, list):
        return [row if isinstance(row, dict) else {"value": row} for row in found]
    if isinstance(found, dict):
        return [{"code": key, **(row if isinstance(row, dict) else {"value": row})} for key, row in found.items()]
    if isinstance(body, list):
        return [row if isinstance(row, dict) else {"value": row} for row in body]
    return [body] if isinstance(body, dict) else [{"value": body}]


def flatten(row: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """A row as flat cells: nested objects as ``parent.child`` keys, lists of plain values joined by
    ``; ``, lists holding objects as JSON text."""
    cells: dict[str, Any] = {}
    for key, value in row.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            cells.update(flatten(value, f"{name}."))
        elif isinstance(value, dict):
            cells[name] = None
        elif isinstance(value, list):
            plain = all(not isinstance(v, dict | list) for v in value)
            cells[name] = "; ".join(plain_text(v) for v in value) if plain else json.dumps(value, ensure_ascii=False)
        else:
            cells[name] = value
    return cells


def table(body: Any, table_key: str) -> tuple[list[str], list[dict[str, Any]]]:
    """(columns, flat rows) of an answer: the columns in first-seen order over all rows."""
    rows = [flatten(row) for row in rows_of(body, table_key)]
    columns: dict[str, None] = {}
    for row in rows:
        columns.update(dict.fromkeys(row))
    return list(columns), rows


def plain_text(value: Any) -> str:
    """A value as text: empty for null, ``true``/``false`` as JSON spells them, numbers as JSON does."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    return str(value)


def cell_text(value: Any) -> str:
    """A cell as CSV text (``plain_text``), a text starting as a formula would after a ``'`` (``cells.formula_safe``):
    an agency's name a district registered as ``=HYPERLINK(…)`` or ``@SUM(…)`` must not run in the spreadsheet of
    whoever opens the export. Numbers are numbers (``-5`` stays as it is); in the XLSX, text is always text."""
    text = plain_text(value)
    return formula_safe(text) if isinstance(value, str) else text


def _line_writer() -> Callable[[list[str]], bytes]:
    """A function writing one CSV line of cells."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def line(cells: list[str]) -> bytes:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(cells)
        return buffer.getvalue().encode()

    return line


def _header_line(columns: list[str], lang: str, line: Callable[[list[str]], bytes]) -> bytes:
    return "\ufeff".encode() + line([header(c, lang) for c in columns])


def _csv_lines(columns: list[str], rows: list[dict[str, Any]], lang: str) -> Iterator[bytes]:
    line = _line_writer()
    yield _header_line(columns, lang, line)
    for row in rows:
        yield line([cell_text(row.get(c)) for c in columns])


class KeptLines:
    """The CSV lines of the rows an answer's download was last made of, by row (``csv_of``): an answer made again
    after a batch keeps most of its rows (the same objects: ``figures.KeptFigures`` keeps an unchanged agency's
    entry), and only the new rows are flattened and written again (a city's agencies CSV is seconds to write
    whole on a busy core, and readings arrive every second)."""

    __slots__ = ("made",)

    def __init__(self) -> None:
        self.made: tuple[list[str], str, bytes, dict[int, tuple[dict[str, Any], tuple[str, ...], bytes]]] = (
            [],
            "",
            b"",
            {},
        )
        """The columns, the language, the header line and id(row) → (the row, its flat keys, its line) of the last
        download made (replaced whole); the row is held, so its id is no other row's."""


def csv_of(body: Any, table_key: str, lang: str, kept: KeptLines) -> bytes:
    """The CSV download of the table ``table_key`` of ``body`` (what ``export`` streams, byte for byte), with
    the lines of the rows ``kept`` knows taken from it, and ``kept`` left with this one's."""
    kept_columns, kept_lang, kept_header, kept_lines = kept.made
    rows = rows_of(body, table_key)
    found: list[tuple[dict[str, Any], tuple[str, ...], bytes | None]] = []
    columns: dict[str, None] = {}
    shapes = {keys: keys for _, keys, _ in kept_lines.values()}  # rows of the same keys share one tuple of them
    last: tuple[str, ...] | None = None
    for row in rows:
        known = kept_lines.get(id(row))
        if known is None or known[0] is not row:
            keys = tuple(flatten(row))
            found.append((row, shapes.setdefault(keys, keys), None))
        else:
            found.append(known)
        if found[-1][1] is not last:  # the columns of a shape seen just before are in already
            last = found[-1][1]
            columns.update(dict.fromkeys(last))
    listed = list(columns)
    same = listed == kept_columns and lang == kept_lang
    lines: dict[int, tuple[dict[str, Any], tuple[str, ...], bytes]] = {}
    write = _line_writer()
    out = [kept_header if same else _header_line(listed, lang, write)]
    for row, keys, line in found:
        if line is None or not same:
            flat = flatten(row)
            line = write([cell_text(flat.get(c)) for c in listed])
        lines[id(row)] = (row, keys, line)
        out.append(line)
    kept.made = (listed, lang, out[0], lines)
    return b"".join(out)


def xlsx_bytes(sheets: list[tuple[str, list[str], list[dict[str, Any]]]], lang: str) -> bytes:
    """(title, columns, rows) of each sheet as one XLSX workbook (openpyxl, write-only): a header row, then
    the cells, numbers as numbers."""
    from openpyxl import Workbook  # imported when an XLSX is asked for: openpyxl is 10 MB the gateway need not hold

    book = Workbook(write_only=True)
    for title, columns, rows in sheets:
        sheet = book.create_sheet(title=title[:31] or "export")
        sheet.append([header(c, lang) for c in columns])
        for row in rows:
            sheet.append([_xlsx_cell(sheet, row.get(c)) for c in columns])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _xlsx_cell(sheet: Any, value: Any) -> Any:
    """A cell's value for openpyxl; text starting with ``=`` stays text (never a formula Excel would run)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and value.startswith("="):
        from openpyxl.cell import WriteOnlyCell

        cell = WriteOnlyCell(sheet, value)
        cell.data_type = "s"
        return cell
    return value


SUMMARY = "summary"
"""The pseudo-table of a report with several lists: its other figures, as one row."""


def table_names(declared: str, body: Any) -> list[str]:
    """The tables of an answer: the declared list names (``a,b``), and ``summary`` when the route declares
    several and the answer has figures besides them."""
    names = declared.split(",")
    others = isinstance(body, dict) and any(k not in names and not isinstance(v, list) for k, v in body.items())
    if len(names) > 1 and others:
        names.append(SUMMARY)
    return names


def table_of(body: Any, declared: str, name: str) -> tuple[list[str], list[dict[str, Any]]]:
    """(columns, flat rows) of the table ``name`` of an answer whose route declares ``declared``."""
    if name == SUMMARY:
        lists = declared.split(",")
        return table({k: v for k, v in body.items() if k not in lists and not isinstance(v, list)}, SUMMARY)
    return table(body, name)


def summary_text(body: Any, declared: str) -> str:
    """The ``summary`` table of an answer as text, to tell whether a download made of it before still shows it."""
    columns, rows = table_of(body, declared, SUMMARY)
    return json.dumps([columns, rows], sort_keys=True, default=str, ensure_ascii=False)


def export(
    body: Any,
    declared: str,
    fmt: str,
    lang: str,
    name: str,
    chosen: str | None = None,
    kept: KeptLines | None = None,
) -> Response:
    """The answer ``body`` of route ``name`` as a CSV (streamed) or XLSX download.

    A route declaring several lists (``a,b``: a report of several tables) gives one XLSX sheet each (and a
    ``summary`` sheet of its other figures); its CSV is one of them, ``chosen`` by ``?table=`` (the first by
    default); ``kept`` the lines of a download made before of an answer like it (``csv_of``)."""
    names = table_names(declared, body)
    disposition = f'attachment; filename="{name}.{fmt}"'
    if fmt == "csv":
        if chosen is not None and chosen not in names:
            raise BadRequest(f"no table {chosen[:40]!r}", fields={"table": [f"one of {', '.join(names)}"]})
        shown = chosen or names[0]
        if kept is not None and shown != SUMMARY:
            response = Response(csv_of(body, shown, lang, kept), content_type=f"{CSV}; charset=utf-8")
        else:
            columns, rows = table_of(body, declared, shown)
            response = Response(_csv_lines(columns, rows, lang), content_type=f"{CSV}; charset=utf-8")
    else:
        titles = [name] if len(names) == 1 else names
        sheets = [
            (title, *table_of(body, declared, table_name)) for title, table_name in zip(titles, names, strict=True)
        ]
        response = Response(xlsx_bytes(sheets, lang), content_type=XLSX)
    response.headers["Content-Disposition"] = disposition
    return response
