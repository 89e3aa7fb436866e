"""Small helpers that speak the HTTP API the way a client would."""

from __future__ import annotations

import io
import json
from typing import Any

from flask.testing import FlaskClient
from werkzeug.test import TestResponse


def register(client: FlaskClient, name: str = "sentiment", version: str = "1.0.0", **fields: Any) -> dict:
    response = client.post("/models", json={"name": name, "version": version, **fields})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def activate(client: FlaskClient, model_id: str, percent: int) -> dict:
    response = client.post(f"/models/{model_id}/activate", json={"percent": percent})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def predict(client: FlaskClient, text: str = "I love this!", **fields: Any) -> dict:
    response = client.post("/predict", json={"text": text, **fields})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def predict_chunked(client: FlaskClient, body: dict) -> TestResponse:
    """POST /predict with a chunked body and no Content-Length, as gunicorn passes one to the app."""
    return client.post(
        "/predict",
        input_stream=io.BytesIO(json.dumps(body).encode()),
        content_type="application/json",
        headers={"Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},
    )


def two_versions(client: FlaskClient, first: int = 50, second: int = 50) -> tuple[str, str]:
    """Register sentiment 1.0.0 and 2.0.0 and activate them at the given percents."""
    v1, v2 = register(client, version="1.0.0")["model_id"], register(client, version="2.0.0")["model_id"]
    activate(client, v1, first)
    activate(client, v2, second)
    return v1, v2
