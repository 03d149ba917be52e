"""The OpenAPI 3.1 document: valid, one operation per HTTP entrypoint of the gateway, committed up to date."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from nameko.web.handlers import HttpRequestHandler
from openapi_spec_validator import OpenAPIV31SpecValidator
from werkzeug.test import EnvironBuilder

from services.gateway import openapi
from services.gateway.auth import ROLES
from services.gateway.service import GatewayService
from services.gateway.web import route_specs

DOCUMENT = openapi.document()
OPERATIONS = [
    (path, method, operation)
    for path, item in DOCUMENT["paths"].items()
    for method, operation in item.items()
    if method in ("get", "post", "put", "patch", "delete")
]


def _entrypoints() -> set[tuple[str, str]]:
    """(METHOD, OpenAPI path) of every nameko HTTP entrypoint of GatewayService, read from nameko itself."""
    found = set()
    for attr in dir(GatewayService):
        for entrypoint in getattr(getattr(GatewayService, attr), "nameko_entrypoints", ()):
            if isinstance(entrypoint, HttpRequestHandler):
                for method in entrypoint.method.split(","):
                    found.add((method.strip().upper(), openapi.openapi_path(entrypoint.url)))
    return found


def test_the_document_is_valid_openapi_3_1() -> None:
    assert DOCUMENT["openapi"] == "3.1.0"
    OpenAPIV31SpecValidator(DOCUMENT).validate()


def test_every_http_entrypoint_of_the_gateway_is_an_operation_with_its_method() -> None:
    documented = {(method.upper(), path) for path, method, _ in OPERATIONS}
    entrypoints = _entrypoints()
    assert len(entrypoints) > 50
    assert documented == entrypoints
    assert ("GET", "/api/v1/openapi.json") in documented


def test_every_route_is_declared_with_the_api_decorator() -> None:
    undocumented = [
        f"{spec.method} {spec.url} ({attr})" for attr, spec in route_specs(GatewayService) if not spec.documented
    ]
    assert undocumented == [], "declare these with services.gateway.web.api so they are described"


def test_operation_ids_are_unique_and_every_operation_is_described() -> None:
    ids = [operation["operationId"] for _, _, operation in OPERATIONS]
    assert len(ids) == len(set(ids))
    for path, method, operation in OPERATIONS:
        assert operation["summary"], f"{method} {path} has no summary (give its handler or schema a docstring)"


@pytest.mark.parametrize(("path", "method", "operation"), OPERATIONS, ids=lambda v: v if isinstance(v, str) else "")
def test_every_operation_documents_auth_roles_errors_and_headers(path: str, method: str, operation: Any) -> None:
    parameters = [p.get("$ref", p.get("name")) for p in operation["parameters"]]
    assert "#/components/parameters/CorrelationId" in parameters
    responses = operation["responses"]
    success = [status for status in responses if status.startswith("2")]
    assert len(success) == 1
    assert "X-Correlation-ID" in responses[success[0]]["headers"]
    if not operation["security"]:
        assert "x-roles" not in operation
        return
    assert operation["security"] == [{"bearerAuth": []}]
    assert operation["x-roles"] and set(operation["x-roles"]) <= set(ROLES)
    assert "**Roles:**" in operation["description"]
    for status in ("400", "401", "403", "404", "422", "503"):
        assert responses[status]["$ref"].startswith("#/components/responses/")
    if method != "get":
        assert "#/components/parameters/IdempotencyKey" in parameters
        assert responses["409"] and responses["413"]


def test_path_parameters_match_the_url_and_command_bodies_match_their_schemas() -> None:
    for attr, spec in route_specs(GatewayService):
        operation = DOCUMENT["paths"][openapi.openapi_path(spec.url)][spec.method.lower()]
        in_path = [p["name"] for p in operation["parameters"] if p.get("in") == "path"]
        assert in_path == [name for name, _ in spec.url_params], attr
        if spec.body is None:
            continue
        ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        body = DOCUMENT["components"]["schemas"][ref.rsplit("/", 1)[1]]
        expected = set(spec.body().fields) - set(in_path)
        assert set(body.get("properties", {})) == expected, attr
        required = {name for name, field in spec.body().fields.items() if field.required} - set(in_path)
        assert set(body.get("required", [])) == required, attr
        assert operation["x-max-body-bytes"] == spec.max_body_bytes


def test_the_error_body_and_the_security_scheme_are_documented() -> None:
    components = DOCUMENT["components"]
    assert components["schemas"]["Error"]["required"] == ["error", "message", "fields"]
    assert components["securitySchemes"]["bearerAuth"] == {
        **components["securitySchemes"]["bearerAuth"],
        "type": "http",
        "scheme": "bearer",
    }
    for status, (name, *_) in openapi.ERRORS.items():
        content = components["responses"][name]["content"]["application/json"]
        assert content["schema"] == {"$ref": "#/components/schemas/Error"}, status
    assert {p["name"] for p in components["parameters"].values()} == {
        "X-Correlation-ID",
        "Idempotency-Key",
        "format",
        "lang",
        "table",
    }


def test_the_committed_yaml_equals_the_generated_one() -> None:
    committed = openapi.OPENAPI_PATH.read_text(encoding="utf-8")
    assert committed == openapi.to_yaml(DOCUMENT), (
        "contracts/openapi.yaml is stale: run python -m services.gateway.openapi"
    )
    assert yaml.safe_load(committed) == DOCUMENT


def test_the_cli_writes_and_checks_the_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "openapi.yaml"
    assert openapi.main(["--check", "--output", str(target)]) == 1
    assert openapi.main(["--output", str(target)]) == 0
    assert openapi.main(["--check", "--output", str(target)]) == 0
    assert target.read_text(encoding="utf-8") == openapi.to_yaml(DOCUMENT)
    target.write_text(target.read_text(encoding="utf-8") + "# edited\n", encoding="utf-8")
    assert openapi.main(["--check", "--output", str(target)]) == 1
    assert "stale" in capsys.readouterr().err


def test_the_served_documents_json_is_made_once_per_process() -> None:
    # anyone may ask for it (no token) and it is some 400 KB: encoding it on every request was a few ms of CPU each
    request = EnvironBuilder(path="/api/v1/openapi.json").get_request()
    openapi._document_json.cache_clear()
    served = [GatewayService.openapi_document(object.__new__(GatewayService), request) for _ in range(3)]
    assert openapi._document_json.cache_info().misses == 1 and openapi._document_json.cache_info().hits == 2
    assert {response.mimetype for response in served} == {"application/json"}
    assert json.loads(served[2].get_data()) == json.loads(json.dumps(DOCUMENT))
