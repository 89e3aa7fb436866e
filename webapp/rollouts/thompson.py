"""Thompson-sampling weights for a bandit. Pure: counts in, percents out.

The weight of an arm is the probability that it is the best (`webapp/statistics/thompson.py`), then
floored (no arm below `floor_percent` while the bandit runs, so every arm keeps being measured) and
rounded to hundredths that sum to exactly 100 (largest remainder).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from fractions import Fraction

from ..routing.apportion import largest_remainder
from ..statistics.thompson import probability_best


def floored_percents(shares: Sequence[float], floor_percent: float) -> list[Decimal]:
    """Shares as percents with 2 decimals summing to 100, each at least `floor_percent`."""
    k = len(shares)
    floor = round(floor_percent * 100)
    if floor * k > 10_000:
        raise ValueError(f"a floor of {floor_percent}% cannot hold for {k} arms")
    free = 10_000 - floor * k
    exact = [Fraction(float(share)) for share in shares]
    units = largest_remainder(exact if sum(exact) else [1] * k, free)
    return [Decimal(floor + unit).scaleb(-2) for unit in units]


def thompson_weights(
    successes: Sequence[float], trials: Sequence[float], floor_percent: float, seed: int
) -> list[Decimal]:
    """The bandit's next weights: P(best) per arm, floored and rounded to hundredths summing to 100."""
    return floored_percents(probability_best(successes, trials, seed).tolist(), floor_percent)
