"""The gateway's HTTP API under ``/api/v1``: one module per domain, each a mixin of ``GatewayService``.

A module defines ``<Domain>Api`` with the ``RpcProxy`` of its service and its routes (``web.api``); routes
validate with the service's own marshmallow schemas, check role and district scope, and call the service.
"""
