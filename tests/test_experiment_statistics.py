"""The experiment statistics against published values, scipy's own tests, and simulation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from webapp.statistics import sequential
from webapp.statistics.frequentist import (
    Moments,
    Proportion,
    compare_means,
    compare_proportions,
    mean_interval,
    sample_ratio_mismatch,
    sample_size_per_arm,
    two_proportion_z,
    wilson_interval,
)


def test_wilson_interval_matches_newcombe_1998():
    # Newcombe (1998), Statistics in Medicine 17:857, table I, method 3 (score, no continuity correction).
    interval = wilson_interval(81, 263)
    assert (round(interval.low, 4), round(interval.high, 4)) == (0.2553, 0.3662)
    interval = wilson_interval(15, 148)
    assert (round(interval.low, 4), round(interval.high, 4)) == (0.0624, 0.1605)


def test_wilson_interval_matches_scipy_and_stays_inside_zero_one():
    for successes, n in [(0, 10), (10, 10), (3, 7), (530, 1000)]:
        reference = stats.binomtest(successes, n).proportion_ci(method="wilson")
        interval = wilson_interval(successes, n)
        assert interval.low == pytest.approx(reference.low, abs=1e-12)
        assert interval.high == pytest.approx(reference.high, abs=1e-12)
    assert wilson_interval(0, 0) is None


def test_two_proportion_z_test_p_value_equals_the_uncorrected_chi_squared_test():
    # A pooled two-proportion z-test is the 2x2 chi-squared test without Yates' correction: z^2 = chi^2.
    result = compare_proportions(Proportion(1000, 530), Proportion(1000, 590))
    table = [[530, 470], [590, 410]]
    reference = stats.chi2_contingency(table, correction=False).pvalue
    assert result.p_value == pytest.approx(reference, rel=1e-9)
    assert result.difference == pytest.approx(0.06)
    assert result.relative_lift == pytest.approx(0.06 / 0.53)


def test_difference_interval_uses_the_unpooled_standard_error():
    result = compare_proportions(Proportion(1000, 530), Proportion(1000, 590))
    se = math.sqrt(0.53 * 0.47 / 1000 + 0.59 * 0.41 / 1000)
    assert result.ci.low == pytest.approx(0.06 - 1.959964 * se, abs=1e-6)
    assert result.ci.high == pytest.approx(0.06 + 1.959964 * se, abs=1e-6)


def test_welch_from_moments_matches_scipy_on_the_raw_observations():
    rng = np.random.default_rng(7)
    fast, slow = rng.gamma(2.0, 0.2, 400), rng.gamma(2.0, 0.25, 300)
    result = compare_means(_moments(fast), _moments(slow))
    reference = stats.ttest_ind(slow, fast, equal_var=False)
    assert result.p_value == pytest.approx(reference.pvalue, rel=1e-6)
    assert result.difference == pytest.approx(slow.mean() - fast.mean())
    low, high = reference.confidence_interval(0.95)
    assert (result.ci.low, result.ci.high) == pytest.approx((low, high), rel=1e-6)


def test_mean_interval_matches_scipy_t_interval():
    values = np.array([0.0, 1.0, 1.0, 0.5, 1.0, 0.0, 1.0])
    interval = mean_interval(_moments(values))
    low, high = stats.t.interval(0.95, len(values) - 1, values.mean(), stats.sem(values))
    assert (interval.low, interval.high) == pytest.approx((low, high))


def test_srm_flags_5250_to_4750_at_an_even_split():
    result = sample_ratio_mismatch([5250, 4750], [50, 50])
    assert result.mismatch
    assert result.p_value == pytest.approx(stats.chi2.sf(25, 1))
    assert result.expected == [5000, 5000]


def test_srm_passes_5050_to_4950_at_an_even_split():
    result = sample_ratio_mismatch([5050, 4950], [50, 50])
    assert not result.mismatch
    assert result.p_value == pytest.approx(0.3173, abs=1e-4)


def test_srm_needs_eight_expected_per_arm_before_it_calls_a_mismatch():
    assert not sample_ratio_mismatch([15, 0], [1, 1]).mismatch  # p < 0.001 but only 7.5 expected per arm
    assert sample_ratio_mismatch([60, 20], [30, 70]).mismatch  # weights on any scale


def test_sample_size_matches_the_textbook_value_for_half_against_six_tenths():
    # Fleiss, Statistical Methods for Rates and Proportions: 0.5 vs 0.6, alpha 0.05 two-sided, power 0.8 -> 388.
    assert sample_size_per_arm(0.5, 0.1).needed_per_arm == 388


def test_sample_size_gives_eighty_percent_power_by_simulation():
    needed = sample_size_per_arm(0.53, 0.05).needed_per_arm
    rng = np.random.default_rng(11)
    runs = 4000
    _, _, p = two_proportion_z(needed, rng.binomial(needed, 0.53, runs), needed, rng.binomial(needed, 0.58, runs))
    assert 0.77 <= np.mean(p < 0.05) <= 0.83


def _looks(rng, runs, looks, per_look, rate_a, rate_b):
    """Cumulative (n, successes) per arm at every look: arrays of shape (runs, looks)."""
    new = rng.binomial(per_look, [rate_a, rate_b], size=(runs, looks, 2))
    successes = new.cumsum(axis=1)
    n = per_look * np.arange(1, looks + 1)
    return n, successes[..., 0], successes[..., 1]


def _fixed_and_sequential_p(n, wins_a, wins_b):
    difference, variance, fixed_p = two_proportion_z(n, wins_a, n, wins_b)
    return difference, fixed_p, sequential.p_value(difference, variance, 2 * n)


def test_a_a_peeking_inflates_fixed_horizon_false_positives_but_not_sequential_ones():
    rng = np.random.default_rng(2026)
    n, wins_a, wins_b = _looks(rng, runs=500, looks=20, per_look=150, rate_a=0.55, rate_b=0.55)
    _, fixed_p, sequential_p = _fixed_and_sequential_p(n, wins_a, wins_b)
    fixed_false_winners = np.mean((fixed_p < 0.05).any(axis=1))
    sequential_false_winners = np.mean((sequential_p < 0.05).any(axis=1))
    assert fixed_false_winners > 0.15  # "far more than 5%": about a quarter of A/A tests
    assert np.mean(fixed_p[:, -1] < 0.05) < 0.08  # one look at the horizon alone is fine
    assert sequential_false_winners <= 0.05


def test_a_b_sequential_decision_finds_the_better_arm_within_3000_labels_per_arm():
    rng = np.random.default_rng(59)
    n, wins_a, wins_b = _looks(rng, runs=200, looks=20, per_look=150, rate_a=0.53, rate_b=0.59)
    difference, _, sequential_p = _fixed_and_sequential_p(n, wins_a, wins_b)
    found = ((sequential_p < 0.05) & (difference > 0)).any(axis=1)
    wrong = ((sequential_p < 0.05) & (difference < 0)).any(axis=1)
    assert np.mean(found) >= 0.80
    assert not wrong.any()


def test_sequential_interval_costs_about_one_and_a_half_times_the_fixed_width():
    target = sequential.DEFAULT_TARGET_N
    result = compare_proportions(Proportion(target // 2, 1325), Proportion(target // 2, 1475))
    ratio = (result.sequential_ci.high - result.sequential_ci.low) / (result.ci.high - result.ci.low)
    assert 1.45 <= ratio <= 1.65
    for n in (200, 1000, 20000, 200000):  # never narrower than the fixed interval, anywhere
        wider = sequential.half_width(0.25 / n, n) / (1.959964 * math.sqrt(0.25 / n))
        assert wider > 1.0


def test_sequential_p_value_is_below_alpha_exactly_when_its_interval_excludes_zero():
    for successes in range(1200, 1500, 7):
        result = compare_proportions(Proportion(2500, 1325), Proportion(2500, successes))
        excludes_zero = result.sequential_ci.low > 0 or result.sequential_ci.high < 0
        assert (result.sequential_p_value < 0.05) == excludes_zero


def test_comparisons_wait_for_data():
    assert compare_proportions(Proportion(0, 0), Proportion(10, 5)) is None
    assert compare_means(Moments(1, 2.0, 4.0), Moments(10, 5.0, 3.0)) is None


def _moments(values: np.ndarray) -> Moments:
    return Moments(len(values), float(values.sum()), float((values**2).sum()))
