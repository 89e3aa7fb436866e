"""Paired comparison of two versions that answered the same requests. Pure: numbers in, numbers out.

A shadow and the served version it mirrors answer the same requests, so their accuracies are not
two independent samples: the pairs where both are right (or both wrong) say nothing about which is
better. McNemar's test looks only at the discordant pairs. Under "equally accurate" each discordant
pair is a fair coin, so the exact test is a two-sided binomial test of the shadow-only-correct
pairs out of all discordant pairs (scipy's `binomtest`).
"""

from __future__ import annotations

from dataclasses import dataclass

from scipy import stats

from .frequentist import Interval, wilson_interval


@dataclass(frozen=True)
class PairedCounts:
    """Totals of one shadow against one served version, as `shadow_comparisons` keeps them."""

    pairs: int
    agreements: int
    labelled_pairs: int
    shadow_correct: int
    served_correct: int
    shadow_only_correct: int
    served_only_correct: int


@dataclass(frozen=True)
class PairedResult:
    agreement_rate: float | None
    agreement_ci: Interval | None
    shadow_accuracy: float | None
    served_accuracy: float | None
    difference: float | None  # shadow minus served accuracy
    mcnemar_p_value: float | None


def mcnemar_p_value(shadow_only_correct: int, served_only_correct: int) -> float | None:
    """Exact two-sided McNemar p-value from the discordant pairs; None when there are none."""
    discordant = shadow_only_correct + served_only_correct
    if discordant == 0:
        return None
    return float(stats.binomtest(shadow_only_correct, discordant, 0.5).pvalue)


def compare_paired(counts: PairedCounts) -> PairedResult:
    """Agreement with its 95% Wilson interval, both accuracies on the labelled pairs, and McNemar's p."""
    labelled = counts.labelled_pairs
    shadow = counts.shadow_correct / labelled if labelled else None
    served = counts.served_correct / labelled if labelled else None
    return PairedResult(
        agreement_rate=counts.agreements / counts.pairs if counts.pairs else None,
        agreement_ci=wilson_interval(counts.agreements, counts.pairs),
        shadow_accuracy=shadow,
        served_accuracy=served,
        difference=None if shadow is None else shadow - served,
        mcnemar_p_value=mcnemar_p_value(counts.shadow_only_correct, counts.served_only_correct),
    )
