"""The running gateway serves its OpenAPI document without a token, equal to ``contracts/openapi.yaml``."""

from __future__ import annotations

import yaml

from services.gateway import openapi
from tests.security.support import World


def test_the_served_document_equals_the_committed_one(world: World) -> None:
    status, served, headers = world.platform.request("GET", "/api/v1/openapi.json")
    assert status == 200 and headers["content-type"].startswith("application/json")
    assert served["openapi"] == "3.1.0"
    committed = yaml.safe_load(openapi.OPENAPI_PATH.read_text(encoding="utf-8"))
    assert served == committed, "contracts/openapi.yaml is stale: run python -m services.gateway.openapi"
