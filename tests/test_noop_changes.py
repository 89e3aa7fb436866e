"""A request for the state that already holds changes nothing: no config version, no audit entry,
no new experiment epoch, and the same answer as before."""

from __future__ import annotations

from tests.api import activate, register


def config_version(client) -> int:
    return client.get("/models/sentiment/split").get_json()["config_version"]


def audit_count(client) -> int:
    return len(client.get("/audit?limit=500").get_json()["entries"])


def unchanged(client, call) -> None:
    """Make `call` twice: the second answers as the first did and leaves every trace untouched."""
    first = call()
    assert first.status_code == 200, first.get_json()
    version, entries = config_version(client), audit_count(client)
    second = call()
    assert (second.status_code, second.get_json()) == (first.status_code, first.get_json())
    assert config_version(client) == version
    assert audit_count(client) == entries


def test_the_same_split_again_keeps_the_etag_and_writes_no_audit_entry(client):
    for version in ("1.0.0", "2.0.0"):
        register(client, version=version)
    weights = {"weights": {"1.0.0": 70, "2.0.0": 30}}
    unchanged(client, lambda: client.put("/models/sentiment/split", json=weights))
    etag = client.get("/models/sentiment/split").headers["ETag"]
    assert client.put("/models/sentiment/split", json=weights, headers={"If-Match": etag}).headers["ETag"] == etag
    # The same percents written differently are the same split.
    again = client.put("/models/sentiment/split", json={"weights": {"2.0.0": 30.0, "1.0.0": 70.00}})
    assert again.headers["ETag"] == etag


def test_a_different_split_is_still_a_change(client):
    for version in ("1.0.0", "2.0.0"):
        register(client, version=version)
    client.put("/models/sentiment/split", json={"weights": {"1.0.0": 70, "2.0.0": 30}})
    version, entries = config_version(client), audit_count(client)
    client.put("/models/sentiment/split", json={"weights": {"1.0.0": 60, "2.0.0": 40}})
    assert config_version(client) == version + 1
    assert audit_count(client) == entries + 1


def test_activating_at_the_percent_it_has_is_a_no_op(client):
    model_id = register(client)["model_id"]
    unchanged(client, lambda: client.post(f"/models/{model_id}/activate", json={"percent": 40}))
    activate(client, model_id, 50)  # another percent is a change
    assert client.get("/audit?limit=1").get_json()["entries"][0]["after"]["traffic_percent"] == 50


def test_deactivating_an_inactive_version_and_shadowing_at_the_same_percent_are_no_ops(client):
    model_id = register(client)["model_id"]
    register(client, version="2.0.0")
    activate(client, model_id, 100)
    unchanged(client, lambda: client.post(f"/models/{model_id}/deactivate", json={}))
    unchanged(client, lambda: client.post(f"/models/{model_id}/shadow", json={"percent": 10}))


def test_a_repeated_delete_answers_the_same_and_changes_nothing(client):
    register(client, version="2.0.0")
    model_id = register(client)["model_id"]
    unchanged(client, lambda: client.delete(f"/models/{model_id}", json={}))
