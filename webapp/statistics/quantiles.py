"""Distribution-free confidence bounds on a quantile, read from a latency histogram. Pure: no I/O.

Of n latencies, the number below the true q-quantile is Binomial(n, q) whatever the distribution,
so an order statistic X_(k) is a one-sided bound with a confidence scipy's binomial gives exactly:
X_(k) with k = binom.ppf(alpha, n, q) is below the quantile with probability at least 1 - alpha,
X_(m) with m = binom.ppf(1 - alpha, n, q) + 1 is above it with the same probability. A bound that
needs an order statistic outside 1..n does not exist yet (too few latencies): None.
"""

from __future__ import annotations

from collections.abc import Iterable

from scipy import stats

from ..latency import bucket_midpoint


def lower_bound(counts: Iterable[tuple[int, int]], quantile: float, alpha: float) -> float | None:
    """A value the true quantile exceeds with probability at least 1 - alpha; None on too few latencies."""
    ordered = _ordered(counts)
    n = sum(count for _, count in ordered)
    if n == 0:
        return None
    rank = int(stats.binom.ppf(alpha, n, quantile))
    return _order_statistic(ordered, rank) if rank >= 1 else None


def upper_bound(counts: Iterable[tuple[int, int]], quantile: float, alpha: float) -> float | None:
    """A value the true quantile stays below with probability at least 1 - alpha; None on too few latencies."""
    ordered = _ordered(counts)
    n = sum(count for _, count in ordered)
    if n == 0:
        return None
    rank = int(stats.binom.ppf(1 - alpha, n, quantile)) + 1
    return _order_statistic(ordered, rank) if rank <= n else None


def _ordered(counts: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    return sorted((bucket, count) for bucket, count in counts if count > 0)


def _order_statistic(ordered: list[tuple[int, int]], rank: int) -> float:
    """The rank-th smallest latency (1-based), as its bucket's midpoint."""
    seen = 0
    for bucket, count in ordered:
        seen += count
        if seen >= rank:
            return bucket_midpoint(bucket)
    raise ValueError(f"rank {rank} is beyond the histogram's {seen} latencies")
