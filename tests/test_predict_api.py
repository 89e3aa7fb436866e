"""POST /predict: the answer's shape, sticky and random routing, and explicit versions."""

from __future__ import annotations

import uuid
from collections import Counter

import pytest

from tests.api import activate, predict, register, two_versions

ANSWER_FIELDS = {
    "prediction",
    "confidence",
    "polarity",
    "subjectivity",
    "evidence",
    "model_id",
    "model_name",
    "model_version",
    "latency_ms",
    "prediction_id",
    "routing",
    "bucket",
    "slot",
}


def test_prediction_answers_with_label_scores_version_and_ids(client):
    v1 = register(client)["model_id"]
    activate(client, v1, 100)
    body = predict(client, "I love this!", user_id="user_123")
    assert set(body) == ANSWER_FIELDS
    assert body["prediction"] == "positive"
    assert 0 <= body["confidence"] <= 1 and 0 < body["polarity"] <= 1 and 0 <= body["subjectivity"] <= 1
    assert (body["model_id"], body["model_name"], body["model_version"]) == (v1, "sentiment", "1.0.0")
    assert isinstance(body["latency_ms"], float) and body["latency_ms"] > 0
    assert uuid.UUID(body["prediction_id"])
    assert (body["routing"], body["bucket"], body["slot"]) == ("sticky", 80, 8980)
    assert body["evidence"] == 1  # one lexicon phrase: "love !"


@pytest.mark.parametrize("text", ["😡😡😡", "Je suis très content de ce produit", "这个产品很好"])
@pytest.mark.parametrize("algorithm", ["textblob-basic", "textblob-advanced", "vader"])
def test_a_text_the_model_finds_no_sentiment_in_gets_a_low_confidence_and_says_so(client, text, algorithm):
    activate(client, register(client, algorithm=algorithm)["model_id"], 100)
    body = predict(client, text)
    assert (body["prediction"], body["evidence"]) == ("neutral", 0)
    assert body["confidence"] == pytest.approx(1 / 3, abs=1e-4)


def test_every_prediction_gets_its_own_id(client):
    activate(client, register(client)["model_id"], 100)
    assert len({predict(client)["prediction_id"] for _ in range(20)}) == 20


def test_prediction_ids_are_time_ordered_so_the_log_index_grows_at_its_end(client):
    activate(client, register(client)["model_id"], 100)
    ids = [uuid.UUID(predict(client)["prediction_id"]) for _ in range(5)]
    assert {prediction_id.version for prediction_id in ids} == {7}


def test_user_stays_on_one_version_across_requests(client):
    two_versions(client, 50, 50)
    versions = {predict(client, "I love this!", user_id="user_123")["model_version"] for _ in range(5)}
    assert versions == {"2.0.0"}


def test_many_users_are_spread_over_both_versions_and_each_is_stable(client):
    two_versions(client, 50, 50)
    first = {f"u{n}": predict(client, user_id=f"u{n}")["model_version"] for n in range(40)}
    assert set(first.values()) == {"1.0.0", "2.0.0"}
    assert all(predict(client, user_id=user)["model_version"] == version for user, version in first.items())


def test_anonymous_requests_vary_between_versions(client):
    two_versions(client, 50, 50)
    answers = [predict(client, "I love this!") for _ in range(40)]
    assert {a["model_version"] for a in answers} == {"1.0.0", "2.0.0"}
    assert {(a["routing"], a["bucket"]) for a in answers} == {("random", None)}


def test_anonymous_split_follows_the_weights_over_http(client):
    v1, v2 = register(client, accuracy=0.85)["model_id"], register(client, version="2.0.0", accuracy=0.92)["model_id"]
    client.post(f"/models/{v1}/activate", json={"traffic_percent": 70})
    client.post(f"/models/{v2}/activate", json={"traffic_percent": 30})
    counts = Counter(predict(client, "Great product!")["model_version"] for _ in range(1000))
    assert abs(counts["1.0.0"] / 1000 - 0.70) <= 0.05


def test_user_ids_may_be_numbers_and_match_their_string_form(client):
    two_versions(client, 50, 50)
    assert predict(client, user_id=42)["bucket"] == predict(client, user_id="42")["bucket"] == 33


def test_explicit_version_is_served_whatever_the_split(client):
    v1, v2 = register(client)["model_id"], register(client, version="2.0.0")["model_id"]
    activate(client, v1, 100)
    activate(client, v2, 0)
    body = predict(client, user_id="user_123", model_version="2.0.0")
    assert (body["model_version"], body["routing"], body["bucket"]) == ("2.0.0", "explicit", None)


def test_explicit_version_must_be_active(client):
    activate(client, register(client)["model_id"], 100)
    register(client, version="2.0.0")
    response = client.post("/predict", json={"text": "hi", "model_version": "2.0.0"})
    assert response.status_code == 404
    assert response.get_json()["error"]["details"] == {"active_versions": ["1.0.0"]}


def test_model_can_be_named_and_must_be_named_when_several_are_active(client):
    activate(client, register(client)["model_id"], 100)
    activate(client, register(client, name="reviews")["model_id"], 100)
    assert client.post("/predict", json={"text": "good"}).status_code == 400
    assert predict(client, "good", model="reviews")["model_name"] == "reviews"


def test_no_active_version_at_all_answers_503(client):
    response = client.post("/predict", json={"text": "hello"})
    assert response.status_code == 503
    assert "no model version is active" in response.get_json()["error"]["message"]


def test_a_named_model_without_an_active_version_answers_404(client):
    register(client)
    response = client.post("/predict", json={"text": "hello", "model": "sentiment"})
    assert response.status_code == 404
    assert "has no active version" in response.get_json()["error"]["message"]


def test_unknown_model_answers_404(client):
    activate(client, register(client)["model_id"], 100)
    assert client.post("/predict", json={"text": "hello", "model": "nope"}).status_code == 404


def test_registry_changes_reach_routing_at_once_in_the_same_process(client):
    v1, v2 = two_versions(client, 50, 50)
    client.post(f"/models/{v2}/deactivate", json={})
    activate(client, v1, 100)
    assert {predict(client)["model_version"] for _ in range(20)} == {"1.0.0"}


def test_text_is_stripped_before_inference(client):
    activate(client, register(client)["model_id"], 100)
    assert predict(client, "   great   ")["prediction"] == predict(client, "great")["prediction"]


def test_v2_predictions_use_the_advanced_model(client):
    register(client)
    v2 = register(client, version="2.0.0")["model_id"]
    activate(client, v2, 100)
    # textblob-basic finds no opinion word here and answers neutral; only the advanced model reads the negation.
    body = predict(client, "The battery does not last.", model_version="2.0.0")
    assert body["model_version"] == "2.0.0" and body["prediction"] == "negative"
