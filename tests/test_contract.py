"""The OpenAPI contract: generated from the code, served with offline docs, and fuzzed with Schemathesis."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from tests.apps import make_settings, reset_state, shutdown
from tests.support import GunicornServer, free_port
from webapp import create_app

ADMIN, PREDICT, READ = "contract-admin", "contract-predict", "contract-read"
# Any admin key is good for every scope, so one header exercises every operation.
AUTH = {"Authorization": f"Bearer {ADMIN}"}
EXAMPLES_PER_OPERATION = 40


@pytest.fixture(scope="module")
def contract_app(postgres_url: str, redis_url: str, tmp_path_factory) -> Iterator[Flask]:
    settings_ = make_settings(
        tmp_path_factory.mktemp("contract"),
        DATABASE_URL=postgres_url,
        REDIS_URL=redis_url,
        ADMIN_API_KEYS=ADMIN,
        PREDICT_API_KEYS=PREDICT,
        READ_API_KEYS=READ,
    )
    application = create_app(settings_)
    reset_state(application)
    client = application.test_client()
    # Something to find: a model with an active version, so routing, stats and lookups have data.
    v1 = client.post("/models", json={"name": "sentiment", "version": "1.0.0"}, headers=AUTH).get_json()["model_id"]
    client.post(f"/models/{v1}/activate", json={"percent": 60}, headers=AUTH)
    yield application
    shutdown(application)


@pytest.mark.slow
def test_schemathesis_finds_no_contract_violation_against_a_real_server(contract_app: Flask, tmp_path):
    """Every operation, fuzzed: no 5xx, responses match their schemas, bad data is rejected, auth is enforced."""
    settings_ = contract_app.extensions["settings"]
    env = {
        "DATABASE_URL": settings_.database_url,
        "REDIS_URL": settings_.redis_url,
        "INSTANCE_DIR": str(tmp_path),
        "ADMIN_API_KEYS": ADMIN,
        "PREDICT_API_KEYS": PREDICT,
        "READ_API_KEYS": READ,
    }
    server = GunicornServer(env, free_port(), workers=2)
    server.start()
    try:
        command = [
            str(Path(sys.executable).parent / "schemathesis"),
            "run",
            f"{server.url}/openapi.json",
            "--header",
            f"Authorization: Bearer {ADMIN}",
            "--max-examples",
            str(EXAMPLES_PER_OPERATION),
            "--checks",
            "all",
            # Valid-by-schema requests may still meet state: activating past 100% is a 409 by design.
            "--exclude-checks",
            "positive_data_acceptance",
            # No stateful phase: chaining calls would deactivate the seeded version, and /predict with
            # nothing active is a documented 503; each operation is still fuzzed on its own.
            "--phases",
            "examples,coverage,fuzzing",
            "--seed",
            "20261123",
            "--request-timeout",
            "10",
            "--generation-database",
            "none",
        ]
        run = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    finally:
        server.stop()
    assert run.returncode == 0, run.stdout + run.stderr[-2000:]


def test_the_document_covers_every_route_of_the_app(contract_app: Flask):
    document = contract_app.test_client().get("/openapi.json").get_json()
    documented = {(path, method.upper()) for path, item in document["paths"].items() for method in item}
    routes = {
        (re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule), method)
        for rule in contract_app.url_map.iter_rules()
        for method in rule.methods - {"HEAD", "OPTIONS"}
        # The open pages and their files (API docs, dashboard) and the service index at / are not API operations.
        if not rule.rule.startswith(("/openapi.json", "/docs", "/dashboard")) and rule.rule != "/"
    }
    assert routes == documented


def test_request_schemas_come_from_the_validating_models(contract_app: Flask):
    from pydantic import ValidationError

    from webapp.predict.schemas import PredictRequest

    document = contract_app.test_client().get("/openapi.json").get_json()
    text = document["components"]["schemas"]["PredictRequest"]["properties"]["text"]
    assert text == PredictRequest.model_json_schema()["properties"]["text"]
    assert PredictRequest(text="a" * text["maxLength"])
    with pytest.raises(ValidationError):
        PredictRequest(text="a" * (text["maxLength"] + 1))


def test_protected_operations_declare_their_security(contract_app: Flask):
    document = contract_app.test_client().get("/openapi.json").get_json()
    assert document["paths"]["/models"]["post"]["security"] == [{"bearerAuth": []}, {"apiKeyAuth": []}]


def test_interactive_docs_are_served_without_internet(contract_app: Flask):
    client = contract_app.test_client()
    page = client.get("/docs").get_data(as_text=True)
    assert "/openapi.json" in page and "http" not in page  # every asset from this server, none from a CDN
    for asset in ("/docs/assets/swagger-ui-bundle.js", "/docs/assets/swagger-ui.css"):
        response = client.get(asset)
        assert response.status_code == 200 and len(response.data) > 10_000, asset
