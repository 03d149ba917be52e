"""The gateway's HTTP API as an OpenAPI 3.1 document, generated from the routes themselves.

    python -m services.gateway.openapi           # writes contracts/openapi.yaml
    python -m services.gateway.openapi --check   # exits 1 when contracts/openapi.yaml is stale
    python -m services.gateway.openapi --stdout  # prints the document

Every nameko HTTP entrypoint of ``GatewayService`` is an operation. What each one is comes from the route
registry ``services.gateway.web`` keeps (``api``, ``command_route`` and ``query_route`` record method,
URL, roles, docstring, body or query schema, success status and district scope); the marshmallow schemas
become JSON Schema (apispec's marshmallow converter). The running gateway serves the same document at
``GET /api/v1/openapi.json`` (no token needed); a contract test keeps the committed file equal to it.
"""

from __future__ import annotations

import argparse
import copy
import functools
import sys
from pathlib import Path
from typing import Any

import yaml
from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import Schema
from werkzeug.wrappers import Request, Response

from services.common.kernel.validators import IDENTIFIER, periods_of
from services.common.runtime.responses import encoded
from services.gateway import tabular
from services.gateway.auth import ROLES
from services.gateway.references import created_fields
from services.gateway.web import MAX_BODY_BYTES, RouteSpec, api, route_specs

OPENAPI_PATH = Path(__file__).resolve().parents[2] / "contracts" / "openapi.yaml"
TITLE = "Municipal Government Offices Affairs platform — HTTP API"
CORRELATION_PATTERN = "^[A-Za-z0-9_.:-]{1,100}$"

ROLE_TEXT = {
    "city_admin": "city administrators (everything)",
    "district_operator": "district operators (their own district's agencies only)",
    "viewer": "viewers (read only)",
    "ops": "ops (health, metrics, projection status, detectors)",
}
SCOPE_TEXT = {
    "agency_id": "A district operator may act only for an agency of its own district (the input's `agency_id`).",
    "district": "A district operator may act only in its own district (the input's `district`).",
    "service": "A district operator may change only its own district's records (checked by the owning service).",
    "listing": "A district operator sees its own district only; naming another district's agency is refused (403).",
    "resource": "A district operator may read only its own district's records (403 otherwise).",
}

ERRORS: dict[int, tuple[str, str, str, str]] = {
    400: (
        "BadRequest",
        "The request cannot be read (malformed JSON, malformed Idempotency-Key).",
        "bad_request",
        "the body is not valid JSON",
    ),
    401: (
        "Unauthenticated",
        "No valid bearer token: missing, malformed, unknown, forged, expired or revoked.",
        "unauthenticated",
        "a bearer token is required",
    ),
    403: (
        "Forbidden",
        "The token's role may not do this (`forbidden`), or its district does not cover the "
        "agency or district concerned (`not_in_scope`).",
        "not_in_scope",
        "zhang acts for district 320402 only",
    ),
    404: ("NotFound", "No such record (or no such route).", "not_found", "agency 11320402MB00000012 not found"),
    409: (
        "Conflict",
        "The record exists already (`already_exists`), moved on since it was read "
        "(`version_conflict`), the Idempotency-Key was used for another command (`duplicate_command`), "
        "or the vehicle is held for another trip at an overlapping time (`vehicle_double_booked`).",
        "already_exists",
        "agency 11320402MB00000012 exists",
    ),
    413: (
        "PayloadTooLarge",
        f"The body is over the route's limit ({MAX_BODY_BYTES} bytes unless the operation says "
        "otherwise), or a batch is over its documented size.",
        "payload_too_large",
        f"the body exceeds {MAX_BODY_BYTES} bytes",
    ),
    422: (
        "ValidationFailed",
        "The input does not have the required shape (`validation_failed`, with reasons per "
        "field) or a domain rule refuses it (the rule's code, e.g. `over_standard`, `wrong_status`).",
        "validation_failed",
        "invalid input",
    ),
    429: (
        "TooManyRequests",
        "The caller's token has as many requests being served as one caller may (16 unless the platform's "
        "`GATEWAY_IN_FLIGHT_PER_TOKEN` says otherwise); nothing was done: ask again after `Retry-After` seconds.",
        "too_many_requests",
        "this token has 16 requests being served, the most one caller may: ask again once one of them is answered",
    ),
    503: (
        "ServiceUnavailable",
        "A service, broker or database did not answer in time; nothing was done, retry "
        "(with the same Idempotency-Key).",
        "service_unavailable",
        "the service did not answer in time",
    ),
}
"""Status → (component name, description, example code, example message) of every documented error."""

DESCRIPTION = f"""\
The public HTTP API of the platform (机关事务管理平台): every command and query of the domain services and
the city data center. Generated from the gateway's routes by `python -m services.gateway.openapi`.

**Authentication.** Every operation but the health checks, `/metrics`, the dashboard page and this
document needs `Authorization: Bearer <token>` (tokens are made with
`python -m services.gateway.tokens create --name NAME --role ROLE [--district CODE] [--days N]`). Without
a valid token the answer is 401; a valid token whose role or district does not allow the operation gets 403.

**Roles** (`x-roles` on each operation): `city_admin` reads and writes everything and approves exceptions;
`district_operator` writes, and reads details of, its own district's agencies only (listings are limited
to its district); `viewer` reads, writes nothing; `ops` reads health, metrics and projection status and
runs detectors. `x-district-scope` says how an operation checks a district operator's district.

**Errors** are `{{"error": code, "message": text, "fields": {{field: [reasons]}}}}` (and `details` where there
are figures): 400 unreadable, 401 no valid token, 403 role or district, 404 not found, 409 conflict,
413 too large, 422 invalid input or a refusing rule, 429 too many requests of one token at once (`Retry-After`),
503 a dependency did not answer.

**Limits.** A command body is at most {MAX_BODY_BYTES} bytes (1 MiB) unless the operation says otherwise;
listings return at most 500 items a page.

**Money** is an integer number of fen (分, 0.01 yuan) in every field whose name ends `_fen`; a number with a
fraction is refused (422). Deprecated: a request may still name a money field by its former `_cents` name
(`amount_cents` for `amount_fen`), read as the `_fen` field; a request sending both names is refused (422 naming
both). Answers name only `_fen`.

**Headers.** `X-Correlation-ID` (1-100 of `A-Za-z0-9_.:-`) is echoed on every answer (a new one when it
is missing or malformed) and recorded in the events and logs. `Idempotency-Key` on a command makes
retries safe: the first answer is recorded with the events and a repeat gets it without acting again
(keys are scoped to the token).
"""


EXPORT_TEXT = (
    "**Exports:** `?format=csv` or `?format=xlsx` (or `Accept`) gives the same figures as a spreadsheet, "
    "Chinese column headers with units (`?lang=en` for English); see docs/formats.md."
)


def _error_response(status: int) -> dict[str, Any]:
    _, description, code, message = ERRORS[status]
    headers: dict[str, Any] = {"X-Correlation-ID": {"$ref": "#/components/headers/X-Correlation-ID"}}
    if status == 429:
        headers["Retry-After"] = {
            "description": "Seconds to wait before asking again.",
            "schema": {"type": "integer", "minimum": 1},
        }
    return {
        "description": description,
        "headers": headers,
        "content": {
            "application/json": {
                "schema": {"$ref": "#/components/schemas/Error"},
                "example": {"error": code, "message": message, "fields": {}},
            }
        },
    }


def _components() -> dict[str, Any]:
    return {
        "securitySchemes": {
            "bearerAuth": {
                "type": "http",
                "scheme": "bearer",
                "bearerFormat": "gov_<token_id>_<secret>",
                "description": "An API token; only its hash is stored. Roles: " + ", ".join(ROLES) + ".",
            }
        },
        "headers": {
            "X-Correlation-ID": {
                "description": "The request's correlation id (the client's, or a new one).",
                "schema": {"type": "string"},
            }
        },
        "parameters": {
            "CorrelationId": {
                "name": "X-Correlation-ID",
                "in": "header",
                "required": False,
                "description": "Correlation id recorded in the events and every log line; a malformed one is replaced.",
                "schema": {"type": "string", "pattern": CORRELATION_PATTERN},
            },
            "ExportFormat": {
                "name": "format",
                "in": "query",
                "required": False,
                "description": "The answer as `json` (default), `csv` (streamed, UTF-8 with BOM) or `xlsx`; "
                "`Accept: text/csv` or the XLSX media type asks the same. Rows are the listing's items.",
                "schema": {"type": "string", "enum": ["json", "csv", "xlsx"], "default": "json"},
            },
            "ExportLanguage": {
                "name": "lang",
                "in": "query",
                "required": False,
                "description": "Language of a CSV/XLSX answer's column headers (units in brackets): `zh` or `en`.",
                "schema": {"type": "string", "enum": ["zh", "en"], "default": "zh"},
            },
            "ExportTable": {
                "name": "table",
                "in": "query",
                "required": False,
                "description": "Which table of a report with several (`x-tables`) a CSV answer holds (the first "
                "by default; `summary`: its other figures). An XLSX answer has one sheet each.",
                "schema": {"type": "string"},
            },
            "IdempotencyKey": {
                "name": "Idempotency-Key",
                "in": "header",
                "required": False,
                "description": "Makes a retried command safe: a repeat with the same key (and token) gets the first "
                "answer without acting again. A malformed key is refused with 400.",
                "schema": {"type": "string", "pattern": CORRELATION_PATTERN},
            },
        },
        "responses": {ERRORS[status][0]: _error_response(status) for status in sorted(ERRORS)},
        "schemas": {
            "Error": {
                "type": "object",
                "description": "Every refusal's body.",
                "required": ["error", "message", "fields"],
                "properties": {
                    "error": {"type": "string", "description": "Stable code, e.g. validation_failed, not_in_scope."},
                    "message": {"type": "string", "description": "What went wrong, for people."},
                    "fields": {
                        "type": "object",
                        "description": "Field name → reasons (a list of strings, or nested for nested fields).",
                    },
                    "details": {"type": "object", "description": "Figures behind a refusal (limits, values)."},
                },
            },
            "CommandAnswer": {
                "type": "object",
                "description": "A command's answer: the aggregate's id, its new version and the events recorded "
                "(commands about many aggregates add or replace fields, e.g. counts of accepted items).",
                "properties": {
                    "id": {"type": "string"},
                    "version": {"type": "integer"},
                    "event_ids": {"type": "array", "items": {"type": "string"}},
                },
            },
        },
    }


def _converter() -> Any:
    """apispec's marshmallow → JSON Schema converter for OpenAPI 3.1, nested schemas inlined."""
    inline: Any = lambda schema: None  # noqa: E731  (None: apispec inlines nested schemas)
    plugin = MarshmallowPlugin(schema_name_resolver=inline)
    APISpec(title=TITLE, version="1", openapi_version="3.1.0", plugins=[plugin])
    return plugin.converter


def _schema_name(schema: type[Schema], excluded: tuple[str, ...]) -> str:
    """``<package>.<Name>`` (e.g. ``office_space.RegisterAgency``); unique across the services."""
    package = schema.__module__.split(".")[1] if schema.__module__.startswith("services.") else schema.__module__
    name = f"{package}.{schema.__name__.removesuffix('Schema')}"
    return name + "".join(f".without_{field}" for field in excluded) if excluded else name


class _Builder:
    def __init__(self) -> None:
        self.converter = _converter()
        self.schemas: dict[str, Any] = {}

    def body_ref(self, schema: type[Schema], url_fields: set[str]) -> dict[str, Any]:
        """A ``$ref`` to the body schema, registered once (the fields the URL supplies left out)."""
        excluded = tuple(sorted(url_fields & set(schema().fields)))
        name = _schema_name(schema, excluded)
        if name not in self.schemas:
            self.schemas[name] = self._json_schema(schema, excluded)
        return {"$ref": f"#/components/schemas/{name}"}

    def _json_schema(self, schema: type[Schema], excluded: tuple[str, ...]) -> dict[str, Any]:
        converted: dict[str, Any] = self.converter.schema2jsonschema(schema(exclude=excluded))
        for name, bound in _period_bounds(schema).items():
            if name in converted.get("properties", {}):
                converted["properties"][name]["x-max-days-after"] = bound
        if schema.__doc__:
            converted = {"description": _clean(schema.__doc__), **converted}
        return converted

    def query_parameters(self, schema: type[Schema], url_fields: set[str]) -> list[dict[str, Any]]:
        excluded = tuple(sorted(url_fields & set(schema().fields)))
        parameters: list[dict[str, Any]] = self.converter.schema2parameters(schema(exclude=excluded), location="query")
        bounds = _period_bounds(schema)
        return [
            {
                **p,
                "schema": _not_null(p["schema"])
                | ({"x-max-days-after": bounds[p["name"]]} if p["name"] in bounds else {}),
            }
            for p in parameters
        ]

    def field_schemas(self, schema: type[Schema] | None) -> dict[str, Any]:
        if schema is None:
            return {}
        properties: dict[str, Any] = self.converter.schema2jsonschema(schema()).get("properties", {})
        return properties


def _period_bounds(schema: type[Schema]) -> dict[str, dict[str, int]]:
    """``{end field's JSON name: {start field's JSON name: maximum days}}`` of a schema's bounded periods
    (``services.common.kernel.validators.bounded_period``), documented as ``x-max-days-after``."""
    fields = schema().fields

    def json_name(attribute: str) -> str:
        return fields[attribute].data_key or attribute

    return {json_name(end): {json_name(start): days} for start, end, days in periods_of(schema)}


def _not_null(schema: dict[str, Any]) -> dict[str, Any]:
    """A query parameter's schema without ``null`` (a query string cannot say null: leave it out)."""
    out = {k: v for k, v in schema.items() if not (k == "default" and v is None)}
    if isinstance(out.get("type"), list):
        types = [t for t in out["type"] if t != "null"]
        out["type"] = types[0] if len(types) == 1 else types
    if "enum" in out:
        out["enum"] = [v for v in out["enum"] if v is not None]
    return out


def _clean(doc: str) -> str:
    """A docstring as text: paragraphs kept, lines joined, RST double backticks made Markdown."""
    paragraphs = [" ".join(line.strip() for line in block.splitlines()) for block in doc.strip().split("\n\n")]
    return "\n\n".join(paragraphs).replace("``", "`")


def openapi_path(url: str) -> str:
    """A werkzeug rule as an OpenAPI path: ``/a/<int:year>`` → ``/a/{year}``."""
    out = url
    for name, converter in RouteSpec("GET", url, None, "", "").url_params:
        pattern = f"<{converter}:{name}>" if converter != "default" else f"<{name}>"
        out = out.replace(pattern, f"{{{name}}}")
    return out


def _path_parameter(name: str, converter: str, known: dict[str, Any]) -> dict[str, Any]:
    if converter == "int":
        schema: dict[str, Any] = {"type": "integer", "minimum": 0}
    elif name in known and known[name].get("type") in ("string", ["string", "null"]):
        schema = {k: v for k, v in known[name].items() if k not in ("default", "type")}
        schema = {"type": "string", **schema}
    else:
        schema = {"type": "string", "pattern": IDENTIFIER.regex.pattern}
    schema.setdefault("minLength", 1)
    return {"name": name, "in": "path", "required": True, "schema": schema}


def _operation(builder: _Builder, attr: str, spec: RouteSpec, tag: str) -> dict[str, Any]:
    doc = _clean(spec.doc) if spec.doc else attr.replace("_", " ")
    first, _, rest = doc.partition("\n\n")
    summary = first if len(first) <= 120 else first[:117].rsplit(" ", 1)[0] + "..."
    lines = ([] if summary == first else [first]) + ([rest] if rest else [])
    url_fields = {name for name, _ in spec.url_params}
    operation: dict[str, Any] = {"operationId": attr, "tags": [tag], "summary": summary, "description": ""}
    if spec.roles is None:
        operation["security"] = []
        lines.append("No token needed." if spec.documented else "Declared without the gateway's `api` decorator.")
    else:
        roles = sorted(spec.roles)
        operation["security"] = [{"bearerAuth": []}]
        operation["x-roles"] = roles
        lines.append("**Roles:** " + "; ".join(ROLE_TEXT.get(role, role) for role in roles) + ".")
        if spec.scope and "district_operator" in spec.roles:
            operation["x-district-scope"] = spec.scope
            lines.append(SCOPE_TEXT.get(spec.scope, spec.scope))
    if spec.kind == "command" and spec.service:
        operation["x-command"] = f"{spec.service}.{spec.command}"
    if spec.max_body_bytes is not None:
        operation["x-max-body-bytes"] = spec.max_body_bytes
        lines.append(f"**Body limit:** {spec.max_body_bytes} bytes (413 above).")
    known = {**builder.field_schemas(spec.query), **builder.field_schemas(spec.body)}
    parameters: list[dict[str, Any]] = [_path_parameter(n, c, known) for n, c in spec.url_params]
    if spec.query is not None:
        parameters += builder.query_parameters(spec.query, url_fields)
    if spec.table is not None:
        parameters += [
            {"$ref": "#/components/parameters/ExportFormat"},
            {"$ref": "#/components/parameters/ExportLanguage"},
        ]
        if "," in spec.table:
            parameters.append({"$ref": "#/components/parameters/ExportTable"})
            operation["x-tables"] = spec.table.split(",")
        lines.append(EXPORT_TEXT)
    parameters.append({"$ref": "#/components/parameters/CorrelationId"})
    if spec.roles is not None and spec.method != "GET":
        parameters.append({"$ref": "#/components/parameters/IdempotencyKey"})
    operation["parameters"] = parameters
    if spec.body is not None:
        ref = builder.body_ref(spec.body, url_fields)
        operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": ref}}}
    elif spec.method in ("POST", "PUT", "PATCH"):
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    operation["description"] = "\n\n".join(line for line in lines if line)
    operation["responses"] = _responses(spec)
    return operation


def _responses(spec: RouteSpec) -> dict[str, Any]:
    if spec.content_type == "application/json":
        answer = {"$ref": "#/components/schemas/CommandAnswer"} if spec.kind == "command" else {}
        content: dict[str, Any] = {"application/json": {"schema": answer}}
        if spec.table is not None:
            content[tabular.CSV] = {"schema": {"type": "string"}}
            content[tabular.XLSX] = {"schema": {"type": "string", "contentMediaType": tabular.XLSX}}
    else:
        content = {spec.content_type: {"schema": {"type": "string"}}}
    responses: dict[str, Any] = {
        str(spec.status): {
            "description": "Done." if spec.kind == "command" else "The answer.",
            "headers": {"X-Correlation-ID": {"$ref": "#/components/headers/X-Correlation-ID"}},
            "content": content,
        }
    }
    statuses: list[int] = []
    if spec.roles is not None:
        statuses = [400, 401, 403, 404, 422, 429, 503]
        if spec.method != "GET":
            statuses += [409, 413]
    elif spec.url.startswith("/health"):
        statuses = [503]
    for status in sorted(statuses):
        responses[str(status)] = {"$ref": f"#/components/responses/{ERRORS[status][0]}"}
    return responses


def _links(specs: list[tuple[str, RouteSpec]]) -> dict[str, dict[str, Any]]:
    """The OpenAPI links of each creating command (operation id -> its links): from the record it creates (its
    answer's ``id``: the trip, the asset, the tender...) to every operation whose URL names that record (dispatch,
    start and finish a trip; act on an asset; bid on a tender), so a client, and schemathesis' stateful phase,
    can follow a record from its creation to the acts on it."""
    links: dict[str, dict[str, Any]] = {}
    for attr, spec in specs:
        if spec.kind != "command" or spec.method != "POST" or not spec.service or not spec.command:
            continue
        for field in sorted(created_fields(spec.service, spec.command)):
            targets = {
                target_attr: {
                    "operationId": target_attr,
                    "parameters": {f"path.{field}": "$response.body#/id"},
                    "description": f"The {field.removesuffix('_id').replace('_', ' ')} this command created.",
                }
                for target_attr, target in specs
                if target.roles is not None and field in {name for name, _ in target.url_params}
            }
            if targets:
                links[attr] = dict(sorted(targets.items()))
    return links


def _tag(service_cls: type, attr: str) -> str:
    """The routes module an operation is declared in (``office_space``, ``energy``...); ``gateway`` else."""
    for cls in service_cls.__mro__:
        if attr in vars(cls):
            module = cls.__module__
            if module.startswith("services.gateway.api."):
                return module.rsplit(".", 1)[1]
            return "gateway"
    return "gateway"


def document(service_cls: type | None = None) -> dict[str, Any]:
    """The OpenAPI 3.1 document of ``service_cls`` (default: ``GatewayService``)."""
    if service_cls is None:
        from services.gateway.service import GatewayService

        service_cls = GatewayService
    return copy.deepcopy(_document(service_cls))


@functools.cache
def _document_json(service_cls: type) -> bytes:
    return encoded(_document(service_cls))


@functools.cache
def _document(service_cls: type) -> dict[str, Any]:
    builder = _Builder()
    paths: dict[str, dict[str, Any]] = {}
    tags: set[str] = set()
    specs = route_specs(service_cls)
    links = _links(specs)
    for attr, spec in specs:
        tag = _tag(service_cls, attr)
        tags.add(tag)
        operation = _operation(builder, attr, spec, tag)
        if attr in links:
            operation["responses"][str(spec.status)]["links"] = links[attr]
        paths.setdefault(openapi_path(spec.url), {})[spec.method.lower()] = operation
    components = _components()
    components["schemas"].update(dict(sorted(builder.schemas.items())))
    return {
        "openapi": "3.1.0",
        "info": {
            "title": TITLE,
            "version": "1.0.0",
            "description": DESCRIPTION,
            "license": {"name": "Proprietary", "identifier": "LicenseRef-Proprietary"},
        },
        "servers": [{"url": "/", "description": "the gateway serving this document (make run: http://127.0.0.1:8000)"}],
        "tags": [{"name": tag} for tag in sorted(tags)],
        "paths": paths,
        "components": components,
    }


class _Dumper(yaml.SafeDumper):
    """Multi-line strings as literal blocks (readable descriptions)."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if "\n" in value else None)


_Dumper.add_representer(str, _represent_str)


def to_yaml(doc: dict[str, Any]) -> str:
    """The document as the YAML committed in ``contracts/openapi.yaml``."""
    header = "# Generated by `python -m services.gateway.openapi` from the gateway's routes; do not edit.\n"
    return header + yaml.dump(doc, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=120)


class OpenApiRoutes:
    """Mixin of the gateway: serves this document."""

    @api("GET", "/api/v1/openapi.json", roles=None)
    def openapi_document(self, request: Request, principal: None) -> Response:
        """This API's OpenAPI 3.1 document (the same as `contracts/openapi.yaml`)."""
        # its JSON made once per process: anyone may ask for it, and it is some 400 KB (a few ms to encode)
        service_cls: type = type(self)
        return Response(_document_json(service_cls), mimetype="application/json")


def main(argv: list[str] | None = None) -> int:
    """Write, print or check ``contracts/openapi.yaml``."""
    parser = argparse.ArgumentParser(description="the gateway's OpenAPI 3.1 document")
    parser.add_argument("--check", action="store_true", help="exit 1 when the committed file is stale")
    parser.add_argument("--stdout", action="store_true", help="print the document instead of writing it")
    parser.add_argument("--output", type=Path, default=OPENAPI_PATH)
    args = parser.parse_args(argv)
    text = to_yaml(document())
    if args.stdout:
        sys.stdout.write(text)
        return 0
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        if current != text:
            print(f"{args.output} is stale: run `python -m services.gateway.openapi`", file=sys.stderr)
            return 1
        print(f"{args.output} is up to date")
        return 0
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
