"""Tenders as OCDS 1.1 releases (``services.procurement.domain.ocds``), validated against the vendored schema.

libcoveocds and ocdskit fetch the schema over the network at run time; the tests must run offline, so the
release-package schema of OCDS 1.1.5 and its release schema are vendored (``contracts/ocds/1__1__5/``) and
checked with jsonschema (draft 4, as OCDS 1.1 is written), the release schema's URL resolved to the file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jsonschema import Draft4Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from services.procurement.domain.ocds import record_package, release_package, tender_release

SCHEMAS = Path(__file__).resolve().parents[3] / "contracts" / "ocds" / "1__1__5"
RELEASE_URL = "https://standard.open-contracting.org/schema/1__1__5/release-schema.json"


def _errors(package: dict[str, Any], kind: str = "release") -> list[str]:
    """Every error of a release (or, ``kind="record"``, record) package against the vendored OCDS schema."""
    release = json.loads((SCHEMAS / "release-schema.json").read_text(encoding="utf-8"))
    registry = Registry().with_resource(RELEASE_URL, Resource.from_contents(release, default_specification=DRAFT4))
    schema = json.loads((SCHEMAS / f"{kind}-package-schema.json").read_text(encoding="utf-8"))
    validator = Draft4Validator(schema, registry=registry, format_checker=FormatChecker())
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(package)]


TENDER = {
    "id": "TD-1",
    "status": "awarded",
    "item_code": "A02010104",
    "lots": [
        {"request_id": "PR-1", "agency_id": "11320402MB00000012", "quantity": 10},
        {"request_id": "PR-2", "agency_id": "11320402MB00000025", "quantity": 5},
    ],
    "reference_unit_price_fen": 450000,
    "closes_at": "2026-03-10T02:00:00+00:00",
    "bids": {
        "B1": {"bid_id": "B1", "supplier_id": "S1", "unit_price_fen": 430000},
        "B2": {"bid_id": "B2", "supplier_id": "S2", "unit_price_fen": 440000},
    },
    "winner": {"bid_id": "B1", "supplier_id": "S1", "unit_price_fen": 430000},
}
CONTRACT = {
    "id": "CT-1",
    "amount_fen": 4300000,
    "signed_on": "2026-03-12",
    "delivery_due": "2026-04-12",
    "fulfilled_on": None,
    "deliveries": {"DL-1": {"quantity": 4, "delivered_on": "2026-03-20"}},
}


def test_an_awarded_tender_with_its_contract_is_a_valid_ocds_release() -> None:
    release = tender_release("ocds-abc123", TENDER, [CONTRACT], "2026-03-20T03:00:00+00:00")
    package = release_package([release], "https://example.gov.cn/ocds/TD-1.json", "2026-03-21T00:00:00+00:00")
    assert _errors(package) == []
    assert release["ocid"] == "ocds-abc123-TD-1" and release["tag"] == ["tender", "award", "contract"]
    # 15 units (10 + 5) at the reference 4 500.00 yuan = 67 500.00; awarded at 4 300.00 = 64 500.00
    assert release["tender"]["value"] == {"amount": 67500.0, "currency": "CNY"}
    assert release["awards"][0]["value"] == {"amount": 64500.0, "currency": "CNY"}
    roles = {p["id"]: p["roles"] for p in release["parties"]}
    assert roles["S1"] == ["tenderer", "supplier"] and roles["S2"] == ["tenderer"]
    assert roles["11320402MB00000012"] == ["buyer"] and roles["GOA"] == ["procuringEntity"]
    milestone = release["contracts"][0]["implementation"]["milestones"][0]
    assert milestone["type"] == "delivery" and milestone["dateMet"] == "2026-03-20T00:00:00+08:00"


def test_the_schema_check_catches_a_broken_release() -> None:
    release = tender_release("ocds-abc123", {**TENDER, "winner": None}, [], "2026-03-20T03:00:00+00:00")
    assert release["tag"] == ["tender"]
    del release["ocid"]
    release["tender"]["status"] = 7
    package = release_package([release], "https://example.gov.cn/ocds/TD-1.json", "2026-03-21T00:00:00+00:00")
    errors = _errors(package)
    assert any("'ocid' is a required property" in e for e in errors), errors


def test_the_compiled_record_of_a_tender_is_its_release_and_valid() -> None:
    release = tender_release("ocds-abc123", TENDER, [CONTRACT], "2026-03-20T03:00:00+00:00")
    package = record_package([release], "https://example.gov.cn/ocds/records.json", "2026-03-21T00:00:00+00:00")
    assert _errors(package, "record") == []
    (record,) = package["records"]
    assert record["ocid"] == "ocds-abc123-TD-1" and record["compiledRelease"] == release
    broken = {**package, "records": [{"releases": [release]}]}  # a record without its ocid
    assert any("'ocid' is a required property" in e for e in _errors(broken, "record"))
