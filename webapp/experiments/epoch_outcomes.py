"""Outcomes per allocation epoch: what the stratified comparisons, the bandit and the view read.

Outcomes per epoch are not materialized: this reads the counted feedback joined with its
prediction's routing-config version (one grouped query, on the prediction log's unique
prediction_id). Only routed (sticky and random) predictions count: explicit ones were not
allocated. Config versions during which the name's split stayed the same are one epoch (a change
to another model, or a change that changes nothing, does not split an epoch).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import Float, case, cast, func, select

from ..extensions import db
from ..feedback.models import Feedback
from ..models import PredictionLog
from ..statistics.frequentist import Moments, Proportion
from ..statistics.stratified import METHOD, Sample, stratified_difference
from .models import RoutingSplit
from .schemas import Experiment, StratifiedComparisonOut, StratifiedOut

ROUTED = ("sticky", "random")
METRICS = ("accuracy", "mean_reward")


def stratified_section(report: Experiment, strata: dict[str, list[dict[str, Sample]]]) -> StratifiedOut | None:
    """Each challenger against the baseline per epoch, combined, beside the pooled difference."""
    if report.baseline is None or len(report.arms) < 2:
        return None
    metric = "accuracy" if any(arm.labelled_count for arm in report.arms) else "mean_reward"
    epochs = strata.get(metric, [])
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


def epoch_samples(model_name: str, versions: dict[uuid.UUID, str]) -> dict[str, list[dict[str, Sample]]]:
    """Per metric, per allocation epoch of the name (oldest first): each version's routed outcomes."""
    if not versions:
        return {metric: [] for metric in METRICS}
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
    ).all()  # fmt: skip
    epoch_of = epoch_numbers(model_name)
    totals: dict[int, dict[str, list[float]]] = {}
    for config_version, model_id, labelled, right, rewarded, total, squares in rows:
        key = -1 if config_version is None else epoch_of.get(config_version, config_version)
        sums = totals.setdefault(key, {}).setdefault(versions[model_id], [0, 0, 0, 0.0, 0.0])
        for i, value in enumerate((labelled, right or 0, rewarded, total or 0.0, squares or 0.0)):
            sums[i] += value
    ordered = [totals[key] for key in sorted(totals)]
    return {
        "accuracy": [
            {v: Sample.of_proportion(Proportion(int(s[0]), int(s[1]))) for v, s in e.items()} for e in ordered
        ],
        "mean_reward": [
            {v: Sample.of_moments(Moments(int(s[2]), float(s[3]), float(s[4]))) for v, s in e.items()} for e in ordered
        ],
    }


def epoch_numbers(model_name: str) -> dict[int, int]:
    """Config version -> the first config version of its epoch (the run with the same split of this name)."""
    rows = db.session.execute(
        select(RoutingSplit.config_version, RoutingSplit.model_id, RoutingSplit.percent)
        .where(RoutingSplit.model_name == model_name)
        .order_by(RoutingSplit.config_version)
    ).all()
    return number_epochs((config_version, model_id, float(percent)) for config_version, model_id, percent in rows)


def number_epochs(rows: Iterable[tuple[int, uuid.UUID, float]]) -> dict[int, int]:
    """From (config version, version id, percent) rows: each config version's epoch, named by its first."""
    splits: dict[int, frozenset] = {}
    for config_version, model_id, percent in rows:
        shares = set(splits.get(config_version, frozenset()))
        if percent > 0:
            shares.add((model_id, percent))
        splits[config_version] = frozenset(shares)
    numbers, first, previous = {}, None, None
    for config_version in sorted(splits):
        if first is None or splits[config_version] != previous:
            first = config_version
        numbers[config_version], previous = first, splits[config_version]
    return numbers
