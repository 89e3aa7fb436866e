"""A sklearn version's model file over the API: upload and download, the gate on taking traffic, the audit
entry, offline metrics, each host's verified cache, serving, unloading, and a process that cannot load a file.

The refusals are in test_artifact_refusals.py.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text

from tests import artifact_files as files
from tests.api import activate, register
from tests.apps import make_settings, shutdown
from tests.artifact_files import SAMPLE_TEXTS, assert_plain_words, error_message, register_sklearn, upload
from tests.support import wait_for
from webapp import create_app
from webapp.extensions import db


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def cached_file(app: Flask, digest: str) -> Path:
    return app.extensions["settings"].instance_dir / "artifacts" / f"{digest}.skops"


def metric(client, name: str, **labels: str) -> float:
    """A metric's value on GET /metrics, summed over the samples with these labels."""
    families = text_string_to_metric_families(client.get("/metrics").get_data(as_text=True))
    return sum(
        sample.value
        for family in families
        for sample in family.samples
        if sample.name == name and labels.items() <= sample.labels.items()
    )


@pytest.fixture
def baseline(client) -> str:
    """sentiment 1.0.0 (textblob) at 100%: the version serving before the sklearn one arrives."""
    model_id = register(client, version="1.0.0")["model_id"]
    activate(client, model_id, 100)
    return model_id


def test_an_uploaded_file_is_described_on_its_version_and_downloaded_byte_for_byte(client):
    model_id = register_sklearn(client)
    body = upload(client, model_id)
    artifact = body["artifact"]
    assert artifact["sha256"] == sha256(files.good())
    assert (artifact["size_bytes"], artifact["format"]) == (len(files.good()), "skops")
    assert artifact["labels"] == ["negative", "neutral", "positive"]
    assert artifact["load_seconds"] > 0 and artifact["memory_bytes"] > 0 and artifact["probe_seconds"] > 0
    assert client.get(f"/models/{model_id}").get_json()["artifact"] == artifact

    download = client.get(f"/models/{model_id}/artifact")
    assert download.status_code == 200 and download.mimetype == files.FILE
    assert download.data == files.good()
    assert download.headers["ETag"] == f'"{artifact["sha256"]}"'
    again = client.get(f"/models/{model_id}/artifact", headers={"If-None-Match": f'"{artifact["sha256"]}"'})
    assert again.status_code == 304 and again.data == b""
    stale = client.get(f"/models/{model_id}/artifact", headers={"If-None-Match": f'"{"0" * 64}"'})
    assert stale.status_code == 200 and stale.data == files.good()


def test_a_version_without_its_file_has_nothing_to_download(client):
    model_id = register_sklearn(client)
    response = client.get(f"/models/{model_id}/artifact")
    assert response.status_code == 404 and "has no model file" in error_message(response)
    assert client.get(f"/models/{uuid.uuid4()}/artifact").status_code == 404


def test_the_upload_is_an_audited_change_with_its_sha256(client):
    model_id = register_sklearn(client)
    upload(client, model_id)
    entries = client.get("/audit?model=sentiment").get_json()["entries"]
    assert [entry["action"] for entry in entries] == ["artifact", "register"]
    assert entries[0]["model_id"] == model_id
    assert entries[0]["after"] == {"sha256": sha256(files.good()), "size_bytes": len(files.good())}


# Each way a version can take traffic, and what it answers once it may.
TAKING_TRAFFIC = {
    "activate": (lambda client, model_id: client.post(f"/models/{model_id}/activate", json={"percent": 0}), 200),
    "split": (
        lambda client, _: client.put("/models/sentiment/split", json={"weights": {"1.0.0": 50, "2.0.0": 50}}),
        200,
    ),
    "shadow": (lambda client, model_id: client.post(f"/models/{model_id}/shadow", json={"percent": 10}), 200),
    "rollout": (lambda client, _: client.post("/models/sentiment/rollouts", json={"candidate": "2.0.0"}), 201),
    "bandit": (
        lambda client, _: client.post("/models/sentiment/bandit", json={"versions": ["1.0.0", "2.0.0"]}),
        201,
    ),
}


@pytest.mark.parametrize("action", TAKING_TRAFFIC)
def test_a_sklearn_version_takes_no_traffic_until_it_has_its_file(client, baseline, action):
    take, succeeded = TAKING_TRAFFIC[action]
    model_id = register_sklearn(client)
    split_before = client.get("/models/sentiment/split").get_json()
    refused = take(client, model_id)
    assert refused.status_code == 409, refused.get_json()
    message = error_message(refused)
    assert "has no artifact yet" in message and f"PUT /models/{model_id}/artifact" in message
    assert_plain_words(message)
    assert client.get("/models/sentiment/split").get_json() == split_before
    assert client.get(f"/models/{model_id}").get_json()["shadow_percent"] == 0

    upload(client, model_id)
    response = take(client, model_id)
    assert response.status_code == succeeded, response.get_json()


def test_offline_metrics_are_shown_on_the_version_and_a_new_value_replaces_its_name(client):
    model_id = register_sklearn(client)
    response = client.post(f"/models/{model_id}/metrics", json={"metrics": {"accuracy_imdb": 0.61, "f1": 0.5}})
    assert response.status_code == 200 and response.get_json()["metrics"] == {"accuracy_imdb": 0.61, "f1": 0.5}
    client.post(f"/models/{model_id}/metrics", json={"metrics": {"f1": 0.55, "train_rows": 210}})
    shown = client.get(f"/models/{model_id}").get_json()["metrics"]
    assert shown == {"accuracy_imdb": 0.61, "f1": 0.55, "train_rows": 210}
    assert "metrics" in [entry["action"] for entry in client.get("/audit").get_json()["entries"]]


@pytest.mark.parametrize(
    ("metrics", "says"),
    [
        ({"accuracy on imdb!": 0.6}, "letters, digits"),
        ({"accuracy": "high"}, "number"),
        ({"accuracy": None}, "number"),
        ({}, "at least 1"),
    ],
)
def test_a_bad_metric_is_422_in_plain_words_and_changes_nothing(client, metrics, says):
    model_id = register_sklearn(client)
    response = client.post(f"/models/{model_id}/metrics", json={"metrics": metrics})
    assert response.status_code == 422, response.get_json()
    error = response.get_json()["error"]
    readable = " ".join([error["message"], *(detail["message"] for detail in error["details"])])
    assert says in readable, readable
    assert_plain_words(readable)
    assert client.get(f"/models/{model_id}").get_json()["metrics"] == {}


def test_an_active_version_serves_the_pipelines_own_answers(client, app):
    model_id = register_sklearn(client)
    digest = upload(client, model_id)["artifact"]["sha256"]
    activate(client, model_id, 100)
    pipeline = files.good_pipeline()
    expected, probabilities = pipeline.predict(list(SAMPLE_TEXTS)), pipeline.predict_proba(list(SAMPLE_TEXTS))
    assert set(expected) == set(files.LABELS)  # the texts reach every label
    for text_, label, proba in zip(SAMPLE_TEXTS, expected, probabilities, strict=True):
        answer = client.post("/predict", json={"text": text_, "model": "sentiment"}).get_json()
        assert (answer["prediction"], answer["model_id"]) == (label, model_id), text_
        assert answer["confidence"] == pytest.approx(max(proba), abs=0.0005)  # answered to 3 places
    assert digest in app.extensions["router"].status()["loaded_artifacts"]


def test_an_archived_version_is_unloaded(client, app, baseline):
    model_id = register_sklearn(client)
    digest = upload(client, model_id)["artifact"]["sha256"]
    activate(client, model_id, 0)
    router = app.extensions["router"]
    assert digest in router.status()["loaded_artifacts"]
    assert client.post(f"/models/{model_id}/deactivate", json={}).status_code == 200
    assert client.delete(f"/models/{model_id}", json={}).status_code == 200
    assert router.status()["loaded_artifacts"] == []
    assert client.post("/predict", json={"text": "fine"}).get_json()["model_version"] == "1.0.0"


@pytest.mark.parametrize("damage", ["overwritten", "missing"])
def test_a_damaged_or_missing_cache_file_is_fetched_again_from_postgres(client, app, damage):
    model_id = register_sklearn(client)
    digest = upload(client, model_id)["artifact"]["sha256"]
    cached = cached_file(app, digest)
    assert sha256(cached.read_bytes()) == digest  # the uploading host keeps what it checked
    if damage == "overwritten":
        with cached.open("r+b") as handle:
            handle.seek(len(files.good()) // 2)
            handle.write(b"\x00" * 64)
    else:
        cached.unlink()
    counted = "router_artifact_cache_total"
    before = {result: metric(client, counted, result=result) for result in ("damaged", "fetched")}
    activate(client, model_id, 100)  # routing loads the model from this host's cache
    answer = client.post("/predict", json={"text": SAMPLE_TEXTS[0]}).get_json()
    assert answer["prediction"] == files.good_pipeline().predict([SAMPLE_TEXTS[0]])[0]
    assert sha256(cached.read_bytes()) == digest
    assert metric(client, counted, result="fetched") == before["fetched"] + 1
    assert metric(client, counted, result="damaged") == before["damaged"] + (damage == "overwritten")


@pytest.fixture
def second_app(app: Flask, postgres_url: str, redis_url: str, broker_url: str, tmp_path: Path) -> Iterator[Flask]:
    """Another web process on the same database and cache, on a host of its own (its own instance dir)."""
    other = create_app(
        make_settings(
            tmp_path / "second-host", DATABASE_URL=postgres_url, REDIS_URL=redis_url, CELERY_BROKER_URL=broker_url
        )
    )
    yield other
    shutdown(other)


def test_a_process_that_cannot_load_a_file_keeps_its_config_and_says_why(client, app, baseline, second_app):
    model_id = register_sklearn(client)
    digest = upload(client, model_id)["artifact"]["sha256"]
    assert client.post("/predict", json={"text": "fine"}).get_json()["model_version"] == "1.0.0"
    router = app.extensions["router"]
    serving = router.status()["config_version"]
    failures = metric(client, "router_artifact_load_failures_total")
    with app.app_context():
        db.session.execute(text("UPDATE artifact_chunks SET data = 'damaged' WHERE sha256 = :s"), {"s": digest})
        db.session.commit()
        db.session.remove()
    cached_file(app, digest).unlink()

    # Another process routes half the traffic to the version; this one cannot load its file.
    changed = second_app.test_client().put("/models/sentiment/split", json={"weights": {"1.0.0": 50, "2.0.0": 50}})
    assert changed.status_code == 200, changed.get_json()
    status = wait_for(lambda: (s := router.status())["last_error"] and s, timeout=5, what="the failed load")
    assert status["config_version"] == serving
    assert "'2.0.0'" in status["last_error"] and "could not be loaded" in status["last_error"]
    assert digest not in status["loaded_artifacts"]
    for n in range(20):  # the previous table serves on: every request still reaches 1.0.0
        answer = client.post("/predict", json={"text": "fine", "user_id": f"user-{n}"}).get_json()
        assert answer["model_version"] == "1.0.0"

    health = client.get("/health").get_json()
    assert health["components"]["routing"]["last_error"] == status["last_error"]
    assert health["components"]["routing"]["config_version"] == serving
    assert metric(client, "router_artifact_load_failures_total") > failures
    assert metric(client, "router_routing_config_behind") == 1
    assert not cached_file(app, digest).exists()  # bytes that do not match their sha256 are never cached
