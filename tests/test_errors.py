"""Bad input gets a clear JSON error in one shape, and changes nothing."""

from __future__ import annotations

import uuid

import pytest

from tests.api import activate, predict_chunked, register
from tests.apps import make_settings, shutdown
from webapp import create_app


def error_of(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    assert "Traceback" not in response.get_data(as_text=True)
    return body["error"]


@pytest.fixture
def serving(client):
    activate(client, register(client)["model_id"], 100)
    return client


def test_malformed_json_is_400(serving):
    error = error_of(serving.post("/predict", data='{"text": ', content_type="application/json"), 400)
    assert error["code"] == "malformed_json"


def test_empty_body_reads_as_an_empty_object(serving):
    error = error_of(serving.post("/predict", data="", content_type="application/json"), 422)
    assert error["code"] == "validation_error" and error["details"][0]["field"] == "text"


def test_wrong_content_type_is_415(serving):
    error = error_of(serving.post("/predict", data="text=hi", content_type="application/x-www-form-urlencoded"), 415)
    assert error["code"] == "unsupported_media_type"


def test_body_over_64_kb_is_413(serving):
    oversized = '{"text": "' + "a" * (65 * 1024) + '"}'
    assert error_of(serving.post("/predict", data=oversized, content_type="application/json"), 413)["code"] == (
        "payload_too_large"
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "text"),
        ({"text": ""}, "text"),
        ({"text": "   \n\t "}, "text"),
        ({"text": "a" * 5001}, "text"),
        ({"text": 42}, "text"),
        ({"text": None}, "text"),
        ({"text": "hi", "user_id": ""}, "user_id"),
        ({"text": "nul \u0000 inside"}, "text"),  # its log could not be stored
        ({"text": "hi", "user_id": "nul\u0000"}, "user_id"),
        ({"text": "hi", "user_id": ["a"]}, "user_id"),
        ({"text": "hi", "model": "Not Valid!"}, "model"),
        ({"text": "hi", "model_version": "v1"}, "model_version"),
        ({"text": "hi", "extra": 1}, "extra"),
    ],
)
def test_invalid_prediction_fields_are_422_naming_the_field(serving, body, field):
    error = error_of(serving.post("/predict", json=body), 422)
    assert error["code"] == "validation_error"
    assert field in {detail["field"].split(".")[0] for detail in error["details"]}


def test_a_json_array_is_not_a_request(serving):
    assert error_of(serving.post("/predict", json=["text"]), 422)["code"] == "validation_error"


def test_text_of_exactly_5000_characters_is_accepted(serving):
    assert serving.post("/predict", json={"text": "good " * 1000}).status_code == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"version": "1.0.0"}, "name"),
        ({"name": "sentiment"}, "version"),
        ({"name": "", "version": "1.0.0"}, "name"),
        ({"name": "a" * 65, "version": "1.0.0"}, "name"),
        ({"name": "Sentiment", "version": "1.0.0"}, "name"),
        ({"name": "sentiment", "version": "1.0"}, "version"),
        ({"name": "sentiment", "version": "01.0.0"}, "version"),
        ({"name": "sentiment", "version": "1.0.0", "accuracy": 1.5}, "accuracy"),
        ({"name": "sentiment", "version": "1.0.0", "accuracy": "0.9"}, "accuracy"),
        ({"name": "sentiment", "version": "1.0.0", "algorithm": "gpt"}, "algorithm"),
        ({"name": "sentiment", "version": "1.0.0", "params": []}, "params"),
        ({"name": "sentiment", "version": "1.0.0", "description": "nul\u0000"}, "description"),
    ],
)
def test_invalid_registrations_are_422_and_register_nothing(client, body, field):
    error = error_of(client.post("/models", json=body), 422)
    assert field in {detail["field"].split(".")[0] for detail in error["details"]}
    assert client.get("/models").get_json() == []


@pytest.mark.parametrize(
    "body",
    [
        {"percent": 101},
        {"percent": -1},
        {"percent": 50.555},
        {"percent": True},
        {"percent": "50"},
        {},
        {"percent": 10, "traffic_percent": 10},
    ],
)
def test_invalid_activations_are_422_and_change_nothing(client, body):
    model_id = register(client)["model_id"]
    error_of(client.post(f"/models/{model_id}/activate", json=body), 422)
    assert client.get(f"/models/{model_id}").get_json()["status"] == "inactive"


def test_unknown_ids_are_404(client):
    for path in (f"/models/{uuid.uuid4()}", "/models/12345"):
        assert error_of(client.get(path), 404)["code"] == "not_found"
    assert error_of(client.post(f"/models/{uuid.uuid4()}/activate", json={"percent": 5}), 404)["code"] == "not_found"
    assert error_of(client.delete("/models/nope"), 404)["code"] == "not_found"


def test_unknown_route_is_404_and_wrong_method_is_405(client):
    assert error_of(client.get("/nowhere"), 404)["code"] == "not_found"
    assert error_of(client.get("/predict"), 405)["code"] == "method_not_allowed"
    assert error_of(client.put("/models"), 405)["code"] == "method_not_allowed"


def test_unreachable_database_gives_503_on_registry_writes_and_health(redis_url, tmp_path):
    # Nothing listens on port 1: the real driver fails to connect, as it would during an outage.
    app = create_app(
        make_settings(tmp_path, DATABASE_URL="postgresql://postgres@127.0.0.1:1/none", REDIS_URL=redis_url)
    )
    try:
        client = app.test_client()
        error = error_of(client.post("/models", json={"name": "sentiment", "version": "1.0.0"}), 503)
        assert error["code"] == "database_unavailable"
        health = error_of(client.get("/health"), 503)
        assert health["details"]["down"] == ["database"]
    finally:
        shutdown(app)


@pytest.mark.parametrize(("text_size", "status"), [(100, 200), (65 * 1024, 413)])
def test_a_chunked_body_without_content_length_is_bounded_too(serving, text_size, status):
    answer = predict_chunked(serving, {"text": "a" * text_size})
    assert answer.status_code == status
    assert answer.request.content_length is None
