"""The statistics against values others published: confseq, GrowthBook's gbstats, Newcombe (1998), R.

Where our formula differs from theirs on purpose, the test says how, and checks ours against theirs
within the stated difference. Distributions come from scipy.
"""

from __future__ import annotations

import math

import pytest
from scipy import optimize, stats

from webapp.statistics import sequential
from webapp.statistics.frequentist import Moments, compare_means, wilson_interval
from webapp.statistics.paired import mcnemar_p_value

# Howard, Ramdas, McAuliffe, Sekhon, confseq: test/uniform_boundaries_unittest.cpp (values from their
# reference implementation in R). A normal mixture tuned at intrinsic time v = 100 and alpha = 0.05.
CONFSEQ_BEST_RHO = 12.60056
CONFSEQ_TWO_SIDED_BOUND = 30.35209  # bound(100, ln 20): on the running sum S_t at V_t = 100
CONFSEQ_ONE_SIDED_BOUND = 27.66071


def test_our_mixing_width_is_confseqs_best_rho():
    # Our rho is on the standardized scale, confseq's is the mixture's precision: rho_confseq = 1 / rho^2.
    # Both choose it so the boundary is tightest at the target: v / (2 ln(1/alpha) + ln(1 + 2 ln(1/alpha))).
    assert 1 / sequential.mixing_rho(100) ** 2 == pytest.approx(CONFSEQ_BEST_RHO, abs=5e-6)


def test_our_two_sided_boundary_is_confseqs_normal_mixture():
    # Our half-width is on a mean of N observations with variance s^2 each; confseq bounds the sum.
    # With s^2 = 1 and N = 100 (V_t = 100): sum bound = N x half-width, the estimate's variance 1 / N.
    bound = 100 * float(sequential.half_width(1 / 100, 100, alpha=0.05, target_n=100))
    assert bound == pytest.approx(CONFSEQ_TWO_SIDED_BOUND, abs=5e-6)


def one_sided_normal_mixture_bound(v: float, alpha: float, rho: float) -> float:
    """confseq's one-sided mixture (half-normal mixing of precision rho): the s where the mixture reaches 1/alpha."""

    def log_mixture(s: float) -> float:
        spread = v + rho
        return (
            math.log(2) + 0.5 * math.log(rho / spread) + s * s / (2 * spread) + stats.norm.logcdf(s / math.sqrt(spread))
        )

    return optimize.brentq(lambda s: log_mixture(s) - math.log(1 / alpha), 0, 10 * math.sqrt(v) + 100)


def test_our_sequence_is_two_sided_so_it_is_wider_than_confseqs_one_sided_bound_by_9_7_percent():
    # On purpose: a rollout or an experiment must notice a worse version as well as a better one, so we
    # have no one-sided sequence. confseq tunes its one-sided mixture as the two-sided one at 2 alpha.
    rho = 1 / sequential.mixing_rho(100, alpha=0.10) ** 2
    reference = one_sided_normal_mixture_bound(100, 0.05, rho)
    assert reference == pytest.approx(CONFSEQ_ONE_SIDED_BOUND, abs=5e-5)  # their value, reproduced with scipy
    ours = 100 * float(sequential.half_width(1 / 100, 100, alpha=0.05, target_n=100))
    assert ours / CONFSEQ_ONE_SIDED_BOUND - 1 == pytest.approx(0.0973, abs=5e-4)  # the stated difference


# GrowthBook gbstats, packages/stats/tests/frequentist/test_tests.py, TestSequentialTTest: two arms of
# (sum, sum of squares, n); their default difference is relative (lift), with its delta-method
# standard deviation. Ours is the absolute difference: on purpose, since accuracy differences are
# read in points. So the test feeds their lift's standard deviation into our boundary, and checks our
# absolute difference and its standard deviation against their absolute one (TestOneSided..., absolute).
GB_A = Moments(3000, 1396.87, 52377.9767)
GB_B = Moments(3461, 2422.7, 134698.29)


@pytest.mark.parametrize(
    ("lift", "lift_sd", "tuning", "low", "high"),
    [
        (0.50336, 0.3334122146400735, 1000, -0.55844, 1.56516),  # test_sequential_test_runs (means)
        (0.50386, 0.03386, 5000, 0.40098, 0.60675),  # test_sequential_test_runs_prop (1396/3000, 2422/3461)
    ],
)
def test_our_confidence_sequence_matches_gbstats_sequential_test_vectors(lift, lift_sd, tuning, low, high):
    spread = float(sequential.half_width(lift_sd**2, 3000 + 3461, alpha=0.05, target_n=tuning))
    # Their vector is rounded to 5 decimals; lift_sd of the proportion case is itself rounded (0.03386).
    assert (lift - spread, lift + spread) == pytest.approx((low, high), abs=2e-5)


def test_our_absolute_difference_and_its_standard_deviation_match_gbstats():
    result = compare_means(GB_A, GB_B)
    assert result.difference == pytest.approx(0.23437666666666668, rel=1e-12)
    assert math.sqrt(result.variance) == pytest.approx(0.12983081254184736, rel=1e-9)


@pytest.mark.parametrize(("successes", "n", "low", "high"), [(81, 263, 0.2553, 0.3662), (15, 148, 0.0624, 0.1605)])
def test_wilson_interval_matches_newcombe_1998(successes, n, low, high):
    # Newcombe (1998), Statistics in Medicine 17:857-872, the score method without continuity correction.
    interval = wilson_interval(successes, n)
    assert (round(interval.low, 4), round(interval.high, 4)) == (low, high)


# R's mcnemar.test example (Agresti 1990, p. 350, presidential approval, 1,600 voters in two surveys):
# matrix(c(794, 86, 150, 570), nrow = 2): discordant pairs 150 (approve -> disapprove) and 86.
# R (correct = TRUE, its default): McNemar's chi-squared = 16.818, df = 1, p-value = 4.115e-05.
# Without the correction (Penn State STAT 504, "McNemar Test in R"): 17.3559, p-value = 3.099e-05.
R_CORRECTED = (16.818, 4.115e-05)
R_UNCORRECTED = (17.3559, 3.099e-05)


def test_mcnemar_reference_values_from_the_discordant_pairs():
    b, c = 150, 86
    corrected = (abs(b - c) - 1) ** 2 / (b + c)
    uncorrected = (b - c) ** 2 / (b + c)
    assert (corrected, stats.chi2.sf(corrected, 1)) == pytest.approx(R_CORRECTED, rel=5e-4)
    assert (uncorrected, stats.chi2.sf(uncorrected, 1)) == pytest.approx(R_UNCORRECTED, rel=5e-4)


def test_our_exact_mcnemar_p_value_lies_between_rs_chi_squared_ones():
    # On purpose we use the exact test (a binomial test of one discordant count out of both), which
    # needs no large-sample approximation; with 236 discordant pairs it agrees with R's to about 10%:
    # 3.716e-05, between the uncorrected 3.099e-05 and the continuity-corrected 4.115e-05.
    ours = mcnemar_p_value(86, 150)
    assert R_UNCORRECTED[1] < ours < R_CORRECTED[1]
    assert ours / R_CORRECTED[1] - 1 == pytest.approx(-0.097, abs=0.005)
