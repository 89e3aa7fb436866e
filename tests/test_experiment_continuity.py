"""Experiments keep their data across split changes: estimates stratified by allocation epoch.

By simulation (a ramp 10 -> 50 -> 90 with drifting traffic), in the experiment view on the real
Postgres (a split change hides no arm), and in the bandit's update (it reads the same estimates).
"""

from __future__ import annotations

import time

import numpy as np
import pytest
from sqlalchemy import select

from tests.api import register, two_versions
from tests.records import log_record, refresh_settled
from tests.rollout_helpers import evaluate
from webapp.extensions import db
from webapp.feedback.ingest import write_feedback_batch
from webapp.logpipe.ingest import write_prediction_log_batch
from webapp.logpipe.wire import encode_feedback_batch, encode_log_batch
from webapp.models import RoutingState
from webapp.statistics import sequential
from webapp.statistics.stratified import Sample, combine, standardized_rates

# The ramp: the challenger's share goes 10% -> 50% -> 90%, 5,000 labels per step, 5 looks per step.
# The traffic drifts from easy to hard texts meanwhile: the baseline's accuracy is 0.70, 0.60, 0.50.
SHARES = (0.10, 0.50, 0.90)
BASELINE_ACCURACY = (0.70, 0.60, 0.50)
PER_STEP, LOOKS_PER_STEP = 5000, 5
RUNS = 2000


def simulate_ramp(rng: np.random.Generator, difference: float) -> dict[str, np.ndarray]:
    """Per run and look (RUNS, 15): the stratified and the pooled estimates after each look."""
    steps = len(SHARES)
    per_look = PER_STEP // LOOKS_PER_STEP
    n = np.zeros((RUNS, 2, steps))  # labels per arm (0 baseline, 1 challenger) and step
    correct = np.zeros((RUNS, 2, steps))
    found = {"difference": [], "variance": [], "total": [], "pooled": []}
    for step, (share, accuracy) in enumerate(zip(SHARES, BASELINE_ACCURACY, strict=True)):
        for _ in range(LOOKS_PER_STEP):
            challenger = rng.binomial(per_look, share, RUNS)
            for arm, count, rate in ((0, per_look - challenger, accuracy), (1, challenger, accuracy + difference)):
                n[:, arm, step] += count
                correct[:, arm, step] += rng.binomial(count, rate)
            with np.errstate(divide="ignore", invalid="ignore"):
                mean = np.where(n > 0, correct / n, 0.0)
            result = combine(n[:, 0], mean[:, 0], mean[:, 0] * (1 - mean[:, 0]),
                             n[:, 1], mean[:, 1], mean[:, 1] * (1 - mean[:, 1]), binary=True)  # fmt: skip
            found["difference"].append(result["difference"])
            found["variance"].append(result["variance"])
            found["total"].append(result["n_a"] + result["n_b"])
            totals = correct.sum(axis=2) / n.sum(axis=2)
            found["pooled"].append(totals[:, 1] - totals[:, 0])
    return {key: np.stack(values, axis=1) for key, values in found.items()}


def sequential_winners(found: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Per run: whether any look called the challenger better, and whether any called it worse."""
    p = sequential.p_value(found["difference"], found["variance"], found["total"])
    significant = p < 0.05
    return (significant & (found["difference"] > 0)).any(axis=1), (significant & (found["difference"] < 0)).any(axis=1)


def test_an_a_a_ramp_keeps_its_false_winner_rate_at_the_nominal_level():
    found = simulate_ramp(np.random.default_rng(20261205), difference=0.0)
    better, worse = sequential_winners(found)
    false_calls = np.mean(better | worse)
    # 15 looks over the ramp; the promise is at most 5%. Monte Carlo: 2,000 runs, a standard error of
    # 0.5 points at 5%, so 6.5% is three standard errors above the promise.
    assert false_calls <= 0.065, f"an A/A ramp named a winner in {false_calls:.1%} of runs"
    # Pooled over the steps the drift makes the challenger look worse (it served mostly the hard texts).
    assert np.mean(found["pooled"][:, -1]) < -0.05
    assert abs(np.mean(found["difference"][:, -1])) < 0.002  # stratified: unbiased (mean of 2,000 runs)


def test_a_ramp_with_a_true_difference_finds_it():
    found = simulate_ramp(np.random.default_rng(20261206), difference=0.05)
    better, worse = sequential_winners(found)
    # Measured 0.978 (Monte Carlo standard error over 2,000 runs: 0.3 points); A/A measured 0.0195 (0.3 points).
    assert np.mean(better) >= 0.90, f"found the +0.05 difference in {np.mean(better):.1%} of runs"
    assert not worse.any()
    assert abs(np.mean(found["difference"][:, -1]) - 0.05) < 0.002
    assert np.mean(found["pooled"][:, -1]) < 0  # pooled would even call it worse


def test_standardized_rates_reweight_every_arm_to_the_same_mix_of_epochs():
    # Epoch 1: A 80/100 = 0.8, B 18/20 = 0.9 (120 labels). Epoch 2: A 10/20 = 0.5, B 60/100 = 0.6 (120).
    epochs = [
        {"A": Sample(100, 0.8, 0.16), "B": Sample(20, 0.9, 0.09)},
        {"A": Sample(20, 0.5, 0.25), "B": Sample(100, 0.6, 0.24)},
        {"A": Sample(5, 1.0, 0.0)},  # B not in it: left out
    ]
    (rate_a, n_a), (rate_b, n_b) = standardized_rates(epochs, ["A", "B"])
    assert (rate_a, rate_b) == pytest.approx((0.65, 0.75))  # pooled: A 90/120 = 0.75, B 78/120 = 0.65
    assert n_a == pytest.approx(1 / (0.25 / 100 + 0.25 / 20)) and n_b == pytest.approx(n_a)
    assert standardized_rates([{"A": Sample(5, 1.0, 0.0)}], ["A", "B"]) is None
    same_share = [{"A": Sample(50, 0.5, 0.25), "B": Sample(50, 0.6, 0.24)}] * 3
    assert [n for _, n in standardized_rates(same_share, ["A", "B"])] == pytest.approx([150, 150])


def config_version(app) -> int:
    with app.app_context():
        version = db.session.scalar(select(RoutingState.version))
        db.session.remove()
        return version


def feed(app, model_id: str, version: str, labelled: int, correct: int) -> None:
    """`labelled` routed predictions under the current config version, `correct` of them right."""
    current = config_version(app)
    records = [
        log_record(model_id, version, config_version=current, routing="sticky", user_id=f"{version}-{current}-{i}")
        for i in range(labelled)
    ]
    feedback = [
        {"prediction_id": r["prediction_id"], "label": "positive" if i < correct else "negative", "reward": None,
         "received_at": r["created_at"]}
        for i, r in enumerate(records)
    ]  # fmt: skip
    with app.app_context():
        write_prediction_log_batch(encode_log_batch(records))
        write_feedback_batch(encode_feedback_batch(feedback))
        refresh_settled()
        db.session.remove()


def test_a_split_change_hides_no_arm_and_keeps_the_comparison(app, client):
    v1, v2 = two_versions(client, 70, 30)
    feed(app, v1, "1.0.0", 700, 350)
    feed(app, v2, "2.0.0", 300, 240)
    assert client.put("/models/sentiment/split", json={"weights": {"1.0.0": 40, "2.0.0": 60}}).status_code == 200
    body = client.get("/experiments/sentiment").get_json()  # no traffic yet in the new epoch
    arms = {arm["model_version"]: arm for arm in body["arms"]}
    assert set(arms) == {"1.0.0", "2.0.0"}
    assert (arms["1.0.0"]["labelled_count"], arms["2.0.0"]["labelled_count"]) == (700, 300)
    assert (arms["1.0.0"]["routed_in_epoch"], arms["2.0.0"]["routed_total"]) == (0, 300)
    accuracy = next(c for c in body["comparisons"] if c["metric"] == "accuracy")
    assert (accuracy["estimate"], accuracy["difference"]) == ("stratified", pytest.approx(0.3))
    assert (body["decision"]["status"], body["decision"]["winner"]) == ("winner", "2.0.0")


def test_after_a_ramp_step_the_comparison_is_stratified_and_the_pooled_one_is_not_used(app, client):
    # Easy texts at 90/10, then hard texts at 10/90; 2.0.0 is 0.10 better on both. Pooled, it looks worse.
    v1, v2 = two_versions(client, 90, 10)
    feed(app, v1, "1.0.0", 900, 720)
    feed(app, v2, "2.0.0", 100, 90)
    assert client.put("/models/sentiment/split", json={"weights": {"1.0.0": 10, "2.0.0": 90}}).status_code == 200
    feed(app, v1, "1.0.0", 100, 30)
    feed(app, v2, "2.0.0", 900, 360)
    body = client.get("/experiments/sentiment").get_json()
    accuracy = next(c for c in body["comparisons"] if c["metric"] == "accuracy")
    pooled = 450 / 1000 - 750 / 1000  # -0.30
    assert accuracy["difference"] == pytest.approx(0.10, abs=1e-6) and pooled < 0
    assert accuracy["value"] - accuracy["baseline_value"] == pytest.approx(accuracy["difference"], abs=1e-6)
    assert (accuracy["observations"], accuracy["baseline_observations"]) == (1000, 1000)
    assert body["decision"]["winner"] == "2.0.0"


def test_the_bandit_reads_the_stratified_estimates(app, client):
    # 2.0.0 is better within each epoch, but got most of its labels while the texts were hard: pooled it
    # is worse (0.45 vs 0.75), stratified better (+0.10). The bandit must move weight towards it.
    ids = {version: register(client, version=version)["model_id"] for version in ("1.0.0", "2.0.0")}
    assert client.put("/models/sentiment/split", json={"weights": {"1.0.0": 90, "2.0.0": 10}}).status_code == 200
    feed(app, ids["1.0.0"], "1.0.0", 900, 720)
    feed(app, ids["2.0.0"], "2.0.0", 100, 90)
    body = {"versions": ["1.0.0", "2.0.0"], "update_seconds": 0.01, "min_per_arm": 50, "floor_percent": 1}
    assert client.post("/models/sentiment/bandit", json=body).status_code == 201
    feed(app, ids["1.0.0"], "1.0.0", 100, 30)
    feed(app, ids["2.0.0"], "2.0.0", 900, 360)
    time.sleep(0.05)
    assert [o.action for o in evaluate(app)] == ["update"]
    weights = client.get("/models/sentiment/bandit").get_json()["weights"]
    assert weights["2.0.0"] > 90, weights  # pooled totals would have given 1.0.0 nearly everything
