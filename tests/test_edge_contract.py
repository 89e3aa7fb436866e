"""Generated from the OpenAPI document: every state-changing operation needs its scope's key and a JSON body.

The operations come from the document (`/openapi.json`), not from a list here, and each one's key
scope from its `x-scope` (written from the same `@endpoint` declaration that enforces it). A new
POST, PUT, PATCH or DELETE is tested the day it is added; a route missing from the document fails.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import text

from tests.apps import data_tables, make_settings, reset_state, shutdown
from webapp import create_app, register_blueprints
from webapp.auth import SCOPES, KeyRing
from webapp.config import Settings
from webapp.docs.openapi import build_openapi
from webapp.extensions import db
from webapp.http import WRITE_METHODS

ADMIN, PREDICT, READ = "edge-admin", "edge-predict", "edge-read"
KEYS = {"admin": ADMIN, "predict": PREDICT, "read": READ}
# Keys that a scope does not accept (an admin key is good for every scope).
REFUSED = {"admin": (PREDICT, READ), "predict": (READ,), "read": ()}
# GET-only pages and their files, outside the API: the one kind of route the document may leave out.
PAGES = {
    "dashboard.service_index",
    "dashboard.dashboard",
    "dashboard.dashboard_static",
    "dashboard.plotly_bundle",
    "docs.docs",
    "docs.docs_assets",
    "docs.docs_static",
    "docs.openapi",
}
# Bodies that would do something if a refused request got through (any other operation: {}).
EXAMPLE_BODIES = {
    ("POST", "/models"): {"name": "sentiment", "version": "9.0.0"},
    ("POST", "/models/{model_id}/activate"): {"percent": 50},
    ("POST", "/models/{model_id}/shadow"): {"percent": 10},
    ("PUT", "/models/{name}/split"): {"weights": {"1.0.0": 30, "3.0.0": 70}},
    ("POST", "/models/{name}/bandit"): {"versions": ["1.0.0", "3.0.0"]},
    ("POST", "/predict"): {"text": "I love this!"},
}
# Writes whose body is a file, not JSON: their declared type is this one, and JSON is refused like the rest.
FILE_UPLOADS = {("PUT", "/models/{model_id}/artifact"): "application/octet-stream"}
REFUSED_TYPES = {
    "text/plain": lambda body: {"data": json.dumps(body), "content_type": "text/plain"},
    "form": lambda body: {"data": {k: json.dumps(v) for k, v in body.items()} or {"x": "1"}},
    "multipart": lambda body: {"data": {"x": "1"}, "content_type": "multipart/form-data"},
    "no type": lambda body: {},
    "+json": lambda body: {"data": json.dumps(body), "content_type": "application/vnd.api+json"},
}


def bare_app() -> Flask:
    """The app's routes and their declarations, without its services: enough to build the document."""
    application = Flask("edge-contract")
    register_blueprints(application)
    application.extensions["keys"] = KeyRing(Settings.from_env({}))
    return application


def template_of(rule: str) -> str:
    """A Flask rule as the document writes its path: `/models/<uuid:model_id>` -> `/models/{model_id}`."""
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


def write_operations(document: dict) -> list[tuple[str, str, str]]:
    """(METHOD, path template, x-scope) of every state-changing operation in the document."""
    return sorted(
        (method.upper(), path, operation["x-scope"])
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method.upper() in WRITE_METHODS
    )


OPERATIONS = write_operations(build_openapi(bare_app()))


@pytest.fixture
def keyed_app(postgres_url: str, redis_url: str, broker_url: str, tmp_path) -> Iterator[Flask]:
    settings = make_settings(
        tmp_path,
        DATABASE_URL=postgres_url,
        REDIS_URL=redis_url,
        CELERY_BROKER_URL=broker_url,
        ADMIN_API_KEYS=ADMIN,
        PREDICT_API_KEYS=PREDICT,
        READ_API_KEYS=READ,
    )
    application = create_app(settings)
    reset_state(application)
    yield application
    shutdown(application)


@pytest.fixture
def seeded(keyed_app: Flask) -> dict[str, str]:
    """State each operation would change: sentiment 1.0.0 at 100% with a running rollout of 2.0.0,
    3.0.0 inactive; other 1.0.0 and 3.0.0 under a bandit. Returns the values for path parameters."""
    client = keyed_app.test_client()
    admin = {"Authorization": f"Bearer {ADMIN}"}

    def call(method: str, path: str, body: dict, status: int) -> dict:
        response = client.open(path, method=method, json=body, headers=admin)
        assert response.status_code == status, (path, response.get_json())
        return response.get_json()

    ids = {
        version: call("POST", "/models", {"name": "sentiment", "version": version}, 201)["model_id"]
        for version in ("1.0.0", "2.0.0", "3.0.0")
    }
    call("POST", f"/models/{ids['1.0.0']}/activate", {"percent": 100}, 200)
    rollout = call("POST", "/models/sentiment/rollouts", {"candidate": "2.0.0"}, 201)
    for version in ("1.0.0", "3.0.0"):
        call("POST", "/models", {"name": "other", "version": version}, 201)
    call("POST", "/models/other/bandit", {"versions": ["1.0.0", "3.0.0"]}, 201)
    return {"model_id": ids["1.0.0"], "spare_id": ids["3.0.0"], "rollout_id": str(rollout["id"])}


def concrete(method: str, template: str, values: dict[str, str]) -> str:
    """The path with each parameter set to a seeded resource the operation would change."""
    model_id = values["spare_id"] if method == "DELETE" else values["model_id"]  # an active version is not archived
    name = "other" if template.endswith("/bandit") else "sentiment"
    return template.format(model_id=model_id, name=name, rollout_id=values["rollout_id"])


def sent_as_declared(method: str, template: str) -> dict:
    """The request's body, sent with the type its operation declares."""
    if (method, template) in FILE_UPLOADS:
        return {"data": b"model bytes", "content_type": FILE_UPLOADS[method, template]}
    return {"json": EXAMPLE_BODIES.get((method, template), {})}


def fingerprint(app: Flask) -> dict[str, tuple[int, str]]:
    """Every data table's row count and digest, and the routing-config version: any write shows."""
    digest = "SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM {} t"
    with app.app_context():
        rows = {
            table: tuple(db.session.execute(text(digest.format(table))).one())
            for table in [*data_tables(), "routing_state"]
        }
        db.session.remove()
    return rows


def test_the_document_lists_every_state_changing_operation_with_its_scope(keyed_app: Flask):
    document = keyed_app.test_client().get("/openapi.json").get_json()
    assert write_operations(document) == OPERATIONS  # what the tests below were generated from
    assert len(OPERATIONS) >= 15
    assert {scope for _, _, scope in OPERATIONS} <= set(SCOPES)
    for method, path, _ in OPERATIONS:
        operation = document["paths"][path][method.lower()]
        assert operation["security"] == [{"bearerAuth": []}, {"apiKeyAuth": []}], (method, path)
        assert {"401", "403", "415"} <= set(operation["responses"]), (method, path)
        declared = FILE_UPLOADS.get((method, path), "application/json")
        assert list(operation["requestBody"]["content"]) == [declared], (method, path)


def test_each_documented_scope_is_the_one_the_view_enforces(keyed_app: Flask):
    document = build_openapi(keyed_app)
    for rule in keyed_app.url_map.iter_rules():
        spec = getattr(keyed_app.view_functions[rule.endpoint], "endpoint_spec", None)
        if spec is None:
            continue
        path = template_of(rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert document["paths"][path][method.lower()]["x-scope"] == spec.scope, (method, path)


def test_every_route_of_the_app_is_in_the_document(keyed_app: Flask):
    document = build_openapi(keyed_app)
    documented = {(path, method.upper()) for path, item in document["paths"].items() for method in item}
    missing = []
    for rule in keyed_app.url_map.iter_rules():
        path = template_of(rule.rule)
        methods = rule.methods - {"HEAD", "OPTIONS"}
        if rule.endpoint in PAGES:
            assert methods == {"GET"}, f"{rule.rule} is a page: it may only be read"
            continue
        missing += [(method, path) for method in methods if (path, method) not in documented]
    assert missing == [], "routes with no @endpoint declaration, so no key check and no contract"


@pytest.mark.parametrize(("method", "template", "scope"), OPERATIONS, ids=[f"{m} {p}" for m, p, _ in OPERATIONS])
def test_a_write_needs_a_key_of_its_documented_scope(keyed_app, seeded, method, template, scope):
    client = keyed_app.test_client()
    path = concrete(method, template, seeded)
    body = sent_as_declared(method, template)
    before = fingerprint(keyed_app)

    response = client.open(path, method=method, **body)
    assert response.status_code == 401, response.get_json()
    assert response.get_json()["error"]["code"] == "unauthorized"
    for key in REFUSED[scope]:
        response = client.open(path, method=method, headers={"X-API-Key": key}, **body)
        assert response.status_code == 403, (key, response.get_json())
        assert response.get_json()["error"]["code"] == "forbidden"
    assert fingerprint(keyed_app) == before


@pytest.mark.parametrize(("method", "template", "scope"), OPERATIONS, ids=[f"{m} {p}" for m, p, _ in OPERATIONS])
def test_a_write_not_sent_as_json_is_415_and_changes_nothing(keyed_app, seeded, method, template, scope):
    client = keyed_app.test_client()
    path = concrete(method, template, seeded)
    body = EXAMPLE_BODIES.get((method, template), {})
    key = {"X-API-Key": KEYS[scope]}
    before = fingerprint(keyed_app)

    declared = FILE_UPLOADS.get((method, template), "application/json")
    refused = dict(REFUSED_TYPES)
    if declared != "application/json":
        refused["json"] = lambda body: {"json": body}
    for kind, how in refused.items():
        response = client.open(path, method=method, headers=key, **how(body))
        assert response.status_code == 415, (kind, response.get_json())
        error = response.get_json()["error"]
        assert error["code"] == "unsupported_media_type", kind
        assert f"Content-Type: {declared}" in error["message"], kind
    assert fingerprint(keyed_app) == before

    # The type was all that was wrong: sent as declared, with a parameter, the same call gets past it.
    if declared == "application/json":
        sent = {"data": json.dumps(body), "content_type": "application/json; charset=utf-8"}
    else:
        sent = {"data": b"model bytes", "content_type": f"{declared}; charset=binary"}
    response = client.open(path, method=method, headers=key, **sent)
    assert response.status_code not in (401, 403, 415, 500), response.get_json()
