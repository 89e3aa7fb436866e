"""Arm differences corrected for a changing allocation: stratified by allocation epoch. Pure: no I/O.

A bandit moves the weights at every update, so the arms' pooled totals mix epochs in different
proportions: an arm that got most of its traffic while the traffic was easy looks better than it
is (Simpson's paradox). Within one epoch (one routing-config version) every arm draws from the same
traffic, so the per-epoch difference is fair. The epochs' differences are combined with
Cochran-Mantel-Haenszel weights, w = n_a n_b / (n_a + n_b): the inverse of the difference's
variance under equal per-observation variances, but free of the estimated variances, which are
unstable (zero at 0% or 100%) in the small epochs a bandit makes. The variance of the combination
is sum(w^2 v) / (sum w)^2 with each epoch's own v = var_a/n_a + var_b/n_b, and the interval is
normal (scipy's quantile). An epoch where either arm has fewer than two observations is skipped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from scipy import stats

from .frequentist import ALPHA, Interval, Moments, Proportion

METHOD = (
    "stratified by allocation epoch (routing-config version): per-epoch differences combined with "
    "Cochran-Mantel-Haenszel weights n_a*n_b/(n_a+n_b), normal 95% interval; pooled totals are biased "
    "when the weights and the traffic both change over time"
)
MIN_PER_ARM_IN_EPOCH = 2


@dataclass(frozen=True)
class Sample:
    """One arm in one epoch: count, mean and variance per observation."""

    n: int
    mean: float
    variance: float

    @classmethod
    def of_proportion(cls, proportion: Proportion) -> Sample:
        rate = proportion.successes / proportion.n if proportion.n else 0.0
        return cls(proportion.n, rate, rate * (1 - rate))

    @classmethod
    def of_moments(cls, moments: Moments) -> Sample:
        return cls(moments.n, moments.mean or 0.0, moments.variance or 0.0)


@dataclass(frozen=True)
class StratifiedDifference:
    """Challenger minus baseline, corrected for the allocation; `pooled` is the uncorrected difference."""

    difference: float
    ci: Interval
    standard_error: float
    pooled: float
    epochs_used: int
    epochs_skipped: int
    observations: int


Epochs = Sequence[Mapping[str, Sample]]  # per epoch: arm -> its sample in that epoch


def stratified_difference(
    epochs: Epochs, baseline: str, challenger: str, alpha: float = ALPHA
) -> StratifiedDifference | None:
    """The allocation-corrected difference of two arms; None when no epoch has both."""
    usable = [(e[baseline], e[challenger]) for e in epochs if _has(e, baseline) and _has(e, challenger)]
    if not usable:
        return None
    weights = [a.n * b.n / (a.n + b.n) for a, b in usable]
    total = sum(weights)
    difference = sum(w * (b.mean - a.mean) for w, (a, b) in zip(weights, usable, strict=True)) / total
    variance = sum(w * w * (a.variance / a.n + b.variance / b.n) for w, (a, b) in zip(weights, usable, strict=True))
    error = variance**0.5 / total
    z = float(stats.norm.ppf(1 - alpha / 2))
    return StratifiedDifference(
        difference=difference,
        ci=Interval(difference - z * error, difference + z * error),
        standard_error=error,
        pooled=_pooled_mean(usable, 1) - _pooled_mean(usable, 0),
        epochs_used=len(usable),
        epochs_skipped=len(epochs) - len(usable),
        observations=sum(a.n + b.n for a, b in usable),
    )


def _has(epoch: Mapping[str, Sample], arm: str) -> bool:
    sample = epoch.get(arm)
    return sample is not None and sample.n >= MIN_PER_ARM_IN_EPOCH


def _pooled_mean(pairs: list[tuple[Sample, Sample]], side: int) -> float:
    samples = [pair[side] for pair in pairs]
    return sum(s.n * s.mean for s in samples) / sum(s.n for s in samples)
