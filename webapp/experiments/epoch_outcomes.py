"""The allocation-corrected comparison of the experiment view, shown while a bandit runs or after one ran.

Outcomes per allocation epoch are not materialized: this reads the counted feedback joined with
its prediction's routing-config version (one grouped query, on the prediction log's unique
prediction_id). Only routed (sticky and random) predictions count: explicit ones were not allocated.
"""

from __future__ import annotations

import uuid

from sqlalchemy import Float, case, cast, func, select

from ..extensions import db
from ..feedback.models import Feedback
from ..models import PredictionLog
from ..statistics.frequentist import Moments, Proportion
from ..statistics.stratified import METHOD, Sample, stratified_difference
from .schemas import Experiment, StratifiedComparisonOut, StratifiedOut

ROUTED = ("sticky", "random")


def stratified_section(report: Experiment) -> StratifiedOut | None:
    """Each challenger against the baseline per epoch, combined; None when there is nothing to compare."""
    if report.baseline is None or len(report.arms) < 2:
        return None
    versions = {uuid.UUID(arm.model_id): arm.model_version for arm in report.arms}
    metric = "accuracy" if any(arm.labelled_count for arm in report.arms) else "mean_reward"
    epochs = epoch_samples(versions, metric)
    comparisons = []
    for arm in report.arms:
        if arm.model_version == report.baseline:
            continue
        result = stratified_difference(epochs, report.baseline, arm.model_version)
        if result is not None:
            comparisons.append(
                StratifiedComparisonOut(
                    model_version=arm.model_version, baseline_version=report.baseline,
                    difference=round(result.difference, 6), ci=[round(result.ci.low, 6), round(result.ci.high, 6)],
                    pooled_difference=round(result.pooled, 6), epochs_used=result.epochs_used,
                    epochs_skipped=result.epochs_skipped, observations=result.observations,
                )
            )  # fmt: skip
    return StratifiedOut(method=METHOD, metric=metric, comparisons=comparisons)


def epoch_samples(versions: dict[uuid.UUID, str], metric: str) -> list[dict[str, Sample]]:
    """Per routing-config version, each arm's labelled (or rewarded) routed predictions."""
    correct = func.sum(case((Feedback.counted_label == Feedback.counted_prediction, 1), else_=0))
    reward = cast(Feedback.counted_reward, Float)
    rows = db.session.execute(
        select(
            PredictionLog.config_version, Feedback.counted_model_id, func.count(Feedback.counted_label), correct,
            func.count(Feedback.counted_reward), func.sum(reward), func.sum(reward * reward),
        )
        .join(PredictionLog, PredictionLog.prediction_id == Feedback.prediction_id)
        .where(Feedback.counted_model_id.in_(list(versions)), PredictionLog.routing.in_(ROUTED))
        .group_by(PredictionLog.config_version, Feedback.counted_model_id)
    )  # fmt: skip
    epochs: dict[int | None, dict[str, Sample]] = {}
    for config_version, model_id, labelled, right, rewarded, total, squares in rows:
        if metric == "accuracy":
            sample = Sample.of_proportion(Proportion(int(labelled), int(right or 0)))
        else:
            sample = Sample.of_moments(Moments(int(rewarded), float(total or 0), float(squares or 0)))
        epochs.setdefault(config_version, {})[versions[model_id]] = sample
    return [epochs[key] for key in sorted(epochs, key=lambda key: -1 if key is None else key)]
