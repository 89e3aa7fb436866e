"""Experiment statistics: plain numbers in, plain numbers out. No I/O, no Flask.

Shaped like GrowthBook's gbstats: each arm is its sufficient statistics (a count of successes,
or a count, sum and sum of squares), and every comparison answers the same dataclass: the
difference, the relative lift, a fixed-horizon 95% interval and p-value, and the always-valid
(sequential) interval and p-value of `sequential.py`. Distributions and tests come from scipy.

- Accuracy: Wilson interval per arm; two-proportion z-test between arms (pooled variance for the
  p-value, unpooled for the interval of the difference, as is standard).
- Means (reward, latency): Welch's t-test from summary statistics.
- Sample ratio mismatch: chi-squared goodness of fit of routed counts against the split;
  GrowthBook's rule, a mismatch is p < 0.001 with at least 8 expected per arm.
- Power: labelled predictions per arm for a two-sided two-proportion test.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from . import sequential

ALPHA = 0.05
SRM_ALPHA = 0.001
SRM_MIN_EXPECTED = 8


@dataclass(frozen=True)
class Proportion:
    """One arm of a yes/no metric: `successes` of `n` (correct predictions of labelled ones)."""

    n: int
    successes: int

    @property
    def rate(self) -> float | None:
        return self.successes / self.n if self.n else None


@dataclass(frozen=True)
class Moments:
    """One arm of a numeric metric: count, sum and sum of squares of the observations."""

    n: int
    total: float
    total_squares: float

    @property
    def mean(self) -> float | None:
        return self.total / self.n if self.n else None

    @property
    def variance(self) -> float | None:
        """Sample variance (n - 1 in the denominator)."""
        if self.n < 2:
            return None
        return max(self.total_squares - self.total**2 / self.n, 0.0) / (self.n - 1)


@dataclass(frozen=True)
class Interval:
    low: float
    high: float

    def as_list(self) -> list[float]:
        return [self.low, self.high]


@dataclass(frozen=True)
class Comparison:
    """A challenger against the baseline on one metric (challenger minus baseline)."""

    baseline: float
    challenger: float
    difference: float
    relative_lift: float | None
    ci: Interval
    p_value: float
    sequential_ci: Interval
    sequential_p_value: float
    variance: float = 0.0  # of the difference, as the sequence uses it
    total_n: int = 0  # observations behind it, both arms

    def significant(self, alpha: float = ALPHA) -> bool:
        """Whether the always-valid test rejects "no difference" at this level."""
        return self.sequential_p_value < alpha


@dataclass(frozen=True)
class SampleRatio:
    observed: list[int]
    expected: list[float]
    p_value: float | None
    mismatch: bool


@dataclass(frozen=True)
class Power:
    needed_per_arm: int
    baseline_rate: float
    mde: float


def wilson_interval(successes: int, n: int, alpha: float = ALPHA) -> Interval | None:
    """Wilson score interval for a proportion; None with no observations."""
    if n == 0:
        return None
    z = float(stats.norm.ppf(1 - alpha / 2))
    rate = successes / n
    centre = (rate + z**2 / (2 * n)) / (1 + z**2 / n)
    spread = z / (1 + z**2 / n) * math.sqrt(rate * (1 - rate) / n + z**2 / (4 * n**2))
    return Interval(max(centre - spread, 0.0), min(centre + spread, 1.0))


def mean_interval(arm: Moments, alpha: float = ALPHA) -> Interval | None:
    """Student-t interval for a mean; None with fewer than two observations."""
    if arm.variance is None:
        return None
    spread = float(stats.t.ppf(1 - alpha / 2, arm.n - 1)) * math.sqrt(arm.variance / arm.n)
    return Interval(arm.mean - spread, arm.mean + spread)


def two_proportion_z(n_a, k_a, n_b, k_b):
    """Vectorized: (difference b - a, unpooled variance of it, two-sided pooled z-test p-value)."""
    n_a, k_a, n_b, k_b = (np.asarray(value, float) for value in (n_a, k_a, n_b, k_b))
    rate_a, rate_b = k_a / n_a, k_b / n_b
    pooled = (k_a + k_b) / (n_a + n_b)
    pooled_se = np.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b))
    difference = rate_b - rate_a
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(pooled_se > 0, difference / pooled_se, 0.0)
    variance = rate_a * (1 - rate_a) / n_a + rate_b * (1 - rate_b) / n_b
    return difference, variance, 2 * stats.norm.sf(np.abs(z))


def compare_proportions(
    baseline: Proportion, challenger: Proportion, target_n: float = sequential.DEFAULT_TARGET_N
) -> Comparison | None:
    """Two-proportion z-test and confidence sequence; None until each arm has an observation."""
    if baseline.n == 0 or challenger.n == 0:
        return None
    difference, variance, p = two_proportion_z(baseline.n, baseline.successes, challenger.n, challenger.successes)
    z = float(stats.norm.ppf(1 - ALPHA / 2))
    return _comparison(
        baseline.rate, challenger.rate, float(difference), float(variance), z, float(p), baseline.n + challenger.n,
        target_n,
    )  # fmt: skip


def compare_means(
    baseline: Moments, challenger: Moments, target_n: float = sequential.DEFAULT_TARGET_N
) -> Comparison | None:
    """Welch's t-test from summary statistics, and the confidence sequence; None below two per arm."""
    if baseline.variance is None or challenger.variance is None:
        return None
    welch = stats.ttest_ind_from_stats(
        challenger.mean, math.sqrt(challenger.variance), challenger.n,
        baseline.mean, math.sqrt(baseline.variance), baseline.n, equal_var=False,
    )  # fmt: skip
    variance = baseline.variance / baseline.n + challenger.variance / challenger.n
    p = float(welch.pvalue) if math.isfinite(welch.pvalue) else 1.0
    # Welch-Satterthwaite degrees of freedom, for the interval that matches the test.
    dof = variance**2 / (
        (baseline.variance / baseline.n) ** 2 / (baseline.n - 1)
        + (challenger.variance / challenger.n) ** 2 / (challenger.n - 1)
        or math.inf
    )
    critical = float(stats.t.ppf(1 - ALPHA / 2, dof)) if variance > 0 else 0.0
    difference = challenger.mean - baseline.mean
    return _comparison(
        baseline.mean, challenger.mean, difference, variance, critical, p, baseline.n + challenger.n, target_n
    )


def _comparison(
    baseline: float, challenger: float, difference: float, variance: float, critical: float, p: float,
    total_n: int, target_n: float,
) -> Comparison:  # fmt: skip
    spread = critical * math.sqrt(variance)
    sequential_spread = float(sequential.half_width(variance, total_n, ALPHA, target_n))
    sequential_p = float(sequential.p_value(difference, variance, total_n, target_n))
    return Comparison(
        baseline=baseline,
        challenger=challenger,
        difference=difference,
        relative_lift=difference / baseline if baseline else None,
        ci=Interval(difference - spread, difference + spread),
        p_value=p,
        sequential_ci=Interval(difference - sequential_spread, difference + sequential_spread),
        sequential_p_value=sequential_p,
        variance=variance,
        total_n=total_n,
    )


def sample_ratio_mismatch(observed: Sequence[int], weights: Sequence[float]) -> SampleRatio:
    """Chi-squared goodness of fit of routed counts against the configured weights (any scale)."""
    total, weight_sum = sum(observed), sum(weights)
    expected = [total * weight / weight_sum for weight in weights] if weight_sum else [0.0] * len(weights)
    if len(observed) < 2 or total == 0 or min(expected) <= 0:
        return SampleRatio(list(observed), expected, None, False)
    p = float(stats.chisquare(observed, expected).pvalue)
    return SampleRatio(list(observed), expected, p, p < SRM_ALPHA and min(expected) >= SRM_MIN_EXPECTED)


def sample_size_per_arm(baseline_rate: float, mde: float, alpha: float = ALPHA, power: float = 0.8) -> Power:
    """Labelled predictions per arm to detect `baseline_rate + mde` (two-sided, normal approximation)."""
    challenger_rate = min(baseline_rate + mde, 1.0) if baseline_rate + mde <= 1 else baseline_rate - mde
    z_alpha, z_power = stats.norm.ppf(1 - alpha / 2), stats.norm.ppf(power)
    pooled = (baseline_rate + challenger_rate) / 2
    numerator = z_alpha * math.sqrt(2 * pooled * (1 - pooled)) + z_power * math.sqrt(
        baseline_rate * (1 - baseline_rate) + challenger_rate * (1 - challenger_rate)
    )
    return Power(math.ceil((numerator / mde) ** 2), baseline_rate, mde)
