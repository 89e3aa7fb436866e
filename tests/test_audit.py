"""The audit log: every registry change, in its own transaction, with who, when and which request."""

from __future__ import annotations

import getpass
import hashlib
import uuid
from collections.abc import Iterator

import pytest
from flask import Flask

from tests.api import activate, register
from tests.apps import make_settings, reset_state, shutdown
from webapp import create_app
from webapp.registry import service
from webapp.registry.schemas import RegisterModel

ADMIN = "audit-admin-key"


def entries(client, **query) -> list[dict]:
    response = client.get("/audit", query_string=query)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["entries"]


@pytest.fixture
def keyed(postgres_url: str, redis_url: str, tmp_path) -> Iterator:
    app = create_app(make_settings(tmp_path, DATABASE_URL=postgres_url, REDIS_URL=redis_url, ADMIN_API_KEYS=ADMIN))
    reset_state(app)
    yield app.test_client()
    shutdown(app)


def test_every_kind_of_change_is_recorded_with_before_and_after(client):
    v1, v2 = register(client)["model_id"], register(client, version="2.0.0")["model_id"]
    activate(client, v1, 60)
    client.put("/models/sentiment/split", json={"weights": {"1.0.0": 50, "2.0.0": 50}})
    client.post(f"/models/{v2}/deactivate", json={})
    client.post(f"/models/{v1}/deactivate", json={})
    client.delete(f"/models/{v1}", json={})
    log = entries(client)
    assert [e["action"] for e in log] == [
        "delete",
        "deactivate",
        "deactivate",
        "split",
        "activate",
        "register",
        "register",
    ]
    delete, _, deactivate_v2, split, activate_v1, _, register_v1 = log
    assert (register_v1["model_id"], register_v1["before"]) == (v1, None)
    assert register_v1["after"] == {"version": "1.0.0", "status": "inactive", "traffic_percent": 0}
    assert (activate_v1["before"], activate_v1["after"]) == (
        {"status": "inactive", "traffic_percent": 0},
        {"status": "active", "traffic_percent": 60},
    )
    assert split["before"] == {"1.0.0": {"traffic_percent": 60, "slots": 10_000}}
    assert split["after"] == {
        "1.0.0": {"traffic_percent": 50, "slots": 5_000},
        "2.0.0": {"traffic_percent": 50, "slots": 5_000},
    }
    assert deactivate_v2["after"] == {"status": "inactive", "traffic_percent": 0}
    assert (delete["model_id"], delete["after"]["status"]) == (v1, "archived")
    assert {e["actor"] for e in log} == {"anonymous"}
    assert all(e["model_name"] == "sentiment" for e in log)


def test_a_change_that_fails_writes_no_entry(client):
    v1, v2 = register(client)["model_id"], register(client, version="2.0.0")["model_id"]
    activate(client, v1, 70)
    count = len(entries(client))
    assert client.post(f"/models/{v2}/activate", json={"percent": 31}).status_code == 409
    assert client.delete(f"/models/{v1}", json={}).status_code == 409
    assert client.put("/models/sentiment/split", json={"weights": {"9.9.9": 1}}).status_code == 422
    stale = client.put("/models/sentiment/split", json={"weights": {"1.0.0": 1}}, headers={"If-Match": '"0"'})
    assert stale.status_code == 412
    assert client.post("/models", json={"name": "sentiment", "version": "1.0.0"}).status_code == 409
    assert len(entries(client)) == count


def test_the_actor_is_a_fingerprint_of_the_key_never_the_key(keyed):
    headers = {"Authorization": f"Bearer {ADMIN}"}
    keyed.post("/models", json={"name": "sentiment", "version": "1.0.0"}, headers=headers)
    response = keyed.get("/audit", headers=headers)
    (entry,) = response.get_json()["entries"]
    assert entry["actor"] == "key:" + hashlib.sha256(ADMIN.encode()).hexdigest()[:12]
    assert ADMIN not in response.get_data(as_text=True)


def test_changes_from_the_command_line_name_the_user(app, client):
    with app.app_context():
        service.register_version(RegisterModel(name="sentiment", version="1.0.0"))
    (entry,) = entries(client)
    assert entry["actor"] == f"cli:{getpass.getuser()}"
    assert uuid.UUID(entry["request_id"])


def test_the_clients_request_id_is_recorded_and_echoed(client):
    response = client.post("/models", json={"name": "sentiment", "version": "1.0.0"}, headers={"X-Request-ID": "r-42"})
    assert response.headers["X-Request-ID"] == "r-42"
    assert entries(client)[0]["request_id"] == "r-42"


def test_every_answer_carries_a_request_id_and_a_bad_one_is_replaced(client):
    for response in (client.get("/models"), client.get("/nowhere"), client.post("/predict", json={})):
        assert uuid.UUID(response.headers["X-Request-ID"])
    replaced = client.get("/models", headers={"X-Request-ID": "no spaces\tor tabs"})
    assert uuid.UUID(replaced.headers["X-Request-ID"])


def test_pages_go_newest_first_with_a_cursor_and_filter_by_model(client):
    for n in range(5):
        register(client, version=f"1.0.{n}")
    register(client, name="spam")
    first = client.get("/audit?model=sentiment&limit=2").get_json()
    second = client.get(f"/audit?model=sentiment&limit=2&before={first['next_before']}").get_json()
    third = client.get(f"/audit?model=sentiment&limit=2&before={second['next_before']}").get_json()
    versions = [e["after"]["version"] for page in (first, second, third) for e in page["entries"]]
    assert versions == ["1.0.4", "1.0.3", "1.0.2", "1.0.1", "1.0.0"]
    assert third["next_before"] is None
    assert [e["model_name"] for e in entries(client, limit=1)] == ["spam"]


@pytest.mark.parametrize("query", ["limit=0", "limit=501", "limit=x", "before=0", "before=-3", "model=BAD NAME"])
def test_bad_audit_queries_are_422(client, query):
    response = client.get(f"/audit?{query}")
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "validation_error"


def test_reading_the_audit_log_needs_the_read_scope(postgres_url, redis_url, tmp_path):
    app: Flask = create_app(
        make_settings(tmp_path, DATABASE_URL=postgres_url, REDIS_URL=redis_url, READ_API_KEYS="reader")
    )
    try:
        client = app.test_client()
        assert client.get("/audit").status_code == 401
        assert client.get("/audit", headers={"X-API-Key": "reader"}).status_code == 200
    finally:
        shutdown(app)


def test_an_entry_recorded_before_the_change_fails_is_rolled_back_with_it(app, client):
    from webapp.audit.trail import record
    from webapp.errors import Conflict
    from webapp.registry.service import registry_change

    with app.app_context(), pytest.raises(Conflict), registry_change(None):
        record("activate", "sentiment", None, {"status": "inactive"}, {"status": "active"})
        raise Conflict("a check that fails after the entry was written")
    assert entries(client) == []
