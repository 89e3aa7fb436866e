"""GET /models/performance: plain about a missing refresh, says what is missing, recommends by outcome first."""

from __future__ import annotations

from tests.api import activate, register, two_versions
from tests.records import log_record, refresh_settled
from tests.test_experiments_api import serve
from webapp.logpipe.ingest import write_prediction_logs


def test_before_the_first_refresh_it_says_so_and_still_lists_the_active_versions(app, client):
    v1, v2 = two_versions(client)
    with app.app_context():
        write_prediction_logs([log_record(v1) for _ in range(40)] + [log_record(v2, "2.0.0") for _ in range(40)])
    body = client.get("/models/performance").get_json()
    assert body["model_name"] == "sentiment"
    assert {entry["model_version"] for entry in body["models"]} == {"1.0.0", "2.0.0"}
    assert (body["recommendation"], body["basis"], body["refreshed_at"]) == (None, None, None)
    assert body["recommendation_note"].startswith("no stats refresh has run yet")
    assert "two active versions" not in body["recommendation_note"]


def test_without_enough_predictions_it_names_the_version_and_the_count_missing(app, client):
    v1, v2 = two_versions(client, 70, 30)
    with app.app_context():
        write_prediction_logs([log_record(v1, confidence=0.7) for _ in range(72)])
        write_prediction_logs([log_record(v2, "2.0.0", confidence=0.9) for _ in range(28)])
        refresh_settled()
    body = client.get("/models/performance").get_json()
    assert body["recommendation"] is None and body["basis"] == "confidence"
    assert body["recommendation_note"].startswith("2.0.0 has 28 predictions; 30 are needed")
    assert "1.0.0" not in body["recommendation_note"]


def test_one_active_version_is_named_as_the_reason(app, client):
    only = register(client)["model_id"]
    activate(client, only, 100)
    with app.app_context():
        write_prediction_logs([log_record(only) for _ in range(40)])
        refresh_settled()
    note = client.get("/models/performance").get_json()["recommendation_note"]
    assert note == "a recommendation needs at least two active versions; it has 1 (1.0.0)"


def test_with_feedback_it_recommends_by_accuracy_even_against_confidence(app, client):
    v1, v2 = two_versions(client)
    with app.app_context():
        serve(v1, "1.0.0", users=600, correct=300, labelled=600)  # confidence 0.8 for both (log_record's default)
        serve(v2, "2.0.0", users=600, correct=450, labelled=600)
        refresh_settled()
    body = client.get("/models/performance").get_json()
    assert body["basis"] == "outcomes" and body["recommendation"]["model_version"] == "2.0.0"
    assert "0.7500 vs 0.5000" in body["recommendation"]["reason"]


def test_with_too_little_feedback_it_says_which_version_needs_how_many_labels(app, client):
    v1, v2 = two_versions(client)
    with app.app_context():
        serve(v1, "1.0.0", users=100, correct=20, labelled=40)
        serve(v2, "2.0.0", users=100, correct=10, labelled=12)
        refresh_settled()
    body = client.get("/models/performance").get_json()
    assert body["recommendation"] is None and body["basis"] == "outcomes"
    assert "2.0.0 has 12 labelled predictions; 30 are needed per version" in body["recommendation_note"]
    assert "1.0.0 has" not in body["recommendation_note"]
