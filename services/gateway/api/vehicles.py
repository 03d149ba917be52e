"""Routes of the vehicles service (filled in with its issue)."""

from __future__ import annotations

from nameko.rpc import RpcProxy


class VehiclesApi:
    """Routes of the vehicles service."""

    vehicles = RpcProxy("vehicles")
