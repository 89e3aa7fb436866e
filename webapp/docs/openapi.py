"""Builds the OpenAPI 3.1 document from the app's routes and their `@endpoint` declarations."""

from __future__ import annotations

import re
import typing
from typing import Any

from flask import Flask
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from ..auth import KeyRing
from ..contract import Endpoint
from ..http import MAX_BODY_BYTES, WRITE_METHODS
from ..schemas import ErrorBody

REF = "#/components/schemas/{model}"
_PATH_PARAMETER = re.compile(r"<(?:([^:<>]+):)?([^<>]+)>")
# Path parameters by converter: model ids are UUIDs, model names follow the registry's rule.
_PATH_SCHEMAS = {
    "uuid": {"type": "string", "format": "uuid"},
    "int": {"type": "integer", "minimum": 0},
    "": {"type": "string", "pattern": r"^[a-z0-9._-]{1,64}$"},
}
_ERROR_TEXT = {
    400: "Malformed JSON, or a request routing cannot serve (e.g. several active models and none named)",
    401: "No API key, where this endpoint's scope has keys configured",
    403: "An API key this endpoint does not accept",
    404: "Unknown route, model id or active version",
    405: "Method not allowed",
    409: "Conflicts with the registry's state (see the message and details)",
    412: "If-Match names an ETag that is no longer current: read again, then retry",
    413: f"Body over {MAX_BODY_BYTES // 1024} KB (256 KB for POST /feedback, ARTIFACT_MAX_BYTES for a model file)",
    415: "Not sent with the declared Content-Type: application/json, or application/octet-stream for a model file",
    422: "A field or query parameter failed validation; details name each one",
    500: "The routed version failed to predict; the failure is counted against it",
    503: "A service this call needs is unavailable",
}


def build_openapi(app: Flask) -> dict[str, Any]:
    operations = list(_operations(app))
    components, refs = _component_schemas([op[2] for op in operations])
    paths: dict[str, dict[str, Any]] = {}
    keys: KeyRing = app.extensions["keys"]
    for path, method, spec, parameters in operations:
        paths.setdefault(path, {})[method] = _operation(spec, method, parameters, refs, keys)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Model registry and A/B router",
            "version": "1.0.0",
            "description": "Register sentiment-model versions, split traffic between them, serve and log predictions.",
        },
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer"},
                "apiKeyAuth": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
            },
        },
    }


def _operations(app: Flask):
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        spec: Endpoint | None = getattr(app.view_functions[rule.endpoint], "endpoint_spec", None)
        if spec is None:
            continue
        path = _PATH_PARAMETER.sub(r"{\2}", rule.rule)
        parameters = _PATH_PARAMETER.findall(rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield path, method.lower(), spec, parameters


def _models(spec: Endpoint) -> list[tuple[type[BaseModel], str]]:
    found = [(ErrorBody, "serialization")]
    if spec.body is not None:
        found.append((spec.body, "validation"))
    for response in spec.responses.values():
        model = _model_of(response)
        if model is not None:
            found.append((model, "serialization"))
    return found


def _model_of(response: Any) -> type[BaseModel] | None:
    if isinstance(response, type) and issubclass(response, BaseModel):
        return response
    if typing.get_origin(response) is list:
        return _model_of(typing.get_args(response)[0])
    return None


def _component_schemas(specs: list[Endpoint]) -> tuple[dict[str, Any], dict[tuple[type, str], dict]]:
    wanted = list(dict.fromkeys(pair for spec in specs for pair in _models(spec)))
    refs, document = models_json_schema(wanted, ref_template=REF)
    return document.get("$defs", {}), refs


def _operation(
    spec: Endpoint, method: str, path_parameters: list[tuple[str, str]], refs: dict, keys: KeyRing
) -> dict[str, Any]:
    # x-scope: the key scope the view declares and enforces (webapp/contract.py), keys configured or not.
    operation: dict[str, Any] = {"summary": spec.summary, "tags": [spec.tag], "x-scope": spec.scope, "responses": {}}
    writes = method.upper() in WRITE_METHODS
    if spec.description:
        operation["description"] = spec.description
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": _PATH_SCHEMAS.get(converter, {"type": "string"})}
        for converter, name in path_parameters
    ]
    if spec.query is not None:
        parameters += [
            {"name": name, "in": "query", "required": False, "schema": _query_schema(spec.query, name)}
            for name in spec.query.model_fields
        ]
    parameters += [
        {"name": name, "in": "header", "required": False, "description": text, "schema": {"type": "string"}}
        for name, text in spec.headers.items()
    ]
    if parameters:
        operation["parameters"] = parameters
    if spec.content_type != "application/json":
        operation["requestBody"] = {
            "required": True,
            "content": {spec.content_type: {"schema": {"type": "string", "format": "binary"}}},
        }
    elif spec.body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": refs[(spec.body, "validation")]}},
        }
    elif writes:  # no fields, but still the JSON type (webapp/http.py, require_json_body)
        operation["requestBody"] = {
            "required": False,
            "description": "No fields: send no body (or {}), with 'Content-Type: application/json'",
            "content": {"application/json": {"schema": {}}},
        }
    for status, response in spec.responses.items():
        operation["responses"][str(status)] = _response(response, refs)
    for status in _error_statuses(spec, keys, writes):
        operation["responses"][str(status)] = {
            "description": _ERROR_TEXT[status],
            "content": {"application/json": {"schema": refs[(ErrorBody, "serialization")]}},
        }
    if not keys.is_open(spec.scope):
        operation["security"] = [{"bearerAuth": []}, {"apiKeyAuth": []}]
    return operation


def _query_schema(model: type[BaseModel], name: str) -> dict[str, Any]:
    schema = model.model_json_schema()["properties"][name]
    # An optional parameter is simply left out of the query string; null is not a value there.
    options = [option for option in schema.get("anyOf", [schema]) if option.get("type") != "null"]
    return {key: value for key, value in options[0].items() if key != "title"}


def _response(response: Any, refs: dict) -> dict[str, Any]:
    if response is None:
        return {"description": "OK"}
    model = _model_of(response)
    if model is None:
        schema = response
    elif typing.get_origin(response) is list:
        schema = {"type": "array", "items": refs[(model, "serialization")]}
    else:
        schema = refs[(model, "serialization")]
    media = "application/octet-stream" if schema.get("format") == "binary" else "application/json"
    return {"description": "OK", "content": {media: {"schema": schema}}}


def _error_statuses(spec: Endpoint, keys: KeyRing, writes: bool) -> list[int]:
    statuses = {404, 405, *spec.errors}
    if writes:
        statuses.add(415)
    if spec.body is not None:
        statuses |= {400, 413, 415, 422}
    if spec.query is not None:
        statuses.add(422)
    if not keys.is_open(spec.scope):
        statuses |= {401, 403}
    if spec.scope == "admin" or spec.body is not None:
        statuses.add(503)
    return sorted(statuses)
