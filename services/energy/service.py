"""The energy service: nameko RPC commands over its event store (commands arrive with its domain issue)."""

from __future__ import annotations

from services.common.rpc import DomainService


class EnergyService(DomainService):
    """Nameko service ``energy``: store, outbox relay, ``/metrics`` and ``/health``."""

    name = "energy"
