"""Routes of the energy service (filled in with its issue)."""

from __future__ import annotations

from nameko.rpc import RpcProxy


class EnergyApi:
    """Routes of the energy service."""

    energy = RpcProxy("energy")
