"""Bring a city's history in: facts from CSV, XLSX, JSON or JSON-lines files sent through the gateway's commands.

    python -m infra.local.importer history/units.csv history/tenancies.csv history/vehicles.json
    python -m infra.local.importer history/city.xlsx                 # one sheet per template, as the CSV files
    python -m infra.local.importer --dry-run history/*.csv          # read, order and check the files only

Every row is one fact: its ``fact`` (the command, see ``FACTS``), its ``at`` (the day or time the fact happened,
which orders the history) and the command's fields (docs/import.md). The rows of all files are sent in the
order the facts happened (a file's own order breaks ties), each as one ``POST`` with an ``Idempotency-Key``
made of the file's name and the row's number, so running the same files again changes nothing twice; a state
file beside the first file (``--state``) records every row answered, so an interrupted import resumes where it
stopped. A row refused by the platform (422 and the like) is refused for good and reported with the reasons;
an unreachable gateway or a 5xx is retried. At the end a summary says how many rows were accepted, refused
(by fact and error code, with examples) and skipped as done before.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import http.client
import json
import math
import re
import sys
import time
import urllib.parse
import zipfile
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from datetime import time as clock
from pathlib import Path
from typing import Any

from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from services.common.base.settings import settings
from services.common.kernel.clock import CHINA_STANDARD_TIME
from services.common.kernel.schemas import PLAIN_NUMBER, plain_number_text

FACTS: dict[str, str] = {
    # office space: agencies, operating properties, inspections, leases
    "register_agency": "/agencies",
    "register_property": "/operating-properties",
    "add_property_unit": "/operating-properties/{property_id}/units",
    "let_unit": "/operating-properties/{property_id}/units/{unit_id}/tenancy",
    "vacate_unit": "/operating-properties/{property_id}/units/{unit_id}/vacate",
    "receive_rent": "/operating-properties/{property_id}/units/{unit_id}/rent",
    "open_inspection": "/inspections",
    "record_finding": "/inspections/{inspection_id}/findings",
    "record_unapproved_lease": "/leases/unapproved",
    # vehicles
    "set_vehicle_quota": "/agencies/{agency_id}/vehicle-quota",
    "register_vehicle": "/vehicles",
    "dispose_vehicle": "/vehicles/{vehicle_id}/disposal",
    "record_expense": "/vehicles/{vehicle_id}/expenses",
    "record_fuel": "/vehicles/{vehicle_id}/fuel",
    "record_charging": "/vehicles/{vehicle_id}/charging",
    "record_repair": "/vehicles/{vehicle_id}/repairs",
    # assets and the warehouse
    "register_asset": "/assets",
    "lend_assets": "/warehouse/loans",
    "return_loan_items": "/warehouse/loans/{loan_id}/returns",
    # procurement
    "list_catalog_item": "/catalog-items",
    "open_budget_line": "/budget-lines",
    "adjust_budget_line": "/budget-lines/{budget_line_id}/adjustment",
    "submit_purchase_request": "/purchase-requests",
    "open_tender": "/tenders",
    "submit_bid": "/tenders/{tender_id}/bids",
    "close_bidding": "/tenders/{tender_id}/close",
    "evaluate_bid": "/tenders/{tender_id}/bids/{bid_id}/evaluation",
    "award_tender": "/tenders/{tender_id}/award",
    "sign_contract": "/contracts",
    "record_delivery": "/contracts/{contract_id}/deliveries",
    "inspect_delivery": "/contracts/{contract_id}/deliveries/{delivery_id}/inspection",
}
"""The facts an import may carry and the gateway route (under ``/api/v1``) each is sent to; the fields in
braces are taken out of the row into the path."""


def _number(read: Callable[[str], Any]) -> Callable[[str], Any]:
    def number(text: str) -> Any:
        if not plain_number_text(text):  # int() reads ١٢, ５, 1_0 and " 7": a cell meant as another number
            raise ValueError(PLAIN_NUMBER)
        value = read(text)
        if not math.isfinite(value):
            raise ValueError("not a finite number")
        return value

    return number


_BOOLEANS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


def _boolean(text: str) -> bool:
    try:
        return _BOOLEANS[text.strip().lower()]
    except KeyError:
        raise ValueError("true or false (1/0, yes/no)") from None  # a typo is not False


TYPES: dict[str, Callable[[str], Any]] = {
    "int": _number(int),
    "float": _number(float),
    "bool": _boolean,
    "json": json.loads,
}
"""CSV column suffixes (``amount_fen:int``): a column without one is text; an empty cell is left out. A number is
ASCII digits (``kernel.schemas.plain_number_text``) and finite; a boolean one of true/false, 1/0, yes/no."""

_KEY = re.compile(r"^[A-Za-z0-9_.:-]{1,100}$")
"""What the gateway takes as an Idempotency-Key (``services.gateway.web``): other keys are sent hashed."""

RETRIED = (0, 502, 503, 504)
"""Answers that pass: unreachable, bad gateway, unavailable, timeout — the row is sent again with its key."""

PASSING_CODES = frozenset({"unknown_agency", "service_unavailable"})
"""Refusals that pass too: an agency registered by an earlier row that the service answering this one has not
learned yet (events reach each service in their own time), a service restarting. Sent again with the key; a
row still refused so after every attempt is reported as refused."""


@dataclass(frozen=True)
class Row:
    """One fact of a file: where it came from, when it happened, what it is and its fields."""

    source: str
    number: int
    at: str
    fact: str
    body: dict[str, Any]

    @property
    def ref(self) -> str:
        """``file:row`` or ``file:sheet:row`` (rows counted from 1, the header not counted)."""
        return f"{self.source}:{self.number}"

    @property
    def key(self) -> str:
        """The row's Idempotency-Key: the same for the same file name (and sheet) and row on every run; hashed
        when the name is not what the gateway takes as a key (too long, or other than ASCII letters, digits and
        ``_.:-``, e.g. a sheet named 单位)."""
        raw = f"import.{self.source}.{self.number}"
        return raw if _KEY.match(raw) else f"import.{hashlib.sha256(raw.encode()).hexdigest()[:48]}"


class ImportFileError(ValueError):
    """A file cannot be read as a history (a row without ``fact``/``at``, an unknown fact, a bad cell)."""


def _cell(name: str, value: str) -> tuple[str, Any]:
    column, _, kind = name.partition(":")
    if not kind:
        return column, value
    if kind not in TYPES:
        raise ImportFileError(f"column {name}: unknown type {kind} (one of {', '.join(TYPES)})")
    try:
        return column, TYPES[kind](value)
    except ValueError as exc:
        raise ImportFileError(f"column {name}: {value!r} is not {kind} ({exc})") from exc


def _xlsx_cell(name: str, value: Any) -> tuple[str, Any]:
    """A workbook cell as the CSV cell of the same column would be read: typed columns (``amount_fen:int``)
    take the number Excel keeps, an untyped column is text (``7`` not ``7.0``), a date cell is an ISO day and a
    date-time cell an ISO time in China Standard Time (the city's clock; Excel keeps no offset)."""
    column, _, kind = name.partition(":")
    if isinstance(value, datetime):
        text = (
            value.date().isoformat()
            if value.time() == clock(0) and value.tzinfo is None
            else (value if value.tzinfo else value.replace(tzinfo=CHINA_STANDARD_TIME)).isoformat()
        )
        return _cell(name, text)
    if isinstance(value, date):
        return _cell(name, value.isoformat())
    if isinstance(value, str):
        return _cell(name, value)
    if isinstance(value, bool):
        if kind not in ("", "bool"):
            raise ImportFileError(f"column {name}: {value!r} is not {kind}")
        return column, value if kind else str(value).lower()
    if kind == "float":
        return column, float(value)
    if isinstance(value, float) and not value.is_integer():
        if kind == "int":
            raise ImportFileError(f"column {name}: {value!r} is not int")
        return _cell(name, repr(value))
    return _cell(name, str(int(value)))


def _sheets(path: Path) -> Iterable[tuple[str, Iterable[dict[str, Any]]]]:
    """Each sheet of a workbook as one CSV file would be: a header row, then a record a row (blank rows and
    empty cells left out); formulas are read as Excel last computed them."""
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile) as exc:
        raise ImportFileError(f"{path}: not an XLSX workbook ({exc})") from exc
    try:
        for sheet in workbook.worksheets:
            lines = sheet.iter_rows(values_only=True)
            header = [str(h).strip() if h is not None else "" for h in next(lines, ())]
            records = [
                dict(_xlsx_cell(k, v) for k, v in zip(header, line, strict=False) if k and v not in (None, ""))
                for line in lines
                if any(v not in (None, "") for v in line)
            ]
            yield f"{path.name}:{sheet.title}", records
    finally:
        workbook.close()


def _sources(path: Path) -> Iterable[tuple[str, Iterable[dict[str, Any]]]]:
    """The named sources of a file and their records: the file itself, or each sheet of a workbook."""
    if path.suffix.lower() == ".xlsx":
        yield from _sheets(path)
        return
    text = path.read_text(encoding="utf-8-sig")
    if path.suffix.lower() == ".csv":
        yield (
            path.name,
            (
                dict(_cell(k, v) for k, v in record.items() if k and v not in (None, ""))
                for record in csv.DictReader(text.splitlines())
            ),
        )
    elif path.suffix.lower() == ".jsonl":
        yield path.name, (json.loads(line) for line in text.splitlines() if line.strip())
    elif path.suffix.lower() == ".json":
        loaded = json.loads(text)
        yield path.name, loaded if isinstance(loaded, list) else loaded["facts"]
    else:
        raise ImportFileError(f"{path}: a history file is .csv, .xlsx, .json or .jsonl")


def read_rows(paths: Sequence[Path]) -> list[Row]:
    """Every fact of the files, in the order the facts happened (by ``at``; then the files' order as given,
    a workbook's sheets in their order, then the rows' order in a file or sheet)."""
    rows: list[tuple[int, Row]] = []
    sources = (source for path in paths for source in _sources(path))
    for position, (source, records) in enumerate(sources):
        for number, record in enumerate(records, start=1):
            body = dict(record)
            fact, at = body.pop("fact", None), body.pop("at", None)
            where = f"{source}:{number}"
            if fact not in FACTS:
                raise ImportFileError(f"{where}: unknown fact {fact!r} (one of {', '.join(sorted(FACTS))})")
            if not isinstance(at, str) or len(at) < 10:
                raise ImportFileError(f"{where}: 'at' must be the ISO day or time the fact happened")
            rows.append((position, Row(source, number, at, fact, body)))
    rows.sort(key=lambda item: (_instant(item[1].at), item[0], item[1].number))
    return [row for _, row in rows]


def _instant(at: str) -> str:
    """``at`` as comparable text: a day is its midnight, a time is kept to the second (offsets as given)."""
    return at if len(at) > 10 else f"{at}T00:00:00"


def route(row: Row) -> tuple[str, dict[str, Any]]:
    """The path of a row's command and the body left once the path's fields are taken out."""
    template, body = FACTS[row.fact], dict(row.body)
    names = [part.split("}")[0] for part in template.split("{")[1:]]
    missing = [n for n in names if n not in body]
    if missing:
        raise ImportFileError(f"{row.ref}: {row.fact} needs {', '.join(missing)}")
    values = {n: urllib.parse.quote(str(body.pop(n)), safe="") for n in names}
    return template.format(**values), body


@dataclass
class Summary:
    """What an import did: rows accepted, refused (with reasons) and skipped (done by an earlier run)."""

    total: int = 0
    accepted: int = 0
    refused: int = 0
    skipped: int = 0
    refusals: Counter[str] = field(default_factory=Counter)
    examples: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """The summary as JSON-ready data."""
        return {
            "total": self.total,
            "accepted": self.accepted,
            "refused": self.refused,
            "skipped": self.skipped,
            "refused_by_reason": dict(sorted(self.refusals.items())),
            "examples": self.examples,
        }


class Gateway:
    """The gateway's HTTP API for the importer: one connection, the row's Idempotency-Key, retries."""

    def __init__(self, base_url: str, token: str, timeout: float = 60.0) -> None:
        parts = urllib.parse.urlsplit(base_url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.base = parts.path.rstrip("/") + "/api/v1"
        self.token, self.timeout = token, timeout
        self.conn: http.client.HTTPConnection | None = None

    def post(self, path: str, body: dict[str, Any], key: str, attempts: int = 8) -> tuple[int, Any]:
        """The command's status and answer; retried while the answer passes (see ``RETRIED``)."""
        data = json.dumps(body, ensure_ascii=False).encode()
        headers = {
            "Authorization": f"Bearer {self.token}",
            "Content-Type": "application/json",
            "Idempotency-Key": key,
        }
        status, answer = 0, None
        for attempt in range(attempts):
            try:
                self.conn = self.conn or http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
                self.conn.request("POST", self.base + path, body=data, headers=headers)
                response = self.conn.getresponse()
                status, raw = response.status, response.read()
                answer = json.loads(raw) if raw else None
            except (OSError, http.client.HTTPException, ValueError) as exc:
                if self.conn is not None:
                    self.conn.close()
                self.conn, status, answer = None, 0, {"error": "unreachable", "message": str(exc)}
            passing = isinstance(answer, dict) and answer.get("error") in PASSING_CODES
            if status not in RETRIED and not passing:
                return status, answer
            time.sleep(min(8.0, 0.5 * 2**attempt))
        return status, answer


def run(
    rows: Sequence[Row],
    gateway: Gateway,
    state_path: Path,
    progress_every: int = 50,
    out: Any = sys.stderr,
) -> Summary:
    """Send the rows in order, skipping those the state file records as answered; record each answer there."""
    done: dict[str, str] = json.loads(state_path.read_text()) if state_path.exists() else {}
    summary = Summary(total=len(rows))
    for n, row in enumerate(rows, start=1):
        if row.key in done:
            summary.skipped += 1
        else:
            path, body = route(row)
            status, answer = gateway.post(path, body, row.key)
            if 200 <= status < 300:
                summary.accepted += 1
                done[row.key] = "accepted"
            elif status in RETRIED:
                raise SystemExit(f"{row.ref}: the gateway did not answer ({answer}); run again to resume")
            else:
                code = answer.get("error", str(status)) if isinstance(answer, dict) else str(status)
                summary.refused += 1
                summary.refusals[f"{row.fact}: {code}"] += 1
                if len(summary.examples) < 20:
                    fields = answer.get("fields") if isinstance(answer, dict) else None
                    summary.examples.append(
                        {"row": row.ref, "fact": row.fact, "status": status, "error": code}
                        | ({"fields": fields} if fields else {})
                    )
                done[row.key] = f"refused {status} {code}"
            state_path.write_text(json.dumps(done, indent=0, ensure_ascii=False))
        if n % progress_every == 0 or n == len(rows):
            print(
                f"{n}/{len(rows)} rows: {summary.accepted} accepted, {summary.refused} refused, "
                f"{summary.skipped} done before",
                file=out,
                flush=True,
            )
    return summary


def main(argv: list[str] | None = None) -> None:
    """The command line (see the module's docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", type=Path, help="history files (.csv, .xlsx, .json, .jsonl)")
    config = settings()
    parser.add_argument(
        "--gateway", default=f"http://{config.http_host}:{config.port('gateway')}", help="the gateway's base URL"
    )
    parser.add_argument("--token", help="bearer token of a city administrator or a migration token")
    parser.add_argument(
        "--token-file", type=Path, default=config.var_dir / "admin.token", help="read the token from here"
    )
    parser.add_argument("--state", type=Path, help="resume file (default: <first file>.import-state.json)")
    parser.add_argument("--summary-json", type=Path, help="also write the summary to this file")
    parser.add_argument("--dry-run", action="store_true", help="read and order the files, send nothing")
    args = parser.parse_args(argv)
    try:
        rows = read_rows(args.files)
        for row in rows:
            route(row)
    except (ImportFileError, OSError, ValueError, KeyError) as exc:
        parser.exit(2, f"importer: {exc}\n")
    if args.dry_run:
        print(json.dumps({"rows": len(rows), "facts": dict(Counter(r.fact for r in rows))}, ensure_ascii=False))
        return
    token = args.token or (args.token_file.read_text().strip() if args.token_file.exists() else None)
    if not token:
        parser.error("no token: give --token or --token-file")
    state = args.state or args.files[0].with_name(args.files[0].name + ".import-state.json")
    summary = run(rows, Gateway(args.gateway, token), state)
    text = json.dumps(summary.as_dict(), ensure_ascii=False, indent=2)
    print(text)
    if args.summary_json:
        args.summary_json.write_text(text)


if __name__ == "__main__":
    main()
