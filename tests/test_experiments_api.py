"""GET /experiments/<name>: arms, comparisons, SRM within the current epoch, power, and the decision."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from tests.api import activate, register, two_versions
from tests.records import log_record, refresh_settled
from webapp.experiments.epochs import epoch_from_splits
from webapp.extensions import db
from webapp.feedback.ingest import write_feedback_batch
from webapp.logpipe.ingest import write_prediction_logs
from webapp.logpipe.wire import encode_feedback_batch
from webapp.models import RoutingState
from webapp.statistics.frequentist import wilson_interval


def config_version() -> int:
    return db.session.scalar(select(RoutingState.version))


def serve(model_id: str, version: str, users: int, correct: int, labelled: int, latency: float = 0.3) -> None:
    """`users` sticky users with one prediction each under the current config; `correct` of the first
    `labelled` get a label that matches the prediction ("positive"), the rest "negative"."""
    current = config_version()
    logs = [
        log_record(model_id, version, routing="sticky", user_id=f"{version}-{current}-{i}", bucket=0,
                   config_version=current, latency_ms=latency + (i % 7) / 100)
        for i in range(users)
    ]  # fmt: skip
    write_prediction_logs(logs)
    now = datetime.now(UTC).isoformat()
    feedback = [
        {"prediction_id": log["prediction_id"], "label": "positive" if i < correct else "negative", "reward": None,
         "received_at": now}
        for i, log in enumerate(logs[:labelled])
    ]  # fmt: skip
    if feedback:
        write_feedback_batch(encode_feedback_batch(feedback))


@pytest.fixture
def experiment(app, client):
    v1, v2 = two_versions(client)
    return app, client, v1, v2


def test_the_more_accurate_version_wins_with_the_numbers_behind_it(experiment):
    app, client, v1, v2 = experiment
    with app.app_context():
        serve(v1, "1.0.0", users=600, correct=300, labelled=600)
        serve(v2, "2.0.0", users=600, correct=450, labelled=600, latency=0.6)
        refresh_settled()
    body = client.get("/experiments/sentiment").get_json()
    arms = {arm["model_version"]: arm for arm in body["arms"]}
    assert (arms["1.0.0"]["accuracy"], arms["2.0.0"]["accuracy"]) == (0.5, 0.75)
    assert arms["2.0.0"]["accuracy_ci"] == pytest.approx(wilson_interval(450, 600).as_list(), abs=1e-6)
    assert arms["1.0.0"]["confusion_matrix"] == {"positive": {"positive": 300}, "negative": {"positive": 300}}
    assert body["baseline"] == "1.0.0"
    comparisons = {c["metric"]: c for c in body["comparisons"]}
    assert set(comparisons) == {"accuracy", "latency"}
    assert comparisons["accuracy"]["difference"] == pytest.approx(0.25)
    assert comparisons["accuracy"]["relative_lift"] == pytest.approx(0.5)
    assert comparisons["latency"]["difference"] == pytest.approx(0.3, abs=1e-6)
    assert body["srm"]["mismatch"] is False and body["srm"]["observed"] == {"1.0.0": 600, "2.0.0": 600}
    assert body["decision"]["status"] == "winner" and body["decision"]["winner"] == "2.0.0"
    assert "0.7500 vs 0.5000" in body["decision"]["reason"]


def test_no_winner_on_a_result_only_a_fixed_horizon_test_would_call(experiment):
    app, client, v1, v2 = experiment
    with app.app_context():
        serve(v1, "1.0.0", users=200, correct=100, labelled=200)
        serve(v2, "2.0.0", users=200, correct=124, labelled=200)
        refresh_settled()
    body = client.get("/experiments/sentiment").get_json()
    accuracy = next(c for c in body["comparisons"] if c["metric"] == "accuracy")
    assert accuracy["p_value"] < 0.05 < accuracy["sequential_p_value"]  # a peek could stop here; we do not
    assert accuracy["significant"] is False
    assert (body["decision"]["status"], body["decision"]["winner"]) == ("no_difference_yet", None)


def test_without_enough_feedback_the_data_is_insufficient_and_power_says_how_much_is_missing(experiment):
    app, client, v1, v2 = experiment
    with app.app_context():
        serve(v1, "1.0.0", users=100, correct=10, labelled=20)
        serve(v2, "2.0.0", users=100, correct=10, labelled=10)
        refresh_settled()
    body = client.get("/experiments/sentiment?mde=0.1").get_json()
    assert body["decision"]["status"] == "insufficient_data"
    power = body["power"]
    assert (power["baseline_accuracy"], power["mde"], power["needed_per_arm"]) == (0.5, 0.1, 388)
    assert power["missing"] == (388 - 20) + (388 - 10)


def test_a_sample_ratio_mismatch_blocks_the_winner(experiment):
    app, client, v1, v2 = experiment
    with app.app_context():
        serve(v1, "1.0.0", users=700, correct=350, labelled=700)
        serve(v2, "2.0.0", users=500, correct=400, labelled=500)
        refresh_settled()
    body = client.get("/experiments/sentiment").get_json()
    assert body["srm"]["mismatch"] is True and body["srm"]["expected"] == {"1.0.0": 600, "2.0.0": 600}
    assert (body["decision"]["status"], body["decision"]["winner"]) == ("srm", None)


def test_a_split_change_starts_a_new_epoch_and_raises_no_false_srm(experiment):
    app, client, v1, v2 = experiment
    with app.app_context():
        serve(v1, "1.0.0", users=500, correct=250, labelled=500)
        serve(v2, "2.0.0", users=500, correct=250, labelled=500)
    activate(client, v1, 20)
    activate(client, v2, 80)
    with app.app_context():
        serve(v1, "1.0.0", users=200, correct=100, labelled=200)
        serve(v2, "2.0.0", users=800, correct=400, labelled=800)
        refresh_settled()
        current = config_version()
    srm = client.get("/experiments/sentiment").get_json()["srm"]
    assert srm["epoch"] == {"first_config_version": current, "last_config_version": current}
    assert srm["observed"] == {"1.0.0": 200, "2.0.0": 800}  # 700 / 1,300 over both epochs would be a mismatch
    assert srm["mismatch"] is False
    arms = {arm["model_version"]: arm for arm in client.get("/experiments/sentiment").get_json()["arms"]}
    assert sorted(arms["1.0.0"]["routed_by_config_version"].values()) == [200, 500]
    assert arms["1.0.0"]["routed_in_epoch"] == 200


def test_registering_another_model_does_not_end_the_epoch(experiment):
    app, client, v1, _ = experiment
    with app.app_context():
        first = config_version()
    client.post("/models", json={"name": "other", "version": "1.0.0"})
    with app.app_context():
        serve(v1, "1.0.0", users=50, correct=25, labelled=50)
        refresh_settled()
    srm = client.get("/experiments/sentiment").get_json()["srm"]
    assert srm["epoch"] == {"first_config_version": first, "last_config_version": first + 1}


def test_the_baseline_can_be_chosen_and_must_be_an_arm(experiment):
    app, client, v1, v2 = experiment
    with app.app_context():
        serve(v1, "1.0.0", users=600, correct=300, labelled=600)
        serve(v2, "2.0.0", users=600, correct=450, labelled=600)
        refresh_settled()
    body = client.get("/experiments/sentiment?baseline=2.0.0").get_json()
    accuracy = next(c for c in body["comparisons"] if c["metric"] == "accuracy")
    assert (accuracy["model_version"], accuracy["baseline_version"]) == ("1.0.0", "2.0.0")
    assert accuracy["difference"] == pytest.approx(-0.25)
    assert body["decision"]["winner"] == "2.0.0"
    assert client.get("/experiments/sentiment?baseline=3.0.0").status_code == 404


@pytest.mark.parametrize("query", ["mde=0", "mde=1e-300", "mde=1", "mde=nan", "mde=abc", "baseline=latest"])
def test_bad_query_parameters_are_422(experiment, query):
    assert experiment[1].get(f"/experiments/sentiment?{query}").status_code == 422


def test_an_unknown_model_is_404(client):
    assert client.get("/experiments/nothing-here").status_code == 404


def test_rewards_decide_when_there_are_no_labels(experiment):
    app, client, v1, v2 = experiment
    now = datetime.now(UTC).isoformat()
    with app.app_context():
        for model_id, version, rewarded in ((v1, "1.0.0", 100), (v2, "2.0.0", 250)):
            serve(model_id, version, users=400, correct=0, labelled=0)
            logs = db.session.execute(
                select(db.metadata.tables["prediction_logs"].c.prediction_id).where(
                    db.metadata.tables["prediction_logs"].c.model_id == uuid.UUID(model_id)
                )
            ).scalars()
            rows = [
                {"prediction_id": str(pid), "label": None, "reward": float(i < rewarded), "received_at": now}
                for i, pid in enumerate(logs)
            ]
            write_feedback_batch(encode_feedback_batch(rows))
        refresh_settled()
    body = client.get("/experiments/sentiment").get_json()
    assert {c["metric"] for c in body["comparisons"]} == {"mean_reward", "latency"}
    assert (body["decision"]["metric"], body["decision"]["winner"]) == ("mean_reward", "2.0.0")


def test_performance_recommends_from_outcomes_when_there_is_feedback(experiment):
    app, client, v1, v2 = experiment
    with app.app_context():
        serve(v1, "1.0.0", users=600, correct=300, labelled=0)
        serve(v2, "2.0.0", users=600, correct=450, labelled=0)
        refresh_settled()
    recommendation = client.get("/models/performance").get_json()["recommendation"]
    assert "no feedback yet" in recommendation["reason"]
    with app.app_context():
        serve(v1, "1.0.0", users=600, correct=300, labelled=600)
        serve(v2, "2.0.0", users=600, correct=450, labelled=600)
        refresh_settled()
    body = client.get("/models/performance").get_json()
    assert body["recommendation"]["model_version"] == "2.0.0"
    assert "outcomes" in body["recommendation"]["reason"]
    assert {"models", "total_requests", "recommendation", "recommendation_note"} <= set(body)


def test_feedback_folded_by_a_later_refresh_adds_to_the_experiment(experiment):
    app, client, v1, v2 = experiment
    with app.app_context():
        write_feedback_batch(encode_feedback_batch([]))  # an empty batch is harmless
        serve(v1, "1.0.0", users=300, correct=120, labelled=300)
        serve(v2, "2.0.0", users=300, correct=240, labelled=300)
        refresh_settled()
        serve(v2, "2.0.0", users=10, correct=10, labelled=10)
        refresh_settled()
    body = client.get("/experiments/sentiment").get_json()
    arms = {arm["model_version"]: arm for arm in body["arms"]}
    assert (arms["1.0.0"]["correct_count"], arms["2.0.0"]["correct_count"]) == (120, 250)
    assert body["decision"]["winner"] == "2.0.0"


def test_one_version_alone_is_not_an_experiment(client, app):
    only = register(client)["model_id"]
    activate(client, only, 100)
    with app.app_context():
        serve(only, "1.0.0", users=100, correct=60, labelled=100)
        refresh_settled()
    body = client.get("/experiments/sentiment").get_json()
    assert [arm["model_version"] for arm in body["arms"]] == ["1.0.0"] and body["comparisons"] == []
    assert (body["decision"]["status"], body["decision"]["winner"]) == ("insufficient_data", None)


def test_an_epoch_is_the_latest_run_of_config_versions_with_one_split():
    a, b = uuid.uuid4(), uuid.uuid4()
    half, skewed = frozenset({(a, 50), (b, 50)}), frozenset({(a, 20), (b, 80)})
    splits = {1: half, 2: half, 3: skewed, 4: half, 5: half}
    epoch = epoch_from_splits("sentiment", splits, current_version=6)
    assert (epoch.first, epoch.last, epoch.weights) == (4, 6, {a: 50, b: 50})  # back to 50/50 is a new epoch
    assert epoch_from_splits("sentiment", {**splits, 6: frozenset()}, current_version=6) is None  # nothing active
    assert epoch_from_splits("sentiment", {}, current_version=6) is None
