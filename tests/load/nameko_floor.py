"""The floor of the platform's stack: a bare nameko HTTP service calling a bare nameko RPC service that answers
at once — eventlet, werkzeug, kombu and RabbitMQ, and none of the platform's work (no token, schema, store,
relay, projector or log line).

    python -m tests.load.nameko_floor gateway <amqp_uri> <http_port>   # the HTTP side, calling ...
    python -m tests.load.nameko_floor service <amqp_uri> <http_port>   # ... the RPC side

``tests/load/bench_gateway.py`` loads it at the same rates as the platform, as a baseline beside it.
"""

if __name__ == "__main__":
    import eventlet

    eventlet.monkey_patch()

import json
import signal
import sys
from typing import Any

from nameko.rpc import RpcProxy, rpc
from nameko.web.handlers import http
from werkzeug.wrappers import Request, Response

from services.common.runtime.runner import GATEWAY_WORKERS


class FloorService:
    """Answers a command at once, as a service would after deciding it (an id and a version)."""

    name = "floor_service"

    @rpc  # type: ignore[untyped-decorator]
    def handle(self, body: dict[str, Any]) -> dict[str, Any]:
        """The command's answer, without deciding or storing anything."""
        return {"id": next(iter(body.values()), None), "version": 1, "event_ids": []}


class FloorGateway:
    """Takes any POST, calls ``floor_service.handle`` over RPC with its JSON body, answers 201 with the result."""

    name = "floor_gateway"
    service = RpcProxy("floor_service")

    @http("POST", "/<path:path>")  # type: ignore[untyped-decorator]
    def post(self, request: Request, path: str) -> Response:
        """Forward the body, answer the service's result."""
        result = self.service.handle(json.loads(request.get_data()))
        return Response(json.dumps(result), status=201, mimetype="application/json")


def main(argv: list[str]) -> None:
    """Run one side (``gateway`` or ``service``) until SIGTERM."""
    import eventlet
    from nameko.runners import ServiceRunner

    side, amqp_uri, port = argv
    config = {
        "AMQP_URI": amqp_uri,
        "WEB_SERVER_ADDRESS": f"127.0.0.1:{port}",
        "serializer": "json",
        "max_workers": GATEWAY_WORKERS if side == "gateway" else 10,
        "rpc_exchange": "gov-floor-rpc",
    }
    runner = ServiceRunner(config)
    runner.add_service(FloorGateway if side == "gateway" else FloorService)
    signal.signal(signal.SIGTERM, lambda *_: eventlet.spawn_n(runner.stop))
    runner.start()
    print("ready", flush=True)
    runner.wait()


if __name__ == "__main__":
    main(sys.argv[1:])
