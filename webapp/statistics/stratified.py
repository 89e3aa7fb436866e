"""Arm differences corrected for a changing allocation: stratified by allocation epoch. Pure: no I/O.

A split change (a ramp's step, a bandit's update) changes the arms' shares, so their pooled totals
mix epochs in different proportions: an arm that got most of its traffic while the traffic was easy
looks better than it is (Simpson's paradox). Within one epoch (a run of routing-config versions with
one split) every arm draws from the same traffic, so the per-epoch difference is fair. The epochs'
differences are combined with Cochran-Mantel-Haenszel weights, w = n_a n_b / (n_a + n_b): the inverse
of the difference's variance under equal per-observation variances, but free of the estimated
variances, which are unstable (zero at 0% or 100%) in small epochs. The variance of the combination
is sum(w^2 v) / (sum w)^2 with each epoch's own v = var_a/n_a + var_b/n_b. With one epoch this is
the plain two-sample difference. An epoch where either arm has fewer than two observations is skipped.

The bandit needs one rate per arm rather than differences: `standardized_rates` reweights every arm
to the same mix of epochs (each epoch weighted by its share of all the arms' observations, as
GrowthBook's bandits weight by period), with Kish's effective sample size for its posterior.

Everything is vectorized over a leading axis, so simulations run many experiments at once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from . import sequential
from .frequentist import ALPHA, Comparison, Interval, Moments, Proportion, _comparison

METHOD = (
    "stratified by allocation epoch (runs of routing-config versions with one split): per-epoch differences "
    "combined with Cochran-Mantel-Haenszel weights n_a*n_b/(n_a+n_b), normal 95% interval; pooled totals are "
    "biased when the weights and the traffic both change over time"
)
MIN_PER_ARM_IN_EPOCH = 2


@dataclass(frozen=True)
class Sample:
    """One arm in one epoch: count, mean and variance per observation; `binary` for a yes/no metric."""

    n: int
    mean: float
    variance: float
    binary: bool = False

    @classmethod
    def of_proportion(cls, proportion: Proportion) -> Sample:
        rate = proportion.successes / proportion.n if proportion.n else 0.0
        return cls(proportion.n, rate, rate * (1 - rate), True)

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


@dataclass(frozen=True)
class StratifiedComparison:
    """The comparison of `frequentist.py`, from the strata, with the observations behind each side."""

    comparison: Comparison
    baseline_n: int
    challenger_n: int
    epochs_used: int


Epochs = Sequence[Mapping[str, Sample]]  # per epoch: arm -> its sample in that epoch


def combine(n_a, mean_a, var_a, n_b, mean_b, var_b, binary: bool = False) -> dict[str, np.ndarray]:
    """Vectorized over the last axis (epochs): the CMH-weighted difference b - a and its variances.

    Answers `difference`, `variance` (unpooled, for intervals), `null_variance` (for the p-value:
    each epoch's pooled rate when `binary`, as the pooled two-proportion z-test), `baseline` (the
    baseline's mean over the same weights), `n_a`, `n_b` and `epochs` (used). NaN where no epoch has both.
    """
    n_a, mean_a, var_a, n_b, mean_b, var_b = (np.asarray(x, float) for x in (n_a, mean_a, var_a, n_b, mean_b, var_b))
    used = (n_a >= MIN_PER_ARM_IN_EPOCH) & (n_b >= MIN_PER_ARM_IN_EPOCH)
    with np.errstate(divide="ignore", invalid="ignore"):
        w = np.where(used, n_a * n_b / (n_a + n_b), 0.0)
        inverse = np.where(used, 1 / n_a + 1 / n_b, 0.0)
        v = np.where(used, var_a / n_a + var_b / n_b, 0.0)
        pooled = (n_a * mean_a + n_b * mean_b) / (n_a + n_b)
        v0 = np.where(used, pooled * (1 - pooled) * inverse, 0.0) if binary else v
        total = w.sum(axis=-1)
        total = np.where(total > 0, total, np.nan)
        difference = (w * np.where(used, mean_b - mean_a, 0.0)).sum(axis=-1) / total
        return {
            "difference": difference,
            "variance": (w * w * v).sum(axis=-1) / total**2,
            "null_variance": (w * w * v0).sum(axis=-1) / total**2,
            "baseline": (w * np.where(used, mean_a, 0.0)).sum(axis=-1) / total,
            "n_a": np.where(used, n_a, 0).sum(axis=-1),
            "n_b": np.where(used, n_b, 0).sum(axis=-1),
            "epochs": used.sum(axis=-1),
        }


def _columns(epochs: Epochs, baseline: str, challenger: str) -> tuple[list[float], ...]:
    empty = Sample(0, 0.0, 0.0)
    pairs = [(epoch.get(baseline, empty), epoch.get(challenger, empty)) for epoch in epochs]
    return tuple(
        [getattr(pair[side], field) for pair in pairs] for side in (0, 1) for field in ("n", "mean", "variance")
    )


def _binary(epochs: Epochs) -> bool:
    return any(sample.binary for epoch in epochs for sample in epoch.values())


def compare_stratified(
    epochs: Epochs, baseline: str, challenger: str, target_n: float = sequential.DEFAULT_TARGET_N
) -> StratifiedComparison | None:
    """Challenger against baseline from the strata, fixed-horizon and sequential; None without a shared epoch."""
    found = combine(*_columns(epochs, baseline, challenger), binary=_binary(epochs))
    if not found["epochs"]:
        return None
    difference, variance, null_variance = (float(found[key]) for key in ("difference", "variance", "null_variance"))
    z = float(stats.norm.ppf(1 - ALPHA / 2))
    p = float(2 * stats.norm.sf(abs(difference) / null_variance**0.5)) if null_variance > 0 else 1.0
    n_a, n_b = int(found["n_a"]), int(found["n_b"])
    base = float(found["baseline"])
    result = _comparison(base, base + difference, difference, variance, z, p, n_a + n_b, target_n)
    return StratifiedComparison(result, n_a, n_b, int(found["epochs"]))


def stratified_difference(
    epochs: Epochs, baseline: str, challenger: str, alpha: float = ALPHA
) -> StratifiedDifference | None:
    """The allocation-corrected difference of two arms with a normal interval; None when no epoch has both."""
    columns = _columns(epochs, baseline, challenger)
    found = combine(*columns)
    if not found["epochs"]:
        return None
    difference, error = float(found["difference"]), float(found["variance"]) ** 0.5
    z = float(stats.norm.ppf(1 - alpha / 2))
    n_a, mean_a, _, n_b, mean_b, _ = (np.asarray(column, float) for column in columns)
    used = (n_a >= MIN_PER_ARM_IN_EPOCH) & (n_b >= MIN_PER_ARM_IN_EPOCH)
    pooled = (n_b * mean_b)[used].sum() / n_b[used].sum() - (n_a * mean_a)[used].sum() / n_a[used].sum()
    return StratifiedDifference(
        difference=difference,
        ci=Interval(difference - z * error, difference + z * error),
        standard_error=error,
        pooled=float(pooled),
        epochs_used=int(found["epochs"]),
        epochs_skipped=len(epochs) - int(found["epochs"]),
        observations=int(found["n_a"] + found["n_b"]),
    )


def standardized_rates(epochs: Epochs, arms: Sequence[str]) -> list[tuple[float, float]] | None:
    """Per arm (mean, effective n), every arm reweighted to the same mix of epochs; None without a shared epoch.

    Only epochs where every arm has an observation count. Epoch p weighs w_p = N_p / N (its share of
    all the arms' observations in those epochs); an arm's mean is sum(w_p mean_p) and its effective
    n is 1 / sum(w_p^2 / n_p) (Kish), which is its own count when its share stayed the same.
    """
    shared = [epoch for epoch in epochs if all(arm in epoch and epoch[arm].n > 0 for arm in arms)]
    if not shared:
        return None
    n = np.array([[epoch[arm].n for arm in arms] for epoch in shared], float)
    mean = np.array([[epoch[arm].mean for arm in arms] for epoch in shared], float)
    weight = n.sum(axis=1) / n.sum()
    rates = (weight[:, None] * mean).sum(axis=0)
    effective = 1 / (weight[:, None] ** 2 / n).sum(axis=0)
    return [(float(r), float(e)) for r, e in zip(rates, effective, strict=True)]
