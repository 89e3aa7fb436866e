"""From materialized per-arm numbers to the experiment report. Pure: no I/O.

An arm is a version in the current split or with routed traffic in any epoch, so a split change
hides nobody. Accuracy and reward are compared per allocation epoch and combined
(`statistics/stratified.py`); latency over all of a version's predictions. With several
challengers the comparisons of each metric are corrected for multiplicity (Holm). The call itself
is in `decision.py`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from ..statistics import frequentist as st
from ..statistics import multiplicity
from ..statistics.calibration import calibration
from ..statistics.stratified import compare_stratified
from .data import ArmData, ExperimentData
from .decision import decide
from .schemas import (
    ArmOut,
    CalibrationOut,
    ComparisonOut,
    Experiment,
    MultiplicityOut,
    PowerOut,
    ReliabilityBinOut,
    SrmOut,
)


def analyze(data: ExperimentData, baseline: str | None, mde: float, target_n: int) -> Experiment:
    """The report for one model name; `baseline` must be an arm's version when given (checked by the caller)."""
    arms = experiment_arms(data)
    chosen = _baseline(arms, baseline)
    challengers = [arm for arm in arms if chosen is not None and arm is not chosen]
    comparisons = _comparisons(chosen, challengers, data.strata, mde, target_n)
    srm = _srm(data)
    sizes = {metric: sum(c.metric == metric for c in comparisons) for metric in ("accuracy", "mean_reward", "latency")}
    return Experiment(
        model_name=data.model_name,
        arms=[_arm_out(arm) for arm in arms],
        baseline=chosen.version if chosen else None,
        comparisons=comparisons,
        srm=srm,
        power=_power(arms, chosen, mde, data.feedback_per_hour),
        decision=decide(arms, chosen, comparisons, srm, mde),
        refreshed_at=data.refreshed_at,
        multiplicity=MultiplicityOut(
            method=multiplicity.METHOD, description=multiplicity.DESCRIPTION,
            comparisons={metric: size for metric, size in sizes.items() if size},
        ),
    )  # fmt: skip


def experiment_arms(data: ExperimentData) -> list[ArmData]:
    """The versions in the current split, and those with routed traffic in any epoch."""
    return [arm for arm in data.arms if arm.percent > 0 or arm.routed_total > 0 or arm.routed_in_epoch > 0]


def baseline_versions(data: ExperimentData) -> list[str]:
    """The versions that can be the baseline: the experiment's arms."""
    return [arm.version for arm in experiment_arms(data)]


def _baseline(arms: list[ArmData], version: str | None) -> ArmData | None:
    if version is not None:
        return next(arm for arm in arms if arm.version == version)
    ordered = sorted(arms, key=lambda arm: (arm.activated_at is None, arm.activated_at or datetime.max, arm.version))
    return ordered[0] if ordered else None


def _comparisons(
    baseline: ArmData | None, challengers: list[ArmData], strata: dict, mde: float, target_n: int
) -> list[ComparisonOut]:
    """Every metric's comparisons, Holm-corrected across the challengers."""
    shaped = []
    for metric in ("accuracy", "mean_reward", "latency"):
        found = [(arm, *_compare(metric, baseline, arm, strata.get(metric, []), target_n)) for arm in challengers]
        found = [(arm, estimate, result) for arm, estimate, result in found if result is not None]
        adjusted = multiplicity.adjust([result.comparison for _, _, result in found], target_n)
        for (arm, estimate, result), adjustment in zip(found, adjusted, strict=True):
            shaped.append(_comparison_out(metric, estimate, baseline, arm, result, adjustment, mde))
    return shaped


@dataclass(frozen=True)
class _Result:
    comparison: st.Comparison
    baseline_n: int
    challenger_n: int


def _compare(metric: str, baseline: ArmData, arm: ArmData, epochs: list, target_n: int) -> tuple[str, _Result | None]:
    """Stratified when the log holds either arm's routed outcomes per epoch; pooled otherwise."""
    if metric != "latency" and any(baseline.version in e or arm.version in e for e in epochs):
        found = compare_stratified(epochs, baseline.version, arm.version, target_n)
        if found is None:
            return "stratified", None
        return "stratified", _Result(found.comparison, found.baseline_n, found.challenger_n)
    if metric == "accuracy":
        pooled = st.compare_proportions(baseline.accuracy, arm.accuracy, target_n)
        sizes = (baseline.accuracy.n, arm.accuracy.n)
    else:
        a, b = (baseline.reward, arm.reward) if metric == "mean_reward" else (baseline.latency, arm.latency)
        pooled, sizes = st.compare_means(a, b, target_n), (a.n, b.n)
    return "pooled", None if pooled is None else _Result(pooled, *sizes)


def _comparison_out(
    metric: str, estimate: str, baseline: ArmData, arm: ArmData, result: _Result, adjusted: multiplicity.Adjusted,
    mde: float,
) -> ComparisonOut:  # fmt: skip
    c = result.comparison
    low, high = adjusted.sequential_ci.as_list()
    return ComparisonOut(
        model_version=arm.version, baseline_version=baseline.version, metric=metric, estimate=estimate,
        observations=result.challenger_n, baseline_observations=result.baseline_n,
        baseline_value=_round(c.baseline), value=_round(c.challenger), difference=_round(c.difference),
        relative_lift=_round(c.relative_lift), ci=[_round(v) for v in c.ci.as_list()], p_value=_round(c.p_value, 8),
        sequential_ci=[_round(v) for v in c.sequential_ci.as_list()],
        sequential_p_value=_round(c.sequential_p_value, 8),
        adjusted_p_value=_round(adjusted.p_value, 8), adjusted_sequential_ci=[_round(low), _round(high)],
        significant=adjusted.p_value < st.ALPHA, equivalent=metric != "latency" and -mde < low and high < mde,
    )  # fmt: skip


def _srm(data: ExperimentData) -> SrmOut:
    weighted = [arm for arm in data.arms if arm.percent > 0]
    result = st.sample_ratio_mismatch([arm.srm_units for arm in weighted], [arm.percent for arm in weighted])
    epoch = {"first_config_version": data.epoch[0], "last_config_version": data.epoch[1]} if data.epoch else None
    return SrmOut(
        p_value=None if result.p_value is None else _round(result.p_value, 8),
        mismatch=result.mismatch,
        observed={arm.version: units for arm, units in zip(weighted, result.observed, strict=True)},
        expected={arm.version: round(units, 2) for arm, units in zip(weighted, result.expected, strict=True)},
        epoch=epoch,
    )


def _power(arms: list[ArmData], baseline: ArmData | None, mde: float, per_hour: float | None) -> PowerOut:
    rate = baseline.accuracy.rate if baseline is not None else None
    needed = st.sample_size_per_arm(rate, mde).needed_per_arm if rate is not None and 0 < rate < 1 else None
    missing = sum(max(needed - arm.accuracy.n, 0) for arm in arms) if needed is not None else None
    hours = None
    if missing is not None and per_hour:
        hours = round(missing / per_hour, 2)
    return PowerOut(
        baseline_accuracy=_round(rate),
        mde=mde,
        needed_per_arm=needed,
        labelled_per_arm={arm.version: arm.accuracy.n for arm in arms},
        missing=missing,
        feedback_per_hour=None if per_hour is None else round(per_hour, 2),
        estimated_hours=hours,
    )


def _arm_out(arm: ArmData) -> ArmOut:
    accuracy_ci = st.wilson_interval(arm.accuracy.successes, arm.accuracy.n)
    reward_ci = st.mean_interval(arm.reward)
    return ArmOut(
        model_version=arm.version, model_id=arm.model_id, traffic_percent=arm.percent,
        request_count=arm.request_count, routed_in_epoch=arm.routed_in_epoch, routed_total=arm.routed_total,
        routed_by_config_version=arm.routed_by_config_version, feedback_count=arm.feedback_count,
        labelled_count=arm.accuracy.n, correct_count=arm.accuracy.successes, accuracy=_round(arm.accuracy.rate),
        accuracy_ci=[_round(value) for value in accuracy_ci.as_list()] if accuracy_ci else None,
        reward_count=arm.reward.n, mean_reward=_round(arm.reward.mean),
        mean_reward_ci=[_round(value) for value in reward_ci.as_list()] if reward_ci else None,
        confusion_matrix=arm.confusion, mean_confidence=arm.mean_confidence, mean_latency=_round(arm.latency.mean),
        p95_latency=arm.p95_latency, calibration=_calibration_out(arm),
    )  # fmt: skip


def _calibration_out(arm: ArmData) -> CalibrationOut:
    result = calibration(arm.calibration_bins)
    return CalibrationOut(
        labelled=result.labelled,
        expected_calibration_error=_round(result.expected_calibration_error, 4),
        bins=[
            ReliabilityBinOut(
                confidence_range=[row.low, row.high], labelled=row.labelled,
                mean_confidence=round(row.mean_confidence, 4), accuracy=round(row.accuracy, 4),
                accuracy_ci=[round(value, 4) for value in row.accuracy_ci],
            )
            for row in result.bins
        ],
    )  # fmt: skip


def _round(value: float | None, digits: int = 6) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return round(float(value), digits)
