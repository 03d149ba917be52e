"""Routes of the procurement service (filled in with its issue)."""

from __future__ import annotations

from nameko.rpc import RpcProxy


class ProcurementApi:
    """Routes of the procurement service."""

    procurement = RpcProxy("procurement")
