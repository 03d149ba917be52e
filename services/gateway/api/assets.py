"""Routes of the assets service (filled in with its issue)."""

from __future__ import annotations

from nameko.rpc import RpcProxy


class AssetsApi:
    """Routes of the assets service."""

    assets = RpcProxy("assets")
