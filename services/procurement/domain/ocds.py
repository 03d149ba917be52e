"""Procurement as the Open Contracting Data Standard (OCDS 1.1): one release per tender, for watchdogs'
tools (the OCDS schema is vendored in ``contracts/ocds/1__1__5/``; the tests validate against it).

A release is the tender's state as the platform knows it now (``tag`` says which stages it holds): the tender
with its lots' items and tenderers, the award to the lowest compliant bid, and the contracts signed from it
with their deliveries as ``implementation.milestones``; once bidding has closed, every bid with its price and
status (``bids.details``, the OCDS bids extension every package declares). Parties carry their roles
(``buyer`` for each agency whose request is a lot, ``procuringEntity`` for the administration, ``tenderer``
and ``supplier``).

Money: the platform keeps integer fen (``…_fen``); OCDS amounts are in currency units, so each amount is
fen / 100 in CNY — the only conversion here. Dates given as Beijing days become midnight Beijing time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

OCDS_VERSION = "1.1"
PROCURING_ENTITY = "GOA"
"""Party id of the Government Offices Administration, which runs every tender."""

TENDER_STATUS = {"open": "active", "closed": "active", "awarded": "complete", "failed": "unsuccessful"}
"""Tender status → OCDS tenderStatus codelist."""

BIDS_EXTENSION = (
    "https://raw.githubusercontent.com/open-contracting-extensions/ocds_bid_extension/v1.1.5/extension.json"
)
"""The OCDS bids extension (``bids.details``: each bid's tenderer, price and status), declared by every package:
red-flag tools need bid prices, which core OCDS 1.1 has no place for."""

BID_STATUS = {True: "valid", False: "disqualified", None: "pending"}
"""The evaluators' judgement of a bid (compliant, not compliant, not judged yet) → OCDS bidStatus codelist."""


def ocid(prefix: str, tender_id: str) -> str:
    """The Open Contracting ID of a tender: the publisher's registered prefix, then the tender id."""
    return f"{prefix}-{tender_id}"


def _money(fen: int) -> dict[str, Any]:
    return {"amount": fen / 100, "currency": "CNY"}


def _datetime(day_or_time: str) -> str:
    return day_or_time if "T" in day_or_time else f"{day_or_time}T00:00:00+08:00"


def tender_release(
    prefix: str, tender: Mapping[str, Any], contracts: Sequence[Mapping[str, Any]], date: str
) -> dict[str, Any]:
    """The OCDS release of one tender (its ``snapshot_state`` with ``id``) and the contracts signed from it."""
    tender_id = str(tender["id"])
    quantity = sum(int(lot["quantity"]) for lot in tender["lots"])
    parties: dict[str, dict[str, Any]] = {}

    def party(party_id: str, role: str, name: str | None = None) -> dict[str, str]:
        entry = parties.setdefault(party_id, {"id": party_id, "name": name or party_id, "roles": []})
        if role not in entry["roles"]:
            entry["roles"].append(role)
        return {"id": party_id, "name": entry["name"]}

    buyer = party(PROCURING_ENTITY, "procuringEntity", "Government Offices Administration")
    for lot in tender["lots"]:
        party(str(lot["agency_id"]), "buyer")
    tenderers = [party(str(bid["supplier_id"]), "tenderer") for bid in tender["bids"].values()]
    release: dict[str, Any] = {
        "ocid": ocid(prefix, tender_id),
        "id": f"{tender_id}-{date}",
        "date": date,
        "tag": ["tender"],
        "initiationType": "tender",
        "language": "zh",
        "buyer": buyer,
        "tender": {
            "id": tender_id,
            "status": TENDER_STATUS.get(str(tender["status"]), "planned"),
            "procuringEntity": buyer,
            "items": [
                {
                    "id": str(lot["request_id"]),
                    "description": f"{tender['item_code']} for {lot['agency_id']}",
                    "classification": {"scheme": "x_CN_GPC", "id": str(tender["item_code"])},  # 政府采购品目
                    "quantity": int(lot["quantity"]),
                }
                for lot in tender["lots"]
            ],
            "value": _money(int(tender["reference_unit_price_fen"]) * quantity),
            "procurementMethod": "open",
            "mainProcurementCategory": "goods",
            "tenderPeriod": {"endDate": _datetime(str(tender["closes_at"]))},
            "numberOfTenderers": len(tenderers),
            "tenderers": tenderers,
        },
    }
    if str(tender["status"]) != "open":  # sealed bids: their prices are published once bidding has closed
        release["bids"] = {"details": [_bid(bid, quantity, party) for bid in tender["bids"].values()]}
    winner = tender.get("winner")
    if winner:
        award_id = f"{tender_id}-award"
        release["tag"].append("award")
        release["awards"] = [
            {
                "id": award_id,
                "status": "active",
                "suppliers": [party(str(winner["supplier_id"]), "supplier")],
                "value": _money(int(winner["unit_price_fen"]) * quantity),
            }
        ]
        if contracts:
            release["tag"].append("contract")
            release["contracts"] = [_contract(c, award_id) for c in contracts]
    release["parties"] = list(parties.values())
    return release


def _bid(bid: Mapping[str, Any], quantity: int, party: Any) -> dict[str, Any]:
    """One bid as the bids extension's ``Bid``: its total price (unit price × the tender's quantity)."""
    return {
        "id": str(bid["bid_id"]),
        "status": BID_STATUS[bid.get("compliant")],
        "tenderers": [party(str(bid["supplier_id"]), "tenderer")],
        "value": _money(int(bid["unit_price_fen"]) * quantity),
    }


def _contract(contract: Mapping[str, Any], award_id: str) -> dict[str, Any]:
    deliveries = contract.get("deliveries", {})
    milestones = [
        {
            "id": str(delivery_id),
            "type": "delivery",
            "status": "met",
            "dateMet": _datetime(str(delivery["delivered_on"])),
            "description": f"{delivery['quantity']} delivered",
        }
        for delivery_id, delivery in deliveries.items()
    ]
    entry: dict[str, Any] = {
        "id": str(contract["id"]),
        "awardID": award_id,
        "status": "terminated" if contract.get("fulfilled_on") else "active",
        "value": _money(int(contract["amount_fen"])),
        "dateSigned": _datetime(str(contract["signed_on"])),
        "period": {"endDate": _datetime(str(contract["delivery_due"]))},
    }
    if milestones:
        entry["implementation"] = {"milestones": milestones}
    return entry


def release_package(releases: Sequence[dict[str, Any]], uri: str, published: str) -> dict[str, Any]:
    """A release package of ``releases`` (OCDS 1.1 release-package schema)."""
    return {
        "uri": uri,
        "version": OCDS_VERSION,
        "publishedDate": published,
        "publisher": {"name": "Government Offices Administration"},
        "extensions": [BIDS_EXTENSION],
        "releases": list(releases),
    }


def record_package(releases: Sequence[dict[str, Any]], uri: str, published: str) -> dict[str, Any]:
    """A record package of ``releases`` (OCDS 1.1 record-package schema): one record per contracting process.

    Each release already holds its tender's whole current state, so the process's compiled release is that
    release, and the record embeds it as its one release (no release history is kept)."""
    return {
        "uri": uri,
        "version": OCDS_VERSION,
        "publishedDate": published,
        "publisher": {"name": "Government Offices Administration"},
        "extensions": [BIDS_EXTENSION],
        "records": [
            {"ocid": release["ocid"], "releases": [release], "compiledRelease": release} for release in releases
        ],
    }
