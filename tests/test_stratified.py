"""Bandit estimates corrected for the changing allocation: stratified by epoch, by hand, by simulation,
and in the experiment view."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import select

from tests.api import register, two_versions
from tests.records import log_record, refresh_settled
from webapp.extensions import db
from webapp.feedback.ingest import write_feedback_batch
from webapp.logpipe.ingest import write_prediction_log_batch
from webapp.logpipe.wire import encode_feedback_batch, encode_log_batch
from webapp.models import RoutingState
from webapp.statistics.frequentist import Proportion
from webapp.statistics.stratified import Sample, stratified_difference


def epoch(a: tuple[int, int], b: tuple[int, int]) -> dict[str, Sample]:
    """(labelled, correct) of arms A and B in one epoch."""
    return {"A": Sample.of_proportion(Proportion(*a)), "B": Sample.of_proportion(Proportion(*b))}


def test_per_epoch_differences_are_combined_with_mantel_haenszel_weights():
    # Epoch 1: A 40/50 = 0.8, B 45/50 = 0.9: d = 0.10, w = 50*50/100 = 25, v = .16/50 + .09/50 = 0.005.
    # Epoch 2: A 10/20 = 0.5, B 52/80 = 0.65: d = 0.15, w = 20*80/100 = 16, v = .25/20 + .2275/80 = 0.01534375.
    # Epoch 3: A has one labelled prediction: skipped.
    result = stratified_difference([epoch((50, 40), (50, 45)), epoch((20, 10), (80, 52)), epoch((1, 1), (9, 3))],
                                   "A", "B")  # fmt: skip
    assert result.difference == pytest.approx((25 * 0.10 + 16 * 0.15) / 41)  # 0.119512
    error = (25**2 * 0.005 + 16**2 * 0.01534375) ** 0.5 / 41
    assert result.standard_error == pytest.approx(error)  # 0.064774
    assert result.ci.as_list() == pytest.approx([4.9 / 41 - 1.959964 * error, 4.9 / 41 + 1.959964 * error], abs=1e-6)
    # Pooled, the same predictions say A 50/70 = 0.7143 and B 97/130 = 0.7462: a third of the difference.
    assert result.pooled == pytest.approx(97 / 130 - 50 / 70)
    assert (result.epochs_used, result.epochs_skipped, result.observations) == (2, 1, 200)


def test_no_epoch_with_both_arms_gives_no_estimate():
    assert stratified_difference([{"A": Sample(10, 0.5, 0.25)}], "A", "B") is None


# The simulation: ten epochs of 400 labelled predictions. The traffic drifts from easy texts to hard
# ones while the bandit moves weight to B. B is better by exactly 0.05 on both kinds of text.
EPOCHS = 10
PER_EPOCH = 400
HARD_SHARE = np.linspace(0.0, 0.9, EPOCHS)
B_WEIGHT = np.linspace(0.2, 0.8, EPOCHS)
ACCURACY = {"A": (0.85, 0.45), "B": (0.90, 0.50)}  # (easy, hard)
TRUE_DIFFERENCE = 0.05
RUNS = 400


def simulated_epochs(rng: np.random.Generator) -> list[dict[str, Sample]]:
    epochs = []
    for hard_share, b_weight in zip(HARD_SHARE, B_WEIGHT, strict=True):
        counts = {"B": rng.binomial(PER_EPOCH, b_weight)}
        counts["A"] = PER_EPOCH - counts["B"]
        found = {}
        for arm, n in counts.items():
            hard = rng.binomial(n, hard_share)
            easy_accuracy, hard_accuracy = ACCURACY[arm]
            correct = rng.binomial(n - hard, easy_accuracy) + rng.binomial(hard, hard_accuracy)
            found[arm] = Sample.of_proportion(Proportion(int(n), int(correct)))
        epochs.append(found)
    return epochs


def test_with_drift_the_pooled_difference_is_biased_and_the_stratified_interval_covers_the_truth():
    rng = np.random.default_rng(20261123)
    results = [stratified_difference(simulated_epochs(rng), "A", "B") for _ in range(RUNS)]
    covered = sum(r.ci.low <= TRUE_DIFFERENCE <= r.ci.high for r in results)
    pooled = np.mean([r.pooled for r in results])
    stratified = np.mean([r.difference for r in results])
    assert covered >= 0.90 * RUNS, f"the 95% interval covered the truth in {covered} of {RUNS} runs"
    assert abs(stratified - TRUE_DIFFERENCE) < 0.005
    assert pooled < 0  # pooled (measured: -0.038), the better arm looks worse: B got its traffic when texts were hard


def feed(app, model_id: str, version: str, config_version: int, labelled: int, correct: int) -> None:
    """Store `labelled` routed predictions of a version under a config version, `correct` of them right."""
    records = [log_record(model_id, version, config_version=config_version, prediction="positive")
               for _ in range(labelled)]  # fmt: skip
    feedback = [
        {"prediction_id": r["prediction_id"], "label": "positive" if n < correct else "negative", "reward": None,
         "received_at": r["created_at"]}
        for n, r in enumerate(records)
    ]  # fmt: skip
    with app.app_context():
        write_prediction_log_batch(encode_log_batch(records))
        write_feedback_batch(encode_feedback_batch(feedback))


def config_version(app) -> int:
    with app.app_context():
        version = db.session.scalar(select(RoutingState.version))
        db.session.remove()
        return version


def test_the_experiment_view_shows_the_stratified_comparison_after_a_bandit_ran(app, client):
    v1, v2 = register(client, version="1.0.0")["model_id"], register(client, version="2.0.0")["model_id"]
    assert client.put("/models/sentiment/split", json={"weights": {"1.0.0": 80, "2.0.0": 20}}).status_code == 200
    # Easy traffic at 80/20, then hard traffic at the bandit's 50/50; 2.0.0 is 0.05 better on both.
    easy = config_version(app)
    feed(app, v1, "1.0.0", easy, 400, 340)
    feed(app, v2, "2.0.0", easy, 100, 90)
    assert client.post("/models/sentiment/bandit", json={"versions": ["1.0.0", "2.0.0"]}).status_code == 201
    hard = config_version(app)
    feed(app, v1, "1.0.0", hard, 100, 45)
    feed(app, v2, "2.0.0", hard, 400, 200)
    with app.app_context():
        refresh_settled()
        db.session.remove()
    assert client.delete("/models/sentiment/bandit", json={}).status_code == 200
    body = client.get("/experiments/sentiment?baseline=1.0.0").get_json()
    stratified = body["stratified"]
    assert stratified["metric"] == "accuracy" and "Mantel-Haenszel" in stratified["method"]
    (comparison,) = stratified["comparisons"]
    assert (comparison["model_version"], comparison["baseline_version"]) == ("2.0.0", "1.0.0")
    assert comparison["difference"] == pytest.approx(0.05, abs=1e-6)
    assert comparison["pooled_difference"] == pytest.approx(290 / 500 - 385 / 500, abs=1e-6)  # -0.19
    assert comparison["ci"][0] < 0.05 < comparison["ci"][1]
    assert (comparison["epochs_used"], comparison["observations"]) == (2, 1000)


def test_the_experiment_view_has_no_stratified_comparison_where_no_bandit_ran(client):
    two_versions(client)
    assert client.get("/experiments/sentiment").get_json()["stratified"] is None
