"""Where a user reads a shadow's comparison: GET /models/<id>/shadow and the experiment report."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from tests.api import activate, register
from tests.records import log_record, refresh_settled
from tests.support import wait_for
from tests.test_shadow import shadow
from tests.test_shadow_comparison import send_feedback
from webapp.extensions import db
from webapp.logpipe.ingest import write_prediction_logs
from webapp.models import PredictionLog

# (served label, shadow label, true label): 2 agreements of 4; the shadow right on 3, the served on 1,
# and only the shadow right on 2 (McNemar: 2 of 2 discordant pairs, p = 2 / 4).
PAIRS = [("positive", "positive", "positive"), ("negative", "positive", "positive"),
         ("neutral", "negative", "negative"), ("negative", "negative", "positive")]  # fmt: skip


def store_pairs(app, served_id: str, shadow_id: str) -> None:
    with app.app_context():
        for served_label, shadow_label, true_label in PAIRS:
            served = log_record(served_id, prediction=served_label, routing="sticky", user_id="u1")
            mirror = log_record(shadow_id, "2.0.0", prediction=shadow_label, routing="shadow",
                                shadow_of=served["prediction_id"])  # fmt: skip
            write_prediction_logs([served, mirror])
            send_feedback(served["prediction_id"], true_label)
        refresh_settled()


def test_the_shadow_endpoint_reports_agreement_both_accuracies_and_mcnemar(app, client):
    served_id, shadow_id = register(client)["model_id"], register(client, version="2.0.0")["model_id"]
    activate(client, served_id, 100)
    shadow(client, shadow_id, 100)
    store_pairs(app, served_id, shadow_id)
    report = client.get(f"/models/{shadow_id}/shadow").get_json()
    assert (report["model_version"], report["shadow_percent"]) == ("2.0.0", 100)
    [comparison] = report["comparisons"]
    assert (comparison["shadow_version"], comparison["served_version"]) == ("2.0.0", "1.0.0")
    assert (comparison["pairs"], comparison["agreements"], comparison["agreement_rate"]) == (4, 2, 0.5)
    assert (comparison["labelled_pairs"], comparison["shadow_accuracy"], comparison["served_accuracy"]) == (
        4,
        0.75,
        0.25,
    )
    assert (comparison["shadow_only_correct"], comparison["served_only_correct"]) == (2, 0)
    assert comparison["mcnemar_p_value"] == pytest.approx(0.5)
    assert comparison["summary"].startswith("2.0.0 agreed with 1.0.0 on 50.0% of 4 mirrored requests")
    assert client.get(f"/models/{served_id}/shadow").get_json()["comparisons"] == []  # it never shadowed


def test_the_experiment_report_shows_each_shadow_next_to_the_served_versions(app, client):
    served_id, shadow_id = register(client)["model_id"], register(client, version="2.0.0")["model_id"]
    activate(client, served_id, 100)
    store_pairs(app, served_id, shadow_id)
    experiment = client.get("/experiments/sentiment").get_json()
    assert [(s["shadow_version"], s["served_version"], s["pairs"]) for s in experiment["shadows"]] == [
        ("2.0.0", "1.0.0", 4)
    ]
    assert client.get("/experiments/sentiment").get_json()["shadows"] == experiment["shadows"]


def test_the_shadow_report_of_an_unknown_version_is_a_json_404(client):
    for path in (f"/models/{uuid.uuid4()}/shadow", "/models/not-a-uuid/shadow"):
        response = client.get(path)
        assert response.status_code == 404
        assert response.get_json()["error"]["code"] == "not_found"


@pytest.mark.slow
def test_over_http_a_full_shadow_with_feedback_shows_its_agreement_and_accuracy(app, client, celery_worker):
    served_id = register(client)["model_id"]
    shadow_id = register(client, version="2.0.0", algorithm="vader")["model_id"]
    activate(client, served_id, 100)
    shadow(client, shadow_id, 100)
    # Texts on which textblob-basic (served) and vader (the shadow) disagree, and some where they agree.
    texts = {
        "I love this!": "positive",
        "This is awful.": "negative",
        "Terribly good": "positive",
        "Meh": "neutral",
        "The movie was okay, nothing special": "neutral",
        "Not great, not terrible": "neutral",
    }
    answers = []
    for n in range(60):
        text = list(texts)[n % len(texts)]
        response = client.post("/predict", json={"text": text, "user_id": f"u{n}"})
        answers.append((response.get_json(), texts[text]))
        response.close()  # the mirror runs here, as after a real answer
    feedback = [{"prediction_id": answer["prediction_id"], "label": label} for answer, label in answers]
    assert client.post("/feedback", json=feedback).status_code == 202

    def mirrors() -> dict[str, str]:
        with app.app_context():
            rows = db.session.execute(select(PredictionLog.shadow_of, PredictionLog.prediction).where(
                PredictionLog.model_id == uuid.UUID(shadow_id)))  # fmt: skip
            return {str(of): label for of, label in rows}

    wait_for(lambda: len(mirrors()) == 60, timeout=30, what="every mirror in Postgres")
    shadow_labels = mirrors()

    def comparison() -> dict | None:
        assert client.post("/models/stats/refresh", json={}).status_code == 202
        found = client.get(f"/models/{shadow_id}/shadow").get_json()["comparisons"]
        return found[0] if found and found[0]["labelled_pairs"] == 60 else None

    shown = wait_for(comparison, timeout=60, interval=1, what="every pair counted with its feedback")
    agree = sum(shadow_labels[a["prediction_id"]] == a["prediction"] for a, _ in answers)
    shadow_right = sum(shadow_labels[a["prediction_id"]] == label for a, label in answers)
    served_right = sum(a["prediction"] == label for a, label in answers)
    assert (shown["pairs"], shown["agreements"]) == (60, agree)
    assert shown["shadow_accuracy"] == pytest.approx(shadow_right / 60)
    assert shown["served_accuracy"] == pytest.approx(served_right / 60)
    assert (agree, shadow_right, served_right) == (20, 20, 50)
    # vader is never right where textblob-basic is wrong here, and wrong on 3 of the 6 texts where it is right.
    assert (shown["shadow_only_correct"], shown["served_only_correct"]) == (0, 30)
    assert shown["mcnemar_p_value"] == pytest.approx(2 * 0.5**30)  # as the two families answer these texts
    experiment = client.get("/experiments/sentiment").get_json()
    assert experiment["shadows"] == [shown]
