"""Shadow traffic: mirrored after the answer, logged as its own prediction, never slowing the client."""

from __future__ import annotations

import statistics
import threading
import time
import uuid
from collections.abc import Iterator

import pytest
from werkzeug.serving import make_server

from tests.api import activate, register
from tests.http_client import call
from tests.records import log_record, refresh_settled
from tests.support import wait_for
from webapp.extensions import db
from webapp.inference import PREDICTORS, Predictor, Sentiment, register_predictor
from webapp.logpipe.ingest import write_prediction_logs
from webapp.logpipe.wire import LOG_FIELDS
from webapp.models import PredictionLog

SHADOW_SLEEP_SECONDS = 0.05


class SlowPredictor(Predictor):
    """A test-only family: answers neutral after sleeping, like a heavy model would."""

    algorithm = "test-slow"

    def predict(self, text: str) -> Sentiment:
        time.sleep(SHADOW_SLEEP_SECONDS)
        return Sentiment("neutral", 0.5, 0.0, 0.0)


@pytest.fixture
def slow_family() -> Iterator[str]:
    register_predictor(SlowPredictor)
    yield SlowPredictor.algorithm
    PREDICTORS.pop(SlowPredictor.algorithm)


@pytest.fixture
def kept_logs(app) -> Iterator[list]:
    """The records /predict appends, kept in memory so each can be inspected."""
    shipping = app.extensions["log_buffer"]
    app.extensions["log_buffer"] = records = []
    yield records
    app.extensions["log_buffer"] = shipping


def shadow(client, model_id: str, percent) -> dict:
    response = client.post(f"/models/{model_id}/shadow", json={"percent": percent})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_a_shadow_runs_after_the_answer_and_is_logged_as_a_mirror(client, kept_logs):
    served_id, shadow_id = register(client)["model_id"], register(client, version="2.0.0")["model_id"]
    activate(client, served_id, 100)
    assert shadow(client, shadow_id, 100)["shadow_percent"] == 100
    response = client.post("/predict", json={"text": "I love it", "user_id": "u1"})
    answer = response.get_json()
    assert answer["model_id"] == served_id and "shadow" not in response.get_data(as_text=True)
    assert [r["routing"] for r in kept_logs] == ["sticky"]  # nothing mirrored before the answer is done
    response.close()  # what the WSGI server does once the answer is sent
    served, mirrored = kept_logs
    assert (mirrored["routing"], mirrored["model_id"], mirrored["model_version"]) == ("shadow", shadow_id, "2.0.0")
    assert mirrored["shadow_of"] == answer["prediction_id"] != mirrored["prediction_id"]
    assert (mirrored["user_id"], mirrored["slot"], mirrored["bucket"]) == ("u1", answer["slot"], answer["bucket"])
    assert served["shadow_of"] is None and served["slot"] == answer["slot"]
    # One builder for both: every wire field, in order; only a routed answer has a routing-config version.
    assert list(served) == list(mirrored) == list(LOG_FIELDS)
    assert served["config_version"] is not None and mirrored["config_version"] is None


def test_a_shadow_mirrors_about_its_percent_of_routed_requests_and_no_explicit_ones(client, kept_logs):
    served_id, shadow_id = register(client)["model_id"], register(client, version="2.0.0")["model_id"]
    activate(client, served_id, 100)
    shadow(client, shadow_id, 25)
    for n in range(800):
        client.post("/predict", json={"text": "fine", "user_id": f"u{n}"}).close()
    mirrored = sum(r["routing"] == "shadow" for r in kept_logs)
    assert 200 - 60 <= mirrored <= 200 + 60  # binomial(800, 0.25): sd 12.2, so ±60 is ~5 sd
    kept_logs.clear()
    client.post("/predict", json={"text": "fine", "model_version": "1.0.0"}).close()
    assert [r["routing"] for r in kept_logs] == ["explicit"]


def test_percent_zero_stops_the_shadow_and_archiving_ends_it(client, kept_logs):
    served_id, shadow_id = register(client)["model_id"], register(client, version="2.0.0")["model_id"]
    activate(client, served_id, 100)
    shadow(client, shadow_id, 100)
    assert shadow(client, shadow_id, 0)["shadow_percent"] == 0
    client.post("/predict", json={"text": "fine"}).close()
    assert [r["routing"] for r in kept_logs] == ["random"]
    shadow(client, shadow_id, 50)
    assert client.delete(f"/models/{shadow_id}", json={}).get_json()["shadow_percent"] == 0
    assert client.post(f"/models/{shadow_id}/shadow", json={"percent": 10}).status_code == 409


@pytest.mark.parametrize("body", [{"percent": 101}, {"percent": -1}, {"percent": "5"}, {}, {"percent": 1.001}])
def test_bad_shadow_requests_are_422_and_change_nothing(client, body):
    model_id = register(client)["model_id"]
    response = client.post(f"/models/{model_id}/shadow", json=body)
    assert response.status_code == 422
    assert client.get(f"/models/{model_id}").get_json()["shadow_percent"] == 0


def test_shadow_of_an_unknown_version_is_404_and_it_is_audited_when_set(client):
    assert client.post(f"/models/{uuid.uuid4()}/shadow", json={"percent": 5}).status_code == 404
    model_id = register(client)["model_id"]
    shadow(client, model_id, 5)
    entry = client.get("/audit?limit=1").get_json()["entries"][0]
    assert (entry["action"], entry["before"], entry["after"]) == (
        "shadow",
        {"shadow_percent": 0},
        {"shadow_percent": 5},
    )


def test_shadow_predictions_are_stored_and_counted_in_stats_like_any_version(app, client):
    served_id, shadow_id = register(client)["model_id"], register(client, version="2.0.0")["model_id"]
    served = log_record(served_id, routing="sticky", user_id="u1", slot=8980, bucket=80)
    mirrored = log_record(shadow_id, "2.0.0", routing="shadow", shadow_of=served["prediction_id"], slot=8980)
    with app.app_context():
        assert write_prediction_logs([served, mirrored]).inserted == 2
        row = db.session.query(PredictionLog).filter_by(prediction_id=uuid.UUID(mirrored["prediction_id"])).one()
        assert (str(row.shadow_of), row.slot, row.routing) == (served["prediction_id"], 8980, "shadow")
        refresh_settled()
    stats = {e["model_version"]: e for e in client.get("/models/stats").get_json()}
    assert stats["2.0.0"]["request_count"] == 1
    assert stats["2.0.0"]["routing_counts"] == {"sticky": 0, "random": 0, "explicit": 0, "shadow": 1}


def test_a_slow_shadow_leaves_the_clients_latency_unchanged(app, client, slow_family, kept_logs):
    served_id = register(client)["model_id"]
    shadow_id = register(client, version="2.0.0", algorithm=slow_family)["model_id"]
    activate(client, served_id, 100)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base_url = f"http://127.0.0.1:{server.server_port}"

    def median_ms(count: int = 30) -> float:
        times = []
        for n in range(count):
            started = time.perf_counter()
            assert call(base_url, "POST", "/predict", {"text": "fine", "user_id": f"u{n}"})[0] == 200
            times.append((time.perf_counter() - started) * 1000)
        return statistics.median(times)

    try:
        median_ms(5)  # warm up
        without = median_ms()
        shadow(client, shadow_id, 100)
        kept_logs.clear()
        with_shadow = median_ms()
        time.sleep(2 * SHADOW_SLEEP_SECONDS)  # let the last mirror finish
    finally:
        server.shutdown()
    assert sum(r["routing"] == "shadow" for r in kept_logs) == 30  # every answer was mirrored
    # Each mirror sleeps 50 ms; waiting for it would add that much to every answer.
    assert with_shadow < without + 20, (without, with_shadow)


@pytest.mark.slow
def test_mirrors_travel_through_the_worker_into_postgres_and_the_stats(app, client, celery_worker):
    served_id, shadow_id = register(client)["model_id"], register(client, version="2.0.0")["model_id"]
    activate(client, served_id, 100)
    shadow(client, shadow_id, 100)
    answers = []
    for n in range(20):
        response = client.post("/predict", json={"text": "Great!", "user_id": f"u{n}"})
        answers.append(response.get_json())
        response.close()

    def mirrors() -> dict[str, PredictionLog]:
        with app.app_context():
            rows = db.session.query(PredictionLog).filter_by(model_id=uuid.UUID(shadow_id)).all()
            return {str(row.shadow_of): row for row in rows}

    wait_for(lambda: len(mirrors()) == 20, timeout=30, what="every mirror in Postgres")
    stored = mirrors()
    for n, answer in enumerate(answers):
        row = stored[answer["prediction_id"]]
        assert (row.routing, row.slot, row.user_id) == ("shadow", answer["slot"], f"u{n}")
    assert client.post("/models/stats/refresh", json={}).status_code == 202

    def shadow_stats() -> dict:
        return {e["model_version"]: e for e in client.get("/models/stats").get_json()}["2.0.0"]

    wait_for(lambda: shadow_stats()["routing_counts"]["shadow"] == 20, timeout=30, what="the shadow in /models/stats")
    assert shadow_stats()["request_count"] == 20
