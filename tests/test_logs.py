"""Structured logs: one JSON object per line with the request id, an access log, and no secrets."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
from flask import Flask

from tests.apps import make_settings, reset_state, shutdown
from tests.http_client import call
from tests.support import GunicornServer, free_port, wait_for
from webapp import create_app
from webapp.logs import configure_logging, log_handler

ADMIN_KEY = "admin-key-7f3c9e1d2b"
PREDICT_KEY = "predict-key-1e2d3c4b5a"
WRONG_KEY = "wrong-key-5a8b0c4d6e"
SECRET_TEXT = "Quixotic zebra umbrellas are marvellous"


@pytest.fixture
def logged_app(postgres_url, redis_url, broker_url, tmp_path) -> Iterator[Flask]:
    """The app with keys, JSON logs and the access log on."""
    settings = make_settings(
        tmp_path,
        DATABASE_URL=postgres_url,
        REDIS_URL=redis_url,
        CELERY_BROKER_URL=broker_url,
        ADMIN_API_KEYS=ADMIN_KEY,
        PREDICT_API_KEYS=PREDICT_KEY,
        LOG_FORMAT="json",
        LOG_REQUESTS="true",
    )
    application = create_app(settings)
    reset_state(application)
    yield application
    shutdown(application)
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "router_handler", False)]:
        root.removeHandler(handler)


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    """What the JSON handler writes, for the test to read."""
    stream = io.StringIO()
    handler = log_handler("json", stream)
    logging.getLogger().addHandler(handler)
    yield stream
    logging.getLogger().removeHandler(handler)


def records(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_json_format_puts_a_json_handler_on_the_root_logger(logged_app):
    handlers = [h for h in logging.getLogger().handlers if getattr(h, "router_handler", False)]
    assert len(handlers) == 1
    configure_logging(logged_app.extensions["settings"])  # again: still one, not two
    assert len([h for h in logging.getLogger().handlers if getattr(h, "router_handler", False)]) == 1


def test_each_line_is_one_json_object_with_the_request_id(logged_app, json_lines):
    client = logged_app.test_client()
    response = client.get("/models", headers={"X-Request-ID": "trace-42", "X-API-Key": ADMIN_KEY})
    assert response.status_code == 200 and response.headers["X-Request-ID"] == "trace-42"
    (access,) = [r for r in records(json_lines) if r["logger"] == "webapp.access"]
    assert {"timestamp", "level", "logger", "message"} <= access.keys()
    assert access["request_id"] == "trace-42" and access["level"] == "INFO"
    assert (access["method"], access["route"], access["status"]) == ("GET", "/models", 200)
    assert access["duration_ms"] >= 0


def test_a_request_without_an_id_is_logged_under_the_id_it_is_answered_with(logged_app, json_lines):
    response = logged_app.test_client().get("/models/nope/split", headers={"X-API-Key": ADMIN_KEY})
    (access,) = [r for r in records(json_lines) if r["logger"] == "webapp.access"]
    assert access["request_id"] == response.headers["X-Request-ID"]
    assert (access["route"], access["status"]) == ("/models/<name>/split", 404)


def test_no_key_and_no_prediction_text_ever_reach_a_log_line(logged_app, json_lines, caplog):
    caplog.set_level(logging.INFO)
    client = logged_app.test_client()
    admin = {"X-API-Key": ADMIN_KEY}
    model_id = client.post("/models", json={"name": "sentiment", "version": "1.0.0"}, headers=admin).get_json()
    client.post(f"/models/{model_id['model_id']}/activate", json={"percent": 100}, headers=admin)
    answer = client.post("/predict", json={"text": SECRET_TEXT, "user_id": "u1"}, headers={"X-API-Key": PREDICT_KEY})
    assert answer.status_code == 200
    assert client.post("/predict", json={"text": SECRET_TEXT}, headers={"X-API-Key": WRONG_KEY}).status_code == 403
    bearer = {"Authorization": f"Bearer {WRONG_KEY}"}
    assert client.post("/predict", json={"text": SECRET_TEXT}, headers=bearer).status_code == 403
    too_long = client.post("/predict", json={"text": SECRET_TEXT * 200}, headers=admin)
    assert too_long.status_code == 422
    odd = client.post("/predict", json={"text": SECRET_TEXT, "unknown": SECRET_TEXT}, headers=admin)
    assert odd.status_code == 422
    logged_app.extensions["log_buffer"].flush()  # the shipping thread's lines too
    written = json_lines.getvalue() + caplog.text
    assert len([r for r in records(json_lines) if r["logger"] == "webapp.access"]) == 7
    for secret in (ADMIN_KEY, PREDICT_KEY, WRONG_KEY, SECRET_TEXT, "Quixotic", "zebra"):
        assert secret not in written


@pytest.mark.slow
def test_under_gunicorn_every_line_is_json_and_each_request_is_logged_once(app, client):
    settings = app.extensions["settings"]
    env = {
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "CELERY_BROKER_URL": settings.broker_url,
        "INSTANCE_DIR": str(settings.instance_dir),
        "LOG_FORMAT": "json",
        "LOG_REQUESTS": "true",
    }
    server = GunicornServer(env, free_port(), workers=2)
    server.start()
    try:
        wait_for(lambda: call(server.url, "GET", "/models")[0] == 200, timeout=20, what="the server")
        status, _ = call(server.url, "POST", "/predict", {"text": SECRET_TEXT})
        assert status == 503  # nothing active: still logged, and still without the text
        wait_for(lambda: '"status": 503' in server.tail(200), timeout=10, what="the access line")
    finally:
        server.stop()
    lines = [json.loads(line) for line in server.output if line.strip()]  # each one JSON, or this raises
    access = [line for line in lines if line["logger"] == "webapp.access" and line["route"] == "/predict"]
    assert len(access) == 1 and access[0]["status"] == 503 and access[0]["request_id"]
    assert any(line["logger"] == "gunicorn.error" for line in lines)
    assert SECRET_TEXT not in "".join(server.output)
