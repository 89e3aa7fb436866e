"""From materialized per-arm numbers to the experiment report and its decision. Pure: no I/O.

A winner needs a significant sequential (always-valid) result at alpha 0.05 on accuracy, or on
mean reward when there are no labels, and no sample ratio mismatch. Latency is compared and
reported, never decisive: a slower but more accurate version can win.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime

from ..statistics import frequentist as st
from .schemas import ArmOut, ComparisonOut, DecisionOut, Experiment, PowerOut, SrmOut

MIN_LABELLED_PER_ARM = 30


@dataclass(frozen=True)
class ArmData:
    """One version's materialized numbers."""

    model_id: str
    version: str
    activated_at: datetime | None
    percent: float  # its weight in the current epoch's split
    request_count: int
    routed_in_epoch: int
    srm_units: int  # sticky users plus random requests in the current epoch
    feedback_count: int
    accuracy: st.Proportion
    reward: st.Moments
    latency: st.Moments
    mean_confidence: float | None = None
    p95_latency: float | None = None
    confusion: dict[str, dict[str, int]] = field(default_factory=dict)
    routed_by_config_version: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class ExperimentData:
    model_name: str
    arms: list[ArmData]  # the versions in the current epoch's split
    epoch: tuple[int, int] | None
    feedback_per_hour: float | None
    refreshed_at: datetime | None


def analyze(data: ExperimentData, baseline: str | None, mde: float, target_n: int) -> Experiment:
    """The report for one model name; `baseline` must be an arm's version when given (checked by the caller)."""
    arms = [arm for arm in data.arms if arm.routed_in_epoch > 0]
    chosen = _baseline(arms, baseline)
    challengers = [arm for arm in arms if chosen is not None and arm is not chosen]
    comparisons = [c for arm in challengers for c in _compare(chosen, arm, target_n)]
    srm = _srm(data)
    power = _power(arms, chosen, mde, data.feedback_per_hour)
    return Experiment(
        model_name=data.model_name,
        arms=[_arm_out(arm) for arm in arms],
        baseline=chosen.version if chosen else None,
        comparisons=comparisons,
        srm=srm,
        power=power,
        decision=decide(arms, chosen, comparisons, srm),
        refreshed_at=data.refreshed_at,
    )


def baseline_versions(data: ExperimentData) -> list[str]:
    """The versions that can be the baseline: the arms with routed traffic in the current epoch."""
    return [arm.version for arm in data.arms if arm.routed_in_epoch > 0]


def _baseline(arms: list[ArmData], version: str | None) -> ArmData | None:
    if version is not None:
        return next(arm for arm in arms if arm.version == version)
    ordered = sorted(arms, key=lambda arm: (arm.activated_at is None, arm.activated_at or datetime.max, arm.version))
    return ordered[0] if ordered else None


def _compare(baseline: ArmData, arm: ArmData, target_n: int) -> list[ComparisonOut]:
    results = [
        ("accuracy", st.compare_proportions(baseline.accuracy, arm.accuracy, target_n)),
        ("mean_reward", st.compare_means(baseline.reward, arm.reward, target_n)),
        ("latency", st.compare_means(baseline.latency, arm.latency, target_n)),
    ]
    return [_comparison_out(metric, baseline, arm, result) for metric, result in results if result is not None]


def _comparison_out(metric: str, baseline: ArmData, arm: ArmData, result: st.Comparison) -> ComparisonOut:
    return ComparisonOut(
        model_version=arm.version,
        baseline_version=baseline.version,
        metric=metric,
        baseline_value=_round(result.baseline),
        value=_round(result.challenger),
        difference=_round(result.difference),
        relative_lift=_round(result.relative_lift),
        ci=[_round(value) for value in result.ci.as_list()],
        p_value=_round(result.p_value, 8),
        sequential_ci=[_round(value) for value in result.sequential_ci.as_list()],
        sequential_p_value=_round(result.sequential_p_value, 8),
        significant=result.significant(),
    )


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
        model_version=arm.version,
        model_id=arm.model_id,
        traffic_percent=arm.percent,
        request_count=arm.request_count,
        routed_in_epoch=arm.routed_in_epoch,
        routed_by_config_version=arm.routed_by_config_version,
        feedback_count=arm.feedback_count,
        labelled_count=arm.accuracy.n,
        correct_count=arm.accuracy.successes,
        accuracy=_round(arm.accuracy.rate),
        accuracy_ci=[_round(value) for value in accuracy_ci.as_list()] if accuracy_ci else None,
        reward_count=arm.reward.n,
        mean_reward=_round(arm.reward.mean),
        mean_reward_ci=[_round(value) for value in reward_ci.as_list()] if reward_ci else None,
        confusion_matrix=arm.confusion,
        mean_confidence=arm.mean_confidence,
        mean_latency=_round(arm.latency.mean),
        p95_latency=arm.p95_latency,
    )


def decide(arms: list[ArmData], baseline: ArmData | None, comparisons: list[ComparisonOut], srm: SrmOut) -> DecisionOut:
    """The call, with the numbers behind it in one sentence."""
    if baseline is None or len(arms) < 2:
        return _no_call(
            "insufficient_data", None, "an experiment needs two versions with routed traffic in the current epoch"
        )
    if srm.mismatch:
        counts = ", ".join(f"{v}: {srm.observed[v]} observed vs {srm.expected[v]:g} expected" for v in srm.observed)
        return _no_call(
            "srm",
            None,
            f"sample ratio mismatch (p = {srm.p_value:.2g}; {counts}): results cannot be trusted",
        )
    metric, size = ("accuracy", lambda arm: arm.accuracy.n)
    if all(arm.accuracy.n == 0 for arm in arms):
        metric, size = ("mean_reward", lambda arm: arm.reward.n)
    short = [arm for arm in arms if size(arm) < MIN_LABELLED_PER_ARM]
    if short:
        have = ", ".join(f"{arm.version}: {size(arm)}" for arm in arms)
        noun = "labelled predictions" if metric == "accuracy" else "rewards"
        return _no_call(
            "insufficient_data", metric, f"waiting for {MIN_LABELLED_PER_ARM} {noun} per version (have {have})"
        )
    return _call(metric, baseline, [c for c in comparisons if c.metric == metric])


def _call(metric: str, baseline: ArmData, comparisons: list[ComparisonOut]) -> DecisionOut:
    better = [c for c in comparisons if c.significant and c.difference > 0]
    if better:
        best = max(better, key=lambda c: c.value)
        return DecisionOut(winner=best.model_version, status="winner", metric=metric, reason=_sentence(best, "beats"))
    if comparisons and all(c.significant and c.difference < 0 for c in comparisons):
        closest = max(comparisons, key=lambda c: c.value)
        reason = f"baseline {baseline.version} wins: " + _sentence(closest, "trails")
        return DecisionOut(winner=baseline.version, status="winner", metric=metric, reason=reason)
    if not comparisons:
        return _no_call("insufficient_data", metric, f"no {metric} comparison is possible yet")
    nearest = min(comparisons, key=lambda c: c.sequential_p_value)
    return _no_call("no_difference_yet", metric, "no significant difference yet: " + _sentence(nearest, "vs"))


def _sentence(c: ComparisonOut, verb: str) -> str:
    low, high = c.sequential_ci
    return (
        f"{c.model_version} {verb} {c.baseline_version} on {c.metric}, {c.value:.4f} vs {c.baseline_value:.4f} "
        f"({c.difference:+.4f}, 95% confidence sequence [{low:+.4f}, {high:+.4f}], always-valid p = "
        f"{c.sequential_p_value:.2g})"
    )


def _no_call(status: str, metric: str | None, reason: str) -> DecisionOut:
    return DecisionOut(winner=None, status=status, metric=metric, reason=reason)


def _round(value: float | None, digits: int = 6) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return round(float(value), digits)
