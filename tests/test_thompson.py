"""Thompson-sampling weights: against exact probabilities, and a simulated bandit."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest
from scipy import integrate, stats

from webapp.rollouts.thompson import floored_percents, thompson_weights
from webapp.statistics.thompson import probability_best


def exact_two_arm(s_a: int, n_a: int, s_b: int, n_b: int) -> float:
    """P(rate_a > rate_b) for Beta posteriors, by numerical integration with scipy."""
    a, b = stats.beta(1 + s_a, 1 + n_a - s_a), stats.beta(1 + s_b, 1 + n_b - s_b)
    return integrate.quad(lambda x: a.pdf(x) * b.cdf(x), 0, 1)[0]


@pytest.mark.parametrize(("s_a", "n_a", "s_b", "n_b"), [(55, 100, 50, 100), (30, 40, 60, 100), (5, 10, 5, 10)])
def test_probability_best_matches_the_exact_integral(s_a, n_a, s_b, n_b):
    estimate = probability_best([s_a, s_b], [n_a, n_b], seed=1)
    assert estimate[0] == pytest.approx(exact_two_arm(s_a, n_a, s_b, n_b), abs=0.01)
    assert estimate.sum() == pytest.approx(1)


def test_the_same_seed_gives_the_same_weights():
    assert thompson_weights([50, 60], [100, 100], 1, seed=7) == thompson_weights([50, 60], [100, 100], 1, seed=7)


def test_weights_are_floored_and_sum_to_exactly_100():
    weights = floored_percents([0.0, 0.001, 0.999], floor_percent=1)
    assert sum(weights) == Decimal(100)
    assert min(weights) >= Decimal(1)
    assert all(w == w.quantize(Decimal("0.01")) for w in weights)
    assert floored_percents([1, 1, 1], 1) == [Decimal("33.34"), Decimal("33.33"), Decimal("33.33")]


def test_a_floor_the_arms_cannot_all_have_is_refused():
    with pytest.raises(ValueError, match="cannot hold"):
        floored_percents([1, 1, 1], 40)


def test_simulated_bandit_sends_most_traffic_to_the_best_arm_and_keeps_the_floor():
    rates, floor, per_update = np.array([0.50, 0.55, 0.60]), 1.0, 1000
    rng = np.random.default_rng(2026)
    successes, trials = np.zeros(3), np.zeros(3)
    weights = [Decimal(100) / 3] * 3
    for update in range(30):
        shown = rng.multinomial(per_update, [float(w) / 100 for w in weights])
        successes += rng.binomial(shown, rates)
        trials += shown
        weights = thompson_weights(successes, trials, floor, seed=update)
        assert min(weights) >= Decimal(floor) and sum(weights) == 100
    assert weights[2] >= 70, weights
