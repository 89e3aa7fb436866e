"""Every refusal reads as plain words: the field and its rule, never a regex or a Python type name.

The operations come from the OpenAPI document (`/openapi.json`), as in tests/test_edge_contract.py:
each one that takes a JSON body or a query string is sent malformed ones built from its own schema
(a wrong type per field, a field missing, an unknown field, a pattern-guarded field with a bad
value, a NUL in text, an object where a string is expected). Each answer must be a documented
400/404/413/415/422 whose text holds no `^`, no `\\x`, no `constrained-` and no Python type name.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from flask import Flask

from tests.test_edge_contract import EXAMPLE_BODIES, KEYS, concrete, keyed_app, seeded  # noqa: F401
from webapp.feedback.views import MAX_FEEDBACK_BODY_BYTES
from webapp.http import MAX_BODY_BYTES

# What pydantic or Python would leak: a regex, an escape, a constrained type, a type's name as a word.
LEAKS = re.compile(r"\^|\\x|constrained-|Value error|\b(?:str|int|float|dict|list|bool|tuple|NoneType|Decimal|UUID)\b")
REFUSALS = {400, 404, 413, 415, 422}
BODIES = {("POST", "/feedback"): {"prediction_id": "0190b6a2-0000-7000-8000-000000000000", "label": "positive"}}
# A value of each JSON type, sent to the fields whose schema takes none of that type.
WRONG_TYPES = {
    "string": "seven",
    "integer": 7,
    "number": 7.5,
    "boolean": True,
    "object": {"nested": 1},
    "array": ["item"],
}
NUMERIC = {"integer", "number"}


def leaks_of(text: str) -> list[str]:
    return LEAKS.findall(text)


def schema_of(document: dict, schema: dict) -> dict:
    """A schema with its `$ref` followed."""
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def types_of(document: dict, schema: dict) -> set[str]:
    """The JSON types a schema takes (every branch of an anyOf); an object for a $ref to a model."""
    schema = schema_of(document, schema)
    if "anyOf" in schema or "oneOf" in schema:
        return set().union(*(types_of(document, s) for s in schema.get("anyOf", schema.get("oneOf"))))
    kind = schema.get("type", "object" if "properties" in schema else None)
    if kind is None:
        return set(WRONG_TYPES)  # takes anything: no type is wrong
    return {kind, "number"} if kind == "integer" else {kind} | (NUMERIC if kind == "number" else set())


def malformed_bodies(document: dict, model: dict, example: dict) -> Iterator[tuple[str, object]]:
    """(what is wrong, body) for a body model: its fields broken one at a time on a good example."""
    yield "not an object", "a string"
    yield "an array of numbers", [1, 2]
    if model.get("required"):
        yield "nothing", {}
    yield "an unknown field", {**example, "unknown_field": 1}
    for name, field in model.get("properties", {}).items():
        taken = types_of(document, field)
        for kind, value in WRONG_TYPES.items():
            if kind not in taken:
                yield f"{name} as {kind}", {**example, name: value}
        if "string" in taken:
            yield f"{name} with a NUL", {**example, name: "bad\u0000value"}
        if "pattern" in json.dumps(schema_of(document, field)):
            yield f"{name} off its pattern", {**example, name: "Not Valid!"}


def body_cases(document: dict) -> list[tuple[str, str, str, object]]:
    cases = []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            content = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if not content or not content.get("schema"):
                continue
            model = schema_of(document, content["schema"])
            if "anyOf" in model:  # one record or a list of them: the record's fields
                model = schema_of(document, model["anyOf"][0])
            example = {**EXAMPLE_BODIES, **BODIES}.get((method.upper(), path), {})
            cases += [(method.upper(), path, what, body) for what, body in malformed_bodies(document, model, example)]
    return cases


def query_cases(document: dict) -> list[tuple[str, str, str]]:
    bad = ["Not Valid!", "-1", "abc", "1e999", "bad\u0000value", "9" * 30]
    return [
        (path, parameter["name"], value)
        for path, item in document["paths"].items()
        for parameter in item.get("get", {}).get("parameters", [])
        if parameter["in"] == "query"
        for value in bad
    ]


def assert_plain_refusal(response, documented: dict) -> dict:
    text = response.get_data(as_text=True)
    assert response.status_code in REFUSALS, text
    assert str(response.status_code) in documented, (response.status_code, text)
    assert not leaks_of(text), text
    error = response.get_json()["error"]
    assert error["message"] and set(error) == {"code", "message", "details"}
    return error


@pytest.fixture
def walker(keyed_app: Flask, seeded: dict) -> Iterator[tuple]:  # noqa: F811
    client = keyed_app.test_client()
    yield client, client.get("/openapi.json").get_json(), seeded


def test_every_malformed_body_gets_a_plain_documented_refusal(walker):
    client, document, values = walker
    cases = body_cases(document)
    assert len(cases) >= 60 and {path for _, path, _, _ in cases} >= {"/predict", "/feedback", "/models"}
    for method, template, what, body in cases:
        operation = document["paths"][template][method.lower()]
        headers = {"X-API-Key": KEYS[operation["x-scope"]]}
        response = client.open(concrete(method, template, values), method=method, json=body, headers=headers)
        error = assert_plain_refusal(response, operation["responses"])
        assert response.status_code != 422 or error["details"], (method, template, what)


def test_every_malformed_query_gets_a_plain_documented_refusal(walker):
    client, document, values = walker
    cases = query_cases(document)
    assert {(path, name) for path, name, _ in cases} >= {("/models/stats", "model"), ("/audit", "limit")}
    for template, name, value in cases:
        operation = document["paths"][template]["get"]
        path = concrete("GET", template.replace("{model_name}", "sentiment"), values)
        response = client.get(path, query_string={name: value}, headers={"X-API-Key": KEYS["admin"]})
        if response.status_code == 200:  # a value this parameter takes ("-1" as a cursor is still a number)
            continue
        assert_plain_refusal(response, operation["responses"])


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"text": "hi", "user_id": {"a": 1}}, "user_id must be a string of 1 to 256 characters"),
        ({"text": "hi", "model_version": "v1"}, "model_version must be a semantic version such as 1.0.0"),
        ({"text": "hi", "model": "Not Valid!"}, "model must be a model name: 1 to 64 characters"),
        ({"text": "nul \u0000 inside"}, "text must not contain the NUL character"),
        ({"text": " \n\t "}, "text must contain at least one non-space character"),
        ({"text": "hi", "surprise": 1}, "surprise is not a field this request takes"),
        ({}, "text is required"),
        ({"text": 42}, "text must be a string"),
    ],
)
def test_prediction_refusals_name_the_field_and_the_rule(walker, body, message):
    client, document, _ = walker
    response = client.post("/predict", json=body, headers={"X-API-Key": KEYS["predict"]})
    error = assert_plain_refusal(response, document["paths"]["/predict"]["post"]["responses"])
    assert error["message"].startswith(message), error
    assert error["details"][0]["message"].startswith(message)


@pytest.mark.parametrize(("path", "limit"), [("/predict", MAX_BODY_BYTES), ("/feedback", MAX_FEEDBACK_BODY_BYTES)])
def test_a_body_over_the_limit_says_the_limit_in_bytes(walker, path, limit):
    client, document, _ = walker
    body = json.dumps({"text": "a" * (2**20)})
    response = client.post(path, data=body, content_type="application/json", headers={"X-API-Key": KEYS["predict"]})
    error = assert_plain_refusal(response, document["paths"][path]["post"]["responses"])
    assert response.status_code == 413 and error["code"] == "payload_too_large"
    assert f"at most {limit} bytes" in error["message"] and error["details"] == {"limit_bytes": limit}


@pytest.mark.parametrize(
    "path", ["/models/stats?model=nope", "/models/stats/timeseries?model=nope", "/models/performance?model=nope"]
)
def test_an_unknown_model_name_is_404(walker, path):
    client, document, _ = walker
    response = client.get(path, headers={"X-API-Key": KEYS["read"]})
    error = assert_plain_refusal(response, document["paths"][path.split("?")[0]]["get"]["responses"])
    assert response.status_code == 404 and error["message"] == "no model named 'nope'"
    assert client.get(path.replace("nope", "sentiment"), headers={"X-API-Key": KEYS["read"]}).status_code == 200
