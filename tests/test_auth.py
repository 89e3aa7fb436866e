"""API keys: with keys configured, nobody without one changes traffic, predicts or reads; without keys, all is open."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from flask import Flask

from tests.apps import make_settings, reset_state, shutdown
from webapp import create_app
from webapp.config import ConfigError, Settings

ADMIN, PREDICT, READ = "admin-key-1", "predict-key-1", "read-key-1"


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def keyed_app(postgres_url: str, redis_url: str, tmp_path) -> Iterator[Flask]:
    settings = make_settings(
        tmp_path,
        DATABASE_URL=postgres_url,
        REDIS_URL=redis_url,
        ADMIN_API_KEYS=f"{ADMIN}, admin-key-2",
        PREDICT_API_KEYS=PREDICT,
        READ_API_KEYS=READ,
    )
    application = create_app(settings)
    reset_state(application)
    yield application
    shutdown(application)


@pytest.fixture
def keyed(keyed_app: Flask):
    return keyed_app.test_client()


def register_with(client, headers) -> object:
    return client.post("/models", json={"name": "sentiment", "version": "1.0.0"}, headers=headers)


def test_a_registry_write_without_a_key_is_401_and_changes_nothing(keyed):
    response = register_with(keyed, {})
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthorized"
    assert keyed.get("/models", headers=bearer(ADMIN)).get_json() == []


@pytest.mark.parametrize("key", [PREDICT, READ, "admin-key-", "nonsense"])
def test_a_registry_write_with_a_key_of_another_scope_is_403_and_changes_nothing(keyed, key):
    response = register_with(keyed, bearer(key))
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "forbidden"
    assert keyed.get("/models", headers=bearer(ADMIN)).get_json() == []


def test_every_admin_operation_needs_the_admin_key(keyed):
    model_id = register_with(keyed, bearer(ADMIN)).get_json()["model_id"]
    protected = [
        ("post", f"/models/{model_id}/activate", {"percent": 10}),
        ("post", f"/models/{model_id}/deactivate", {}),
        ("delete", f"/models/{model_id}", {}),
        ("post", "/models/stats/refresh", {}),
    ]
    for method, path, body in protected:
        assert getattr(keyed, method)(path, json=body).status_code == 401, path
        assert getattr(keyed, method)(path, json=body, headers=bearer(PREDICT)).status_code == 403, path
    assert keyed.get(f"/models/{model_id}", headers=bearer(READ)).get_json()["status"] == "inactive"


def test_either_header_form_and_any_listed_admin_key_is_accepted(keyed):
    assert register_with(keyed, {"X-API-Key": "admin-key-2"}).status_code == 201
    model_id = keyed.get("/models", headers=bearer(READ)).get_json()[0]["model_id"]
    response = keyed.post(f"/models/{model_id}/activate", json={"percent": 100}, headers=bearer(ADMIN))
    assert response.status_code == 200


def test_predict_needs_a_predict_key_and_an_admin_key_also_serves(keyed):
    model_id = register_with(keyed, bearer(ADMIN)).get_json()["model_id"]
    keyed.post(f"/models/{model_id}/activate", json={"percent": 100}, headers=bearer(ADMIN))
    body = {"text": "I love this!"}
    assert keyed.post("/predict", json=body).status_code == 401
    assert keyed.post("/predict", json=body, headers=bearer(READ)).status_code == 403
    assert keyed.post("/predict", json=body, headers=bearer(PREDICT)).status_code == 200
    assert keyed.post("/predict", json=body, headers=bearer(ADMIN)).status_code == 200


@pytest.mark.parametrize("path", ["/models", "/models/stats", "/models/performance", "/health"])
def test_reads_need_a_read_key_when_read_keys_are_set(keyed, path):
    assert keyed.get(path).status_code == 401
    assert keyed.get(path, headers=bearer(PREDICT)).status_code == 403
    assert keyed.get(path, headers=bearer(READ)).status_code == 200


def test_reads_stay_open_when_only_admin_and_predict_keys_are_set(postgres_url, redis_url, tmp_path):
    settings = make_settings(
        tmp_path, DATABASE_URL=postgres_url, REDIS_URL=redis_url, ADMIN_API_KEYS=ADMIN, PREDICT_API_KEYS=PREDICT
    )
    application = create_app(settings)
    try:
        client = application.test_client()
        assert client.get("/models").status_code == 200
        assert client.post("/predict", json={"text": "hi"}).status_code == 401
        assert register_with(client, {}).status_code == 401
    finally:
        shutdown(application)


def test_without_keys_everything_is_open_and_one_warning_says_so(postgres_url, redis_url, tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="webapp.auth"):
        application = create_app(make_settings(tmp_path, DATABASE_URL=postgres_url, REDIS_URL=redis_url))
    try:
        warnings = [r.getMessage() for r in caplog.records if r.name == "webapp.auth"]
        assert len(warnings) == 1 and "open" in warnings[0]
        reset_state(application)
        assert register_with(application.test_client(), {}).status_code == 201
    finally:
        shutdown(application)


def test_keys_never_appear_in_the_log(keyed, caplog):
    with caplog.at_level(logging.DEBUG):
        register_with(keyed, bearer("a-wrong-secret-value"))
        register_with(keyed, bearer(ADMIN))
    assert "a-wrong-secret-value" not in caplog.text and ADMIN not in caplog.text


KEY_LISTS = ("ADMIN_API_KEYS", "PREDICT_API_KEYS", "READ_API_KEYS")


@pytest.mark.parametrize(
    ("keys", "missing"),
    [
        ({}, KEY_LISTS),
        ({"ADMIN_API_KEYS": ADMIN, "PREDICT_API_KEYS": PREDICT}, ("READ_API_KEYS",)),
        ({"PREDICT_API_KEYS": PREDICT, "READ_API_KEYS": READ}, ("ADMIN_API_KEYS",)),
        ({"ADMIN_API_KEYS": ADMIN, "READ_API_KEYS": " , "}, ("PREDICT_API_KEYS", "READ_API_KEYS")),
    ],
)
def test_with_require_api_keys_an_open_scope_stops_the_start_naming_its_variable(tmp_path, keys, missing):
    instance = tmp_path / "instance"
    with pytest.raises(ConfigError) as refused:
        create_app(make_settings(instance, REQUIRE_API_KEYS="true", **keys))
    message = str(refused.value)
    assert "REQUIRE_API_KEYS" in message
    assert [name for name in KEY_LISTS if name in message] == list(missing)
    assert not instance.exists()  # refused before anything started or was written


def test_with_require_api_keys_and_every_list_set_the_app_starts(tmp_path, postgres_url):
    keys = {"ADMIN_API_KEYS": ADMIN, "PREDICT_API_KEYS": PREDICT, "READ_API_KEYS": READ}
    application = create_app(make_settings(tmp_path, DATABASE_URL=postgres_url, REQUIRE_API_KEYS="true", **keys))
    try:
        assert application.test_client().post("/predict", json={"text": "hi"}).status_code == 401
    finally:
        shutdown(application)


def test_require_api_keys_is_off_by_default_and_reads_from_the_environment():
    assert Settings.from_env({}).require_api_keys is False
    assert Settings.from_env({"REQUIRE_API_KEYS": "true"}).require_api_keys is True
    with pytest.raises(ConfigError, match="REQUIRE_API_KEYS"):
        Settings.from_env({"REQUIRE_API_KEYS": "maybe"})
