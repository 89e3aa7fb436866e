"""Several challengers against one baseline: the comparisons corrected for multiplicity. Pure: no I/O.

With m challengers, m tests at 5% each would name a false winner far more often than 5% of the
time. Holm's step-down procedure (Holm 1979) keeps the chance of any false call at most alpha
whatever the dependence between the tests: sort the p-values, multiply the k-th smallest by
(m - k + 1), make the results non-decreasing and cap them at 1. It is valid with any valid
p-values, so also with always-valid ones, at every look. Holm adjusts p-values, not intervals:
the intervals shown beside them are Bonferroni's, each confidence sequence at alpha / m, which
cover all the differences at once with probability at least 1 - alpha.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from . import sequential
from .frequentist import ALPHA, Comparison, Interval

METHOD = "holm"
DESCRIPTION = (
    "Holm's step-down correction of the always-valid p-values across the challengers compared with the baseline "
    "(family-wise error at most 0.05); adjusted_sequential_ci is each confidence sequence at 0.05 / m (Bonferroni)"
)


@dataclass(frozen=True)
class Adjusted:
    p_value: float
    sequential_ci: Interval


def holm(p_values: ArrayLike) -> np.ndarray:
    """Holm-adjusted p-values, in the order given; vectorized over the last axis (the m comparisons)."""
    p = np.asarray(p_values, float)
    m = p.shape[-1]
    if m == 0:
        return p.copy()
    order = np.argsort(p, axis=-1, kind="stable")
    ranked = np.take_along_axis(p, order, axis=-1) * (m - np.arange(m))
    stepped = np.minimum(np.maximum.accumulate(ranked, axis=-1), 1.0)
    adjusted = np.empty_like(p)
    np.put_along_axis(adjusted, order, stepped, axis=-1)
    return adjusted


def adjust(comparisons: Sequence[Comparison], target_n: float = sequential.DEFAULT_TARGET_N) -> list[Adjusted]:
    """Each comparison's Holm-adjusted always-valid p-value and its confidence sequence at alpha / m."""
    m = len(comparisons)
    p_values = holm([c.sequential_p_value for c in comparisons]).tolist()
    adjusted = []
    for comparison, p in zip(comparisons, p_values, strict=True):
        if m == 1:
            adjusted.append(Adjusted(p, comparison.sequential_ci))
            continue
        spread = float(sequential.half_width(comparison.variance, comparison.total_n, ALPHA / m, target_n))
        ci = Interval(comparison.difference - spread, comparison.difference + spread)
        adjusted.append(Adjusted(p, ci))
    return adjusted
