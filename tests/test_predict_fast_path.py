"""The /predict fast path: a well-formed request is answered before Flask's dispatch, exactly as the
view would answer it; every other request reaches the view untouched."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from flask import Flask, request, request_started

from tests.api import activate, predict_chunked, register, two_versions
from tests.apps import make_settings, reset_state, shutdown
from webapp import create_app
from webapp.predict import service

PREDICT_KEY = "predict-key-9c1d"
# Fields that differ between two answers to the same request whichever layer gives them.
PER_CALL = {"prediction_id", "latency_ms", "created_at"}


class RecordingSink:
    """Stands in for a log buffer: keeps what the request path appends."""

    def __init__(self) -> None:
        self.records: list[dict] = []

    def append(self, record: dict) -> None:
        self.records.append(record)


@pytest.fixture
def flask_only(app: Flask, postgres_url, redis_url, broker_url, tmp_path: Path) -> Iterator[Flask]:
    """A second app on the same services with PREDICT_FAST_PATH off: every /predict goes through the view."""
    settings = make_settings(
        tmp_path / "flask-only",
        DATABASE_URL=postgres_url,
        REDIS_URL=redis_url,
        CELERY_BROKER_URL=broker_url,
        PREDICT_FAST_PATH="false",
    )
    application = create_app(settings)
    yield application
    shutdown(application)


@contextmanager
def dispatched_by(application: Flask) -> Iterator[list[str]]:
    """The paths that went through `application`'s Flask request dispatch while the block ran."""
    paths: list[str] = []

    def record(sender: Flask, **extra: object) -> None:
        paths.append(request.path)

    request_started.connect(record, application)
    try:
        yield paths
    finally:
        request_started.disconnect(record, application)


@pytest.fixture
def dispatched(app: Flask) -> Iterator[list[str]]:
    with dispatched_by(app) as paths:
        yield paths


def logged(application: Flask, monkeypatch: pytest.MonkeyPatch) -> RecordingSink:
    sink = RecordingSink()
    monkeypatch.setitem(application.extensions, "log_buffer", sink)
    return sink


def comparable(answer: dict) -> dict:
    return {field: value for field, value in answer.items() if field not in PER_CALL}


def test_a_well_formed_prediction_is_answered_without_flask_dispatch(app, client, dispatched):
    activate(client, register(client)["model_id"], 100)
    dispatched.clear()
    response = client.post("/predict", json={"text": "I love this!", "user_id": "u1"})
    assert response.status_code == 200 and response.get_json()["prediction"] == "positive"
    assert response.headers["X-Request-ID"]
    assert dispatched == []


@pytest.mark.parametrize(
    "body",
    [
        {"text": "Nice work", "user_id": "user-7"},
        {"text": "This is awful", "user_id": 42},
        {"text": "meh", "model_version": "2.0.0"},
        {"text": "Great", "user_id": "u9", "model": "sentiment"},
    ],
)
def test_the_fast_path_answers_and_logs_what_the_view_would(app, client, flask_only, monkeypatch, body):
    two_versions(client, 30, 70)
    fast_log, view_log = logged(app, monkeypatch), logged(flask_only, monkeypatch)
    headers = {"X-Request-ID": "same-request"}
    fast = client.post("/predict", json=body, headers=headers)
    view = flask_only.test_client().post("/predict", json=body, headers=headers)

    assert fast.status_code == view.status_code == 200
    assert sorted(fast.headers.keys()) == sorted(view.headers.keys())
    assert fast.headers["Content-Type"] == view.headers["Content-Type"] == "application/json"
    assert fast.headers["X-Request-ID"] == view.headers["X-Request-ID"] == "same-request"
    assert int(fast.headers["Content-Length"]) == len(fast.get_data())
    assert list(fast.get_json()) == list(view.get_json())  # same fields, same order
    assert comparable(fast.get_json()) == comparable(view.get_json())
    (fast_record,), (view_record,) = fast_log.records, view_log.records
    assert fast_record["prediction_id"] == fast.get_json()["prediction_id"]
    assert comparable(fast_record) == comparable(view_record)


@pytest.mark.parametrize(
    ("data", "content_type", "status", "code"),
    [
        (b'{"text": "unterminated', "application/json", 400, "malformed_json"),
        (b"", "application/json", 422, "validation_error"),  # an empty body reads as {}
        (b'{"text": ""}', "application/json", 422, "validation_error"),
        (b'{"text": "hi", "model": "nope"}', "application/json", 404, "not_found"),
        (b'{"text": "hi", "model_version": "9.9.9"}', "application/json", 404, "not_found"),
        (b'{"text": "hi"}', "text/plain", 415, "unsupported_media_type"),
        (b'{"text": "hi"}', "application/vnd.api+json", 415, "unsupported_media_type"),
    ],
)
def test_what_the_fast_path_does_not_answer_reaches_the_view_whole(
    app, client, flask_only, dispatched, data, content_type, status, code
):
    activate(client, register(client)["model_id"], 100)
    dispatched.clear()
    fast = client.post("/predict", data=data, content_type=content_type)
    view = flask_only.test_client().post("/predict", data=data, content_type=content_type)
    assert fast.status_code == view.status_code == status
    assert dispatched == ["/predict"]
    if code is not None:  # the view read the same body: its error names the same fields
        assert fast.get_json() == view.get_json() and fast.get_json()["error"]["code"] == code


def test_a_chunked_body_reaches_the_view(app, client, dispatched):
    activate(client, register(client)["model_id"], 100)
    dispatched.clear()
    response = predict_chunked(client, {"text": "I love this!"})
    assert response.status_code == 200 and response.request.content_length is None
    assert dispatched == ["/predict"]


def test_with_predict_keys_only_an_accepted_key_is_served_fast(postgres_url, redis_url, broker_url, tmp_path):
    keyed = create_app(
        make_settings(
            tmp_path,
            DATABASE_URL=postgres_url,
            REDIS_URL=redis_url,
            CELERY_BROKER_URL=broker_url,
            PREDICT_API_KEYS=PREDICT_KEY,
            ADMIN_API_KEYS="admin-key-3e7a",
        )
    )
    reset_state(keyed)
    try:
        admin = {"X-API-Key": "admin-key-3e7a"}
        client = keyed.test_client()
        model = client.post("/models", json={"name": "sentiment", "version": "1.0.0"}, headers=admin).get_json()
        client.post(f"/models/{model['model_id']}/activate", json={"percent": 100}, headers=admin)
        body = {"text": "I love this!"}
        with dispatched_by(keyed) as paths:
            served = client.post("/predict", json=body, headers={"Authorization": f"Bearer {PREDICT_KEY}"})
            assert served.status_code == 200 and paths == []
            assert client.post("/predict", json=body).status_code == 401
            assert client.post("/predict", json=body, headers={"X-API-Key": "wrong"}).status_code == 403
        assert paths == ["/predict", "/predict"]
    finally:
        shutdown(keyed)


def test_an_unexpected_failure_on_the_fast_path_is_the_same_json_500_as_flasks(app, client, monkeypatch, dispatched):
    activate(client, register(client)["model_id"], 100)

    def broken(*args, **kwargs):
        raise RuntimeError("a secret the client must not see")

    monkeypatch.setattr(service, "count_prediction", broken)
    dispatched.clear()
    response = client.post("/predict", json={"text": "I love this!"})
    assert response.status_code == 500 and dispatched == []
    assert response.get_json() == {
        "error": {"code": "internal_error", "message": "Internal server error.", "details": None}
    }
    assert "secret" not in response.get_data(as_text=True)
