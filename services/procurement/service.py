"""The procurement service: nameko RPC commands over its event store (commands arrive with its domain issue)."""

from __future__ import annotations

from services.common.rpc import DomainService


class ProcurementService(DomainService):
    """Nameko service ``procurement``: store, outbox relay, ``/metrics`` and ``/health``."""

    name = "procurement"
