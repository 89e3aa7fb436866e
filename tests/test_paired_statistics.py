"""McNemar's test and the paired comparison of a shadow with its served version: known values and simulation."""

from __future__ import annotations

import numpy as np
import pytest

from webapp.statistics.paired import PairedCounts, compare_paired, mcnemar_p_value


def test_mcnemar_p_value_is_the_exact_binomial_tail_of_the_discordant_pairs():
    # 1 of 10 discordant pairs for the shadow: 2 * P(X <= 1), X ~ Binomial(10, 1/2) = 2 * 11 / 1024.
    assert mcnemar_p_value(1, 9) == pytest.approx(22 / 1024, abs=1e-15)
    assert mcnemar_p_value(9, 1) == pytest.approx(22 / 1024, abs=1e-15)
    assert mcnemar_p_value(0, 5) == pytest.approx(2 / 32, abs=1e-15)
    assert mcnemar_p_value(3, 3) == pytest.approx(1.0)
    assert mcnemar_p_value(0, 0) is None


def test_mcnemar_p_value_matches_fagerland_2013():
    # Fagerland, Lydersen and Laake (2013), BMC Medical Research Methodology 13:91: airway
    # hyper-responsiveness before and after stem cell transplantation, 1 and 7 discordant pairs;
    # exact conditional McNemar p = 0.070 (2 * 9 / 256).
    assert round(mcnemar_p_value(1, 7), 3) == 0.070
    assert mcnemar_p_value(1, 7) == pytest.approx(18 / 256, abs=1e-15)


def test_the_paired_comparison_reads_agreement_and_both_accuracies_from_the_counts():
    counts = PairedCounts(pairs=8, agreements=4, labelled_pairs=6, shadow_correct=4, served_correct=3,
                          shadow_only_correct=2, served_only_correct=1)  # fmt: skip
    result = compare_paired(counts)
    assert (result.agreement_rate, result.shadow_accuracy, result.served_accuracy) == (0.5, 4 / 6, 3 / 6)
    assert result.difference == pytest.approx(1 / 6)
    assert result.mcnemar_p_value == pytest.approx(1.0)  # 2 against 1 says nothing
    assert result.agreement_ci.low < 0.5 < result.agreement_ci.high
    empty = compare_paired(PairedCounts(0, 0, 0, 0, 0, 0, 0))
    assert (empty.agreement_rate, empty.shadow_accuracy, empty.difference, empty.mcnemar_p_value) == (None,) * 4


def simulated_p_values(shadow_only: float, served_only: float, pairs: int, runs: int, seed: int) -> np.ndarray:
    """McNemar p-values of simulated paired experiments: each pair is shadow-only, served-only or concordant."""
    rng = np.random.default_rng(seed)
    outcomes = rng.multinomial(pairs, [shadow_only, served_only, 1 - shadow_only - served_only], size=runs)
    return np.array([mcnemar_p_value(int(b), int(c)) or 1.0 for b, c, _ in outcomes])


def test_with_equally_accurate_versions_mcnemar_calls_a_difference_at_most_5_percent_of_the_time():
    # Both right 60% of the time, disagreeing on correctness in 15% of pairs, evenly split.
    p_values = simulated_p_values(0.075, 0.075, pairs=400, runs=2000, seed=11)
    false_alarms = float(np.mean(p_values < 0.05))
    assert false_alarms <= 0.05 + 0.01  # the exact test is conservative; 0.01 is ~2 sd of the simulation
    assert false_alarms > 0.02  # and not uselessly so


def test_mcnemar_finds_a_5_point_accuracy_gain_on_2000_labelled_pairs():
    # Shadow right where the served version is wrong in 10% of pairs, the reverse in 5%: +5 points.
    p_values = simulated_p_values(0.10, 0.05, pairs=2000, runs=500, seed=12)
    assert float(np.mean(p_values < 0.05)) > 0.95
