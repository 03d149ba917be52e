"""The procurement service's read models (in its own database) and its queries.

From its own topic: the catalog, budget lines with committed and spent sums, open requests (for batch
proposals), tenders and their lots (which agencies a tender serves), abnormal-quote findings, past awards (the
winner-rotation check's memory), inspected deliveries (supplier performance) and price alerts. From the assets
service's topic: the purchase authorisations it granted (公物仓: no idle stock fits), kept in
``pr_received_authorisations`` under the id of the assets service's warehouse request.

When a finding is open (the data center lists open ones):

- an abnormal quote (恶意报价) stays open until each bid it names was cleared (its price justified) or judged
  non-compliant, or until the tender is decided (awarded or failed: the evaluation that had to weigh it is over);
- a price alert stays open until a later observation of the same ingredient (observed on the same day or after)
  is recorded; if that price is still out of bounds it raises a new alert, which is then the open one.

A projection may not append events, so a received authorisation becomes the ``PurchaseAuthorisation``
aggregate on first use: ``submit_purchase_request`` reads the row here and calls
``PurchaseAuthorisation.receive`` in the same transaction as the request (see the service).

Handlers are idempotent per event (the projector ignores a repeated ``event_id``) and deterministic.
"""

from __future__ import annotations

from pathlib import Path

from services.common.base.db import register_migrations

from .projection import ASSETS_AUTHORISATION_EVENT, ProcurementViews, ReceivedAuthorisations
from .queries import (
    abnormal_quote_list,
    batch_proposals,
    budget_lines_of,
    catalog_items,
    past_awards,
    price_alert_list,
    received_authorisation,
    supplier_performance_of,
    tender_list,
)
from .tables import (
    abnormal_quotes,
    awards,
    budget_lines,
    catalog,
    deliveries,
    open_requests,
    price_alerts,
    received_authorisations,
    tender_lots,
    tenders,
)

register_migrations("procurement_views", Path(__file__).parents[1] / "migrations")

__all__ = [
    "ASSETS_AUTHORISATION_EVENT",
    "ProcurementViews",
    "ReceivedAuthorisations",
    "abnormal_quote_list",
    "abnormal_quotes",
    "awards",
    "batch_proposals",
    "budget_lines",
    "budget_lines_of",
    "catalog",
    "catalog_items",
    "deliveries",
    "open_requests",
    "past_awards",
    "price_alert_list",
    "price_alerts",
    "received_authorisation",
    "received_authorisations",
    "supplier_performance_of",
    "tender_list",
    "tender_lots",
    "tenders",
]
