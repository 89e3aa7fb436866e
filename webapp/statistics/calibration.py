"""Calibration: does a version's confidence say how often it is right? Pure: bins in, results out.

A prediction's confidence falls in one of `BINS` equal-width bins of [0, 1]. For each bin the
stats refresh keeps how many labelled predictions fell there, how many were right, and the sum of
their confidences. A calibrated version's accuracy in a bin matches its mean confidence there; the
expected calibration error (ECE) is the gap averaged over bins, weighted by their counts (Guo et al.
2017, "On Calibration of Modern Neural Networks"). Each bin's accuracy comes with a Wilson interval,
so a bin of five predictions is not read as a finding.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from scipy.stats import binomtest

BINS = 10


def bin_of(confidence: float) -> int:
    """The bin a confidence falls in: [0, 0.1) is 0, ..., [0.9, 1.0] is 9."""
    return min(int(confidence * BINS), BINS - 1)


@dataclass(frozen=True)
class BinTotals:
    bin: int
    labelled: int
    correct: int
    confidence_sum: float


@dataclass(frozen=True)
class ReliabilityRow:
    low: float
    high: float
    labelled: int
    mean_confidence: float
    accuracy: float
    accuracy_ci: tuple[float, float]


@dataclass(frozen=True)
class Calibration:
    labelled: int
    expected_calibration_error: float | None  # None without labelled predictions
    bins: list[ReliabilityRow]


def calibration(totals: Iterable[BinTotals], confidence_level: float = 0.95) -> Calibration:
    """The reliability table (bins with labels, in order) and the expected calibration error."""
    rows = []
    for bin_totals in sorted(totals, key=lambda b: b.bin):
        if bin_totals.labelled <= 0:
            continue
        interval = binomtest(bin_totals.correct, bin_totals.labelled).proportion_ci(confidence_level, "wilson")
        rows.append(
            ReliabilityRow(
                low=bin_totals.bin / BINS,
                high=(bin_totals.bin + 1) / BINS,
                labelled=bin_totals.labelled,
                mean_confidence=bin_totals.confidence_sum / bin_totals.labelled,
                accuracy=bin_totals.correct / bin_totals.labelled,
                accuracy_ci=(interval.low, interval.high),
            )
        )
    labelled = sum(row.labelled for row in rows)
    if not labelled:
        return Calibration(0, None, [])
    gap = sum(row.labelled * abs(row.accuracy - row.mean_confidence) for row in rows) / labelled
    return Calibration(labelled, gap, rows)
