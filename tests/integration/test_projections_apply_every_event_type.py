"""For every event type, every data-center projection that handles it applies the contract's own examples —
payloads the store accepts — without an error (an error there is a dead letter: the platform's defect, never the
user's). The legal-history test (test_projections_accept_legal_streams.py) adds what examples alone cannot show:
repeated lifecycles and out-of-order streams against the projections' keys."""

from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import Engine

from services.common.base import contracts
from services.common.base.db import create_db_engine
from services.common.kernel.events import Envelope, registered_event_types
from services.gateway import views

contracts.load_domains()

HANDLED = sorted(
    {
        (type(projection).__name__, domain, event_type, version)
        for projection in views.data_center_projections()
        for domain, event_type, version in registered_event_types()
        if f"{domain}.events" in projection.topics and event_type in projection.handles()
    }
)


def _envelope(domain: str, event_type: str, version: int, payload: dict[str, object]) -> Envelope:
    agency = payload.get("agency_id")
    district = payload.get("district")
    return Envelope(
        event_id=str(uuid.uuid4()),
        event_type=event_type,
        schema_version=version,
        stream_type=event_type,
        stream_id=str(uuid.uuid4()),
        stream_version=1,
        occurred_at="2026-11-23T02:00:00+00:00",
        recorded_at="2026-11-23T02:00:00+00:00",
        district=district if isinstance(district, str) else "320402",
        agency_id=agency if isinstance(agency, str) else None,
        actor="city_admin:test",
        correlation_id=str(uuid.uuid4()),
        causation_id=None,
        payload=payload,
        domain=domain,
    )


def test_there_are_handled_event_types_of_every_domain() -> None:
    assert {domain for _, domain, _, _ in HANDLED} >= {"office_space", "vehicles", "assets", "procurement", "energy"}


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    made = create_db_engine(f"sqlite:///{tmp_path_factory.mktemp('projections') / 'gateway.db'}")
    views.prepare_database(made)
    return made


@pytest.mark.parametrize(("projection_name", "domain", "event_type", "version"), HANDLED)
def test_every_projection_applies_the_contract_examples_of_every_event_type_it_handles(
    engine: Engine, projection_name: str, domain: str, event_type: str, version: int
) -> None:
    projection = next(p for p in views.data_center_projections() if type(p).__name__ == projection_name)
    schema = json.loads(contracts.schema_path(domain, event_type, version).read_text(encoding="utf-8"))
    with engine.connect() as conn, conn.begin() as transaction:  # each event type on an empty read model
        for example in schema["examples"]:
            contracts.validate_payload(domain, event_type, version, example)  # what the store accepts
            projection.apply(conn, _envelope(domain, event_type, version, dict(example)))
        transaction.rollback()
